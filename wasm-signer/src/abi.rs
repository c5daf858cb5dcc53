//! The WebAssembly ABI the mini-program calls: small, versioned and integer-typed, with no
//! imports (the host supplies everything as bytes, randomness included; see DESIGN.md §5 and
//! `docs/split-key.md`, "wasm ABI version 3").
//!
//! Calling convention (ABI version 3; version 2 sent the co-signing round in clear):
//!
//! - `abi_version() -> u32` is [`ABI_VERSION`]; a host refuses a module whose version it does not
//!   know.
//! - `alloc(len) -> ptr` reserves `len` bytes of linear memory for an input (0 if `len` is 0 or
//!   memory is exhausted); `free(ptr, len)` returns them and must get exactly what `alloc` gave.
//! - Every operation takes its inputs as `(ptr, len)` pairs and returns a `u32` status:
//!   [`STATUS_OK`] or a [`SignerError::code`]. Its output, if any, is in the result buffer
//!   (`result_ptr()`, `result_len()`), valid until the next operation; on failure the buffer is
//!   empty.
//! - Operations, with what they leave in the result buffer:
//!   - `sm3(data)`: the 32-byte digest;
//!   - `verify(public_key, message, signature)`: nothing; [`STATUS_OK`] when the DER signature
//!     verifies (see [`crate::verify`]);
//!   - `share_generate(entropy, pin)`: `P1 (65) ‖ share (54)` ([`share_generate`]);
//!   - `share_remask(share, old_pin, new_pin, entropy)`: the new share ([`share_remask`]);
//!   - `cosign_begin(share, pin, session_id, message, transport_key, entropy)`: the sealed round
//!     (244 bytes, [`crate::transport`]); the module keeps d1', k1, the message and the round's
//!     response key as its one pending round, replacing (and wiping) any earlier one
//!     ([`PendingRound::begin`]);
//!   - `cosign_finish(sealed_partials, public_key)`: the DER signature; the pending round is
//!     wiped whatever the outcome ([`PendingRound::finish`]);
//!   - `message_describe(message)`: the canonical message as UTF-8 JSON ([`message_describe`]).
//! - Bad buffers (null with a non-zero length, or reaching past linear memory) yield
//!   [`SignerError::InvalidBuffer`] instead of a trap. `(0, 0)` is the empty input.
//!
//! The exports exist only in wasm32 builds: natively, symbols named `alloc` or `free` would
//! replace the C library's. Everything an export computes is a safe function here, tested
//! natively; the exports only move bytes, and are exercised by the mini-program SDK tests
//! against the built module.

#![allow(unsafe_code)]

use crate::cosign::{self, ClientSigning};
use crate::message::SignedMessage;
use crate::share::{self, MaskedShare};
use crate::transport::Channel;
use crate::{SignerError, parse_public_key};
use core::ops::Range;

/// Version of this ABI; bumped on any incompatible change to the exports.
pub const ABI_VERSION: u32 = 3;

/// Status of an operation that succeeded.
pub const STATUS_OK: u32 = 0;

/// The ABI status for an outcome: [`STATUS_OK`] or the error's code.
pub fn status(outcome: Result<(), SignerError>) -> u32 {
    match outcome {
        Ok(()) => STATUS_OK,
        Err(error) => error.code(),
    }
}

/// The byte range `ptr..ptr + len` if it lies within a linear memory of `memory_len` bytes.
///
/// `(0, 0)` is the empty input; a null `ptr` with a non-zero `len` is rejected, as is a range
/// that overflows or ends past the memory.
///
/// # Errors
///
/// [`SignerError::InvalidBuffer`] carrying `ptr` and `len`.
pub fn checked_region(ptr: u32, len: u32, memory_len: usize) -> Result<Range<usize>, SignerError> {
    let invalid = SignerError::InvalidBuffer { ptr, len };
    if ptr == 0 {
        return if len == 0 { Ok(0..0) } else { Err(invalid) };
    }
    let start = usize::try_from(ptr).map_err(|_| invalid)?;
    let len = usize::try_from(len).map_err(|_| invalid)?;
    let end = start.checked_add(len).ok_or(invalid)?;
    if end > memory_len {
        return Err(invalid);
    }
    Ok(start..end)
}

