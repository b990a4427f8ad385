//! The access check every site-scoped route calls: who may do what on which site.
//!
//! - Global admins may do everything, and so may the operator's command-line jobs.
//! - Members act by role: `viewer` reads, `editor` also works the call queue, `owner` also manages the
//!   site, its members and its keys.
//! - An API key acts on its own site only, within its scopes, and never on control actions.
//! - A caller with no relation to a site gets the same 404 whether or not the site exists.

use std::sync::Arc;

use opsmantik_runtime::accounts::Role;
use opsmantik_runtime::sites::{Lookup, Site};

use super::keys::{KeyRecord, Scope};
use super::{AuthError, Principal};
use crate::app::state::AppState;

/// What a route needs on a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The least member role (admins always pass).
    pub role: Role,
    /// The key scope that grants it; `None`: API keys may not.
    pub scope: Option<Scope>,
}

impl Need {
    /// Read the site's data: viewers and up, keys with `read`.
    pub const READ: Need = Need {
        role: Role::Viewer,
        scope: Some(Scope::Read),
    };
    /// See the site's control records (members' audit): members only.
    pub const MEMBER: Need = Need {
        role: Role::Viewer,
        scope: None,
    };
    /// Work the call queue: editors and up.
    pub const EDIT: Need = Need {
        role: Role::Editor,
        scope: None,
    };
    /// Manage the site, its members and keys: owners.
    pub const OWN: Need = Need {
        role: Role::Owner,
        scope: None,
    };
    /// Pull exports: owners, editors, keys with `export`.
    pub const EXPORT: Need = Need {
        role: Role::Editor,
        scope: Some(Scope::Export),
    };
}

/// How a caller stands to one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation<'a> {
    None,
    Key(&'a KeyRecord),
    Member(Role),
    Admin,
}

/// The pure decision.
pub fn decide(relation: Relation<'_>, need: Need) -> Result<(), AuthError> {
    match relation {
        Relation::None => Err(AuthError::NotFound),
        Relation::Admin => Ok(()),
        Relation::Member(role) if role >= need.role => Ok(()),
        Relation::Member(_) => Err(AuthError::Forbidden(match need.role {
            Role::Owner => "only the site's owners may do this",
            _ => "only the site's editors and owners may do this",
        })),
        Relation::Key(key) => match need.scope {
            None => Err(AuthError::Forbidden(
                "API keys cannot do this; sign in as a member of the site",
            )),
            Some(scope) if key.has(scope) => Ok(()),
            Some(scope) => Err(AuthError::Forbidden(match scope {
                Scope::Ingest => "this API key lacks the `ingest` scope",
                Scope::Read => "this API key lacks the `read` scope",
                Scope::Export => "this API key lacks the `export` scope",
            })),
        },
    }
}

/// Whether `key` belongs to `site`.
pub fn key_of(key: &KeyRecord, site: &Site) -> bool {
    key.site_id == site.id || key.site == site.public_id
}

/// A site by public id or id: the edge's copy first, then Redis (a site created a moment ago on another
/// edge is not in the copy yet).
pub async fn find_site(state: &AppState, key: &str) -> Result<Option<Arc<Site>>, AuthError> {
    if let Lookup::Found(site) = state.sites.get(key) {
        return Ok(Some(site));
    }
    Ok(state.stores.auth.site(key).await?.map(Arc::new))
}

/// The site `site_key` names, if `who` may do `need` on it.
pub async fn site(
    state: &AppState,
    who: &Principal,
    site_key: &str,
    need: Need,
) -> Result<Arc<Site>, AuthError> {
    let Some(site) = find_site(state, site_key).await? else {
        return Err(AuthError::NotFound);
    };
    let role;
    let relation = match who {
        Principal::Key(k) if key_of(k, &site) => Relation::Key(k),
        Principal::Key(_) => Relation::None,
        Principal::User(u) if u.is_admin() => Relation::Admin,
        Principal::Job(_) => Relation::Admin,
        Principal::User(u) => {
            role = state.stores.auth.role_of(&site.id, &u.id).await?;
            role.map_or(Relation::None, Relation::Member)
        }
    };
    decide(relation, need).map(|()| site)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scopes: &[Scope]) -> KeyRecord {
        KeyRecord {
            id: "0".repeat(64),
            site: "pub".into(),
            site_id: "sid".into(),
            user_id: "u".into(),
            name: "k".into(),
            rate_per_minute: 1000,
            scopes: scopes.to_vec(),
            created_at: String::new(),
        }
    }

    #[test]
    fn each_relation_gets_what_its_role_or_scope_allows() {
        let read = key(&[Scope::Read]);
        let ingest = key(&[Scope::Ingest]);
        for need in [
            Need::READ,
            Need::MEMBER,
            Need::EDIT,
            Need::OWN,
            Need::EXPORT,
        ] {
            assert_eq!(decide(Relation::None, need), Err(AuthError::NotFound));
            assert_eq!(decide(Relation::Admin, need), Ok(()));
            assert_eq!(decide(Relation::Member(Role::Owner), need), Ok(()));
        }
        assert_eq!(decide(Relation::Member(Role::Viewer), Need::READ), Ok(()));
        assert!(matches!(
            decide(Relation::Member(Role::Viewer), Need::EDIT),
            Err(AuthError::Forbidden(_))
        ));
        assert_eq!(decide(Relation::Member(Role::Editor), Need::EDIT), Ok(()));
        assert!(decide(Relation::Member(Role::Editor), Need::OWN).is_err());
        assert_eq!(decide(Relation::Key(&read), Need::READ), Ok(()));
        assert!(decide(Relation::Key(&ingest), Need::READ).is_err());
        assert!(decide(Relation::Key(&read), Need::MEMBER).is_err());
        assert!(decide(Relation::Key(&read), Need::OWN).is_err());
        assert!(decide(Relation::Key(&key(&Scope::ALL)), Need::EXPORT).is_ok());
    }

    #[test]
    fn a_key_belongs_to_its_site_by_id_or_public_id() {
        let k = key(&[]);
        let mut s = Site {
            id: "sid".into(),
            public_id: "other".into(),
            ..Default::default()
        };
        assert!(key_of(&k, &s));
        s.id = "x".into();
        assert!(!key_of(&k, &s));
        s.public_id = "pub".into();
        assert!(key_of(&k, &s));
    }
}
