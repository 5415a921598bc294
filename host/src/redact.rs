//! Keeping secrets out of everything the host prints: action results, errors,
//! the connector's log lines and progress messages.
//!
//! The secrets are the asset's `password` variables and every credential the
//! connector sends (the `Authorization` header and the like, so a bearer token
//! the connector keeps in its state is covered the moment it is used). Vendors
//! echo requests in many encodings, so each secret is found however its
//! characters are written: literally, percent-encoded (upper or lower case,
//! `+` for a space, as in form bodies), JSON-escaped (`\"`, `\u0041`, mixed
//! freely), as HTML character references, or base64-encoded (standard or URL
//! alphabet, at any alignment inside a longer base64 text).
//!
//! Redaction never corrupts what the host produced itself: values it is told to
//! protect (vault ids, hashes, paths) are left as they are, and JSON documents
//! are redacted value by value, so their structure survives whatever the secret
//! contains. A secret shorter than [`MIN_SECRET_LEN`] would match inside
//! unrelated text; it is replaced only where a whole value equals it, and
//! [`Redactor::add`] reports it as weak so the caller can warn.

use base64::Engine as _;
use serde_json::{Map, Value};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

/// Secrets shorter than this are too short to find inside other text safely.
pub const MIN_SECRET_LEN: usize = 8;

/// What replaces a secret.
pub const MASK: &str = "***";

/// The secrets of one action.
///
/// Cloning is cheap (the secrets are shared): an asset keeps a redactor of its
/// own secrets, and each action starts from a clone of it.
#[derive(Debug, Default)]
pub struct Redactor {
    /// Longest first, so that a secret containing another is masked whole.
    secrets: RwLock<Vec<Arc<Secret>>>,
}

impl Clone for Redactor {
    fn clone(&self) -> Self {
        Self { secrets: RwLock::new(self.read().clone()) }
    }
}

struct Secret {
    chars: Vec<char>,
    /// A searcher for each base64 text every encoding of the secret contains
    /// (one per alignment), built once when the secret is added: a redactor
    /// sees every string of every result, and building a searcher per string
    /// cost more than the search.
    base64: Vec<memchr::memmem::Finder<'static>>,
    /// Too short to search for inside other text.
    weak: bool,
}

/// Never the secret itself.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} characters)", self.chars.len())
    }
}

impl Secret {
    fn new(value: &str) -> Self {
        let weak = value.chars().count() < MIN_SECRET_LEN;
        let base64 = if weak { Vec::new() } else { base64_cores(value) };
        let base64 = base64.iter().map(|core| memchr::memmem::Finder::new(core.as_bytes()).into_owned()).collect();
        Self { chars: value.chars().collect(), base64, weak }
    }

    fn text(&self) -> String {
        self.chars.iter().collect()
    }
}

/// Whether a secret was added, and whether it is strong enough to be found
/// anywhere in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Redacted wherever it appears.
    Strong,
    /// Shorter than [`MIN_SECRET_LEN`]: replaced only where a whole value equals it.
    Weak,
    /// Already known (or empty).
    Known,
}

