//! A small ThreatConnect Query Language (TQL) parser and evaluator, enough for what connectors send.
//!
//! ```text
//! query      := or
//! or         := and ( OR and )*
//! and        := unary ( AND unary )*
//! unary      := NOT unary | '(' or ')' | comparison
//! comparison := field op value
//!             | field [NOT] IN '(' value ( ',' value )* ')'
//! op         := = | != | <> | < | <= | > | >= | EQ | NE | LT | LEQ | GT | GEQ
//!             | CONTAINS | NOT CONTAINS | STARTSWITH | ENDSWITH
//! value      := 'string' | "string" | number | true | false
//! field      := typeName | summary | ownerName | dateAdded | lastModified | rating | confidence | id | active
//! ```
//!
//! Keywords and field names are case-insensitive. Strings take the escapes `\'`, `\"`, `` \` `` and `\\`; any
//! other backslash is kept as it is. Text comparisons ignore ASCII case, as the real search does (hashes are
//! stored upper-case but hunted in any case). Dates are ISO-8601 (`2024-01-02`, `2024-01-02T03:04:05Z`, with an
//! offset or fractional seconds). A missing rating or confidence counts as 0.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use std::cmp::Ordering;

/// A field a query can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `typeName`: the indicator type (`Address`, `Registry Key`...).
    TypeName,
    /// `summary`.
    Summary,
    /// `ownerName`.
    OwnerName,
    /// `dateAdded`.
    DateAdded,
    /// `lastModified`.
    LastModified,
    /// `rating` (0-5).
    Rating,
    /// `confidence` (0-100).
    Confidence,
    /// `id`.
    Id,
    /// `active`.
    Active,
}

/// What kind of value a field holds, which decides how literals are read and which operators apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Date,
    Flag,
}

impl Field {
    fn parse(name: &str) -> Option<Self> {
        const NAMES: [(&str, Field); 9] = [
            ("typename", Field::TypeName),
            ("summary", Field::Summary),
            ("ownername", Field::OwnerName),
            ("dateadded", Field::DateAdded),
            ("lastmodified", Field::LastModified),
            ("rating", Field::Rating),
            ("confidence", Field::Confidence),
            ("id", Field::Id),
            ("active", Field::Active),
        ];
        NAMES.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)).map(|(_, field)| *field)
    }

    fn kind(self) -> Kind {
        match self {
            Self::TypeName | Self::Summary | Self::OwnerName => Kind::Text,
            Self::DateAdded | Self::LastModified => Kind::Date,
            Self::Rating | Self::Confidence | Self::Id => Kind::Number,
            Self::Active => Kind::Flag,
        }
    }
}

/// A field's value in one record. Dates are Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// A text field.
    Text(&'a str),
    /// A number, or a date as Unix seconds.
    Number(f64),
    /// A boolean field.
    Flag(bool),
}

/// Something a query can be evaluated against.
pub trait Record {
    /// The value of `field`; dates as [`FieldValue::Number`] of Unix seconds.
    fn field(&self, field: Field) -> FieldValue<'_>;
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    expr: Expr,
}

impl Query {
    /// Parses `text`; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = lex(text)?;
        let mut parser = Parser { tokens, at: 0 };
        let expr = parser.or()?;
        match parser.peek() {
            None => Ok(Self { expr }),
            Some(token) => Err(format!("unexpected {} after the end of the expression", token.describe())),
        }
    }

    /// Whether `record` satisfies the query.
    pub fn matches(&self, record: &impl Record) -> bool {
        self.expr.matches(record)
    }

    /// Whether the query tests `field` anywhere.
    pub fn mentions(&self, field: Field) -> bool {
        self.expr.mentions(field)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare { field: Field, op: Op, value: Literal },
    In { field: Field, negated: bool, values: Vec<Literal> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
}

impl Op {
    fn is_text_only(self) -> bool {
        matches!(self, Self::Contains | Self::NotContains | Self::StartsWith | Self::EndsWith)
    }

    fn accepts(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering.is_eq(),
            Self::Ne => ordering.is_ne(),
            Self::Lt => ordering.is_lt(),
            Self::Le => ordering.is_le(),
            Self::Gt => ordering.is_gt(),
            Self::Ge => ordering.is_ge(),
            Self::Contains | Self::NotContains | Self::StartsWith | Self::EndsWith => false,
        }
    }
}

