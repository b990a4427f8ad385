//! `setup`, `topics`, `migrate`: the contracts on a running stack (idempotent).

use opsmantik_ingest::EdgeConfig;
use opsmantik_runtime::redis::Store;
use serde_json::{json, Map, Value};

use crate::out::Exit;

pub async fn setup(edge: &EdgeConfig, topics: bool, migrate: bool) -> Result<Value, Exit> {
    let mut report = Map::new();
    let mut text = Vec::new();
    if topics {
        let created = opsmantik_runtime::kafka::create_topics(&edge.kafka).await?;
        text.push(format!(
            "topics: {} created, the rest existed",
            created.len()
        ));
        report.insert("topics_created".into(), json!(created));
    }
    if topics && migrate {
        let moved =
            opsmantik_runtime::sites::migrate_record_keys(&Store::new(&edge.redis)?).await?;
        text.push(format!(
            "site records moved to their hash-tagged keys: {moved}"
        ));
        report.insert("site_records_moved".into(), json!(moved));
    }
    if migrate {
        let applied = opsmantik_runtime::clickhouse::migrate(&edge.clickhouse).await?;
        text.push(format!(
            "migrations applied to {}: {:?}",
            edge.clickhouse.database, applied
        ));
        report.insert("migrations_applied".into(), json!(applied));
    }
    report.insert("text".into(), json!(text.join("\n")));
    Ok(Value::Object(report))
}
