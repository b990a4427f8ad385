//! The fixed set of dead-letter reason codes (DESIGN.md §4). Metrics label by these, so the set is bounded.

/// Why a record went to `opsmantik.dlq.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The value is not a single-object Avro record of any known schema.
    Undecodable,
    /// The value decoded but is of a different record type than the topic carries.
    WrongRecord,
    /// The record decoded but breaks a rule of the stage (e.g. an empty site).
    Invalid,
    /// The event is older than the window that can still update its session.
    LateEvent,
    /// The analytics store refused the row as bad data (not a transport failure).
    StoreRejected,
    /// A webhook delivery given up: attempts or age exhausted, refused by the receiver, or its webhook gone.
    WebhookGaveUp,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Undecodable,
        Reason::WrongRecord,
        Reason::Invalid,
        Reason::LateEvent,
        Reason::StoreRejected,
        Reason::WebhookGaveUp,
    ];

    /// The stable code written into `DeadLetter.reason` and used as metric label.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::Undecodable => "undecodable",
            Reason::WrongRecord => "wrong_record",
            Reason::Invalid => "invalid",
            Reason::LateEvent => "late_event",
            Reason::StoreRejected => "store_rejected",
            Reason::WebhookGaveUp => "webhook_gave_up",
        }
    }

    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl From<&crate::codec::CodecError> for Reason {
    fn from(e: &crate::codec::CodecError) -> Self {
        match e {
            crate::codec::CodecError::WrongRecord { .. } => Reason::WrongRecord,
            _ => Reason::Undecodable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(r));
        }
        assert_eq!(Reason::from_code("nope"), None);
    }
}
