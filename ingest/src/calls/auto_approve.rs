//! Auto-approval of low-risk stale intents (seed 001 `POST /api/jobs/auto-approve {siteId, minAgeHours,
//! limit}`; meant for a cron). A call is approved when it is still an `intent`, older than the cutoff, and
//! matched to a session that came from an ad (a gclid, wbraid or gbraid) with at least 10 s of engagement
//! (the tracker's active seconds, else the session's duration) and at least 2 events. Approval: `confirmed`,
//! `lead_score = max(score, 60)`, `confirmed_at`, `oci_status = sealed`, and a reason saying when and with which
//! parameters. It never marks anything junk. Editors, owners, admins.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use opsmantik_runtime::sites::Site;
use opsmantik_schemas::CallRecord;
use serde_json::{json, Value};

use super::change;
use super::store::SessionFacts;
use super::workflow::{self, Change, SEALED};
use crate::app::state::AppState;
use crate::auth::access::{self, Need};
use crate::auth::principal::Caller;
use crate::auth::Principal;
use crate::http::error::ApiError;
use crate::http::reply::{object, ok};

const MIN_ENGAGEMENT_SEC: i64 = 10;
const MIN_EVENTS: i64 = 2;
const APPROVED_SCORE: i32 = 60;
/// Calls read per round trip, and most calls one run looks at (older intents it keeps passing over are
/// read again by every run: the bound keeps a run cheap).
const CHUNK: usize = 200;
const MAX_SCAN: usize = 5_000;

/// A run's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub min_age_hours: i64,
    pub limit: usize,
}

impl Params {
    /// From a request body: `minAgeHours` 1–168 (default 24), `limit` 1–500 (default 200).
    pub fn parse(m: &serde_json::Map<String, Value>) -> Result<Self, ApiError> {
        let int = |field: &str, default: i64, max: i64| match m.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_i64().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                ApiError::invalid(field, format!("must be an integer from 1 to {max}"))
            }),
        };
        Ok(Self {
            min_age_hours: int("minAgeHours", 24, 168)?,
            limit: int("limit", 200, 500)? as usize,
        })
    }
}

/// Whether the call's matched session makes it low-risk.
pub fn low_risk(s: &SessionFacts) -> bool {
    let from_ad = [&s.gclid, &s.wbraid, &s.gbraid]
        .iter()
        .any(|id| !id.is_empty());
    let engagement = if s.active_sec > 0 {
        s.active_sec
    } else {
        s.duration_sec
    };
    from_ad && engagement >= MIN_ENGAGEMENT_SEC && s.events >= MIN_EVENTS
}

/// The approved call.
pub fn approve(call: &CallRecord, params: Params, change: &Change<'_>) -> CallRecord {
    let score = call.lead_score.max(APPROVED_SCORE);
    let mut n = workflow::set_status(call, "confirmed", Some(score), change);
    n.oci_status = Some(SEALED.into());
    n.lead_reasons.push(format!(
        "auto_approved:{}:min_age_hours={}:limit={}",
        opsmantik_runtime::iso_ms(change.at),
        params.min_age_hours,
        params.limit
    ));
    n
}

/// Intents of `site` created before `cutoff`, newest first, at most `MAX_SCAN` looked at.
async fn stale_intents(
    state: &AppState,
    site: &str,
    cutoff: i64,
) -> Result<Vec<CallRecord>, ApiError> {
    let mut out = Vec::new();
    let mut skip = 0;
    while skip < MAX_SCAN {
        let chunk = state
            .stores
            .calls
            .created_between(site, (0, cutoff), skip, CHUNK)
            .await?;
        skip += chunk.len();
        let done = chunk.len() < CHUNK;
        out.extend(chunk.into_iter().filter(|c| c.status == "intent"));
        if done {
            break;
        }
    }
    Ok(out)
}

/// One run on `site` for `who`: the number of calls approved.
pub async fn run(
    state: &AppState,
    who: &Principal,
    site: &Site,
    params: Params,
) -> Result<usize, ApiError> {
    let now = opsmantik_runtime::now_ms();
    let cutoff = now - params.min_age_hours * 3_600_000;
    let intents = stale_intents(state, &site.public_id, cutoff).await?;
    let ids: Vec<String> = intents
        .iter()
        .filter_map(|c| c.session_id.clone())
        .collect();
    let sessions = state.stores.calls.sessions(&site.public_id, &ids).await?;
    let by = who.actor();
    let change = Change { by: &by, at: now };
    let pairs: Vec<_> = intents
        .into_iter()
        .filter(|c| {
            c.session_id
                .as_ref()
                .and_then(|s| sessions.get(s))
                .is_some_and(low_risk)
        })
        .take(params.limit)
        .map(|c| {
            let next = approve(&c, params, &change);
            (c, next)
        })
        .collect();
    Ok(change::many(state, who, "call_auto_approved", site, pairs)
        .await?
        .len())
}

/// `POST /api/jobs/auto-approve {siteId, minAgeHours?, limit?}`.
pub async fn handle(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body)?;
    let key = m.get("siteId").and_then(Value::as_str).unwrap_or_default();
    if key.is_empty() {
        return Err(ApiError::invalid("siteId", "is required"));
    }
    let params = Params::parse(&m)?;
    let site = access::site(&state, &who, key, Need::EDIT).await?;
    let updated = run(&state, &who, &site, params).await?;
    Ok(ok(StatusCode::OK, json!({ "updated": updated })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table of the rule: (from an ad, engagement s, events) → approved.
    #[test]
    fn only_ad_sessions_with_engagement_and_events_are_low_risk() {
        let session = |ad: bool, active: i64, events: i64| SessionFacts {
            gclid: if ad { "G".into() } else { String::new() },
            active_sec: active,
            events,
            ..SessionFacts::default()
        };
        let table = [
            ((true, 30, 3), true),
            ((true, 5, 3), false),
            ((true, 30, 1), false),
            ((false, 30, 3), false),
            ((true, 10, 2), true),
        ];
        for ((ad, active, events), expected) in table {
            assert_eq!(
                low_risk(&session(ad, active, events)),
                expected,
                "{ad} {active} {events}"
            );
        }
        let by_duration = SessionFacts {
            wbraid: "W".into(),
            duration_sec: 12,
            events: 2,
            ..SessionFacts::default()
        };
        assert!(
            low_risk(&by_duration),
            "without active seconds, the duration"
        );
    }

    #[test]
    fn approval_confirms_seals_raises_the_score_and_says_why() {
        let call = CallRecord {
            call_id: "c".into(),
            version: 1,
            status: "intent".into(),
            lead_score: 45,
            ..CallRecord::default()
        };
        let params = Params {
            min_age_hours: 24,
            limit: 200,
        };
        let n = approve(&call, params, &Change { by: "job", at: 0 });
        assert_eq!(
            (n.status.as_str(), n.lead_score, n.oci_status.as_deref()),
            ("confirmed", 60, Some(SEALED))
        );
        assert_eq!(n.confirmed_at, Some(0));
        assert_eq!(
            n.lead_reasons.last().map(String::as_str),
            Some("auto_approved:1970-01-01T00:00:00.000Z:min_age_hours=24:limit=200")
        );
        let high = CallRecord {
            lead_score: 80,
            ..call
        };
        assert_eq!(
            approve(&high, params, &Change { by: "job", at: 0 }).lead_score,
            80
        );
    }
}
