//! The remaining records: product events, call-flow events, webhook deliveries, dead letters, audit.

use serde::{Deserialize, Serialize};

/// A product event in either event-API dialect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductEvent {
    pub event_id: String,
    pub site: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub event_name: String,
    pub timestamp: i64,
    pub received_at: i64,
    pub metadata_json: String,
    pub payload_json: Option<String>,
    pub priority: Option<i32>,
    pub idempotency_key: Option<String>,
    pub dialect: String,
}

super::avro_record!(ProductEvent, "ProductEvent", "product_event.avsc");

/// A call-flow event (initiated, ringing, answered, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallFlowEvent {
    pub event_id: String,
    pub call_id: String,
    pub site: String,
    pub event_type: String,
    pub timestamp: i64,
    pub created_at: i64,
    pub metadata_json: String,
}

super::avro_record!(CallFlowEvent, "CallFlowEvent", "call_flow_event.avsc");

/// A signed webhook delivery waiting for the webhook sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub delivery_id: String,
    pub webhook_id: String,
    pub rule_id: String,
    pub site: String,
    pub url: String,
    pub event_id: String,
    pub body: String,
    pub signature: String,
    pub attempt: i32,
    pub created_at: i64,
}

super::avro_record!(WebhookDelivery, "WebhookDelivery", "webhook_delivery.avsc");

/// A record a stage could not process: where it came from, its raw bytes and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    #[serde(with = "apache_avro::serde_avro_bytes_opt")]
    pub key: Option<Vec<u8>>,
    #[serde(with = "apache_avro::serde_avro_bytes")]
    pub payload: Vec<u8>,
    pub reason: String,
    pub detail: String,
    pub stage: String,
    pub failed_at: i64,
    /// 0 for a first failure; `n` when the record failed again on its `n`-th replay from the DLQ (the source
    /// fields then name the original record, so the dead letter keeps its id).
    #[serde(default)]
    pub replay_count: i32,
}

super::avro_record!(DeadLetter, "DeadLetter", "dead_letter.avsc");

impl DeadLetter {
    /// Deterministic id: the same source record dead-lettered twice by the same stage is one dead letter.
    pub fn id(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.source_topic, self.source_partition, self.source_offset, self.stage
        )
    }
}

/// A dead letter's id taken apart: `<topic>:<partition>:<offset>:<stage>` (a topic name cannot hold `:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterId {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub stage: String,
}

impl LetterId {
    pub fn parse(id: &str) -> Option<Self> {
        let mut parts = id.splitn(4, ':');
        let topic = parts.next().filter(|t| !t.is_empty())?.to_string();
        let partition = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        let stage = parts.next().filter(|s| !s.is_empty())?.to_string();
        Some(Self {
            topic,
            partition,
            offset,
            stage,
        })
    }
}

/// An audited control action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub audit_id: String,
    pub subject_id: String,
    pub actor: String,
    pub action: String,
    pub detail_json: String,
    pub at: i64,
}

super::avro_record!(AuditRecord, "AuditRecord", "audit_record.avsc");
