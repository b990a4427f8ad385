//! The rules of the call queue, pure: what a status change, a seal, an auto-approval or an upload makes of a
//! call. Each returns the call's next version; the handlers store it by compare-and-set and publish it.

use opsmantik_runtime::call_ledger::CONFIRMED;
use opsmantik_schemas::CallRecord;

/// Every status a call can have.
pub const STATUSES: [&str; 7] = [
    "intent",
    "confirmed",
    "qualified",
    "real",
    "junk",
    "suspicious",
    "cancelled",
];

/// Offline-conversion states.
pub const SEALED: &str = "sealed";
pub const UPLOADED: &str = "uploaded";

/// Why a change does not apply to the call as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A seal of a call that is no longer an intent.
    NotIntent(String),
}

/// Who changes a call, and when (ms).
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub by: &'a str,
    pub at: i64,
}

fn next(call: &CallRecord, change: &Change<'_>) -> CallRecord {
    CallRecord {
        version: call.version + 1,
        updated_at: change.at,
        ..call.clone()
    }
}

fn is_confirmed(status: &str) -> bool {
    CONFIRMED.contains(&status)
}

/// `status` (one of [`STATUSES`]) with an optional new lead score. Becoming confirmed, qualified or real sets
/// `confirmed_at` (kept when the call already was one of them: a conversion happened once) and clears
/// `cancelled_at`; `cancelled` sets `cancelled_at`; the rest clear both. Leaving the confirmed statuses
/// withdraws a seal not yet uploaded.
pub fn set_status(
    call: &CallRecord,
    status: &str,
    lead_score: Option<i32>,
    change: &Change<'_>,
) -> CallRecord {
    let mut n = next(call, change);
    n.status = status.to_string();
    if let Some(score) = lead_score {
        n.lead_score = score;
    }
    if is_confirmed(status) {
        n.cancelled_at = None;
        if !is_confirmed(&call.status) || call.confirmed_at.is_none() {
            n.confirmed_at = Some(change.at);
            n.confirmed_by = Some(change.by.to_string());
        }
    } else {
        n.confirmed_at = None;
        n.confirmed_by = None;
        n.cancelled_at = (status == "cancelled").then_some(change.at);
        if n.oci_status.as_deref() == Some(SEALED) {
            n.oci_status = None;
        }
    }
    n
}

/// The operator's seal: only an intent; confirms it with the sale's amount and currency.
pub fn seal(
    call: &CallRecord,
    sale_amount: Option<f64>,
    currency: &str,
    lead_score: Option<i32>,
    change: &Change<'_>,
) -> Result<CallRecord, Refusal> {
    if call.status != "intent" {
        return Err(Refusal::NotIntent(call.status.clone()));
    }
    let mut n = set_status(call, "confirmed", lead_score, change);
    n.sale_amount = sale_amount;
    n.currency = Some(currency.to_string());
    n.oci_status = Some(SEALED.into());
    Ok(n)
}

/// The call as uploaded to the ad platform in export batch `batch`.
pub fn uploaded(call: &CallRecord, batch: &str, change: &Change<'_>) -> CallRecord {
    let mut n = next(call, change);
    n.oci_status = Some(UPLOADED.into());
    n.oci_batch_id = Some(batch.to_string());
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent() -> CallRecord {
        CallRecord {
            call_id: "c".into(),
            version: 1,
            status: "intent".into(),
            lead_score: 40,
            ..CallRecord::default()
        }
    }

    const BY: Change<'static> = Change {
        by: "user:u",
        at: 1_000,
    };

    #[test]
    fn confirming_sets_confirmed_at_once_and_cancelling_clears_it() {
        let confirmed = set_status(&intent(), "confirmed", Some(70), &BY);
        assert_eq!(
            (
                confirmed.version,
                confirmed.confirmed_at,
                confirmed.lead_score
            ),
            (2, Some(1_000), 70)
        );
        let later = Change {
            by: "user:v",
            at: 5_000,
        };
        let qualified = set_status(&confirmed, "qualified", None, &later);
        assert_eq!(
            (qualified.confirmed_at, qualified.confirmed_by.as_deref()),
            (Some(1_000), Some("user:u")),
            "still the first confirmation"
        );
        let cancelled = set_status(&qualified, "cancelled", None, &later);
        assert_eq!(
            (cancelled.confirmed_at, cancelled.cancelled_at),
            (None, Some(5_000))
        );
        let back = set_status(&cancelled, "intent", None, &later);
        assert_eq!((back.confirmed_at, back.cancelled_at), (None, None));
        let again = set_status(&back, "real", None, &later);
        assert_eq!(again.confirmed_at, Some(5_000));
    }

    #[test]
    fn a_seal_confirms_only_an_intent() {
        let sealed = seal(&intent(), Some(1500.0), "TRY", None, &BY).unwrap();
        assert_eq!(
            (
                sealed.status.as_str(),
                sealed.oci_status.as_deref(),
                sealed.sale_amount,
                sealed.currency.as_deref(),
                sealed.confirmed_by.as_deref()
            ),
            (
                "confirmed",
                Some(SEALED),
                Some(1500.0),
                Some("TRY"),
                Some("user:u")
            )
        );
        assert_eq!(
            seal(&sealed, None, "TRY", None, &BY),
            Err(Refusal::NotIntent("confirmed".into()))
        );
        let withdrawn = set_status(&sealed, "junk", None, &BY);
        assert_eq!(
            withdrawn.oci_status, None,
            "a withdrawn seal is not exported"
        );
        let up = uploaded(&sealed, "b1", &BY);
        let junk = set_status(&up, "junk", None, &BY);
        assert_eq!(
            junk.oci_status.as_deref(),
            Some(UPLOADED),
            "an upload stays known"
        );
    }
}
