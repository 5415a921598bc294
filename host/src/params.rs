//! Action parameters: from `name=value` text to the typed values the WIT
//! function takes, checked against the types reflected from the component.

use crate::manifest::normalize;
use serde_json::{Map, Value};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// One parameter of an action, as the component declares it.
#[derive(Clone)]
pub struct ParamSignature {
    /// As the specification spells it (`include_expired`).
    pub name: String,
    /// The WIT type; `option<T>` for optional parameters.
    pub ty: Type,
}

impl ParamSignature {
    /// Whether the action needs a value.
    pub fn required(&self) -> bool {
        !matches!(self.ty, Type::Option(_))
    }
}

/// A parameter value that was rejected, with a message naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// The parameter, spelled as in the specification.
    pub name: String,
    pub message: String,
}

/// Parameters ready for a call, and their echo for the action result.
#[derive(Debug, Clone)]
pub struct BoundParams {
    pub(crate) values: Vec<Val>,
    /// `action_result.parameter`: what was given, typed, by specification name.
    pub echo: Map<String, Value>,
}

/// Binds `given` (`name=value` pairs, as text; names in spec or WIT spelling)
/// to `signature`. Empty values count as not given.
pub fn bind<N: AsRef<str>, V: AsRef<str>>(
    signature: &[ParamSignature],
    given: &[(N, V)],
) -> Result<BoundParams, ParamError> {
    let mut texts: Vec<Option<&str>> = vec![None; signature.len()];
    for (name, value) in given {
        let (name, value) = (name.as_ref(), value.as_ref());
        let Some(index) = signature.iter().position(|p| normalize(&p.name) == normalize(name)) else {
            let known: Vec<&str> = signature.iter().map(|p| p.name.as_str()).collect();
            let message = if known.is_empty() {
                format!("Unknown parameter '{name}': this action takes no parameters")
            } else {
                format!("Unknown parameter '{name}'; this action takes {}", known.join(", "))
            };
            return Err(ParamError { name: name.to_string(), message });
        };
        if texts[index].replace(value).is_some() {
            let name = &signature[index].name;
            return Err(ParamError {
                name: name.clone(),
                message: format!("The '{name}' parameter is given more than once"),
            });
        }
    }
    let mut values = Vec::with_capacity(signature.len());
    let mut echo = Map::new();
    for (param, text) in signature.iter().zip(texts) {
        let text = text.filter(|text| !text.trim().is_empty());
        let (value, json) = match (&param.ty, text) {
            (Type::Option(_), None) => (Val::Option(None), None),
            (Type::Option(inner), Some(text)) => {
                let (value, json) = convert(&param.name, &inner.ty(), text)?;
                (Val::Option(Some(Box::new(value))), Some(json))
            }
            (_, None) => {
                let name = &param.name;
                return Err(ParamError {
                    name: name.clone(),
                    message: format!("The required parameter '{name}' is missing"),
                });
            }
            (ty, Some(text)) => {
                let (value, json) = convert(&param.name, ty, text)?;
                (value, Some(json))
            }
        };
        values.push(value);
        if let Some(json) = json {
            echo.insert(param.name.clone(), json);
        }
    }
    Ok(BoundParams { values, echo })
}

/// The WIT spelling of a parameter type, for help and errors.
pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::Option(inner) => format!("option<{}>", type_name(&inner.ty())),
        other => format!("{other:?}"),
    }
}

