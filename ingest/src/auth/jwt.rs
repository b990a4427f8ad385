//! JWTs (HS256) for signed-in users.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub email: String,
    pub role: String,
    pub iat: u64,
    pub exp: u64,
}

/// Signing and verifying keys.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_seconds: u64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl_seconds", &self.ttl_seconds)
            .finish()
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_seconds: u64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_seconds,
        }
    }

    pub fn issue(
        &self,
        user_id: &str,
        email: &str,
        role: &str,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = opsmantik_runtime::now_secs();
        let claims = Claims {
            sub: user_id.into(),
            email: email.into(),
            role: role.into(),
            iat: now,
            exp: now + self.ttl_seconds,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The claims of a valid, unexpired HS256 token.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        decode::<Claims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_others_do_not() {
        let keys = JwtKeys::new(b"secret", 60);
        let t = keys.issue("u1", "a@b.c", "USER").unwrap();
        assert_eq!(keys.verify(&t).unwrap().sub, "u1");
        assert!(JwtKeys::new(b"other", 60).verify(&t).is_none());
        assert!(keys.verify("not.a.token").is_none());
        let expired = JwtKeys::new(b"secret", 0)
            .issue("u1", "a@b.c", "USER")
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(keys.verify(&expired).is_none());
    }
}
