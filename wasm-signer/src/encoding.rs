//! Byte encodings at the edges: SEC1 public keys and DER signatures.

use crate::SignerError;

/// SEC1 tag of an uncompressed point `04 ‖ x ‖ y`.
const TAG_UNCOMPRESSED: u8 = 0x04;
/// SEC1 tags of a compressed point `02|03 ‖ x`.
const TAG_COMPRESSED_EVEN: u8 = 0x02;
const TAG_COMPRESSED_ODD: u8 = 0x03;
const UNCOMPRESSED_LEN: usize = 65;
const COMPRESSED_LEN: usize = 33;

const DER_SEQUENCE: u8 = 0x30;
const DER_INTEGER: u8 = 0x02;
/// Longest INTEGER content for a 256-bit unsigned value: a 0x00 sign byte and 32 value bytes.
const MAX_INTEGER_LEN: usize = 33;

/// Parses an SM2 public key in SEC1 encoding: uncompressed `04 ‖ x ‖ y` (65 bytes) or compressed
/// `02|03 ‖ x` (33 bytes).
///
/// # Errors
///
/// [`SignerError::InvalidLength`] if a known tag has the wrong length;
/// [`SignerError::InvalidPoint`] for the identity, an unknown or hybrid tag, a coordinate not
/// below p, or a point off the curve.
pub fn parse_public_key(sec1: &[u8]) -> Result<sm2::PublicKey, SignerError> {
    let expected = match sec1.first() {
        Some(&TAG_UNCOMPRESSED) => UNCOMPRESSED_LEN,
        Some(&TAG_COMPRESSED_EVEN | &TAG_COMPRESSED_ODD) => COMPRESSED_LEN,
        None => {
            return Err(SignerError::InvalidLength {
                expected: UNCOMPRESSED_LEN,
                actual: 0,
            });
        }
        // 0x00 is the identity, 0x06/0x07 the hybrid form nobody in mcert produces.
        Some(_) => return Err(SignerError::InvalidPoint),
    };
    if sec1.len() != expected {
        return Err(SignerError::InvalidLength {
            expected,
            actual: sec1.len(),
        });
    }
    sm2::PublicKey::from_sec1_bytes(sec1).map_err(|_| SignerError::InvalidPoint)
}

/// Encodes an SM2 signature as DER `SEQUENCE { INTEGER r, INTEGER s }` (GB/T 35276-2017 §7.3),
/// the form OpenSSL, GmSSL and npm `sm-crypto` (`{der: true}`) exchange.
pub fn signature_to_der(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    let r = UnsignedInteger::new(r);
    let s = UnsignedInteger::new(s);
    // Each INTEGER takes at most 2 + 33 bytes, so every length fits the one-byte short form.
    let content_len = r.encoded_len() + s.encoded_len();
    let mut der = Vec::with_capacity(2 + content_len);
    der.push(DER_SEQUENCE);
    der.push(content_len as u8);
    r.write(&mut der);
    s.write(&mut der);
    der
}

/// An unsigned big-endian number about to be written as a minimal DER INTEGER.
struct UnsignedInteger<'a> {
    /// The value without leading zeros, at least one byte.
    value: &'a [u8],
    /// Whether a 0x00 sign byte must precede `value` to keep the INTEGER non-negative.
    sign_byte: bool,
}

impl<'a> UnsignedInteger<'a> {
    fn new(value: &'a [u8; 32]) -> Self {
        let start = value.iter().position(|&byte| byte != 0).unwrap_or(31);
        let value = value.get(start..).unwrap_or(&[0]);
        let sign_byte = value.first().is_some_and(|byte| byte & 0x80 != 0);
        Self { value, sign_byte }
    }

    fn content_len(&self) -> usize {
        self.value.len() + usize::from(self.sign_byte)
    }

    fn encoded_len(&self) -> usize {
        2 + self.content_len()
    }

    fn write(&self, der: &mut Vec<u8>) {
        der.push(DER_INTEGER);
        der.push(self.content_len() as u8);
        if self.sign_byte {
            der.push(0);
        }
        der.extend_from_slice(self.value);
    }
}

