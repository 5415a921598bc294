//! What an action returns, `result<action-result, action-error>`, decoded from
//! wasmtime's dynamic values into the types generated from the WIT.
//!
//! Actions are called dynamically (their parameters differ), so their results
//! arrive as [`Val`]s. Each action's result type is checked against the
//! contract when the component is loaded ([`check_type`]), and each value is
//! decoded into [`ActionResult`] or [`ActionError`] ([`decode`]): every case is
//! matched by the compiler from then on, and a value of any other shape is a
//! [`ShapeError`], never a guess.

use crate::bindings::soar::connector::types::{ActionError, ActionResult, InvalidValue, VendorError};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// An action's outcome in the generated types.
pub type Outcome = Result<ActionResult, ActionError>;

/// A value that is not an action outcome. It names the shape, never the
/// contents (which could be huge or carry a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the connector returned {0} instead of an action result")]
pub struct ShapeError(String);

/// The contract's shapes, for checking types at load time.
enum Shape {
    String,
    U16,
    List(&'static Shape),
    Option(&'static Shape),
    Record(&'static [(&'static str, Shape)]),
    Variant(&'static [(&'static str, Shape)]),
}

const INVALID_VALUE: Shape = Shape::Record(&[("name", Shape::String), ("message", Shape::String)]);
const ACTION_RESULT: Shape =
    Shape::Record(&[("data", Shape::List(&Shape::String)), ("summary", Shape::String), ("message", Shape::String)]);
const ACTION_ERROR: Shape = Shape::Variant(&[
    ("invalid-parameter", INVALID_VALUE),
    ("invalid-config", INVALID_VALUE),
    ("vendor", Shape::Record(&[("status", Shape::Option(&Shape::U16)), ("message", Shape::String)])),
    ("connection", Shape::String),
    ("http-request-denied", Shape::String),
    ("platform", Shape::String),
    ("not-implemented", Shape::String),
]);

/// Whether `ty` is `result<action-result, action-error>` exactly.
pub fn check_type(ty: &Type) -> Result<(), String> {
    let Type::Result(result) = ty else {
        return Err("it does not return result<action-result, action-error>".into());
    };
    let check = |part: Option<Type>, shape: &Shape, what: &str| match part {
        Some(ty) if matches(&ty, shape) => Ok(()),
        _ => Err(format!("its {what} is not soar:connector/types.{what} of this host's contract")),
    };
    check(result.ok(), &ACTION_RESULT, "action-result")?;
    check(result.err(), &ACTION_ERROR, "action-error")
}

fn matches(ty: &Type, shape: &Shape) -> bool {
    match (ty, shape) {
        (Type::String, Shape::String) | (Type::U16, Shape::U16) => true,
        (Type::List(list), Shape::List(inner)) => matches(&list.ty(), inner),
        (Type::Option(option), Shape::Option(inner)) => matches(&option.ty(), inner),
        (Type::Record(record), Shape::Record(fields)) => {
            record.fields().len() == fields.len()
                && record
                    .fields()
                    .zip(fields.iter())
                    .all(|(field, (name, shape))| field.name == *name && matches(&field.ty, shape))
        }
        (Type::Variant(variant), Shape::Variant(cases)) => {
            variant.cases().len() == cases.len()
                && variant.cases().zip(cases.iter()).all(|(case, (name, shape))| {
                    case.name == *name && case.ty.as_ref().is_some_and(|ty| matches(ty, shape))
                })
        }
        _ => false,
    }
}

/// Decodes what an action returned.
pub fn decode(value: &Val) -> Result<Outcome, ShapeError> {
    match value {
        Val::Result(Ok(Some(ok))) => {
            let fields = Fields::of(ok, "action-result")?;
            let data = match fields.get("data")? {
                Val::List(items) => items.iter().map(|item| string(item, "a data item")).collect::<Result<_, _>>()?,
                other => return Err(shape_of(other, "data")),
            };
            Ok(Ok(ActionResult { data, summary: fields.string("summary")?, message: fields.string("message")? }))
        }
        Val::Result(Err(Some(error))) => decode_error(error).map(Err),
        other => Err(shape_of(other, "the result")),
    }
}

