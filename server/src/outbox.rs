//! What the two outboxes (platform sync and notices) share: how long a worker keeps a claimed
//! row and how long a failed row waits before its next attempt.

use chrono::TimeDelta;

/// How long a claimed row is left to its worker before another may take it.
pub const LEASE: TimeDelta = TimeDelta::seconds(60);

/// Delay before attempt `attempts + 1`: 30 s doubling, at most an hour.
pub fn backoff(attempts: u32) -> TimeDelta {
    let seconds = 30i64.saturating_mul(1i64 << attempts.min(7));
    TimeDelta::seconds(seconds.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour() {
        assert_eq!(backoff(0), TimeDelta::seconds(30));
        assert_eq!(backoff(1), TimeDelta::seconds(60));
        assert_eq!(backoff(3), TimeDelta::seconds(240));
        assert_eq!(backoff(9), TimeDelta::seconds(3600));
    }
}
