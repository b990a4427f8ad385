//! `auto-approve`: the call queue's cron job, `POST /api/jobs/auto-approve` without a signed-in member
//! (docs/calls.md); acts as `job:auto_approve`.

use opsmantik_ingest::auth::access::{self, Need};
use opsmantik_ingest::auth::{AuthError, Principal};
use opsmantik_ingest::calls::auto_approve::{self, Params};
use opsmantik_ingest::http::error::ApiError;
use opsmantik_ingest::EdgeConfig;
use opsmantik_runtime::kafka::KafkaPublisher;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::out::Exit;

#[derive(Debug, clap::Args)]
pub struct AutoApprove {
    /// The site's public id or id.
    #[arg(long)]
    site: String,
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(i64).range(1..=168))]
    min_age_hours: i64,
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..=500))]
    limit: u16,
}

fn refused(e: ApiError) -> Exit {
    Exit::Failed(anyhow::anyhow!(
        "{} {}: {}",
        e.status.as_u16(),
        e.code,
        e.message
    ))
}

pub async fn auto_approve(edge: &EdgeConfig, c: AutoApprove) -> Result<Value, Exit> {
    let shutdown = CancellationToken::new();
    let publisher = KafkaPublisher::new(&edge.kafka)?;
    let (state, tasks) = opsmantik_ingest::app::tasks::start(edge, &publisher, &shutdown).await?;
    let who = Principal::Job("auto_approve");
    let params = Params {
        min_age_hours: c.min_age_hours,
        limit: usize::from(c.limit),
    };
    let outcome = match access::site(&state, &who, &c.site, Need::EDIT).await {
        Ok(site) => auto_approve::run(&state, &who, &site, params)
            .await
            .map_err(refused),
        Err(AuthError::NotFound) => Err(Exit::NotFound(format!("site `{}`", c.site))),
        Err(e) => Err(refused(e.into())),
    };
    shutdown.cancel();
    publisher.flush(std::time::Duration::from_secs(5))?;
    for task in tasks {
        let _ = task.await;
    }
    let approved = outcome?;
    Ok(json!({ "approved": approved, "text": format!("approved {approved}") }))
}
