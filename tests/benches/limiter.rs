//! The shared limiter's per-request cost against a baseline measured in the same run.
//!
//! (a) `Limiter::check` — the sliding-window estimate every limited request pays (two windows' lookups,
//! the count), with 10,000 subjects in rotation and a limit never reached; (b) the least a local counter
//! can do: a mutex-guarded `HashMap<String, u64>` increment for the same subjects. Both single-threaded
//! and from 2 threads at once. No Redis: the sync runs off the request path. Report: checks/s of each and
//! their ratio. Run: `cargo bench -p opsmantik-e2e --bench limiter` (`BENCH_CHECKS`).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use opsmantik_ingest::limits::{Limiter, Rule};

const RULE: Rule = Rule::per_minute("bench", u64::MAX / 2);

fn subjects() -> Vec<String> {
    (0..10_000u32)
        .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
        .collect()
}

/// Runs `work(thread, n)` on `threads` threads, `n` each; returns operations per second.
fn rate(threads: usize, n: usize, work: impl Fn(usize, usize) + Sync) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let work = &work;
            s.spawn(move || work(t, n));
        }
    });
    (threads * n) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("BENCH_CHECKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let subjects = subjects();
    println!("| threads | limiter checks/s | baseline increments/s | ratio |");
    println!("| --- | --- | --- | --- |");
    for threads in [1, 2] {
        let limiter = Limiter::default();
        let ours = rate(threads, n, |t, n| {
            for i in 0..n {
                let d = limiter.check(&RULE, &subjects[(i + t * 7919) % subjects.len()], 1);
                assert!(d.allowed);
            }
        });
        let map: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        let base = rate(threads, n, |t, n| {
            for i in 0..n {
                let s = &subjects[(i + t * 7919) % subjects.len()];
                let mut m = map.lock().unwrap();
                match m.get_mut(s.as_str()) {
                    Some(c) => *c += 1,
                    None => {
                        m.insert(s.clone(), 1);
                    }
                }
            }
        });
        println!("| {threads} | {ours:.0} | {base:.0} | {:.2} |", ours / base);
    }
}
