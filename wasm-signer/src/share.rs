//! The phone's key share d1, stored masked by a scalar derived from the PIN
//! (`docs/split-key.md`, "The phone's share").
//!
//! The share has no check value: every PIN unmasks *some* valid scalar, so the phone's storage
//! offers no offline oracle for the PIN. Only the server, which holds P1 = [d1⁻¹]G, can tell a
//! right PIN from a wrong one, through the PIN proof of a co-signing round ([`crate::cosign`]),
//! and it counts the failures.

use crate::SignerError;
use crate::scalar::{Entropy, SecretScalar, exact, mul_base, parse_nonzero_scalar, reduce_wide};
use core::fmt;
use sm2::elliptic_curve::PrimeField;
use sm2::{PublicKey, Scalar};
use sm3::Sm3;
use zeroize::{Zeroize, Zeroizing};

/// PBKDF2-HMAC-SM3 iterations written into new shares.
///
/// Chosen so that one unmask costs about 14 ms natively (release build, one x86-64 core) and
/// about 25 ms in the wasm module (`wasm` profile) under Node 20 on the same core; a phone may
/// take several times that (docs/benchmarks.md). Raised from 8,000 when the co-signing round
/// was encrypted: the KDF is what an offline search pays per PIN in the one case left, a copied
/// phone together with the server's transport or master key. The value is stored in each share,
/// so it can change without breaking existing shares.
pub const PIN_KDF_ITERATIONS: u32 = 16_000;

/// Highest iteration count a share may carry; a larger one (a corrupted share) would stall the
/// phone instead of failing.
pub const MAX_PIN_KDF_ITERATIONS: u32 = 1 << 24;

/// Length of an encoded [`MaskedShare`].
pub const SHARE_LEN: usize = 54;

/// Shortest PIN accepted, in bytes.
pub const MIN_PIN_LEN: usize = 1;
/// Longest PIN accepted, in bytes.
pub const MAX_PIN_LEN: usize = 64;

const SHARE_VERSION: u8 = 1;
const KDF_PBKDF2_HMAC_SM3: u8 = 1;
const SALT_LEN: usize = 16;

const LABEL_D1: &[u8] = b"mcert/d1";
const LABEL_SALT: &[u8] = b"mcert/salt";

/// A PIN of an accepted length (1 to 64 bytes).
#[derive(Clone, Copy)]
pub(crate) struct Pin<'a>(&'a [u8]);

impl<'a> Pin<'a> {
    pub(crate) fn new(pin: &'a [u8]) -> Result<Self, SignerError> {
        if (MIN_PIN_LEN..=MAX_PIN_LEN).contains(&pin.len()) {
            Ok(Self(pin))
        } else {
            Err(SignerError::InvalidPin { len: pin.len() })
        }
    }
}

impl fmt::Debug for Pin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin([redacted])")
    }
}

/// The phone's share as stored: `version ‖ kdf ‖ iterations ‖ salt ‖ masked`, 54 bytes, with
/// masked = (d1 + m) mod n and m = PBKDF2-HMAC-SM3(pin, salt, iterations, 64 bytes) mod n.
///
/// Not a secret on its own (without the server no PIN can be tested against it), but it is
/// redacted in `Debug` and wiped on drop all the same.
pub struct MaskedShare {
    iterations: u32,
    salt: [u8; SALT_LEN],
    masked: Scalar,
}

