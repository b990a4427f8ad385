//! Sessionizer output: `SessionEvent` (a hit in its session) and `SessionState` (the session, versioned).

use serde::{Deserialize, Serialize};

/// A tracking hit placed in its session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEvent {
    pub event_id: String,
    pub session_id: String,
    pub site: String,
    pub visitor: String,
    pub seq: i64,
    pub event_time: i64,
    pub received_at: i64,
    pub url: String,
    pub referrer: Option<String>,
    pub category: String,
    pub action: String,
    pub label: Option<String>,
    pub value: Option<f64>,
    pub meta_json: String,
}

super::avro_record!(SessionEvent, "SessionEvent", "session_event.avsc");

/// The state of one session after its latest event; `version` orders the updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub session_id: String,
    pub version: i64,
    pub site: String,
    pub visitor: String,
    pub client_session_id: String,
    pub started_at: i64,
    pub last_seen_at: i64,
    pub duration_sec: i64,
    pub pageviews: i64,
    pub events: i64,
    pub entry_url: String,
    pub exit_url: String,
    pub referrer: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub gclid: Option<String>,
    pub gbraid: Option<String>,
    pub wbraid: Option<String>,
    pub device: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub geo_country: Option<String>,
    pub lead_score: i32,
    pub lead_reasons: Vec<String>,
    /// v2: foreground seconds, the highest `meta.active_sec` reported (heartbeats, session end).
    #[serde(default)]
    pub active_sec: Option<i64>,
    /// v2: the deepest scroll reported, 0–100.
    #[serde(default)]
    pub max_scroll_pct: Option<i64>,
}

super::avro_record!(SessionState, "SessionState", "session_state.avsc");
