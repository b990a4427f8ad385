//! The session rules: no I/O, no clock. [`place`] takes a hit and its visitor's current [`Visit`] and answers
//! with the event placed in its session and the session's new state, or says the hit is too late to place.
//!
//! Rules (DESIGN.md §5), all in event time: a visitor (site + visitor key) has at most one open session; a hit
//! joins it when it falls within 30 minutes of the session's activity and the session is younger than 24
//! hours; otherwise it opens a new session. The session id is the client's `sid`, unless a previous session
//! of the visitor already used that `sid` (a split forced by the rules), then a deterministic id derived from
//! the `sid` and the first hit's event id. A hit older than 30 minutes before the open session's start
//! belongs to a session already closed: it is reported as late, never silently dropped.

use opsmantik_schemas::{SessionEvent, SessionState, TrackingHit};

use crate::url_params::campaign;

/// Inactivity that ends a session.
pub const INACTIVITY_MS: i64 = 30 * 60 * 1000;
/// Longest a session may last.
pub const MAX_SESSION_MS: i64 = 24 * 60 * 60 * 1000;
/// How long a visitor's last session is remembered after its last activity (for split detection).
pub const FORGET_AFTER_MS: i64 = MAX_SESSION_MS + INACTIVITY_MS;

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
    /// The visitor's last hits already include this event id (a client re-sent it): nothing changes.
    Repeated,
}

/// How many of a visitor's latest event ids are remembered to recognise a re-sent hit.
const RECENT_IDS: usize = 16;

/// A stable 64-bit hash of an event id (FNV-1a), kept instead of the id to keep visits small.
fn id_hash(event_id: &str) -> u64 {
    event_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How long after a session's last activity (event time) it is closed for good: it is then compacted to what
/// splitting and deduplication need (ids and times, about a tenth of its size), and a hit that would still
/// have joined it is late (DLQ `late_event`). Six hours of allowed lateness; visitors idle longer than that —
/// most of those remembered for [`FORGET_AFTER_MS`] — cost little memory.
pub const CLOSE_AFTER_MS: i64 = 6 * 60 * 60 * 1000;

/// A visitor's open (or last) session and what scoring needs beyond it: the state a sessionizing stage keeps
/// per visitor (`site:visitor`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Visit {
    session: Session,
    conversions: i64,
    /// Sessions this visitor had before this one (as far as this instance remembers).
    earlier_sessions: i64,
    /// Hashes of the visitor's latest event ids, newest last.
    #[serde(default)]
    recent: Vec<u64>,
}

/// The visitor's last session: whole while hits may still join it, compacted once closed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Session {
    Open(Box<SessionState>),
    Closed(Closed),
}

/// What a closed session leaves behind.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Closed {
    session_id: String,
    client_session_id: String,
    started_at: i64,
    last_seen_at: i64,
}

impl Visit {
    /// The visitor's last session, while it is open (`None` once closed).
    pub fn state(&self) -> Option<&SessionState> {
        match &self.session {
            Session::Open(s) => Some(s),
            Session::Closed(_) => None,
        }
    }

    /// (first, last) activity of the last session.
    fn bounds(&self) -> (i64, i64) {
        match &self.session {
            Session::Open(s) => (s.started_at, s.last_seen_at),
            Session::Closed(c) => (c.started_at, c.last_seen_at),
        }
    }

    /// The event time this visit next changes at: it closes, or (closed) it is forgotten — by then no hit can
    /// join or split from it.
    pub fn next_deadline(&self) -> i64 {
        let (_, last) = self.bounds();
        match self.session {
            Session::Open(_) => last + CLOSE_AFTER_MS,
            Session::Closed(_) => last + FORGET_AFTER_MS,
        }
    }

    /// Adds `hit` (event id hash `id`) to the open session; the session's new state. `None` when closed.
    fn join(&mut self, hit: &TrackingHit, id: u64) -> Option<SessionState> {
        let Session::Open(s) = &mut self.session else {
            return None;
        };
        extend(s, hit);
        self.conversions += i64::from(is_conversion(hit));
        rescore(s, self.conversions, self.earlier_sessions);
        remember(&mut self.recent, id);
        Some((**s).clone())
    }

    /// Brings the visit to event time `now`: closes it once its close time passed. Returns its next deadline,
    /// or `None` when the visit is to be forgotten.
    pub fn expire(&mut self, now: i64) -> Option<i64> {
        if let Session::Open(s) = &self.session {
            if now >= s.last_seen_at + CLOSE_AFTER_MS {
                self.session = Session::Closed(Closed {
                    session_id: s.session_id.clone(),
                    client_session_id: s.client_session_id.clone(),
                    started_at: s.started_at,
                    last_seen_at: s.last_seen_at,
                });
            }
        }
        let next = self.next_deadline();
        (now < next).then_some(next)
    }
}

