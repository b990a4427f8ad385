//! Sessionizer throughput in-process, on one core (a current-thread runtime): the operator stage fed the
//! broker's records in batches of 1,000, as the consume loop feeds it — Avro decode, the session rules, state,
//! outputs encoded (then dropped). The mix: 1,000,000 visitors with Zipf-distributed activity (s = 1), 1,000,000
//! hits over two hours of event time, 5 % of them late (1–10 minutes behind their visitor's clock).
//! Baseline in the same run: decoding the same records and nothing else — the floor any consumer pays.
//! Best of two rounds each. `cargo bench -p opsmantik-sessionizer --bench throughput` (`BENCH_SMOKE=1`: 20,000 hits, once).

mod common;

use std::time::Instant;

use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::Incoming;
use opsmantik_schemas::{decode, TrackingHit};

use common::{hit, stage};
use opsmantik_e2e::bench::{scale, Row};

/// The allocator the sessionizer binary runs on.
#[global_allocator]
static ALLOCATOR: opsmantik_runtime::Allocator = opsmantik_runtime::Allocator;

/// xorshift64*: a fixed, dependency-free sequence (the same mix every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The cumulative Zipf(1) weights of `n` visitors, normalised to 1.
fn zipf_cdf(n: usize) -> Vec<f64> {
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = (1..=n)
        .map(|k| {
            acc += 1.0 / k as f64;
            acc
        })
        .collect();
    cdf.iter_mut().for_each(|c| *c /= acc);
    cdf
}

fn mix(visitors: usize, hits: usize) -> Vec<Incoming> {
    let cdf = zipf_cdf(visitors);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let step = 2 * 3_600_000 / hits as i64;
    (0..hits)
        .map(|i| {
            let visitor = cdf.partition_point(|c| *c < rng.unit());
            let mut t = 1_767_225_600_000 + i as i64 * step.max(1);
            if rng.unit() < 0.05 {
                t -= 60_000 + (rng.next() % 540_000) as i64;
            }
            hit(visitor, t, i as i64)
        })
        .collect()
}

fn best_of(rounds: usize, mut round: impl FnMut() -> f64) -> f64 {
    (0..rounds).map(|_| round()).fold(f64::MIN, f64::max)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (visitors, hits, rounds) = scale((1_000_000, 1_000_000, 2), (10_000, 20_000, 1));
    let records = mix(visitors, hits);
    let baseline = best_of(rounds, || {
        let started = Instant::now();
        let decoded = records
            .iter()
            .filter_map(|r| r.payload.as_deref())
            .filter(|p| decode::<TrackingHit>(p).is_ok())
            .count();
        assert_eq!(decoded, hits);
        hits as f64 / started.elapsed().as_secs_f64()
    });
    let mut best = f64::MIN;
    for _ in 0..rounds {
        let mut stage = stage();
        let started = Instant::now();
        for batch in records.chunks(1_000) {
            if let Err(e) = stage.handle(batch).await {
                panic!("the stage refused a batch: {e}");
            }
        }
        best = best.max(hits as f64 / started.elapsed().as_secs_f64());
    }
    Row {
        path: format!("sessionizer, 1 core, {visitors} visitors (Zipf), 5% late, vs decode only"),
        ours: best,
        baseline: Some(baseline),
        unit: "events/s",
        note: "target >= 1,000,000 events/s".into(),
        ..Row::default()
    }
    .report();
}
