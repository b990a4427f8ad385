//! Topic administration: creates the catalog's topics (idempotently) with their partition counts.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use opsmantik_schemas::Topic;

use crate::config::KafkaConfig;
use crate::RuntimeError;

/// Creates every catalog topic under the config's namespace; topics that exist are left as they are.
/// Returns the names that were newly created.
pub async fn create_topics(config: &KafkaConfig) -> Result<Vec<String>, RuntimeError> {
    let admin: AdminClient<DefaultClientContext> = config
        .client_config()
        .create()
        .map_err(|e| RuntimeError::Config(format!("kafka admin: {e}")))?;
    let topics = config.topics();
    let names: Vec<String> = Topic::ALL.iter().map(|t| topics.name(*t)).collect();
    let new: Vec<NewTopic<'_>> = Topic::ALL
        .iter()
        .zip(&names)
        .map(|(t, name)| NewTopic::new(name, t.partitions(), TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(std::time::Duration::from_secs(10)));
    let results = admin.create_topics(&new, &options).await?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(RuntimeError::Kafka(format!("create topic {name}: {code}")))
            }
        }
    }
    Ok(created)
}
