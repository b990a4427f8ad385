//! Accounts of the control plane: users (signed in by e-mail code), global admins, and site memberships
//! with a role. Stored in Redis (persisted with AOF) next to the sites; the edge reads them on control
//! routes, the admin CLI grants and revokes admins. Nothing here is on the tracking hot path.
//!
//! Layout: `auth:user:<email>` (hash: id, role, created_at), `auth:user_id:<id>` → email,
//! `site:{<site id>}:members` (hash: user id → role), `user_sites:<user id>` (set of site ids).

use std::collections::HashMap;

use ::redis::AsyncCommands;

use crate::redis::Store;

/// A member's role on one site, weakest first (so `>=` compares rights).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Editor,
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }
}

/// The `role` field of a global admin's user record.
pub const ADMIN: &str = "ADMIN";
/// The `role` field of everyone else.
pub const USER: &str = "USER";

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    /// `USER` or `ADMIN`.
    pub role: String,
    pub created_at: String,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == ADMIN
    }
}

fn user_key(store: &Store, email: &str) -> String {
    store.key(&["auth", "user", email])
}

fn members_key(store: &Store, site_id: &str) -> String {
    store.site_key("site", site_id, "members")
}

fn user_sites_key(store: &Store, user_id: &str) -> String {
    store.key(&["user_sites", user_id])
}

/// The user of `email`, created on first use (sign-in or invitation).
pub async fn user_for(store: &Store, email: &str) -> ::redis::RedisResult<User> {
    let key = user_key(store, email);
    let mut c = store.conn().await?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let id = uuid::Uuid::new_v4().to_string();
    let (_, _, _, fields): ((), (), (), Vec<Option<String>>) = ::redis::pipe()
        .hset_nx(&key, "id", &id)
        .hset_nx(&key, "role", USER)
        .hset_nx(&key, "created_at", &now)
        .cmd("HMGET")
        .arg(&key)
        .arg("id")
        .arg("role")
        .arg("created_at")
        .query_async(&mut c)
        .await?;
    let get = |i: usize| fields.get(i).cloned().flatten().unwrap_or_default();
    let user = User {
        id: get(0),
        email: email.to_string(),
        role: get(1),
        created_at: get(2),
    };
    let _: () = c
        .set(store.key(&["auth", "user_id", &user.id]), email)
        .await?;
    Ok(user)
}

/// The user of `email`, if there is one (never creates).
pub async fn user_by_email(store: &Store, email: &str) -> ::redis::RedisResult<Option<User>> {
    let mut c = store.conn().await?;
    let fields: HashMap<String, String> = c.hgetall(user_key(store, email)).await?;
    Ok(fields.get("id").map(|id| User {
        id: id.clone(),
        email: email.to_string(),
        role: fields.get("role").cloned().unwrap_or_else(|| USER.into()),
        created_at: fields.get("created_at").cloned().unwrap_or_default(),
    }))
}

/// The user with id `id`, if there is one.
pub async fn user_by_id(store: &Store, id: &str) -> ::redis::RedisResult<Option<User>> {
    let mut c = store.conn().await?;
    let email: Option<String> = c.get(store.key(&["auth", "user_id", id])).await?;
    let Some(email) = email else { return Ok(None) };
    Ok(user_by_email(store, &email).await?.filter(|u| u.id == id))
}

/// Makes `email` a global admin (`true`) or a plain user again (`false`); creates the user if needed.
pub async fn set_admin(store: &Store, email: &str, admin: bool) -> ::redis::RedisResult<User> {
    let mut user = user_for(store, email).await?;
    user.role = if admin { ADMIN } else { USER }.to_string();
    let mut c = store.conn().await?;
    let _: () = c.hset(user_key(store, email), "role", &user.role).await?;
    Ok(user)
}

/// Gives `user_id` `role` on `site_id` (replacing an earlier role); returns the earlier role.
pub async fn set_member(
    store: &Store,
    site_id: &str,
    user_id: &str,
    role: Role,
) -> ::redis::RedisResult<Option<Role>> {
    let mut c = store.conn().await?;
    let (before, _, _): (Option<String>, (), ()) = ::redis::pipe()
        .hget(members_key(store, site_id), user_id)
        .hset(members_key(store, site_id), user_id, role.as_str())
        .sadd(user_sites_key(store, user_id), site_id)
        .query_async(&mut c)
        .await?;
    Ok(before.as_deref().and_then(Role::parse))
}

/// Removes `user_id` from `site_id`; returns the role it had.
pub async fn remove_member(
    store: &Store,
    site_id: &str,
    user_id: &str,
) -> ::redis::RedisResult<Option<Role>> {
    let mut c = store.conn().await?;
    let (before, _, _): (Option<String>, (), ()) = ::redis::pipe()
        .hget(members_key(store, site_id), user_id)
        .hdel(members_key(store, site_id), user_id)
        .srem(user_sites_key(store, user_id), site_id)
        .query_async(&mut c)
        .await?;
    Ok(before.as_deref().and_then(Role::parse))
}

/// The role of `user_id` on `site_id`, if a member.
pub async fn role_of(
    store: &Store,
    site_id: &str,
    user_id: &str,
) -> ::redis::RedisResult<Option<Role>> {
    let mut c = store.conn().await?;
    let role: Option<String> = c.hget(members_key(store, site_id), user_id).await?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// The ids of the sites `user_id` is a member of.
pub async fn sites_of(store: &Store, user_id: &str) -> ::redis::RedisResult<Vec<String>> {
    let mut c = store.conn().await?;
    let mut ids: Vec<String> = c.smembers(user_sites_key(store, user_id)).await?;
    ids.sort();
    Ok(ids)
}

/// Every member of `site_id` with the role.
pub async fn members(store: &Store, site_id: &str) -> ::redis::RedisResult<Vec<(String, Role)>> {
    let mut c = store.conn().await?;
    let all: HashMap<String, String> = c.hgetall(members_key(store, site_id)).await?;
    let mut out: Vec<(String, Role)> = all
        .into_iter()
        .filter_map(|(u, r)| Role::parse(&r).map(|r| (u, r)))
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_order_by_rights_and_round_trip() {
        assert!(Role::Owner > Role::Editor && Role::Editor > Role::Viewer);
        for r in [Role::Viewer, Role::Editor, Role::Owner] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("Owner"), None);
    }
}
