//! Email sign-in codes and users. A code is 6 digits, valid 10 minutes, stored as its SHA-256, good for
//! 5 attempts; requesting codes is limited per email (5 per 10 minutes) and per client IP.

use rand::Rng;
use redis::AsyncCommands;

use crate::auth::sha256_hex;
use opsmantik_runtime::redis::Store;

pub const CODE_TTL_SECS: u64 = 600;
pub const MAX_ATTEMPTS: u64 = 5;
pub const CODES_PER_EMAIL: u64 = 5;

/// Six random digits.
pub fn new_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
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
    if crate::limits::count_in_window(store, &attempts, CODE_TTL_SECS).await? > MAX_ATTEMPTS {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_codes() {
        assert!(crate::http::fields::valid_email("user@example.com"));
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
            assert!(!crate::http::fields::valid_email(bad), "{bad}");
        }
        let c = new_code();
        assert_eq!(c.len(), 6);
        assert!(c.chars().all(|d| d.is_ascii_digit()));
    }
}
