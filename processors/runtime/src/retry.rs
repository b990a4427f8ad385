//! The retry policy for transport failures: exponential backoff, capped, interrupted by shutdown.

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
