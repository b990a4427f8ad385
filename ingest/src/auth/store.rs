//! What the access layer reads and writes, as a seam: API key records, dashboard sessions, users, sites and
//! memberships. [`RedisAuth`] is the real one (the account store every edge shares); [`MemoryAuth`] keeps
//! the same things in memory, so handlers can be tested in process with the real access rules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use opsmantik_runtime::accounts::{self, Role, User};
use opsmantik_runtime::redis::Store;
use opsmantik_runtime::sites::{self, Site};
use redis::RedisResult;

use super::keys::{self, KeyRecord, Scope};
use super::{sessions, sha256_hex};

/// The access layer's storage.
pub trait AuthStore: Send + Sync + 'static {
    /// The live key whose id (the SHA-256 of the key) is `id`; stamps its last use.
    fn key_record<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<Option<KeyRecord>>>;
    /// Starts a dashboard session of `email` for `ttl_secs`; returns the cookie value.
    fn start_session<'a>(
        &'a self,
        email: &'a str,
        ttl_secs: u64,
    ) -> BoxFuture<'a, RedisResult<String>>;
    /// The e-mail of a live session.
    fn session_email<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<Option<String>>>;
    fn end_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<()>>;
    /// The user of `email`, created on first use.
    fn user_for<'a>(&'a self, email: &'a str) -> BoxFuture<'a, RedisResult<User>>;
    /// The user of `email`, if there is one.
    fn user_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, RedisResult<Option<User>>>;
    /// A site by public id or id.
    fn site<'a>(&'a self, key: &'a str) -> BoxFuture<'a, RedisResult<Option<Site>>>;
    /// The role of `user_id` on `site_id`, if a member.
    fn role_of<'a>(
        &'a self,
        site_id: &'a str,
        user_id: &'a str,
    ) -> BoxFuture<'a, RedisResult<Option<Role>>>;
}

/// The account store in Redis.
#[derive(Debug, Clone)]
pub struct RedisAuth(pub Store);

impl AuthStore for RedisAuth {
    fn key_record<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<Option<KeyRecord>>> {
        Box::pin(keys::read_record(&self.0, id))
    }
    fn start_session<'a>(
        &'a self,
        email: &'a str,
        ttl_secs: u64,
    ) -> BoxFuture<'a, RedisResult<String>> {
        Box::pin(sessions::start(&self.0, email, ttl_secs))
    }
    fn session_email<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<Option<String>>> {
        Box::pin(sessions::email_of(&self.0, id))
    }
    fn end_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<()>> {
        Box::pin(sessions::end(&self.0, id))
    }
    fn user_for<'a>(&'a self, email: &'a str) -> BoxFuture<'a, RedisResult<User>> {
        Box::pin(accounts::user_for(&self.0, email))
    }
    fn user_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, RedisResult<Option<User>>> {
        Box::pin(accounts::user_by_email(&self.0, email))
    }
    fn site<'a>(&'a self, key: &'a str) -> BoxFuture<'a, RedisResult<Option<Site>>> {
        Box::pin(sites::find(&self.0, key))
    }
    fn role_of<'a>(
        &'a self,
        site_id: &'a str,
        user_id: &'a str,
    ) -> BoxFuture<'a, RedisResult<Option<Role>>> {
        Box::pin(accounts::role_of(&self.0, site_id, user_id))
    }
}

/// Everything [`AuthStore`] keeps, in memory.
#[derive(Debug, Default)]
struct Tables {
    keys: HashMap<String, KeyRecord>,
    sessions: HashMap<String, String>,
    users: HashMap<String, User>,
    sites: Vec<Site>,
    roles: HashMap<(String, String), Role>,
}

/// The account store in memory (tests), with helpers to set it up.
#[derive(Debug, Default, Clone)]
pub struct MemoryAuth(Arc<Mutex<Tables>>);

impl MemoryAuth {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a site.
    pub fn add_site(&self, site: Site) {
        self.tables().sites.push(site);
    }

    /// Adds a key of `site` with `scopes`; returns the key.
    pub fn add_key(&self, site: &Site, scopes: &[Scope]) -> String {
        let (key, record) = keys::mint(keys::NewKey {
            site_public_id: &site.public_id,
            site_id: &site.id,
            user_id: "owner",
            name: "test",
            rate_per_minute: 0,
            scopes,
        });
        self.tables().keys.insert(record.id.clone(), record);
        key
    }

    /// Makes `email` a member of `site` with `role`, signed in; returns the `Cookie` header value.
    pub fn add_member(&self, site: &Site, email: &str, role: Role) -> String {
        let user = self.user(email);
        let session = sha256_hex(&uuid::Uuid::new_v4().to_string());
        let mut t = self.tables();
        t.roles.insert((site.id.clone(), user.id), role);
        t.sessions.insert(sha256_hex(&session), email.to_string());
        format!("{}={session}", sessions::COOKIE)
    }

    fn user(&self, email: &str) -> User {
        self.tables()
            .users
            .entry(email.to_string())
            .or_insert_with(|| User {
                id: uuid::Uuid::new_v4().to_string(),
                email: email.to_string(),
                role: accounts::USER.into(),
                created_at: "2026-01-01T00:00:00Z".into(),
            })
            .clone()
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, RedisResult<T>> {
    Box::pin(std::future::ready(Ok(value)))
}

impl AuthStore for MemoryAuth {
    fn key_record<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<Option<KeyRecord>>> {
        ready(self.tables().keys.get(id).cloned())
    }
    fn start_session<'a>(
        &'a self,
        email: &'a str,
        _ttl: u64,
    ) -> BoxFuture<'a, RedisResult<String>> {
        let id = sessions::new_id();
        self.tables()
            .sessions
            .insert(sha256_hex(&id), email.to_string());
        ready(id)
    }
    fn session_email<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<Option<String>>> {
        ready(self.tables().sessions.get(&sha256_hex(id)).cloned())
    }
    fn end_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, RedisResult<()>> {
        self.tables().sessions.remove(&sha256_hex(id));
        ready(())
    }
    fn user_for<'a>(&'a self, email: &'a str) -> BoxFuture<'a, RedisResult<User>> {
        ready(self.user(email))
    }
    fn user_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, RedisResult<Option<User>>> {
        ready(self.tables().users.get(email).cloned())
    }
    fn site<'a>(&'a self, key: &'a str) -> BoxFuture<'a, RedisResult<Option<Site>>> {
        let t = self.tables();
        ready(
            t.sites
                .iter()
                .find(|s| s.id == key || s.public_id == key)
                .cloned(),
        )
    }
    fn role_of<'a>(
        &'a self,
        site_id: &'a str,
        user_id: &'a str,
    ) -> BoxFuture<'a, RedisResult<Option<Role>>> {
        let role = self
            .tables()
            .roles
            .get(&(site_id.to_string(), user_id.to_string()))
            .copied();
        ready(role)
    }
}