fn convert(name: &str, ty: &Type, text: &str) -> Result<(Val, Value), ParamError> {
    let error = |message: String| ParamError { name: name.to_string(), message };
    let integer = || {
        parse_integer(text)
            .ok_or_else(|| error(format!("Please provide a valid integer value in the '{name}' parameter")))
    };
    let range = |n: i64, min: i64, max: i64| {
        if n < 0 && min == 0 {
            Err(error(format!("Please provide a valid non-negative integer value in the '{name}' parameter")))
        } else if n < min || n > max {
            Err(error(format!("Please provide an integer between {min} and {max} in the '{name}' parameter")))
        } else {
            Ok(n)
        }
    };
    let signed = |min: i64, max: i64| integer().and_then(|n| range(n, min, max));
    let unsigned = |max: u64| integer().and_then(|n| range(n, 0, max.min(i64::MAX as u64) as i64));
    Ok(match ty {
        Type::String => (Val::String(text.to_string()), Value::from(text)),
        Type::Char => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => (Val::Char(c), Value::from(text)),
                _ => return Err(error(format!("The '{name}' parameter must be a single character"))),
            }
        }
        Type::Bool => {
            let flag = match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => true,
                "false" | "no" | "0" | "off" => false,
                _ => return Err(error(format!("Please provide true or false in the '{name}' parameter"))),
            };
            (Val::Bool(flag), Value::from(flag))
        }
        Type::U8 => unsigned(u8::MAX.into()).map(|n| (Val::U8(n as u8), Value::from(n)))?,
        Type::U16 => unsigned(u16::MAX.into()).map(|n| (Val::U16(n as u16), Value::from(n)))?,
        Type::U32 => unsigned(u32::MAX.into()).map(|n| (Val::U32(n as u32), Value::from(n)))?,
        Type::U64 => unsigned(u64::MAX).map(|n| (Val::U64(n as u64), Value::from(n)))?,
        Type::S8 => signed(i8::MIN.into(), i8::MAX.into()).map(|n| (Val::S8(n as i8), Value::from(n)))?,
        Type::S16 => signed(i16::MIN.into(), i16::MAX.into()).map(|n| (Val::S16(n as i16), Value::from(n)))?,
        Type::S32 => signed(i32::MIN.into(), i32::MAX.into()).map(|n| (Val::S32(n as i32), Value::from(n)))?,
        Type::S64 => signed(i64::MIN, i64::MAX).map(|n| (Val::S64(n), Value::from(n)))?,
        Type::Float32 | Type::Float64 => {
            let number = text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| error(format!("Please provide a valid number in the '{name}' parameter")))?;
            let value = if matches!(ty, Type::Float32) { Val::Float32(number as f32) } else { Val::Float64(number) };
            (value, Value::from(number))
        }
        other => {
            return Err(error(format!(
                "The '{name}' parameter has type {} which the command line cannot give",
                type_name(other)
            )));
        }
    })
}

/// An integer as users type it: `3`, ` 3 `, `3.0` (not `3.5`). The one
/// definition: parameters are bound with it, and `Asset` hands integral
/// configuration numbers to connectors in its canonical form.
pub(crate) fn parse_integer(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>().ok().or_else(|| {
        let float = text.parse::<f64>().ok().filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)?;
        Some(float as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_as_typed() {
        assert_eq!(parse_integer(" 3.0 "), Some(3));
        assert_eq!(parse_integer("-1"), Some(-1));
        assert_eq!(parse_integer("3.5"), None);
        assert_eq!(parse_integer("x"), None);
    }

    proptest! {
        /// Any names and values: binding never panics, a value it accepts has the
        /// declared type, and a refusal names a parameter that was given or declared.
        #[test]
        fn binding_any_text(given in proptest::collection::vec(("[a-z_ -]{0,12}", "\\PC{0,16}"), 0..6)) {
            let signature = [
                ParamSignature { name: "count".into(), ty: Type::U32 },
                ParamSignature { name: "flag".into(), ty: Type::Bool },
                ParamSignature { name: "text".into(), ty: Type::String },
            ];
            match bind(&signature, &given) {
                Ok(bound) => {
                    prop_assert!(matches!(bound.values[0], Val::U32(_)));
                    prop_assert!(matches!(bound.values[1], Val::Bool(_)));
                }
                Err(err) => {
                    let known = given.iter().any(|(name, _)| *name == err.name)
                        || signature.iter().any(|p| p.name == err.name);
                    prop_assert!(known, "{:?}", err);
                    prop_assert!(err.message.contains(&err.name));
                }
            }
        }
    }
}
