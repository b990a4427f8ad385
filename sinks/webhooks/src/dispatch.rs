//! The dispatcher: claims due deliveries (skipping endpoints whose slots are full), attempts each in its own
//! task, logs the attempt, and reschedules, finishes or dead-letters it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opsmantik_runtime::automation::{self, Kind, Webhook};
use opsmantik_runtime::dlq::{dead_letter, dead_letter_record};
use opsmantik_runtime::kafka::{Incoming, KafkaPublisher, Publisher};
use opsmantik_runtime::now_ms;
use opsmantik_runtime::redis::Store;
use opsmantik_runtime::retry::Backoff;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::Topics;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::deliver::{Outcome, Sender};
use crate::log::AttemptRow;
use crate::queue::{self, webhook_of, Claimed};
use crate::DeliveryConfig;

/// Most due deliveries looked at per round.
const ROUND: usize = 500;
/// How long a due delivery of an endpoint with no free slot steps back.
const DEFER_MS: i64 = 1_000;

/// Everything an attempt needs.
#[allow(missing_debug_implementations)] // the sender has no useful Debug
pub struct Dispatcher {
    pub store: Store,
    pub sender: Sender,
    pub log: mpsc::UnboundedSender<AttemptRow>,
    pub config: DeliveryConfig,
    pub letters: KafkaPublisher,
    pub topics: Topics,
    pub wake: Arc<Notify>,
}

/// Attempts in flight, per webhook and in all.
#[derive(Debug, Default)]
struct Slots {
    per_webhook: HashMap<String, usize>,
    total: usize,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Finish(&'static str),
    RetryAt(i64),
}

impl Dispatcher {
    /// Runs until `shutdown`, then waits for the attempts in flight.
    pub async fn run(self, shutdown: CancellationToken) {
        let me = Arc::new(self);
        let slots = Arc::new(Mutex::new(Slots::default()));
        let poll = Duration::from_millis(me.config.poll_ms.max(10));
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(poll) => {}
                () = me.wake.notified() => {}
            }
            while tasks.try_join_next().is_some() {}
            if let Err(e) = me.round(&slots, &mut tasks, &shutdown).await {
                tracing::warn!(error = %e, "dispatch round failed; retrying");
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn round(
        self: &Arc<Self>,
        slots: &Arc<Mutex<Slots>>,
        tasks: &mut tokio::task::JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> redis::RedisResult<()> {
        let now = now_ms();
        let lease_until =
            now + 2 * i64::try_from(self.config.timeout_ms).unwrap_or(i64::MAX / 4) + 5_000;
        let due = queue::due(&self.store, now, ROUND).await?;
        let (claim, defer) = {
            let s = slots.lock().unwrap_or_else(|e| e.into_inner());
            plan(
                &due,
                &s,
                self.config.per_endpoint,
                self.config.max_in_flight,
            )
        };
        // Deliveries of a busy endpoint step back, so they never hide other endpoints' due deliveries.
        queue::defer(&self.store, &defer, now, now + DEFER_MS).await?;
        for claimed in queue::claim_all(&self.store, &claim, now, lease_until).await? {
            let webhook = webhook_of(&claimed.member).to_string();
            take(slots, &webhook, 1);
            let (me, slots, shutdown) = (self.clone(), slots.clone(), shutdown.clone());
            tasks.spawn(async move {
                me.attempt(claimed, &shutdown).await;
                take(&slots, &webhook, -1);
                me.wake.notify_one();
            });
        }
        Ok(())
    }

    /// One attempt of `c`, and what follows from it. If its state cannot be stored before shutdown, the lease
    /// runs out and the delivery is sent again (at least once).
    async fn attempt(&self, c: Claimed, shutdown: &CancellationToken) {
        let d = &c.delivery;
        let hook: Option<Webhook> = automation::get(
            &self.store,
            Kind::Webhook,
            &d.site,
            &d.webhook_id,
        )
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "webhook lookup failed; trying the stored delivery anyway");
            None
        });
        let started = now_ms();
        let (outcome, latency) = match &hook {
            Some(h) => self.sender.send(d, &h.secret, started / 1000).await,
            None => (
                Outcome::Refused {
                    status: 0,
                    error: "webhook deleted".into(),
                },
                Duration::ZERO,
            ),
        };
        let next = next(&outcome, &c, started, &self.config);
        let (status, http_status, error) = describe(&outcome, &next);
        let _ = self.log.send(AttemptRow {
            site: d.site.clone(),
            webhook_id: d.webhook_id.clone(),
            delivery_id: d.delivery_id.clone(),
            rule_id: d.rule_id.clone(),
            event_id: d.event_id.clone(),
            attempt: c.attempts + 1,
            status: status.into(),
            http_status,
            latency_ms: u32::try_from(latency.as_millis()).unwrap_or(u32::MAX),
            error: error.clone(),
            attempted_at_ms: started,
            attempted_at: u32::try_from(started / 1000).unwrap_or(0),
        });
        if matches!(next, Next::Finish("failed" | "dead")) {
            self.dead_letter(&c, &error).await;
        }
        let store = &self.store;
        let applied = Backoff::default()
            .retry(
                "redis",
                shutdown,
                || {},
                || async {
                    match next {
                        Next::Finish(state) => queue::finish(store, &c, state).await,
                        Next::RetryAt(at) => queue::retry(store, &c, at).await,
                    }
                },
            )
            .await;
        if let Err(e) = applied {
            tracing::error!(error = %e, delivery = %d.delivery_id, "delivery state not stored; its lease will expire");
        }
    }

