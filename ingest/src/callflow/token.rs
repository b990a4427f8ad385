//! Page tokens: opaque and tamper-evident. A token is `base64url(cursor) . base64url(HMAC-SHA256(secret,
//! scope | cursor))`, where the cursor is the last returned event's (timestamp, id) and the scope is the
//! site and filters of the query. A token altered, forged, or replayed with other filters or another site's
//! key is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Where the next page starts: after this (timestamp, event id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub timestamp_ms: i64,
    pub event_id: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("nextToken is malformed")]
    Malformed,
    #[error("nextToken was not issued for this query")]
    BadSignature,
}

fn mac(secret: &[u8], scope: &str, payload: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    #[allow(clippy::expect_used)]
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(scope.as_bytes());
    m.update(b"|");
    m.update(payload.as_bytes());
    m
}

/// Issues the token for `cursor` under `scope`.
pub fn issue(secret: &[u8], scope: &str, cursor: &Cursor) -> String {
    let payload = URL_SAFE_NO_PAD.encode(format!("{}:{}", cursor.timestamp_ms, cursor.event_id));
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, scope, &payload).finalize().into_bytes());
    format!("{payload}.{signature}")
}

/// Checks and opens a token under `scope`.
pub fn open(secret: &[u8], scope: &str, token: &str) -> Result<Cursor, TokenError> {
    let (payload, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    mac(secret, scope, payload)
        .verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let raw = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let raw = String::from_utf8(raw).map_err(|_| TokenError::Malformed)?;
    let (ts, id) = raw.split_once(':').ok_or(TokenError::Malformed)?;
    Ok(Cursor {
        timestamp_ms: ts.parse().map_err(|_| TokenError::Malformed)?,
        event_id: id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test secret";

    #[test]
    fn a_token_round_trips_under_its_scope_only() {
        let c = Cursor {
            timestamp_ms: 1_705_314_600_123,
            event_id: "evt-1".into(),
        };
        let t = issue(SECRET, "site|call", &c);
        assert_eq!(open(SECRET, "site|call", &t), Ok(c));
        assert_eq!(
            open(SECRET, "site|other", &t),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            open(b"other secret", "site|call", &t),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampering_is_detected() {
        let t = issue(
            SECRET,
            "s",
            &Cursor {
                timestamp_ms: 5,
                event_id: "evt-1".into(),
            },
        );
        let (payload, sig) = t.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode("0:evt-0");
        assert_eq!(
            open(SECRET, "s", &format!("{forged}.{sig}")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(open(SECRET, "s", payload), Err(TokenError::Malformed));
        assert_eq!(open(SECRET, "s", "!!.??"), Err(TokenError::Malformed));
        assert_eq!(open(SECRET, "s", ""), Err(TokenError::Malformed));
    }
}
