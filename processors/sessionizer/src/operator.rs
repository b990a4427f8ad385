//! The pure session operator: no I/O, no clock. Feed it hits with [`Sessionizer::on_hit`]; it answers with
//! the event placed in its session and the session's new state, or says the hit is too late to place.
//!
//! Rules (DESIGN.md §5), all in event time: a visitor (site + visitor key) has at most one open session; a hit
//! joins it when it falls within 30 minutes of the session's activity and the session is younger than 24
//! hours; otherwise it opens a new session. The session id is the client's `sid`, unless a previous session
//! of the visitor already used that `sid` (a split forced by the rules), then a deterministic id derived from
//! the `sid` and the first hit's event id. A hit older than 30 minutes before the open session's start
//! belongs to a session already closed: it is reported as late, never silently dropped.

use std::collections::HashMap;

use opsmantik_schemas::{SessionEvent, SessionState, TrackingHit};

use crate::url_params::campaign;

/// Inactivity that ends a session.
pub const INACTIVITY_MS: i64 = 30 * 60 * 1000;
/// Longest a session may last.
pub const MAX_SESSION_MS: i64 = 24 * 60 * 60 * 1000;
/// How long a visitor's last session is remembered after its last activity (for split detection).
const FORGET_AFTER_MS: i64 = MAX_SESSION_MS + INACTIVITY_MS;

/// What became of one hit.
// `Placed` is the common case; boxing it to shrink the rare `Late` would cost an allocation per hit.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The hit was placed: the event, and the session's state after it.
    Placed {
        event: SessionEvent,
        state: SessionState,
    },
    /// The hit is older than any session still open for its visitor.
    Late { detail: String },
}

/// A visitor's open (or last) session and what scoring needs beyond it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Visit {
    state: SessionState,
    conversions: i64,
    /// Sessions this visitor had before this one (as far as this instance remembers).
    earlier_sessions: i64,
}

/// Session state of every visitor seen on the partitions this instance owns.
#[derive(Debug, Default)]
pub struct Sessionizer {
    visitors: HashMap<String, Visit>,
    /// Highest event time seen: the clock that forgets idle visitors.
    watermark: i64,
    hits_since_sweep: usize,
}

impl Sessionizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The open (or last) session of visitor `key` (`site:visitor`).
    pub fn current(&self, key: &str) -> Option<&SessionState> {
        self.visitors.get(key).map(|v| &v.state)
    }

    /// Visitor `key`'s state in snapshot form (JSON).
    pub fn export(&self, key: &str) -> Option<String> {
        self.visitors
            .get(key)
            .and_then(|v| serde_json::to_string(v).ok())
    }

    /// Restores visitor `key` from [`export`](Self::export)'s form; the watermark follows the restored state.
    pub fn import(&mut self, key: String, snapshot: &str) -> Result<(), serde_json::Error> {
        let v: Visit = serde_json::from_str(snapshot)?;
        self.watermark = self.watermark.max(v.state.last_seen_at);
        self.visitors.insert(key, v);
        Ok(())
    }

    /// Number of visitors held in memory.
    pub fn visitors(&self) -> usize {
        self.visitors.len()
    }

    /// Places one hit.
    pub fn on_hit(&mut self, hit: &TrackingHit) -> Outcome {
        self.watermark = self.watermark.max(hit.event_time);
        self.maybe_sweep();
        let key = hit.key();
        let t = hit.event_time;
        let state = match self.visitors.get_mut(&key) {
            Some(v) if joins(&v.state, t) => {
                extend(&mut v.state, hit);
                v.conversions += i64::from(is_conversion(hit));
                rescore(v);
                v.state.clone()
            }
            Some(v) if t < v.state.started_at - INACTIVITY_MS => {
                return Outcome::Late {
                    detail: format!(
                        "event time {t} is more than 30 minutes before the open session {} (start {})",
                        v.state.session_id, v.state.started_at
                    ),
                };
            }
            previous => {
                let id = session_id_for(hit, previous.as_ref().map(|v| &v.state));
                let earlier_sessions = previous.as_ref().map_or(0, |v| v.earlier_sessions + 1);
                let mut fresh = Visit {
                    state: open(id, hit),
                    conversions: i64::from(is_conversion(hit)),
                    earlier_sessions,
                };
                rescore(&mut fresh);
                let state = fresh.state.clone();
                self.visitors.insert(key, fresh);
                state
            }
        };
        Outcome::Placed {
            event: event_of(hit, &state),
            state,
        }
    }

    /// Forgets visitors idle for longer than a session can reach, every 10 000 hits.
    fn maybe_sweep(&mut self) {
        self.hits_since_sweep += 1;
        if self.hits_since_sweep < 10_000 {
            return;
        }
        self.hits_since_sweep = 0;
        let horizon = self.watermark - FORGET_AFTER_MS;
        self.visitors.retain(|_, v| v.state.last_seen_at >= horizon);
    }
}

