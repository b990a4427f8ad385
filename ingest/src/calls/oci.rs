//! Offline conversions for Google Ads (seed 001): which calls are today's conversions, their value, and the
//! upload CSV. Pure; `export.rs` serves them.
//!
//! - Selection: calls confirmed, qualified or real, confirmed today in the site's time zone, not yet uploaded.
//!   Calls without any click id (gclid, gbraid, wbraid) cannot be uploaded: skipped and counted.
//! - Value: the sale amount when above 0; else the site's default deal value weighted by the lead score
//!   (`default_deal_value × lead_score / 100`, to the cent); 0 when the site has none.
//! - Time: the confirmation, `YYYY-MM-DD HH:MM:SS+00:00` (UTC).

use opsmantik_runtime::overlay::{day_bounds, local_day};
use opsmantik_runtime::sites::{Site, DEFAULT_CONVERSION_NAME};
use opsmantik_schemas::CallRecord;
use serde::Serialize;

use super::workflow::UPLOADED;

/// The CSV's header row, exactly as Google Ads' offline conversion import template has it.
pub const HEADER: &str =
    "Google Click ID,GBRAID,WBRAID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency";

/// One conversion to upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversion {
    pub gclid: String,
    pub gbraid: String,
    pub wbraid: String,
    pub conversion_name: String,
    pub conversion_time: String,
    pub value: f64,
    pub currency: String,
    #[serde(skip)]
    pub call_id: String,
}

/// `[start, end)` in ms of the local day of `now_ms` in `tz` (UTC when the zone is unknown).
pub fn day_window(now_ms: i64, tz: &str) -> (i64, i64) {
    let day = local_day(now_ms, tz);
    day_bounds(&day, tz).unwrap_or((now_ms, now_ms + 1))
}

/// The value of a conversion (see the module doc).
pub fn value(call: &CallRecord, site: &Site) -> f64 {
    match call.sale_amount {
        Some(a) if a > 0.0 => a,
        _ => {
            (site.default_deal_value * f64::from(call.lead_score.clamp(0, 100)) / 100.0 * 100.0)
                .round()
                / 100.0
        }
    }
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Whether `call` is due for upload: confirmed (in any of the confirmed statuses) and not uploaded yet.
pub fn due(call: &CallRecord) -> bool {
    call.confirmed_at.is_some()
        && opsmantik_runtime::call_ledger::CONFIRMED.contains(&call.status.as_str())
        && call.oci_status.as_deref() != Some(UPLOADED)
}

/// The conversion of `call`, or `None` when it has no click id.
pub fn conversion(call: &CallRecord, site: &Site) -> Option<Conversion> {
    let (gclid, gbraid, wbraid) = (text(&call.gclid), text(&call.gbraid), text(&call.wbraid));
    if gclid.is_empty() && gbraid.is_empty() && wbraid.is_empty() {
        return None;
    }
    let at = chrono::DateTime::from_timestamp_millis(call.confirmed_at.unwrap_or(call.updated_at))
        .unwrap_or_default();
    let currency = call
        .currency
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| site.currency.clone());
    Some(Conversion {
        gclid,
        gbraid,
        wbraid,
        conversion_name: if site.oci_conversion_name.is_empty() {
            DEFAULT_CONVERSION_NAME.into()
        } else {
            site.oci_conversion_name.clone()
        },
        conversion_time: at.format("%Y-%m-%d %H:%M:%S+00:00").to_string(),
        value: value(call, site),
        currency: if currency.is_empty() {
            opsmantik_runtime::sites::DEFAULT_CURRENCY.into()
        } else {
            currency
        },
        call_id: call.call_id.clone(),
    })
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The upload file: the header row and one row per conversion, CRLF line ends.
pub fn csv(conversions: &[Conversion]) -> String {
    let mut out = format!("{HEADER}\r\n");
    for c in conversions {
        let row = [
            field(&c.gclid),
            field(&c.gbraid),
            field(&c.wbraid),
            field(&c.conversion_name),
            c.conversion_time.clone(),
            format!("{:.2}", c.value),
            field(&c.currency),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            currency: "TRY".into(),
            default_deal_value: 2000.0,
            oci_conversion_name: "Sealed Lead".into(),
            ..Site::default()
        }
    }

    fn confirmed(at: i64) -> CallRecord {
        CallRecord {
            call_id: "c".into(),
            status: "confirmed".into(),
            gclid: Some("G".into()),
            lead_score: 75,
            confirmed_at: Some(at),
            ..CallRecord::default()
        }
    }

    /// 2026-03-10T20:30:00Z = 23:30 in Istanbul (UTC+3); 2026-03-10T21:30:00Z = 00:30 on the 11th.
    const LATE_EVENING: i64 = 1_773_174_600_000;
    const AFTER_MIDNIGHT: i64 = LATE_EVENING + 3_600_000;

    #[test]
    fn today_is_the_sites_day() {
        let (start, end) = day_window(LATE_EVENING, "Europe/Istanbul");
        assert!((start..end).contains(&LATE_EVENING), "23:30 is that day");
        assert!(!(start..end).contains(&AFTER_MIDNIGHT), "00:30 is the next");
        assert_eq!(end - start, 86_400_000);
        let (next_start, _) = day_window(AFTER_MIDNIGHT, "Europe/Istanbul");
        assert_eq!(next_start, end);
        assert_eq!(
            day_window(LATE_EVENING, "UTC").0,
            1_773_100_800_000,
            "UTC midnight"
        );
    }

    #[test]
    fn the_value_is_the_sale_else_the_weighted_default_deal() {
        let mut c = confirmed(0);
        c.sale_amount = Some(1500.0);
        assert_eq!(value(&c, &site()), 1500.0);
        c.sale_amount = Some(0.0);
        assert_eq!(value(&c, &site()), 1500.0, "2000 × 75 / 100");
        c.sale_amount = None;
        c.lead_score = 33;
        assert_eq!(value(&c, &site()), 660.0);
    }

    #[test]
    fn a_conversion_needs_a_click_id_and_carries_utc_time() {
        let mut c = confirmed(LATE_EVENING);
        let conv = conversion(&c, &site()).unwrap();
        assert_eq!(conv.conversion_time, "2026-03-10 20:30:00+00:00");
        assert_eq!(
            (conv.currency.as_str(), conv.conversion_name.as_str()),
            ("TRY", "Sealed Lead")
        );
        c.gclid = None;
        assert_eq!(conversion(&c, &site()), None);
        c.wbraid = Some("W".into());
        assert_eq!(conversion(&c, &site()).unwrap().wbraid, "W");
    }

    #[test]
    fn the_csv_has_the_template_header_and_quotes_what_needs_it() {
        let mut conv = conversion(&confirmed(LATE_EVENING), &site()).unwrap();
        conv.conversion_name = "Lead, \"hot\"".into();
        assert_eq!(
            csv(&[conv]),
            format!(
                "{HEADER}\r\nG,,,\"Lead, \"\"hot\"\"\",2026-03-10 20:30:00+00:00,1500.00,TRY\r\n"
            )
        );
    }

    #[test]
    fn only_confirmed_calls_not_uploaded_are_due() {
        let mut c = confirmed(1);
        assert!(due(&c));
        c.oci_status = Some(UPLOADED.into());
        assert!(!due(&c));
        c.oci_status = None;
        c.status = "junk".into();
        assert!(!due(&c));
    }
}
