//! Journeys through the operator, with the expected sessions written next to them.

use std::collections::HashMap;

use super::*;
use opsmantik_schemas::samples;

/// Visits by visitor key, placed with [`place`] — what a stage keeps per partition, without the runtime.
#[derive(Default)]
struct Sessionizer(HashMap<String, Visit>);

impl Sessionizer {
    fn new() -> Self {
        Self::default()
    }

    fn on_hit(&mut self, hit: &TrackingHit) -> Outcome {
        let key = hit.key();
        let (outcome, fresh) = place(self.0.get_mut(&key), hit);
        if let Some(v) = fresh {
            self.0.insert(key, v);
        }
        outcome
    }

    fn visitors(&self) -> usize {
        self.0.len()
    }
}

const MIN: i64 = 60 * 1000;

fn hit(visitor: &str, sid: &str, n: u32, t: i64, url: &str, action: &str) -> TrackingHit {
    TrackingHit {
        event_id: format!("{visitor}-{n}"),
        visitor: visitor.into(),
        session_id: sid.into(),
        event_time: t,
        received_at: t,
        url: url.into(),
        action: action.into(),
        gclid: None,
        ..samples::tracking_hit_sparse()
    }
}

fn placed(o: Outcome) -> (SessionEvent, SessionState) {
    match o {
        Outcome::Placed { event, state } => (event, state),
        Outcome::Late { detail } => panic!("unexpected late: {detail}"),
        Outcome::Repeated => panic!("unexpected repeat"),
    }
}

#[test]
fn a_session_closes_after_six_idle_hours_and_then_refuses_hits_that_would_join_it() {
    let mut op = Sessionizer::new();
    let (_, s) = placed(op.on_hit(&hit("v", "S", 1, 0, "u", "view")));
    let v = op.0.values_mut().next().unwrap();
    assert_eq!(
        v.next_deadline(),
        CLOSE_AFTER_MS,
        "open: closes 6 h after its last hit"
    );
    assert_eq!(v.expire(CLOSE_AFTER_MS - 1), Some(CLOSE_AFTER_MS));
    assert!(v.state().is_some());
    assert_eq!(
        v.expire(CLOSE_AFTER_MS),
        Some(FORGET_AFTER_MS),
        "closed: forgotten at 24.5 h"
    );
    assert!(v.state().is_none(), "compacted");
    // A late hit within the closed session's reach is recorded as late, not silently reopened.
    assert!(matches!(
        op.on_hit(&hit("v", "S", 2, 10 * MIN, "u", "view")),
        Outcome::Late { .. }
    ));
    // A new visit with the same sid after the gap still gets a derived id: the closed session remembers it.
    let (_, next) = placed(op.on_hit(&hit("v", "S", 3, 7 * 60 * MIN, "u", "view")));
    assert_ne!(next.session_id, s.session_id);
    assert!(next
        .lead_reasons
        .contains(&"returning_visitor:+10".to_string()));
    let v = op.0.values_mut().next().unwrap();
    assert_eq!(v.expire(7 * 60 * MIN + FORGET_AFTER_MS), None);
}

#[test]
fn a_re_sent_hit_changes_nothing() {
    let mut op = Sessionizer::new();
    let first = hit("v", "S", 1, 0, "u", "view");
    placed(op.on_hit(&first));
    placed(op.on_hit(&hit("v", "S", 2, MIN, "u", "view")));
    assert_eq!(op.on_hit(&first), Outcome::Repeated);
    let (_, s) = placed(op.on_hit(&hit("v", "S", 3, 2 * MIN, "u", "view")));
    assert_eq!((s.events, s.version), (3, 3), "the repeat was not counted");
}

#[test]
fn hits_within_30_minutes_share_a_session() {
    let mut op = Sessionizer::new();
    let (_, s1) = placed(op.on_hit(&hit("v", "S", 1, 0, "https://x/a?utm_source=g", "view")));
    let (e2, s2) = placed(op.on_hit(&hit("v", "S", 2, 29 * MIN, "https://x/b", "click")));
    let (_, s3) = placed(op.on_hit(&hit("v", "S", 3, 58 * MIN, "https://x/c", "view")));
    assert_eq!(s1.session_id, "S");
    assert_eq!(
        (s3.session_id.as_str(), s3.version, s3.events, s3.pageviews),
        ("S", 3, 3, 2)
    );
    assert_eq!(e2.seq, 2);
    assert_eq!(s3.duration_sec, 58 * 60);
    assert_eq!(s3.entry_url, "https://x/a?utm_source=g");
    assert_eq!(s3.exit_url, "https://x/c");
    assert_eq!(s3.utm_source.as_deref(), Some("g"));
    assert_eq!(s2.version, 2);
}

#[test]
fn a_31_minute_gap_splits_with_a_derived_id() {
    let mut op = Sessionizer::new();
    placed(op.on_hit(&hit("v", "S", 1, 0, "u", "view")));
    let (e, s) = placed(op.on_hit(&hit("v", "S", 2, 31 * MIN, "u", "view")));
    assert_ne!(s.session_id, "S");
    assert_eq!(s.client_session_id, "S");
    assert_eq!((s.version, s.events), (1, 1));
    assert_eq!(e.session_id, s.session_id);
    // Deterministic: the same input gives the same id.
    let mut again = Sessionizer::new();
    placed(again.on_hit(&hit("v", "S", 1, 0, "u", "view")));
    let (_, s_again) = placed(again.on_hit(&hit("v", "S", 2, 31 * MIN, "u", "view")));
    assert_eq!(s_again.session_id, s.session_id);
}

