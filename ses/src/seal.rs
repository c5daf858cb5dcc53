//! `SESeal`: the seal a maker (the CA) signs for an employer.

use der::{
    Any, Decode, Encode, Sequence,
    asn1::{
        BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString, PrintableString,
        UtcTime,
    },
};

/// `SES_Header`: `ES`, the version (4, or 1/2 for GM/T 0031) and the maker's identifier.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Header {
    /// Always `ES`.
    pub id: Ia5String,
    /// 4 for GB/T 38540; GM/T 0031 seals carry 1 or 2.
    pub version: u32,
    /// The maker's system identifier (厂商标识).
    pub vid: Ia5String,
}

/// `SES_ESPictrueInfo` (sic): the seal's picture and its size in millimetres.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Picture {
    /// `PNG`, `GIF`, `JPG`, `BMP` or `SVG`.
    pub kind: Ia5String,
    /// The image.
    pub data: OctetString,
    /// Width, mm.
    pub width: u32,
    /// Height, mm.
    pub height: u32,
}

/// `ExtData`: an extension of a seal or a signature.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ExtData {
    /// What it is.
    pub extn_id: ObjectIdentifier,
    /// Whether a reader that does not know it must refuse the structure.
    #[asn1(default = "Default::default")]
    pub critical: bool,
    /// The value.
    pub extn_value: OctetString,
}

/// `CertDigestObj`: a certificate named by its digest.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertDigest {
    /// The digest algorithm, e.g. `SM3`.
    pub kind: PrintableString,
    /// The digest.
    pub value: OctetString,
}

/// `SES_CertList`: the certificates of those who may seal with it, whole or as digests. A CHOICE
/// of two untagged SEQUENCEs, told apart by `certListType`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum CertList {
    /// `certListType` 1: DER certificates.
    Certificates(Vec<OctetString>),
    /// `certListType` 2: certificate digests.
    Digests(Vec<CertDigest>),
}

impl CertList {
    /// The `certListType` of this list.
    pub fn list_type(&self) -> u32 {
        match self {
            Self::Certificates(_) => 1,
            Self::Digests(_) => 2,
        }
    }

    /// The list as the `Any` a [`PropertyInfoV4`] holds.
    pub fn to_any(&self) -> der::Result<Any> {
        let der = match self {
            Self::Certificates(certificates) => certificates.to_der()?,
            Self::Digests(digests) => digests.to_der()?,
        };
        Any::from_der(&der)
    }
}

/// `SES_ESPropertyInfo` of GB/T 38540.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PropertyInfoV4 {
    /// 1 法定名称章, 2 财务专用章, 3 发票专用章, 4 合同专用章, 5 名章, or another the maker defines.
    pub kind: u32,
    /// The seal's name.
    pub name: String,
    /// 1: `cert_list` holds certificates; 2: digests.
    pub cert_list_type: u32,
    /// The `SES_CertList`, kept as encoded (see [`PropertyInfoV4::cert_list`]).
    pub cert_list: Any,
    /// When the seal was made.
    pub create_date: GeneralizedTime,
    /// Valid from.
    pub valid_start: GeneralizedTime,
    /// Valid until.
    pub valid_end: GeneralizedTime,
}

impl PropertyInfoV4 {
    /// The certificate list, read by its `certListType`.
    ///
    /// # Errors
    ///
    /// A type other than 1 or 2, or a list that does not decode as that type says.
    pub fn cert_list(&self) -> der::Result<CertList> {
        let der = self.cert_list.to_der()?;
        match self.cert_list_type {
            1 => Ok(CertList::Certificates(Vec::from_der(&der)?)),
            2 => Ok(CertList::Digests(Vec::from_der(&der)?)),
            _ => Err(der::Tag::Integer.value_error()),
        }
    }
}

/// `SES_SealInfo` of GB/T 38540: what the maker signs.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SealInfoV4 {
    /// The header.
    pub header: Header,
    /// The seal's code (电子印章标识).
    pub es_id: Ia5String,
    /// Its properties.
    pub property: PropertyInfoV4,
    /// Its picture.
    pub picture: Picture,
    /// Extensions.
    pub ext_datas: Option<Vec<ExtData>>,
}

/// `SESeal` of GB/T 38540: the seal info, the maker's certificate and signature.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SealV4 {
    /// What the maker signed.
    pub e_seal_info: SealInfoV4,
    /// The maker's (制章者) DER certificate.
    pub cert: OctetString,
    /// The maker's signature algorithm.
    pub sign_alg_id: ObjectIdentifier,
    /// The maker's signature over DER(`e_seal_info`).
    pub signed_value: BitString,
}

/// `SES_ESPropertyInfo` of GM/T 0031: certificates only, UTCTime.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PropertyInfoV1 {
    /// The seal's kind.
    pub kind: u32,
    /// The seal's name.
    pub name: String,
    /// DER certificates of those who may seal with it.
    pub cert_list: Vec<OctetString>,
    /// When the seal was made.
    pub create_date: UtcTime,
    /// Valid from.
    pub valid_start: UtcTime,
    /// Valid until.
    pub valid_end: UtcTime,
}

/// `SES_SealInfo` of GM/T 0031.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SealInfoV1 {
    /// The header.
    pub header: Header,
    /// The seal's code.
    pub es_id: Ia5String,
    /// Its properties.
    pub property: PropertyInfoV1,
    /// Its picture.
    pub picture: Picture,
    /// Extensions.
    pub ext_datas: Option<Vec<ExtData>>,
}

