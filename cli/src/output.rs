//! `--output json|table`: JSON for programs (the default where a program reads
//! the output), aligned tables for people.

use clap::ValueEnum;
use serde_json::Value;
use soar_host::redact::printable;

/// How a command prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON, for programs and playbooks
    Json,
    /// Aligned columns, for a person at a terminal
    Table,
}

/// The widest a cell is shown; longer text is cut with `…`.
const MAX_CELL: usize = 48;
/// The most columns a table shows (the first keys of the first row).
const MAX_COLUMNS: usize = 8;

/// `rows` (JSON objects) as a table: a column for each of the first row's
/// plain fields, in its order, and for those of the objects in it one level
/// down (`attributes.threat_value`). Cells are made printable (a vendor's
/// escape sequences are shown, not obeyed) and cut to a readable width.
pub fn table(rows: &[Value]) -> String {
    let Some(first) = rows.first() else { return "(none)\n".into() };
    let columns: Vec<String> = plain_fields(first).into_iter().map(|(path, _)| path).take(MAX_COLUMNS).collect();
    if columns.is_empty() {
        return format!("({} rows without plain fields; use --output json)\n", rows.len());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let fields = plain_fields(row);
            columns
                .iter()
                .map(|column| fields.iter().find(|(path, _)| path == column).map_or_else(String::new, |(_, v)| cell(v)))
                .collect()
        })
        .collect();
    let headers: Vec<String> = columns.iter().map(|column| cell(&Value::from(column.as_str()))).collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| cells.iter().map(|row| row[i].chars().count()).chain([headers[i].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |row: &[String]| {
        let padded: Vec<String> = row.iter().zip(&widths).map(|(text, width)| format!("{text:<width$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&headers);
    out.push_str(&line(&widths.iter().map(|width| "-".repeat(*width)).collect::<Vec<_>>()));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

/// The plain (not object, not array) fields of `row` and of the objects in it,
/// by path.
fn plain_fields(row: &Value) -> Vec<(String, &Value)> {
    let mut fields = Vec::new();
    let Value::Object(object) = row else { return fields };
    for (key, value) in object {
        match value {
            Value::Object(inner) => fields.extend(
                inner.iter().filter(|(_, v)| !v.is_object() && !v.is_array()).map(|(k, v)| (format!("{key}.{k}"), v)),
            ),
            Value::Array(_) => {}
            plain => fields.push((key.clone(), plain)),
        }
    }
    fields
}

/// One value as a cell.
fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let shown = printable(&text, usize::MAX);
    if shown.chars().count() <= MAX_CELL {
        return shown;
    }
    let mut cut: String = shown.chars().take(MAX_CELL - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_line_up_under_their_headers() {
        let rows = [json!({"id": 7, "name": "a", "nested": {"x": 1}}), json!({"id": 12345, "name": "longer name"})];
        let shown = table(&rows);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], "id     name         nested.x");
        assert_eq!(lines[1], "-----  -----------  --------");
        assert_eq!(lines[2], "7      a            1");
        assert_eq!(lines[3], "12345  longer name");
    }

    #[test]
    fn vendor_text_cannot_drive_the_terminal_and_long_text_is_cut() {
        let rows = [json!({"subject": "\u{1b}[2Jgone\r\nforged line", "body": "x".repeat(200)})];
        let shown = table(&rows);
        assert!(!shown.contains('\u{1b}') && !shown.contains('\r'), "{shown:?}");
        assert_eq!(shown.lines().count(), 3, "one header, one rule, one row: {shown}");
        assert!(shown.lines().nth(2).unwrap().ends_with('…'));
        assert_eq!(table(&[]), "(none)\n");
    }
}
