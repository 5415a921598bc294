//! Dates in the forms users type (`01 Mar 2021`, `01 Feb 2021 04:45:33`,
//! `2022-04-17T14:05:44Z`, `15/09/2022`, `4/10/2022`, `2020-08-31`), read as UTC
//! unless they carry an offset, which is applied.

use crate::ActionError;
pub use chrono::{DateTime, TimeDelta, Utc};
use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// Date layouts, most specific first. Numeric day/month order is month-first
/// (`4/10/2022` is April 10) unless the first number cannot be a month
/// (`15/09/2022`), as common date parsers do.
const DATES: &[&str] = &[
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %B %Y",
    "%d %B, %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%d-%B-%Y",
    "%a %d %B %Y",
    "%a, %d %B %Y",
    "%a %B %d %Y",
];
/// Time layouts that may follow a date, after `T` or a space.
const TIMES: &[&str] = &["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"];

/// The current time (UTC).
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Parses `text`, typed by a user into parameter `name`.
pub fn parse(name: &str, text: &str) -> Result<DateTime<Utc>, ActionError> {
    parse_utc(text).ok_or_else(|| {
        ActionError::invalid_parameter(
            name,
            format!(
                "Please provide a valid date in the '{name}' parameter, for example 2022-04-17T14:05:44Z or 01 Mar 2021"
            ),
        )
    })
}

/// Parses a date, or `None` if it is in no known form.
pub fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date.with_timezone(&Utc));
    }
    if let Ok(date) = DateTime::parse_from_rfc2822(text) {
        return Some(date.with_timezone(&Utc));
    }
    if let Some(millis) = text.strip_prefix('@').and_then(|n| n.parse::<i64>().ok()) {
        return DateTime::from_timestamp_millis(millis);
    }
    let (naive, offset) = split_offset(text);
    let local = parse_naive(naive)?;
    // Checked: a date at the edge of the calendar with an offset must not overflow.
    Some(local.checked_sub_signed(TimeDelta::seconds(offset.local_minus_utc().into()))?.and_utc())
}

/// Formats as `2022-04-17T14:05:44.000000Z` (six fractional digits).
pub fn format_micros(date: &DateTime<Utc>) -> String {
    format!("{}.{:06}Z", format_fields(date, 'T'), micros(date))
}

/// Formats as `2022-04-17T14:05:44Z`.
pub fn format_seconds(date: &DateTime<Utc>) -> String {
    format!("{}Z", format_fields(date, 'T'))
}

/// Formats as `2022-04-17_14:05:44.000000`, for file names.
pub fn format_stamp(date: &DateTime<Utc>) -> String {
    format!("{}.{:06}", format_fields(date, '_'), micros(date))
}

/// `2022-04-17` `separator` `14:05:44`. Written from the fields rather than with
/// `DateTime::format`, whose run-time interpreter of `%` layouts is the largest
/// part of chrono in a component.
fn format_fields(date: &DateTime<Utc>, separator: char) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}",
        date.year(),
        date.month(),
        date.day(),
        date.hour(),
        date.minute(),
        date.second()
    )
}

/// The microseconds within the second (a leap second's included).
fn micros(date: &DateTime<Utc>) -> u32 {
    use chrono::Timelike;
    date.nanosecond() % 1_000_000_000 / 1_000
}

/// Splits a trailing `Z`, `UTC`, `GMT` or `±HH:MM`/`±HHMM` offset from a date-time.
fn split_offset(text: &str) -> (&str, FixedOffset) {
    let utc = FixedOffset::east_opt(0).expect("zero offset");
    for suffix in ["Z", " UTC", " GMT", "UTC", "GMT"] {
        if text.len() > suffix.len() && text[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix) {
            return (text[..text.len() - suffix.len()].trim_end(), utc);
        }
    }
    if !text.contains(':') {
        return (text, utc);
    }
    for len in [6, 5] {
        let Some(start) = text.len().checked_sub(len) else { continue };
        let Some(tail) = text.get(start..) else { continue };
        let digits: String = tail[1..].chars().filter(|c| *c != ':').collect();
        let sign = match tail.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => continue,
        };
        if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) && (len == 5 || &tail[3..4] == ":") {
            let hours: i32 = digits[..2].parse().unwrap_or(0);
            let minutes: i32 = digits[2..].parse().unwrap_or(0);
            if let Some(offset) = FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)) {
                return (text[..start].trim_end(), offset);
            }
        }
    }
    (text, utc)
}

fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    for date in DATES {
        if let Ok(date) = NaiveDate::parse_from_str(text, date) {
            return Some(date.and_time(NaiveTime::MIN));
        }
        for separator in ["T", " "] {
            for time in TIMES {
                if let Ok(date) = NaiveDateTime::parse_from_str(text, &format!("{date}{separator}{time}")) {
                    return Some(date);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> String {
        format_micros(&parse_utc(text).unwrap_or_else(|| panic!("{text} should parse")))
    }

    #[test]
    fn the_forms_users_type() {
        assert_eq!(micros("01 Mar 2021"), "2021-03-01T00:00:00.000000Z");
        assert_eq!(micros("01 Feb 2021 04:45:33"), "2021-02-01T04:45:33.000000Z");
        assert_eq!(micros("2022-04-17T14:05:44Z"), "2022-04-17T14:05:44.000000Z");
        assert_eq!(micros("15/09/2022"), "2022-09-15T00:00:00.000000Z");
        assert_eq!(micros("4/10/2022"), "2022-04-10T00:00:00.000000Z");
        assert_eq!(micros("20/08/2032"), "2032-08-20T00:00:00.000000Z");
        assert_eq!(micros("2020-08-31"), "2020-08-31T00:00:00.000000Z");
        assert_eq!(micros("2022-12-22T12:27:29.768"), "2022-12-22T12:27:29.768000Z");
        assert_eq!(micros("March 1, 2021"), "2021-03-01T00:00:00.000000Z");
        assert_eq!(micros("2080-05-15"), "2080-05-15T00:00:00.000000Z");
    }

    #[test]
    fn formats_have_fixed_widths() {
        let date = parse_utc("2022-04-07T04:05:06.000789Z").unwrap();
        assert_eq!(format_micros(&date), "2022-04-07T04:05:06.000789Z");
        assert_eq!(format_seconds(&date), "2022-04-07T04:05:06Z");
        assert_eq!(format_stamp(&date), "2022-04-07_04:05:06.000789");
        let early = parse_utc("0999-01-02").unwrap();
        assert_eq!(format_seconds(&early), "0999-01-02T00:00:00Z");
        // What chrono's `%` layouts give, for dates across the range users type.
        for text in ["1970-01-01", "2000-02-29T23:59:59.999999Z", "2080-05-15 01:02:03", "9999-12-31T23:59:59Z"] {
            let date = parse_utc(text).unwrap();
            assert_eq!(format_micros(&date), date.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(), "{text}");
        }
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        assert_eq!(micros("2022-04-17T14:05:44+05:30"), "2022-04-17T08:35:44.000000Z");
        assert_eq!(micros("2022-04-17 14:05:44 -0100"), "2022-04-17T15:05:44.000000Z");
        assert_eq!(micros("2022-04-17 14:05:44 UTC"), "2022-04-17T14:05:44.000000Z");
    }

    #[test]
    fn nonsense_is_rejected_naming_the_parameter() {
        for text in ["", "yesterday", "1 hour ago", "31/31/2022", "2022-13-01"] {
            assert!(parse_utc(text).is_none(), "{text}");
        }
        let err = parse("since", "soon").unwrap_err();
        assert!(err.message().contains("'since'"));
    }
}
