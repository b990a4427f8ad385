//! `sites`, `users`, `keys`: tenants, global admins and API keys, straight on the account store (Redis).

use clap::Subcommand;
use opsmantik_ingest::auth::keys::{self, KeyCache, NewKey, Scope};
use opsmantik_ingest::sites::{self, NewSite, Site};
use opsmantik_ingest::EdgeConfig;
use opsmantik_runtime::accounts;
use opsmantik_runtime::kafka::KafkaPublisher;
use opsmantik_runtime::redis::Store;
use serde_json::{json, Value};

use crate::out::{table, Exit};

/// Who the audit names for what this command line changes.
pub const ACTOR: &str = "cli:opsmantik-admin";

#[derive(Debug, Subcommand)]
pub enum Sites {
    /// Create a site and print its ids and signing secret (shown this once).
    Create {
        /// Public id (what the tracker sends as `s`); generated when absent.
        #[arg(long)]
        public_id: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long)]
        domain: String,
        /// An allowed origin (repeatable), e.g. https://shop.example
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// IANA time zone (default Europe/Istanbul).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// List sites (never their secrets): public id, id, name, domain, time zone, origins.
    List,
}

#[derive(Debug, Subcommand)]
pub enum Users {
    /// Make EMAIL a global admin (the user is created if needed; applies to the next request).
    GrantAdmin { email: String },
    /// Make EMAIL a plain user again.
    RevokeAdmin { email: String },
}

#[derive(Debug, Subcommand)]
pub enum Keys {
    /// Create an API key of a site and print it (shown this once).
    Create {
        /// The site's public id or id.
        #[arg(long)]
        site: String,
        #[arg(long)]
        name: String,
        /// A scope (repeatable): ingest, read, export. Default: all.
        #[arg(long = "scope", value_parser = ["ingest", "read", "export"])]
        scopes: Vec<String>,
        /// Events per minute (0: unlimited).
        #[arg(long, default_value_t = 1000)]
        rate: u32,
    },
    /// List a site's live keys (never the keys themselves): id, name, scopes, rate, created, last used.
    List {
        #[arg(long)]
        site: String,
    },
    /// Revoke a key of a site by its short id (as listed); edges stop taking it within their key cache's life.
    Revoke {
        #[arg(long)]
        site: String,
        #[arg(long)]
        id: String,
    },
}

async fn site_of(store: &Store, key: &str) -> Result<Site, Exit> {
    sites::find(store, key)
        .await?
        .ok_or_else(|| Exit::NotFound(format!("site `{key}`")))
}

fn site_json(s: &Site) -> Value {
    json!({ "id": s.id, "public_id": s.public_id, "name": s.name, "domain": s.domain,
            "time_zone": s.time_zone, "allowed_origins": s.allowed_origins })
}

/// Publishes the audit record of `action` on `subject` (a warning, not a failure, when the broker refuses:
/// the change is made).
async fn audit(edge: &EdgeConfig, action: &str, subject: &str, detail: Value) {
    let topics = edge.kafka.topics();
    let Some(record) =
        opsmantik_ingest::audit::out_record(&topics, ACTOR, action, subject, &detail)
    else {
        return;
    };
    let sent = match KafkaPublisher::new(&edge.kafka) {
        Ok(p) => p.publish_one(record).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = sent {
        eprintln!("warning: the change is made but its audit record was not published: {e}");
    }
}

pub async fn sites(edge: &EdgeConfig, command: Sites) -> Result<Value, Exit> {
    let store = Store::new(&edge.redis)?;
    match command {
        Sites::Create {
            public_id,
            name,
            domain,
            origins,
            time_zone,
        } => {
            let new = NewSite {
                public_id,
                name,
                domain,
                allowed_origins: origins,
                time_zone,
            };
            let site = sites::create(&store, new).await?;
            audit(
                edge,
                "site_created",
                &site.id,
                json!({ "public_id": site.public_id }),
            )
            .await;
            let text = format!(
                "id:        {}\npublic_id: {}\nsecret:    {}   (shown once: keep it for signing call events)",
                site.id, site.public_id, site.secret
            );
            let mut report = site_json(&site);
            report["secret"] = json!(site.secret);
            report["text"] = json!(text);
            Ok(report)
        }
        Sites::List => {
            let all = sites::list(&store).await?;
            let text = table(all.iter().map(|s| {
                vec![
                    s.public_id.clone(),
                    s.id.clone(),
                    s.name.clone(),
                    s.domain.clone(),
                    s.time_zone.clone(),
                    s.allowed_origins.join(","),
                ]
            }));
            Ok(json!({ "sites": all.iter().map(site_json).collect::<Vec<_>>(), "text": text }))
        }
    }
}

pub async fn users(edge: &EdgeConfig, command: Users) -> Result<Value, Exit> {
    let (email, admin) = match command {
        Users::GrantAdmin { email } => (email, true),
        Users::RevokeAdmin { email } => (email, false),
    };
    let email = email.trim().to_ascii_lowercase();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return Err(Exit::Failed(anyhow::anyhow!(
            "`{email}` is not an e-mail address"
        )));
    }
    let user = accounts::set_admin(&Store::new(&edge.redis)?, &email, admin).await?;
    let action = if admin {
        "admin_granted"
    } else {
        "admin_revoked"
    };
    audit(edge, action, &user.id, json!({})).await;
    Ok(
        json!({ "email": user.email, "id": user.id, "role": user.role,
               "text": format!("{}\t{}\t{}", user.email, user.id, user.role) }),
    )
}

pub async fn keys(edge: &EdgeConfig, command: Keys) -> Result<Value, Exit> {
    let store = Store::new(&edge.redis)?;
    match command {
        Keys::Create {
            site,
            name,
            scopes,
            rate,
        } => {
            let site = site_of(&store, &site).await?;
            let mut scopes: Vec<Scope> = scopes.iter().filter_map(|s| Scope::parse(s)).collect();
            if scopes.is_empty() {
                scopes = Scope::ALL.to_vec();
            }
            let new = NewKey {
                site_public_id: &site.public_id,
                site_id: &site.id,
                user_id: ACTOR,
                name: &name,
                rate_per_minute: rate,
                scopes: &scopes,
            };
            let (key, record) = keys::create(&store, new).await?;
            audit(
                edge,
                "key_created",
                &site.id,
                json!({ "key_id": record.key_id(), "name": name }),
            )
            .await;
            Ok(
                json!({ "api_key": key, "id": record.key_id(), "site": site.public_id,
                       "text": format!("api key: {key}   (shown once)\nid:      {}", record.key_id()) }),
            )
        }
        Keys::List { site } => {
            let site = site_of(&store, &site).await?;
            let listed = keys::list(&store, &site.id).await?;
            let text = table(listed.iter().map(|k| {
                vec![
                    k.id.clone(),
                    k.name.clone(),
                    k.scopes.join(","),
                    k.rate_limit_per_minute.to_string(),
                    k.created_at.clone(),
                    k.last_used_at.clone().unwrap_or_else(|| "-".into()),
                ]
            }));
            Ok(json!({ "keys": listed, "text": text }))
        }
        Keys::Revoke { site, id } => {
            let site = site_of(&store, &site).await?;
            if !keys::revoke(&store, &KeyCache::default(), &site.id, &id).await? {
                return Err(Exit::NotFound(format!(
                    "key `{id}` of site `{}`",
                    site.public_id
                )));
            }
            audit(edge, "key_revoked", &site.id, json!({ "key_id": id })).await;
            Ok(json!({ "revoked": id, "text": format!("revoked {id}") }))
        }
    }
}