    async fn dead_letter(&self, c: &Claimed, why: &str) {
        let source = Incoming {
            topic: c.source.topic.clone(),
            partition: c.source.partition,
            offset: c.source.offset,
            key: Some(c.delivery.webhook_id.clone().into_bytes()),
            payload: Some(c.source.payload.clone()),
            replay: c.source.replay.clone(),
        };
        let letter = dead_letter(
            &source,
            Reason::WebhookGaveUp,
            format!("delivery {}: {why}", c.delivery.delivery_id),
            "webhooks",
        );
        metrics::counter!("stage_records_dropped_total", "stage" => "webhooks", "reason" => Reason::WebhookGaveUp.code())
            .increment(1);
        match dead_letter_record(&self.topics, &letter) {
            Ok(record) => {
                let sent = self.letters.publish_batch(vec![record]).await;
                if sent.iter().any(|(_, r)| r.is_err()) {
                    tracing::error!(delivery = %c.delivery.delivery_id, "dead letter not published");
                }
            }
            Err(e) => tracing::error!(error = %e, "dead letter does not encode"),
        }
    }
}

/// Which of the `due` members (soonest first) to claim now — as many as the endpoints' free slots and the
/// global cap allow — and which to defer: those of endpoints with no slot left.
fn plan(
    due: &[String],
    slots: &Slots,
    per_endpoint: usize,
    max_total: usize,
) -> (Vec<String>, Vec<String>) {
    let (mut claim, mut defer) = (Vec::new(), Vec::new());
    let mut busy: HashMap<&str, usize> = HashMap::new();
    let mut total = slots.total;
    for member in due {
        let webhook = webhook_of(member);
        let used = busy
            .entry(webhook)
            .or_insert_with(|| slots.per_webhook.get(webhook).copied().unwrap_or(0));
        if *used >= per_endpoint {
            defer.push(member.clone());
        } else if total < max_total {
            *used += 1;
            total += 1;
            claim.push(member.clone());
        }
    }
    (claim, defer)
}

fn take(slots: &Mutex<Slots>, webhook: &str, delta: isize) {
    let mut s = slots.lock().unwrap_or_else(|e| e.into_inner());
    let n = s.per_webhook.entry(webhook.to_string()).or_default();
    *n = n.saturating_add_signed(delta);
    if *n == 0 {
        s.per_webhook.remove(webhook);
    }
    s.total = s.total.saturating_add_signed(delta);
}

