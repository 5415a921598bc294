//! Dates in the forms users type (`01 Mar 2021`, `01 Feb 2021 04:45:33`,
//! `2022-04-17T14:05:44Z`, `15/09/2022`, `4/10/2022`, `2020-08-31`), and in RFC
//! 3339 and RFC 2822 (`Tue, 1 Jul 2003 10:52:37 +0200`), read as UTC unless they
//! carry an offset, which is applied.
//!
//! The layouts are read here, by a matcher of a few kinds of field, rather than
//! by chrono's run-time interpreter of `%` layouts: that interpreter was the
//! largest part of chrono in a component. The matcher reads each field as
//! chrono's `%` specifier does (its tests check it against chrono), so what
//! users type means what it meant before. Not read: RFC 2822's comments and its
//! military zone letters other than `Z`, which no sender uses.

use crate::ActionError;
pub use chrono::{DateTime, TimeDelta, Utc};
use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// A field or separator of a layout, read as chrono reads its `%` specifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    /// `%Y`: up to four digits, or a sign and any number of them.
    Year,
    /// `%m`, `%d`, `%H`, `%M`, `%S`: one or two digits.
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// `%.f`: a dot and digits (nanoseconds; digits past nine ignored), or nothing.
    Fraction,
    /// `%B`: a month's name or its first three letters, in any case.
    MonthName,
    /// `%a`: a weekday's first three letters, in any case; it must be the date's.
    Weekday,
    /// This character.
    Lit(u8),
    /// Any whitespace, or none.
    Space,
}

use Item::{Day, Fraction, Hour, Lit, Minute, Month, MonthName, Second, Space, Weekday as Wd, Year};

/// Date layouts, most specific first. Numeric day/month order is month-first
/// (`4/10/2022` is April 10) unless the first number cannot be a month
/// (`15/09/2022`), as common date parsers do.
const DATES: &[&[Item]] = &[
    &[Year, Lit(b'-'), Month, Lit(b'-'), Day],
    &[Year, Lit(b'/'), Month, Lit(b'/'), Day],
    &[Month, Lit(b'/'), Day, Lit(b'/'), Year],
    &[Day, Lit(b'/'), Month, Lit(b'/'), Year],
    &[Month, Lit(b'-'), Day, Lit(b'-'), Year],
    &[Day, Lit(b'-'), Month, Lit(b'-'), Year],
    &[Day, Lit(b'.'), Month, Lit(b'.'), Year],
    RFC2822_DATE,
    &[Day, Space, MonthName, Lit(b','), Space, Year],
    &[MonthName, Space, Day, Space, Year],
    &[MonthName, Space, Day, Lit(b','), Space, Year],
    &[Day, Lit(b'-'), MonthName, Lit(b'-'), Year],
    &[Wd, Space, Day, Space, MonthName, Space, Year],
    RFC2822_DATE_WITH_WEEKDAY,
    &[Wd, Space, MonthName, Space, Day, Space, Year],
];
/// The layouts of RFC 2822 dates (`1 Jul 2003`, `Tue, 1 Jul 2003`), whose years
/// may have two or three digits when a time and a zone follow.
const RFC2822_DATE: &[Item] = &[Day, Space, MonthName, Space, Year];
const RFC2822_DATE_WITH_WEEKDAY: &[Item] = &[Wd, Lit(b','), Space, Day, Space, MonthName, Space, Year];
/// What separates a date from its time (`t` as RFC 3339 allows).
const SEPARATORS: &[Item] = &[Lit(b'T'), Lit(b't'), Space];
/// Time layouts that may follow a date.
const TIMES: &[&[Item]] = &[&[Hour, Lit(b':'), Minute, Lit(b':'), Second, Fraction], &[Hour, Lit(b':'), Minute]];

