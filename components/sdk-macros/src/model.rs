//! The connector as the macro sees it: read from the WIT and its doc tags, and
//! checked, so that a mistake is a compile error rather than a wrong `describe`.

use crate::docs::{self, Tagged};
use crate::input::ConnectorInput;
use crate::scalar::Scalar;
use std::path::PathBuf;
use wit_parser::{Function, InterfaceId, Resolve, Type, TypeDefKind, WorldItem};

/// The platform package every connector builds on.
const PLATFORM_PACKAGE: &str = "soar:connector";
/// Action kinds, as in `soar:connector/metadata.action-kind`.
const KINDS: &[&str] = &["test", "investigate", "generic", "ingest", "contain", "correct"];
/// Configuration types, as in `soar:connector/metadata.config-type`.
const CONFIG_TYPES: &[&str] = &["string", "password", "boolean", "numeric"];

pub struct Model {
    pub name: String,
    pub product: String,
    pub description: String,
    pub config: Vec<Config>,
    /// `soar:cofense-vision/actions@1.0.0`
    pub actions_interface: String,
    /// `["soar", "cofense_vision", "actions"]`
    pub actions_module: Vec<String>,
    pub actions: Vec<Action>,
    /// Every imported interface, with the Rust module that already has bindings for it.
    pub imports: Vec<(String, String)>,
}

pub struct Config {
    pub name: String,
    pub description: String,
    pub ty: String,
    pub required: bool,
    /// As in `soar:connector/metadata.config-role`: `value`, `origin` or
    /// `tls-verification`.
    pub role: &'static str,
    /// `@default NAME VALUE` on the world.
    pub default: Option<String>,
}

pub struct Action {
    /// The WIT function name (`get-ioc`).
    pub wit_name: String,
    pub name: String,
    pub identifier: String,
    pub description: String,
    pub kind: String,
    pub read_only: bool,
    pub params: Vec<Param>,
}

pub struct Param {
    /// The specification's spelling (`include_expired`), also the Rust field name.
    pub name: String,
    pub description: String,
    /// The WIT spelling of the type without `option`, for `describe`.
    pub ty: String,
    pub scalar: Scalar,
    pub required: bool,
    pub contains: Vec<String>,
    /// `@default NAME VALUE`: the value when none is given.
    pub default: Option<String>,
    /// `@values NAME A, B`: the only values accepted; empty for any.
    pub values: Vec<String>,
}

/// Parses the WIT named by `input` and builds the model.
pub fn load(input: &ConnectorInput) -> Result<Model, String> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut resolve = Resolve::new();
    let mut main = None;
    for path in &input.wit {
        let path = manifest_dir.join(path.value());
        let (package, _) =
            resolve.push_path(&path).map_err(|err| format!("cannot read WIT at {}: {err:#}", path.display()))?;
        main = Some(package);
    }
    let main = main.ok_or("`wit` names no WIT package")?;
    let world_id = resolve.select_world(&[main], Some(&input.world.value())).map_err(|err| format!("{err:#}"))?;
    let world = &resolve.worlds[world_id];

    let mut actions_interface = None;
    for item in world.exports.values() {
        let WorldItem::Interface { id, .. } = item else {
            return Err("a connector world exports interfaces only".into());
        };
        if package_of(&resolve, *id) != PLATFORM_PACKAGE && actions_interface.replace(*id).is_some() {
            return Err("the world must export exactly one actions interface".into());
        }
    }
    let actions_id = actions_interface.ok_or("the world exports no actions interface")?;

    let tagged = docs::parse(world.docs.contents.as_deref());
    let (name, product, config) = world_tags(&tagged)?;
    let actions = resolve.interfaces[actions_id]
        .functions
        .values()
        .map(|function| action(&resolve, function))
        .collect::<Result<Vec<_>, _>>()?;

    let imports = world
        .imports
        .values()
        .filter_map(|item| match item {
            WorldItem::Interface { id, .. } => Some(*id),
            _ => None,
        })
        .map(|id| {
            let key = resolve.id_of(id).ok_or("anonymous imported interface")?;
            Ok((key, bindings_module(&resolve, id)?))
        })
        .collect::<Result<Vec<_>, String>>()?;

    Ok(Model {
        name,
        product,
        description: tagged.description,
        config,
        actions_interface: resolve.id_of(actions_id).ok_or("anonymous actions interface")?,
        actions_module: rust_module(&resolve, actions_id),
        actions,
        imports,
    })
}

