//! P-256 keys that sign ID tokens (ES256), published as a JWKS. Rotation keeps old keys in the
//! set so tokens signed before the rotation still verify.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::{
    ecdsa::SigningKey,
    elliptic_curve::sec1::ToEncodedPoint,
    pkcs8::{DecodePublicKey, EncodePublicKey},
};
use serde::Serialize;

use super::CaError;

/// One published key.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Jwk {
    /// Key type: `EC`.
    pub kty: &'static str,
    /// Curve: `P-256`.
    pub crv: &'static str,
    /// X coordinate, base64url.
    pub x: String,
    /// Y coordinate, base64url.
    pub y: String,
    /// Key id.
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub key_use: &'static str,
    /// `ES256`.
    pub alg: &'static str,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Jwks {
    /// The keys, current first.
    pub keys: Vec<Jwk>,
}

/// A newly generated token key: key id, secret scalar (to seal), SubjectPublicKeyInfo DER.
pub struct NewTokenKey {
    /// Key id.
    pub kid: String,
    /// Secret scalar bytes.
    pub secret: zeroize::Zeroizing<Vec<u8>>,
    /// Public key, SubjectPublicKeyInfo DER.
    pub spki: Vec<u8>,
}

impl std::fmt::Debug for NewTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTokenKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The token keys in use.
pub struct TokenKeys {
    current_kid: String,
    current: SigningKey,
    published: Jwks,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("current_kid", &self.current_kid)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// From the current secret and every public key to publish (`(kid, SPKI DER)`).
    pub fn new(
        current_kid: String,
        current_secret: &[u8],
        public: &[(String, Vec<u8>)],
    ) -> Result<Self, CaError> {
        let current = SigningKey::from_slice(current_secret).map_err(|_| CaError::Crypto {
            detail: "P-256 token key",
        })?;
        let mut keys = Vec::with_capacity(public.len());
        for (kid, spki) in public {
            let key = p256::PublicKey::from_public_key_der(spki).map_err(|_| CaError::Crypto {
                detail: "P-256 public key",
            })?;
            keys.push(jwk(kid, &key));
        }
        Ok(Self {
            current_kid,
            current,
            published: Jwks { keys },
        })
    }

    /// A new key.
    pub fn generate() -> Result<NewTokenKey, CaError> {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let spki = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|_| CaError::Crypto {
                detail: "P-256 public key encoding",
            })?
            .into_vec();
        let kid = hex::encode(&mcert_signer::sm3_digest(&spki)[..8]);
        Ok(NewTokenKey {
            kid,
            secret: zeroize::Zeroizing::new(key.to_bytes().to_vec()),
            spki,
        })
    }

    /// The published set.
    pub fn jwks(&self) -> &Jwks {
        &self.published
    }

    /// The key id of the signing key.
    pub fn current_kid(&self) -> &str {
        &self.current_kid
    }

    /// The signing key (ID tokens).
    pub fn signing_key(&self) -> &SigningKey {
        &self.current
    }
}

fn jwk(kid: &str, key: &p256::PublicKey) -> Jwk {
    let point = key.to_encoded_point(false);
    let coordinate =
        |c: Option<&p256::FieldBytes>| c.map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default();
    Jwk {
        kty: "EC",
        crv: "P-256",
        x: coordinate(point.x()),
        y: coordinate(point.y()),
        kid: kid.to_string(),
        key_use: "sig",
        alg: "ES256",
    }
}