/// A literal converted to its field's kind when the query is parsed, so type errors are caught before any
/// record is looked at.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Number(f64),
    Flag(bool),
}

impl Expr {
    fn matches(&self, record: &impl Record) -> bool {
        match self {
            Self::And(left, right) => left.matches(record) && right.matches(record),
            Self::Or(left, right) => left.matches(record) || right.matches(record),
            Self::Not(inner) => !inner.matches(record),
            Self::Compare { field, op, value } => compare(record.field(*field), *op, value),
            Self::In { field, negated, values } => {
                let actual = record.field(*field);
                values.iter().any(|value| compare(actual, Op::Eq, value)) != *negated
            }
        }
    }

    fn mentions(&self, wanted: Field) -> bool {
        match self {
            Self::And(left, right) | Self::Or(left, right) => left.mentions(wanted) || right.mentions(wanted),
            Self::Not(inner) => inner.mentions(wanted),
            Self::Compare { field, .. } | Self::In { field, .. } => *field == wanted,
        }
    }
}

fn compare(actual: FieldValue<'_>, op: Op, expected: &Literal) -> bool {
    match (actual, expected) {
        (FieldValue::Text(actual), Literal::Text(expected)) => compare_text(actual, op, expected),
        (FieldValue::Number(actual), Literal::Number(expected)) => {
            actual.partial_cmp(expected).is_some_and(|ordering| op.accepts(ordering))
        }
        (FieldValue::Flag(actual), Literal::Flag(expected)) => op.accepts(actual.cmp(expected)),
        // Parsing converts every literal to its field's kind, so this is a record of an unexpected shape.
        _ => false,
    }
}

fn compare_text(actual: &str, op: Op, expected: &str) -> bool {
    let (actual, expected) = (actual.as_bytes(), expected.as_bytes());
    match op {
        Op::Contains => contains_ignore_case(actual, expected),
        Op::NotContains => !contains_ignore_case(actual, expected),
        Op::StartsWith => actual.get(..expected.len()).is_some_and(|head| head.eq_ignore_ascii_case(expected)),
        Op::EndsWith => {
            let from = actual.len().checked_sub(expected.len());
            from.is_some_and(|from| actual[from..].eq_ignore_ascii_case(expected))
        }
        _ => op.accepts(cmp_ignore_case(actual, expected)),
    }
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
}

fn cmp_ignore_case(a: &[u8], b: &[u8]) -> Ordering {
    a.iter().map(u8::to_ascii_lowercase).cmp(b.iter().map(u8::to_ascii_lowercase))
}

/// Parses an ISO-8601 date or date-time (UTC unless it carries an offset) into Unix seconds.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp());
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0))?;
    Some(naive.and_utc().timestamp())
}

/// Formats Unix seconds as the API does (`2024-01-02T03:04:05Z`).
pub fn format_date(seconds: i64) -> String {
    let time = DateTime::<Utc>::from_timestamp(seconds, 0).unwrap_or_default();
    // Field by field: chrono's format strings are interpreted on every call, and pages render thousands.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Comma,
    Symbol(&'static str),
    Word(String),
    Text(String),
    Number(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Open => "'('".into(),
            Self::Close => "')'".into(),
            Self::Comma => "','".into(),
            Self::Symbol(symbol) => format!("'{symbol}'"),
            Self::Word(word) => format!("'{word}'"),
            Self::Text(text) => format!("string {text:?}"),
            Self::Number(number) => format!("number {number}"),
        }
    }

    fn is_word(&self, keyword: &str) -> bool {
        matches!(self, Self::Word(word) if word.eq_ignore_ascii_case(keyword))
    }
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        let (token, next) = match c {
            c if c.is_whitespace() => {
                at += 1;
                continue;
            }
            '(' => (Token::Open, at + 1),
            ')' => (Token::Close, at + 1),
            ',' => (Token::Comma, at + 1),
            '\'' | '"' => lex_string(&chars, at)?,
            '=' | '!' | '<' | '>' => lex_symbol(&chars, at)?,
            c if c.is_ascii_digit() || c == '-' || c == '.' => lex_number(&chars, at),
            c if c.is_alphabetic() || c == '_' => lex_word(&chars, at),
            other => return Err(format!("unexpected character {other:?} at position {at}")),
        };
        tokens.push(token);
        at = next;
    }
    Ok(tokens)
}

