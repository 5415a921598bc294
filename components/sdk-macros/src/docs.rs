//! Doc-comment tags: `@tag text`, continued on following lines that do not start
//! with `@`; the text before the first tag is the description.

/// A doc comment split into its description and its tags.
pub struct Tagged {
    pub description: String,
    pub tags: Vec<(String, String)>,
}

/// Splits `docs` into the description and `(tag, text)` pairs, in order.
pub fn parse(docs: Option<&str>) -> Tagged {
    let mut description = Vec::new();
    let mut tags: Vec<(String, String)> = Vec::new();
    for line in docs.unwrap_or_default().lines().map(str::trim) {
        if let Some(tagged) = line.strip_prefix('@') {
            let (tag, text) = tagged.split_once(char::is_whitespace).unwrap_or((tagged, ""));
            tags.push((tag.to_string(), text.trim().to_string()));
        } else if let Some((_, text)) = tags.last_mut() {
            if !line.is_empty() {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(line);
            }
        } else {
            description.push(line);
        }
    }
    Tagged { description: join_paragraphs(&description), tags }
}

/// Joins wrapped lines into paragraphs separated by a blank line.
fn join_paragraphs(lines: &[&str]) -> String {
    lines
        .split(|line| line.is_empty())
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| paragraph.join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Splits `name rest` at the first whitespace.
pub fn split_name(text: &str) -> (&str, &str) {
    let (name, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    (name, rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_tags_and_continuations() {
        let tagged = parse(Some(
            "Does a thing.\nOver two lines.\n\nSecond paragraph.\n\n@kind investigate\n@read-only\n@param id The id\n  continued here\n",
        ));
        assert_eq!(tagged.description, "Does a thing. Over two lines.\n\nSecond paragraph.");
        assert_eq!(
            tagged.tags,
            vec![
                ("kind".to_string(), "investigate".to_string()),
                ("read-only".to_string(), String::new()),
                ("param".to_string(), "id The id continued here".to_string()),
            ]
        );
        assert_eq!(split_name("id The id"), ("id", "The id"));
    }
}
