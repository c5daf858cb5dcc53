//! The WebAssembly ABI the mini-program calls: small, versioned and integer-typed, with no
//! imports (the host supplies everything as bytes; see DESIGN.md §5).
//!
//! Calling convention (ABI version 1):
//!
//! - `abi_version() -> u32` is [`ABI_VERSION`]; a host refuses a module whose version it does not
//!   know.
//! - `alloc(len) -> ptr` reserves `len` bytes of linear memory for an input (0 if `len` is 0 or
//!   memory is exhausted); `free(ptr, len)` returns them and must get exactly what `alloc` gave.
//! - Every operation returns a `u32` status: [`STATUS_OK`] or a [`SignerError::code`]. Its
//!   output, if any, is in the result buffer (`result_ptr()`, `result_len()`), valid until the
//!   next operation; on failure the buffer is empty.
//! - Operations: `sm3(ptr, len)` leaves the 32-byte digest in the result buffer;
//!   `verify(pk_ptr, pk_len, msg_ptr, msg_len, sig_ptr, sig_len)` returns [`STATUS_OK`] when the
//!   DER signature verifies (see [`crate::verify`]) and leaves the buffer empty.
//! - Bad buffers (null with a non-zero length, or reaching past linear memory) yield
//!   [`SignerError::InvalidBuffer`] instead of a trap. `(0, 0)` is the empty input.
//!
//! The exports exist only in wasm32 builds: natively, symbols named `alloc` or `free` would
//! replace the C library's. What is testable without a wasm runtime lives in safe functions here;
//! the exports themselves are exercised by the mini-program SDK tests against the built module.

#![allow(unsafe_code)]

use crate::SignerError;
use core::ops::Range;

/// Version of this ABI; bumped on any incompatible change to the exports.
pub const ABI_VERSION: u32 = 1;

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

#[cfg(target_arch = "wasm32")]
mod exports {
    use super::{ABI_VERSION, checked_region, status};
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
        clear_result();
        status(input(ptr, len).and_then(|data| set_result(&sm3_digest(data))))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_zero_only_for_success() {
        assert_eq!(status(Ok(())), STATUS_OK);
        assert_eq!(status(Err(SignerError::BadSignature)), 1);
        assert_eq!(
            status(Err(SignerError::InvalidBuffer { ptr: 0, len: 1 })),
            6
        );
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
