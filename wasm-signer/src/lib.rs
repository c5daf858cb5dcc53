//! The phone's half of every mcert signature, and the canonical bytes of every signed message.
//!
//! One crate serves two builds: the server links it as an `rlib` to compute and check exactly the
//! bytes the phone signs, and the mini-program loads it as a `cdylib` WebAssembly module through
//! the small integer ABI in [`abi`]. Stage 1 holds the primitives both sides share: SM3, the SM2
//! user hash Z_A and message digest e, strict SEC1 / DER parsing, and plain SM2 verification.

mod digest;
mod encoding;
mod error;
mod verify;

pub mod abi;

pub use digest::{DIST_ID, message_digest, sm3_digest, za};
pub use encoding::{parse_public_key, signature_from_der, signature_to_der};
pub use error::SignerError;
pub use verify::verify;

/// Re-exported so callers name the same key type this crate parses and verifies with.
pub use sm2::PublicKey;
