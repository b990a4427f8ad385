//! Field validators shared by every feature: strict JSON ([`json`]), bounded text and ids without control
//! or bidi-override characters, times within what storage holds, domains, origins, currencies, time zones.
//! Each returns the cleaned value or what is wrong with it, so a 400 can name the field and the reason.

pub mod json;

/// How a string field may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringRule {
    /// Longest accepted value.
    pub max: usize,
    /// Whether `max` counts characters (names people read) or bytes (what storage holds).
    pub chars: bool,
    /// Absent, `null` and blank are refused.
    pub required: bool,
}

impl StringRule {
    pub const fn bytes(max: usize, required: bool) -> Self {
        Self {
            max,
            chars: false,
            required,
        }
    }

    pub const fn chars(max: usize, required: bool) -> Self {
        Self {
            max,
            chars: true,
            required,
        }
    }
}

/// What is wrong with a string field; each API words it in its own seed's style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringProblem {
    Missing,
    NotAString,
    TooLong { max: usize, chars: bool },
}

/// The string at `field` of `obj` under `rule` (`None` when absent and allowed to be).
pub fn string<'a>(
    obj: &'a serde_json::Map<String, serde_json::Value>,
    field: &str,
    rule: StringRule,
) -> Result<Option<&'a str>, StringProblem> {
    use serde_json::Value;
    match obj.get(field) {
        None | Some(Value::Null) if rule.required => Err(StringProblem::Missing),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if rule.required && s.trim().is_empty() => {
            Err(StringProblem::Missing)
        }
        Some(Value::String(s)) => {
            let len = if rule.chars {
                s.chars().count()
            } else {
                s.len()
            };
            if len > rule.max {
                Err(StringProblem::TooLong {
                    max: rule.max,
                    chars: rule.chars,
                })
            } else {
                Ok(Some(s))
            }
        }
        Some(_) => Err(StringProblem::NotAString),
    }
}

/// The first instant ClickHouse `DateTime` cannot hold (2106-01-01T00:00:00Z, in ms): times from here on
/// are refused rather than stored wrapped to 1970.
pub const MAX_TIME_MS: i64 = 4_291_747_200_000;

/// Whether `ms` (since the epoch) is a time storage can hold.
pub fn storable_time(ms: i64) -> bool {
    (0..MAX_TIME_MS).contains(&ms)
}

/// An RFC 3339 date-time with a time zone → ms since the epoch, within the storable range.
pub fn rfc3339_ms(value: &str) -> Result<i64, String> {
    let ms = chrono::DateTime::parse_from_rfc3339(value.trim())
        .map_err(|_| {
            "must be an ISO 8601 date-time with a time zone, e.g. 2024-01-15T10:30:00Z".to_string()
        })?
        .timestamp_millis();
    if storable_time(ms) {
        Ok(ms)
    } else {
        Err("must lie between 1970 and 2105".into())
    }
}

/// An id or name chosen by a client: at most `max` bytes, no control or bidi-override characters.
pub fn client_text(value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!("is longer than {max} bytes"));
    }
    if value.chars().any(forbidden_char) {
        return Err("must not contain control or bidirectional-override characters".into());
    }
    Ok(())
}

/// The tracker's session month: a calendar date `YYYY-MM-DD` (the seed sends the first of the month) or
/// `YYYY-MM`, within what storage holds.
pub fn month(value: &str) -> Result<(), String> {
    let date = if value.len() == 7 {
        chrono::NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d")
    } else {
        chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
    };
    match date {
        Ok(d) if (1970..=2105).contains(&chrono::Datelike::year(&d)) && value.len() >= 7 => Ok(()),
        _ => Err("must be a date such as 2026-01-01".into()),
    }
}

/// Whether `c` is a character no id or name should carry: C0/C1 controls (NUL included) and the Unicode
/// bidirectional overrides, isolates and marks (which make text display differently from what it is).
pub fn forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Trimmed text of 1 to `max` characters without forbidden characters.
pub fn text(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if v.chars().any(forbidden_char) {
        return Err("must not contain control or bidirectional-override characters".into());
    }
    Ok(v.to_string())
}

/// A host name from what a user typed: scheme, path, query and port stripped, lower-cased, checked.
pub fn domain(value: &str) -> Result<String, String> {
    let v = value.trim().to_ascii_lowercase();
    let v = v.split_once("://").map_or(v.as_str(), |(_, rest)| rest);
    let host = v.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host
        .split(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches('.');
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
        return Err("must be a domain name such as shop.example".into());
    }
    Ok(host.to_string())
}

