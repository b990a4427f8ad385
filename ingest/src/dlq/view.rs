//! A dead letter as operators see it — its latest failure and its replays — for the list route and the CLI.

use opsmantik_runtime::iso_ms;
use serde::Serialize;

use super::replay::Dlq;
use super::store::{self, Filter, Letter, Replays};

/// One dead letter (seed 001's DLQ item).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub id: String,
    pub received_at: String,
    pub site_id: Option<String>,
    pub stage: String,
    pub reason: String,
    pub error: String,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub replay_count: u32,
    pub last_replay_at: Option<String>,
    /// Why the last replay did not help: the stage refused the record again (its reason and detail), or it
    /// could not be published.
    pub last_replay_error: Option<String>,
}

impl Item {
    pub fn new(l: Letter, r: Replays) -> Self {
        // The stage refused the latest replay again: its refusal is the replay's error.
        let failed_again = l.failed_replays > 0 && l.failed_replays >= r.count;
        let last_replay_error = if failed_again {
            Some(format!("{}: {}", l.last_reason, l.last_detail))
        } else {
            r.last_error
        };
        Self {
            replay_count: r.count.max(l.failed_replays),
            last_replay_at: r.last_at.map(iso_ms),
            last_replay_error,
            received_at: iso_ms(l.received_at * 1000),
            site_id: (!l.letter_site.is_empty()).then_some(l.letter_site),
            id: l.id,
            stage: l.stage,
            reason: l.last_reason,
            error: l.last_detail,
            source_topic: l.source_topic,
            source_partition: l.source_partition,
            source_offset: l.source_offset,
        }
    }
}

/// The total matching `f` and its page of items.
pub async fn page(dlq: &Dlq, f: &Filter) -> Result<(u64, Vec<Item>), String> {
    let (count, letters) = store::list(&dlq.clickhouse, f)
        .await
        .map_err(|e| e.to_string())?;
    let ids: Vec<String> = letters.iter().map(|l| l.id.clone()).collect();
    let replays = store::replays(&dlq.redis, &ids)
        .await
        .map_err(|e| e.to_string())?;
    let items = letters
        .into_iter()
        .zip(replays)
        .map(|(l, r)| Item::new(l, r))
        .collect();
    Ok((count, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(failed_replays: u32) -> Letter {
        Letter {
            id: "t:0:1:sessionizer".into(),
            received_at: 1_700_000_000,
            letter_site: String::new(),
            stage: "sessionizer".into(),
            last_reason: "undecodable".into(),
            last_detail: "bad magic".into(),
            source_topic: "t".into(),
            source_partition: 0,
            source_offset: 1,
            failed_replays,
        }
    }

    fn replays(count: u32, last_error: Option<&str>) -> Replays {
        Replays {
            count,
            last_at: (count > 0).then_some(1_700_000_100_000),
            last_error: last_error.map(str::to_string),
        }
    }

    #[test]
    fn a_replay_is_told_apart_from_a_failure_after_it() {
        let never = Item::new(letter(0), replays(0, None));
        assert_eq!((never.replay_count, never.last_replay_error), (0, None));
        assert_eq!(never.site_id, None);
        // Replayed once, not refused since.
        let fine = Item::new(letter(0), replays(1, None));
        assert_eq!((fine.replay_count, fine.last_replay_error), (1, None));
        // Replayed once and the stage refused it again.
        let again = Item::new(letter(1), replays(1, None));
        assert_eq!(
            again.last_replay_error.as_deref(),
            Some("undecodable: bad magic")
        );
        // Replayed a second time after that refusal: nothing known against the second one yet.
        let second = Item::new(letter(1), replays(2, None));
        assert_eq!((second.replay_count, second.last_replay_error), (2, None));
        // The second could not be published.
        let unpublished = Item::new(letter(1), replays(2, Some("broker down")));
        assert_eq!(
            unpublished.last_replay_error.as_deref(),
            Some("broker down")
        );
        // The failure row arrived but Redis lost its count: the higher count wins.
        assert_eq!(Item::new(letter(3), replays(0, None)).replay_count, 3);
    }
}