/// `SES_SignInfo` of GM/T 0031: the maker's certificate and signature.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SignInfoV1 {
    /// The maker's DER certificate.
    pub cert: OctetString,
    /// The maker's signature algorithm.
    pub signature_algorithm: ObjectIdentifier,
    /// The maker's signature over DER(SEQUENCE { seal info, cert, algorithm }).
    pub sign_data: BitString,
}

/// `SESeal` of GM/T 0031.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SealV1 {
    /// The seal info.
    pub esea_info: SealInfoV1,
    /// The maker's certificate and signature.
    pub sign_info: SignInfoV1,
}

/// A seal of either standard.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Seal {
    /// GB/T 38540-2020.
    V4(SealV4),
    /// GM/T 0031-2014.
    V1(SealV1),
}

impl Seal {
    /// Reads a seal, telling the standards apart by the number of fields of `SESeal` (4 in
    /// GB/T 38540, 2 in GM/T 0031): GM/T 0031 seals in the wild carry header version 2, so the
    /// header cannot tell.
    ///
    /// # Errors
    ///
    /// DER that is not a seal of either kind, or has bytes after it.
    pub fn from_der(bytes: &[u8]) -> der::Result<Self> {
        let fields: Vec<Any> = Vec::from_der(bytes)?;
        match fields.len() {
            2 => Ok(Self::V1(SealV1::from_der(bytes)?)),
            _ => Ok(Self::V4(SealV4::from_der(bytes)?)),
        }
    }

    /// The DER.
    ///
    /// # Errors
    ///
    /// Only for structures too large to encode.
    pub fn to_der(&self) -> der::Result<Vec<u8>> {
        match self {
            Self::V4(seal) => seal.to_der(),
            Self::V1(seal) => seal.to_der(),
        }
    }

    /// The picture.
    pub fn picture(&self) -> &Picture {
        match self {
            Self::V4(seal) => &seal.e_seal_info.picture,
            Self::V1(seal) => &seal.esea_info.picture,
        }
    }

    /// The seal's name.
    pub fn name(&self) -> &str {
        match self {
            Self::V4(seal) => &seal.e_seal_info.property.name,
            Self::V1(seal) => &seal.esea_info.property.name,
        }
    }

    /// The DER certificates of those who may seal with it (empty for a list of digests).
    ///
    /// # Errors
    ///
    /// A v4 list that does not decode as its type says.
    pub fn certificates(&self) -> der::Result<Vec<Vec<u8>>> {
        let list = match self {
            Self::V4(seal) => match seal.e_seal_info.property.cert_list()? {
                CertList::Certificates(certificates) => certificates,
                CertList::Digests(_) => Vec::new(),
            },
            Self::V1(seal) => seal.esea_info.property.cert_list.clone(),
        };
        Ok(list.into_iter().map(OctetString::into_bytes).collect())
    }

    /// The maker's DER certificate.
    pub fn maker_certificate(&self) -> &[u8] {
        match self {
            Self::V4(seal) => seal.cert.as_bytes(),
            Self::V1(seal) => seal.sign_info.cert.as_bytes(),
        }
    }

    /// What the maker signed: DER(`SES_SealInfo`) in v4, DER(SEQUENCE { seal info, cert,
    /// algorithm }) in v1.
    ///
    /// # Errors
    ///
    /// Only for structures too large to encode.
    pub fn maker_signed_bytes(&self) -> der::Result<Vec<u8>> {
        match self {
            Self::V4(seal) => seal.e_seal_info.to_der(),
            Self::V1(seal) => MakerSignedV1 {
                esea_info: seal.esea_info.clone(),
                cert: seal.sign_info.cert.clone(),
                signature_algorithm: seal.sign_info.signature_algorithm,
            }
            .to_der(),
        }
    }

    /// The maker's signature algorithm and DER signature.
    pub fn maker_signature(&self) -> (ObjectIdentifier, &[u8]) {
        match self {
            Self::V4(seal) => (seal.sign_alg_id, seal.signed_value.raw_bytes()),
            Self::V1(seal) => (
                seal.sign_info.signature_algorithm,
                seal.sign_info.sign_data.raw_bytes(),
            ),
        }
    }
}

/// What a GM/T 0031 maker signs.
#[derive(Sequence)]
struct MakerSignedV1 {
    esea_info: SealInfoV1,
    cert: OctetString,
    signature_algorithm: ObjectIdentifier,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn property(list: &CertList, list_type: u32) -> PropertyInfoV4 {
        let time =
            GeneralizedTime::from_unix_duration(core::time::Duration::from_secs(1_700_000_000))
                .unwrap();
        PropertyInfoV4 {
            kind: 1,
            name: "昆明示例科技有限公司".into(),
            cert_list_type: list_type,
            cert_list: list.to_any().unwrap(),
            create_date: time,
            valid_start: time,
            valid_end: time,
        }
    }

    #[test]
    fn a_cert_list_is_read_by_its_type() {
        let digests = CertList::Digests(vec![CertDigest {
            kind: PrintableString::new("SM3").unwrap(),
            value: OctetString::new([0x5c; 32]).unwrap(),
        }]);
        let encoded = property(&digests, digests.list_type()).to_der().unwrap();
        let decoded = PropertyInfoV4::from_der(&encoded).unwrap();
        assert_eq!(decoded.cert_list().unwrap(), digests);
        let certificates = CertList::Certificates(vec![OctetString::new([0x30, 0x00]).unwrap()]);
        assert_eq!(certificates.list_type(), 1);
        assert_eq!(
            property(&certificates, 1).cert_list().unwrap(),
            certificates
        );
        assert!(
            property(&certificates, 2).cert_list().is_err(),
            "not digests"
        );
        assert!(
            property(&certificates, 3).cert_list().is_err(),
            "no such type"
        );
    }
}