/// Zones by name, in minutes east of UTC: those of RFC 2822, and `UTC`.
const ZONES: &[(&str, i32)] = &[
    ("Z", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("UT", 0),
    ("EST", -300),
    ("EDT", -240),
    ("CST", -360),
    ("CDT", -300),
    ("MST", -420),
    ("MDT", -360),
    ("PST", -480),
    ("PDT", -420),
];

/// A zone that followed a date-time.
#[derive(Debug, Clone, Copy)]
struct Zone {
    /// East of UTC.
    seconds: i32,
    /// Written as RFC 2822 writes zones: after whitespace, a name of its or
    /// `±HHMM`.
    rfc2822: bool,
}

/// The current time (UTC).
///
/// Read from the system clock rather than with `Utc::now`, which `expect`s the
/// clock to be past 1970 and so brings the formatting of a `Duration` into every
/// connector. A clock before 1970 reads as 1970; one beyond chrono's range, as
/// the latest time chrono holds.
pub fn now() -> DateTime<Utc> {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, since_epoch.subsec_nanos()))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
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
    if let Some(millis) = text.strip_prefix('@').and_then(|n| n.parse::<i64>().ok()) {
        return DateTime::from_timestamp_millis(millis);
    }
    let (naive, zone) = split_offset(text);
    let local = parse_naive(naive, zone.is_some_and(|zone| zone.rfc2822))?;
    let offset = FixedOffset::east_opt(zone.map_or(0, |zone| zone.seconds))?;
    // `None` where the offset would take the date off the calendar's edge.
    Some(local.and_local_timezone(offset).single()?.with_timezone(&Utc))
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

/// Splits a trailing zone (`Z`, `UTC`, `GMT`, `EST`..., `±HH:MM` or `±HHMM`)
/// from a date-time.
fn split_offset(text: &str) -> (&str, Option<Zone>) {
    for (name, minutes) in ZONES {
        if let Some(start) = text.len().checked_sub(name.len())
            && start > 0
            && text.get(start..).is_some_and(|tail| tail.eq_ignore_ascii_case(name))
            // A name glued to the date only where it cannot be part of a word.
            && (name.len() == 1 || !text.as_bytes()[start - 1].is_ascii_alphabetic())
        {
            let rfc2822 = *name != "UTC" && text[..start].ends_with(char::is_whitespace);
            return (text[..start].trim_end(), Some(Zone { seconds: minutes * 60, rfc2822 }));
        }
    }
    if !text.contains(':') {
        return (text, None);
    }
    for len in [6, 5] {
        let Some(start) = text.len().checked_sub(len) else { continue };
        let Some(tail) = text.get(start..) else { continue };
        let digits: Vec<u8> = tail.bytes().skip(1).filter(|b| *b != b':').collect();
        let sign = match tail.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => continue,
        };
        if digits.len() == 4 && digits.iter().all(u8::is_ascii_digit) && (len == 5 || &tail[3..4] == ":") {
            let number = |at: usize| i32::from(digits[at] - b'0') * 10 + i32::from(digits[at + 1] - b'0');
            let seconds = sign * (number(0) * 3600 + number(2) * 60);
            if seconds.abs() < 86_400 {
                let rfc2822 = len == 5 && text[..start].ends_with(char::is_whitespace);
                return (text[..start].trim_end(), Some(Zone { seconds, rfc2822 }));
            }
        }
    }
    (text, None)
}

/// A date and time in one of the layouts, with no zone. `rfc2822_zone`: an RFC
/// 2822 zone followed it, so that an RFC 2822 date may have a two- or
/// three-digit year.
fn parse_naive(text: &str, rfc2822_zone: bool) -> Option<NaiveDateTime> {
    for date in DATES {
        let mut fields = Fields::default();
        let Some(rest) = scan(text, date, &mut fields) else { continue };
        if rest.is_empty() {
            if let Some(date) = fields.date(false) {
                return Some(date.and_time(NaiveTime::MIN));
            }
            continue;
        }
        let rfc2822_date = rfc2822_zone && (*date == RFC2822_DATE || *date == RFC2822_DATE_WITH_WEEKDAY);
        for separator in SEPARATORS {
            // RFC 2822 puts whitespace between the date and the time.
            let rfc2822 = rfc2822_date && *separator == Space && rest.starts_with(char::is_whitespace);
            let Some(rest) = scan(rest, std::slice::from_ref(separator), &mut fields) else { continue };
            for time in TIMES {
                let mut fields = fields;
                // Read as RFC 2822 reads it first, as it was written if that
                // is no date (a weekday that is not the 2822 year's).
                if scan(rest, time, &mut fields) == Some("")
                    && let Some(date) = rfc2822.then(|| fields.date(true)).flatten().or_else(|| fields.date(false))
                    && let Some(time) = fields.time()
                {
                    return Some(date.and_time(time));
                }
            }
        }
    }
    None
}

