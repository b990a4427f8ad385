//! `TrackingHit`: one tracker hit as the edge accepted it.

use serde::{Deserialize, Serialize};

/// One hit from `POST /api/sync`, with the edge's receive time and the derived event time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingHit {
    pub event_id: String,
    pub site: String,
    pub visitor: String,
    pub session_id: String,
    pub session_month: Option<String>,
    pub url: String,
    pub referrer: Option<String>,
    pub category: String,
    pub action: String,
    pub label: Option<String>,
    pub value: Option<f64>,
    pub fingerprint: Option<String>,
    pub gclid: Option<String>,
    pub gbraid: Option<String>,
    pub wbraid: Option<String>,
    pub duration_sec: Option<i64>,
    pub meta_json: String,
    pub received_at: i64,
    pub event_time: i64,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub geo_country: Option<String>,
}

super::avro_record!(TrackingHit, "TrackingHit", "tracking_hit.avsc");

impl TrackingHit {
    /// The Kafka key shared by a visitor's hits and call intents: `site:visitor` (DESIGN.md §3).
    pub fn key(&self) -> String {
        format!("{}:{}", self.site, self.visitor)
    }
}