/// `share_generate`: a new share under `pin`; returns `P1 (65) ‖ share (54)`.
///
/// # Errors
///
/// As [`share::generate_share`].
pub fn share_generate(entropy: &[u8], pin: &[u8]) -> Result<Vec<u8>, SignerError> {
    let (share, p1) = share::generate_share(entropy, pin)?;
    let mut out = Vec::with_capacity(65 + share::SHARE_LEN);
    out.extend_from_slice(&crate::scalar::encode_point(&p1));
    out.extend_from_slice(&share.to_bytes());
    Ok(out)
}

/// `share_remask`: the same key share under `new_pin`; returns the new share (54 bytes).
///
/// # Errors
///
/// As [`MaskedShare::from_bytes`] and [`MaskedShare::remask`].
pub fn share_remask(
    share: &[u8],
    old_pin: &[u8],
    new_pin: &[u8],
    entropy: &[u8],
) -> Result<Vec<u8>, SignerError> {
    let share = MaskedShare::from_bytes(share)?;
    Ok(share.remask(old_pin, new_pin, entropy)?.to_bytes().to_vec())
}

/// `message_describe`: a canonical signed message as UTF-8 JSON for display.
///
/// # Errors
///
/// As [`SignedMessage::decode`].
pub fn message_describe(message: &[u8]) -> Result<Vec<u8>, SignerError> {
    Ok(SignedMessage::decode(message)?.describe_json().into_bytes())
}

/// The one co-signing round the module keeps between `cosign_begin` and `cosign_finish`.
#[derive(Debug, Default)]
pub struct PendingRound(Option<(ClientSigning, Channel)>);

impl PendingRound {
    /// No round pending.
    pub const fn new() -> Self {
        Self(None)
    }

    /// Drops (and so wipes) any pending round.
    pub fn wipe(&mut self) {
        self.0 = None;
    }

    /// Whether a round is pending.
    pub fn is_pending(&self) -> bool {
        self.0.is_some()
    }

    /// `cosign_begin`: wipes any earlier round, then starts a new one and seals it to the
    /// server's `transport_key` (SEC1, compressed or not); returns the sealed round
    /// ([`Channel::seal_round`]). On failure no round is pending.
    ///
    /// # Errors
    ///
    /// As [`MaskedShare::from_bytes`], [`parse_public_key`], [`cosign::begin`] and
    /// [`Channel::client`].
    pub fn begin(
        &mut self,
        share: &[u8],
        pin: &[u8],
        session_id: &[u8],
        message: &[u8],
        transport_key: &[u8],
        entropy: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        self.wipe();
        let share = MaskedShare::from_bytes(share)?;
        let transport_key = parse_public_key(transport_key)?;
        let (signing, round) = cosign::begin(&share, pin, session_id, message, entropy)?;
        let (channel, ephemeral) = Channel::client(&transport_key, session_id, entropy)?;
        let sealed = channel.seal_round(&ephemeral, &round);
        self.0 = Some((signing, channel));
        Ok(sealed)
    }

    /// `cosign_finish`: opens the server's sealed partials with the pending round's response
    /// key and completes the signature under the joint public key (SEC1, compressed or not);
    /// returns the DER signature. The round is wiped whatever the outcome.
    ///
    /// # Errors
    ///
    /// [`SignerError::NoPendingSigning`] if no round is pending, then as
    /// [`Channel::open_partials`], [`parse_public_key`] and [`ClientSigning::finish`].
    pub fn finish(
        &mut self,
        sealed_partials: &[u8],
        public_key: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        let (signing, channel) = self.0.take().ok_or(SignerError::NoPendingSigning)?;
        let partials = channel.open_partials(sealed_partials)?;
        let public_key = parse_public_key(public_key)?;
        signing.finish(&partials, &public_key)
    }
}

#[cfg(target_arch = "wasm32")]
mod exports {
    use super::{ABI_VERSION, PendingRound, checked_region, status};
    use crate::{SignerError, parse_public_key, sm3_digest};
    use std::alloc::Layout;
    use std::sync::{Mutex, PoisonError};

    /// Bytes in one page of wasm linear memory.
    const PAGE_SIZE: usize = 65_536;

