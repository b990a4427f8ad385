//! Conversion clicks tracked through `/api/sync` (`ec = conversion`, `ea = phone | whatsapp | form`) become
//! call intents, like clicks sent to `/api/call-event`: the call-matcher turns them into call records. The
//! intent's id is the hit's event id, so a replayed hit gives the same intent (and the same call).
//! `el` carries the number clicked, when the tracker knows it.

use opsmantik_schemas::{CallIntent, TrackingHit};

/// The actions that are conversion clicks.
pub const CLICK_ACTIONS: [&str; 3] = ["phone", "whatsapp", "form"];

/// The call intent of `hit`, if it is a conversion click.
pub fn intent_of(hit: &TrackingHit) -> Option<CallIntent> {
    if hit.category != "conversion" || !CLICK_ACTIONS.contains(&hit.action.as_str()) {
        return None;
    }
    Some(CallIntent {
        event_id: hit.event_id.clone(),
        site: hit.site.clone(),
        visitor: hit.visitor.clone(),
        fingerprint: hit.fingerprint.clone(),
        phone_number: hit.label.clone().unwrap_or_default(),
        action: hit.action.clone(),
        url: hit.url.clone(),
        signed: false,
        received_at: hit.received_at,
        event_time: hit.event_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmantik_schemas::samples;

    #[test]
    fn only_conversion_clicks_become_intents() {
        let mut hit = samples::tracking_hit();
        assert!(intent_of(&hit).is_none(), "a page view");
        hit.category = "conversion".into();
        hit.action = "whatsapp".into();
        hit.label = Some("+905550000000".into());
        let intent = intent_of(&hit).unwrap();
        assert_eq!(
            (intent.event_id.as_str(), intent.action.as_str()),
            (hit.event_id.as_str(), "whatsapp")
        );
        assert_eq!(intent.phone_number, "+905550000000");
        hit.action = "scroll".into();
        assert!(intent_of(&hit).is_none());
    }
}
