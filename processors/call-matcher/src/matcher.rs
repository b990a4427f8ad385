//! The pure call-matching operator. It follows every visitor's sessions with the sessionizer's own operator
//! (same rules, same lead score) and matches each click to the visitor's session if that session was active
//! within the 30 minutes before the click (event time).

use opsmantik_schemas::{CallIntent, CallRecord, TrackingHit};
use opsmantik_sessionizer::Sessionizer;

/// How long before a click a session may have been active to match it.
pub const WINDOW_MS: i64 = 30 * 60 * 1000;
/// Clock skew tolerated between a click and the hits of its session.
const AHEAD_MS: i64 = 60 * 1000;

/// Sessions of the visitors on this instance's partitions.
#[derive(Debug, Default)]
pub struct CallMatcher {
    sessions: Sessionizer,
}

impl CallMatcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Follows a tracking hit.
    pub fn on_hit(&mut self, hit: &TrackingHit) {
        // The outcome (event, state, or late) matters to the sessionizer; here only the resulting state does.
        let _ = self.sessions.on_hit(hit);
    }

    /// The call record of a click: matched to the visitor's recent session, or unmatched.
    pub fn on_intent(&self, intent: &CallIntent) -> CallRecord {
        let key = format!("{}:{}", intent.site, intent.visitor);
        let session = self.sessions.current(&key).filter(|s| {
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
            gclid: session.and_then(|s| s.gclid.clone()),
            gbraid: session.and_then(|s| s.gbraid.clone()),
            wbraid: session.and_then(|s| s.wbraid.clone()),
            lead_score: session.map_or(0, |s| s.lead_score),
            lead_reasons: session.map(|s| s.lead_reasons.clone()).unwrap_or_default(),
            sale_amount: None,
            currency: None,
            created_at: intent.event_time,
            updated_at: intent.event_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmantik_schemas::samples;

    const MIN: i64 = 60_000;

    fn hit(t: i64) -> TrackingHit {
        TrackingHit {
            event_time: t,
            received_at: t,
            ..samples::tracking_hit()
        }
    }

    fn click(t: i64) -> CallIntent {
        CallIntent {
            event_time: t,
            site: "site_pub_1".into(),
            visitor: "fp-abc".into(),
            ..samples::call_intent()
        }
    }

    #[test]
    fn a_click_10_minutes_after_the_last_page_matches() {
        let mut m = CallMatcher::new();
        m.on_hit(&hit(0));
        m.on_hit(&hit(5 * MIN));
        let r = m.on_intent(&click(15 * MIN));
        assert_eq!(
            r.session_id.as_deref(),
            Some("8f9b7c1e-0000-4000-8000-000000000001")
        );
        assert_eq!(r.gclid.as_deref(), Some("G1"));
        assert!(r.lead_score > 0 && !r.lead_reasons.is_empty());
        assert_eq!((r.status.as_str(), r.version), ("intent", 1));
    }

    #[test]
    fn a_click_45_minutes_after_or_from_a_stranger_does_not() {
        let mut m = CallMatcher::new();
        m.on_hit(&hit(0));
        assert_eq!(m.on_intent(&click(45 * MIN)).session_id, None);
        let stranger = CallIntent {
            visitor: "someone-else".into(),
            ..click(MIN)
        };
        let r = m.on_intent(&stranger);
        assert_eq!((r.session_id, r.lead_score), (None, 0));
    }
}
