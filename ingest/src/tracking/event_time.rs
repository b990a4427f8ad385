//! Event time (DESIGN.md §5): the receive time, corrected by the client's clock offset when the hit carries
//! its event time `ts` and send time `st`, clamped to [receive − 72 h, receive + 1 min].

const MAX_PAST_MS: i64 = 72 * 60 * 60 * 1000;
const MAX_FUTURE_MS: i64 = 60 * 1000;

/// The event time of a hit received at `received_ms` with optional client times (ms since the epoch).
pub fn event_time(received_ms: i64, ts: Option<i64>, st: Option<i64>) -> i64 {
    match (ts, st) {
        (Some(ts), Some(st)) => {
            let queued = st.saturating_sub(ts);
            received_ms
                .saturating_sub(queued)
                .clamp(received_ms - MAX_PAST_MS, received_ms + MAX_FUTURE_MS)
        }
        _ => received_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: i64 = 1_767_225_600_000;

    #[test]
    fn without_both_client_times_it_is_the_receive_time() {
        assert_eq!(event_time(R, None, None), R);
        assert_eq!(event_time(R, Some(5), None), R);
    }

    #[test]
    fn queued_hits_move_back_by_the_queueing_delay_whatever_the_client_clock() {
        // Client clock 2 hours off; hit queued 10 minutes before being sent.
        let skew = 2 * 3_600_000;
        assert_eq!(
            event_time(R, Some(R + skew - 600_000), Some(R + skew)),
            R - 600_000
        );
    }

    #[test]
    fn clamped_to_72_hours_back_and_one_minute_ahead() {
        assert_eq!(event_time(R, Some(0), Some(i64::MAX)), R - MAX_PAST_MS);
        assert_eq!(
            event_time(R, Some(R + 3_600_000), Some(R)),
            R + MAX_FUTURE_MS
        );
    }
}
