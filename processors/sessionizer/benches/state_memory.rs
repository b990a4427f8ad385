//! Memory held per visitor by the sessionizer's state, measured with a counting allocator in one run:
//! 150,000 visitors with an open session, then the same visitors after their sessions closed (compacted,
//! 6 h of event time later), then after they are forgotten (24.5 h). Prints bytes per visitor and the ratio
//! closed/open. `cargo bench -p opsmantik-sessionizer --bench state_memory` (`VISITORS=…` to change the count).

mod common;

use std::alloc::System;

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::Incoming;

use common::{hit, stage};
use opsmantik_e2e::bench::{scale, Row};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const HOUR: i64 = 3_600_000;

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
        .unwrap_or(scale(150_000, 10_000));
    let mut stage = stage();
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
    stage.handle(&feed(vec![hit(usize::MAX, 0, 0)])).await.ok();
    let base = live();
    for chunk in (0..visitors).collect::<Vec<_>>().chunks(1_000) {
        let batch = feed(
            chunk
                .iter()
                .map(|v| hit(*v, 1_000 + *v as i64, 0))
                .collect(),
        );
        stage.handle(&batch).await.ok();
    }
    let open = (live() - base) as f64 / visitors as f64;
    stage
        .handle(&feed(vec![hit(usize::MAX - 1, 7 * HOUR, 0)]))
        .await
        .ok();
    let closed = (live() - base) as f64 / visitors as f64;
    stage
        .handle(&feed(vec![hit(usize::MAX - 2, 26 * HOUR, 0)]))
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
    Row {
        path: "sessionizer state per active session (open, 1 hit)".into(),
        ours: open,
        unit: "bytes",
        note: format!("closed {closed:.0} B, forgotten {forgotten:.0} B; target <= 300"),
        ..Row::default()
    }
    .report();
    let rss = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    println!(
        "{}",
        rss.lines()
            .find(|l| l.starts_with("VmHWM"))
            .unwrap_or_default()
    );
}
