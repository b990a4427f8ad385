//! `opsmantik-jobs`: the operator's scheduled jobs, for cron. Runs with the edge's own settings (the same
//! flags and environment: `KAFKA_BROKERS`, `REDIS_URL`, `CLICKHOUSE_URL`, …) and acts as `job:<name>` in the
//! audit trail.
//!
//!   opsmantik-jobs auto-approve --site SITE [--min-age-hours 24] [--limit 200]
//!
//! `auto-approve` is `POST /api/jobs/auto-approve` without a signed-in member (docs/calls.md).

use clap::{Parser, Subcommand};
use opsmantik_ingest::auth::access::{self, Need};
use opsmantik_ingest::auth::Principal;
use opsmantik_ingest::calls::auto_approve::{self, Params};
use opsmantik_ingest::http::error::ApiError;
use opsmantik_ingest::EdgeConfig;
use opsmantik_runtime::kafka::KafkaPublisher;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(about = "OpsMantik scheduled jobs")]
struct Cli {
    #[command(flatten)]
    edge: EdgeConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Confirm the site's low-risk intents older than the cutoff (docs/calls.md).
    AutoApprove {
        /// The site's public id or id.
        #[arg(long)]
        site: String,
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(i64).range(1..=168))]
        min_age_hours: i64,
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
    },
}

fn refused(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{} {}: {}", e.status.as_u16(), e.code, e.message)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    opsmantik_runtime::telemetry::init_logs(&cli.edge.telemetry);
    let shutdown = CancellationToken::new();
    let publisher = KafkaPublisher::new(&cli.edge.kafka)?;
    let (state, tasks) =
        opsmantik_ingest::app::tasks::start(&cli.edge, &publisher, &shutdown).await?;
    let outcome = match cli.command {
        Command::AutoApprove {
            site,
            min_age_hours,
            limit,
        } => {
            let who = Principal::Job("auto_approve");
            let params = Params {
                min_age_hours,
                limit: usize::from(limit),
            };
            match access::site(&state, &who, &site, Need::EDIT).await {
                Ok(site) => auto_approve::run(&state, &who, &site, params)
                    .await
                    .map_err(refused),
                Err(e) => Err(refused(e.into())),
            }
        }
    };
    shutdown.cancel();
    publisher.flush(std::time::Duration::from_secs(5))?;
    for task in tasks {
        let _ = task.await;
    }
    println!("approved {}", outcome?);
    Ok(())
}
