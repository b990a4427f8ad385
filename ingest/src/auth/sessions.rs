//! Dashboard sessions: an opaque random id in an HttpOnly, SameSite=Lax cookie; Redis keeps only the id's
//! SHA-256 with the user's e-mail, for the session's lifetime. `POST /api/auth/logout` deletes it, so a stolen
//! cookie stops working at logout (a JWT, being stateless, lives until it expires).

use axum::http::{HeaderMap, HeaderValue};
use rand::RngCore;
use redis::AsyncCommands;

use super::sha256_hex;
use opsmantik_runtime::redis::Store;

/// The cookie's name.
pub const COOKIE: &str = "opsmantik_session";

fn record_key(store: &Store, id: &str) -> String {
    store.key(&["auth", "session", &sha256_hex(id)])
}

/// A new session id: 32 random bytes, hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Starts a session of the user with `email` for `ttl_secs`; returns the cookie value.
pub async fn start(store: &Store, email: &str, ttl_secs: u64) -> redis::RedisResult<String> {
    let id = new_id();
    let mut c = store.conn().await?;
    let _: () = c.set_ex(record_key(store, &id), email, ttl_secs).await?;
    Ok(id)
}

/// The e-mail of a live session's user.
pub async fn email_of(store: &Store, id: &str) -> redis::RedisResult<Option<String>> {
    let mut c = store.conn().await?;
    c.get(record_key(store, id)).await
}

/// Ends a session (no-op when it is already gone).
pub async fn end(store: &Store, id: &str) -> redis::RedisResult<()> {
    let mut c = store.conn().await?;
    c.del(record_key(store, id)).await
}

/// The session id in the request's `Cookie` headers.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value that stores `id` (or, with `None`, removes the cookie).
pub fn set_cookie(id: Option<&str>, ttl_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = match id {
        Some(id) => {
            format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={ttl_secs}{secure}")
        }
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    // Built from hex digits, digits and fixed ASCII only, so it is always a valid header value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_must_look_like_an_id() {
        let id = "ab".repeat(32);
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_str(&format!("theme=dark; {COOKIE}={id}; x=1")).unwrap(),
        );
        assert_eq!(presented(&h), Some(id.as_str()));
        h.insert(
            "cookie",
            HeaderValue::from_str(&format!("{COOKIE}=../../etc")).unwrap(),
        );
        assert_eq!(presented(&h), None);
        let set = set_cookie(Some(&id), 60, true);
        let set = set.to_str().unwrap();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.ends_with("Secure")
        );
        assert!(set_cookie(None, 60, false)
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
    }
}