/// `@name`, `@product`, `@config`, `@default`, `@origin` and `@verify-tls` of
/// the world's doc comment.
fn world_tags(tagged: &Tagged) -> Result<(String, String, Vec<Config>), String> {
    let (mut name, mut product, mut config) = (None, None, Vec::new());
    let (mut roles, mut defaults) = (Vec::new(), Vec::new());
    for (tag, text) in &tagged.tags {
        match tag.as_str() {
            "name" => name = Some(text.clone()),
            "product" => product = Some(text.clone()),
            "config" => {
                let mut words = text.splitn(4, char::is_whitespace);
                let (Some(var), Some(ty), Some(required)) = (words.next(), words.next(), words.next()) else {
                    return Err(format!(
                        "`@config {text}`: expected `@config NAME TYPE required|optional DESCRIPTION`"
                    ));
                };
                if !CONFIG_TYPES.contains(&ty) {
                    return Err(format!("`@config {var}`: type `{ty}` is not one of {CONFIG_TYPES:?}"));
                }
                let required = match required {
                    "required" => true,
                    "optional" => false,
                    other => return Err(format!("`@config {var}`: `{other}` is neither `required` nor `optional`")),
                };
                config.push(Config {
                    name: var.to_string(),
                    ty: ty.to_string(),
                    required,
                    description: words.next().unwrap_or_default().trim().to_string(),
                    role: "value",
                    default: None,
                });
            }
            "origin" | "verify-tls" => roles.push((tag.as_str(), text.trim().to_string())),
            "default" => defaults.push(docs::split_name(text)),
            other => {
                return Err(format!(
                    "unknown world tag `@{other}`: expected @name, @product, @config, @default, @origin or @verify-tls"
                ));
            }
        }
    }
    // The capability contract: which variables are origins, which one turns
    // certificate checks off. Each names a declared variable of the right type.
    for (tag, var) in roles {
        let (role, ty) = if tag == "origin" { ("origin", "string") } else { ("tls-verification", "boolean") };
        let declared = config
            .iter_mut()
            .find(|config: &&mut Config| config.name == var)
            .ok_or_else(|| format!("`@{tag} {var}`: there is no `@config {var}`"))?;
        if declared.ty != ty {
            return Err(format!("`@{tag} {var}`: the variable must be of type {ty}, not {}", declared.ty));
        }
        if declared.role != "value" {
            return Err(format!("`@{tag} {var}`: the variable already has a role"));
        }
        declared.role = role;
    }
    if config.iter().filter(|config| config.role == "tls-verification").count() > 1 {
        return Err("only one variable may be `@verify-tls`".into());
    }
    for (var, value) in defaults {
        let declared = config
            .iter_mut()
            .find(|config: &&mut Config| config.name == var)
            .ok_or_else(|| format!("`@default {var}`: there is no `@config {var}`"))?;
        check_config_default(declared, value).map_err(|why| format!("`@default {var} {value}`: {why}"))?;
        if declared.default.replace(value.to_string()).is_some() {
            return Err(format!("`@default {var}`: the variable has two defaults"));
        }
    }
    let name = name.ok_or("the world's doc comment needs `@name` (the connector's short name)")?;
    let product = product.ok_or("the world's doc comment needs `@product`")?;
    Ok((name, product, config))
}

/// A configuration default must be a value of the variable's type, and an
/// origin's an `http` or `https` URL: hosts hand it over as if the asset set it.
fn check_config_default(config: &Config, value: &str) -> Result<(), String> {
    match config.ty.as_str() {
        _ if value.is_empty() => Err("the default is empty".into()),
        "password" => Err("a secret cannot have a default".into()),
        "boolean" if !["true", "false"].contains(&value) => Err("a boolean default is `true` or `false`".into()),
        "numeric" if value.parse::<f64>().ok().is_none_or(|n| !n.is_finite()) => {
            Err("a numeric default is a number".into())
        }
        _ if config.role == "origin" && !["http://", "https://"].iter().any(|scheme| value.starts_with(scheme)) => {
            Err("an origin's default is an http:// or https:// URL".into())
        }
        _ => Ok(()),
    }
}

