//! Email sign-in codes and users. A code is 6 digits, valid 10 minutes, stored as its SHA-256, good for
//! 5 attempts; requesting codes is limited per email (5 per 10 minutes) and per client IP.

use rand::Rng;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use opsmantik_runtime::redis::Store;

pub const CODE_TTL_SECS: u64 = 600;
pub const MAX_ATTEMPTS: u64 = 5;
pub const CODES_PER_EMAIL: u64 = 5;

/// A plausible email address (one `@`, a dotted domain, no spaces, at most 254 bytes).
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Six random digits.
pub fn new_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Counts one event in a fixed window; returns the count so far in this window.
pub async fn count_in_window(
    store: &Store,
    key: &str,
    window_secs: u64,
) -> redis::RedisResult<u64> {
    let mut c = store.conn().await?;
    let (n, _): (u64, bool) = redis::pipe()
        .incr(key, 1)
        .expire(key, window_secs as i64)
        .arg("NX")
        .query_async(&mut c)
        .await?;
    Ok(n)
}

/// Stores a fresh code for `email`, replacing any earlier one and its attempts.
pub async fn store_code(store: &Store, email: &str, code: &str) -> redis::RedisResult<()> {
    let mut c = store.conn().await?;
    let key = store.key(&["auth", "code", email]);
    let attempts = store.key(&["auth", "attempts", email]);
    redis::pipe()
        .set_ex(&key, sha256_hex(code), CODE_TTL_SECS)
        .del(&attempts)
        .query_async::<()>(&mut c)
        .await
}

/// What checking a code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Valid,
    Invalid,
}

/// Checks `code` for `email`; a valid code is used up. Past `MAX_ATTEMPTS` the code is void.
pub async fn check_code(store: &Store, email: &str, code: &str) -> redis::RedisResult<Check> {
    let key = store.key(&["auth", "code", email]);
    let attempts = store.key(&["auth", "attempts", email]);
    if count_in_window(store, &attempts, CODE_TTL_SECS).await? > MAX_ATTEMPTS {
        let mut c = store.conn().await?;
        let _: () = c.del(&key).await?;
        return Ok(Check::Invalid);
    }
    let mut c = store.conn().await?;
    let stored: Option<String> = c.get(&key).await?;
    if stored.as_deref() == Some(sha256_hex(code).as_str()) {
        let _: () = redis::pipe()
            .del(&key)
            .del(&attempts)
            .query_async(&mut c)
            .await?;
        Ok(Check::Valid)
    } else {
        Ok(Check::Invalid)
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
}

/// The user of `email`, created on first sign-in.
pub async fn user_for(store: &Store, email: &str) -> redis::RedisResult<User> {
    let key = store.key(&["auth", "user", email]);
    let mut c = store.conn().await?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let id = uuid::Uuid::new_v4().to_string();
    let (_, _, _, fields): ((), (), (), Vec<Option<String>>) = redis::pipe()
        .hset_nx(&key, "id", &id)
        .hset_nx(&key, "role", "USER")
        .hset_nx(&key, "created_at", &now)
        .cmd("HMGET")
        .arg(&key)
        .arg("id")
        .arg("role")
        .arg("created_at")
        .query_async(&mut c)
        .await?;
    let get = |i: usize| fields.get(i).cloned().flatten().unwrap_or_default();
    Ok(User {
        id: get(0),
        email: email.to_string(),
        role: get(1),
        created_at: get(2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_codes() {
        assert!(valid_email("user@example.com"));
        for bad in [
            "",
            "user",
            "user@",
            "@example.com",
            "a b@example.com",
            "a@b@c.com",
            "a@localhost",
            "a@.com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        let c = new_code();
        assert_eq!(c.len(), 6);
        assert!(c.chars().all(|d| d.is_ascii_digit()));
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