/// The fields a layout read.
#[derive(Debug, Default, Clone, Copy)]
struct Fields {
    /// The year, and how many digits it was written with.
    year: (i64, usize),
    month: i64,
    day: i64,
    /// Written otherwise than RFC 2822 writes dates: the month named in full
    /// (`July`, not `Jul`), fields without the whitespace between them, or a
    /// time with one-digit fields or a fraction.
    not_rfc2822: bool,
    weekday: Option<Weekday>,
    hour: i64,
    minute: i64,
    second: i64,
    nanosecond: i64,
}

impl Fields {
    /// The date, if it exists (and falls on the weekday given). In an RFC
    /// 2822 date (`rfc2822`, and written as RFC 2822 writes it), a year of two
    /// digits is 1950–2049 and one of three counts from 1900.
    fn date(&self, rfc2822: bool) -> Option<NaiveDate> {
        let (mut year, digits) = self.year;
        if rfc2822 && !self.not_rfc2822 {
            match digits {
                2 => year += if year < 50 { 2000 } else { 1900 },
                3 => year += 1900,
                _ => {}
            }
        }
        let date = NaiveDate::from_ymd_opt(
            i32::try_from(year).ok()?,
            u32::try_from(self.month).ok()?,
            u32::try_from(self.day).ok()?,
        )?;
        self.weekday.is_none_or(|weekday| date.weekday() == weekday).then_some(date)
    }

    /// The time; second 60 is a leap second.
    fn time(&self) -> Option<NaiveTime> {
        let (second, leap) = if self.second == 60 { (59, 1_000_000_000) } else { (self.second, 0) };
        let part = |value: i64| u32::try_from(value).ok();
        NaiveTime::from_hms_nano_opt(part(self.hour)?, part(self.minute)?, part(second)?, part(self.nanosecond)? + leap)
    }
}

/// Reads `items` from the start of `text` into `fields`: the rest of the text,
/// or `None` if it does not match or a field is out of its range.
fn scan<'a>(mut text: &'a str, items: &[Item], fields: &mut Fields) -> Option<&'a str> {
    for (at, item) in items.iter().enumerate() {
        match *item {
            Lit(byte) => text = text.strip_prefix(char::from(byte))?,
            Space => {
                let rest = text.trim_start();
                // RFC 2822 may leave out only the whitespace after a comma.
                fields.not_rfc2822 |= rest.len() == text.len() && (at == 0 || items[at - 1] != Lit(b','));
                text = rest;
            }
            Fraction => {
                if let Some(digits) = text.strip_prefix('.') {
                    fields.not_rfc2822 = true;
                    let (rest, value, read) = number(digits, 9)?;
                    fields.nanosecond = value * 10i64.pow(9 - read as u32);
                    text = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                }
            }
            MonthName => {
                let (rest, month0) = name(text, &MONTHS)?;
                fields.month = month0 as i64 + 1;
                fields.not_rfc2822 |= text.len() - rest.len() > 3;
                text = rest;
            }
            Wd => {
                // Three letters only, as `%a` reads them.
                let (_, day) = name(text, &WEEKDAYS)?;
                fields.weekday = Some(DAYS[day]);
                text = &text[3..];
            }
            Year => {
                text = text.trim_start();
                let (rest, value, digits) = match text.as_bytes().first() {
                    Some(b'-') => number(&text[1..], usize::MAX).map(|(rest, value, read)| (rest, -value, read))?,
                    Some(b'+') => number(&text[1..], usize::MAX)?,
                    _ => number(text, 4)?,
                };
                fields.year = (value, digits);
                text = rest;
            }
            numeric => {
                text = text.trim_start();
                let (rest, value, digits) = number(text, 2)?;
                fields.not_rfc2822 |= digits == 1 && matches!(numeric, Hour | Minute | Second);
                let (field, range) = match numeric {
                    Month => (&mut fields.month, 1..=12),
                    Day => (&mut fields.day, 1..=31),
                    Hour => (&mut fields.hour, 0..=23),
                    Minute => (&mut fields.minute, 0..=59),
                    _ => (&mut fields.second, 0..=60),
                };
                if !range.contains(&value) {
                    return None;
                }
                *field = value;
                text = rest;
            }
        }
    }
    Some(text)
}

