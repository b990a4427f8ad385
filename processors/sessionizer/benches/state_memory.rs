//! Memory held per visitor by the sessionizer's state, measured with a counting allocator in one run:
//! 150,000 visitors with an open session, then the same visitors after their sessions closed (compacted,
//! 6 h of event time later), then after they are forgotten (24.5 h). Prints bytes per visitor and the ratio
//! closed/open. `cargo bench -p opsmantik-sessionizer --bench state_memory` (`VISITORS=…` to change the count).

use std::alloc::System;
use std::sync::Arc;

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

use opsmantik_runtime::clock::ManualClock;
use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::{Delivery, Incoming, OutRecord, Publisher};
use opsmantik_runtime::operator::keyed::{Delta, Stored};
use opsmantik_runtime::operator::snapshot::SnapshotStore;
use opsmantik_runtime::operator::OperatorStage;
use opsmantik_runtime::stage::StageIo;
use opsmantik_schemas::{encode, samples, TrackingHit};
use opsmantik_sessionizer::SessionOperator;

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Outputs go nowhere (acknowledged at once): only the operator's own state is measured.
struct DiscardOutputs;

impl Publisher for DiscardOutputs {
    fn publish_batch(
        &self,
        records: Vec<OutRecord>,
    ) -> futures::future::BoxFuture<'_, Vec<Delivery>> {
        let acked = records.into_iter().map(|r| (r, Ok(()))).collect();
        Box::pin(async move { acked })
    }
}

/// Snapshots go nowhere either.
struct Discard;

impl SnapshotStore for Discard {
    async fn load(&self, _stage: &str, _partition: i32) -> Result<Stored, String> {
        Ok(Stored::default())
    }
    async fn save(&self, _stage: &str, _partition: i32, _delta: &Delta) -> Result<(), String> {
        Ok(())
    }
}

const HOUR: i64 = 3_600_000;

fn hit(visitor: usize, t: i64) -> Incoming {
    let h = TrackingHit {
        event_id: format!("e-{visitor}-{t}"),
        visitor: format!("fp-{visitor:08}"),
        fingerprint: Some(format!("fp-{visitor:08}")),
        session_id: format!("sid-{visitor:08}"),
        url: format!("https://shop.example/p/{visitor}?utm_source=google&utm_medium=cpc&gclid=G{visitor}"),
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36".into()),
        event_time: t,
        received_at: t,
        ..samples::tracking_hit()
    };
    Incoming {
        topic: "b.opsmantik.tracking.v1".into(),
        partition: 0,
        offset: 0,
        key: None,
        payload: encode(&h).ok(),
        replay: None,
    }
}

/// Bytes allocated and not freed so far.
fn live() -> isize {
    let s = ALLOCATOR.stats();
    // stats_alloc books a realloc as the new block allocated and the old one freed, too.
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let visitors: usize = std::env::var("VISITORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150_000);
    let io = StageIo::for_tests("bench", Box::new(DiscardOutputs), "b");
    let mut stage = OperatorStage::new(SessionOperator, io, Discard, Arc::new(ManualClock::at(0)));
    let mut offset = 0;
    let mut feed = |batch: Vec<Incoming>| {
        let batch: Vec<Incoming> = batch
            .into_iter()
            .map(|mut r| {
                r.offset = offset;
                offset += 1;
                r
            })
            .collect();
        batch
    };
    stage.handle(&feed(vec![hit(usize::MAX, 0)])).await.ok();
    let base = live();
    for chunk in (0..visitors).collect::<Vec<_>>().chunks(1_000) {
        let batch = feed(chunk.iter().map(|v| hit(*v, 1_000 + *v as i64)).collect());
        stage.handle(&batch).await.ok();
    }
    let open = (live() - base) as f64 / visitors as f64;
    stage
        .handle(&feed(vec![hit(usize::MAX - 1, 7 * HOUR)]))
        .await
        .ok();
    let closed = (live() - base) as f64 / visitors as f64;
    stage
        .handle(&feed(vec![hit(usize::MAX - 2, 26 * HOUR)]))
        .await
        .ok();
    let forgotten = (live() - base) as f64 / visitors as f64;
    println!(
        "visitors: {visitors}, keys held at the end: {}",
        stage.keys_held()
    );
    println!("open sessions:   {open:>8.0} bytes per visitor");
    println!("closed (6 h):    {closed:>8.0} bytes per visitor");
    println!("forgotten (25 h):{forgotten:>8.0} bytes per visitor");
    println!("ratio closed/open: {:.3}", closed / open);
    let rss = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    println!(
        "{}",
        rss.lines()
            .find(|l| l.starts_with("VmHWM"))
            .unwrap_or_default()
    );
}
