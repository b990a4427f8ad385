//! The rules processor: each product event against its site's enabled rules; every match is a signed
//! `WebhookDelivery` on `opsmantik.webhook-deliveries.v1`, keyed by webhook, with a deterministic id (event,
//! rule, webhook), so a replayed event never makes a second delivery.

use opsmantik_runtime::config::{BatchConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::{Incoming, OutRecord};
use opsmantik_runtime::redis::{RedisConfig, Store};
use opsmantik_runtime::stage::{run_stage, StageIo};
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{decode, encode, ProductEvent, Topic, WebhookDelivery};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::book::{RuleBook, SiteRules};
use crate::conditions::EventView;
use crate::webhook::{signed_body, Payload};

const STAGE: &str = "rules";

/// The processor's settings.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "OpsMantik rules: product events -> signed webhook deliveries")]
pub struct RulesConfig {
    /// How often the rule book looks for changed rules and webhooks (ms).
    #[arg(long, env = "RULES_REFRESH_MS", default_value_t = 1000)]
    pub refresh_ms: u64,
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub batch: BatchConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

/// The id of the delivery of `event` by `rule` to `webhook`: the same on every replay.
pub fn delivery_id(event: &str, rule: &str, webhook: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("{event}\u{1f}{rule}\u{1f}{webhook}").as_bytes(),
    )
    .to_string()
}

/// The deliveries `event` makes on `site` (its metadata parsed once, whatever the number of rules).
pub fn deliveries(site: &SiteRules, event: &ProductEvent, now_ms: i64) -> Vec<WebhookDelivery> {
    let metadata: Value = serde_json::from_str(&event.metadata_json).unwrap_or(Value::Null);
    let view = EventView {
        event_name: &event.event_name,
        user_id: Some(event.user_id.as_str()).filter(|u| !u.is_empty()),
        session_id: event.session_id.as_deref(),
        metadata: &metadata,
    };
    let mut out = Vec::new();
    for rule in site.candidates(&event.event_name) {
        if !rule.conditions.matches(&view) {
            continue;
        }
        for hook in rule.webhooks.iter().filter_map(|id| site.webhooks.get(id)) {
            let payload = Payload {
                event_id: &event.event_id,
                event_name: &event.event_name,
                user_id: &event.user_id,
                timestamp: opsmantik_runtime::iso_ms(event.timestamp),
                metadata: &metadata,
            };
            let Ok((body, signature)) = signed_body(&payload, &hook.secret) else {
                continue;
            };
            out.push(WebhookDelivery {
                delivery_id: delivery_id(&event.event_id, &rule.id, &hook.id),
                webhook_id: hook.id.clone(),
                rule_id: rule.id.clone(),
                site: event.site.clone(),
                url: hook.url.clone(),
                event_id: event.event_id.clone(),
                body,
                signature,
                attempt: 1,
                created_at: now_ms,
            });
        }
    }
    out
}

/// The batch handler.
#[derive(Debug)]
pub struct RulesHandler {
    pub io: StageIo,
    pub book: RuleBook,
}

impl BatchHandler for RulesHandler {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let now = opsmantik_runtime::now_ms();
        let topic = self.io.topics.name(Topic::WebhookDeliveries);
        let mut out: Vec<OutRecord> = Vec::new();
        for incoming in batch {
            let event: ProductEvent = match decode(incoming.payload()) {
                Ok(e) => e,
                Err(e) => {
                    out.extend(
                        self.io
                            .dead_letter(incoming, Reason::from(&e), e.to_string()),
                    );
                    continue;
                }
            };
            let Some(site) = self.book.site(&event.site) else {
                continue;
            };
            for d in deliveries(&site, &event, now) {
                match encode(&d) {
                    Ok(payload) => out.push(OutRecord {
                        topic: topic.clone(),
                        key: d.webhook_id.into_bytes(),
                        payload,
                        replay: None,
                    }),
                    Err(e) => tracing::error!(error = %e, "delivery does not encode"),
                }
            }
        }
        self.io.metrics.sent(out.len());
        self.io.publish_or_fail(out).await
    }
}

/// Runs the processor until `shutdown`: the rule book loaded first (so no event is looked at without the
/// rules stored before the start), then kept fresh.
pub async fn run(config: RulesConfig, shutdown: CancellationToken) -> Result<(), RuntimeError> {
    let store =
        Store::new(&config.redis).map_err(|e| RuntimeError::Config(format!("redis: {e}")))?;
    let book = RuleBook::default();
    book.refresh(&store)
        .await
        .map_err(|e| RuntimeError::Config(format!("loading the rules: {e}")))?;
    let every = std::time::Duration::from_millis(config.refresh_ms.max(100));
    let refresh = book.spawn_refresh(store, every, shutdown.clone());
    let result = run_stage(
        STAGE,
        &[Topic::ProductEvents],
        &config.kafka,
        &config.batch,
        shutdown,
        |io| RulesHandler { io, book },
    )
    .await;
    refresh.abort();
    let _ = refresh.await;
    result
}

#[cfg(test)]
mod tests {
    use opsmantik_runtime::automation::{Action, Rule, Webhook};
    use serde_json::json;

    use super::*;
    use crate::webhook::body_signature_ok;

    fn rule(id: &str, conditions: Value, webhook: &str, enabled: bool) -> Rule {
        Rule {
            id: id.into(),
            site: "shop".into(),
            name: id.into(),
            conditions,
            actions: vec![Action {
                kind: "webhook".into(),
                webhook_id: webhook.into(),
            }],
            enabled,
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn event(id: &str, name: &str, amount: i64) -> ProductEvent {
        ProductEvent {
            event_id: id.into(),
            site: "shop".into(),
            event_name: name.into(),
            user_id: "u1".into(),
            metadata_json: json!({ "amount": amount }).to_string(),
            ..opsmantik_schemas::samples::product_event()
        }
    }

    #[test]
    fn matching_events_make_one_signed_delivery_per_rule_and_webhook() {
        let hook = Webhook {
            id: "w1".into(),
            site: "shop".into(),
            url: "https://203.0.113.10/hook".into(),
            events: vec![],
            secret: "s3cret".into(),
            created_at: 0,
        };
        let big = json!({ "event_name": "purchase_completed", "metadata.amount": { "$gt": 500 } });
        let book = RuleBook::from_records(vec![(
            "shop".into(),
            vec![
                rule("big", big.clone(), "w1", true),
                rule("off", big, "w1", false),
                rule(
                    "gone",
                    json!({ "event_name": "purchase_completed" }),
                    "deleted-webhook",
                    true,
                ),
            ],
            vec![hook],
        )]);
        let site = book.site("shop").unwrap();
        let made = deliveries(&site, &event("e1", "purchase_completed", 750), 5);
        assert_eq!(
            made.len(),
            1,
            "the disabled rule and the rule of a deleted webhook send nothing"
        );
        assert_eq!(made[0].delivery_id, delivery_id("e1", "big", "w1"));
        assert!(body_signature_ok(&made[0].body, "s3cret"));
        let again = deliveries(&site, &event("e1", "purchase_completed", 750), 99);
        assert_eq!(
            again[0].delivery_id, made[0].delivery_id,
            "a replay is the same delivery"
        );
        assert!(deliveries(&site, &event("e2", "purchase_completed", 500), 5).is_empty());
        assert!(deliveries(&site, &event("e3", "signed_up", 900), 5).is_empty());
        assert!(book.site("other").is_none());
    }
}
