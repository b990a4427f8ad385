//! Sample records with every optional field set (`x()`) and with every optional field empty
//! (`x_sparse()`), for contract tests here and for tests in other crates.

use crate::records::*;

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

pub fn tracking_hit() -> TrackingHit {
    TrackingHit {
        event_id: "0190a0b0-0000-7000-8000-000000000001".into(),
        site: "site_pub_1".into(),
        visitor: "fp-abc".into(),
        session_id: "8f9b7c1e-0000-4000-8000-000000000001".into(),
        session_month: Some("2026-01-01".into()),
        url: "https://example.com/?utm_source=google&gclid=G1".into(),
        referrer: Some("https://google.com/".into()),
        category: "interaction".into(),
        action: "view".into(),
        label: Some("hero".into()),
        value: Some(12.5),
        fingerprint: Some("fp-abc".into()),
        gclid: Some("G1".into()),
        gbraid: Some("GB1".into()),
        wbraid: Some("WB1".into()),
        duration_sec: Some(120),
        meta_json: r#"{"fp":"fp-abc","custom":{"a":[1,2]}}"#.into(),
        received_at: T0 + 5,
        event_time: T0,
        user_agent: Some("Mozilla/5.0".into()),
        geo_country: Some("TR".into()),
    }
}

pub fn tracking_hit_sparse() -> TrackingHit {
    TrackingHit {
        session_month: None,
        referrer: None,
        label: None,
        value: None,
        fingerprint: None,
        gclid: None,
        gbraid: None,
        wbraid: None,
        duration_sec: None,
        user_agent: None,
        geo_country: None,
        ..tracking_hit()
    }
}

pub fn session_event() -> SessionEvent {
    SessionEvent {
        event_id: "e1".into(),
        session_id: "s1".into(),
        site: "site_pub_1".into(),
        visitor: "fp-abc".into(),
        seq: 1,
        event_time: T0,
        received_at: T0 + 5,
        url: "https://example.com/".into(),
        referrer: Some("https://google.com/".into()),
        category: "interaction".into(),
        action: "view".into(),
        label: Some("l".into()),
        value: Some(1.0),
        meta_json: "{}".into(),
    }
}

pub fn session_event_sparse() -> SessionEvent {
    SessionEvent {
        referrer: None,
        label: None,
        value: None,
        ..session_event()
    }
}

pub fn session_state() -> SessionState {
    SessionState {
        session_id: "s1".into(),
        version: 3,
        site: "site_pub_1".into(),
        visitor: "fp-abc".into(),
        client_session_id: "s1".into(),
        started_at: T0,
        last_seen_at: T0 + 60_000,
        duration_sec: 60,
        pageviews: 2,
        events: 3,
        entry_url: "https://example.com/".into(),
        exit_url: "https://example.com/contact".into(),
        referrer: Some("https://google.com/".into()),
        utm_source: Some("google".into()),
        utm_medium: Some("cpc".into()),
        utm_campaign: Some("spring".into()),
        utm_term: Some("shoes".into()),
        utm_content: Some("ad1".into()),
        gclid: Some("G1".into()),
        gbraid: Some("GB1".into()),
        wbraid: Some("WB1".into()),
        device: Some("mobile".into()),
        browser: Some("Chrome".into()),
        os: Some("Android".into()),
        geo_country: Some("TR".into()),
        lead_score: 40,
        lead_reasons: vec!["paid_click".into(), "pageviews".into()],
        active_sec: Some(45),
        max_scroll_pct: Some(90),
    }
}

pub fn session_state_sparse() -> SessionState {
    SessionState {
        referrer: None,
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        utm_term: None,
        utm_content: None,
        gclid: None,
        gbraid: None,
        wbraid: None,
        device: None,
        browser: None,
        os: None,
        geo_country: None,
        lead_reasons: vec![],
        ..session_state()
    }
}

pub fn call_intent() -> CallIntent {
    CallIntent {
        event_id: "c1".into(),
        site: "site_pub_1".into(),
        visitor: "fp-abc".into(),
        fingerprint: Some("fp-abc".into()),
        phone_number: "+905550000000".into(),
        action: "whatsapp".into(),
        url: "https://example.com/contact".into(),
        signed: true,
        received_at: T0 + 5,
        event_time: T0,
        context: Some(click_context()),
    }
}