    /// Output of the last operation. wasm32-unknown-unknown is single-threaded, so the lock is
    /// never contended; it only keeps this shared state safe to touch.
    static RESULT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    fn with_result<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
        f(&mut RESULT.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn set_result(bytes: &[u8]) -> Result<(), SignerError> {
        with_result(|buffer| {
            buffer.clear();
            buffer
                .try_reserve(bytes.len())
                .map_err(|_| SignerError::OutOfMemory)?;
            buffer.extend_from_slice(bytes);
            Ok(())
        })
    }

    fn clear_result() {
        with_result(Vec::clear);
    }

    /// The pending co-signing round (see [`PendingRound`]); single-threaded like `RESULT`.
    static PENDING: Mutex<PendingRound> = Mutex::new(PendingRound::new());

    fn with_pending<T>(f: impl FnOnce(&mut PendingRound) -> T) -> T {
        f(&mut PENDING.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs an operation with the result buffer cleared, and stores its output on success.
    fn run(operation: impl FnOnce() -> Result<Vec<u8>, SignerError>) -> u32 {
        clear_result();
        status(operation().and_then(|output| set_result(&output)))
    }

    /// Borrows an input buffer the host wrote into linear memory.
    fn input<'a>(ptr: u32, len: u32) -> Result<&'a [u8], SignerError> {
        let memory_len = core::arch::wasm32::memory_size::<0>().saturating_mul(PAGE_SIZE);
        let range = checked_region(ptr, len, memory_len)?;
        if range.is_empty() {
            return Ok(&[]);
        }
        // SAFETY: `range` is non-empty and lies inside linear memory (checked above), so the
        // pointer is non-null and valid for reads of `range.len()` bytes, and any bytes are a
        // valid `u8`. The module is single-threaded and the borrow ends before the export
        // returns, while nothing writes to host buffers during an operation; the host must not
        // pass the result buffer as an input (documented ABI contract).
        Ok(unsafe {
            core::slice::from_raw_parts(
                core::ptr::with_exposed_provenance::<u8>(range.start),
                range.len(),
            )
        })
    }

    fn address(ptr: *const u8) -> u32 {
        // wasm32 addresses are 32 bits wide, so this is lossless.
        ptr.expose_provenance() as u32
    }

    /// ABI version of this module ([`ABI_VERSION`]).
    #[unsafe(no_mangle)]
    pub extern "C" fn abi_version() -> u32 {
        ABI_VERSION
    }

    /// Reserves `len` bytes for the host to write an input into; 0 if `len` is 0 or memory is
    /// exhausted.
    #[unsafe(no_mangle)]
    pub extern "C" fn alloc(len: u32) -> u32 {
        let Ok(layout) = Layout::array::<u8>(len as usize) else {
            return 0;
        };
        if layout.size() == 0 {
            return 0;
        }
        // SAFETY: `layout` has a non-zero size, as `alloc` requires; a null return (exhausted
        // memory) becomes address 0, which the host treats as failure.
        address(unsafe { std::alloc::alloc(layout) })
    }

    /// Releases a buffer from [`alloc`]; `ptr` and `len` must be exactly what `alloc` was given
    /// and returned. Null or empty buffers are ignored.
    #[unsafe(no_mangle)]
    pub extern "C" fn free(ptr: u32, len: u32) {
        if ptr == 0 || len == 0 {
            return;
        }
        let Ok(layout) = Layout::array::<u8>(len as usize) else {
            return;
        };
        // SAFETY: by the ABI contract `ptr` was returned by `alloc(len)`, which allocated with
        // this same layout, and has not been freed since.
        unsafe {
            std::alloc::dealloc(
                core::ptr::with_exposed_provenance_mut::<u8>(ptr as usize),
                layout,
            )
        }
    }

    /// Address of the result buffer.
    #[unsafe(no_mangle)]
    pub extern "C" fn result_ptr() -> u32 {
        with_result(|buffer| address(buffer.as_ptr()))
    }

    /// Length of the result buffer.
    #[unsafe(no_mangle)]
    pub extern "C" fn result_len() -> u32 {
        // The buffer never exceeds linear memory, whose size fits in 32 bits.
        with_result(|buffer| buffer.len() as u32)
    }

    /// SM3 of the input; the 32-byte digest goes to the result buffer.
    #[unsafe(no_mangle)]
    pub extern "C" fn sm3(ptr: u32, len: u32) -> u32 {
        run(|| Ok(sm3_digest(input(ptr, len)?).to_vec()))
    }

    /// Verifies a DER SM2 signature over a message under a SEC1 public key, with the mcert
    /// distinguishing ID; see [`crate::verify`].
    #[unsafe(no_mangle)]
    pub extern "C" fn verify(
        pk_ptr: u32,
        pk_len: u32,
        msg_ptr: u32,
        msg_len: u32,
        sig_ptr: u32,
        sig_len: u32,
    ) -> u32 {
        clear_result();
        status((|| {
            let public_key = parse_public_key(input(pk_ptr, pk_len)?)?;
            let message = input(msg_ptr, msg_len)?;
            let signature = input(sig_ptr, sig_len)?;
            crate::verify(&public_key, message, signature)
        })())
    }

    /// A new phone share from host entropy and the PIN; result `P1 (65) ‖ share (54)`.
    #[unsafe(no_mangle)]
    pub extern "C" fn share_generate(
        entropy_ptr: u32,
        entropy_len: u32,
        pin_ptr: u32,
        pin_len: u32,
    ) -> u32 {
        run(|| super::share_generate(input(entropy_ptr, entropy_len)?, input(pin_ptr, pin_len)?))
    }

    /// The same share under a new PIN with a fresh salt; result the new share (54 bytes).
    #[unsafe(no_mangle)]
    #[allow(
        clippy::too_many_arguments,
        reason = "four (ptr, len) buffers, flat in the ABI"
    )]
    pub extern "C" fn share_remask(
        share_ptr: u32,
        share_len: u32,
        old_pin_ptr: u32,
        old_pin_len: u32,
        new_pin_ptr: u32,
        new_pin_len: u32,
        entropy_ptr: u32,
        entropy_len: u32,
    ) -> u32 {
        run(|| {
            super::share_remask(
                input(share_ptr, share_len)?,
                input(old_pin_ptr, old_pin_len)?,
                input(new_pin_ptr, new_pin_len)?,
                input(entropy_ptr, entropy_len)?,
            )
        })
    }

    /// Starts co-signing; result the round sealed to the server's transport key (244 bytes).
    /// Keeps the round pending, replacing (and wiping) any earlier one.
    #[unsafe(no_mangle)]
    #[allow(
        clippy::too_many_arguments,
        reason = "six (ptr, len) buffers, flat in the ABI"
    )]
    pub extern "C" fn cosign_begin(
        share_ptr: u32,
        share_len: u32,
        pin_ptr: u32,
        pin_len: u32,
        session_id_ptr: u32,
        session_id_len: u32,
        message_ptr: u32,
        message_len: u32,
        transport_key_ptr: u32,
        transport_key_len: u32,
        entropy_ptr: u32,
        entropy_len: u32,
    ) -> u32 {
        run(|| {
            with_pending(|pending| {
                // Wiped first, so that a bad buffer also leaves no round pending.
                pending.wipe();
                pending.begin(
                    input(share_ptr, share_len)?,
                    input(pin_ptr, pin_len)?,
                    input(session_id_ptr, session_id_len)?,
                    input(message_ptr, message_len)?,
                    input(transport_key_ptr, transport_key_len)?,
                    input(entropy_ptr, entropy_len)?,
                )
            })
        })
    }

    /// Completes the pending round with the server's sealed partials (112 bytes) and the joint
    /// public key; result the DER signature. Always wipes the pending round.
    #[unsafe(no_mangle)]
    pub extern "C" fn cosign_finish(
        partials_ptr: u32,
        partials_len: u32,
        pk_ptr: u32,
        pk_len: u32,
    ) -> u32 {
        run(|| {
            with_pending(|pending| {
                let outcome = input(partials_ptr, partials_len)
                    .and_then(|partials| pending.finish(partials, input(pk_ptr, pk_len)?));
                // `finish` wipes the round itself; this covers a bad buffer.
                pending.wipe();
                outcome
            })
        })
    }

    /// A canonical signed message as UTF-8 JSON for display.
    #[unsafe(no_mangle)]
    pub extern "C" fn message_describe(ptr: u32, len: u32) -> u32 {
        run(|| super::message_describe(input(ptr, len)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosign::{ServerShare, verify_pin_proof};
    use crate::message::KeyCheck;
    use crate::transport::TransportSecret;
    use crate::{message_digest, verify};
    use sm2::elliptic_curve::sec1::ToEncodedPoint;

    const PIN: &[u8] = b"123456";
    const SESSION: &[u8] = b"session-1";

    struct Server {
        p1: sm2::PublicKey,
        share: ServerShare,
        public_key: sm2::PublicKey,
    }

    /// `share_generate` as the phone calls it, and the server's enrolment.
    fn enrol() -> (Vec<u8>, Server) {
        let out = share_generate(&[1; 32], PIN).unwrap();
        assert_eq!(out.len(), 65 + 54);
        let p1 = parse_public_key(&out[..65]).unwrap();
        let share = ServerShare::generate(&[2; 32]).unwrap();
        let public_key = share.joint_public_key(&p1).unwrap();
        (
            out[65..].to_vec(),
            Server {
                p1,
                share,
                public_key,
            },
        )
    }

    fn transport() -> TransportSecret {
        TransportSecret::generate(&[7; 32]).unwrap()
    }

    fn transport_key() -> Vec<u8> {
        crate::scalar::encode_point(transport().public_key()).to_vec()
    }

    /// The server's step: opens the sealed round, checks the proof and seals the partials.
    fn partials(server: &Server, sealed: &[u8], message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let (round, channel) = transport().open_round(SESSION, sealed)?;
        verify_pin_proof(&server.p1, &round.q1, SESSION, message, &round.proof)?;
        let e = message_digest(&server.public_key, message)?;
        Ok(channel.seal_partials(&server.share.partials(&e, &round.q1, &[3; 32])?))
    }

    #[test]
    fn abi_version_is_3() {
        assert_eq!(ABI_VERSION, 3);
    }

    #[test]
    fn full_round_through_the_abi_functions() {
        let (share, server) = enrol();
        let message = b"MCERT-SIGN any bytes";
        let mut pending = PendingRound::new();
        let round = pending
            .begin(&share, PIN, SESSION, message, &transport_key(), &[4; 32])
            .unwrap();
        assert_eq!(round.len(), crate::transport::SEALED_ROUND_LEN);
        assert!(pending.is_pending());
        let partials = partials(&server, &round, message).unwrap();
        let public_key = server.public_key.to_encoded_point(true);
        let der = pending.finish(&partials, public_key.as_bytes()).unwrap();
        assert!(!pending.is_pending());
        assert_eq!(verify(&server.public_key, message, &der), Ok(()));
        assert_eq!(
            pending.finish(&partials, public_key.as_bytes()),
            Err(SignerError::NoPendingSigning)
        );
    }

    #[test]
    fn finish_without_begin_and_failures_wipe_the_round() {
        let (share, server) = enrol();
        let public_key = server.public_key.to_encoded_point(false);
        let mut pending = PendingRound::new();
        assert_eq!(
            pending.finish(&[1; 112], public_key.as_bytes()),
            Err(SignerError::NoPendingSigning)
        );

        // A failed finish (partials that do not open) still consumes the round.
        pending
            .begin(&share, PIN, SESSION, b"m", &transport_key(), &[4; 32])
            .unwrap();
        assert_eq!(
            pending.finish(&[0; 112], public_key.as_bytes()),
            Err(SignerError::TransportRejected)
        );
        assert!(!pending.is_pending());

        // A failed begin wipes the earlier round instead of leaving it pending.
        pending
            .begin(&share, PIN, SESSION, b"m", &transport_key(), &[4; 32])
            .unwrap();
        assert_eq!(
            pending.begin(&share, b"", SESSION, b"m", &transport_key(), &[4; 32]),
            Err(SignerError::InvalidPin { len: 0 })
        );
        assert!(!pending.is_pending());
        pending
            .begin(&share, PIN, SESSION, b"m", &transport_key(), &[4; 32])
            .unwrap();
        assert_eq!(
            pending.begin(&share[..53], PIN, SESSION, b"m", &transport_key(), &[4; 32]),
            Err(SignerError::InvalidLength {
                expected: 54,
                actual: 53
            })
        );
        assert!(!pending.is_pending());

        // Partials of the wrong length also consume it.
        pending
            .begin(&share, PIN, SESSION, b"m", &transport_key(), &[4; 32])
            .unwrap();
        assert_eq!(
            pending.finish(&[1; 96], public_key.as_bytes()),
            Err(SignerError::InvalidLength {
                expected: 112,
                actual: 96
            })
        );
        assert!(!pending.is_pending());

        // So does a begin with a transport key that is not a point.
        pending
            .begin(&share, PIN, SESSION, b"m", &transport_key(), &[4; 32])
            .unwrap();
        assert_eq!(
            pending.begin(&share, PIN, SESSION, b"m", &[0x04; 64], &[4; 32]),
            Err(SignerError::InvalidLength {
                expected: 65,
                actual: 64
            })
        );
        assert!(!pending.is_pending());
    }

    #[test]
    fn a_new_begin_replaces_the_pending_round() {
        let (share, server) = enrol();
        let mut pending = PendingRound::new();
        let first = pending
            .begin(&share, PIN, SESSION, b"first", &transport_key(), &[4; 32])
            .unwrap();
        pending
            .begin(&share, PIN, SESSION, b"second", &transport_key(), &[5; 32])
            .unwrap();
        let partials = partials(&server, &first, b"first").unwrap();
        let public_key = server.public_key.to_encoded_point(false);
        // The first round's partials are sealed under the first round's response key.
        assert_eq!(
            pending.finish(&partials, public_key.as_bytes()),
            Err(SignerError::TransportRejected)
        );
    }

    #[test]
    fn remask_through_the_abi() {
        let (share, server) = enrol();
        let new_share = share_remask(&share, PIN, b"000000", &[6; 32]).unwrap();
        assert_eq!(new_share.len(), 54);
        let mut pending = PendingRound::new();
        let round = pending
            .begin(
                &new_share,
                b"000000",
                SESSION,
                b"m",
                &transport_key(),
                &[4; 32],
            )
            .unwrap();
        assert!(partials(&server, &round, b"m").is_ok());
        let round = pending
            .begin(&new_share, PIN, SESSION, b"m", &transport_key(), &[4; 32])
            .unwrap();
        assert_eq!(
            partials(&server, &round, b"m"),
            Err(SignerError::ProofRejected)
        );
        assert_eq!(
            share_remask(&[0; 54], PIN, b"000000", &[6; 32]),
            Err(SignerError::InvalidShare)
        );
    }

    #[test]
    fn describe_through_the_abi() {
        let message = SignedMessage::KeyCheck(KeyCheck {
            serial: "0a".into(),
            purpose: "change_pin".into(),
            nonce: [0; 16],
            issued_at: 0,
        });
        let json = message_describe(&message.encode().unwrap()).unwrap();
        assert_eq!(json, message.describe_json().into_bytes());
        assert!(matches!(
            message_describe(b"MCERT-SIGN"),
            Err(SignerError::InvalidMessage { .. })
        ));
        // The seal's DER messages go through the same export.
        for (der, kind) in [
            (crate::message::seal_tests::seal_sign_der(), "seal_sign"),
            (
                crate::message::seal_tests::pdf_attributes_der(),
                "pdf_signed_attributes",
            ),
        ] {
            let json = String::from_utf8(message_describe(&der).unwrap()).unwrap();
            assert!(json.contains(&format!("\"kind\":\"{kind}\"")), "{json}");
        }
        assert!(matches!(
            message_describe(&[0x30, 0x00]),
            Err(SignerError::InvalidMessage { .. })
        ));
    }

    #[test]
    fn status_is_zero_only_for_success() {
        assert_eq!(status(Ok(())), STATUS_OK);
        assert_eq!(status(Err(SignerError::BadSignature)), 1);
        assert_eq!(
            status(Err(SignerError::InvalidBuffer { ptr: 0, len: 1 })),
            6
        );
        assert_eq!(status(Err(SignerError::ProofRejected)), 14);
    }

    #[test]
    fn empty_null_region_is_the_empty_input() {
        assert_eq!(checked_region(0, 0, 0), Ok(0..0));
    }

    #[test]
    fn region_inside_memory() {
        assert_eq!(checked_region(8, 4, 12), Ok(8..12));
        assert_eq!(checked_region(8, 0, 8), Ok(8..8));
    }

    #[test]
    fn bad_regions_are_rejected() {
        for (ptr, len, memory_len) in [
            (0, 1, 1 << 16),
            (8, 5, 12),
            (13, 0, 12),
            (u32::MAX, 1, u32::MAX as usize),
            (1 << 16, 1, 1 << 16),
        ] {
            assert_eq!(
                checked_region(ptr, len, memory_len),
                Err(SignerError::InvalidBuffer { ptr, len }),
                "{ptr} {len} {memory_len}"
            );
        }
    }
}
