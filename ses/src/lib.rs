//! Electronic seals (电子印章) as GB/T 38540-2020 defines them (version 4), and as GM/T 0031-2014
//! defined them (version 1, still found in the wild): the seal a CA makes for an employer
//! (`SESeal`), and the seal signature on a document (`SES_Signature` over `TBS_Sign`).
//!
//! The types mirror the standards' ASN.1 field by field, so a structure decoded from DER encodes
//! back to the same bytes, and what is signed is always the DER of the structure the standard
//! names: the seal maker signs DER(`SES_SealInfo`) in v4 and DER(SEQUENCE { sealInfo, cert,
//! signatureAlgorithm }) in v1; the signer signs DER(`TBS_Sign`). Signatures are SM2 with SM3
//! and the distinguishing ID `1234567812345678`, DER `SEQUENCE { r, s }` inside the BIT STRING.
//!
//! Decoding is strict DER: truncated input, lengths past the end, non-minimal encodings and
//! bytes after the structure are refused.

#![forbid(unsafe_code)]

pub mod pdf;
mod report;
mod seal;
mod signature;
mod verify;

pub use report::{
    CertStatus, Check, Outcome, Registry, Report, SealSummary, SignerSummary, Verdict,
    beijing_time, verify_signature,
};
pub use seal::{
    CertDigest, CertList, ExtData, Header, Picture, PropertyInfoV1, PropertyInfoV4, Seal,
    SealInfoV1, SealInfoV4, SealV1, SealV4, SignInfoV1,
};
pub use signature::{SignatureV4, TbsSignV4};
pub use verify::{SesError, public_key_of};

/// SM2 with SM3 (GM/T 0006: 1.2.156.10197.1.501), the signature algorithm of every mcert seal.
pub const SM2_WITH_SM3: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");

/// The distinguishing ID of every SM2 signature here (GM/T 0009 default).
pub const DIST_ID: &str = "1234567812345678";