/// A quoted string starting at `start`, and the position after its closing quote.
fn lex_string(chars: &[char], start: usize) -> Result<(Token, usize), String> {
    let quote = chars[start];
    let mut text = String::new();
    let mut at = start + 1;
    loop {
        match chars.get(at) {
            None => return Err(format!("unterminated string starting at position {start}")),
            Some(&c) if c == quote => return Ok((Token::Text(text), at + 1)),
            Some('\\') => match chars.get(at + 1) {
                Some(&escaped @ ('\'' | '"' | '`' | '\\')) => {
                    text.push(escaped);
                    at += 2;
                }
                // Not an escape: a Windows path such as `HKEY_LOCAL_MACHINE\Software` keeps its backslash.
                _ => {
                    text.push('\\');
                    at += 1;
                }
            },
            Some(&c) => {
                text.push(c);
                at += 1;
            }
        }
    }
}

fn lex_symbol(chars: &[char], at: usize) -> Result<(Token, usize), String> {
    let next = chars.get(at + 1).copied();
    let (symbol, length) = match (chars[at], next) {
        ('=', _) => ("=", 1),
        ('!', Some('=')) => ("!=", 2),
        ('<', Some('>')) => ("!=", 2),
        ('<', Some('=')) => ("<=", 2),
        ('<', _) => ("<", 1),
        ('>', Some('=')) => (">=", 2),
        ('>', _) => (">", 1),
        (other, _) => return Err(format!("unexpected character {other:?} at position {at}")),
    };
    Ok((Token::Symbol(symbol), at + length))
}

fn lex_number(chars: &[char], start: usize) -> (Token, usize) {
    let end =
        (start + 1..chars.len()).find(|&i| !(chars[i].is_ascii_digit() || chars[i] == '.')).unwrap_or(chars.len());
    (Token::Number(chars[start..end].iter().collect()), end)
}