/// Places `hit` given its visitor's current visit (`None` for a visitor not seen, or forgotten). A hit that
/// joins the visit changes it in place; one that opens a new session returns the new visit, which replaces
/// the current one.
pub fn place(current: Option<&mut Visit>, hit: &TrackingHit) -> (Outcome, Option<Visit>) {
    let t = hit.event_time;
    let id = id_hash(&hit.event_id);
    if current.as_ref().is_some_and(|v| v.recent.contains(&id)) {
        return (Outcome::Repeated, None);
    }
    if let Some(detail) = current.as_deref().and_then(|v| too_late(v, t)) {
        return (Outcome::Late { detail }, None);
    }
    let (state, fresh) = match current {
        Some(v) if joins(v.bounds(), t) => match v.join(hit, id) {
            Some(state) => (state, None),
            None => {
                return (
                    Outcome::Late {
                        detail: "session closed".into(),
                    },
                    None,
                )
            }
        },
        previous => {
            let previous = previous.map(|v| &*v);
            let mut recent = previous.map(|v| v.recent.clone()).unwrap_or_default();
            remember(&mut recent, id);
            let last_sid = previous.map(|v| match &v.session {
                Session::Open(s) => s.client_session_id.as_str(),
                Session::Closed(c) => c.client_session_id.as_str(),
            });
            let mut state = open(session_id_for(hit, last_sid), hit);
            let conversions = i64::from(is_conversion(hit));
            let earlier_sessions = previous.map_or(0, |v| v.earlier_sessions + 1);
            rescore(&mut state, conversions, earlier_sessions);
            let fresh = Visit {
                session: Session::Open(Box::new(state.clone())),
                conversions,
                earlier_sessions,
                recent,
            };
            (state, Some(fresh))
        }
    };
    let event = event_of(hit, &state);
    (Outcome::Placed { event, state }, fresh)
}

/// Why a hit at `t` cannot be placed for visit `v`, if it cannot: it lies more than 30 minutes before the
/// last session, or it would join a session already closed.
fn too_late(v: &Visit, t: i64) -> Option<String> {
    let (started, _) = v.bounds();
    let (id, closed) = match &v.session {
        Session::Open(s) => (&s.session_id, false),
        Session::Closed(c) => (&c.session_id, true),
    };
    if t < started - INACTIVITY_MS {
        return Some(format!(
            "event time {t} is more than 30 minutes before the open session {id} (start {started})"
        ));
    }
    (closed && joins(v.bounds(), t))
        .then(|| format!("event time {t} falls in session {id}, closed"))
}

fn remember(recent: &mut Vec<u64>, id: u64) {
    if recent.len() == RECENT_IDS {
        recent.remove(0);
    }
    recent.push(id);
}

/// Whether a hit at `t` belongs to the session active from `started` to `last`.
fn joins((started, last): (i64, i64), t: i64) -> bool {
    let active = t <= last + INACTIVITY_MS && t >= started - INACTIVITY_MS;
    let start = started.min(t);
    let end = last.max(t);
    active && end - start < MAX_SESSION_MS
}

/// The id of a new session of `hit`'s visitor, whose last session had the client's sid `last_sid`.
fn session_id_for(hit: &TrackingHit, last_sid: Option<&str>) -> String {
    match last_sid {
        Some(sid) if sid == hit.session_id => {
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
fn rescore(s: &mut SessionState, conversions: i64, earlier_sessions: i64) {
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
        conversions,
        returning: earlier_sessions > 0,
    };
    let score = opsmantik_scoring::score(&signals);
    s.lead_score = score.value;
    s.lead_reasons = score.reasons;
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
    let mut s = SessionState {
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
        active_sec: None,
        max_scroll_pct: None,
    };
    engage(&mut s, hit);
    s
}

/// What a hit tells about engagement: `meta.active_sec` (foreground seconds so far) and the scroll depth
/// (`meta.scroll_pct`, or a `scroll_depth` hit's value). Heartbeats and session ends carry them; they extend the
/// session like any hit but are not page views.
fn engage(s: &mut SessionState, hit: &TrackingHit) {
    let meta_has = |k: &str| hit.meta_json.contains(k);
    let meta: Option<serde_json::Value> = (meta_has("active_sec") || meta_has("scroll_pct"))
        .then(|| serde_json::from_str(&hit.meta_json).ok())
        .flatten();
    let number = |k: &str| {
        meta.as_ref()
            .and_then(|m| m.get(k)?.as_f64())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v as i64)
    };
    let scroll = number("scroll_pct").or_else(|| {
        (hit.action == "scroll_depth")
            .then_some(hit.value)
            .flatten()
            .map(|v| v as i64)
    });
    let max = |a: Option<i64>, b: Option<i64>| a.max(b);
    s.active_sec = max(s.active_sec, number("active_sec"));
    s.max_scroll_pct = max(s.max_scroll_pct, scroll.map(|v| v.clamp(0, 100)));
}

fn extend(s: &mut SessionState, hit: &TrackingHit) {
    engage(s, hit);
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
#[path = "rules_tests.rs"]
mod tests;
