//! The Redis realtime overlay: consumes sessions and events and keeps, per site and day in the site's time
//! zone, today's events, sessions, conversions, calls and matched calls (`opsmantik_runtime::overlay`). The
//! edge serves them at `GET /api/stats/realtime`. From the sessions it also keeps the visitor index
//! (`opsmantik_runtime::visitor_index`), which the edge reads to answer a hit or a click with the score. From
//! the calls it keeps the call ledger (`opsmantik_runtime::call_ledger`): the call-matcher's calls enter the
//! operator's queue there.

use opsmantik_runtime::config::{BatchConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::Incoming;
use opsmantik_runtime::redis::{RedisConfig, Store};
use opsmantik_runtime::sites::{Lookup, SiteCache};
use opsmantik_runtime::stage::{run_stage, StageIo};
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{decode, CallRecord, SessionEvent, SessionState, Topic};
use tokio_util::sync::CancellationToken;

use opsmantik_runtime::call_ledger;
use opsmantik_runtime::overlay::{self, local_day, Mark};
use opsmantik_runtime::visitor_index::{self, VisitorEntry};

const STAGE: &str = "redis_overlay";
const DEFAULT_TIME_ZONE: &str = "Europe/Istanbul";

/// Overlay settings.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    about = "OpsMantik realtime overlay: sessions, events and calls -> today's counts in Redis"
)]
pub struct OverlayConfig {
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub batch: BatchConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

/// Runs the overlay until `shutdown`.
pub async fn run(config: OverlayConfig, shutdown: CancellationToken) -> Result<(), RuntimeError> {
    let store =
        Store::new(&config.redis).map_err(|e| RuntimeError::Config(format!("redis: {e}")))?;
    let sites = SiteCache::default();
    let refresh = sites.spawn_refresh(
        store.clone(),
        std::time::Duration::from_secs(5),
        shutdown.clone(),
    );
    let result = run_stage(
        STAGE,
        &[Topic::Sessions, Topic::Events, Topic::Calls],
        &config.kafka,
        &config.batch,
        shutdown,
        |io| OverlayHandler { io, store, sites },
    )
    .await;
    // The stage is over (shutdown or a fatal error): stop the refresh and wait for it.
    refresh.abort();
    let _ = refresh.await;
    result
}

/// The batch handler: records → marks → one pipelined Redis write, retried while Redis is down.
pub struct OverlayHandler {
    pub io: StageIo,
    pub store: Store,
    pub sites: SiteCache,
}

impl std::fmt::Debug for OverlayHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverlayHandler")
            .field("io", &self.io)
            .finish()
    }
}

impl OverlayHandler {
    fn time_zone(&self, site: &str) -> String {
        match self.sites.get(site) {
            Lookup::Found(s) => s.time_zone.clone(),
            _ => DEFAULT_TIME_ZONE.to_string(),
        }
    }

    fn marks(
        &self,
        batch: &[Incoming],
        letters: &mut Vec<opsmantik_runtime::kafka::OutRecord>,
        visitors: &mut Vec<(String, String, VisitorEntry)>,
        calls: &mut Vec<CallRecord>,
    ) -> Vec<Mark> {
        let mut marks = Vec::new();
        for incoming in batch {
            let topic = self.io.topics.topic_of(&incoming.topic);
            let result = match topic {
                Some(Topic::Events) => decode::<SessionEvent>(incoming.payload()).map(|e| {
                    let day = local_day(e.event_time, &self.time_zone(&e.site));
                    if e.category == "conversion" {
                        marks.push(Mark {
                            site: e.site.clone(),
                            day: day.clone(),
                            metric: "conversions",
                            id: e.event_id.clone(),
                        });
                    }
                    marks.push(Mark {
                        site: e.site,
                        day,
                        metric: "events",
                        id: e.event_id,
                    });
                }),
                Some(Topic::Sessions) => decode::<SessionState>(incoming.payload()).map(|s| {
                    let day = local_day(s.started_at, &self.time_zone(&s.site));
                    visitors.push((
                        s.site.clone(),
                        s.visitor.clone(),
                        VisitorEntry {
                            session_id: s.session_id.clone(),
                            last_seen_ms: s.last_seen_at,
                            lead_score: s.lead_score,
                        },
                    ));
                    marks.push(Mark {
                        site: s.site,
                        day,
                        metric: "sessions",
                        id: s.session_id,
                    });
                }),
                Some(Topic::Calls) => decode::<CallRecord>(incoming.payload()).map(|c| {
                    marks.extend(status_mark(&c, &self.time_zone(&c.site)));
                    calls.push(c.clone());
                    let day = local_day(c.created_at, &self.time_zone(&c.site));
                    if c.session_id.is_some() {
                        marks.push(Mark {
                            site: c.site.clone(),
                            day: day.clone(),
                            metric: "matched_calls",
                            id: c.call_id.clone(),
                        });
                    }
                    marks.push(Mark {
                        site: c.site,
                        day,
                        metric: "calls",
                        id: c.call_id,
                    });
                }),
                _ => Ok(()),
            };
            if let Err(e) = result {
                letters.extend(
                    self.io
                        .dead_letter(incoming, Reason::from(&e), e.to_string()),
                );
            }
        }
        marks
    }
}

/// A confirmed or junk call counts on the local day its status was set.
fn status_mark(c: &CallRecord, time_zone: &str) -> Option<Mark> {
    let metric = if call_ledger::CONFIRMED.contains(&c.status.as_str()) {
        "confirmed_calls"
    } else if c.status == "junk" {
        "junk_calls"
    } else {
        return None;
    };
    Some(Mark {
        site: c.site.clone(),
        day: local_day(c.confirmed_at.unwrap_or(c.updated_at), time_zone),
        metric,
        id: c.call_id.clone(),
    })
}

impl BatchHandler for OverlayHandler {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let (mut letters, mut visitors, mut calls) = (Vec::new(), Vec::new(), Vec::new());
        let marks = self.marks(batch, &mut letters, &mut visitors, &mut calls);
        let store = &self.store;
        self.io
            .retry("redis", || overlay::apply(store, &marks))
            .await?;
        // An entry never moves back in time, so a replayed batch leaves the index as it was.
        self.io
            .retry("redis", || visitor_index::write(store, &visitors))
            .await?;
        // A call's version older than the ledger's is skipped, so a replayed batch changes nothing.
        self.io
            .retry("redis", || call_ledger::absorb(store, &calls))
            .await?;
        self.io.metrics.sent(marks.len());
        self.io.publish_or_fail(letters).await
    }
}

#[cfg(test)]
#[test]
fn the_command_line_is_well_formed() {
    use clap::CommandFactory;
    OverlayConfig::command().debug_assert();
}
