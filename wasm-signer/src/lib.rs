//! The phone's half of every mcert signature, and the canonical bytes of every signed message.
//!
//! One crate serves two builds: the server links it as an `rlib` to compute and check exactly the
//! bytes the phone signs, and the mini-program loads it as a `cdylib` WebAssembly module through
//! the small integer ABI in [`abi`].
//!
//! - Primitives both sides share: SM3, the SM2 user hash Z_A and message digest e, strict SEC1 /
//!   DER parsing, and plain SM2 verification ([`verify`]).
//! - [`share`]: the phone's key share d1, stored masked under the PIN with no check value.
//! - [`cosign`]: the split-key signature (DESIGN.md §5): the phone's round and PIN proof, the
//!   server's share d2, its proof check and partial signature, and the phone's final signature.
//! - [`transport`]: the co-signing round encrypted between the module and the server, so a
//!   logged transcript gives no PIN oracle.
//! - [`message`]: the canonical, versioned bytes of every message an mcert key signs.
//!
//! Every byte of the split-key protocol is fixed in `docs/split-key.md`. Randomness always comes
//! from the caller as an `entropy` buffer of [`MIN_ENTROPY_LEN`] to [`MAX_ENTROPY_LEN`] bytes: the
//! wasm module has no RNG and no imports.

mod digest;
mod encoding;
mod error;
mod fixed_base;
mod scalar;
mod verify;

pub mod abi;
pub mod cosign;
pub mod message;
pub mod share;
pub mod transport;

pub use digest::{DIST_ID, message_digest, sm3_digest, za};
pub use encoding::{parse_public_key, signature_from_der, signature_to_der};
pub use error::SignerError;
pub use scalar::{MAX_ENTROPY_LEN, MIN_ENTROPY_LEN};
pub use verify::verify;

/// Re-exported so callers name the same key type this crate parses and verifies with.
pub use sm2::PublicKey;
