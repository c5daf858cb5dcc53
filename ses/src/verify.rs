//! The signature checks of seals and seal signatures, in the order GB/T 38540 §8 gives them
//! (validity periods and revocation, which need a clock and the CA's records, are the caller's).

use der::{Decode, Encode, Sequence, asn1::UintRef};
use sm2::dsa::{Signature, VerifyingKey, signature::Verifier as _};
use x509_cert::Certificate;

use crate::{
    DIST_ID, SM2_WITH_SM3,
    seal::{CertList, Seal, SealV4},
    signature::SignatureV4,
};

/// Why a seal or a seal signature does not check out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SesError {
    /// The DER does not decode (truncated, over-long, trailing bytes, wrong structure).
    Malformed(der::Error),
    /// A signature algorithm other than SM2 with SM3.
    AlgorithmUnsupported,
    /// A certificate that does not parse or holds no SM2 key.
    CertificateInvalid,
    /// The maker's signature over the seal does not verify.
    MakerSignatureInvalid,
    /// The signer's signature over `TBS_Sign` does not verify.
    SignerSignatureInvalid,
    /// The signer's certificate is not in the seal's certificate list.
    SignerNotInSeal,
    /// The document's digest is not the one signed.
    DocumentHashMismatch,
}

impl core::fmt::Display for SesError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed seal structure: {e}"),
            Self::AlgorithmUnsupported => f.write_str("signature algorithm is not SM2 with SM3"),
            Self::CertificateInvalid => f.write_str("certificate is not an SM2 certificate"),
            Self::MakerSignatureInvalid => f.write_str("the maker's signature does not verify"),
            Self::SignerSignatureInvalid => f.write_str("the signer's signature does not verify"),
            Self::SignerNotInSeal => f.write_str("the signer's certificate is not in the seal"),
            Self::DocumentHashMismatch => {
                f.write_str("the document's digest is not the one signed")
            }
        }
    }
}

impl std::error::Error for SesError {}

impl From<der::Error> for SesError {
    fn from(error: der::Error) -> Self {
        Self::Malformed(error)
    }
}

/// The SM2 public key of a DER certificate.
///
/// # Errors
///
/// [`SesError::CertificateInvalid`] if it does not parse or its key is not an SM2 point.
pub fn public_key_of(certificate_der: &[u8]) -> Result<sm2::PublicKey, SesError> {
    let certificate =
        Certificate::from_der(certificate_der).map_err(|_| SesError::CertificateInvalid)?;
    let key = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    sm2::PublicKey::from_sec1_bytes(key).map_err(|_| SesError::CertificateInvalid)
}

/// An SM2 signature as DER `SEQUENCE { r, s }`.
#[derive(Sequence)]
struct DerSignature<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Checks an SM2-with-SM3 signature (`algorithm`, DER `signature`) over `message` by the key of
/// `certificate_der`; `invalid` is the error of a signature that does not verify.
pub(crate) fn verify_sm2(
    certificate_der: &[u8],
    algorithm: der::oid::ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
    invalid: SesError,
) -> Result<(), SesError> {
    if algorithm != SM2_WITH_SM3 {
        return Err(SesError::AlgorithmUnsupported);
    }
    let public_key = public_key_of(certificate_der)?;
    let parsed = DerSignature::from_der(signature).map_err(|_| invalid.clone())?;
    let mut rs = [0u8; 64];
    for (half, value) in [parsed.r.as_bytes(), parsed.s.as_bytes()]
        .into_iter()
        .enumerate()
    {
        if value.len() > 32 {
            return Err(invalid);
        }
        let end = 32 * (half + 1);
        rs[end - value.len()..end].copy_from_slice(value);
    }
    let signature = Signature::from_slice(&rs).map_err(|_| invalid.clone())?;
    let key = VerifyingKey::new(DIST_ID, public_key).map_err(|_| SesError::CertificateInvalid)?;
    key.verify(message, &signature).map_err(|_| invalid)
}

impl Seal {
    /// Checks the maker's signature over the seal.
    ///
    /// # Errors
    ///
    /// [`SesError::AlgorithmUnsupported`], [`SesError::CertificateInvalid`] or
    /// [`SesError::MakerSignatureInvalid`].
    pub fn verify_maker(&self) -> Result<(), SesError> {
        match self {
            Self::V4(seal) => seal.verify_maker(),
            Self::V1(seal) => verify_sm2(
                seal.sign_info.cert.as_bytes(),
                seal.sign_info.signature_algorithm,
                &self.maker_signed_bytes()?,
                seal.sign_info.sign_data.raw_bytes(),
                SesError::MakerSignatureInvalid,
            ),
        }
    }
}

impl SealV4 {
    /// Checks the maker's signature over DER(`SES_SealInfo`).
    ///
    /// # Errors
    ///
    /// As [`Seal::verify_maker`].
    pub fn verify_maker(&self) -> Result<(), SesError> {
        verify_sm2(
            self.cert.as_bytes(),
            self.sign_alg_id,
            &self.e_seal_info.to_der()?,
            self.signed_value.raw_bytes(),
            SesError::MakerSignatureInvalid,
        )
    }
}

impl SignatureV4 {
    /// Checks the seal signature in the standard's order: the signer's signature over
    /// DER(`TBS_Sign`), the signer's certificate in the seal's list, the maker's signature over
    /// the seal, and, when `document_hash` is given, that it is the digest signed.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub fn verify(&self, document_hash: Option<&[u8]>) -> Result<(), SesError> {
        verify_sm2(
            self.cert.as_bytes(),
            self.signature_alg_id,
            &self.to_sign.to_der()?,
            self.signature.raw_bytes(),
            SesError::SignerSignatureInvalid,
        )?;
        let signer = self.cert.as_bytes();
        let listed = match self.to_sign.eseal.e_seal_info.property.cert_list()? {
            CertList::Certificates(certificates) => {
                certificates.iter().any(|c| c.as_bytes() == signer)
            }
            CertList::Digests(digests) => {
                use sm3::Digest as _;
                let digest = sm3::Sm3::digest(signer);
                digests
                    .iter()
                    .any(|d| d.value.as_bytes() == digest.as_slice())
            }
        };
        if !listed {
            return Err(SesError::SignerNotInSeal);
        }
        self.to_sign.eseal.verify_maker()?;
        match document_hash {
            Some(hash) if self.to_sign.data_hash.raw_bytes() != hash => {
                Err(SesError::DocumentHashMismatch)
            }
            _ => Ok(()),
        }
    }
}
