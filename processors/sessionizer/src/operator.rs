//! The sessionizer as an operator on the stream runtime: consumes `opsmantik.tracking.v1`, keeps each
//! visitor's [`Visit`] as keyed state (restored from snapshots, forgotten by an event-time timer once no hit can
//! reach it any more), and publishes `opsmantik.events.v1`, `opsmantik.sessions.v1` (the newest state per
//! session per batch) and, for conversion clicks, `opsmantik.call-intents.v1`. Late hits go to the DLQ.

use std::sync::Arc;

use opsmantik_runtime::clock::SystemClock;
use opsmantik_runtime::config::{BatchConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::kafka::Incoming;
use opsmantik_runtime::operator::snapshot::RedisSnapshots;
use opsmantik_runtime::operator::{Context, Decoded, Operator, OperatorStage, TimerKind};
use opsmantik_runtime::redis::{RedisConfig, Store};
use opsmantik_runtime::stage::run_stage;
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{decode, encode, Topic, TrackingHit};
use opsmantik_sessions::{place, Outcome, Visit};
use tokio_util::sync::CancellationToken;

const STAGE: &str = "sessionizer";

/// Sessionizer settings.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "OpsMantik sessionizer: tracking hits -> sessions and session events")]
pub struct SessionizerConfig {
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub batch: BatchConfig,
    /// Where partition snapshots are kept.
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

/// Runs the sessionizer until `shutdown`.
pub async fn run(
    config: SessionizerConfig,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let store =
        Store::new(&config.redis).map_err(|e| RuntimeError::Config(format!("redis: {e}")))?;
    run_stage(
        STAGE,
        &[Topic::Tracking],
        &config.kafka,
        &config.batch,
        shutdown,
        |io| {
            OperatorStage::new(
                SessionOperator,
                io,
                RedisSnapshots(store),
                Arc::new(SystemClock),
            )
        },
    )
    .await
}

/// Hits in, sessions out (see the module docs).
#[derive(Debug, Default)]
pub struct SessionOperator;

impl Operator for SessionOperator {
    type Input = TrackingHit;
    type State = Visit;

    fn decode(&self, _topic: Topic, record: &Incoming) -> Decoded<TrackingHit> {
        decode(record.payload())
            .map(Some)
            .map_err(|e| (Reason::from(&e), e.to_string()))
    }

    fn event_time(&self, hit: &TrackingHit) -> Option<i64> {
        Some(hit.event_time)
    }

    fn on_record(&mut self, cx: &mut Context<'_, Visit>, hit: TrackingHit) {
        let key = hit.key();
        let (outcome, fresh) = place(cx.state.get_mut(&key), &hit);
        if let Some(visit) = fresh {
            cx.state.insert(&key, visit);
        }
        let (event, state) = match outcome {
            Outcome::Placed { event, state } => (event, state),
            Outcome::Late { detail } => return cx.reject(Reason::LateEvent, detail),
            // A hit the client re-sent: its outputs were published the first time.
            Outcome::Repeated => return,
        };
        if let Some(at) = cx.state.get(&key).map(Visit::next_deadline) {
            cx.state.set_timer(&key, TimerKind::Event, at);
        }
        let intent = crate::intents::intent_of(&hit);
        let encoded = encode(&event).and_then(|e| {
            let i = intent.as_ref().map(encode).transpose()?;
            Ok((e, i, encode(&state)?))
        });
        match encoded {
            Ok((e, i, s)) => {
                cx.emit(Topic::Events, event.session_id.as_bytes(), e);
                if let Some(i) = i {
                    cx.emit(Topic::CallIntents, key.as_bytes(), i);
                }
                cx.emit_latest(Topic::Sessions, state.session_id.as_bytes(), s);
            }
            Err(e) => cx.reject(Reason::Invalid, e.to_string()),
        }
    }

    /// The visit's deadline passed: its session closes (and shrinks), or — once no hit can join or split from
    /// it — the visitor is forgotten.
    fn on_timer(&mut self, cx: &mut Context<'_, Visit>, key: &str, _kind: TimerKind, at: i64) {
        match cx.state.get_mut(key).map(|v| v.expire(at)) {
            Some(Some(next)) => cx.state.set_timer(key, TimerKind::Event, next),
            Some(None) => drop(cx.state.remove(key)),
            None => {}
        }
    }
}

#[cfg(test)]
#[test]
fn the_command_line_is_well_formed() {
    use clap::CommandFactory;
    SessionizerConfig::command().debug_assert();
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
