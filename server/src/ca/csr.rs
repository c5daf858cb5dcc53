//! PKCS#10 requests from USB keys: parsed, algorithm checked, proof of possession verified.

use der::{Decode, DecodePem, Encode};
use x509_cert::request::CertReq;

use super::{CaError, oids};

/// A request whose signature verified under its own SM2 key.
#[derive(Debug)]
pub struct VerifiedCsr {
    /// The requested key.
    pub public_key: sm2::PublicKey,
    /// The key as SubjectPublicKeyInfo.
    pub public_key_info: spki::SubjectPublicKeyInfoOwned,
}

/// Parses a DER or PEM request and checks its self-signature (with the standard SM2
/// distinguishing ID, which is what USB keys and `openssl req -sigopt distid:…` use).
pub fn verify_csr(input: &[u8]) -> Result<VerifiedCsr, CaError> {
    let malformed = |e: der::Error| CaError::CsrMalformed {
        detail: e.to_string(),
    };
    let request = if input.starts_with(b"-----BEGIN") {
        CertReq::from_pem(input).map_err(malformed)?
    } else {
        CertReq::from_der(input).map_err(malformed)?
    };
    let spki = &request.info.public_key;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
        .ok_or_else(|| CaError::CsrAlgorithm {
            oid: spki.algorithm.oid.to_string(),
        })?;
    if spki.algorithm.oid != oids::EC_PUBLIC_KEY || curve != oids::SM2_CURVE {
        return Err(CaError::CsrAlgorithm {
            oid: format!("{} / {curve}", spki.algorithm.oid),
        });
    }
    if request.algorithm.oid != oids::SM2_WITH_SM3 {
        return Err(CaError::CsrAlgorithm {
            oid: request.algorithm.oid.to_string(),
        });
    }
    let public_key =
        mcert_signer::parse_public_key(spki.subject_public_key.raw_bytes()).map_err(|_| {
            CaError::CsrMalformed {
                detail: "public key is not a point on SM2".into(),
            }
        })?;
    let signed = request.info.to_der()?;
    let signature = request
        .signature
        .as_bytes()
        .ok_or(CaError::CsrSignatureInvalid)?;
    mcert_signer::verify(&public_key, &signed, signature)
        .map_err(|_| CaError::CsrSignatureInvalid)?;
    Ok(VerifiedCsr {
        public_key,
        public_key_info: spki.clone(),
    })
}
