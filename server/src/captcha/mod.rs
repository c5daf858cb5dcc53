//! The anti-automation check before an SMS code is sent (seed 000: "按住滑块向右滑动"): a
//! server-issued, single-use slider challenge. The page records the drag (time and position of
//! each pointer move) and solves a small proof of work bound to the challenge; the server checks
//! both and answers with a short-lived, single-use pass that the code-sending endpoint consumes.
//!
//! Neither check stops a determined attacker alone. Together they make every code request cost
//! real work (about 2^18 SM3 evaluations at the default difficulty) and a plausible human drag,
//! and the per-phone and per-address limits of the OTP service bound what is left. The work
//! grows with the challenges one address asked for recently (one more bit each time their
//! number doubles past [`CaptchaLimits::free_challenges`]), and an address that asks for more
//! than [`CaptchaLimits::per_address`] in a window is refused until the window ends.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::failure::{Code, Describe, Description, code};
use crate::{
    kv::{Kv, KvError},
    tokens,
};

/// Slider track length in CSS pixels; the drag must reach its end.
pub const TRACK_WIDTH: u32 = 300;
/// How close to the end the last point must be.
const END_TOLERANCE: f64 = 4.0;
/// Fewest pointer samples a drag may have.
const MIN_POINTS: usize = 8;
/// Most samples accepted (a bound on work, not a heuristic).
const MAX_POINTS: usize = 2_000;
/// A drag faster than this is not a hand.
const MIN_DRAG_MS: u64 = 250;
/// A drag slower than this is abandoned.
const MAX_DRAG_MS: u64 = 20_000;

/// Settings of the check.
#[derive(Debug, Clone, Copy)]
pub struct CaptchaLimits {
    /// How long a challenge may be answered.
    pub challenge_ttl: Duration,
    /// How long a pass may be used.
    pub pass_ttl: Duration,
    /// Leading zero bits the proof of work needs at first.
    pub difficulty_bits: u32,
    /// Challenges one address gets per [`CaptchaLimits::window`] at the first difficulty.
    pub free_challenges: u32,
    /// Challenges one address may ask for per window.
    pub per_address: u32,
    /// The window the challenges of an address are counted in.
    pub window: Duration,
    /// The most bits added to the first difficulty.
    pub max_extra_bits: u32,
}

impl Default for CaptchaLimits {
    fn default() -> Self {
        Self {
            challenge_ttl: Duration::from_secs(120),
            pass_ttl: Duration::from_secs(120),
            difficulty_bits: 18,
            free_challenges: 5,
            per_address: 60,
            window: Duration::from_secs(600),
            max_extra_bits: 6,
        }
    }
}

impl CaptchaLimits {
    /// The difficulty of an address's `count`-th challenge in the window: the first difficulty
    /// for the free ones, then one bit more each time the count doubles.
    pub fn difficulty_for(&self, count: u32) -> u32 {
        let free = self.free_challenges.max(1);
        let extra = match count.saturating_sub(1) / free {
            0 => 0,
            over => over.ilog2() + 1,
        };
        self.difficulty_bits + extra.min(self.max_extra_bits)
    }
}

/// A challenge for the page.
#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    /// Identifier (also the proof-of-work prefix).
    pub id: String,
    /// Track length the drag must cover.
    pub track_width: u32,
    /// Find `nonce` with SM3(id ‖ ":" ‖ nonce) starting with this many zero bits.
    pub difficulty_bits: u32,
    /// When the challenge stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// One pointer sample: milliseconds since the press, and the slider position.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TrackPoint {
    /// Milliseconds since the pointer went down.
    pub t: u64,
    /// Position along the track, CSS pixels.
    pub x: f64,
}

/// Why an answer was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptchaError {
    /// Unknown, expired or already answered challenge.
    #[error("challenge not found")]
    ChallengeNotFound,
    /// The proof of work does not meet the difficulty.
    #[error("proof of work insufficient")]
    WorkInsufficient,
    /// The drag does not look like a hand finishing the slide.
    #[error("drag rejected: {reason}")]
    DragRejected {
        /// Which check failed (logged, not shown).
        reason: &'static str,
    },
    /// Unknown, expired or used pass.
    #[error("pass invalid")]
    PassInvalid,
    /// This address asked for too many challenges in the window.
    #[error("too many challenges from this address")]
    TooMany {
        /// Minutes until the window ends (at most).
        retry_after_mins: u64,
    },
    /// The kv store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
}

