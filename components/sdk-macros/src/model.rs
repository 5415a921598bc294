//! The connector as the macro sees it: read from the WIT and its doc tags, and
//! checked, so that a mistake is a compile error rather than a wrong `describe`.

use crate::docs::{self, Tagged};
use crate::input::ConnectorInput;
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
}

pub struct Action {
    pub name: String,
    pub identifier: String,
    pub description: String,
    pub kind: String,
    pub read_only: bool,
    pub params: Vec<Param>,
}

pub struct Param {
    pub name: String,
    pub description: String,
    pub ty: String,
    pub required: bool,
    pub contains: Vec<String>,
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

/// `@name`, `@product`, `@config`, `@origin` and `@verify-tls` of the world's doc
/// comment.
fn world_tags(tagged: &Tagged) -> Result<(String, String, Vec<Config>), String> {
    let (mut name, mut product, mut config) = (None, None, Vec::new());
    let mut roles = Vec::new();
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
                });
            }
            "origin" | "verify-tls" => roles.push((tag.as_str(), text.trim().to_string())),
            other => {
                return Err(format!(
                    "unknown world tag `@{other}`: expected @name, @product, @config, @origin or @verify-tls"
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
    let name = name.ok_or("the world's doc comment needs `@name` (the connector's short name)")?;
    let product = product.ok_or("the world's doc comment needs `@product`")?;
    Ok((name, product, config))
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
            let (ty, required) = match option_payload(resolve, &param.ty) {
                Some(inner) => (type_name(resolve, &inner), false),
                None => (type_name(resolve, &param.ty), true),
            };
            Param { name: param.name.replace('-', "_"), description: String::new(), ty, required, contains: Vec::new() }
        })
        .collect();
    let (mut kind, mut read_only, mut identifier) = (None, false, None);
    for (tag, text) in &tagged.tags {
        match tag.as_str() {
            "kind" if KINDS.contains(&text.as_str()) => kind = Some(text.clone()),
            "kind" => return Err(err(format!("`@kind {text}` is not one of {KINDS:?}"))),
            "read-only" => read_only = true,
            "identifier" => identifier = Some(text.clone()),
            "param" | "contains" => {
                let (name, rest) = docs::split_name(text);
                let param = params
                    .iter_mut()
                    .find(|param| param.name == name)
                    .ok_or_else(|| err(format!("`@{tag} {name}` names no parameter")))?;
                if tag == "param" {
                    param.description = rest.to_string();
                } else {
                    param.contains = rest.split(',').map(|c| c.trim().to_string()).collect();
                }
            }
            other => return Err(err(format!("unknown tag `@{other}`"))),
        }
    }
    if let Some(param) = params.iter().find(|param| param.description.is_empty()) {
        return Err(err(format!("parameter `{}` needs `@param {} DESCRIPTION`", param.name, param.name)));
    }
    Ok(Action {
        name: wit_name.replace('-', " "),
        identifier: identifier.unwrap_or_else(|| wit_name.replace('-', "_")),
        description: tagged.description,
        kind: kind.ok_or_else(|| err("needs `@kind`".into()))?,
        read_only,
        params,
    })
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