/// One action: its function's signature and doc tags.
fn action(resolve: &Resolve, function: &Function) -> Result<Action, String> {
    let wit_name = &function.name;
    let err = |message: String| format!("action `{wit_name}`: {message}");
    if !returns_action_result(resolve, function) {
        return Err(err("must return `result<action-result, action-error>`".into()));
    }
    let tagged = docs::parse(function.docs.contents.as_deref());
    let mut params: Vec<Param> = function
        .params
        .iter()
        .map(|param| {
            let name = param.name.replace('-', "_");
            let (inner, required) = match option_payload(resolve, &param.ty) {
                Some(inner) => (inner, false),
                None => (param.ty, true),
            };
            let scalar = Scalar::of(resolve, &inner).ok_or_else(|| {
                err(format!(
                    "parameter `{name}` is a `{}`; a parameter is a bool, an integer, a float, a char or a string, or an option of one",
                    type_name(resolve, &param.ty)
                ))
            })?;
            Ok(Param {
                name,
                description: String::new(),
                ty: type_name(resolve, &inner),
                scalar,
                required,
                contains: Vec::new(),
                default: None,
                values: Vec::new(),
            })
        })
        .collect::<Result<_, String>>()?;
    let (mut kind, mut read_only, mut identifier) = (None, false, None);
    for (tag, text) in &tagged.tags {
        match tag.as_str() {
            "kind" if KINDS.contains(&text.as_str()) => kind = Some(text.clone()),
            "kind" => return Err(err(format!("`@kind {text}` is not one of {KINDS:?}"))),
            "read-only" => read_only = true,
            "identifier" => identifier = Some(text.clone()),
            "param" | "contains" | "default" | "values" => {
                let (name, rest) = docs::split_name(text);
                let param = params
                    .iter_mut()
                    .find(|param| param.name == name)
                    .ok_or_else(|| err(format!("`@{tag} {name}` names no parameter")))?;
                match tag.as_str() {
                    "param" => param.description = rest.to_string(),
                    "contains" => param.contains = rest.split(',').map(|c| c.trim().to_string()).collect(),
                    "default" if param.default.is_some() => {
                        return Err(err(format!("`@default {name}` is given twice")));
                    }
                    "default" => param.default = Some(rest.to_string()),
                    _ if !param.values.is_empty() => return Err(err(format!("`@values {name}` is given twice"))),
                    _ => param.values = rest.split(',').map(|value| value.trim().to_string()).collect(),
                }
            }
            other => return Err(err(format!("unknown tag `@{other}`"))),
        }
    }
    for param in &params {
        check_param(param).map_err(err)?;
    }
    Ok(Action {
        wit_name: wit_name.clone(),
        name: wit_name.replace('-', " "),
        identifier: identifier.unwrap_or_else(|| wit_name.replace('-', "_")),
        description: tagged.description,
        kind: kind.ok_or_else(|| err("needs `@kind`".into()))?,
        read_only,
        params,
    })
}

/// A parameter's tags must agree with its type: a default only for an optional
/// parameter, of its type and among its `@values`; `@values` only for text.
fn check_param(param: &Param) -> Result<(), String> {
    let name = &param.name;
    if param.description.is_empty() {
        return Err(format!("parameter `{name}` needs `@param {name} DESCRIPTION`"));
    }
    if !param.values.is_empty() {
        if param.scalar != Scalar::String {
            return Err(format!("`@values {name}`: only string parameters take `@values`, not {}", param.ty));
        }
        if let Some(empty) = param.values.iter().position(String::is_empty) {
            return Err(format!("`@values {name}`: value {} is empty", empty + 1));
        }
        if let Some(twice) = param.values.iter().enumerate().find(|(i, v)| param.values[..*i].contains(v)) {
            return Err(format!("`@values {name}`: `{}` is listed twice", twice.1));
        }
    }
    if let Some(default) = &param.default {
        let tag = format!("`@default {name} {default}`");
        if param.required {
            return Err(format!("{tag}: a required parameter has no default; make its type `option<{}>`", param.ty));
        }
        if default.is_empty() {
            return Err(format!("{tag}: the default is empty"));
        }
        param.scalar.literal(default).map_err(|why| format!("{tag}: {why}"))?;
        if !param.values.is_empty() && !param.values.contains(default) {
            return Err(format!("{tag}: the default is not one of its `@values` {}", param.values.join(", ")));
        }
    }
    Ok(())
}