impl MaskedShare {
    /// Parses a stored share.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] unless `bytes` is 54 bytes long;
    /// [`SignerError::InvalidShare`] for an unknown version or KDF, an iteration count outside
    /// `[1, MAX_PIN_KDF_ITERATIONS]`, or a masked value that is zero or not below n.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignerError> {
        let bytes: &[u8; SHARE_LEN] = exact(bytes)?;
        let [
            SHARE_VERSION,
            KDF_PBKDF2_HMAC_SM3,
            i0,
            i1,
            i2,
            i3,
            rest @ ..,
        ] = bytes
        else {
            return Err(SignerError::InvalidShare);
        };
        let iterations = u32::from_be_bytes([*i0, *i1, *i2, *i3]);
        if !(1..=MAX_PIN_KDF_ITERATIONS).contains(&iterations) {
            return Err(SignerError::InvalidShare);
        }
        let (salt, masked) = rest.split_at(SALT_LEN);
        let salt = exact::<SALT_LEN>(salt)?;
        let masked = parse_nonzero_scalar(exact(masked)?).map_err(|_| SignerError::InvalidShare)?;
        Ok(Self {
            iterations,
            salt: *salt,
            masked,
        })
    }

    /// The 54 stored bytes.
    pub fn to_bytes(&self) -> [u8; SHARE_LEN] {
        let mut out = [0u8; SHARE_LEN];
        let (header, rest) = out.split_at_mut(6);
        header[0] = SHARE_VERSION;
        header[1] = KDF_PBKDF2_HMAC_SM3;
        header[2..].copy_from_slice(&self.iterations.to_be_bytes());
        let (salt, masked) = rest.split_at_mut(SALT_LEN);
        salt.copy_from_slice(&self.salt);
        masked.copy_from_slice(&self.masked.to_repr());
        out
    }

    /// PBKDF2 iterations this share was masked with.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Masks the same d1 under `new_pin`, with a fresh salt from `entropy` and the current
    /// [`PIN_KDF_ITERATIONS`].
    ///
    /// Like every unmask, this cannot tell whether `old_pin` is right: a wrong one yields a share
    /// of a different, useless scalar. Callers prove the old PIN to the server first (a
    /// `key_check` co-signing round with purpose `change_pin`).
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidPin`] for a PIN outside 1 to 64 bytes, [`SignerError::InvalidLength`]
    /// for entropy outside 32 to 256 bytes, [`SignerError::InvalidScalar`] in the 2^-256 cases
    /// where a value comes out zero.
    pub fn remask(
        &self,
        old_pin: &[u8],
        new_pin: &[u8],
        entropy: &[u8],
    ) -> Result<MaskedShare, SignerError> {
        let old_pin = Pin::new(old_pin)?;
        let new_pin = Pin::new(new_pin)?;
        let entropy = Entropy::new(entropy)?;
        let d1 = self.unmask(old_pin);
        mask(&d1?, new_pin, entropy, PIN_KDF_ITERATIONS)
    }

    /// d1' = masked − m(pin). Any PIN yields a scalar; only a right one yields d1.
    pub(crate) fn unmask(&self, pin: Pin<'_>) -> Result<SecretScalar, SignerError> {
        let m = pin_scalar(pin, &self.salt, self.iterations);
        SecretScalar::new(self.masked - m.expose())
    }
}

impl Drop for MaskedShare {
    fn drop(&mut self) {
        self.masked.zeroize();
        self.salt.zeroize();
    }
}

impl fmt::Debug for MaskedShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaskedShare")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Creates the phone's share: d1 = scalar(`mcert/d1`) from `entropy`, masked under `pin`.
/// Returns the share to store and P1 = [d1⁻¹]G to send to the server (never to store).
///
/// # Errors
///
/// [`SignerError::InvalidLength`] for entropy outside 32 to 256 bytes,
/// [`SignerError::InvalidPin`] for a PIN outside 1 to 64 bytes, [`SignerError::InvalidScalar`]
/// in the 2^-256 cases where a value comes out zero.
pub fn generate_share(entropy: &[u8], pin: &[u8]) -> Result<(MaskedShare, PublicKey), SignerError> {
    generate_with_iterations(entropy, pin, PIN_KDF_ITERATIONS)
}

pub(crate) fn generate_with_iterations(
    entropy: &[u8],
    pin: &[u8],
    iterations: u32,
) -> Result<(MaskedShare, PublicKey), SignerError> {
    let entropy = Entropy::new(entropy)?;
    let pin = Pin::new(pin)?;
    let d1 = entropy.scalar(LABEL_D1)?;
    let p1 = mul_base(&d1.invert())?;
    Ok((mask(&d1, pin, entropy, iterations)?, p1))
}

/// masked = d1 + m(pin, salt) with salt = first 16 bytes of block(`mcert/salt`, 0).
fn mask(
    d1: &SecretScalar,
    pin: Pin<'_>,
    entropy: Entropy<'_>,
    iterations: u32,
) -> Result<MaskedShare, SignerError> {
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&entropy.block(LABEL_SALT, 0)[..SALT_LEN]);
    let m = pin_scalar(pin, &salt, iterations);
    let masked = SecretScalar::new(*d1.expose() + m.expose())?;
    Ok(MaskedShare {
        iterations,
        salt,
        masked: *masked.expose(),
    })
}

/// m = PBKDF2-HMAC-SM3(pin, salt, iterations, 64 bytes) as a 512-bit integer mod n. Zero is
/// allowed here (it only makes masked equal d1).
fn pin_scalar(pin: Pin<'_>, salt: &[u8; SALT_LEN], iterations: u32) -> PinScalar {
    let mut derived = Zeroizing::new([0u8; 64]);
    pbkdf2::pbkdf2_hmac::<Sm3>(pin.0, salt, iterations, derived.as_mut_slice());
    PinScalar(reduce_wide(&derived))
}

/// The PIN-derived mask m; wiped on drop.
struct PinScalar(Scalar);

impl PinScalar {
    fn expose(&self) -> &Scalar {
        &self.0
    }
}

impl Drop for PinScalar {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm2::ProjectivePoint;

    const ENTROPY: [u8; 32] = [0x5a; 32];

    #[test]
    fn pbkdf2_hmac_sm3_matches_openssl() {
        // OpenSSL 3.0: `openssl kdf -keylen 64 -kdfopt digest:SM3 -kdfopt pass:123456
        //   -kdfopt hexsalt:00112233445566778899aabbccddeeff -kdfopt iter:2 PBKDF2`
        let mut out = [0u8; 64];
        let salt = hex::decode("00112233445566778899aabbccddeeff").unwrap();
        pbkdf2::pbkdf2_hmac::<Sm3>(b"123456", &salt, 2, &mut out);
        assert_eq!(
            hex::encode(out),
            "6612b6fbf655fe929b2ab53d25b9ec98dc9e3de2f3cba45700399885d3b8b099\
             afb263829d9e54182497ac87b63d481e23830dd050694a5fd1e160b9b50e17e3"
        );
    }

    #[test]
    fn share_round_trips_and_unmasks_to_d1() {
        let (share, p1) = generate_with_iterations(&ENTROPY, b"123456", 10).unwrap();
        let bytes = share.to_bytes();
        assert_eq!(&bytes[..6], &[1, 1, 0, 0, 0, 10]);
        let parsed = MaskedShare::from_bytes(&bytes).unwrap();
        assert_eq!(parsed.to_bytes(), bytes);
        assert_eq!(parsed.iterations(), 10);
        let d1 = parsed.unmask(Pin::new(b"123456").unwrap()).unwrap();
        let p1_again = ProjectivePoint::GENERATOR * d1.invert().expose();
        assert_eq!(p1_again.to_affine(), *p1.as_affine());
    }

    #[test]
    fn generate_uses_the_current_iteration_count() {
        let (share, _) = generate_share(&ENTROPY, b"123456").unwrap();
        assert_eq!(share.iterations(), PIN_KDF_ITERATIONS);
    }

    #[test]
    fn any_pin_unmasks_some_scalar_without_error() {
        // No check value: the share cannot tell a wrong PIN, so storage is no offline oracle.
        let (share, _) = generate_with_iterations(&ENTROPY, b"123456", 10).unwrap();
        let right = share.unmask(Pin::new(b"123456").unwrap()).unwrap();
        let wrong = share.unmask(Pin::new(b"654321").unwrap()).unwrap();
        assert_ne!(right.expose(), wrong.expose());
    }

    #[test]
    fn pin_length_limits() {
        for pin in [&b""[..], &[b'1'; 65][..]] {
            assert_eq!(
                generate_share(&ENTROPY, pin).map(|_| ()),
                Err(SignerError::InvalidPin { len: pin.len() })
            );
        }
        assert!(Pin::new(&[b'1'; 64]).is_ok());
        assert!(Pin::new(b"1").is_ok());
        assert_eq!(
            format!("{:?}", Pin::new(b"123456").unwrap()),
            "Pin([redacted])"
        );
    }

    #[test]
    fn entropy_length_limits() {
        assert_eq!(
            generate_share(&[0; 31], b"123456").map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 32,
                actual: 31
            })
        );
        assert_eq!(
            generate_share(&[0; 257], b"123456").map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 256,
                actual: 257
            })
        );
    }

    #[test]
    fn remask_keeps_d1_under_a_fresh_salt() {
        let (share, _) = generate_with_iterations(&ENTROPY, b"123456", 10).unwrap();
        let remasked = share.remask(b"123456", b"000000", &[0xa5; 64]).unwrap();
        assert_eq!(remasked.iterations(), PIN_KDF_ITERATIONS);
        assert_ne!(remasked.to_bytes()[6..22], share.to_bytes()[6..22]);
        let before = share.unmask(Pin::new(b"123456").unwrap()).unwrap();
        let after = remasked.unmask(Pin::new(b"000000").unwrap()).unwrap();
        assert_eq!(before.expose(), after.expose());
        let old_pin = remasked.unmask(Pin::new(b"123456").unwrap()).unwrap();
        assert_ne!(before.expose(), old_pin.expose());
    }

    #[test]
    fn remask_checks_its_inputs() {
        let (share, _) = generate_with_iterations(&ENTROPY, b"123456", 10).unwrap();
        assert_eq!(
            share.remask(b"", b"000000", &ENTROPY).map(|_| ()),
            Err(SignerError::InvalidPin { len: 0 })
        );
        assert_eq!(
            share.remask(b"123456", &[0; 65], &ENTROPY).map(|_| ()),
            Err(SignerError::InvalidPin { len: 65 })
        );
        assert_eq!(
            share.remask(b"123456", b"000000", &[0; 8]).map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 32,
                actual: 8
            })
        );
    }

    #[test]
    fn malformed_shares_are_rejected() {
        let (share, _) = generate_with_iterations(&ENTROPY, b"123456", 10).unwrap();
        let good = share.to_bytes();
        assert_eq!(
            MaskedShare::from_bytes(&good[..53]).map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 54,
                actual: 53
            })
        );
        let mut long = good.to_vec();
        long.push(0);
        assert_eq!(
            MaskedShare::from_bytes(&long).map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 54,
                actual: 55
            })
        );
        let n: [u8; 32] =
            hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123")
                .unwrap()
                .try_into()
                .unwrap();
        type Corruption = fn(&mut [u8; 54]);
        let cases: [(&str, Corruption); 7] = [
            ("version 0", |b| b[0] = 0),
            ("version 2", |b| b[0] = 2),
            ("kdf 0", |b| b[1] = 0),
            ("kdf 2", |b| b[1] = 2),
            ("zero iterations", |b| b[2..6].copy_from_slice(&[0; 4])),
            ("too many iterations", |b| {
                b[2..6].copy_from_slice(&(MAX_PIN_KDF_ITERATIONS + 1).to_be_bytes())
            }),
            ("zero masked value", |b| b[22..].copy_from_slice(&[0; 32])),
        ];
        for (case, corrupt) in cases {
            let mut bytes = good;
            corrupt(&mut bytes);
            assert_eq!(
                MaskedShare::from_bytes(&bytes).map(|_| ()),
                Err(SignerError::InvalidShare),
                "{case}"
            );
        }
        let mut masked_is_n = good;
        masked_is_n[22..].copy_from_slice(&n);
        assert_eq!(
            MaskedShare::from_bytes(&masked_is_n).map(|_| ()),
            Err(SignerError::InvalidShare)
        );
        let mut max_iterations = good;
        max_iterations[2..6].copy_from_slice(&MAX_PIN_KDF_ITERATIONS.to_be_bytes());
        assert!(MaskedShare::from_bytes(&max_iterations).is_ok());
    }

    #[test]
    fn debug_redacts_the_masked_value() {
        let (share, _) = generate_with_iterations(&ENTROPY, b"123456", 10).unwrap();
        assert_eq!(format!("{share:?}"), "MaskedShare { iterations: 10, .. }");
    }
}
