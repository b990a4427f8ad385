//! [`MemoryPublisher`]: an in-memory publisher for unit tests, which can be told to fail.

use std::sync::Mutex;

use futures::future::BoxFuture;

use super::{Delivery, OutRecord, PublishError, Publisher};

/// Keeps published records in memory. `fail_from(n)` makes the n-th record (0-based, counted over the
/// publisher's life) and every later one fail as unavailable, until `heal()`.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<OutRecord>,
    attempts: usize,
    fail_from: Option<usize>,
}

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail_from(&self, n: usize) {
        self.lock().fail_from = Some(n);
    }

    pub fn heal(&self) {
        self.lock().fail_from = None;
    }

    /// Every record acknowledged so far.
    pub fn sent(&self) -> Vec<OutRecord> {
        self.lock().sent.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another test thread panicked; the data is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Publisher for MemoryPublisher {
    fn publish_batch(&self, records: Vec<OutRecord>) -> BoxFuture<'_, Vec<Delivery>> {
        let mut state = self.lock();
        let results = records
            .into_iter()
            .map(|r| {
                let n = state.attempts;
                state.attempts += 1;
                let result = if state.fail_from.is_some_and(|f| n >= f) {
                    Err(PublishError::Unavailable(format!(
                        "told to fail at record {n}"
                    )))
                } else {
                    state.sent.push(r.clone());
                    Ok(())
                };
                (r, result)
            })
            .collect();
        Box::pin(async move { results })
    }
}