/// Parses a strict DER `SEQUENCE { INTEGER r, INTEGER s }` into big-endian 32-byte `r`, `s`.
///
/// Accepts only what [`signature_to_der`] produces: short-form lengths, minimal non-negative
/// INTEGERs of at most 32 value bytes, nothing after the SEQUENCE. Zero values parse; range
/// checks belong to verification.
///
/// # Errors
///
/// [`SignerError::InvalidSignatureEncoding`] for anything else.
pub fn signature_from_der(der: &[u8]) -> Result<([u8; 32], [u8; 32]), SignerError> {
    let content = match der {
        [DER_SEQUENCE, len, content @ ..] if usize::from(*len) == content.len() && *len < 0x80 => {
            content
        }
        _ => return Err(SignerError::InvalidSignatureEncoding),
    };
    let (r, rest) = read_unsigned_integer(content)?;
    let (s, rest) = read_unsigned_integer(rest)?;
    if !rest.is_empty() {
        return Err(SignerError::InvalidSignatureEncoding);
    }
    Ok((r, s))
}

/// Reads one minimal, non-negative DER INTEGER of at most 256 bits from the front of `input`.
fn read_unsigned_integer(input: &[u8]) -> Result<([u8; 32], &[u8]), SignerError> {
    let [DER_INTEGER, len, rest @ ..] = input else {
        return Err(SignerError::InvalidSignatureEncoding);
    };
    let len = usize::from(*len);
    if len == 0 || len > MAX_INTEGER_LEN {
        return Err(SignerError::InvalidSignatureEncoding);
    }
    let (content, rest) = rest
        .split_at_checked(len)
        .ok_or(SignerError::InvalidSignatureEncoding)?;
    let value = match content {
        // Negative numbers have no place in a signature.
        [first, ..] if first & 0x80 != 0 => return Err(SignerError::InvalidSignatureEncoding),
        // A leading zero is allowed only as the sign byte of a value whose top bit is set.
        [0, second, ..] if second & 0x80 == 0 => {
            return Err(SignerError::InvalidSignatureEncoding);
        }
        [0, value @ ..] if !value.is_empty() => value,
        value => value,
    };
    let mut out = [0u8; 32];
    let offset = 32usize
        .checked_sub(value.len())
        .ok_or(SignerError::InvalidSignatureEncoding)?;
    out.get_mut(offset..)
        .ok_or(SignerError::InvalidSignatureEncoding)?
        .copy_from_slice(value);
    Ok((out, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sm2::elliptic_curve::sec1::ToEncodedPoint;

    fn sig_der(hex: &str) -> Result<([u8; 32], [u8; 32]), SignerError> {
        signature_from_der(&hex::decode(hex).unwrap())
    }

    fn scalar(byte: u8, at: usize) -> [u8; 32] {
        let mut value = [0u8; 32];
        value[at] = byte;
        value
    }

    #[test]
    fn public_key_round_trips_compressed_and_uncompressed() {
        let key = crate::digest::tests::annex_a_public_key();
        for compress in [false, true] {
            let sec1 = key.to_encoded_point(compress);
            assert_eq!(parse_public_key(sec1.as_bytes()).unwrap(), key);
        }
    }

    #[test]
    fn public_key_rejects_identity_bad_tags_and_lengths() {
        let uncompressed = hex::decode(crate::digest::tests::ANNEX_A_PUBLIC_KEY).unwrap();
        assert_eq!(parse_public_key(&[0x00]), Err(SignerError::InvalidPoint));
        assert_eq!(
            parse_public_key(&[]),
            Err(SignerError::InvalidLength {
                expected: 65,
                actual: 0
            })
        );
        assert_eq!(
            parse_public_key(&uncompressed[..64]),
            Err(SignerError::InvalidLength {
                expected: 65,
                actual: 64
            })
        );
        assert_eq!(
            parse_public_key(&uncompressed[..32]),
            Err(SignerError::InvalidLength {
                expected: 65,
                actual: 32
            })
        );
        let mut compressed_too_long = uncompressed.clone();
        compressed_too_long[0] = 0x02;
        assert_eq!(
            parse_public_key(&compressed_too_long),
            Err(SignerError::InvalidLength {
                expected: 33,
                actual: 65
            })
        );
        let mut hybrid = uncompressed.clone();
        hybrid[0] = 0x06;
        assert_eq!(parse_public_key(&hybrid), Err(SignerError::InvalidPoint));
    }

    #[test]
    fn public_key_rejects_point_off_curve_and_coordinate_above_p() {
        let mut off_curve = hex::decode(crate::digest::tests::ANNEX_A_PUBLIC_KEY).unwrap();
        off_curve[64] ^= 1;
        assert_eq!(parse_public_key(&off_curve), Err(SignerError::InvalidPoint));

        let mut x_all_ones = vec![0x02];
        x_all_ones.extend([0xff; 32]);
        assert_eq!(
            parse_public_key(&x_all_ones),
            Err(SignerError::InvalidPoint)
        );
    }

    #[test]
    fn der_known_encodings() {
        // Minimal values: a small r needs one byte, an s with the top bit set a sign byte.
        let der = signature_to_der(&scalar(1, 31), &scalar(0x80, 0));
        let mut expected = hex::decode("3026020101022100").unwrap();
        expected.push(0x80);
        expected.extend([0; 31]);
        assert_eq!(der, expected);
        assert_eq!(
            signature_from_der(&der).unwrap(),
            (scalar(1, 31), scalar(0x80, 0))
        );
        // Zero encodes as one zero byte.
        assert_eq!(
            signature_to_der(&[0; 32], &[0; 32]),
            hex::decode("3006020100020100").unwrap()
        );
    }

    #[test]
    fn der_rejects_non_strict_encodings() {
        for (case, hex) in [
            ("empty", ""),
            ("not a sequence", "3106020101020101"),
            ("length too long", "3007020101020101"),
            ("length too short", "3005020101020101"),
            ("trailing byte after sequence", "300602010102010100"),
            ("trailing byte inside sequence", "300702010102010105"),
            ("long-form length", "308106020101020101"),
            ("missing s", "3003020101"),
            ("s not an integer", "3006020101030101"),
            ("empty integer", "30050201000200"),
            ("negative r", "3006020181020101"),
            ("non-minimal leading zero", "300702020001020101"),
            (
                "sign byte before a value that needs none",
                "300702020060020101",
            ),
            ("two leading zeros", "30080203000080020101"),
        ] {
            assert_eq!(
                sig_der(hex),
                Err(SignerError::InvalidSignatureEncoding),
                "{case}"
            );
        }
        // 33 value bytes: a 257-bit number, even with a correct sign byte.
        let mut too_big = vec![0x30, 0x26, 0x02, 0x21, 0x01];
        too_big.extend([0; 32]);
        too_big.extend([0x02, 0x01, 0x01]);
        assert_eq!(
            signature_from_der(&too_big),
            Err(SignerError::InvalidSignatureEncoding)
        );
        // 34 content bytes for one INTEGER is never valid.
        let mut too_long = vec![0x30, 0x27, 0x02, 0x22, 0x00, 0x80];
        too_long.extend([0; 32]);
        too_long.extend([0x02, 0x01, 0x01]);
        assert_eq!(
            signature_from_der(&too_long),
            Err(SignerError::InvalidSignatureEncoding)
        );
    }

    proptest! {
        #[test]
        fn der_round_trips(r in any::<[u8; 32]>(), s in any::<[u8; 32]>()) {
            let der = signature_to_der(&r, &s);
            prop_assert!(der.len() <= 72);
            prop_assert_eq!(signature_from_der(&der), Ok((r, s)));
        }

        #[test]
        fn der_parser_never_panics_and_accepts_only_canonical(
            bytes in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            if let Ok((r, s)) = signature_from_der(&bytes) {
                prop_assert_eq!(signature_to_der(&r, &s), bytes);
            }
        }
    }
}