fn returns_action_result(resolve: &Resolve, function: &Function) -> bool {
    let Some(Type::Id(id)) = function.result else {
        return false;
    };
    let TypeDefKind::Result(result) = &resolve.types[id].kind else {
        return false;
    };
    let named = |ty: &Option<Type>, expected: &str| match ty {
        Some(Type::Id(id)) => resolve.types[*id].name.as_deref() == Some(expected),
        _ => false,
    };
    named(&result.ok, "action-result") && named(&result.err, "action-error")
}

fn option_payload(resolve: &Resolve, ty: &Type) -> Option<Type> {
    match ty {
        Type::Id(id) => match &resolve.types[*id].kind {
            TypeDefKind::Option(inner) => Some(*inner),
            TypeDefKind::Type(inner) => option_payload(resolve, inner),
            _ => None,
        },
        _ => None,
    }
}

/// The WIT spelling of a parameter type.
fn type_name(resolve: &Resolve, ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Id(id) => {
            let def = &resolve.types[*id];
            match (&def.name, &def.kind) {
                (Some(name), _) => name.clone(),
                (None, TypeDefKind::Option(inner)) => format!("option<{}>", type_name(resolve, inner)),
                (None, TypeDefKind::List(inner)) => format!("list<{}>", type_name(resolve, inner)),
                (None, kind) => kind.as_str().to_string(),
            }
        }
    }
}

fn package_of(resolve: &Resolve, id: InterfaceId) -> String {
    let package = &resolve.packages[resolve.interfaces[id].package.expect("resolved interface")];
    format!("{}:{}", package.name.namespace, package.name.name)
}

/// `["namespace", "package", "interface"]` in snake_case, as wit-bindgen names modules.
fn rust_module(resolve: &Resolve, id: InterfaceId) -> Vec<String> {
    let interface = &resolve.interfaces[id];
    let package = &resolve.packages[interface.package.expect("resolved interface")];
    [&package.name.namespace, &package.name.name, interface.name.as_ref().expect("named interface")]
        .iter()
        .map(|part| part.replace('-', "_"))
        .collect()
}