impl CaptchaError {
    /// Stable code.
    pub fn code(&self) -> Code {
        match self {
            Self::ChallengeNotFound => code::CAPTCHA_EXPIRED,
            Self::WorkInsufficient | Self::DragRejected { .. } => code::CAPTCHA_FAILED,
            Self::PassInvalid => code::CAPTCHA_REQUIRED,
            Self::TooMany { .. } => code::CAPTCHA_RATE_LIMITED,
            Self::Kv(_) => code::KV_UNAVAILABLE,
        }
    }

    /// What to do, in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            Self::ChallengeNotFound => "滑块验证已过期，请刷新后重新滑动".into(),
            Self::WorkInsufficient | Self::DragRejected { .. } => {
                "滑块验证未通过，请按住滑块匀速拖动到最右端".into()
            }
            Self::PassInvalid => "请先完成滑块验证".into(),
            Self::TooMany { retry_after_mins } => {
                format!("当前网络滑块验证请求过于频繁，请 {retry_after_mins} 分钟后再试")
            }
            Self::Kv(_) => "会话存储暂时无法访问，请稍后重试".into(),
        }
    }
}

impl Describe for CaptchaError {
    fn describe(&self) -> Description {
        Description::new(self.code(), self.message_zh())
    }
}

/// Leading zero bits of SM3(id ‖ ":" ‖ nonce).
pub fn work_bits(id: &str, nonce: &str) -> u32 {
    let digest = mcert_signer::sm3_digest(format!("{id}:{nonce}").as_bytes());
    let mut bits = 0;
    for byte in digest {
        if byte == 0 {
            bits += 8;
        } else {
            bits += byte.leading_zeros();
            break;
        }
    }
    bits
}

