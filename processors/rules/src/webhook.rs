//! What a webhook receives, and how it is signed (docs/webhooks.md has the verification snippet).
//!
//! The body is seed 002's payload, its members always in this order, `signature` last:
//! `{"event_id","event_name","user_id","timestamp","metadata","signature":"sha256=<hex>"}`, where the hex is the
//! HMAC-SHA256, keyed with the webhook's secret, of the body without its last member — the exact bytes before
//! `,"signature"` followed by `}`. Every request also carries `X-OpsMantik-Timestamp` (Unix seconds) and
//! `X-OpsMantik-Signature: sha256=<hex HMAC of "<timestamp>.<raw body>">`, which covers the exact bytes
//! received and lets a receiver refuse old replays; and `X-OpsMantik-Delivery-Id`, the same on every attempt of
//! one delivery (receivers dedupe on it).

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

/// The marker before the body's signature member.
const SIGNATURE_MEMBER: &str = ",\"signature\":\"";

fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The unsigned payload, members in their fixed order.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    pub event_id: &'a str,
    pub event_name: &'a str,
    pub user_id: &'a str,
    /// RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    pub metadata: &'a Value,
}

/// The signed body of `payload` for `secret`, and its signature (`sha256=<hex>`).
pub fn signed_body(
    payload: &Payload<'_>,
    secret: &str,
) -> Result<(String, String), serde_json::Error> {
    let unsigned = serde_json::to_string(payload)?;
    let signature = format!("sha256={}", hmac_hex(secret, &[unsigned.as_bytes()]));
    let open = unsigned.strip_suffix('}').unwrap_or(&unsigned);
    Ok((
        format!("{open}{SIGNATURE_MEMBER}{signature}\"}}"),
        signature,
    ))
}

/// Whether `body`'s own `signature` member is right for `secret` (what a receiver does).
pub fn body_signature_ok(body: &str, secret: &str) -> bool {
    let Some(at) = body.rfind(SIGNATURE_MEMBER) else {
        return false;
    };
    let (unsigned_open, rest) = body.split_at(at);
    let given = rest[SIGNATURE_MEMBER.len()..].trim_end_matches("\"}");
    let expected = format!(
        "sha256={}",
        hmac_hex(secret, &[unsigned_open.as_bytes(), b"}"])
    );
    constant_time_eq(given.as_bytes(), expected.as_bytes())
}

/// The `X-OpsMantik-Signature` value of `body` sent at `timestamp` (Unix seconds).
pub fn header_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    format!("sha256={}", hmac_hex(secret, &[ts.as_bytes(), b".", body]))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_carries_a_signature_a_receiver_can_check() {
        let metadata = json!({ "amount": 750, "note": "a \"quoted\" } brace" });
        let p = Payload {
            event_id: "e1",
            event_name: "purchase_completed",
            user_id: "u1",
            timestamp: "2026-01-30T10:00:00.000Z".into(),
            metadata: &metadata,
        };
        let (body, sig) = signed_body(&p, "s3cret").unwrap();
        assert!(body.starts_with("{\"event_id\":\"e1\",\"event_name\":\"purchase_completed\""));
        assert!(body.ends_with(&format!(",\"signature\":\"{sig}\"}}")));
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["metadata"]["amount"], 750);
        assert!(body_signature_ok(&body, "s3cret"));
        assert!(!body_signature_ok(&body, "other"));
        assert!(
            !body_signature_ok(&body.replace("750", "751"), "s3cret"),
            "tampered"
        );
        let h = header_signature("s3cret", 1_700_000_000, body.as_bytes());
        assert_eq!(
            h,
            header_signature("s3cret", 1_700_000_000, body.as_bytes())
        );
        assert_ne!(
            h,
            header_signature("s3cret", 1_700_000_001, body.as_bytes())
        );
    }
}
