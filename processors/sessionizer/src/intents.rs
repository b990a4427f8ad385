//! Conversion clicks tracked through `/api/sync` (`ec = conversion`) become call intents, like clicks sent to
//! `/api/call-event`: the call-matcher turns them into call records. Actions, in the OpsMantik tracker's
//! words and ours: `phone_call`/`phone`, `whatsapp`/`whatsapp_click`, `form_submit_success`/`form` — stored as
//! `phone`, `whatsapp`, `form`. The intent's id is `ids::click_id(site, meta.intent_stamp)` when the tracker
//! stamped the click (its call event carries the same stamp: one click, one call), else the hit's event id;
//! either way a replayed hit gives the same intent (and the same call). The number is `meta.intent_target` (the tracker normalises it: `+905…`,
//! `whatsapp:+90…`, `whatsapp:joinchat/<code>`), else `el`.

use opsmantik_schemas::{CallIntent, ClickContext, TrackingHit};

/// The click action a conversion hit's `ea` stands for.
fn click_action(ea: &str) -> Option<&'static str> {
    match ea {
        "phone" | "phone_call" => Some("phone"),
        "whatsapp" | "whatsapp_click" => Some("whatsapp"),
        "form" | "form_submit_success" => Some("form"),
        _ => None,
    }
}

/// The call intent of `hit`, if it is a conversion click.
pub fn intent_of(hit: &TrackingHit) -> Option<CallIntent> {
    if hit.category != "conversion" {
        return None;
    }
    let action = click_action(&hit.action)?;
    let meta: serde_json::Value = serde_json::from_str(&hit.meta_json).unwrap_or_default();
    let text = |field: &str| {
        meta.get(field)
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let stamp = text("intent_stamp");
    let target = text("intent_target").map(|t| opsmantik_schemas::ids::click_target(&t));
    // A stamped click is one call, however many ways the tracker reported it.
    let event_id = stamp.as_ref().map_or_else(
        || hit.event_id.clone(),
        |s| opsmantik_schemas::ids::click_id(&hit.site, s),
    );
    Some(CallIntent {
        event_id,
        site: hit.site.clone(),
        visitor: hit.visitor.clone(),
        fingerprint: hit.fingerprint.clone(),
        phone_number: target
            .clone()
            .or_else(|| {
                hit.label
                    .as_deref()
                    .map(opsmantik_schemas::ids::click_target)
            })
            .unwrap_or_default(),
        action: action.to_string(),
        url: hit.url.clone(),
        signed: false,
        received_at: hit.received_at,
        event_time: hit.event_time,
        context: Some(ClickContext {
            intent_action: text("intent_action"),
            intent_target: target,
            intent_stamp: stamp,
            page_url: text("intent_page_url").or_else(|| Some(hit.url.clone())),
            user_agent: hit.user_agent.clone(),
            gclid: hit.gclid.clone(),
            wbraid: hit.wbraid.clone(),
            gbraid: hit.gbraid.clone(),
            ads_context_json: None,
        }),
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
        // The OpsMantik tracker's words, and its normalised target.
        hit.action = "phone_call".into();
        hit.meta_json = r#"{"intent_target":"+905551112233","intent_stamp":"s1"}"#.into();
        let intent = intent_of(&hit).unwrap();
        assert_eq!(
            (intent.action.as_str(), intent.phone_number.as_str()),
            ("phone", "+905551112233")
        );
        assert_eq!(
            intent.event_id,
            opsmantik_schemas::ids::click_id(&hit.site, "s1")
        );
        hit.action = "whatsapp_click".into();
        assert_eq!(intent_of(&hit).unwrap().action, "whatsapp");
        hit.action = "form_submit_success".into();
        assert_eq!(intent_of(&hit).unwrap().action, "form");
    }
}