/// What follows an attempt made at `now`.
pub fn next(outcome: &Outcome, c: &Claimed, now: i64, config: &DeliveryConfig) -> Next {
    match outcome {
        Outcome::Delivered { .. } => Next::Finish("delivered"),
        Outcome::Refused { .. } => Next::Finish("failed"),
        Outcome::Retry { retry_after, .. } => {
            let attempt = c.attempts + 1;
            if attempt >= config.max_attempts || now - c.first_at >= config.max_age_ms {
                return Next::Finish("dead");
            }
            let backoff = Backoff {
                initial: Duration::from_millis(config.retry_initial_ms),
                max: Duration::from_millis(config.retry_max_ms),
            };
            let jitter = 0.75 + rand::random::<f64>() / 2.0;
            let computed = backoff.delay(attempt - 1).mul_f64(jitter);
            let wait = retry_after.map_or(computed, |told| told.min(backoff.max));
            Next::RetryAt(now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4))
        }
    }
}

/// The log's status, HTTP status and error of an attempt.
fn describe(outcome: &Outcome, next: &Next) -> (&'static str, u16, String) {
    let status = match next {
        Next::Finish(s) => s,
        Next::RetryAt(_) => "retrying",
    };
    match outcome {
        Outcome::Delivered { status: code } => (status, *code, String::new()),
        Outcome::Retry {
            status: code,
            error,
            ..
        }
        | Outcome::Refused {
            status: code,
            error,
        } => (status, *code, error.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        d: DeliveryConfig,
    }

    fn claimed(attempts: u32, first_at: i64) -> Claimed {
        Claimed {
            member: "w|d".into(),
            delivery: opsmantik_schemas::samples::webhook_delivery(),
            attempts,
            first_at,
            source: queue::Source::default(),
        }
    }

    #[test]
    fn a_busy_endpoint_steps_back_and_never_hides_the_others() {
        let mut due: Vec<String> = (0..600).map(|i| format!("dead|d{i}")).collect();
        due.push("healthy|h1".into());
        let slots = Slots::default();
        let (claim, defer) = plan(&due, &slots, 4, 256);
        assert_eq!(
            claim.len(),
            5,
            "4 of the dead endpoint, and the healthy one: {claim:?}"
        );
        assert!(claim.contains(&"healthy|h1".to_string()));
        assert_eq!(defer.len(), 596);
        let mut full = Slots::default();
        full.per_webhook.insert("dead".into(), 4);
        full.total = 4;
        let (claim, _) = plan(&due, &full, 4, 256);
        assert_eq!(claim, ["healthy|h1"]);
        let (claim, defer) = plan(&due, &Slots::default(), 4, 2);
        assert_eq!(
            (claim.len(), defer.len()),
            (2, 0),
            "at the global cap nothing more is claimed; nothing is blocked by its endpoint"
        );
    }

    #[test]
    fn retries_back_off_until_the_attempts_or_the_age_run_out() {
        let config = Args::parse_from(["t"]).d;
        let retry = Outcome::Retry {
            status: 503,
            error: "HTTP 503".into(),
            retry_after: None,
        };
        let Next::RetryAt(at) = next(&retry, &claimed(0, 0), 1_000, &config) else {
            panic!()
        };
        assert!((1_750..=2_250).contains(&at), "1 s ± 25 %: {at}");
        let Next::RetryAt(at) = next(&retry, &claimed(3, 0), 1_000, &config) else {
            panic!()
        };
        assert!((7_000..=11_000).contains(&at), "8 s ± 25 %: {at}");
        assert_eq!(
            next(&retry, &claimed(7, 0), 1_000, &config),
            Next::Finish("dead"),
            "the 8th attempt was the last"
        );
        assert_eq!(
            next(&retry, &claimed(1, 0), config.max_age_ms, &config),
            Next::Finish("dead"),
            "too old"
        );
        let told = Outcome::Retry {
            status: 429,
            error: String::new(),
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            next(&told, &claimed(0, 0), 0, &config),
            Next::RetryAt(30_000),
            "Retry-After honoured"
        );
        let refused = Outcome::Refused {
            status: 400,
            error: String::new(),
        };
        assert_eq!(
            next(&refused, &claimed(0, 0), 0, &config),
            Next::Finish("failed")
        );
    }
}
