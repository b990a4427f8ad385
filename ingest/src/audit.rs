//! The audit trail: every site created or changed, member invited, key created or revoked, secret rotated,
//! and every change to a call (status, seal, auto-approve, export) is an `AuditRecord` on `opsmantik.audit.v1`, landed in ClickHouse `audit_log`
//! by the sink. Written after the action succeeded; a record the broker does not take is logged at error
//! level and counted (`edge_audit_publish_failures_total`), and the action's answer is unchanged (the
//! action already happened; answering 503 would make the client retry an action that succeeded).

use opsmantik_runtime::kafka::OutRecord;
use opsmantik_schemas::{encode, AuditRecord, Topic, Topics};
use serde_json::Value;

use crate::app::state::AppState;
use crate::auth::Principal;

/// Records `action` by `who` on `subject` (a site id or user id) with `detail`.
pub async fn record(state: &AppState, who: &Principal, action: &str, subject: &str, detail: Value) {
    let Some(out) = out_record(&state.topics, &who.actor(), action, subject, &detail) else {
        return;
    };
    if state.publish(out, "audit").await.is_err() {
        failed(action);
    }
}

/// The audit record of `action` by `actor` on `subject`, ready to publish (`None`, logged, if it does not
/// encode).
pub fn out_record(
    topics: &Topics,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &Value,
) -> Option<OutRecord> {
    let record = AuditRecord {
        audit_id: uuid::Uuid::now_v7().to_string(),
        subject_id: subject.to_string(),
        actor: actor.to_string(),
        action: action.to_string(),
        detail_json: detail.to_string(),
        at: opsmantik_runtime::now_ms(),
    };
    match encode(&record) {
        Ok(payload) => Some(OutRecord::new(
            topics.name(Topic::Audit),
            subject.as_bytes().to_vec(),
            payload,
        )),
        Err(e) => {
            tracing::error!(error = %e, action, "audit record not encoded");
            failed(action);
            None
        }
    }
}

/// Logs and counts an audit record that was not published.
pub fn failed(action: &str) {
    tracing::error!(action, "audit record not published");
    metrics::counter!("edge_audit_publish_failures_total").increment(1);
}