/// Checks that a recorded drag reaches the end of the track like a hand does: enough samples,
/// increasing times, a plausible duration, no jumps backwards, and a speed that varies.
pub fn check_drag(track: &[TrackPoint]) -> Result<(), CaptchaError> {
    let reject = |reason| Err(CaptchaError::DragRejected { reason });
    if track.len() < MIN_POINTS || track.len() > MAX_POINTS {
        return reject("sample count");
    }
    let (Some(first), Some(last)) = (track.first(), track.last()) else {
        return reject("empty");
    };
    if !track.iter().all(|p| p.x.is_finite()) {
        return reject("position not a number");
    }
    if first.x > END_TOLERANCE {
        return reject("does not start at the handle");
    }
    if last.x < f64::from(TRACK_WIDTH) - END_TOLERANCE || last.x > f64::from(TRACK_WIDTH) + 1.0 {
        return reject("does not end at the end");
    }
    let duration = last.t.saturating_sub(first.t);
    if !(MIN_DRAG_MS..=MAX_DRAG_MS).contains(&duration) {
        return reject("duration");
    }
    let mut speeds = Vec::with_capacity(track.len());
    for pair in track.windows(2) {
        let [a, b] = pair else { continue };
        if b.t <= a.t {
            return reject("time not increasing");
        }
        if b.x < a.x - 2.0 {
            return reject("jumps backwards");
        }
        // Sample times are whole milliseconds, far below 2^52: exact in f64.
        speeds.push((b.x - a.x) / (b.t - a.t) as f64);
    }
    let mean = speeds.iter().sum::<f64>() / speeds.len() as f64;
    let variance = speeds.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / speeds.len() as f64;
    // A script moving at one constant speed has no variance; a hand accelerates and slows.
    if variance.sqrt() < mean.abs() * 0.05 {
        return reject("constant speed");
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredChallenge {
    difficulty_bits: u32,
}

/// Issues challenges and passes.
pub struct Captcha {
    kv: Arc<dyn Kv>,
    limits: CaptchaLimits,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Captcha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captcha")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Captcha {
    /// The check over the kv store; challenges expire by `clock`.
    pub fn new(kv: Arc<dyn Kv>, limits: CaptchaLimits, clock: Arc<dyn Clock>) -> Self {
        Self { kv, limits, clock }
    }

    /// A new challenge for a requester at `client_address` (the rate-limit key of the address),
    /// as hard as that address's recent challenges make it.
    pub async fn challenge(&self, client_address: &str) -> Result<Challenge, CaptchaError> {
        let count = self
            .kv
            .incr(
                &format!("captcha-address:{client_address}"),
                self.limits.window,
            )
            .await?;
        if count > i64::from(self.limits.per_address) {
            return Err(CaptchaError::TooMany {
                retry_after_mins: self.limits.window.as_secs().div_ceil(60),
            });
        }
        let difficulty_bits = self
            .limits
            .difficulty_for(u32::try_from(count).unwrap_or(u32::MAX));
        let id = tokens::random_token(16);
        let stored = serde_json::to_vec(&StoredChallenge { difficulty_bits })
            .map_err(|_| CaptchaError::ChallengeNotFound)?;
        self.kv
            .put_if_absent(&format!("captcha:{id}"), &stored, self.limits.challenge_ttl)
            .await?;
        Ok(Challenge {
            id,
            track_width: TRACK_WIDTH,
            difficulty_bits,
            expires_at: self.clock.now()
                + chrono::TimeDelta::from_std(self.limits.challenge_ttl)
                    .unwrap_or(chrono::TimeDelta::MAX),
        })
    }

    /// Checks an answer (one per challenge, right or wrong) and returns a single-use pass.
    pub async fn answer(
        &self,
        id: &str,
        nonce: &str,
        track: &[TrackPoint],
    ) -> Result<String, CaptchaError> {
        let stored = self
            .kv
            .take(&format!("captcha:{id}"))
            .await?
            .ok_or(CaptchaError::ChallengeNotFound)?;
        let stored: StoredChallenge =
            serde_json::from_slice(&stored).map_err(|_| CaptchaError::ChallengeNotFound)?;
        if nonce.len() > 64 || work_bits(id, nonce) < stored.difficulty_bits {
            return Err(CaptchaError::WorkInsufficient);
        }
        check_drag(track)?;
        let pass = tokens::random_token(16);
        self.kv
            .put_if_absent(&format!("captcha-pass:{pass}"), b"1", self.limits.pass_ttl)
            .await?;
        Ok(pass)
    }

    /// Uses up a pass; `PassInvalid` if it is unknown, expired or used.
    pub async fn consume(&self, pass: &str) -> Result<(), CaptchaError> {
        match self.kv.take(&format!("captcha-pass:{pass}")).await? {
            Some(_) => Ok(()),
            None => Err(CaptchaError::PassInvalid),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::kv::test_kv;

    /// These tests do not move time.
    fn clock() -> Arc<dyn Clock> {
        Arc::new(crate::clock::SystemClock)
    }

    /// A drag that speeds up then slows down, as a hand does.
    fn human_drag() -> Vec<TrackPoint> {
        (0..=30u32)
            .map(|i| {
                let f = f64::from(i) / 30.0;
                let eased = f * f * (3.0 - 2.0 * f);
                TrackPoint {
                    t: u64::from(i) * 25,
                    x: eased * f64::from(TRACK_WIDTH),
                }
            })
            .collect()
    }

    fn solve(id: &str, bits: u32) -> String {
        (0u64..)
            .map(|n| n.to_string())
            .find(|nonce| work_bits(id, nonce) >= bits)
            .unwrap()
    }

    #[test]
    fn a_human_drag_passes_and_scripted_ones_do_not() {
        check_drag(&human_drag()).unwrap();
        let constant: Vec<_> = (0..=30)
            .map(|i| TrackPoint {
                t: i * 25,
                x: i as f64 * 10.0,
            })
            .collect();
        let short_of_end: Vec<_> = human_drag()
            .into_iter()
            .map(|p| TrackPoint { x: p.x * 0.9, ..p })
            .collect();
        let too_fast: Vec<_> = human_drag()
            .into_iter()
            .map(|p| TrackPoint { t: p.t / 10, ..p })
            .collect();
        let mut backwards_time = human_drag();
        backwards_time[5].t = 1;
        let mut nan = human_drag();
        nan[3].x = f64::NAN;
        for (track, why) in [
            (constant, "constant speed"),
            (short_of_end, "end"),
            (too_fast, "duration"),
            (backwards_time, "time"),
            (nan, "nan"),
            (human_drag()[..5].to_vec(), "few points"),
        ] {
            assert!(check_drag(&track).is_err(), "{why}");
        }
    }

    #[test]
    fn work_bits_counts_leading_zero_bits() {
        let nonce = solve("abc", 8);
        assert!(work_bits("abc", &nonce) >= 8);
        assert_eq!(work_bits("abc", &nonce), {
            let d = mcert_signer::sm3_digest(format!("abc:{nonce}").as_bytes());
            let mut bits = 0;
            for b in d {
                bits += b.leading_zeros();
                if b != 0 {
                    break;
                }
            }
            bits
        });
    }

    #[test]
    fn the_work_grows_by_a_bit_each_time_an_address_doubles_its_challenges() {
        let limits = CaptchaLimits::default();
        let bits: Vec<u32> = [1, 5, 6, 10, 11, 20, 21, 40, 41, 60, 1000]
            .into_iter()
            .map(|count| limits.difficulty_for(count))
            .collect();
        assert_eq!(bits, [18, 18, 19, 19, 20, 20, 21, 21, 22, 22, 24]);
    }

    /// The attack: one address asking for challenges as fast as it can. Each costs more work,
    /// and past the limit there are none; another address is not affected.
    #[tokio::test]
    async fn one_address_gets_harder_challenges_then_none() {
        let limits = CaptchaLimits {
            per_address: 12,
            ..CaptchaLimits::default()
        };
        let captcha = Captcha::new(test_kv(clock()).await, limits, clock());
        let mut bits = Vec::new();
        for _ in 0..12 {
            bits.push(
                captcha
                    .challenge("203.0.113.5")
                    .await
                    .unwrap()
                    .difficulty_bits,
            );
        }
        assert_eq!(bits, [18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 20, 20]);
        let refused = captcha.challenge("203.0.113.5").await;
        let Err(error) = refused else {
            panic!("a 13th challenge was issued")
        };
        assert_eq!(error.code(), "captcha_rate_limited");
        assert!(
            error.message_zh().contains("10 分钟"),
            "{}",
            error.message_zh()
        );
        let other = captcha.challenge("203.0.113.6").await.unwrap();
        assert_eq!(other.difficulty_bits, 18);
    }

    #[tokio::test]
    async fn a_challenge_is_answered_once_and_its_pass_used_once() {
        let captcha = Captcha::new(
            test_kv(clock()).await,
            CaptchaLimits {
                difficulty_bits: 10,
                ..CaptchaLimits::default()
            },
            clock(),
        );
        let challenge = captcha.challenge("10.0.0.1").await.unwrap();
        let nonce = solve(&challenge.id, challenge.difficulty_bits);
        let pass = captcha
            .answer(&challenge.id, &nonce, &human_drag())
            .await
            .unwrap();
        assert!(matches!(
            captcha.answer(&challenge.id, &nonce, &human_drag()).await,
            Err(CaptchaError::ChallengeNotFound)
        ));
        captcha.consume(&pass).await.unwrap();
        assert!(matches!(
            captcha.consume(&pass).await,
            Err(CaptchaError::PassInvalid)
        ));
    }

    #[tokio::test]
    async fn missing_work_or_a_bad_drag_uses_up_the_challenge() {
        let captcha = Captcha::new(
            test_kv(clock()).await,
            CaptchaLimits {
                difficulty_bits: 12,
                ..CaptchaLimits::default()
            },
            clock(),
        );
        let challenge = captcha.challenge("10.0.0.1").await.unwrap();
        let lazy = (0u64..)
            .map(|n| n.to_string())
            .find(|nonce| work_bits(&challenge.id, nonce) < 12)
            .unwrap();
        assert!(matches!(
            captcha.answer(&challenge.id, &lazy, &human_drag()).await,
            Err(CaptchaError::WorkInsufficient)
        ));
        let nonce = solve(&challenge.id, 12);
        assert!(matches!(
            captcha.answer(&challenge.id, &nonce, &human_drag()).await,
            Err(CaptchaError::ChallengeNotFound)
        ));
        let second = captcha.challenge("10.0.0.1").await.unwrap();
        let nonce = solve(&second.id, 12);
        let result = captcha.answer(&second.id, &nonce, &human_drag()[..3]).await;
        assert!(matches!(result, Err(CaptchaError::DragRejected { .. })));
        assert_eq!(result.unwrap_err().code(), "captcha_failed");
    }
}