/// A browser origin (`scheme://host[:port]`, no path), as the `Origin` header carries it.
pub fn origin(value: &str) -> Result<String, String> {
    let v = value.trim().trim_end_matches('/');
    let (scheme, rest) = v
        .split_once("://")
        .ok_or("must look like https://shop.example")?;
    if !matches!(scheme, "http" | "https") || rest.contains(['/', '?', '#', '@']) {
        return Err("must look like https://shop.example (no path)".into());
    }
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    domain(host)?;
    if !port.is_empty() && port.parse::<u16>().is_err() {
        return Err("has an invalid port".into());
    }
    Ok(v.to_ascii_lowercase())
}

/// An ISO 4217 code: three upper-case letters.
pub fn currency(value: &str) -> Result<String, String> {
    let v = value.trim().to_ascii_uppercase();
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err("must be a 3-letter ISO 4217 code such as TRY".into())
    }
}

/// An IANA time-zone name.
pub fn time_zone(value: &str) -> Result<String, String> {
    value
        .trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| "must be an IANA time zone such as Europe/Istanbul".into())
}

/// A money amount: finite, from 0 to 10^12.
pub fn amount(value: f64) -> Result<f64, String> {
    if value.is_finite() && (0.0..=1e12).contains(&value) {
        Ok(value)
    } else {
        Err("must be a number from 0 to 1000000000000".into())
    }
}

/// A plausible email address (one `@`, a dotted domain, no spaces, at most 254 bytes).
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_refuses_empty_long_control_and_bidi() {
        assert_eq!(text("  Shop  ", 10).unwrap(), "Shop");
        assert!(text("", 10).is_err());
        assert!(text(&"a".repeat(11), 10).is_err());
        assert!(text("a\u{0}b", 10).is_err());
        assert!(text("a\u{202E}b", 10).is_err());
        assert!(text("Çağrı", 10).is_ok());
    }

    #[test]
    fn domains_and_origins_are_normalised() {
        assert_eq!(
            domain("https://Shop.Example/path?q").unwrap(),
            "shop.example"
        );
        assert_eq!(domain("shop.example:8080").unwrap(), "shop.example");
        assert_eq!(domain("localhost").unwrap(), "localhost");
        for bad in ["", "http://", "a b.example", "-x.example", "x..example"] {
            assert!(domain(bad).is_err(), "{bad}");
        }
        assert_eq!(
            origin("https://Shop.example/").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        for bad in [
            "shop.example",
            "ftp://x.example",
            "https://x.example/path",
            "https://x:99999",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn string_fields_by_bytes_or_characters() {
        let obj = serde_json::json!({ "a": "çç", "blank": " ", "n": 1, "nul": null });
        let obj = obj.as_object().unwrap();
        assert_eq!(string(obj, "a", StringRule::chars(2, true)), Ok(Some("çç")));
        assert_eq!(
            string(obj, "a", StringRule::bytes(2, true)),
            Err(StringProblem::TooLong {
                max: 2,
                chars: false
            }),
            "4 bytes"
        );
        assert_eq!(
            string(obj, "blank", StringRule::bytes(9, true)),
            Err(StringProblem::Missing)
        );
        assert_eq!(
            string(obj, "blank", StringRule::bytes(9, false)),
            Ok(Some(" "))
        );
        assert_eq!(
            string(obj, "n", StringRule::bytes(9, false)),
            Err(StringProblem::NotAString)
        );
        assert_eq!(string(obj, "nul", StringRule::bytes(9, false)), Ok(None));
        assert_eq!(
            string(obj, "gone", StringRule::bytes(9, true)),
            Err(StringProblem::Missing)
        );
    }

    #[test]
    fn times_ids_and_months() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:01Z"), Ok(1000));
        assert!(rfc3339_ms("2105-12-31T23:59:59Z").is_ok());
        assert!(rfc3339_ms("2106-01-01T00:00:00Z")
            .unwrap_err()
            .contains("2105"));
        assert!(rfc3339_ms("1969-12-31T23:59:59Z").is_err());
        assert!(rfc3339_ms("2024-01-15 10:30").is_err());
        assert!(client_text("order-42", 64).is_ok());
        assert!(client_text("a\u{0}b", 64).is_err());
        assert!(client_text("a\u{2067}b", 64).is_err());
        assert!(client_text(&"x".repeat(65), 64).is_err());
        assert!(month("2026-01").is_ok());
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01-01",
            "2026-13-45",
            "abcd-ef",
        ] {
            assert!(month(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn currencies_zones_and_amounts() {
        assert_eq!(currency("try").unwrap(), "TRY");
        assert!(currency("TL").is_err());
        assert_eq!(time_zone("Europe/Istanbul").unwrap(), "Europe/Istanbul");
        assert!(time_zone("Mars/Olympus").is_err());
        assert!(amount(-1.0).is_err() && amount(f64::NAN).is_err() && amount(1e13).is_err());
        assert_eq!(amount(1500.5), Ok(1500.5));
    }
}
