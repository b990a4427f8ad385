//! The retry policy for transport failures: exponential backoff, capped, interrupted by shutdown, and
//! [`Backoff::retry`], the one loop that applies it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::RuntimeError;

/// Exponential backoff: `initial`, doubling, never above `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Sleeps for `delay(attempt)`, or returns `Shutdown` as soon as the token is cancelled.
    pub async fn wait(
        &self,
        attempt: u32,
        shutdown: &CancellationToken,
    ) -> Result<(), RuntimeError> {
        tokio::select! {
            _ = shutdown.cancelled() => Err(RuntimeError::Shutdown),
            _ = tokio::time::sleep(self.delay(attempt)) => Ok(()),
        }
    }

    /// Runs `op` until it succeeds: after each failure logs it (with `what` and the attempt), calls
    /// `on_retry` (a metric) and waits `delay(attempt)`. Returns `Shutdown` if the token is cancelled first.
    pub async fn retry<T, E, F>(
        &self,
        what: &str,
        shutdown: &CancellationToken,
        mut on_retry: impl FnMut(),
        mut op: impl FnMut() -> F,
    ) -> Result<T, RuntimeError>
    where
        E: std::fmt::Display,
        F: std::future::Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    on_retry();
                    tracing::warn!(error = %e, what, attempt, "failed, retrying");
                    self.wait(attempt, shutdown).await?;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(b.delay(0), Duration::from_millis(100));
        assert_eq!(b.delay(1), Duration::from_millis(200));
        assert_eq!(b.delay(3), Duration::from_millis(800));
        assert_eq!(b.delay(4), Duration::from_secs(1));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_runs_until_success_counting_each_retry() {
        let token = CancellationToken::new();
        let (mut calls, mut retries) = (0, 0);
        let started = tokio::time::Instant::now();
        let value = Backoff::default()
            .retry(
                "test",
                &token,
                || retries += 1,
                || {
                    calls += 1;
                    let n = calls;
                    async move {
                        if n < 4 {
                            Err("down")
                        } else {
                            Ok(n)
                        }
                    }
                },
            )
            .await
            .unwrap();
        assert_eq!((value, retries), (4, 3));
        // 100 + 200 + 400 ms of backoff.
        assert_eq!(started.elapsed(), Duration::from_millis(700));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_on_shutdown() {
        let token = CancellationToken::new();
        token.cancel();
        let result: Result<(), _> = Backoff::default()
            .retry("test", &token, || {}, || async { Err::<(), _>("down") })
            .await;
        assert!(matches!(result, Err(RuntimeError::Shutdown)));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_interrupts_the_wait() {
        let token = CancellationToken::new();
        let b = Backoff {
            initial: Duration::from_secs(60),
            max: Duration::from_secs(60),
        };
        let waiting = b.wait(0, &token);
        token.cancel();
        assert!(matches!(waiting.await, Err(RuntimeError::Shutdown)));
    }
}
