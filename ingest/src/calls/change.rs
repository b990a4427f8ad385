//! Changing calls: compare-and-set in the ledger, then the new versions published to `opsmantik.calls.v1`
//! (ClickHouse keeps every version), then the audit record. A version the broker does not take is rolled
//! back in the ledger (if nothing changed it since) and the request answers 503: nothing half-done stays.

use futures::future::join_all;
use opsmantik_runtime::kafka::OutRecord;
use opsmantik_runtime::sites::Site;
use opsmantik_schemas::{encode, CallRecord, Topic};
use serde_json::{json, Value};

use crate::app::state::AppState;
use crate::audit;
use crate::auth::access::{self, Need};
use crate::auth::Principal;
use crate::http::error::{ApiError, Shape};
use axum::http::StatusCode;

/// How often a change is re-tried against a call another request changed in between.
const MAX_RACES: usize = 5;

/// 404 for a call the caller may not see as much as for one that does not exist.
pub fn not_found() -> ApiError {
    ApiError::new(
        Shape::Control,
        StatusCode::NOT_FOUND,
        "not_found",
        "no such call",
    )
}

/// 409: the call is not at the version the client acted on.
pub fn conflict(current: i64) -> ApiError {
    ApiError::new(
        Shape::Control,
        StatusCode::CONFLICT,
        "CONCURRENCY_CONFLICT",
        "the call changed since it was read; reload it and try again",
    )
    .with_extra(json!({ "current_version": current }))
}

/// The part of a call an audit record shows before and after.
fn audit_view(c: &CallRecord) -> Value {
    json!({
        "version": c.version, "status": c.status, "lead_score": c.lead_score,
        "sale_amount": c.sale_amount, "currency": c.currency, "oci_status": c.oci_status,
    })
}

/// Changes call `id` by `rule` on behalf of `who`, who needs `need` on the call's site. With `expected`, only
/// if the call is at that version (409 otherwise); without, the rule is applied to the current version,
/// re-read when another request changed it in between. Returns the new version and the site.
pub async fn one<F>(
    state: &AppState,
    who: &Principal,
    id: &str,
    expected: Option<i64>,
    action: &'static str,
    rule: F,
) -> Result<(CallRecord, std::sync::Arc<Site>), ApiError>
where
    F: Fn(&CallRecord, &Site) -> Result<CallRecord, ApiError>,
{
    let Some(mut call) = state.stores.calls.get(id).await? else {
        return Err(not_found());
    };
    // A call never changes site: its access is checked once, whatever the re-reads.
    let site = access::site(state, who, &call.site, Need::EDIT)
        .await
        .map_err(|e| match ApiError::from(e) {
            refusal if refusal.status == StatusCode::NOT_FOUND => not_found(),
            refusal => refusal,
        })?;
    for _ in 0..MAX_RACES {
        if expected.is_some_and(|v| v != call.version) {
            return Err(conflict(call.version));
        }
        let next = rule(&call, &site)?;
        if state
            .stores
            .calls
            .replace(call.version, &next)
            .await?
            .is_ok()
        {
            publish(state, &[(call.clone(), next.clone())]).await?;
            audit_change(state, who, action, &site, &call, &next).await;
            return Ok((next, site));
        }
        // Changed in between: re-read and apply the rule to what it is now.
        call = state.stores.calls.get(id).await?.ok_or_else(not_found)?;
    }
    Err(conflict(call.version))
}

/// Stores many changes (`(current, next)` pairs) for `who`'s `action` on `site`: each by compare-and-set
/// (a call changed in between is left out), the stored ones published in one batch and audited in one
/// record. Returns those stored.
pub async fn many(
    state: &AppState,
    who: &Principal,
    action: &'static str,
    site: &Site,
    changes: Vec<(CallRecord, CallRecord)>,
) -> Result<Vec<CallRecord>, ApiError> {
    let calls = &state.stores.calls;
    let outcomes = join_all(
        changes
            .iter()
            .map(|(cur, next)| calls.replace(cur.version, next)),
    )
    .await;
    let mut stored = Vec::new();
    for (pair, outcome) in changes.into_iter().zip(outcomes) {
        if outcome?.is_ok() {
            stored.push(pair);
        }
    }
    publish(state, &stored).await?;
    if !stored.is_empty() {
        let calls: Vec<Value> = stored
            .iter()
            .map(|(cur, next)| json!({ "call_id": next.call_id, "before": audit_view(cur), "after": audit_view(next) }))
            .collect();
        audit::record(state, who, action, &site.id, json!({ "calls": calls })).await;
    }
    Ok(stored.into_iter().map(|(_, next)| next).collect())
}

/// Publishes the new versions; if the broker refuses any, every one of them is rolled back and it is a 503.
async fn publish(state: &AppState, changed: &[(CallRecord, CallRecord)]) -> Result<(), ApiError> {
    if changed.is_empty() {
        return Ok(());
    }
    let topic = state.topics.name(Topic::Calls);
    let mut records = Vec::with_capacity(changed.len());
    for (_, next) in changed {
        let payload = encode(next).map_err(|e| ApiError::internal(Shape::Control, "encode", &e))?;
        records.push(OutRecord {
            topic: topic.clone(),
            key: next.call_id.as_bytes().to_vec(),
            payload,
            replay: None,
        });
    }
    let results = state.publish_many(records, "calls").await;
    if results.iter().all(Result::is_ok) {
        return Ok(());
    }
    let calls = &state.stores.calls;
    join_all(
        changed
            .iter()
            .map(|(cur, next)| calls.replace(next.version, cur)),
    )
    .await;
    Err(ApiError::unavailable(
        Shape::Control,
        "broker_unavailable",
        &"call versions not acknowledged; rolled back",
    ))
}

async fn audit_change(
    state: &AppState,
    who: &Principal,
    action: &'static str,
    site: &Site,
    before: &CallRecord,
    after: &CallRecord,
) {
    let detail = json!({ "call_id": after.call_id, "before": audit_view(before), "after": audit_view(after) });
    audit::record(state, who, action, &site.id, detail).await;
}