fn decode_error(value: &Val) -> Result<ActionError, ShapeError> {
    let Val::Variant(case, Some(payload)) = value else {
        return Err(shape_of(value, "the action error"));
    };
    let invalid_value = |payload: &Val| -> Result<InvalidValue, ShapeError> {
        let fields = Fields::of(payload, "invalid-value")?;
        Ok(InvalidValue { name: fields.string("name")?, message: fields.string("message")? })
    };
    Ok(match case.as_str() {
        "invalid-parameter" => ActionError::InvalidParameter(invalid_value(payload)?),
        "invalid-config" => ActionError::InvalidConfig(invalid_value(payload)?),
        "vendor" => {
            let fields = Fields::of(payload, "vendor-error")?;
            let status = match fields.get("status")? {
                Val::Option(None) => None,
                Val::Option(Some(status)) => match **status {
                    Val::U16(status) => Some(status),
                    ref other => return Err(shape_of(other, "the vendor status")),
                },
                other => return Err(shape_of(other, "the vendor status")),
            };
            ActionError::Vendor(VendorError { status, message: fields.string("message")? })
        }
        "connection" => ActionError::Connection(string(payload, "connection")?),
        "http-request-denied" => ActionError::HttpRequestDenied(string(payload, "http-request-denied")?),
        "platform" => ActionError::Platform(string(payload, "platform")?),
        "not-implemented" => ActionError::NotImplemented(string(payload, "not-implemented")?),
        _ => return Err(ShapeError("an action error of a case this host does not know".into())),
    })
}

/// A record's fields by name.
struct Fields<'a>(&'a [(String, Val)]);

impl<'a> Fields<'a> {
    fn of(value: &'a Val, what: &str) -> Result<Self, ShapeError> {
        match value {
            Val::Record(fields) => Ok(Self(fields)),
            other => Err(shape_of(other, what)),
        }
    }

    fn get(&self, name: &str) -> Result<&'a Val, ShapeError> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value)
            .ok_or_else(|| ShapeError(format!("a record without its '{name}' field")))
    }

    fn string(&self, name: &str) -> Result<String, ShapeError> {
        string(self.get(name)?, name)
    }
}

fn string(value: &Val, what: &str) -> Result<String, ShapeError> {
    match value {
        Val::String(text) => Ok(text.clone()),
        other => Err(shape_of(other, what)),
    }
}

fn shape_of(value: &Val, what: &str) -> ShapeError {
    let shape = match value {
        Val::Result(_) => "a result of another shape",
        Val::Record(_) => "a record",
        Val::Variant(..) => "a variant",
        Val::String(_) => "a string",
        Val::List(_) => "a list",
        Val::Option(_) => "an option",
        _ => "another value",
    };
    ShapeError(format!("{shape} as {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[(&str, Val)]) -> Val {
        Val::Record(fields.iter().map(|(name, value)| (name.to_string(), value.clone())).collect())
    }

    fn text(value: &str) -> Val {
        Val::String(value.into())
    }

    #[test]
    fn every_case_decodes_into_the_generated_types() {
        let ok = Val::Result(Ok(Some(Box::new(record(&[
            ("data", Val::List(vec![text("{}")])),
            ("summary", text("{}")),
            ("message", text("done")),
        ])))));
        let Ok(Ok(result)) = decode(&ok) else { panic!("not decoded") };
        assert_eq!((result.data, result.message), (vec!["{}".to_string()], "done".to_string()));
        let vendor = record(&[("status", Val::Option(Some(Box::new(Val::U16(404))))), ("message", text("gone"))]);
        let err = Val::Result(Err(Some(Box::new(Val::Variant("vendor".into(), Some(Box::new(vendor)))))));
        assert!(matches!(decode(&err), Ok(Err(ActionError::Vendor(VendorError { status: Some(404), .. })))));
        let denied =
            Val::Result(Err(Some(Box::new(Val::Variant("http-request-denied".into(), Some(Box::new(text("u"))))))));
        assert!(matches!(decode(&denied), Ok(Err(ActionError::HttpRequestDenied(_)))));
    }

    #[test]
    fn other_shapes_are_typed_errors_that_quote_nothing() {
        let unknown =
            Val::Result(Err(Some(Box::new(Val::Variant("a-new-case".into(), Some(Box::new(text("secret"))))))));
        assert!(decode(&unknown).unwrap_err().to_string().contains("case this host does not know"));
        let missing = Val::Result(Ok(Some(Box::new(record(&[("message", text("secret"))])))));
        assert!(decode(&missing).unwrap_err().to_string().contains("'data'"));
        let string = text("secret");
        let err = decode(&string).unwrap_err().to_string();
        assert!(err.contains("a string") && !err.contains("secret"), "{err}");
    }
}