#[test]
fn a_new_sid_after_a_gap_is_honoured() {
    let mut op = Sessionizer::new();
    placed(op.on_hit(&hit("v", "S1", 1, 0, "u", "view")));
    let (_, s) = placed(op.on_hit(&hit("v", "S2", 2, 45 * MIN, "u", "view")));
    assert_eq!(s.session_id, "S2");
}

#[test]
fn a_25_hour_visit_is_capped_at_24_hours() {
    let mut op = Sessionizer::new();
    let mut last = None;
    for i in 0..=(25 * 3) {
        // A hit every 20 minutes for 25 hours.
        last =
            Some(placed(op.on_hit(&hit("v", "S", i, i64::from(i) * 20 * MIN, "u", "heartbeat"))).1);
    }
    let last = last.unwrap();
    assert_ne!(
        last.session_id, "S",
        "the visit continued in a second session"
    );
    assert!(last.started_at >= 24 * 60 * MIN - 20 * MIN);
}

#[test]
fn visitors_do_not_mix() {
    let mut op = Sessionizer::new();
    let (_, a) = placed(op.on_hit(&hit("a", "SA", 1, 0, "u", "view")));
    let (_, b) = placed(op.on_hit(&hit("b", "SB", 1, MIN, "u", "view")));
    assert_eq!((a.session_id.as_str(), b.session_id.as_str()), ("SA", "SB"));
    assert_eq!(op.visitors(), 2);
}

#[test]
fn a_late_event_inside_the_window_moves_the_start() {
    let mut op = Sessionizer::new();
    placed(op.on_hit(&hit("v", "S", 1, 60 * MIN, "https://x/second", "view")));
    let (_, s) = placed(op.on_hit(&hit("v", "S", 2, 40 * MIN, "https://x/first", "view")));
    assert_eq!(s.started_at, 40 * MIN);
    assert_eq!(s.entry_url, "https://x/first");
    assert_eq!(s.exit_url, "https://x/second");
    assert_eq!(s.duration_sec, 20 * 60);
}

#[test]
fn an_event_older_than_the_window_is_reported_late() {
    let mut op = Sessionizer::new();
    placed(op.on_hit(&hit("v", "S", 1, 120 * MIN, "u", "view")));
    assert!(matches!(
        op.on_hit(&hit("v", "S", 2, 10 * MIN, "u", "view")),
        Outcome::Late { .. }
    ));
}

#[test]
fn sessions_carry_their_lead_score_and_reasons() {
    let mut op = Sessionizer::new();
    let mut first = hit("v", "S", 1, 0, "https://x/?gclid=G", "view");
    first.gclid = Some("G".into());
    let (_, s1) = placed(op.on_hit(&first));
    assert_eq!(
        (s1.lead_score, s1.lead_reasons.clone()),
        (30, vec!["paid_click:+30".to_string()])
    );
    let mut call = hit("v", "S", 2, 2 * MIN, "https://x/contact", "phone");
    call.category = "conversion".into();
    let (_, s2) = placed(op.on_hit(&call));
    assert_eq!(s2.lead_score, 30 + 8 + 25, "{:?}", s2.lead_reasons);
    // The next visit, after a gap: a returning visitor.
    let (_, s3) = placed(op.on_hit(&hit("v", "S9", 3, 90 * MIN, "https://x/", "view")));
    assert_eq!(s3.lead_reasons, vec!["returning_visitor:+10".to_string()]);
}

#[test]
fn the_first_hit_user_agent_names_device_browser_and_os() {
    let mut op = Sessionizer::new();
    let mut h = hit("v", "S", 1, 0, "https://x/", "view");
    h.user_agent = Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1".into());
    let (_, s) = placed(op.on_hit(&h));
    assert_eq!(s.device.as_deref(), Some("mobile"));
    assert_eq!(s.browser.as_deref(), Some("Safari"));
    assert_eq!(s.os.as_deref(), Some("iPhone"));
}

#[test]
fn heartbeats_and_session_ends_carry_engagement_but_are_not_page_views() {
    let mut op = Sessionizer::new();
    placed(op.on_hit(&hit("v", "S", 1, 0, "u", "view")));
    let mut beat = hit("v", "S", 2, MIN, "u", "heartbeat");
    beat.category = "system".into();
    beat.meta_json = r#"{"active_sec":42,"scroll_pct":55}"#.into();
    let (_, s) = placed(op.on_hit(&beat));
    assert_eq!(
        (s.pageviews, s.active_sec, s.max_scroll_pct),
        (1, Some(42), Some(55))
    );
    let mut end = hit("v", "S", 3, 2 * MIN, "u", "session_end");
    end.category = "system".into();
    end.meta_json = r#"{"active_sec":30,"scroll_pct":100}"#.into();
    let (_, s) = placed(op.on_hit(&end));
    assert_eq!(
        (s.pageviews, s.active_sec, s.max_scroll_pct),
        (1, Some(42), Some(100)),
        "highest seen"
    );
    assert_eq!(s.duration_sec, 120, "they extend the session");
}
