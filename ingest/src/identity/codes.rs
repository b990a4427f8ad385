//! Email sign-in codes. A code is 6 digits, valid 10 minutes, stored as its SHA-256, good for 5 attempts;
//! requesting codes is limited per email (5 per 10 minutes) and per client IP. [`CodeStore`] is the seam:
//! [`RedisCodes`] for the edge, [`MemoryCodes`] for in-process tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use rand::Rng;
use redis::AsyncCommands;
use redis::RedisResult;

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
async fn store_code(store: &Store, email: &str, code: &str) -> redis::RedisResult<()> {
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
async fn check_code(store: &Store, email: &str, code: &str) -> redis::RedisResult<Check> {
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

/// Where sign-in codes live.
pub trait CodeStore: Send + Sync + 'static {
    /// Stores a fresh code for `email`, replacing any earlier one and its attempts.
    fn store_code<'a>(&'a self, email: &'a str, code: &'a str) -> BoxFuture<'a, RedisResult<()>>;
    /// Checks `code` for `email`; a valid code is used up; past [`MAX_ATTEMPTS`] the code is void.
    fn check_code<'a>(&'a self, email: &'a str, code: &'a str)
        -> BoxFuture<'a, RedisResult<Check>>;
}

/// Codes in Redis.
#[derive(Debug, Clone)]
pub struct RedisCodes(pub Store);

impl CodeStore for RedisCodes {
    fn store_code<'a>(&'a self, email: &'a str, code: &'a str) -> BoxFuture<'a, RedisResult<()>> {
        Box::pin(store_code(&self.0, email, code))
    }
    fn check_code<'a>(
        &'a self,
        email: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, RedisResult<Check>> {
        Box::pin(check_code(&self.0, email, code))
    }
}

/// Codes in memory: (hash of the code, attempts) per e-mail; no expiry.
#[derive(Debug, Clone, Default)]
pub struct MemoryCodes(Arc<Mutex<HashMap<String, (String, u64)>>>);

impl CodeStore for MemoryCodes {
    fn store_code<'a>(&'a self, email: &'a str, code: &'a str) -> BoxFuture<'a, RedisResult<()>> {
        let mut codes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        codes.insert(email.to_string(), (sha256_hex(code), 0));
        Box::pin(std::future::ready(Ok(())))
    }
    fn check_code<'a>(
        &'a self,
        email: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, RedisResult<Check>> {
        let mut codes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let check = match codes.get_mut(email) {
            Some((hash, attempts)) => {
                *attempts += 1;
                if *attempts <= MAX_ATTEMPTS && *hash == sha256_hex(code) {
                    codes.remove(email);
                    Check::Valid
                } else {
                    Check::Invalid
                }
            }
            None => Check::Invalid,
        };
        Box::pin(std::future::ready(Ok(check)))
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
