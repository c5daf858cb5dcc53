//! SM3, the SM2 user hash Z_A and the message digest e (GB/T 32918.2-2016 §5.5 and §6.1).

use crate::SignerError;
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm3::{Digest, Sm3};

/// The SM2 distinguishing ID mcert uses for every key, certificate and signature.
///
/// It is the default user ID of GM/T 0009-2012 (§10), which OpenSSL, GmSSL and npm `sm-crypto`
/// also assume when none is given. Every party must hash the same ID into Z_A or no signature
/// verifies; OpenSSL needs it spelled out: `-sigopt distid:1234567812345678` or
/// `-vfyopt distid:1234567812345678`.
pub const DIST_ID: &str = "1234567812345678";

/// Longest ID whose bit length fits ENTL, a 16-bit field.
const MAX_DIST_ID_LEN: usize = (u16::MAX / 8) as usize;

// Curve coefficients and generator of the recommended curve (GB/T 32918.5-2017, §3), hashed into
// Z_A. The sm2 crate keeps its copies private; `generator_matches_sm2_crate` pins xG, yG to them
// and the Z_A known answer pins a and b.
const A: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc,
];
const B: [u8; 32] = [
    0x28, 0xe9, 0xfa, 0x9e, 0x9d, 0x9f, 0x5e, 0x34, 0x4d, 0x5a, 0x9e, 0x4b, 0xcf, 0x65, 0x09, 0xa7,
    0xf3, 0x97, 0x89, 0xf5, 0x15, 0xab, 0x8f, 0x92, 0xdd, 0xbc, 0xbd, 0x41, 0x4d, 0x94, 0x0e, 0x93,
];
const GX: [u8; 32] = [
    0x32, 0xc4, 0xae, 0x2c, 0x1f, 0x19, 0x81, 0x19, 0x5f, 0x99, 0x04, 0x46, 0x6a, 0x39, 0xc9, 0x94,
    0x8f, 0xe3, 0x0b, 0xbf, 0xf2, 0x66, 0x0b, 0xe1, 0x71, 0x5a, 0x45, 0x89, 0x33, 0x4c, 0x74, 0xc7,
];
const GY: [u8; 32] = [
    0xbc, 0x37, 0x36, 0xa2, 0xf4, 0xf6, 0x77, 0x9c, 0x59, 0xbd, 0xce, 0xe3, 0x6b, 0x69, 0x21, 0x53,
    0xd0, 0xa9, 0x87, 0x7c, 0xc6, 0x2a, 0x47, 0x40, 0x02, 0xdf, 0x32, 0xe5, 0x21, 0x39, 0xf0, 0xa0,
];

/// SM3 hash of `data` (GB/T 32905-2016).
pub fn sm3_digest(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// User hash Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) (GB/T 32918.2-2016 §5.5), where ENTL
/// is the bit length of `dist_id` as two big-endian bytes.
///
/// # Errors
///
/// [`SignerError::DistIdTooLong`] if `dist_id` has more than 8191 bytes.
pub fn za(public_key: &sm2::PublicKey, dist_id: &[u8]) -> Result<[u8; 32], SignerError> {
    let entl = u16::try_from(dist_id.len())
        .ok()
        .filter(|_| dist_id.len() <= MAX_DIST_ID_LEN)
        .map(|len| len * 8)
        .ok_or(SignerError::DistIdTooLong { len: dist_id.len() })?;
    let point = public_key.to_encoded_point(false);
    // A `PublicKey` is never the identity, so both coordinates are present.
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(SignerError::InvalidPoint);
    };
    Ok(Sm3::new()
        .chain_update(entl.to_be_bytes())
        .chain_update(dist_id)
        .chain_update(A)
        .chain_update(B)
        .chain_update(GX)
        .chain_update(GY)
        .chain_update(x)
        .chain_update(y)
        .finalize()
        .into())
}

/// Message digest e = SM3(Z_A ‖ M) with Z_A over [`DIST_ID`] (GB/T 32918.2-2016 §6.1, A1–A2):
/// the value an SM2 signature over `message` actually signs.
///
/// # Errors
///
/// None in practice for [`DIST_ID`]; the `Result` carries [`za`]'s contract.
pub fn message_digest(
    public_key: &sm2::PublicKey,
    message: &[u8],
) -> Result<[u8; 32], SignerError> {
    let za = za(public_key, DIST_ID.as_bytes())?;
    Ok(Sm3::new()
        .chain_update(za)
        .chain_update(message)
        .finalize()
        .into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sm2::ProjectivePoint;
    use sm2::elliptic_curve::group::Group as _;

    /// Public key of the signature example on the recommended curve, GM/T 0003.5-2012 Annex A
    /// (also GB/T 32918.5; reproduced in OpenSSL `test/sm2_internal_test.c`, `gm_group` case),
    /// private key dA = 3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8.
    pub(crate) const ANNEX_A_PUBLIC_KEY: &str = "04\
        09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020\
        CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
    /// Message of that example.
    pub(crate) const ANNEX_A_MESSAGE: &[u8] = b"message digest";

    pub(crate) fn annex_a_public_key() -> sm2::PublicKey {
        crate::parse_public_key(&hex::decode(ANNEX_A_PUBLIC_KEY).unwrap()).unwrap()
    }

    // GB/T 32905-2016 Annex A, example 1: "abc".
    #[test]
    fn sm3_abc() {
        assert_eq!(
            hex::encode(sm3_digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    // GB/T 32905-2016 Annex A, example 2: "abcd" repeated 16 times (64 bytes, two blocks).
    #[test]
    fn sm3_abcd_times_16() {
        assert_eq!(
            hex::encode(sm3_digest(&b"abcd".repeat(16))),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    // GM/T 0003.5-2012 Annex A signature example, ID "1234567812345678". This Z_A is the value
    // third-party suites built on emmansun/gmsm assert for that key and ID; it is pinned
    // independently by the e below (printed in the example) and by the signature verifying.
    #[test]
    fn za_annex_a() {
        assert_eq!(
            hex::encode_upper(za(&annex_a_public_key(), DIST_ID.as_bytes()).unwrap()),
            "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
        );
    }

    // GM/T 0003.5-2012 Annex A signature example: e = SM3(Z_A ‖ "message digest") as printed
    // there (reproduced in several SM2 implementations' tests next to r and s).
    #[test]
    fn message_digest_annex_a() {
        assert_eq!(
            hex::encode_upper(message_digest(&annex_a_public_key(), ANNEX_A_MESSAGE).unwrap()),
            "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
        );
    }

    #[test]
    fn generator_matches_sm2_crate() {
        let g = ProjectivePoint::generator()
            .to_affine()
            .to_encoded_point(false);
        assert_eq!(g.x().unwrap().as_slice(), GX);
        assert_eq!(g.y().unwrap().as_slice(), GY);
    }

    #[test]
    fn dist_id_length_limit() {
        let key = annex_a_public_key();
        assert!(za(&key, &[b'a'; 8191]).is_ok());
        assert_eq!(
            za(&key, &[b'a'; 8192]),
            Err(SignerError::DistIdTooLong { len: 8192 })
        );
    }
}
