//! The rule book: every site's enabled rules, compiled, indexed by the event name they are limited to, and
//! its webhooks. Reloaded per site when the site's generation changes (polled every second); a rule is
//! compiled once per version — an unchanged rule keeps its compiled form across reloads.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use opsmantik_runtime::automation::{self, Kind, Rule, Webhook};
use opsmantik_runtime::redis::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::conditions::Conditions;

/// One compiled rule.
#[derive(Debug)]
pub struct Compiled {
    pub id: String,
    pub version: i64,
    pub conditions: Conditions,
    /// The webhooks it sends to.
    pub webhooks: Vec<String>,
}

/// One site's rules and webhooks.
#[derive(Debug, Default)]
pub struct SiteRules {
    generation: i64,
    /// Rules limited to one event name, by that name.
    by_name: HashMap<String, Vec<Arc<Compiled>>>,
    /// Rules for any event name.
    any_name: Vec<Arc<Compiled>>,
    pub webhooks: HashMap<String, Webhook>,
}

impl SiteRules {
    /// The rules that may match an event named `name` (the others are not looked at).
    pub fn candidates<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Arc<Compiled>> + 'a {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .chain(&self.any_name)
    }

    fn build(
        generation: i64,
        rules: Vec<Rule>,
        webhooks: Vec<Webhook>,
        previous: Option<&SiteRules>,
    ) -> Self {
        let mut site = SiteRules {
            generation,
            webhooks: webhooks.into_iter().map(|w| (w.id.clone(), w)).collect(),
            ..SiteRules::default()
        };
        let reuse = |id: &str, version: i64| {
            previous
                .into_iter()
                .flat_map(|p| p.by_name.values().flatten().chain(&p.any_name))
                .find(|c| c.id == id && c.version == version)
                .cloned()
        };
        for rule in rules.into_iter().filter(|r| r.enabled) {
            let compiled = match reuse(&rule.id, rule.version) {
                Some(c) => c,
                None => match Conditions::compile(&rule.conditions) {
                    Ok(conditions) => Arc::new(Compiled {
                        webhooks: rule.actions.iter().map(|a| a.webhook_id.clone()).collect(),
                        id: rule.id,
                        version: rule.version,
                        conditions,
                    }),
                    Err(e) => {
                        // The edge compiles rules before storing them; a record that does not compile is skipped.
                        tracing::error!(rule = %rule.id, error = %e, "rule does not compile; skipped");
                        continue;
                    }
                },
            };
            match compiled.conditions.event_name() {
                Some(name) => site
                    .by_name
                    .entry(name.to_string())
                    .or_default()
                    .push(compiled),
                None => site.any_name.push(compiled),
            }
        }
        site
    }
}

/// Every site's rules, shared by the processor's batches and its refresh task.
#[derive(Debug, Clone, Default)]
pub struct RuleBook(Arc<RwLock<HashMap<String, Arc<SiteRules>>>>);

impl RuleBook {
    /// The site's rules, if it has any.
    pub fn site(&self, site: &str) -> Option<Arc<SiteRules>> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(site)
            .cloned()
    }

    /// Reloads the sites whose generation changed.
    pub async fn refresh(&self, store: &Store) -> ::redis::RedisResult<usize> {
        let mut reloaded = 0;
        for (site, generation) in automation::generations(store).await? {
            let previous = self.site(&site);
            if previous
                .as_ref()
                .is_some_and(|p| p.generation == generation)
            {
                continue;
            }
            let rules: Vec<Rule> = automation::list(store, Kind::Rule, &site).await?;
            let webhooks: Vec<Webhook> = automation::list(store, Kind::Webhook, &site).await?;
            let built = SiteRules::build(generation, rules, webhooks, previous.as_deref());
            self.0
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(site, Arc::new(built));
            reloaded += 1;
        }
        Ok(reloaded)
    }

    /// Refreshes every `every` until `shutdown`.
    pub fn spawn_refresh(
        &self,
        store: Store,
        every: Duration,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let book = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                if let Err(e) = book.refresh(&store).await {
                    tracing::warn!(error = %e, "rule book refresh failed; keeping the rules loaded");
                }
            }
        })
    }

    /// A book over `sites` (tests and benchmarks).
    pub fn from_records(sites: Vec<(String, Vec<Rule>, Vec<Webhook>)>) -> Self {
        let book = RuleBook::default();
        for (site, rules, webhooks) in sites {
            let built = SiteRules::build(1, rules, webhooks, None);
            book.0
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(site, Arc::new(built));
        }
        book
    }
}
