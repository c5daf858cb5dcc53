//! The time the server goes by. Core code asks a [`Clock`] instead of reading the system time,
//! so that tests move time instead of waiting for it (an agreement countdown, an SMS resend
//! minute, a QR code's two minutes) and a development server can be moved forward by hand
//! (`MCERT_DEV_CLOCK`, `/dev/clock`).
//!
//! [`SystemClock`] in production; [`AdjustableClock`] in tests; [`DevClock`] on a development
//! server that asked for one. Values with a time to live in the kv store follow the clock too:
//! the memory store reads it, and [`crate::kv::Kv::fast_forward`] shortens Redis's own TTLs
//! when the clock moves.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

use crate::failure::{Describe, Description, code};

/// Where the current time comes from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's time: what production runs on.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The lock guards one plain value, so a holder that panicked cannot leave it inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A clock for tests: it runs at the system's pace from the time it was started at or last set
/// to, and a test moves it with [`AdjustableClock::advance`] or [`AdjustableClock::set`]
/// instead of sleeping. It keeps running so that what waits on real time in the server (a
/// worker's backoff, a long poll) still ends.
#[derive(Debug)]
pub struct AdjustableClock {
    anchor: Mutex<Anchor>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    at: DateTime<Utc>,
    since: Instant,
}

impl AdjustableClock {
    /// A clock at the system's time.
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A clock at `at`, running from there.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self {
            anchor: Mutex::new(Anchor {
                at,
                since: Instant::now(),
            }),
        }
    }

    /// Moves the clock forward by `by` (backward if negative).
    pub fn advance(&self, by: TimeDelta) {
        let mut anchor = lock(&self.anchor);
        anchor.at += by;
    }

    /// Sets the clock to `at`; it runs on from there.
    pub fn set(&self, at: DateTime<Utc>) {
        *lock(&self.anchor) = Anchor {
            at,
            since: Instant::now(),
        };
    }
}

impl Default for AdjustableClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for AdjustableClock {
    fn now(&self) -> DateTime<Utc> {
        let anchor = *lock(&self.anchor);
        let elapsed = TimeDelta::from_std(anchor.since.elapsed()).unwrap_or(TimeDelta::MAX);
        anchor
            .at
            .checked_add_signed(elapsed)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// How far a [`DevClock`] may be moved in all: past a year and some, certificates and CRLs of a
/// development CA would start to expire, which is not what moving a countdown along is for.
pub const DEV_CLOCK_LIMIT: TimeDelta = TimeDelta::days(400);

/// The development server's clock (`MCERT_DEV_CLOCK`): another clock (the system's) plus an
/// offset that `POST /dev/clock` moves forward, never back (what was stored keeps its order),
/// and at most [`DEV_CLOCK_LIMIT`] in all. The offset lives in memory: a restart is back at the
/// system's time, with whatever was stored at a later time still ahead.
#[derive(Debug)]
pub struct DevClock {
    base: Arc<dyn Clock>,
    offset: Mutex<TimeDelta>,
}

/// Why the development clock was not moved, or cannot be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DevClockError {
    /// A move of zero or backward: the clock only moves forward.
    #[error("the development clock moves forward only (asked to move {by_secs} s)")]
    NotForward {
        /// The move asked for, in seconds.
        by_secs: i64,
    },
    /// The move would take the clock further than [`DEV_CLOCK_LIMIT`] ahead of the system.
    #[error(
        "the development clock would be {offset_secs} s ahead, past its limit of {limit_secs} s"
    )]
    TooFar {
        /// The offset the move would have made.
        offset_secs: i64,
        /// The largest offset allowed.
        limit_secs: i64,
    },
    /// The server runs without a development clock (`MCERT_DEV_CLOCK` is off).
    #[error("the development clock is off")]
    Off,
}

impl Describe for DevClockError {
    fn describe(&self) -> Description {
        match self {
            Self::NotForward { .. } => Description::new(
                code::DEV_CLOCK_NOT_FORWARD,
                "开发时钟只能向前拨，advance_secs 须为正整数",
            ),
            Self::TooFar { limit_secs, .. } => Description::new(
                code::DEV_CLOCK_TOO_FAR,
                format!(
                    "开发时钟最多比系统时间快 {} 天，请少拨一些，或重启服务器回到系统时间",
                    limit_secs / 86_400
                ),
            ),
            Self::Off => Description::new(
                code::DEV_CLOCK_OFF,
                "开发时钟未开启：请以开发模式并设置 MCERT_DEV_CLOCK=true 启动服务器",
            ),
        }
    }
}

impl DevClock {
    /// `base`'s time, not yet moved.
    pub fn new(base: Arc<dyn Clock>) -> Self {
        Self {
            base,
            offset: Mutex::new(TimeDelta::zero()),
        }
    }

    /// How far ahead of its base the clock is.
    pub fn offset(&self) -> TimeDelta {
        *lock(&self.offset)
    }

    /// Moves the clock forward by `by`; returns the new offset.
    pub fn advance(&self, by: TimeDelta) -> Result<TimeDelta, DevClockError> {
        if by <= TimeDelta::zero() {
            return Err(DevClockError::NotForward {
                by_secs: by.num_seconds(),
            });
        }
        let mut offset = lock(&self.offset);
        let moved = offset
            .checked_add(&by)
            .filter(|moved| *moved <= DEV_CLOCK_LIMIT)
            .ok_or(DevClockError::TooFar {
                offset_secs: offset.num_seconds().saturating_add(by.num_seconds()),
                limit_secs: DEV_CLOCK_LIMIT.num_seconds(),
            })?;
        *offset = moved;
        Ok(moved)
    }
}

impl Clock for DevClock {
    fn now(&self) -> DateTime<Utc> {
        self.base.now() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_moves_when_told_and_runs_on() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let clock = AdjustableClock::starting_at(start);

        let first = clock.now();
        clock.advance(TimeDelta::seconds(61));
        let moved = clock.now();

        assert!(first >= start && first < start + TimeDelta::seconds(5));
        assert!(moved >= first + TimeDelta::seconds(61));
        clock.set(start);
        assert!(clock.now() < moved);
    }

    #[test]
    fn the_development_clock_moves_forward_within_its_limit() {
        let base = Arc::new(AdjustableClock::new());
        let clock = DevClock::new(base.clone());

        assert_eq!(
            clock.advance(TimeDelta::seconds(90)),
            Ok(TimeDelta::seconds(90))
        );
        assert!(clock.now() >= base.now() + TimeDelta::seconds(89));
        assert_eq!(
            clock.advance(TimeDelta::zero()),
            Err(DevClockError::NotForward { by_secs: 0 })
        );
        assert!(matches!(
            clock.advance(TimeDelta::seconds(-5)),
            Err(DevClockError::NotForward { by_secs: -5 })
        ));
        assert!(matches!(
            clock.advance(DEV_CLOCK_LIMIT),
            Err(DevClockError::TooFar { .. })
        ));
        assert_eq!(clock.offset(), TimeDelta::seconds(90));
        assert_eq!(
            clock.advance(DEV_CLOCK_LIMIT - TimeDelta::seconds(90)),
            Ok(DEV_CLOCK_LIMIT)
        );
    }
}
