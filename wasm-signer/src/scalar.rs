//! Scalars and points in the fixed-width forms of `docs/split-key.md`, and the host-entropy
//! expander every random value of the split-key protocol comes from.

use crate::fixed_base::mul_generator;
use crate::{SignerError, parse_public_key};
use core::fmt;
use sm2::elliptic_curve::PrimeField;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::{AffineCoordinates, NonIdentity};
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm2::{AffinePoint, FieldBytes, ProjectivePoint, PublicKey, Scalar, U256};
use sm3::{Digest, Sm3};
use zeroize::{Zeroize, Zeroizing};

/// Bytes of a scalar.
pub(crate) const SCALAR_LEN: usize = 32;
/// Bytes of an uncompressed SEC1 point `04 ‖ x ‖ y`.
pub(crate) const POINT_LEN: usize = 65;

/// Fewest bytes of host entropy an operation accepts.
pub const MIN_ENTROPY_LEN: usize = 32;
/// Most bytes of host entropy an operation accepts.
pub const MAX_ENTROPY_LEN: usize = 256;

/// A secret scalar in `[1, n-1]`: not `Clone`, redacted in `Debug`, wiped on drop.
pub(crate) struct SecretScalar(Scalar);

impl SecretScalar {
    /// Wraps a scalar, refusing zero. The branch reveals only whether the value is zero, which
    /// the protocol treats as an error anyway.
    pub(crate) fn new(scalar: Scalar) -> Result<Self, SignerError> {
        if bool::from(scalar.is_zero()) {
            return Err(SignerError::InvalidScalar);
        }
        Ok(Self(scalar))
    }

    /// The scalar itself, for arithmetic; callers must not keep copies beyond an expression.
    pub(crate) fn expose(&self) -> &Scalar {
        &self.0
    }

    /// The inverse, which exists because the value is never zero.
    pub(crate) fn invert(&self) -> Self {
        Self(self.0.invert().unwrap_or(Scalar::ZERO))
    }
}

impl Drop for SecretScalar {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Host entropy of an accepted length (32 to 256 bytes); the wasm module has no RNG of its own.
#[derive(Clone, Copy)]
pub(crate) struct Entropy<'a>(&'a [u8]);

impl<'a> Entropy<'a> {
    /// Checks the length of host-supplied random bytes.
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Self, SignerError> {
        length_within(bytes, MIN_ENTROPY_LEN, MAX_ENTROPY_LEN)?;
        Ok(Self(bytes))
    }

    /// `block(label, i) = SM3(label ‖ u8(i) ‖ entropy)`.
    pub(crate) fn block(&self, label: &[u8], index: u8) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(
            Sm3::new()
                .chain_update(label)
                .chain_update([index])
                .chain_update(self.0)
                .finalize()
                .into(),
        )
    }

    /// `scalar(label) = (block(label, 0) ‖ block(label, 1)) mod n`; zero is an error.
    pub(crate) fn scalar(&self, label: &[u8]) -> Result<SecretScalar, SignerError> {
        let mut wide = Zeroizing::new([0u8; 64]);
        let (high, low) = wide.split_at_mut(32);
        high.copy_from_slice(self.block(label, 0).as_slice());
        low.copy_from_slice(self.block(label, 1).as_slice());
        SecretScalar::new(reduce_wide(&wide))
    }
}

impl fmt::Debug for Entropy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Entropy([{} bytes redacted])", self.0.len())
    }
}

/// A 512-bit big-endian integer reduced mod n, as `hi·2^256 + lo` with both halves reduced.
///
/// sm2's `Scalar` only reduces 256-bit values; each half is below 2^256 < 2n, which the one
/// conditional subtraction of `Reduce<U256>` handles.
pub(crate) fn reduce_wide(bytes: &[u8; 64]) -> Scalar {
    let mut high = Zeroizing::new([0u8; 32]);
    let mut low = Zeroizing::new([0u8; 32]);
    high.copy_from_slice(&bytes[..32]);
    low.copy_from_slice(&bytes[32..]);
    reduce_256(&high) * reduce_256(&TWO_256_MOD_N) + reduce_256(&low)
}

/// 2^256 mod n = 2^256 − n (below n, so `reduce_256` keeps it as is).
const TWO_256_MOD_N: [u8; 32] = [
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x8d, 0xfc, 0x20, 0x94, 0xde, 0x39, 0xfa, 0xd4, 0xac, 0x44, 0x0b, 0xf6, 0xc6, 0x2a, 0xbe, 0xdd,
];

/// A 256-bit big-endian integer reduced mod n.
pub(crate) fn reduce_256(bytes: &[u8; 32]) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*bytes))
}