/// Whether a hit at `t` belongs to session `s`.
fn joins(s: &SessionState, t: i64) -> bool {
    let active = t <= s.last_seen_at + INACTIVITY_MS && t >= s.started_at - INACTIVITY_MS;
    let start = s.started_at.min(t);
    let end = s.last_seen_at.max(t);
    active && end - start < MAX_SESSION_MS
}

fn session_id_for(hit: &TrackingHit, previous: Option<&SessionState>) -> String {
    match previous {
        Some(p) if p.client_session_id == hit.session_id => {
            let name = format!("{}:{}", hit.session_id, hit.event_id);
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
        }
        _ => hit.session_id.clone(),
    }
}

/// A phone, WhatsApp or form click: the tracker sends these with `ec = conversion`.
fn is_conversion(hit: &TrackingHit) -> bool {
    hit.category == "conversion"
}

/// Recomputes the session's lead score with the one scoring function.
fn rescore(v: &mut Visit) {
    let s = &v.state;
    let paid_medium = s.utm_medium.as_deref().is_some_and(|m| {
        matches!(
            m.to_ascii_lowercase().as_str(),
            "cpc" | "ppc" | "paid" | "paidsearch" | "paid_social"
        )
    });
    let signals = opsmantik_scoring::Signals {
        paid_click: s.gclid.is_some() || s.gbraid.is_some() || s.wbraid.is_some(),
        paid_medium,
        engaged_secs: s.duration_sec,
        pageviews: s.pageviews,
        conversions: v.conversions,
        returning: v.earlier_sessions > 0,
    };
    let score = opsmantik_scoring::score(&signals);
    v.state.lead_score = score.value;
    v.state.lead_reasons = score.reasons;
}

fn is_pageview(hit: &TrackingHit) -> bool {
    hit.action == "view"
}

fn open(session_id: String, hit: &TrackingHit) -> SessionState {
    let c = campaign(&hit.url);
    let device = hit
        .user_agent
        .as_deref()
        .map(crate::device::parse)
        .unwrap_or_default();
    SessionState {
        session_id,
        version: 1,
        site: hit.site.clone(),
        visitor: hit.visitor.clone(),
        client_session_id: hit.session_id.clone(),
        started_at: hit.event_time,
        last_seen_at: hit.event_time,
        duration_sec: 0,
        pageviews: i64::from(is_pageview(hit)),
        events: 1,
        entry_url: hit.url.clone(),
        exit_url: hit.url.clone(),
        referrer: hit.referrer.clone(),
        utm_source: c.utm_source,
        utm_medium: c.utm_medium,
        utm_campaign: c.utm_campaign,
        utm_term: c.utm_term,
        utm_content: c.utm_content,
        gclid: hit.gclid.clone().or(c.gclid),
        gbraid: hit.gbraid.clone().or(c.gbraid),
        wbraid: hit.wbraid.clone().or(c.wbraid),
        device: device.class,
        browser: device.browser,
        os: device.os,
        geo_country: hit.geo_country.clone(),
        lead_score: 0,
        lead_reasons: Vec::new(),
    }
}

fn extend(s: &mut SessionState, hit: &TrackingHit) {
    s.version += 1;
    s.events += 1;
    s.pageviews += i64::from(is_pageview(hit));
    if hit.event_time < s.started_at {
        // A late hit that happened before the first one seen: it is the real entry.
        s.started_at = hit.event_time;
        s.entry_url = hit.url.clone();
        if hit.referrer.is_some() {
            s.referrer = hit.referrer.clone();
        }
    }
    if hit.event_time >= s.last_seen_at {
        s.last_seen_at = hit.event_time;
        s.exit_url = hit.url.clone();
    }
    s.duration_sec = (s.last_seen_at - s.started_at) / 1000;
    s.gclid = s.gclid.take().or_else(|| hit.gclid.clone());
    s.gbraid = s.gbraid.take().or_else(|| hit.gbraid.clone());
    s.wbraid = s.wbraid.take().or_else(|| hit.wbraid.clone());
    s.geo_country = s.geo_country.take().or_else(|| hit.geo_country.clone());
}

fn event_of(hit: &TrackingHit, s: &SessionState) -> SessionEvent {
    SessionEvent {
        event_id: hit.event_id.clone(),
        session_id: s.session_id.clone(),
        site: hit.site.clone(),
        visitor: hit.visitor.clone(),
        seq: s.version,
        event_time: hit.event_time,
        received_at: hit.received_at,
        url: hit.url.clone(),
        referrer: hit.referrer.clone(),
        category: hit.category.clone(),
        action: hit.action.clone(),
        label: hit.label.clone(),
        value: hit.value,
        meta_json: hit.meta_json.clone(),
    }
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
