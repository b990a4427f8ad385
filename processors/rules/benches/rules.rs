//! The rules processor's per-event cost with 100 rules on the event's site, against a baseline measured in
//! the same run.
//!
//! (a) baseline: what every event costs before any rule — decoding the `ProductEvent` from Avro and parsing its
//! metadata once; (b) the same plus the rule book: the site lookup, the event-name index and evaluation of the
//! candidate rules (50 rules on the event's name whose conditions do not hold, 50 on other names); (c) the same
//! with one rule of the 100 matching (a delivery built and signed). Also the heap allocations per event of
//! (b) beyond (a), counted — the evaluation itself allocates nothing. Report: events/s of each, ratios.
//! Run: `cargo bench -p opsmantik-rules --bench rules` (`BENCH_EVENTS`).

#![allow(clippy::unwrap_used)]

use std::alloc::System;
use std::time::Instant;

use opsmantik_rules::book::RuleBook;
use opsmantik_rules::processor::deliveries;
use opsmantik_runtime::automation::{Action, Rule, Webhook};
use opsmantik_schemas::{decode, encode, samples, ProductEvent};
use serde_json::{json, Value};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn rule(i: usize, name: &str, min: i64) -> Rule {
    Rule {
        id: format!("r{i}"),
        site: "shop".into(),
        name: format!("rule {i}"),
        conditions: json!({ "event_name": name, "metadata.amount": { "$gt": min }, "metadata.plan": { "$in": ["pro", "team"] } }),
        actions: vec![Action {
            kind: "webhook".into(),
            webhook_id: "w".into(),
        }],
        enabled: true,
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

fn book(matching: bool) -> RuleBook {
    let mut rules: Vec<Rule> = (0..50)
        .map(|i| rule(i, "purchase_completed", 1_000_000 + i as i64))
        .collect();
    rules.extend((50..100).map(|i| rule(i, &format!("other_{i}"), 0)));
    if matching {
        rules[0] = rule(0, "purchase_completed", 10);
    }
    let hook = Webhook {
        id: "w".into(),
        site: "shop".into(),
        url: "https://203.0.113.10/hook".into(),
        events: vec![],
        secret: "bench-secret".into(),
        created_at: 0,
    };
    RuleBook::from_records(vec![("shop".into(), rules, vec![hook])])
}

fn main() {
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let event = ProductEvent {
        site: "shop".into(),
        event_name: "purchase_completed".into(),
        metadata_json:
            json!({ "amount": 750, "plan": "pro", "items": [1, 2, 3], "source": "landing" })
                .to_string(),
        ..samples::product_event()
    };
    let bytes = encode(&event).unwrap();
    let baseline = || {
        let e: ProductEvent = decode(&bytes).unwrap();
        let m: Value = serde_json::from_str(&e.metadata_json).unwrap();
        std::hint::black_box((e, m));
    };
    let with_rules = |book: &RuleBook| {
        let e: ProductEvent = decode(&bytes).unwrap();
        let site = book.site(&e.site).unwrap();
        std::hint::black_box(deliveries(&site, &e, 0));
    };
    let rate = |f: &dyn Fn()| {
        let started = Instant::now();
        for _ in 0..n {
            f();
        }
        n as f64 / started.elapsed().as_secs_f64()
    };
    let allocations = |f: &dyn Fn()| {
        let region = Region::new(GLOBAL);
        for _ in 0..1000 {
            f();
        }
        region.change().allocations as f64 / 1000.0
    };
    let (none, one) = (book(false), book(true));
    let base = rate(&baseline);
    let miss = rate(&|| with_rules(&none));
    let hit = rate(&|| with_rules(&one));
    println!("| per event | events/s | ratio to baseline | allocations |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| baseline: decode + parse metadata | {base:.0} | 1.00 | {:.1} |",
        allocations(&baseline)
    );
    println!(
        "| + 100 rules, none matching | {miss:.0} | {:.2} | {:.1} |",
        miss / base,
        allocations(&|| with_rules(&none))
    );
    println!(
        "| + 100 rules, one matching (a signed delivery) | {hit:.0} | {:.2} | {:.1} |",
        hit / base,
        allocations(&|| with_rules(&one))
    );
}
