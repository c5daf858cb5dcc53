//! Plain SM2 signature verification (GB/T 32918.2-2016 §7).

use crate::fixed_base::mul_generator;
use crate::scalar::{parse_nonzero_scalar, reduce_256, x_mod_n};
use crate::{SignerError, message_digest, signature_from_der};

/// Verifies a DER-encoded SM2 signature over `message` under `public_key`, with Z_A over
/// [`crate::DIST_ID`]. This is the check OpenSSL (`-sigopt distid:1234567812345678`) and npm
/// `sm-crypto` perform, so a signature accepted here is accepted there.
///
/// The steps are B1–B7 of GB/T 32918.2-2016 §7.1, on the sm2 crate's curve arithmetic rather
/// than its `VerifyingKey`, which would add about 8 KB (DER and OID code) to the wasm module;
/// the tests check both against each other.
///
/// # Errors
///
/// [`SignerError::InvalidSignatureEncoding`] if `signature_der` is not strict DER;
/// [`SignerError::BadSignature`] if `r` or `s` is outside `[1, n-1]` or the signature does not
/// verify.
pub fn verify(
    public_key: &sm2::PublicKey,
    message: &[u8],
    signature_der: &[u8],
) -> Result<(), SignerError> {
    let (r, s) = signature_from_der(signature_der)?;
    // B1, B2: r, s in [1, n-1].
    let r = parse_nonzero_scalar(&r).map_err(|_| SignerError::BadSignature)?;
    let s = parse_nonzero_scalar(&s).map_err(|_| SignerError::BadSignature)?;
    // B3, B4: e = SM3(Z_A ‖ M).
    let e = reduce_256(&message_digest(public_key, message)?);
    // B5: t = r + s mod n, not zero.
    let t = r + s;
    if bool::from(t.is_zero()) {
        return Err(SignerError::BadSignature);
    }
    // B6: (x1, y1) = [s]G + [t]P, which must not be the point at infinity.
    let point = (mul_generator(&s) + public_key.to_projective() * t).to_affine();
    if bool::from(point.is_identity()) {
        return Err(SignerError::BadSignature);
    }
    // B7: R = e + x1 mod n must equal r.
    if e + x_mod_n(&point) == r {
        Ok(())
    } else {
        Err(SignerError::BadSignature)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::tests::{ANNEX_A_MESSAGE, annex_a_public_key};
    use crate::{DIST_ID, parse_public_key, signature_to_der};
    use proptest::prelude::*;
    use sm2::dsa::signature::{Signer, Verifier};
    use sm2::dsa::{Signature, SigningKey, VerifyingKey};
    use sm2::elliptic_curve::PrimeField;
    use sm2::elliptic_curve::ops::Reduce;
    use sm2::elliptic_curve::point::AffineCoordinates;
    use sm2::elliptic_curve::sec1::ToEncodedPoint;
    use sm2::{NonZeroScalar, ProjectivePoint, Scalar, U256};

    /// The sm2 crate's own verdict on (r, s), as an independent check of [`verify`].
    fn sm2_crate_accepts(public: &sm2::PublicKey, message: &[u8], rs: &[u8; 64]) -> bool {
        let Ok(signature) = Signature::from_slice(rs) else {
            return false;
        };
        VerifyingKey::new(DIST_ID, *public)
            .unwrap()
            .verify(message, &signature)
            .is_ok()
    }

    fn unhex32(hex: &str) -> [u8; 32] {
        hex::decode(hex).unwrap().try_into().unwrap()
    }

    // GM/T 0003.5-2012 Annex A signature example on the recommended curve (the same numbers as
    // GB/T 32918.5; reproduced with this comment in OpenSSL `test/sm2_internal_test.c`), ID
    // "1234567812345678", message "message digest". OpenSSL 3.0 `dgst -sm3 -verify -sigopt
    // distid:1234567812345678` also accepts it.
    const ANNEX_A_PRIVATE_KEY: &str =
        "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
    const ANNEX_A_K: &str = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21";
    const ANNEX_A_R: &str = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3";
    const ANNEX_A_S: &str = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";

    fn annex_a_der() -> Vec<u8> {
        signature_to_der(&unhex32(ANNEX_A_R), &unhex32(ANNEX_A_S))
    }

    #[test]
    fn annex_a_signature_verifies() {
        assert_eq!(
            verify(&annex_a_public_key(), ANNEX_A_MESSAGE, &annex_a_der()),
            Ok(())
        );
    }

    #[test]
    fn annex_a_signature_rejects_other_message() {
        assert_eq!(
            verify(&annex_a_public_key(), b"message digesT", &annex_a_der()),
            Err(SignerError::BadSignature)
        );
    }

    /// Recomputes the Annex A signature from dA and k with the formulas of GB/T 32918.2 §6.1
    /// (A4–A6), checking that dA yields the published public key and that e, k give r and s.
    #[test]
    fn annex_a_signature_recomputed_from_private_key_and_k() {
        let d = Scalar::from_repr(unhex32(ANNEX_A_PRIVATE_KEY).into()).unwrap();
        let k = Scalar::from_repr(unhex32(ANNEX_A_K).into()).unwrap();
        let public = (ProjectivePoint::GENERATOR * d).to_affine();
        assert_eq!(
            sm2::PublicKey::from_affine(public).unwrap(),
            annex_a_public_key()
        );

        let e = message_digest(&annex_a_public_key(), ANNEX_A_MESSAGE).unwrap();
        let x1 = (ProjectivePoint::GENERATOR * k).to_affine().x();
        let r = <Scalar as Reduce<U256>>::reduce_bytes(&e.into())
            + <Scalar as Reduce<U256>>::reduce_bytes(&x1);
        let s = (Scalar::ONE + d).invert().unwrap() * (k - r * d);
        assert_eq!(hex::encode_upper(r.to_bytes()), ANNEX_A_R);
        assert_eq!(hex::encode_upper(s.to_bytes()), ANNEX_A_S);
    }

    #[test]
    fn out_of_range_scalars_are_bad_signatures() {
        let key = annex_a_public_key();
        let n = unhex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123");
        let s = unhex32(ANNEX_A_S);
        for (r, s) in [([0; 32], s), (s, [0; 32]), (n, s), (s, n)] {
            let der = signature_to_der(&r, &s);
            assert_eq!(
                verify(&key, ANNEX_A_MESSAGE, &der),
                Err(SignerError::BadSignature)
            );
        }
    }

    #[test]
    fn malformed_der_is_an_encoding_error() {
        let mut der = annex_a_der();
        der.push(0);
        assert_eq!(
            verify(&annex_a_public_key(), ANNEX_A_MESSAGE, &der),
            Err(SignerError::InvalidSignatureEncoding)
        );
    }

    /// Self-generated regression vector, shared with the mini-program SDK tests
    /// (`miniprogram-sdk/test/signer.test.ts`). Produced once by `print_sdk_vector` below: sm2
    /// 0.13.3 `SigningKey` (deterministic RFC 6979 nonce) with the private key and message here,
    /// and checked once with OpenSSL 3.0 (`openssl dgst -sm3 -verify ... -sigopt
    /// distid:1234567812345678`: "Verified OK"). It exercises a non-ASCII message and a
    /// compressed public key; it is not a standard vector.
    const SDK_PRIVATE_KEY: &str =
        "6d636572742073646b207465737420766563746f722c206e6f742061206b6579";
    const SDK_MESSAGE: &str = "mcert 扫码登录 ✓";
    const SDK_PUBLIC_KEY_COMPRESSED: &str =
        "025d2fee00a60a368ccaf181429b5eaf8fe29ca80c5be1535a1e18aca7291196db";
    const SDK_SIGNATURE_DER: &str = "\
        304402206b2b20a9df26b32db51f6792ebe6dd8753f86a69e82b4aada6fae25d5edc4088\
        02207d31641b7dce476c5a47046c80e11ce4310061b1e876347e094f6cb3028960e8";

    fn sdk_signing_key() -> SigningKey {
        SigningKey::from_slice(DIST_ID, &hex::decode(SDK_PRIVATE_KEY).unwrap()).unwrap()
    }

    #[test]
    #[ignore = "prints the SDK vector; run with --ignored --nocapture to regenerate"]
    fn print_sdk_vector() {
        let key = sdk_signing_key();
        let public = sm2::PublicKey::from(key.verifying_key());
        let signature: Signature = key.sign(SDK_MESSAGE.as_bytes());
        let der = signature_to_der(&signature.r_bytes().into(), &signature.s_bytes().into());
        println!(
            "public key (compressed): {}",
            hex::encode(public.to_encoded_point(true))
        );
        println!("signature (DER): {}", hex::encode(der));
    }

    #[test]
    fn sdk_vector_verifies() {
        let public = parse_public_key(&hex::decode(SDK_PUBLIC_KEY_COMPRESSED).unwrap()).unwrap();
        assert_eq!(
            public,
            sm2::PublicKey::from(sdk_signing_key().verifying_key())
        );
        let der = hex::decode(SDK_SIGNATURE_DER).unwrap();
        assert_eq!(verify(&public, SDK_MESSAGE.as_bytes(), &der), Ok(()));
    }

    prop_compose! {
        fn signing_key()(bytes in any::<[u8; 32]>()) -> SigningKey {
            let scalar = <Scalar as Reduce<U256>>::reduce_bytes(&bytes.into());
            // Zero has probability 2^-256; a failure here would be worth a lottery ticket.
            let scalar = NonZeroScalar::new(scalar).unwrap();
            SigningKey::from_nonzero_scalar(DIST_ID, scalar).unwrap()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn signatures_from_sm2_crate_verify(
            key in signing_key(),
            message in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let signature: Signature = key.sign(&message);
            let der = signature_to_der(&signature.r_bytes().into(), &signature.s_bytes().into());
            let public = sm2::PublicKey::from(key.verifying_key());
            prop_assert_eq!(verify(&public, &message, &der), Ok(()));
            let rs = (signature.r_bytes().into(), signature.s_bytes().into());
            prop_assert_eq!(signature_from_der(&der), Ok(rs));
        }

        #[test]
        fn flipping_any_bit_of_the_signature_rejects(
            key in signing_key(),
            bit in 0usize..512,
        ) {
            let message = b"mcert login";
            let signature: Signature = key.sign(message);
            let mut rs = signature.to_bytes();
            rs[bit / 8] ^= 1 << (bit % 8);
            let (r, s) = rs.split_at(32);
            let der = signature_to_der(&r.try_into().unwrap(), &s.try_into().unwrap());
            let public = sm2::PublicKey::from(key.verifying_key());
            prop_assert_eq!(verify(&public, message, &der), Err(SignerError::BadSignature));
        }

        #[test]
        fn agrees_with_the_sm2_crate_on_damaged_signatures(
            key in signing_key(),
            damage in any::<[u8; 64]>(),
            keep_r in any::<bool>(),
        ) {
            // Random (r, s), or a valid r with a random s: both verifiers must say the same.
            let message = b"mcert login";
            let signature: Signature = key.sign(message);
            let mut rs = damage;
            if keep_r {
                rs[..32].copy_from_slice(&signature.r_bytes());
            }
            let public = sm2::PublicKey::from(key.verifying_key());
            let der = signature_to_der(&rs[..32].try_into().unwrap(), &rs[32..].try_into().unwrap());
            prop_assert_eq!(
                verify(&public, message, &der).is_ok(),
                sm2_crate_accepts(&public, message, &rs)
            );
            let valid: [u8; 64] = signature.to_bytes();
            prop_assert!(sm2_crate_accepts(&public, message, &valid));
        }

        #[test]
        fn flipping_any_bit_of_the_message_rejects(
            key in signing_key(),
            bit in 0usize..88,
        ) {
            let mut message = *b"mcert login";
            let signature: Signature = key.sign(&message);
            let der = signature_to_der(&signature.r_bytes().into(), &signature.s_bytes().into());
            message[bit / 8] ^= 1 << (bit % 8);
            let public = sm2::PublicKey::from(key.verifying_key());
            prop_assert_eq!(verify(&public, &message, &der), Err(SignerError::BadSignature));
        }
    }
}
