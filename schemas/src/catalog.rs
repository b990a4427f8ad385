//! The topic catalog: every Kafka topic's name, key, value record and partition count (DESIGN.md §3).
//!
//! No other crate writes a topic name as a string literal; they ask a [`Topics`] for it. A `Topics` can carry a
//! namespace prefix so end-to-end tests (and side-by-side environments) get their own topics on one broker.

/// One topic of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Tracking,
    CallIntents,
    ProductEvents,
    Callflow,
    Sessions,
    Events,
    Calls,
    WebhookDeliveries,
    Dlq,
    Audit,
}

impl Topic {
    /// Every topic, in catalog order.
    pub const ALL: [Topic; 10] = [
        Topic::Tracking,
        Topic::CallIntents,
        Topic::ProductEvents,
        Topic::Callflow,
        Topic::Sessions,
        Topic::Events,
        Topic::Calls,
        Topic::WebhookDeliveries,
        Topic::Dlq,
        Topic::Audit,
    ];

    /// The production name, without namespace.
    pub const fn base_name(self) -> &'static str {
        match self {
            Topic::Tracking => "opsmantik.tracking.v1",
            Topic::CallIntents => "opsmantik.call-intents.v1",
            Topic::ProductEvents => "opsmantik.product-events.v1",
            Topic::Callflow => "opsmantik.callflow.v1",
            Topic::Sessions => "opsmantik.sessions.v1",
            Topic::Events => "opsmantik.events.v1",
            Topic::Calls => "opsmantik.calls.v1",
            Topic::WebhookDeliveries => "opsmantik.webhook-deliveries.v1",
            Topic::Dlq => "opsmantik.dlq.v1",
            Topic::Audit => "opsmantik.audit.v1",
        }
    }

    /// What the record key is.
    pub const fn key(self) -> &'static str {
        match self {
            Topic::Tracking | Topic::CallIntents => "site:visitor",
            Topic::ProductEvents => "project:user",
            Topic::Callflow => "callId",
            Topic::Sessions | Topic::Events => "session_id",
            Topic::Calls => "call_id",
            Topic::WebhookDeliveries => "webhook_id",
            Topic::Dlq => "source key",
            Topic::Audit => "subject id",
        }
    }

    /// The Avro record carried as value (full name).
    pub const fn value_record(self) -> &'static str {
        match self {
            Topic::Tracking => "opsmantik.TrackingHit",
            Topic::CallIntents => "opsmantik.CallIntent",
            Topic::ProductEvents => "opsmantik.ProductEvent",
            Topic::Callflow => "opsmantik.CallFlowEvent",
            Topic::Sessions => "opsmantik.SessionState",
            Topic::Events => "opsmantik.SessionEvent",
            Topic::Calls => "opsmantik.CallRecord",
            Topic::WebhookDeliveries => "opsmantik.WebhookDelivery",
            Topic::Dlq => "opsmantik.DeadLetter",
            Topic::Audit => "opsmantik.AuditRecord",
        }
    }

    /// Partition count. Tracking and call intents must stay equal: they are co-partitioned by `site:visitor`
    /// so the call-matcher joins a visitor's calls with its sessions from partition-local state.
    pub const fn partitions(self) -> i32 {
        match self {
            Topic::Tracking | Topic::CallIntents => 6,
            Topic::Sessions | Topic::Events | Topic::ProductEvents => 6,
            Topic::Callflow | Topic::Calls | Topic::WebhookDeliveries | Topic::Dlq => 3,
            Topic::Audit => 1,
        }
    }
}

/// Resolves catalog topics to concrete names, optionally under a namespace prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topics {
    namespace: String,
}

impl Topics {
    /// `namespace` empty = production names; otherwise every name becomes `<namespace>.<name>`.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The concrete topic name.
    pub fn name(&self, topic: Topic) -> String {
        if self.namespace.is_empty() {
            topic.base_name().to_string()
        } else {
            format!("{}.{}", self.namespace, topic.base_name())
        }
    }

    /// The catalog topic a concrete name belongs to, if any.
    pub fn topic_of(&self, name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| self.name(*t) == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_follow_the_design() {
        let mut names: Vec<_> = Topic::ALL.iter().map(|t| t.base_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Topic::ALL.len());
        assert!(names
            .iter()
            .all(|n| n.starts_with("opsmantik.") && n.ends_with(".v1")));
    }

    #[test]
    fn co_partitioned_topics_have_equal_partition_counts() {
        assert_eq!(
            Topic::Tracking.partitions(),
            Topic::CallIntents.partitions()
        );
        assert_eq!(Topic::Tracking.key(), Topic::CallIntents.key());
    }

    #[test]
    fn namespace_prefixes_and_resolves_back() {
        let t = Topics::new("e2e-7");
        assert_eq!(t.name(Topic::Dlq), "e2e-7.opsmantik.dlq.v1");
        assert_eq!(t.topic_of("e2e-7.opsmantik.dlq.v1"), Some(Topic::Dlq));
        assert_eq!(t.topic_of("opsmantik.dlq.v1"), None);
        assert_eq!(
            Topics::default().name(Topic::Tracking),
            "opsmantik.tracking.v1"
        );
    }

    #[test]
    fn every_value_record_has_a_schema() {
        let names: Vec<_> = crate::codec_schema_names();
        for t in Topic::ALL {
            assert!(names.contains(&t.value_record()), "{t:?}");
        }
    }
}
