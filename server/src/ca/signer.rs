//! The CA's signing key behind a narrow trait: a software SM2 key today, an HSM later.

use der::asn1::BitString;
use sm2::dsa::{SigningKey, signature::Signer};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};

use super::{CaError, oids};

/// Signs to-be-signed structures for the CA.
pub trait CaSigner: Send + Sync + std::fmt::Debug {
    /// The signature algorithm identifier to embed (SM2-with-SM3).
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned;
    /// The signer's public key.
    fn public_key_info(&self) -> &SubjectPublicKeyInfoOwned;
    /// Signs `message`; returns the signature as the BIT STRING to embed.
    fn sign(&self, message: &[u8]) -> Result<BitString, CaError>;
}

/// An SM2 key held in memory (decrypted from its sealed form at start).
pub struct SoftwareSm2Signer {
    key: SigningKey,
    public_key_info: SubjectPublicKeyInfoOwned,
}

impl std::fmt::Debug for SoftwareSm2Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareSm2Signer([redacted])")
    }
}

impl SoftwareSm2Signer {
    /// Wraps a secret scalar (32 bytes, big-endian).
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Self, CaError> {
        let key =
            SigningKey::from_slice(mcert_signer::DIST_ID, secret).map_err(|_| CaError::Crypto {
                detail: "invalid SM2 secret key",
            })?;
        let public_key =
            sm2::PublicKey::from_affine(*key.verifying_key().as_affine()).map_err(|_| {
                CaError::Crypto {
                    detail: "invalid SM2 public key",
                }
            })?;
        let public_key_info = public_key_info(&public_key)?;
        Ok(Self {
            key,
            public_key_info,
        })
    }

    /// A new random key; returns the signer and the secret bytes to seal.
    pub fn generate() -> Result<(Self, zeroize::Zeroizing<Vec<u8>>), CaError> {
        let secret = sm2::SecretKey::random(&mut rand::rngs::OsRng);
        let bytes = zeroize::Zeroizing::new(secret.to_bytes().to_vec());
        Ok((Self::from_secret_bytes(&bytes)?, bytes))
    }
}

/// The SubjectPublicKeyInfo of an SM2 public key (id-ecPublicKey, curve sm2p256v1).
pub fn public_key_info(public_key: &sm2::PublicKey) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    let der = public_key
        .to_public_key_der()
        .map_err(|_| CaError::Crypto {
            detail: "SM2 public key encoding",
        })?;
    Ok(der.decode_msg::<SubjectPublicKeyInfoOwned>()?)
}

impl CaSigner for SoftwareSm2Signer {
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        oids::sm2_with_sm3()
    }

    fn public_key_info(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key_info
    }

    fn sign(&self, message: &[u8]) -> Result<BitString, CaError> {
        let signature: sm2::dsa::Signature =
            self.key.try_sign(message).map_err(|_| CaError::Crypto {
                detail: "SM2 signing",
            })?;
        let der = mcert_signer::signature_to_der(
            &signature.r_bytes().into(),
            &signature.s_bytes().into(),
        );
        Ok(BitString::from_bytes(&der)?)
    }
}
