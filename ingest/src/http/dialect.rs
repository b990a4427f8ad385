//! Which of the two event dialects a body speaks.

use serde_json::{Map, Value};

/// The two documents that define `POST /api/v1/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Seed 002: `event_name`, `user_id`, `timestamp`, `metadata`, `idempotency_key`.
    EventApi,
    /// Seed 003: `eventType`, `userId`, `sessionId`, `timestamp`, `metadata`, `payload`, `priority`, `eventId`.
    EventProcessor,
}

impl Dialect {
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::EventApi => "event_api",
            Dialect::EventProcessor => "event_processor",
        }
    }
}

const PROCESSOR_FIELDS: [&str; 6] = [
    "eventType",
    "userId",
    "sessionId",
    "eventId",
    "payload",
    "priority",
];

/// The dialect of one event object: seed 003 when it uses any of its camelCase fields, else seed 002.
pub fn of_event(event: &Map<String, Value>) -> Dialect {
    if PROCESSOR_FIELDS.iter().any(|f| event.contains_key(*f)) {
        Dialect::EventProcessor
    } else {
        Dialect::EventApi
    }
}

/// A batch body: a JSON array is seed 002; an object with `events` is seed 003.
pub fn of_batch(body: &Value) -> Dialect {
    match body {
        Value::Object(o) if o.contains_key("events") => Dialect::EventProcessor,
        Value::Object(o) => of_event(o),
        _ => Dialect::EventApi,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_names_pick_the_dialect() {
        let o = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            of_event(&o(json!({"event_name": "a", "user_id": "u"}))),
            Dialect::EventApi
        );
        assert_eq!(
            of_event(&o(json!({"eventType": "a", "userId": "u"}))),
            Dialect::EventProcessor
        );
        assert_eq!(of_event(&o(json!({}))), Dialect::EventApi);
        assert_eq!(of_batch(&json!([{"event_name": "a"}])), Dialect::EventApi);
        assert_eq!(of_batch(&json!({"events": []})), Dialect::EventProcessor);
    }
}
