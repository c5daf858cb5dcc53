//! Object identifiers of the Chinese commercial cryptography suite (GM/T 0006) and friends.

use der::asn1::ObjectIdentifier;
use spki::AlgorithmIdentifierOwned;

/// SM2 curve (sm2p256v1), GM/T 0006.
pub const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
/// SM3 hash.
pub const SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");
/// SM2 signature with SM3.
pub const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
/// id-ecPublicKey (RFC 5480), the key algorithm of SM2 public keys.
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// organizationIdentifier (X.520), carries the unified social credit code.
pub const ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");
/// SHA-1, for OCSP CertIDs made by clients that default to it (OpenSSL does).
pub const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// SHA-256.
pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// The SM2-with-SM3 signature algorithm identifier (no parameters, per GM/T 0015).
pub fn sm2_with_sm3() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: SM2_WITH_SM3,
        parameters: None,
    }
}