pub fn click_context() -> ClickContext {
    ClickContext {
        intent_action: Some("whatsapp".into()),
        intent_target: Some("whatsapp:+905550000000".into()),
        intent_stamp: Some("1795432359148-924q-wa".into()),
        page_url: Some("https://example.com/contact?gclid=G1".into()),
        user_agent: Some("Mozilla/5.0".into()),
        gclid: Some("G1".into()),
        wbraid: None,
        gbraid: None,
        ads_context_json: Some(r#"{"keyword":"plumber","network":"search"}"#.into()),
    }
}

pub fn call_intent_sparse() -> CallIntent {
    CallIntent {
        fingerprint: None,
        signed: false,
        context: None,
        ..call_intent()
    }
}

pub fn call_record() -> CallRecord {
    CallRecord {
        call_id: "c1".into(),
        version: 1,
        site: "site_pub_1".into(),
        visitor: "fp-abc".into(),
        status: "intent".into(),
        session_id: Some("s1".into()),
        phone_number: "+905550000000".into(),
        action: "phone".into(),
        gclid: Some("G1".into()),
        gbraid: Some("GB1".into()),
        wbraid: Some("WB1".into()),
        lead_score: 85,
        lead_reasons: vec!["paid_click".into()],
        sale_amount: Some(1500.0),
        currency: Some("TRY".into()),
        created_at: T0,
        updated_at: T0 + 1,
        context: Some(click_context()),
        confirmed_at: Some(T0 + 1),
        cancelled_at: None,
        confirmed_by: Some("user:u1".into()),
        oci_status: Some("sealed".into()),
        oci_batch_id: None,
    }
}

pub fn call_record_sparse() -> CallRecord {
    CallRecord {
        session_id: None,
        gclid: None,
        gbraid: None,
        wbraid: None,
        lead_reasons: vec![],
        sale_amount: None,
        currency: None,
        context: None,
        confirmed_at: None,
        confirmed_by: None,
        oci_status: None,
        ..call_record()
    }
}

pub fn product_event() -> ProductEvent {
    ProductEvent {
        event_id: "p1".into(),
        site: "site_pub_1".into(),
        user_id: "u1".into(),
        session_id: Some("s1".into()),
        event_name: "signup".into(),
        timestamp: T0,
        received_at: T0 + 1,
        metadata_json: r#"{"plan":"pro"}"#.into(),
        payload_json: Some("{}".into()),
        priority: Some(5),
        idempotency_key: Some("k1".into()),
        dialect: "event_api".into(),
    }
}

pub fn product_event_sparse() -> ProductEvent {
    ProductEvent {
        session_id: None,
        payload_json: None,
        priority: None,
        idempotency_key: None,
        ..product_event()
    }
}

pub fn call_flow_event() -> CallFlowEvent {
    CallFlowEvent {
        event_id: "f1".into(),
        call_id: "call-1".into(),
        site: "site_pub_1".into(),
        event_type: "ringing".into(),
        timestamp: T0,
        created_at: T0 + 1,
        metadata_json: "{}".into(),
    }
}

pub fn webhook_delivery() -> WebhookDelivery {
    WebhookDelivery {
        delivery_id: "d1".into(),
        webhook_id: "w1".into(),
        rule_id: "r1".into(),
        site: "site_pub_1".into(),
        url: "http://127.0.0.1:9/hook".into(),
        event_id: "p1".into(),
        body: "{}".into(),
        signature: "sha256=00".into(),
        attempt: 1,
        created_at: T0,
    }
}

pub fn dead_letter() -> DeadLetter {
    DeadLetter {
        source_topic: "opsmantik.tracking.v1".into(),
        source_partition: 2,
        source_offset: 42,
        key: Some(b"site:fp".to_vec()),
        payload: vec![0, 1, 2, 0xff],
        reason: "undecodable".into(),
        detail: "bad magic".into(),
        stage: "sessionizer".into(),
        failed_at: T0,
        replay_count: 0,
    }
}

pub fn dead_letter_sparse() -> DeadLetter {
    DeadLetter {
        key: None,
        payload: vec![],
        ..dead_letter()
    }
}

pub fn audit_record() -> AuditRecord {
    AuditRecord {
        audit_id: "a1".into(),
        subject_id: "dlq-1".into(),
        actor: "admin".into(),
        action: "dlq.replay".into(),
        detail_json: "{}".into(),
        at: T0,
    }
}