fn lex_word(chars: &[char], start: usize) -> (Token, usize) {
    let end = (start..chars.len()).find(|&i| !(chars[i].is_alphanumeric() || chars[i] == '_')).unwrap_or(chars.len());
    (Token::Word(chars[start..end].iter().collect()), end)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn eat_word(&mut self, keyword: &str) -> bool {
        let found = self.peek().is_some_and(|token| token.is_word(keyword));
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, wanted: &Token, what: &str) -> Result<(), String> {
        match self.next() {
            Some(token) if &token == wanted => Ok(()),
            Some(token) => Err(format!("expected {what}, found {}", token.describe())),
            None => Err(format!("expected {what}, found the end of the query")),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.eat_word("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(&Token::Close, "')'")?;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let field = match self.next() {
            Some(Token::Word(name)) => Field::parse(&name).ok_or_else(|| format!("unknown field '{name}'"))?,
            Some(token) => return Err(format!("expected a field name, found {}", token.describe())),
            None => return Err("expected a field name, found the end of the query".into()),
        };
        let negated = self.eat_word("not");
        if self.eat_word("in") {
            return Ok(Expr::In { field, negated, values: self.list(field)? });
        }
        let op = self.operator(negated)?;
        if op.is_text_only() && field.kind() != Kind::Text {
            return Err(format!("operator {op:?} does not apply to field {field:?}"));
        }
        let value = self.value(field)?;
        Ok(Expr::Compare { field, op, value })
    }

    /// The operator after a field; `negated` when a NOT came first (only NOT IN and NOT CONTAINS exist).
    fn operator(&mut self, negated: bool) -> Result<Op, String> {
        let token = self.next().ok_or("expected an operator, found the end of the query")?;
        let op = match &token {
            Token::Symbol(symbol) => symbol_op(symbol),
            Token::Word(word) => word_op(word),
            _ => None,
        };
        match (op, negated) {
            (Some(Op::Contains), true) => Ok(Op::NotContains),
            (Some(op), false) => Ok(op),
            _ => Err(format!("expected an operator, found {}", token.describe())),
        }
    }

    fn list(&mut self, field: Field) -> Result<Vec<Literal>, String> {
        self.expect(&Token::Open, "'(' after IN")?;
        let mut values = vec![self.value(field)?];
        while self.peek() == Some(&Token::Comma) {
            self.at += 1;
            values.push(self.value(field)?);
        }
        self.expect(&Token::Close, "')' or ',' in the IN list")?;
        Ok(values)
    }

    fn value(&mut self, field: Field) -> Result<Literal, String> {
        let raw = match self.next() {
            Some(Token::Text(text) | Token::Number(text)) => text,
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") => word,
            Some(token) => return Err(format!("expected a value, found {}", token.describe())),
            None => return Err("expected a value, found the end of the query".into()),
        };
        literal(field, raw)
    }
}

fn symbol_op(symbol: &str) -> Option<Op> {
    Some(match symbol {
        "=" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        _ => return None,
    })
}

fn word_op(word: &str) -> Option<Op> {
    const WORDS: [(&str, Op); 9] = [
        ("eq", Op::Eq),
        ("ne", Op::Ne),
        ("lt", Op::Lt),
        ("leq", Op::Le),
        ("gt", Op::Gt),
        ("geq", Op::Ge),
        ("contains", Op::Contains),
        ("startswith", Op::StartsWith),
        ("endswith", Op::EndsWith),
    ];
    WORDS.iter().find(|(name, _)| name.eq_ignore_ascii_case(word)).map(|(_, op)| *op)
}

fn literal(field: Field, raw: String) -> Result<Literal, String> {
    match field.kind() {
        Kind::Text => Ok(Literal::Text(raw)),
        Kind::Number => raw.trim().parse().map(Literal::Number).map_err(|_| format!("{raw:?} is not a number")),
        Kind::Date => parse_date(&raw)
            .map(|seconds| Literal::Number(seconds as f64))
            .ok_or_else(|| format!("{raw:?} is not an ISO-8601 date")),
        Kind::Flag => match raw.to_ascii_lowercase().as_str() {
            "true" => Ok(Literal::Flag(true)),
            "false" => Ok(Literal::Flag(false)),
            _ => Err(format!("{raw:?} is not true or false")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        type_name: &'static str,
        summary: &'static str,
        date_added: i64,
        rating: f64,
        active: bool,
    }

    impl Record for Fake {
        fn field(&self, field: Field) -> FieldValue<'_> {
            match field {
                Field::TypeName => FieldValue::Text(self.type_name),
                Field::Summary => FieldValue::Text(self.summary),
                Field::OwnerName => FieldValue::Text("Demo Organization"),
                Field::DateAdded | Field::LastModified => FieldValue::Number(self.date_added as f64),
                Field::Rating => FieldValue::Number(self.rating),
                Field::Confidence | Field::Id => FieldValue::Number(7.0),
                Field::Active => FieldValue::Flag(self.active),
            }
        }
    }

    const ADDRESS: Fake =
        Fake { type_name: "Address", summary: "1.2.3.4", date_added: 1_704_164_645, rating: 3.0, active: true };
    const QUOTED: Fake = Fake {
        type_name: "URL",
        summary: "http://evil.example/it's\"quoted\"\\path`",
        date_added: 1_700_000_000,
        rating: 0.0,
        active: false,
    };

    fn matches(query: &str, record: &Fake) -> bool {
        Query::parse(query).unwrap_or_else(|e| panic!("{query}: {e}")).matches(record)
    }

    #[test]
    fn connector_queries() {
        assert!(matches("typeName IN ('Address') AND summary CONTAINS '1.2.3.4'", &ADDRESS));
        assert!(matches(
            "typeName IN ('Address') AND summary CONTAINS '2.3' and ownerName in ('Demo Organization')",
            &ADDRESS
        ));
        assert!(matches("typeName IN ('Address') and ownerName in (\"O'Brien\", 'Demo Organization')", &ADDRESS));
        assert!(!matches("typeName IN ('File', 'Host') AND summary CONTAINS '1.2.3.4'", &ADDRESS));
        assert!(matches("typeName EQ \"address\" AND (summary=\"9.9.9.9\" OR summary=\"1.2.3.4\")", &ADDRESS));
    }

    #[test]
    fn precedence_and_negation() {
        // AND binds tighter than OR.
        assert!(matches("summary = 'x' AND rating = 9 OR typeName = 'Address'", &ADDRESS));
        assert!(!matches("summary = 'x' AND (rating = 9 OR typeName = 'Address')", &ADDRESS));
        assert!(matches("NOT typeName = 'File'", &ADDRESS));
        assert!(matches("typeName NOT IN ('File', 'Host')", &ADDRESS));
        assert!(matches("summary NOT CONTAINS '9'", &ADDRESS));
        assert!(matches("summary startswith '1.2' and summary ENDSWITH '.4'", &ADDRESS));
    }

    #[test]
    fn numbers_dates_and_flags() {
        assert!(matches("rating >= 3 and rating < 3.5 and rating != 1 and rating <> 2", &ADDRESS));
        assert!(matches("dateAdded > '2024-01-02T03:04:04Z' AND dateAdded <= '2024-01-02T03:04:05Z'", &ADDRESS));
        assert!(matches("dateAdded = '2024-01-02T04:04:05+01:00'", &ADDRESS));
        assert!(matches("dateAdded >= '2024-01-02' and dateAdded < \"2024-01-03 00:00:00\"", &ADDRESS));
        assert!(matches("dateAdded GT '2024-01-02T03:04:04.500Z'", &ADDRESS));
        assert!(matches("active = true", &ADDRESS));
        assert!(matches("active = false", &QUOTED));
        assert!(matches("confidence in (1, 7)", &ADDRESS));
    }

    #[test]
    fn escapes() {
        assert!(matches(r"summary CONTAINS 'it\'s'", &QUOTED));
        assert!(matches(r#"summary CONTAINS "\"quoted\"""#, &QUOTED));
        assert!(matches(r"summary CONTAINS '\\path\`'", &QUOTED));
        assert!(matches(r"summary contains '\path'", &QUOTED), "an unknown escape keeps its backslash");
        assert!(!matches(r"summary CONTAINS 'it\'s' AND summary CONTAINS 'nope'", &QUOTED));
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "summary",
            "summary =",
            "summary = 'unterminated",
            "colour = 'red'",
            "summary = 'a' AND",
            "summary = 'a' 'b'",
            "typeName IN 'Address'",
            "typeName IN ('Address'",
            "(summary = 'a'",
            "rating = 'high'",
            "rating CONTAINS 3",
            "dateAdded > 'yesterday'",
            "active = 'maybe'",
            "summary NOT = 'a'",
            "summary # 'a'",
        ] {
            assert!(Query::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(format_date(1_704_164_645), "2024-01-02T03:04:05Z");
        assert_eq!(parse_date("2024-01-02T03:04:05Z"), Some(1_704_164_645));
    }

    #[test]
    fn mentions() {
        let query = Query::parse("summary = 'a' or (active = false and rating > 1)").expect("parses");
        assert!(query.mentions(Field::Active));
        assert!(!query.mentions(Field::TypeName));
    }
}