/// At least one and at most `max` ASCII digits: the rest, their value and how
/// many were read.
fn number(text: &str, max: usize) -> Option<(&str, i64, usize)> {
    let read = text.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if read == 0 {
        return None;
    }
    let value = text[..read].bytes().try_fold(0i64, |n, b| n.checked_mul(10)?.checked_add(i64::from(b - b'0')))?;
    Some((&text[read..], value, read))
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const DAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// A name of `names` by its first three letters, in any case, and the rest of
/// it if it follows: the text after it, and the name's index.
fn name<'a>(text: &'a str, names: &[&str]) -> Option<(&'a str, usize)> {
    let prefix = text.as_bytes().get(..3)?;
    let index = names.iter().position(|name| name.as_bytes()[..3].eq_ignore_ascii_case(prefix))?;
    let rest = &text[3..];
    let suffix = &names[index][3..];
    match rest.get(..suffix.len()) {
        Some(more) if more.eq_ignore_ascii_case(suffix) => Some((&rest[suffix.len()..], index)),
        _ => Some((rest, index)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn now_is_the_system_clocks_time() {
        let (before, read, after) = (Utc::now(), now(), Utc::now());
        assert!(before <= read && read <= after, "{before} {read} {after}");
    }

    /// How dates were read with chrono's parsers and `%` layouts: what the
    /// matcher must agree with.
    fn chrono_reading(text: &str) -> Option<DateTime<Utc>> {
        use chrono::FixedOffset;
        const LAYOUTS: &[&str] = &[
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
        let utc = FixedOffset::east_opt(0).unwrap();
        let mut split = (text, utc);
        for suffix in ["Z", " UTC", " GMT", "UTC", "GMT"] {
            // (`get`: the code this replaced sliced here, and panicked inside a character.)
            if text.len() > suffix.len()
                && text.get(text.len() - suffix.len()..).is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
            {
                split = (text[..text.len() - suffix.len()].trim_end(), utc);
                break;
            }
        }
        if split.0 == text && text.contains(':') {
            for len in [6, 5] {
                let Some(tail) = text.len().checked_sub(len).and_then(|start| text.get(start..)) else { continue };
                let Some(digits) = tail.get(1..) else { continue };
                let digits: String = digits.chars().filter(|c| *c != ':').collect();
                let sign = match tail.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => continue,
                };
                if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) && (len == 5 || &tail[3..4] == ":") {
                    let (hours, minutes): (i32, i32) = (digits[..2].parse().unwrap(), digits[2..].parse().unwrap());
                    if let Some(offset) = FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)) {
                        split = (text[..text.len() - len].trim_end(), offset);
                        break;
                    }
                }
            }
        }
        let (naive, offset) = split;
        let local = LAYOUTS.iter().find_map(|date| {
            NaiveDate::parse_from_str(naive, date).map(|date| date.and_time(NaiveTime::MIN)).ok().or_else(|| {
                ["T", " "].iter().find_map(|separator| {
                    ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
                        .iter()
                        .find_map(|time| NaiveDateTime::parse_from_str(naive, &format!("{date}{separator}{time}")).ok())
                })
            })
        })?;
        Some(local.checked_sub_signed(TimeDelta::seconds(offset.local_minus_utc().into()))?.and_utc())
    }

    /// Pieces of dates, glued in any order by the property below.
    const PIECES: &[&str] = &[
        "2022",
        "1999",
        "0999",
        "20222",
        "4",
        "04",
        "10",
        "12",
        "13",
        "29",
        "30",
        "31",
        "0",
        "00",
        "03",
        "99",
        "112",
        "-",
        "/",
        ".",
        ",",
        " ",
        "  ",
        "T",
        ":",
        "Mar",
        "march",
        "MAY",
        "Sept",
        "jul",
        "Febr",
        "Tue",
        "sunday",
        "Fri",
        "Z",
        "UTC",
        "GMT",
        " UTC",
        "+05:30",
        "-0100",
        "+0000",
        "+2400",
        ".5",
        ".123456789123",
        "60",
        "59",
        "23",
        "1:",
        "@",
        "-1",
        "+",
        "x",
        "\u{e9}",
        "\u{3000}",
    ];

    fn glued() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 1..14).prop_map(|pieces| pieces.concat())
    }

    /// Dates in every layout, with and without times and zones.
    fn typed() -> impl Strategy<Value = String> {
        let layouts = [
            "{Y}-{m}-{d}",
            "{Y}/{m}/{d}",
            "{m}/{d}/{Y}",
            "{d}/{m}/{Y}",
            "{m}-{d}-{Y}",
            "{d}-{m}-{Y}",
            "{d}.{m}.{Y}",
            "{d} {B} {Y}",
            "{d} {B}, {Y}",
            "{B} {d} {Y}",
            "{B} {d}, {Y}",
            "{d}-{B}-{Y}",
            "{a} {d} {B} {Y}",
            "{a}, {d} {B} {Y}",
            "{a} {B} {d} {Y}",
        ];
        let names = ["Jan", "February", "mar", "APRIL", "May", "jun", "July", "Aug", "September", "oct", "Nov", "DEC"];
        let days = ["Mon", "tue", "WED", "Thu", "Fri", "sat", "Sun"];
        (
            prop::sample::select(layouts.to_vec()),
            (0i32..2200, prop::bool::ANY),
            (0u32..14, prop::bool::ANY),
            (0u32..33, prop::bool::ANY),
            prop::sample::select(names.to_vec()),
            prop::sample::select(days.to_vec()),
            prop::option::of((prop::sample::select(vec!["T", " "]), 0u32..25, 0u32..61, prop::option::of(0u32..62))),
            prop::option::of(prop::sample::select(vec![".1", ".123", ".123456", ".1234567891"])),
            prop::option::of(prop::sample::select(vec![
                "Z", " UTC", "GMT", " GMT", "+05:30", " -0100", "+0000", " +1430",
            ])),
        )
            .prop_map(
                |(
                    layout,
                    (year, pad_year),
                    (month, pad_month),
                    (day, pad_day),
                    name,
                    weekday,
                    time,
                    fraction,
                    zone,
                )| {
                    let number = |n: u32, pad: bool| if pad { format!("{n:02}") } else { n.to_string() };
                    let year = if pad_year { format!("{year:04}") } else { year.to_string() };
                    let mut text = layout
                        .replace("{Y}", &year)
                        .replace("{m}", &number(month, pad_month))
                        .replace("{d}", &number(day, pad_day))
                        .replace("{B}", name)
                        .replace("{a}", weekday);
                    if let Some((separator, hour, minute, second)) = time {
                        text.push_str(&format!("{separator}{hour:02}:{minute:02}"));
                        if let Some(second) = second {
                            text.push_str(&format!(":{second:02}{}", fraction.unwrap_or_default()));
                        }
                    }
                    text.push_str(zone.unwrap_or_default());
                    text
                },
            )
    }

    /// `text` reads as chrono read it; a leap second is only read alike, as
    /// its time differs by design (see `leap_seconds_are_kept_in_every_layout`).
    fn same_reading(text: &str) -> Result<(), TestCaseError> {
        let (read, before) = (parse_utc(text), chrono_reading(text));
        if text.contains(":60") {
            prop_assert_eq!(read.is_some(), before.is_some(), "{}", text);
        } else {
            prop_assert_eq!(read, before, "{}", text);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.max(4000), ..ProptestConfig::default() })]

        #[test]
        fn what_users_type_reads_as_chrono_read_it(text in typed()) {
            same_reading(&text)?;
        }

        #[test]
        fn any_text_reads_as_chrono_read_it(text in glued()) {
            same_reading(&text)?;
        }
    }

    fn micros(text: &str) -> String {
        format_micros(&parse_utc(text).unwrap_or_else(|| panic!("{text} should parse")))
    }

    /// Each text reads as the date given.
    fn reads(cases: &[(&str, &str)]) {
        for (text, date) in cases {
            assert_eq!(micros(text), *date, "{text}");
        }
    }

    #[test]
    fn the_forms_users_type() {
        reads(&[
            ("01 Mar 2021", "2021-03-01T00:00:00.000000Z"),
            ("01 Feb 2021 04:45:33", "2021-02-01T04:45:33.000000Z"),
            ("2022-04-17T14:05:44Z", "2022-04-17T14:05:44.000000Z"),
            ("15/09/2022", "2022-09-15T00:00:00.000000Z"),
            ("4/10/2022", "2022-04-10T00:00:00.000000Z"),
            ("20/08/2032", "2032-08-20T00:00:00.000000Z"),
            ("2020-08-31", "2020-08-31T00:00:00.000000Z"),
            ("2022-12-22T12:27:29.768", "2022-12-22T12:27:29.768000Z"),
            ("March 1, 2021", "2021-03-01T00:00:00.000000Z"),
            ("2080-05-15", "2080-05-15T00:00:00.000000Z"),
        ]);
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
        reads(&[
            ("2022-04-17T14:05:44+05:30", "2022-04-17T08:35:44.000000Z"),
            ("2022-04-17 14:05:44 -0100", "2022-04-17T15:05:44.000000Z"),
            ("2022-04-17 14:05:44 UTC", "2022-04-17T14:05:44.000000Z"),
        ]);
    }

    /// chrono kept a leap second in RFC 3339 and RFC 2822 dates but moved it to
    /// the next minute in the other layouts when an offset was applied; it is
    /// now kept in all of them.
    #[test]
    fn leap_seconds_are_kept_in_every_layout() {
        use chrono::Timelike;
        let leap = parse_utc("2016-12-31T23:59:60Z").unwrap();
        assert_eq!(leap.nanosecond(), 1_000_000_000);
        assert_eq!(parse_utc("2017-01-01T00:59:60+01:00"), Some(leap));
        assert_eq!(parse_utc("1/1/2017 00:59:60 +01:00"), Some(leap));
    }

    #[test]
    fn rfc_2822_dates_and_their_zones() {
        reads(&[
            ("Tue, 1 Jul 2003 10:52:37 +0200", "2003-07-01T08:52:37.000000Z"),
            ("1 Jul 03 10:52 EST", "2003-07-01T15:52:00.000000Z"),
            ("Wed, 21 Oct 2015 07:28:00 GMT", "2015-10-21T07:28:00.000000Z"),
            ("2 Jan 99 00:00:00 UT", "1999-01-02T00:00:00.000000Z"),
            // Not RFC 2822 (a full month name): the year is read as written.
            ("2 January 99 00:00:00 +0000", "0099-01-02T00:00:00.000000Z"),
            ("2022-04-17t14:05:44z", "2022-04-17T14:05:44.000000Z"),
        ]);
    }

    #[test]
    fn text_that_is_not_ascii_is_no_date_and_no_crash() {
        for text in ["2022-04-17 \u{e9}", "\u{e9}-0100", "1:\u{e9}00", "01 Mar 2021 \u{e9}UTC", "31\u{e9}"] {
            assert!(parse_utc(text).is_none(), "{text}");
        }
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
