//! `SES_Signature`: a seal signature on a document (GB/T 38540 v4).

use der::{
    Sequence,
    asn1::{BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString},
};

use crate::seal::{ExtData, SealV4};

/// `TBS_Sign`: what the signer (the employer's certificate holder) signs.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TbsSignV4 {
    /// Always 4.
    pub version: u32,
    /// The seal used.
    pub eseal: SealV4,
    /// When it was signed.
    pub time_info: GeneralizedTime,
    /// The document's digest (SM3 for mcert).
    pub data_hash: BitString,
    /// What was signed, as the signer's system names it (a path, a title).
    pub property_info: Ia5String,
    /// Extensions.
    pub ext_datas: Option<Vec<ExtData>>,
}

/// `SES_Signature`: the signed `TBS_Sign`, the signer's certificate and signature.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SignatureV4 {
    /// What was signed.
    pub to_sign: TbsSignV4,
    /// The signer's DER certificate.
    pub cert: OctetString,
    /// The signature algorithm.
    pub signature_alg_id: ObjectIdentifier,
    /// The signer's DER signature over DER(`to_sign`).
    pub signature: BitString,
    /// A time stamp over the signature value.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub time_stamp: Option<BitString>,
}