/// The x-coordinate of a point reduced mod n (x1 of GB/T 32918.2); 0 for the identity.
///
/// Takes the affine point so that callers which also test for the identity normalise once:
/// every normalisation is a field inversion, and so is each side of a projective comparison.
pub(crate) fn x_mod_n(point: &AffinePoint) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(&point.x())
}

/// Parses a scalar that must be in `[1, n-1]`.
pub(crate) fn parse_nonzero_scalar(bytes: &[u8; SCALAR_LEN]) -> Result<Scalar, SignerError> {
    let scalar = parse_scalar(bytes)?;
    if bool::from(scalar.is_zero()) {
        return Err(SignerError::InvalidScalar);
    }
    Ok(scalar)
}

/// Parses a scalar that must be in `[0, n-1]`.
pub(crate) fn parse_scalar(bytes: &[u8; SCALAR_LEN]) -> Result<Scalar, SignerError> {
    Option::from(Scalar::from_repr((*bytes).into())).ok_or(SignerError::InvalidScalar)
}

/// Checks that `bytes` has `min..=max` bytes, naming the violated bound otherwise.
pub(crate) fn length_within(bytes: &[u8], min: usize, max: usize) -> Result<(), SignerError> {
    let expected = if bytes.len() < min {
        min
    } else if bytes.len() > max {
        max
    } else {
        return Ok(());
    };
    Err(SignerError::InvalidLength {
        expected,
        actual: bytes.len(),
    })
}

/// Splits a fixed-layout buffer into its parts, or reports the length it should have had.
pub(crate) fn exact<const N: usize>(bytes: &[u8]) -> Result<&[u8; N], SignerError> {
    bytes.try_into().map_err(|_| SignerError::InvalidLength {
        expected: N,
        actual: bytes.len(),
    })
}

/// The first `N` bytes of `bytes` and the rest; `bytes` must be long enough (callers split
/// buffers whose total length they checked).
pub(crate) fn take<const N: usize>(bytes: &[u8]) -> Result<(&[u8; N], &[u8]), SignerError> {
    let (head, rest) = bytes
        .split_at_checked(N)
        .ok_or(SignerError::InvalidLength {
            expected: N,
            actual: bytes.len(),
        })?;
    Ok((exact(head)?, rest))
}

/// A point inside a fixed-layout buffer: uncompressed SEC1 only (a compressed point would not
/// fit the layout), never the identity or off the curve.
pub(crate) fn parse_uncompressed_point(bytes: &[u8; POINT_LEN]) -> Result<PublicKey, SignerError> {
    if bytes[0] != 0x04 {
        return Err(SignerError::InvalidPoint);
    }
    parse_public_key(bytes)
}

/// Uncompressed SEC1 encoding of a point.
pub(crate) fn encode_point(point: &PublicKey) -> [u8; POINT_LEN] {
    let encoded = point.to_encoded_point(false);
    let mut out = [0u8; POINT_LEN];
    // A `PublicKey` is never the identity, so its uncompressed encoding is always 65 bytes.
    if let Some(bytes) = encoded.as_bytes().get(..POINT_LEN) {
        out.copy_from_slice(bytes);
    }
    out
}

/// The public key of a point, refusing the identity.
///
/// The identity test is on the affine point (its coordinates and flag), not the one inside
/// `PublicKey::from_affine`, which compares projective points and so costs two more field
/// inversions, as long as a fixed-base multiplication.
pub(crate) fn public_key(point: ProjectivePoint) -> Result<PublicKey, SignerError> {
    Option::<NonIdentity<AffinePoint>>::from(NonIdentity::new(point.to_affine()))
        .map(PublicKey::from)
        .ok_or(SignerError::InvalidPoint)
}

/// `[k]G` for a secret non-zero `k`, never the identity.
pub(crate) fn mul_base(k: &SecretScalar) -> Result<PublicKey, SignerError> {
    public_key(mul_generator(k.expose()))
}