/// Where bindings for an imported interface already exist: the SDK's for the
/// platform, the `wasi` crate's for WASI.
fn bindings_module(resolve: &Resolve, id: InterfaceId) -> Result<String, String> {
    let module = rust_module(resolve, id);
    match module[0].as_str() {
        "wasi" => Ok(format!("::soar_sdk::__private::wasi::{}::{}", module[1], module[2])),
        "soar" if module[1] == "connector" => Ok(format!("::soar_sdk::__private::bindings::{}", module.join("::"))),
        _ => Err(format!(
            "imported interface `{}` is neither WASI nor the platform's; connectors may only import those",
            resolve.id_of(id).unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(docs: &str) -> Result<Vec<Config>, String> {
        world_tags(&docs::parse(Some(docs))).map(|(_, _, config)| config)
    }

    const BASE: &str = "@name x\n@product X\n@config api string required The API\n@config login string optional Login\n@config verify boolean optional Verify\n";

    #[test]
    fn origins_and_the_certificate_switch_are_declared_by_tags() {
        let config = world(&format!("{BASE}@origin api\n@origin login\n@verify-tls verify\n")).unwrap();
        let roles: Vec<_> = config.iter().map(|c| (c.name.as_str(), c.role)).collect();
        assert_eq!(roles, [("api", "origin"), ("login", "origin"), ("verify", "tls-verification")]);
        assert!(world(BASE).unwrap().iter().all(|c| c.role == "value"), "no tag, no capability");
    }

    #[test]
    fn configuration_defaults_are_checked() {
        let config =
            world(&format!("{BASE}@origin api\n@default api https://api.example.com\n@default verify true\n")).unwrap();
        let defaults: Vec<_> = config.iter().map(|c| (c.name.as_str(), c.default.as_deref())).collect();
        assert_eq!(defaults, [("api", Some("https://api.example.com")), ("login", None), ("verify", Some("true"))]);
        for (tags, why) in [
            ("@default nothing 1\n", "there is no `@config nothing`"),
            ("@default verify yes\n", "a boolean default is `true` or `false`"),
            ("@origin api\n@default api api.example.com\n", "an origin's default is an http:// or https:// URL"),
            ("@default login\n", "the default is empty"),
            ("@default login a\n@default login b\n", "the variable has two defaults"),
            ("@config key password optional Key\n@default key k\n", "a secret cannot have a default"),
            ("@config n numeric optional N\n@default n many\n", "a numeric default is a number"),
        ] {
            let err = world(&format!("{BASE}{tags}")).err().unwrap_or_default();
            assert!(err.contains(why), "{tags}: {err}");
        }
    }

    /// The first action of `actions` in a package of its own.
    fn first_action(actions: &str) -> Result<Action, String> {
        let mut resolve = Resolve::new();
        let source = format!(
            "package test:probe;\ninterface actions {{\n  record action-result {{ message: string }}\n  record action-error {{ message: string }}\n{actions}\n}}\n"
        );
        let package = resolve.push_str("probe.wit", &source).map_err(|err| format!("{err:#}"))?;
        let interface = resolve.packages[package].interfaces["actions"];
        let function = resolve.interfaces[interface].functions.values().next().ok_or("no function")?;
        action(&resolve, function)
    }

    const SEARCH: &str = "@kind investigate\n  /// @param kind Match kind\n  /// @param size Page size";
    const SIGNATURE: &str =
        "search: func(kind: option<string>, size: option<u32>) -> result<action-result, action-error>;";

    #[test]
    fn parameter_defaults_and_values_are_read() {
        let action = first_action(&format!(
            "  /// Searches.\n  /// {SEARCH}\n  /// @default kind ANY\n  /// @values kind ANY, ALL\n  /// @default size 50\n  {SIGNATURE}"
        ))
        .unwrap();
        let [kind, size] = &action.params[..] else { panic!("two parameters") };
        assert_eq!((kind.default.as_deref(), kind.values.clone()), (Some("ANY"), vec!["ANY".into(), "ALL".into()]));
        assert_eq!((size.default.as_deref(), size.values.len(), size.scalar), (Some("50"), 0, Scalar::U32));
    }

    #[test]
    fn wrong_parameter_tags_are_compile_errors() {
        for (tags, why) in [
            ("@default colour red", "`@default colour` names no parameter"),
            ("@values colour red", "`@values colour` names no parameter"),
            ("@default size fifty", "`@default size fifty`: `fifty` is not an integer of type u32"),
            ("@default size -1", "`-1` is not an integer of type u32"),
            ("@values kind ANY, ALL\n  /// @default kind SOME", "the default is not one of its `@values` ANY, ALL"),
            ("@values size 10, 20", "only string parameters take `@values`, not u32"),
            ("@values kind ANY, , ALL", "`@values kind`: value 2 is empty"),
            ("@values kind ANY, ANY", "`ANY` is listed twice"),
            ("@default kind ANY\n  /// @default kind ALL", "`@default kind` is given twice"),
            ("@default kind", "the default is empty"),
        ] {
            let err = first_action(&format!("  /// {SEARCH}\n  /// {tags}\n  {SIGNATURE}")).err().unwrap_or_default();
            assert!(err.contains(why), "{tags}: {err}");
        }
        let required = "  /// @kind generic\n  /// @param id The id\n  /// @default id 1\n  get: func(id: u64) -> result<action-result, action-error>;";
        let err = first_action(required).err().unwrap_or_default();
        assert!(err.contains("a required parameter has no default; make its type `option<u64>`"), "{err}");
        let listed = "  /// @kind generic\n  /// @param ids The ids\n  get: func(ids: list<u64>) -> result<action-result, action-error>;";
        let err = first_action(listed).err().unwrap_or_default();
        assert!(err.contains("parameter `ids` is a `list<u64>`"), "{err}");
    }

    #[test]
    fn a_wrong_capability_tag_is_a_compile_error() {
        for (tags, why) in [
            ("@origin nothing\n", "there is no `@config nothing`"),
            ("@origin verify\n", "must be of type string"),
            ("@verify-tls api\n", "must be of type boolean"),
            ("@origin api\n@origin api\n", "already has a role"),
        ] {
            let err = world(&format!("{BASE}{tags}")).err().unwrap_or_default();
            assert!(err.contains(why), "{tags}: {err}");
        }
    }
}
