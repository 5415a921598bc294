//! What a connector says about itself (its `describe` export), in host types.

use crate::bindings::exports::soar::connector::metadata as wit;
use serde::{Deserialize, Serialize};

/// A connector's self-description.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub product: String,
    /// The WIT interface exporting the actions.
    pub actions_interface: String,
    pub configuration: Vec<ConfigInfo>,
    pub actions: Vec<ActionInfo>,
}

/// One asset configuration variable.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigInfo {
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub ty: ConfigType,
    /// Whether the connector needs a value; with a `default`, an asset may
    /// still leave it out.
    pub required: bool,
    /// What the host does with it: the connector's capability contract.
    pub role: ConfigRole,
    /// The value when an asset does not set it; `Asset` applies it.
    pub default: Option<String>,
}

/// What a configuration variable is to the host (`soar:connector/metadata.config-role`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigRole {
    /// Handed to the connector, nothing else.
    Value,
    /// A URL whose origin the connector may send requests to.
    Origin,
    /// `false` turns certificate checks off for the asset's origins.
    TlsVerification,
}

/// The type of a configuration variable.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    String,
    /// A secret: never printed, logged or echoed.
    Password,
    Boolean,
    Numeric,
}

/// One action.
#[derive(Debug, Clone, Serialize)]
pub struct ActionInfo {
    /// As the specification spells it (`get ioc`).
    pub name: String,
    /// The SOAR action id (`get_ioc`).
    pub identifier: String,
    pub description: String,
    pub kind: ActionKind,
    pub read_only: bool,
    pub parameters: Vec<ParameterInfo>,
}

/// How SOAR platforms classify an action.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Test,
    Investigate,
    Generic,
    Ingest,
    Contain,
    Correct,
}

/// One parameter of an action.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterInfo {
    /// As the specification spells it (`include_expired`).
    pub name: String,
    pub description: String,
    /// The WIT type without `option` (`u32`).
    #[serde(rename = "type")]
    pub ty: String,
    pub required: bool,
    pub contains: Vec<String>,
    /// The value the connector uses when none is given; it applies it itself.
    pub default: Option<String>,
    /// The only values accepted (the connector refuses others); empty for any.
    pub values: Vec<String>,
}

impl ActionInfo {
    /// The WIT function name (`get-ioc`).
    pub fn wit_name(&self) -> String {
        self.name.replace(' ', "-")
    }

    /// Whether `name` designates this action: its name with spaces, hyphens or
    /// underscores, or its identifier, in any case.
    pub fn answers_to(&self, name: &str) -> bool {
        let wanted = normalize(name);
        wanted == normalize(&self.name) || wanted == normalize(&self.identifier)
    }
}

/// `Get IOC`, `get-ioc` and `get_ioc` all become `get_ioc`.
pub fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

impl From<wit::ConnectorInfo> for ConnectorInfo {
    fn from(info: wit::ConnectorInfo) -> Self {
        Self {
            name: info.name,
            version: info.version,
            description: info.description,
            product: info.product,
            actions_interface: info.actions_interface,
            configuration: info
                .configuration
                .into_iter()
                .map(|c| ConfigInfo {
                    name: c.name,
                    description: c.description,
                    ty: match c.type_ {
                        wit::ConfigType::String => ConfigType::String,
                        wit::ConfigType::Password => ConfigType::Password,
                        wit::ConfigType::Boolean => ConfigType::Boolean,
                        wit::ConfigType::Numeric => ConfigType::Numeric,
                    },
                    required: c.required,
                    role: match c.role {
                        wit::ConfigRole::Value => ConfigRole::Value,
                        wit::ConfigRole::Origin => ConfigRole::Origin,
                        wit::ConfigRole::TlsVerification => ConfigRole::TlsVerification,
                    },
                    default: c.default,
                })
                .collect(),
            actions: info
                .actions
                .into_iter()
                .map(|a| ActionInfo {
                    name: a.name,
                    identifier: a.identifier,
                    description: a.description,
                    kind: match a.kind {
                        wit::ActionKind::Test => ActionKind::Test,
                        wit::ActionKind::Investigate => ActionKind::Investigate,
                        wit::ActionKind::Generic => ActionKind::Generic,
                        wit::ActionKind::Ingest => ActionKind::Ingest,
                        wit::ActionKind::Contain => ActionKind::Contain,
                        wit::ActionKind::Correct => ActionKind::Correct,
                    },
                    read_only: a.read_only,
                    parameters: a
                        .parameters
                        .into_iter()
                        .map(|p| ParameterInfo {
                            name: p.name,
                            description: p.description,
                            ty: p.type_,
                            required: p.required,
                            contains: p.contains,
                            default: p.default,
                            values: p.values,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