/// Whether two points are equal, in constant time: whether a − b is the identity, which takes
/// one field inversion where `ProjectivePoint::ct_eq` normalises both sides (two).
pub(crate) fn points_equal(a: &ProjectivePoint, b: &ProjectivePoint) -> bool {
    (a - b).to_affine().is_identity().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm3_digest;

    fn n_minus(k: u64) -> Scalar {
        -Scalar::from(k)
    }

    #[test]
    fn two_to_the_256_mod_n() {
        // (2^128)^2 in the field, against the constant 2^256 − n (n from GB/T 32918.5).
        let two_128 = Scalar::from_u128(1 << 127).double();
        assert_eq!(reduce_256(&TWO_256_MOD_N), two_128.square());
        let n = hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123")
            .unwrap();
        let mut sum = [0u8; 33];
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let total = u16::from(n[i]) + u16::from(TWO_256_MOD_N[i]) + carry;
            sum[i + 1] = total as u8;
            carry = total >> 8;
        }
        sum[0] = carry as u8;
        let mut two_256 = [0u8; 33];
        two_256[0] = 1;
        assert_eq!(sum, two_256, "n + (2^256 mod n) = 2^256");
        let mut one_then_zeros = [0u8; 64];
        one_then_zeros[31] = 1;
        assert_eq!(reduce_wide(&one_then_zeros), two_128.square());
    }

    #[test]
    fn wide_reduction_matches_schoolbook() {
        // (2^512 − 1) mod n = (2^256 − 1)·2^256 + (2^256 − 1), halves reduced separately.
        let all_ones = [0xffu8; 64];
        let half = reduce_256(&[0xff; 32]);
        let two_256 = half + Scalar::ONE;
        assert_eq!(reduce_wide(&all_ones), half * two_256 + half);
        // n itself in the low half reduces to zero; n − 1 stays.
        let n_minus_one = n_minus(1).to_repr();
        let mut wide = [0u8; 64];
        wide[32..].copy_from_slice(&n_minus_one);
        assert_eq!(reduce_wide(&wide), n_minus(1));
    }

    #[test]
    fn scalar_parsing_bounds() {
        assert_eq!(
            parse_nonzero_scalar(&[0; 32]),
            Err(SignerError::InvalidScalar)
        );
        assert_eq!(parse_scalar(&[0; 32]), Ok(Scalar::ZERO));
        let n_minus_one: [u8; 32] = n_minus(1).to_repr().into();
        assert_eq!(parse_nonzero_scalar(&n_minus_one), Ok(n_minus(1)));
        let mut n = n_minus_one;
        n[31] += 1;
        assert_eq!(parse_scalar(&n), Err(SignerError::InvalidScalar));
        assert_eq!(parse_scalar(&[0xff; 32]), Err(SignerError::InvalidScalar));
    }

    #[test]
    fn entropy_length_limits() {
        assert_eq!(
            Entropy::new(&[0; 31]).map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 32,
                actual: 31
            })
        );
        assert_eq!(
            Entropy::new(&[0; 257]).map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 256,
                actual: 257
            })
        );
        assert!(Entropy::new(&[0; 32]).is_ok());
        assert!(Entropy::new(&[0; 256]).is_ok());
    }

    #[test]
    fn expander_is_sm3_of_label_index_entropy() {
        let entropy = [7u8; 40];
        let expander = Entropy::new(&entropy).unwrap();
        let mut input = b"mcert/d1".to_vec();
        input.push(1);
        input.extend_from_slice(&entropy);
        assert_eq!(*expander.block(b"mcert/d1", 1), sm3_digest(&input));

        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(expander.block(b"mcert/d1", 0).as_slice());
        wide[32..].copy_from_slice(expander.block(b"mcert/d1", 1).as_slice());
        assert_eq!(
            *expander.scalar(b"mcert/d1").unwrap().expose(),
            reduce_wide(&wide)
        );
        assert_ne!(
            *expander.scalar(b"mcert/k1").unwrap().expose(),
            *expander.scalar(b"mcert/d1").unwrap().expose()
        );
    }

    #[test]
    fn secret_scalar_refuses_zero_and_redacts() {
        assert_eq!(
            SecretScalar::new(Scalar::ZERO).map(|_| ()),
            Err(SignerError::InvalidScalar)
        );
        let secret = SecretScalar::new(Scalar::ONE).unwrap();
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(*secret.invert().expose(), Scalar::ONE);
    }

    #[test]
    fn fixed_layout_points_are_uncompressed_only() {
        let key = crate::digest::tests::annex_a_public_key();
        let bytes = encode_point(&key);
        assert_eq!(parse_uncompressed_point(&bytes), Ok(key));
        let mut compressed_tag = bytes;
        compressed_tag[0] = 0x02;
        assert_eq!(
            parse_uncompressed_point(&compressed_tag),
            Err(SignerError::InvalidPoint)
        );
        assert_eq!(
            parse_uncompressed_point(&[0; 65]),
            Err(SignerError::InvalidPoint)
        );
        let mut off_curve = bytes;
        off_curve[64] ^= 1;
        assert_eq!(
            parse_uncompressed_point(&off_curve),
            Err(SignerError::InvalidPoint)
        );
    }
}
