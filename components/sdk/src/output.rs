//! The action result builder.

use crate::ActionResult;
use serde::Serialize;
use serde_json::{Map, Value};

/// Builds what an action returns: `data` objects, a `summary` object and a message.
///
/// Without an explicit message the summary is rendered the way SOAR platforms do:
/// `{"total_iocs": 5}` becomes `Total iocs: 5`.
#[derive(Debug, Default)]
#[must_use]
pub struct Output {
    data: Vec<Value>,
    summary: Map<String, Value>,
    message: Option<String>,
}

impl Output {
    /// An empty result.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one object to `data`.
    pub fn data(mut self, item: impl Serialize) -> Self {
        self.data.push(serde_json::to_value(item).unwrap_or(Value::Null));
        self
    }

    /// Appends every item of a JSON array (or the value itself if it is not one).
    pub fn data_items(mut self, items: Value) -> Self {
        match items {
            Value::Array(items) => self.data.extend(items),
            Value::Null => {}
            item => self.data.push(item),
        }
        self
    }

    /// Sets `summary.<key>`.
    pub fn summary(mut self, key: &str, value: impl Serialize) -> Self {
        self.summary.insert(key.to_string(), serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }

    /// Sets `summary.<key>` to the number of `data` objects so far (the
    /// `total_*` counts of list actions).
    pub fn summary_count(self, key: &str) -> Self {
        let count = self.data.len();
        self.summary(key, count)
    }

    /// Sets the message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

impl From<Output> for ActionResult {
    fn from(output: Output) -> Self {
        let message = output.message.unwrap_or_else(|| render_summary(&output.summary));
        ActionResult {
            data: output.data.iter().map(Value::to_string).collect(),
            summary: Value::Object(output.summary).to_string(),
            message,
        }
    }
}

impl<E> From<Output> for Result<ActionResult, E> {
    fn from(output: Output) -> Self {
        Ok(output.into())
    }
}

/// `{"total_iocs": 5, "vault_id": "ab"}` → `Total iocs: 5, Vault id: ab`.
fn render_summary(summary: &Map<String, Value>) -> String {
    summary
        .iter()
        .map(|(key, value)| {
            let label = key.replace('_', " ");
            let mut chars = label.chars();
            let label = chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default();
            match value {
                Value::String(text) => format!("{label}: {text}"),
                other => format!("{label}: {other}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_renders_as_soar_message() {
        let result: ActionResult = Output::new().data(json!({"id": 1})).summary("total_quarantine_jobs", 28).into();
        assert_eq!(result.message, "Total quarantine jobs: 28");
        assert_eq!(result.summary, r#"{"total_quarantine_jobs":28}"#);
        assert_eq!(result.data, vec![r#"{"id":1}"#.to_string()]);
        let result: ActionResult = Output::new().summary("vault_id", "daf4").into();
        assert_eq!(result.message, "Vault id: daf4");
    }

    #[test]
    fn list_totals_count_the_data() {
        let result: ActionResult =
            Output::new().data_items(json!([{"id": 1}, {"id": 2}])).summary_count("total_iocs").into();
        assert_eq!(result.summary, r#"{"total_iocs":2}"#);
        assert_eq!(result.message, "Total iocs: 2");
    }

    #[test]
    fn explicit_message_wins() {
        let result: ActionResult = Output::new().summary("search_id", 3).message("Created").into();
        assert_eq!(result.message, "Created");
    }
}
