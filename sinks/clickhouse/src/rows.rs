//! ClickHouse row types, one per table, and their conversion from the Avro records (the table list itself is
//! in `tables`).
//! Field order is the table's column order (`schemas/clickhouse/`); times become `DateTime` (UTC seconds),
//! absent strings become `''`.

use clickhouse::Row;
use opsmantik_schemas::{
    AuditRecord, CallFlowEvent, CallRecord, DeadLetter, ProductEvent, SessionEvent, SessionState,
};
use serde::Serialize;

fn secs(ms: i64) -> u32 {
    u32::try_from(ms.div_euclid(1000)).unwrap_or(if ms < 0 { 0 } else { u32::MAX })
}

fn text(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub struct SessionRow {
    pub site: String,
    pub session_id: String,
    pub version: i64,
    pub visitor: String,
    pub client_session_id: String,
    pub started_at: u32,
    pub last_seen_at: u32,
    pub duration_sec: i64,
    pub pageviews: i64,
    pub events: i64,
    pub entry_url: String,
    pub exit_url: String,
    pub referrer: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_term: String,
    pub utm_content: String,
    pub gclid: String,
    pub gbraid: String,
    pub wbraid: String,
    pub device: String,
    pub browser: String,
    pub os: String,
    pub geo_country: String,
    pub lead_score: i32,
    pub lead_reasons: Vec<String>,
    pub active_sec: i64,
    pub max_scroll_pct: i64,
}

impl From<SessionState> for SessionRow {
    fn from(s: SessionState) -> Self {
        Self {
            started_at: secs(s.started_at),
            last_seen_at: secs(s.last_seen_at),
            referrer: text(&s.referrer),
            utm_source: text(&s.utm_source),
            utm_medium: text(&s.utm_medium),
            utm_campaign: text(&s.utm_campaign),
            utm_term: text(&s.utm_term),
            utm_content: text(&s.utm_content),
            gclid: text(&s.gclid),
            gbraid: text(&s.gbraid),
            wbraid: text(&s.wbraid),
            device: text(&s.device),
            browser: text(&s.browser),
            os: text(&s.os),
            geo_country: text(&s.geo_country),
            site: s.site,
            session_id: s.session_id,
            version: s.version,
            visitor: s.visitor,
            client_session_id: s.client_session_id,
            duration_sec: s.duration_sec,
            pageviews: s.pageviews,
            events: s.events,
            entry_url: s.entry_url,
            exit_url: s.exit_url,
            lead_score: s.lead_score,
            lead_reasons: s.lead_reasons,
            active_sec: s.active_sec.unwrap_or(0),
            max_scroll_pct: s.max_scroll_pct.unwrap_or(0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub struct EventRow {
    pub site: String,
    pub event_time: u32,
    pub event_id: String,
    pub session_id: String,
    pub visitor: String,
    pub seq: i64,
    pub received_at: u32,
    pub url: String,
    pub referrer: String,
    pub category: String,
    pub action: String,
    pub label: String,
    pub value: f64,
    pub has_value: u8,
    pub meta_json: String,
}

impl From<SessionEvent> for EventRow {
    fn from(e: SessionEvent) -> Self {
        Self {
            event_time: secs(e.event_time),
            received_at: secs(e.received_at),
            referrer: text(&e.referrer),
            label: text(&e.label),
            value: e.value.unwrap_or(0.0),
            has_value: u8::from(e.value.is_some()),
            site: e.site,
            event_id: e.event_id,
            session_id: e.session_id,
            visitor: e.visitor,
            seq: e.seq,
            url: e.url,
            category: e.category,
            action: e.action,
            meta_json: e.meta_json,
        }
    }
}

/// A control action (`audit_log`).
#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub struct AuditRow {
    pub audit_id: String,
    pub subject_id: String,
    pub actor: String,
    pub action: String,
    pub detail_json: String,
    pub at: u32,
}

impl From<AuditRecord> for AuditRow {
    fn from(a: AuditRecord) -> Self {
        Self {
            at: secs(a.at),
            audit_id: a.audit_id,
            subject_id: a.subject_id,
            actor: a.actor,
            action: a.action,
            detail_json: a.detail_json,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub struct DeadLetterRow {
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub stage: String,
    pub reason: String,
    pub detail: String,
    /// The source key, hex-encoded (`unhex(record_key)` gives the bytes).
    pub record_key: String,
    /// The raw source value, hex-encoded (`unhex(payload)` gives the bytes).
    pub payload: String,
    pub failed_at: u32,
    /// The `site` of the record carried, when it decodes ('' otherwise).
    pub site: String,
    pub replay_count: u32,
}

impl From<DeadLetter> for DeadLetterRow {
    fn from(d: DeadLetter) -> Self {
        Self {
            site: opsmantik_schemas::codec::site_of(&d.payload).unwrap_or_default(),
            replay_count: u32::try_from(d.replay_count).unwrap_or(0),
            record_key: hex::encode(d.key.as_deref().unwrap_or_default()),
            payload: hex::encode(&d.payload),
            failed_at: secs(d.failed_at),
            source_topic: d.source_topic,
            source_partition: d.source_partition,
            source_offset: d.source_offset,
            stage: d.stage,
            reason: d.reason,
            detail: d.detail,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub struct CallflowRow {
    pub site: String,
    pub call_id: String,
    pub timestamp_ms: i64,
    pub event_id: String,
    pub event_type: String,
    pub metadata_json: String,
    pub created_at_ms: i64,
}

impl From<CallFlowEvent> for CallflowRow {
    fn from(e: CallFlowEvent) -> Self {
        Self {
            site: e.site,
            call_id: e.call_id,
            timestamp_ms: e.timestamp,
            event_id: e.event_id,
            event_type: e.event_type,
            metadata_json: e.metadata_json,
            created_at_ms: e.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub struct ProductRow {
    pub site: String,
    pub timestamp_ms: i64,
    pub event_id: String,
    pub event_name: String,
    pub user_id: String,
    pub session_id: String,
    pub metadata_json: String,
    pub payload_json: String,
    pub priority: i32,
    pub idempotency_key: String,
    pub dialect: String,
    pub received_at_ms: i64,
}

impl From<ProductEvent> for ProductRow {
    fn from(e: ProductEvent) -> Self {
        Self {
            session_id: text(&e.session_id),
            payload_json: text(&e.payload_json),
            idempotency_key: text(&e.idempotency_key),
            priority: e.priority.unwrap_or(0),
            site: e.site,
            timestamp_ms: e.timestamp,
            event_id: e.event_id,
            event_name: e.event_name,
            user_id: e.user_id,
            metadata_json: e.metadata_json,
            dialect: e.dialect,
            received_at_ms: e.received_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub struct CallRow {
    pub site: String,
    pub call_id: String,
    pub version: i64,
    pub visitor: String,
    pub status: String,
    pub session_id: String,
    pub phone_number: String,
    pub action: String,
    pub gclid: String,
    pub gbraid: String,
    pub wbraid: String,
    pub lead_score: i32,
    pub lead_reasons: Vec<String>,
    pub sale_amount: f64,
    pub has_sale: u8,
    pub currency: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub page_url: String,
    pub intent_stamp: String,
    pub intent_action: String,
    pub intent_target: String,
    pub user_agent: String,
    pub ads_context_json: String,
    pub confirmed_at_ms: i64,
    pub cancelled_at_ms: i64,
    pub confirmed_by: String,
    pub oci_status: String,
    pub oci_batch_id: String,
}

impl From<CallRecord> for CallRow {
    fn from(c: CallRecord) -> Self {
        let ctx = c.context.clone().unwrap_or_default();
        Self {
            page_url: text(&ctx.page_url),
            intent_stamp: text(&ctx.intent_stamp),
            intent_action: text(&ctx.intent_action),
            intent_target: text(&ctx.intent_target),
            user_agent: text(&ctx.user_agent),
            ads_context_json: text(&ctx.ads_context_json),
            session_id: text(&c.session_id),
            gclid: text(&c.gclid),
            gbraid: text(&c.gbraid),
            wbraid: text(&c.wbraid),
            sale_amount: c.sale_amount.unwrap_or(0.0),
            has_sale: u8::from(c.sale_amount.is_some()),
            currency: text(&c.currency),
            confirmed_at_ms: c.confirmed_at.unwrap_or(0),
            cancelled_at_ms: c.cancelled_at.unwrap_or(0),
            confirmed_by: text(&c.confirmed_by),
            oci_status: text(&c.oci_status),
            oci_batch_id: text(&c.oci_batch_id),
            site: c.site,
            call_id: c.call_id,
            version: c.version,
            visitor: c.visitor,
            status: c.status,
            phone_number: c.phone_number,
            action: c.action,
            lead_score: c.lead_score,
            lead_reasons: c.lead_reasons,
            created_at_ms: c.created_at,
            updated_at_ms: c.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmantik_schemas::samples;

    #[test]
    fn conversions_keep_ids_and_turn_times_into_seconds() {
        let row = SessionRow::from(samples::session_state_sparse());
        assert_eq!((row.session_id.as_str(), row.version), ("s1", 3));
        assert_eq!(row.started_at, 1_767_225_600);
        assert_eq!(row.utm_source, "");
        let e = EventRow::from(samples::session_event_sparse());
        assert_eq!((e.has_value, e.value), (0, 0.0));
        let d = DeadLetterRow::from(samples::dead_letter());
        assert_eq!(d.payload, "000102ff");
        assert_eq!(d.record_key, "736974653a6670");
        assert_eq!(secs(-5), 0);
    }
}
