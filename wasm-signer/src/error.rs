//! The one error type of this crate.

use core::fmt;

/// Why a signer operation failed.
///
/// Every variant has a stable numeric [`code`](SignerError::code): the wasm ABI returns it as the
/// status of an export and the mini-program SDK mirrors it (`miniprogram-sdk/src/errors.ts`), so
/// codes are never reused or renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerError {
    /// The signature is well formed but does not verify under the public key for this message
    /// (including `r` or `s` outside `[1, n-1]`, which GB/T 32918.2 treats as a failed check).
    BadSignature,
    /// The signature is not a strict DER `SEQUENCE { INTEGER r, INTEGER s }` with minimal
    /// encodings, non-negative values of at most 32 bytes and no trailing bytes.
    InvalidSignatureEncoding,
    /// The bytes do not encode a point on the SM2 curve: unknown SEC1 tag, a coordinate not
    /// below p, a point off the curve, or the identity (point at infinity).
    InvalidPoint,
    /// An input has the wrong length for its type.
    InvalidLength {
        /// Length the input must have.
        expected: usize,
        /// Length it had.
        actual: usize,
    },
    /// The distinguishing ID is longer than the 16-bit bit length ENTL can express (8191 bytes).
    DistIdTooLong {
        /// Length of the rejected ID in bytes.
        len: usize,
    },
    /// A wasm caller passed a buffer that is null with a non-zero length or that reaches beyond
    /// linear memory.
    InvalidBuffer {
        /// Start of the buffer as passed.
        ptr: u32,
        /// Length of the buffer as passed.
        len: u32,
    },
    /// Memory for a result could not be allocated.
    OutOfMemory,
    /// A scalar is zero or not below the curve order n where a value in `[1, n-1]` is required,
    /// or host entropy expanded to zero (probability 2^-256 per value).
    InvalidScalar,
    /// The PIN is empty or longer than 64 bytes.
    InvalidPin {
        /// Length of the rejected PIN in bytes (never the PIN itself).
        len: usize,
    },
    /// `cosign_finish` found no co-signing round: none was begun, or the last one already
    /// finished (successfully or not).
    NoPendingSigning,
    /// The joint signature came out degenerate (s = 0 or r + s = n, probability about 2^-255),
    /// or the server could not find a usable nonce; start a new co-signing session.
    RetryNeeded,
    /// The bytes are not a canonical mcert signed message, or a field violates its limits so it
    /// cannot be encoded as one.
    InvalidMessage {
        /// Which rule the message broke.
        reason: &'static str,
    },
    /// The stored share is not in a format this crate writes: unknown version or KDF, an
    /// iteration count outside `[1, 2^24]`, or a masked value that is zero or not below n.
    InvalidShare,
    /// The server's check of a PIN proof failed: the phone unmasked its share with a wrong PIN,
    /// or the proof was made for another session, message, key or nonce commitment.
    ProofRejected,
    /// An encrypted co-signing message does not open: its tag does not verify, because it was
    /// altered, sealed to another transport key, or sealed for another round or session.
    TransportRejected,
    /// A sealed co-signing round starts with a version this crate does not read (version 1 was
    /// the round in clear).
    UnsupportedRoundVersion {
        /// The version byte found.
        version: u8,
    },
}

impl SignerError {
    /// Stable numeric code, never 0 (0 is the ABI's success status).
    pub const fn code(&self) -> u32 {
        match self {
            Self::BadSignature => 1,
            Self::InvalidSignatureEncoding => 2,
            Self::InvalidPoint => 3,
            Self::InvalidLength { .. } => 4,
            Self::DistIdTooLong { .. } => 5,
            Self::InvalidBuffer { .. } => 6,
            Self::OutOfMemory => 7,
            Self::InvalidScalar => 8,
            Self::InvalidPin { .. } => 9,
            Self::NoPendingSigning => 10,
            Self::RetryNeeded => 11,
            Self::InvalidMessage { .. } => 12,
            Self::InvalidShare => 13,
            Self::ProofRejected => 14,
            Self::TransportRejected => 15,
            Self::UnsupportedRoundVersion { .. } => 16,
        }
    }
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSignature => f.write_str("signature does not verify"),
            Self::InvalidSignatureEncoding => {
                f.write_str("signature is not a strict DER SEQUENCE of two INTEGERs")
            }
            Self::InvalidPoint => f.write_str("not a valid SM2 curve point"),
            Self::InvalidLength { expected, actual } => {
                write!(f, "expected {expected} bytes, got {actual}")
            }
            Self::DistIdTooLong { len } => {
                write!(f, "distinguishing ID of {len} bytes exceeds 8191 bytes")
            }
            Self::InvalidBuffer { ptr, len } => {
                write!(
                    f,
                    "buffer at {ptr} of {len} bytes is null or outside memory"
                )
            }
            Self::OutOfMemory => f.write_str("out of memory"),
            Self::InvalidScalar => f.write_str("scalar is zero or not below the curve order"),
            Self::InvalidPin { len } => {
                write!(f, "PIN of {len} bytes is not between 1 and 64 bytes long")
            }
            Self::NoPendingSigning => f.write_str("no co-signing round is pending"),
            Self::RetryNeeded => {
                f.write_str("co-signing produced a degenerate signature; start a new session")
            }
            Self::InvalidMessage { reason } => write!(f, "invalid signed message: {reason}"),
            Self::InvalidShare => f.write_str("not a valid masked key share"),
            Self::ProofRejected => f.write_str("PIN proof rejected"),
            Self::TransportRejected => f.write_str("encrypted co-signing message does not open"),
            Self::UnsupportedRoundVersion { version } => {
                write!(f, "co-signing round version {version} is not supported")
            }
        }
    }
}

impl std::error::Error for SignerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_distinct_and_never_zero() {
        let all = [
            (SignerError::BadSignature, 1),
            (SignerError::InvalidSignatureEncoding, 2),
            (SignerError::InvalidPoint, 3),
            (
                SignerError::InvalidLength {
                    expected: 65,
                    actual: 64,
                },
                4,
            ),
            (SignerError::DistIdTooLong { len: 8192 }, 5),
            (SignerError::InvalidBuffer { ptr: 0, len: 1 }, 6),
            (SignerError::OutOfMemory, 7),
            (SignerError::InvalidScalar, 8),
            (SignerError::InvalidPin { len: 0 }, 9),
            (SignerError::NoPendingSigning, 10),
            (SignerError::RetryNeeded, 11),
            (SignerError::InvalidMessage { reason: "test" }, 12),
            (SignerError::InvalidShare, 13),
            (SignerError::ProofRejected, 14),
            (SignerError::TransportRejected, 15),
            (SignerError::UnsupportedRoundVersion { version: 1 }, 16),
        ];
        let mut codes: Vec<u32> = all.iter().map(|(error, _)| error.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "codes are distinct");
        for (error, code) in all {
            assert_eq!(error.code(), code, "{error}");
        }
    }

    #[test]
    fn display_carries_context() {
        let error = SignerError::InvalidLength {
            expected: 65,
            actual: 64,
        };
        assert_eq!(error.to_string(), "expected 65 bytes, got 64");
        assert_eq!(
            SignerError::InvalidPin { len: 65 }.to_string(),
            "PIN of 65 bytes is not between 1 and 64 bytes long"
        );
        assert_eq!(
            SignerError::InvalidMessage {
                reason: "trailing bytes"
            }
            .to_string(),
            "invalid signed message: trailing bytes"
        );
    }
}