impl Redactor {
    /// A redactor for `secrets` (empty ones are ignored).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let redactor = Self::default();
        for secret in secrets {
            redactor.add(secret.as_ref());
        }
        redactor
    }

    /// Adds `secret`.
    pub fn add(&self, secret: &str) -> Added {
        if secret.is_empty() {
            return Added::Known;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        if secrets.iter().any(|known| known.chars.iter().copied().eq(secret.chars())) {
            return Added::Known;
        }
        let secret = Secret::new(secret);
        let added = if secret.weak { Added::Weak } else { Added::Strong };
        let at = secrets.partition_point(|known| known.chars.len() >= secret.chars.len());
        secrets.insert(at, Arc::new(secret));
        added
    }

    /// The secrets. A thread that panicked while adding one leaves the list
    /// whole (an insertion either happened or not), so a poisoned lock is read
    /// as it is: masking never stops because of it.
    fn read(&self) -> RwLockReadGuard<'_, Vec<Arc<Secret>>> {
        self.secrets.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// `text` with every secret masked.
    pub fn text(&self, text: &str) -> String {
        self.text_protecting(text, &[])
    }

    /// `text` with every secret masked, except inside occurrences of `protected`.
    pub fn text_protecting(&self, text: &str, protected: &[&str]) -> String {
        let secrets = self.read();
        if secrets.is_empty() {
            return text.to_string();
        }
        if secrets.iter().any(|secret| secret.weak && secret.chars.iter().copied().eq(text.chars())) {
            return MASK.to_string();
        }
        let keep = protected_ranges(text, protected);
        let mut spans = Vec::new();
        for secret in secrets.iter().filter(|secret| !secret.weak) {
            find_encoded(text, &secret.chars, &mut spans);
        }
        for core in secrets.iter().flat_map(|secret| &secret.base64) {
            let len = core.needle().len();
            if text.len() >= len {
                spans.extend(core.find_iter(text.as_bytes()).map(|at| (at, at + len)));
            }
        }
        spans.retain(|&(start, end)| !keep.iter().any(|&(k0, k1)| start < k1 && k0 < end));
        mask(text, spans)
    }

    /// `value` with every secret masked in every string and key, except strings
    /// equal to one of `protected`.
    pub fn json(&self, value: Value, protected: &[&str]) -> Value {
        match value {
            Value::String(text) if protected.contains(&text.as_str()) => Value::String(text),
            Value::String(text) => Value::String(self.text(&text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|item| self.json(item, protected)).collect()),
            Value::Object(object) => Value::Object(
                object
                    .into_iter()
                    .map(|(key, value)| (self.text(&key), self.json(value, protected)))
                    .collect::<Map<_, _>>(),
            ),
            other => other,
        }
    }

    /// The secrets, for tests and diagnostics.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are no secrets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `text` is one of the secrets, for tests.
    pub fn knows(&self, text: &str) -> bool {
        self.read().iter().any(|secret| secret.text() == text)
    }
}

