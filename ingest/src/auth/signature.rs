//! Call-event signatures (`POST /api/call-event/v2`): `X-Ops-Signature` is the hex HMAC-SHA256 (any case,
//! `sha256=` prefix allowed), keyed with the site's secret, of `<timestamp>.<raw body>`; the timestamp (Unix
//! seconds) comes in `X-Ops-Ts` (the OpsMantik tracker) or `X-Ops-Timestamp`, and may be up to 5 minutes old
//! and 1 minute ahead of the edge's clock. Signing the timestamp with the body means a captured request cannot
//! be re-sent with a fresh timestamp; the handler recognises a re-sent signature by its decoded bytes, so every
//! spelling of one signature is one request.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old the timestamp may be.
pub const WINDOW_SECS: i64 = 300;
/// How far ahead of the edge's clock the timestamp may be.
pub const AHEAD_SECS: i64 = 60;

/// The request's timestamp header: `X-Ops-Ts`, else `X-Ops-Timestamp`.
pub fn timestamp(headers: &axum::http::HeaderMap) -> Option<&str> {
    ["x-ops-ts", "x-ops-timestamp"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Stale,
    Mismatch,
}

impl SignatureError {
    pub const fn code(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing_signature",
            SignatureError::Stale => "stale_signature",
            SignatureError::Mismatch => "bad_signature",
        }
    }
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    #[allow(clippy::expect_used)]
    let mut m =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The signature a client computes (for tests and SDKs).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Checks a request's signature headers against `secret`, in constant time. Returns the signature's bytes
/// as lower-case hex: one spelling for every way of writing it (for replay detection).
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<String, SignatureError> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let t: i64 = ts.trim().parse().map_err(|_| SignatureError::Stale)?;
    if now_secs - t > WINDOW_SECS || t - now_secs > AHEAD_SECS {
        return Err(SignatureError::Stale);
    }
    let sig = sig.trim();
    let sig = sig
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("sha256="))
        .map_or(sig, |_| &sig[7..]);
    let bytes = hex::decode(sig).map_err(|_| SignatureError::Mismatch)?;
    mac(secret, ts.trim(), body)
        .verify_slice(&bytes)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_signature_verifies_and_anything_else_does_not() {
        let body = br#"{"event_id":"e1"}"#;
        let now = 1_767_225_600;
        let ts = now.to_string();
        let sig = sign("secret", &ts, body);
        assert_eq!(
            verify("secret", Some(&ts), Some(&sig), body, now),
            Ok(sig.clone())
        );
        for spelling in [
            format!("sha256={sig}"),
            sig.to_uppercase(),
            format!("SHA256={}", sig.to_uppercase()),
        ] {
            assert_eq!(
                verify("secret", Some(&ts), Some(&spelling), body, now + 299),
                Ok(sig.clone()),
                "every spelling is the same signature"
            );
        }
        assert_eq!(
            verify("secret", Some(&ts), Some(&sig), body, now - 60),
            Ok(sig.clone()),
            "up to a minute ahead"
        );
        assert_eq!(
            verify("secret", Some(&ts), Some(&sig), body, now - 61),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("other", Some(&ts), Some(&sig), body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("secret", Some(&ts), Some(&sig), b"{}", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("secret", Some(&ts), Some(&sig), body, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("secret", Some(&ts), None, body, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify("secret", None, Some(&sig), body, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify("secret", Some(&ts), Some("zz"), body, now),
            Err(SignatureError::Mismatch)
        );
        let other_ts = (now + 1).to_string();
        assert_eq!(
            verify("secret", Some(&other_ts), Some(&sig), body, now),
            Err(SignatureError::Mismatch),
            "the timestamp is signed"
        );
    }
}
