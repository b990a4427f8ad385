//! The pure matching rule: a click matches its visitor's session if that session was active within the 30
//! minutes before the click (event time); the call record carries the session's click ids and lead score.

use opsmantik_schemas::{CallIntent, CallRecord, ClickContext, SessionState};

/// How long before a click a session may have been active to match it.
pub const WINDOW_MS: i64 = 30 * 60 * 1000;
/// Clock skew tolerated between a click and the hits of its session.
const AHEAD_MS: i64 = 60 * 1000;

/// The call record of `intent`, matched to `session` (the visitor's latest) when it qualifies.
pub fn call_record(intent: &CallIntent, session: Option<&SessionState>) -> CallRecord {
    let click = |field: fn(&ClickContext) -> &Option<String>| {
        intent.context.as_ref().and_then(|c| field(c).clone())
    };
    let session = session.filter(|s| {
        s.last_seen_at >= intent.event_time - WINDOW_MS
            && s.started_at <= intent.event_time + AHEAD_MS
    });
    CallRecord {
        call_id: intent.event_id.clone(),
        version: 1,
        site: intent.site.clone(),
        visitor: intent.visitor.clone(),
        status: "intent".into(),
        session_id: session.map(|s| s.session_id.clone()),
        phone_number: intent.phone_number.clone(),
        action: intent.action.clone(),
        // The session's click ids, else those the tracker knew at the click.
        gclid: session
            .and_then(|s| s.gclid.clone())
            .or_else(|| click(|c| &c.gclid)),
        gbraid: session
            .and_then(|s| s.gbraid.clone())
            .or_else(|| click(|c| &c.gbraid)),
        wbraid: session
            .and_then(|s| s.wbraid.clone())
            .or_else(|| click(|c| &c.wbraid)),
        lead_score: session.map_or(0, |s| s.lead_score),
        lead_reasons: session.map(|s| s.lead_reasons.clone()).unwrap_or_default(),
        sale_amount: None,
        currency: None,
        created_at: intent.event_time,
        updated_at: intent.event_time,
        context: intent.context.clone(),
        ..CallRecord::default()
    }
}
