//! `dlq list|replay`: dead letters in bulk. A replay goes through the same code as `POST
//! /api/sync/dlq/replay` (audited as the command line). `replay` takes only dead letters not replayed yet
//! (`--again` for those too), so an interrupted run is finished by running it again.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use opsmantik_ingest::dlq::replay::{self, Dlq as Stores, Replayer};
use opsmantik_ingest::dlq::store::Filter;
use opsmantik_ingest::dlq::view::{self, Item};
use opsmantik_ingest::EdgeConfig;
use opsmantik_runtime::kafka::KafkaPublisher;
use opsmantik_runtime::redis::Store;
use opsmantik_schemas::dlq::Reason;
use serde_json::{json, Value};

use crate::out::{table, Exit};

#[derive(Debug, Subcommand)]
pub enum Dlq {
    /// List dead letters, newest first.
    List {
        #[command(flatten)]
        select: Select,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
    },
    /// Replay every matching dead letter not replayed yet; prints replayed, failed, skipped.
    Replay {
        #[command(flatten)]
        select: Select,
        /// Show what would be replayed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also replay dead letters replayed before (e.g. after fixing why they failed again).
        #[arg(long)]
        again: bool,
    },
}

/// Which dead letters.
#[derive(Debug, Args)]
pub struct Select {
    /// Reason code (undecodable, wrong_record, invalid, late_event, store_rejected, webhook_gave_up).
    #[arg(long, value_parser = Reason::ALL.map(Reason::code))]
    reason: Option<String>,
    /// The stage that refused them (e.g. sessionizer, webhooks).
    #[arg(long)]
    stage: Option<String>,
    /// A site's public id or id.
    #[arg(long)]
    site: Option<String>,
    /// First failed since: an RFC 3339 time or an age like 30m, 24h, 7d.
    #[arg(long)]
    since: Option<String>,
}

/// Unix seconds of `--since`.
fn since(value: &str, now_secs: i64) -> Result<i64, Exit> {
    let bad = || {
        Exit::Failed(anyhow::anyhow!(
            "--since `{value}`: not an RFC 3339 time or an age like 24h"
        ))
    };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp());
    }
    let (n, unit) = value.split_at(value.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(now_secs - n * secs)
}

async fn filter(store: &Store, s: &Select, limit: u32) -> Result<Filter, Exit> {
    let site = match &s.site {
        None => None,
        Some(key) => {
            let site = opsmantik_ingest::sites::find(store, key)
                .await?
                .ok_or_else(|| Exit::NotFound(format!("site `{key}`")))?;
            Some((site.id, site.public_id))
        }
    };
    let now = opsmantik_runtime::now_ms() / 1000;
    Ok(Filter {
        site,
        reason: s.reason.clone(),
        stage: s.stage.clone(),
        from: s
            .since
            .as_deref()
            .map(|v| since(v, now))
            .transpose()?
            .unwrap_or(0),
        to: i64::from(u32::MAX),
        limit,
        offset: 0,
    })
}

fn stores(edge: &EdgeConfig) -> Result<Stores, Exit> {
    Ok(Stores {
        clickhouse: opsmantik_runtime::clickhouse::client(&edge.clickhouse),
        redis: Store::new(&edge.redis)?,
        publisher: Arc::new(KafkaPublisher::new(&edge.kafka)?),
        topics: edge.kafka.topics(),
        publish_timeout: Duration::from_millis(edge.publish_timeout_ms),
    })
}

fn row(i: &Item) -> Vec<String> {
    vec![
        i.id.clone(),
        i.received_at.clone(),
        i.reason.clone(),
        i.replay_count.to_string(),
        i.last_replay_error.clone().unwrap_or_else(|| "-".into()),
        i.error.clone(),
    ]
}

pub async fn run(edge: &EdgeConfig, command: Dlq, json: bool) -> Result<Value, Exit> {
    let dlq = stores(edge)?;
    match command {
        Dlq::List { select, limit } => {
            let f = filter(&dlq.redis, &select, limit).await?;
            let (count, items) = view::page(&dlq, &f).await.map_err(anyhow::Error::msg)?;
            let text = format!(
                "{} of {count}\n{}",
                items.len(),
                table(items.iter().map(row))
            );
            Ok(json!({ "count": count, "items": items, "text": text }))
        }
        Dlq::Replay {
            select,
            dry_run,
            again,
        } => {
            let f = filter(&dlq.redis, &select, 200).await?;
            let all = every(&dlq, f).await?;
            replay_all(&dlq, all, dry_run, again, json).await
        }
    }
}

/// Every dead letter matching `f`, page by page.
async fn every(dlq: &Stores, mut f: Filter) -> Result<Vec<Item>, Exit> {
    let mut all = Vec::new();
    loop {
        let (_, items) = view::page(dlq, &f).await.map_err(anyhow::Error::msg)?;
        let n = items.len();
        all.extend(items);
        if n < f.limit as usize {
            return Ok(all);
        }
        f.offset += u64::from(f.limit);
    }
}

async fn replay_all(
    dlq: &Stores,
    all: Vec<Item>,
    dry_run: bool,
    again: bool,
    json: bool,
) -> Result<Value, Exit> {
    let matched = all.len();
    let (todo, skipped): (Vec<Item>, Vec<Item>) = all
        .into_iter()
        .partition(|i| again || i.replay_count == 0 || i.last_replay_at.is_none());
    let failed_again = skipped
        .iter()
        .filter(|i| i.last_replay_error.is_some())
        .count();
    if dry_run {
        let ids: Vec<&str> = todo.iter().map(|i| i.id.as_str()).collect();
        let text = format!(
            "would replay {} of {matched} (skipped {})\n{}",
            ids.len(),
            skipped.len(),
            ids.join("\n")
        );
        return Ok(
            json!({ "dry_run": true, "matched": matched, "would_replay": ids, "skipped": skipped.len(), "text": text }),
        );
    }
    let bar = ProgressBar::with_draw_target(
        Some(todo.len() as u64),
        if json {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} replayed {msg}") {
        bar.set_style(style);
    }
    let by = Replayer {
        actor: crate::accounts::ACTOR.into(),
        user_id: None,
        email: None,
    };
    let (mut replayed, mut failed) = (0usize, Vec::new());
    for item in &todo {
        match replay::replay(dlq, &by, &item.id).await {
            Ok(_) => replayed += 1,
            Err(e) => failed.push(json!({ "id": item.id, "error": e.to_string() })),
        }
        bar.set_message(format!("{} failed", failed.len()));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let text = format!(
        "matched {matched}: replayed {replayed}, failed {}, skipped {} (replayed before; {failed_again} of them failed again — use --again)",
        failed.len(), skipped.len()
    );
    let report = json!({ "matched": matched, "replayed": replayed, "failed": failed.len(), "failures": failed,
                         "skipped": skipped.len(), "skipped_failed_again": failed_again, "text": text });
    if failed.is_empty() {
        Ok(report)
    } else {
        Err(Exit::Partial(report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_and_ages() {
        assert_eq!(since("2026-11-23T00:00:00Z", 0).ok(), Some(1_795_392_000));
        assert_eq!(since("24h", 100_000).ok(), Some(100_000 - 86_400));
        assert_eq!(since("30m", 10_000).ok(), Some(10_000 - 1800));
        assert_eq!(since("7d", 1_000_000).ok(), Some(1_000_000 - 604_800));
        for bad in ["", "h", "24", "24x", "yesterday"] {
            assert!(since(bad, 0).is_err(), "{bad}");
        }
    }
}