/// `text` made safe for one line of a terminal or log: control characters
/// (CR and LF, which could forge a log line; escape sequences, which could
/// rewrite the screen) are shown escaped, and text beyond `max` bytes is cut,
/// saying how much was left out.
pub fn printable(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 16);
    for (at, c) in text.char_indices() {
        if out.len() >= max {
            out.push_str(&format!("… ({} more bytes)", text.len() - at));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces the (possibly overlapping) byte ranges `spans` of `text` with [`MASK`].
fn mask(text: &str, mut spans: Vec<(usize, usize)>) -> String {
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        if end <= at {
            continue;
        }
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str(MASK);
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

fn protected_ranges(text: &str, protected: &[&str]) -> Vec<(usize, usize)> {
    protected
        .iter()
        .filter(|value| !value.is_empty())
        .flat_map(|value| text.match_indices(*value).map(|(at, found)| (at, at + found.len())))
        .collect()
}

/// Finds every occurrence of `secret` in `text`, each character written in any
/// of the encodings a vendor may echo it in, and pushes its byte range.
fn find_encoded(text: &str, secret: &[char], spans: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let Some(&first) = secret.first() else { return };
    let mut utf8 = [0u8; 4];
    let first_byte = first.encode_utf8(&mut utf8).as_bytes()[0];
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let may_start = byte == first_byte || matches!(byte, b'%' | b'\\' | b'&' | b'+');
        if may_start
            && text.is_char_boundary(at)
            && let Some(end) = match_from(bytes, at, secret)
        {
            spans.push((at, end));
            at = end;
            continue;
        }
        at += 1;
    }
}

/// Where a match of `secret` starting at `at` ends, trying every encoding of
/// each character (with backtracking, since `%` may be literal or an escape).
fn match_from(bytes: &[u8], at: usize, secret: &[char]) -> Option<usize> {
    let Some((&c, rest)) = secret.split_first() else { return Some(at) };
    let mut candidates = [0usize; 8];
    let count = encodings_at(bytes, at, c, &mut candidates);
    candidates[..count].iter().find_map(|&next| match_from(bytes, next, rest))
}

/// The positions after each encoding of `c` found at `at`.
fn encodings_at(bytes: &[u8], at: usize, c: char, out: &mut [usize; 8]) -> usize {
    let mut count = 0;
    let mut push = |end: Option<usize>| {
        if let Some(end) = end
            && count < out.len()
        {
            out[count] = end;
            count += 1;
        }
    };
    let mut utf8 = [0u8; 4];
    let encoded = c.encode_utf8(&mut utf8).as_bytes();
    // Escapes before the literal character, so that a match takes in the whole
    // escape (`%25` rather than the `%` of it).
    push(percent_encoded(bytes, at, encoded));
    push(json_escaped(bytes, at, c));
    push(html_reference(bytes, at, c));
    if c == ' ' {
        push((bytes.get(at) == Some(&b'+')).then_some(at + 1));
    }
    push(bytes[at..].starts_with(encoded).then_some(at + encoded.len()));
    count
}

fn hex_value(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(bytes).ok()?, 16).ok()
}

/// `%XX` for each UTF-8 byte of the character (either case).
fn percent_encoded(bytes: &[u8], mut at: usize, encoded: &[u8]) -> Option<usize> {
    for &byte in encoded {
        if bytes.get(at) != Some(&b'%') || hex_value(bytes.get(at + 1..at + 3)?)? != u32::from(byte) {
            return None;
        }
        at += 3;
    }
    Some(at)
}

/// `\uXXXX` (a surrogate pair beyond the BMP) or a short JSON escape.
fn json_escaped(bytes: &[u8], at: usize, c: char) -> Option<usize> {
    if bytes.get(at) != Some(&b'\\') {
        return None;
    }
    let short = match c {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '/' => Some(b'/'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        _ => None,
    };
    if let Some(short) = short
        && bytes.get(at + 1) == Some(&short)
    {
        return Some(at + 2);
    }
    let mut units = [0u16; 2];
    let mut end = at;
    for unit in c.encode_utf16(&mut units).iter() {
        if bytes.get(end..end + 2) != Some(b"\\u") || hex_value(bytes.get(end + 2..end + 6)?)? != u32::from(*unit) {
            return None;
        }
        end += 6;
    }
    Some(end)
}

/// `&#65;`, `&#x41;` or a named reference (`&amp;`).
fn html_reference(bytes: &[u8], at: usize, c: char) -> Option<usize> {
    if bytes.get(at) != Some(&b'&') {
        return None;
    }
    let end = at + bytes[at..].iter().take(12).position(|&b| b == b';')?;
    let body = &bytes[at + 1..end];
    let named = match body {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => None,
    };
    let value = match body {
        [b'#', b'x' | b'X', hex @ ..] => hex_value(hex).and_then(char::from_u32),
        [b'#', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            std::str::from_utf8(digits).ok()?.parse::<u32>().ok().and_then(char::from_u32)
        }
        _ => named,
    };
    (value == Some(c)).then_some(end + 1)
}

/// The part of base64 text that every encoding of `secret` contains, for each
/// of the three alignments it may start at, in both alphabets.
fn base64_cores(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let mut cores = Vec::new();
    for offset in 0..3 {
        let mut input = vec![0u8; offset];
        input.extend_from_slice(bytes);
        // Characters carry 6 bits each: the first ones mix in the preceding
        // bytes, the last ones the following bytes; keep only the ones fully
        // determined by the secret.
        let start = (8 * offset).div_ceil(6);
        let end = (8 * (offset + bytes.len())) / 6;
        for engine in
            [&base64::engine::general_purpose::STANDARD_NO_PAD, &base64::engine::general_purpose::URL_SAFE_NO_PAD]
        {
            let encoded = engine.encode(&input);
            if let Some(core) = encoded.get(start..end).filter(|core| core.len() >= MIN_SECRET_LEN) {
                cores.push(core.to_string());
            }
        }
    }
    cores.sort();
    cores.dedup();
    cores
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    const SECRET: &str = "s3cr\"et/Ä + 100%";

    #[test]
    fn a_panic_while_the_secrets_were_locked_stops_no_masking() {
        let redactor = Arc::new(Redactor::new(["a-long-secret"]));
        let poisoner = redactor.clone();
        let panicked = std::thread::spawn(move || {
            let _held = poisoner.secrets.write().unwrap();
            panic!("while adding a secret");
        })
        .join();
        assert!(panicked.is_err() && redactor.secrets.is_poisoned());
        assert_eq!(redactor.text("x a-long-secret y"), "x *** y");
        let clone = redactor.as_ref().clone();
        assert!(clone.knows("a-long-secret") && clone.len() == 1);
        assert_eq!(redactor.add("another-secret"), Added::Strong);
        assert_eq!(redactor.text("another-secret"), "***");
    }

    fn redactor() -> Redactor {
        Redactor::new([SECRET])
    }

    #[test]
    fn every_encoding_a_vendor_echoes_is_masked() {
        let form = "s3cr%22et%2F%C3%84+%2B+100%25";
        let echoes = [
            SECRET.to_string(),
            form.to_string(),
            form.to_ascii_lowercase(),
            "s3cr%22et%2f%c3%84%20%2B%20100%25".to_string(),
            serde_json::to_string(SECRET).unwrap().trim_matches('"').to_string(),
            SECRET.chars().map(|c| format!("\\u{:04x}", c as u32)).collect(),
            SECRET.chars().map(|c| format!("\\u{:04X}", c as u32)).collect(),
            "s3cr\\u0022et\\/\\u00c4 + 100%".to_string(),
            "s3cr&quot;et/&#196; &#x2b; 100%".to_string(),
        ];
        for echo in echoes {
            let text = format!("client_secret={echo}&grant_type=x");
            assert_eq!(redactor().text(&text), "client_secret=***&grant_type=x", "{echo}");
        }
        for prefix in ["", "a", "ab", "abc"] {
            for encoded in
                [STANDARD.encode(format!("{prefix}{SECRET}tail")), URL_SAFE_NO_PAD.encode(format!("{prefix}{SECRET}"))]
            {
                let masked = redactor().text(&format!("Basic {encoded}"));
                assert!(masked.contains(MASK), "{prefix:?}: {encoded} -> {masked}");
                assert!(masked.len() < encoded.len(), "{masked}");
            }
        }
    }

    #[test]
    fn protected_values_and_json_structure_survive() {
        let redactor = Redactor::new(["aaaaaaaaaa"]);
        let vault_id = "aaaaaaaaaa1234567890aaaaaaaaaa1234567890";
        let text = format!("stored {vault_id} from aaaaaaaaaa");
        assert_eq!(redactor.text_protecting(&text, &[vault_id]), format!("stored {vault_id} from ***"));
        let quoted = Redactor::new(["x\",\"y\":\"z"]);
        let value = serde_json::json!({"a": "x\",\"y\":\"z", "vault_id": "x\",\"y\":\"z"});
        let masked = quoted.json(value, &[]);
        assert_eq!(masked, serde_json::json!({"a": MASK, "vault_id": MASK}));
    }

    #[test]
    fn weak_secrets_are_masked_only_as_whole_values() {
        let redactor = Redactor::default();
        assert_eq!(redactor.add("b"), Added::Weak);
        assert_eq!(redactor.add("b"), Added::Known);
        assert_eq!(redactor.text("abba"), "abba");
        assert_eq!(redactor.text("b"), MASK);
        assert_eq!(
            redactor.json(serde_json::json!({"hash": "bb", "s": "b"}), &[]),
            serde_json::json!({"hash": "bb", "s": MASK})
        );
    }

    #[test]
    fn printable_text_cannot_forge_lines() {
        assert_eq!(printable("id\r\n ERROR forged log line\u{1b}[2J", 100), "id\\r\\n ERROR forged log line\\u{1b}[2J");
        assert_eq!(printable(&"x".repeat(60_000), 10), "xxxxxxxxxx… (59990 more bytes)");
    }

    proptest! {
        /// Whatever surrounds it, a strong secret never survives a literal or
        /// percent-encoded echo, and text without it is left as it was.
        #[test]
        fn secrets_never_survive_and_other_text_is_untouched(
            secret in "[a-zA-Z0-9!#$%&()+,./:;<=>?@^_{|}~ -]{8,24}", before in "\\PC{0,40}", after in "\\PC{0,40}",
        ) {
            let redactor = Redactor::new([secret.as_str()]);
            let echoed = format!("{before}{secret}{after}");
            prop_assert!(!redactor.text(&echoed).contains(&secret));
            let form: String = secret.bytes().map(|b| format!("%{b:02X}")).collect();
            let echoed_form = format!("{before}{form}{after}");
            prop_assert!(!redactor.text(&echoed_form).contains(&form));
            if !before.contains(&secret[..1]) && !before.contains(['%', '\\', '&', '+']) {
                prop_assert_eq!(redactor.text(&before), before);
            }
        }
    }
}
