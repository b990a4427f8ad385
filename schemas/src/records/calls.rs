//! Call tracking records: `CallIntent` (a click) and `CallRecord` (the call, versioned by status changes).

use serde::{Deserialize, Serialize};

/// A phone or WhatsApp click as the edge accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallIntent {
    pub event_id: String,
    pub site: String,
    pub visitor: String,
    pub fingerprint: Option<String>,
    pub phone_number: String,
    pub action: String,
    pub url: String,
    pub signed: bool,
    pub received_at: i64,
    pub event_time: i64,
    /// What the tracker knew about the click (v2; `None` from older writers and plain API calls).
    #[serde(default)]
    pub context: Option<ClickContext>,
}

super::avro_record!(CallIntent, "CallIntent", "call_intent.avsc");

/// What the tracker knew about a click, kept on the intent and the call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClickContext {
    pub intent_action: Option<String>,
    pub intent_target: Option<String>,
    pub intent_stamp: Option<String>,
    pub page_url: Option<String>,
    pub user_agent: Option<String>,
    pub gclid: Option<String>,
    pub wbraid: Option<String>,
    pub gbraid: Option<String>,
    pub ads_context_json: Option<String>,
}

impl ClickContext {
    /// Fills what this context lacks from `other` (the same click reported on another route).
    pub fn fill_from(&mut self, other: &ClickContext) {
        let fields: [(&mut Option<String>, &Option<String>); 9] = [
            (&mut self.intent_action, &other.intent_action),
            (&mut self.intent_target, &other.intent_target),
            (&mut self.intent_stamp, &other.intent_stamp),
            (&mut self.page_url, &other.page_url),
            (&mut self.user_agent, &other.user_agent),
            (&mut self.gclid, &other.gclid),
            (&mut self.wbraid, &other.wbraid),
            (&mut self.gbraid, &other.gbraid),
            (&mut self.ads_context_json, &other.ads_context_json),
        ];
        for (mine, theirs) in fields {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }
}

/// A call with its match, score and status; each change is a new `version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub call_id: String,
    pub version: i64,
    pub site: String,
    pub visitor: String,
    pub status: String,
    pub session_id: Option<String>,
    pub phone_number: String,
    pub action: String,
    pub gclid: Option<String>,
    pub gbraid: Option<String>,
    pub wbraid: Option<String>,
    pub lead_score: i32,
    pub lead_reasons: Vec<String>,
    pub sale_amount: Option<f64>,
    pub currency: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The click's context (v2), from its intent.
    #[serde(default)]
    pub context: Option<ClickContext>,
    /// The operator's workflow (v3): when confirmed / cancelled, by whom, and the offline-conversion state.
    #[serde(default)]
    pub confirmed_at: Option<i64>,
    #[serde(default)]
    pub cancelled_at: Option<i64>,
    #[serde(default)]
    pub confirmed_by: Option<String>,
    #[serde(default)]
    pub oci_status: Option<String>,
    #[serde(default)]
    pub oci_batch_id: Option<String>,
}

super::avro_record!(CallRecord, "CallRecord", "call_record.avsc");
