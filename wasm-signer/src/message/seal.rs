//! The two messages of an electronic seal (DESIGN.md §8), which are DER rather than canonical
//! `MCERT-SIGN` frames because the standards fix what is signed: DER(`TBS_Sign`) of
//! GB/T 38540-2020 (v4), and for a PDF also the signed attributes of its detached CMS signature
//! (RFC 5652 §5.4). The server builds them with `mcert-ses`; this module only reads them, with a
//! small strict DER reader instead of a DER library, to keep the wasm module small.

use crate::SignerError;
use crate::sm3_digest;

use super::invalid;

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OBJECT_IDENTIFIER: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const PRINTABLE_STRING: u8 = 0x13;
const IA5_STRING: u8 = 0x16;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// SEQUENCE and SEQUENCE OF, constructed.
pub(super) const SEQUENCE: u8 = 0x30;
/// SET and SET OF, constructed.
pub(super) const SET: u8 = 0x31;
/// `[0]`, constructed (an EXPLICIT tag).
const CONTEXT_0: u8 = 0xa0;

/// 1.2.840.113549.1.9 (PKCS #9 attributes), the arc of the three signed attributes.
const PKCS9: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09];
/// 1.2.840.113549.1.7.1, `id-data`.
const ID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];

/// Longest document title, in UTF-8 bytes after percent-decoding.
pub const MAX_TITLE_LEN: usize = 512;
/// Length of a login session id in `propertyInfo`: 128 bits in base64url.
const SESSION_ID_LEN: usize = 22;

/// `seal_sign`: DER(`TBS_Sign`) of GB/T 38540 (version 4), what the holder signs to seal a
/// document. Made only by [`SignedMessage::decode`](super::SignedMessage::decode), which keeps
/// the bytes: [`SignedMessage::encode`](super::SignedMessage::encode) gives back exactly those,
/// whatever the fields were changed to since.
///
/// Times are Unix seconds (the DER holds `GeneralizedTime`, whole seconds, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealSign {
    /// The seal's code (`esID`, 电子印章标识).
    pub seal_id: String,
    /// The seal's name (`SES_ESPropertyInfo.name`).
    pub seal_name: String,
    /// The seal's type: 1 法定名称章, 2 财务专用章, 3 发票专用章, 4 合同专用章, 5 名章, …
    pub seal_type: u32,
    /// The seal maker's system identifier (`SES_Header.Vid`).
    pub seal_vid: String,
    /// The seal is valid from.
    pub seal_valid_start: i64,
    /// The seal is valid until.
    pub seal_valid_end: i64,
    /// SM3 of each DER certificate the seal lists (`certListType` 1), or the listed SM3 digests
    /// (`certListType` 2): the phone's own certificate must be among them.
    pub cert_sm3s: Vec<[u8; 32]>,
    /// The picture's format: `PNG`, `GIF`, `JPG`, `BMP` or `SVG`.
    pub picture_type: String,
    /// The picture.
    pub picture: Vec<u8>,
    /// The picture's width, millimetres.
    pub picture_width_mm: u32,
    /// The picture's height, millimetres.
    pub picture_height_mm: u32,
    /// When it is signed (`timeInfo`).
    pub time_info: i64,
    /// `dataHash`: SM3 of the document (of a hash-only document as the portal gave it; of the
    /// stamped revision's signed byte ranges for a PDF).
    pub data_hash: [u8; 32],
    /// `propertyInfo` as written: `session=<login session id>&title=<percent-encoded title>`.
    pub property_info: String,
    /// The login session the seal was asked in, from `property_info`.
    pub session_id: String,
    /// The document's title, from `property_info`.
    pub document_title: String,
    pub(super) der: Vec<u8>,
}

/// `pdf_signed_attributes`: the DER SET of signed attributes of a PDF seal's detached CMS
/// signature: `contentType` = `id-data`, `signingTime` (UTCTime) and `messageDigest` (32 bytes),
/// each once, in any order, nothing else. Made only by decoding, like [`SealSign`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdfSignedAttributes {
    /// `signingTime`, Unix seconds.
    pub signing_time: i64,
    /// `messageDigest`: SM3 of the PDF's signed byte ranges, the seal's `data_hash`.
    pub message_digest: [u8; 32],
    pub(super) der: Vec<u8>,
}

/// Reads DER(`TBS_Sign`) v4 strictly (see the crate's `docs/split-key.md`). Everything is read
/// as borrowed slices first and copied out at the end, so the error paths free nothing: smaller
/// wasm.
pub(super) fn decode_seal_sign(bytes: &[u8]) -> Result<SealSign, SignerError> {
    let mut tbs = Der::whole(bytes, SEQUENCE)?;
    if tbs.unsigned()? != 4 {
        return Err(invalid("TBS_Sign version is not 4"));
    }
    let mut seal = tbs.nested(SEQUENCE)?;
    let mut info = seal.nested(SEQUENCE)?;

    let mut header = info.nested(SEQUENCE)?;
    if header.element(IA5_STRING)? != b"ES" || header.unsigned()? != 4 {
        return Err(invalid("seal header is not ES version 4"));
    }
    let seal_vid = header.text(IA5_STRING)?;
    header.end()?;
    let seal_id = info.text(IA5_STRING)?;

    let mut property = info.nested(SEQUENCE)?;
    let seal_type = property.unsigned()?;
    let seal_name = property.text(UTF8_STRING)?;
    let list_type = property.unsigned()?;
    let list = property.nested(SEQUENCE)?;
    let _create_date = property.time(GENERALIZED_TIME)?;
    let seal_valid_start = property.time(GENERALIZED_TIME)?;
    let seal_valid_end = property.time(GENERALIZED_TIME)?;
    property.end()?;

    let mut picture = info.nested(SEQUENCE)?;
    let picture_type = picture.text(IA5_STRING)?;
    let picture_data = picture.element(OCTET_STRING)?;
    let picture_width_mm = picture.unsigned()?;
    let picture_height_mm = picture.unsigned()?;
    picture.end()?;
    info.extensions(false)?;
    info.end()?;
    // The maker's certificate, algorithm and signature: checked by the server, not shown.
    seal.element(OCTET_STRING)?;
    seal.oid()?;
    seal.bits()?;
    seal.end()?;

    let time_info = tbs.time(GENERALIZED_TIME)?;
    let data_hash = fixed(tbs.bits()?)?;
    let property_info = tbs.text(IA5_STRING)?;
    tbs.extensions(true)?;
    tbs.end()?;
    let cert_sm3s = cert_digests(list, list_type)?;
    let (session_id, document_title) = parse_property_info(property_info)?;
    Ok(SealSign {
        seal_id: seal_id.into(),
        seal_name: seal_name.into(),
        seal_type,
        seal_vid: seal_vid.into(),
        seal_valid_start,
        seal_valid_end,
        cert_sm3s,
        picture_type: picture_type.into(),
        picture: picture_data.to_vec(),
        picture_width_mm,
        picture_height_mm,
        time_info,
        data_hash,
        property_info: property_info.into(),
        session_id: session_id.into(),
        document_title,
        der: bytes.to_vec(),
    })
}

/// The SM3 of each certificate of a `SES_CertList` of `certListType` 1, or its SM3 digests
/// (type 2).
fn cert_digests(mut list: Der<'_>, list_type: u32) -> Result<Vec<[u8; 32]>, SignerError> {
    let mut digests = Vec::new();
    while !list.rest.is_empty() {
        digests.push(match list_type {
            1 => sm3_digest(list.element(OCTET_STRING)?),
            2 => {
                let mut digest = list.nested(SEQUENCE)?;
                if digest.element(PRINTABLE_STRING)? != b"SM3" {
                    return Err(invalid("certificate digest is not SM3"));
                }
                let value = fixed(digest.element(OCTET_STRING)?)?;
                digest.end()?;
                value
            }
            _ => return Err(invalid("certListType is not 1 or 2")),
        });
    }
    Ok(digests)
}

/// Reads the DER SET of a PDF seal's signed attributes strictly.
pub(super) fn decode_pdf_signed_attributes(
    bytes: &[u8],
) -> Result<PdfSignedAttributes, SignerError> {
    let mut set = Der::whole(bytes, SET)?;
    let (mut content_type, mut signing_time, mut message_digest) = (false, None, None);
    while !set.rest.is_empty() {
        let mut attribute = set.nested(SEQUENCE)?;
        let oid = attribute.oid()?;
        let mut values = attribute.nested(SET)?;
        attribute.end()?;
        let repeated = match oid.strip_prefix(PKCS9) {
            Some([3]) => {
                if values.oid()? != ID_DATA {
                    return Err(invalid("contentType is not id-data"));
                }
                core::mem::replace(&mut content_type, true)
            }
            Some([5]) => signing_time.replace(values.time(UTC_TIME)?).is_some(),
            Some([4]) => message_digest
                .replace(fixed(values.element(OCTET_STRING)?)?)
                .is_some(),
            _ => {
                return Err(invalid(
                    "signed attribute other than contentType, signingTime, messageDigest",
                ));
            }
        };
        if repeated {
            return Err(invalid("signed attribute repeated"));
        }
        values.end()?;
    }
    match (content_type, signing_time, message_digest) {
        (true, Some(signing_time), Some(message_digest)) => Ok(PdfSignedAttributes {
            signing_time,
            message_digest,
            der: bytes.to_vec(),
        }),
        _ => Err(invalid("signed attribute missing")),
    }
}

/// `session=<22 base64url characters>&title=<title>`, the title percent-encoded: bytes outside
/// RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) as `%XX`; it decodes to 1 to 512 bytes of
/// UTF-8.
fn parse_property_info(text: &str) -> Result<(&str, String), SignerError> {
    let malformed = || invalid("propertyInfo is not session=…&title=…");
    let rest = text.strip_prefix("session=").ok_or_else(malformed)?;
    let (session, title) = rest
        .split_at_checked(SESSION_ID_LEN)
        .ok_or_else(malformed)?;
    if !session
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(malformed());
    }
    let mut encoded = title.strip_prefix("&title=").ok_or_else(malformed)?.bytes();
    let mut title = Vec::new();
    while let Some(byte) = encoded.next() {
        title.push(match byte {
            b'%' => {
                let mut digit = || {
                    encoded
                        .next()
                        .and_then(|d| char::from(d).to_digit(16))
                        .ok_or(invalid("title is not percent-encoded"))
                };
                (digit()? << 4 | digit()?) as u8
            }
            b'-' | b'.' | b'_' | b'~' => byte,
            _ if byte.is_ascii_alphanumeric() => byte,
            _ => return Err(invalid("title is not percent-encoded")),
        });
    }
    if title.is_empty() || title.len() > MAX_TITLE_LEN {
        return Err(invalid("title not 1 to 512 bytes long"));
    }
    let title = String::from_utf8(title).map_err(|_| invalid("text is not UTF-8"))?;
    Ok((session, title))
}

fn fixed(bytes: &[u8]) -> Result<[u8; 32], SignerError> {
    bytes
        .try_into()
        .map_err(|_| invalid("hash is not 32 bytes"))
}

/// Reads DER elements from the front of a byte string: definite, minimal lengths of at most four
/// bytes, each element inside its parent. A nested reader must be read to its [`end`](Self::end).
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    /// The contents of the one element of type `tag` that is all of `bytes`.
    fn whole(bytes: &'a [u8], tag: u8) -> Result<Self, SignerError> {
        let mut outer = Der { rest: bytes };
        let inner = outer.nested(tag)?;
        outer.end()?;
        Ok(inner)
    }

    fn end(&self) -> Result<(), SignerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(invalid("DER element has bytes after its last field"))
        }
    }

    /// The contents of the next element, which must be of type `tag`.
    fn element(&mut self, tag: u8) -> Result<&'a [u8], SignerError> {
        let [found, first, rest @ ..] = self.rest else {
            return Err(invalid("DER element missing or truncated"));
        };
        if *found != tag {
            return Err(invalid("DER element of the wrong type"));
        }
        let (len, rest) = match *first {
            0..=0x7f => (usize::from(*first), rest),
            0x81..=0x84 => {
                let (len, rest) = rest
                    .split_at_checked(usize::from(first & 0x7f))
                    .ok_or(invalid("DER length runs past the end"))?;
                let len = len
                    .iter()
                    .fold(0usize, |len, byte| len << 8 | usize::from(*byte));
                // Minimal: the long form only from 128 on, and in as few bytes as it takes.
                if len < 0x80 || len >> ((usize::from(first & 0x7f) - 1) * 8) == 0 {
                    return Err(invalid("DER length not minimal"));
                }
                (len, rest)
            }
            _ => return Err(invalid("DER length indefinite or over 4 bytes")),
        };
        let (value, rest) = rest
            .split_at_checked(len)
            .ok_or(invalid("DER length runs past the end"))?;
        self.rest = rest;
        Ok(value)
    }

    fn nested(&mut self, tag: u8) -> Result<Self, SignerError> {
        self.element(tag).map(|rest| Der { rest })
    }

    /// A non-negative INTEGER below 2^32, minimally encoded.
    fn unsigned(&mut self) -> Result<u32, SignerError> {
        let value = self.element(INTEGER)?;
        let magnitude = match value {
            // A sign byte only before a set top bit.
            [0, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => rest,
            [first, ..] if first & 0x80 == 0 && (value.len() == 1 || *first != 0) => value,
            _ => return Err(invalid("INTEGER not minimal, or negative")),
        };
        if magnitude.len() > 4 {
            return Err(invalid("INTEGER over 2^32"));
        }
        Ok(magnitude.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)))
    }

    /// IA5String (ASCII) or UTF8String.
    fn text(&mut self, tag: u8) -> Result<&'a str, SignerError> {
        let value = self.element(tag)?;
        if tag == IA5_STRING && !value.is_ascii() {
            return Err(invalid("IA5String is not ASCII"));
        }
        core::str::from_utf8(value).map_err(|_| invalid("text is not UTF-8"))
    }

    /// The contents of a BIT STRING of whole bytes.
    fn bits(&mut self) -> Result<&'a [u8], SignerError> {
        match self.element(BIT_STRING)? {
            [0, bytes @ ..] => Ok(bytes),
            _ => Err(invalid("BIT STRING not of whole bytes")),
        }
    }

    /// The contents of an OBJECT IDENTIFIER, each sub-identifier minimal.
    fn oid(&mut self) -> Result<&'a [u8], SignerError> {
        let value = self.element(OBJECT_IDENTIFIER)?;
        let starts_padded = value
            .iter()
            .zip(core::iter::once(&0).chain(value))
            .any(|(byte, before)| *byte == 0x80 && before & 0x80 == 0);
        match value.last() {
            Some(last) if last & 0x80 == 0 && !starts_padded => Ok(value),
            _ => Err(invalid("OBJECT IDENTIFIER malformed")),
        }
    }

    /// A GeneralizedTime `YYYYMMDDHHMMSSZ` or UTCTime `YYMMDDHHMMSSZ` (years 1950 to 2049) as
    /// Unix seconds.
    fn time(&mut self, tag: u8) -> Result<i64, SignerError> {
        let text = self.element(tag)?;
        let year_len = if tag == UTC_TIME { 2 } else { 4 };
        let malformed = || invalid("time is not YYYYMMDDHHMMSSZ (UTCTime: YYMMDDHHMMSSZ)");
        let [digits @ .., b'Z'] = text else {
            return Err(malformed());
        };
        if digits.len() != year_len + 10 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(malformed());
        }
        // year, month, day, hour, minute, second
        let mut parts = [0i64; 6];
        for (i, digit) in digits.iter().enumerate() {
            let part = if i < year_len {
                0
            } else {
                1 + (i - year_len) / 2
            };
            if let Some(part) = parts.get_mut(part) {
                *part = *part * 10 + i64::from(digit - b'0');
            }
        }
        let [mut year, month, day, hour, minute, second] = parts;
        if tag == UTC_TIME {
            year += if year < 50 { 2000 } else { 1900 };
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let month_days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if !(1..=12).contains(&month)
            || !(1..=month_days).contains(&day)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(malformed());
        }
        // Days from 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let year_of_era = y - era * 400;
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        let days = era * 146_097 + day_of_era - 719_468;
        Ok(days * 86_400 + hour * 3600 + minute * 60 + second)
    }

    /// An optional `ExtensionDatas` (SEQUENCE OF `ExtData`) next, untagged as `mcert-ses` writes
    /// it or, where `tagged_too`, under `[0] EXPLICIT` as GB/T 38540 writes `TBS_Sign`'s. The
    /// phone knows no extension, so a critical one is refused.
    fn extensions(&mut self, tagged_too: bool) -> Result<(), SignerError> {
        let mut list = match self.rest.first() {
            Some(&SEQUENCE) => self.nested(SEQUENCE)?,
            Some(&CONTEXT_0) if tagged_too => {
                let mut tagged = self.nested(CONTEXT_0)?;
                let list = tagged.nested(SEQUENCE)?;
                tagged.end()?;
                list
            }
            _ => return Ok(()),
        };
        while !list.rest.is_empty() {
            let mut extension = list.nested(SEQUENCE)?;
            extension.oid()?;
            // DER leaves out the default FALSE, so a `critical` present is TRUE.
            if extension.rest.first() == Some(&BOOLEAN) {
                return Err(invalid("critical extension the phone does not know"));
            }
            extension.element(OCTET_STRING)?;
            extension.end()?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::message::SignedMessage;
    use der::Encode;
    use der::asn1::{BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString};
    use mcert_ses::{CertList, ExtData, Header, Picture, PropertyInfoV4, SealInfoV4, SealV4};
    use mcert_ses::{SM2_WITH_SM3, TbsSignV4};
    use proptest::prelude::*;

    pub(crate) const SESSION: &str = "AAECAwQFBgcICQoLDA0ODw";
    const CERTIFICATES: [&[u8]; 2] = [b"\x30\x03\x02\x01\x01", b"\x30\x03\x02\x01\x02"];
    const PICTURE: &[u8] = b"\x89PNG\r\n\x1a\n picture";

    fn time(unix: u64) -> GeneralizedTime {
        GeneralizedTime::from_unix_duration(core::time::Duration::from_secs(unix)).unwrap()
    }

    fn seal(list: &CertList) -> SealV4 {
        SealV4 {
            e_seal_info: SealInfoV4 {
                header: Header {
                    id: Ia5String::new("ES").unwrap(),
                    version: 4,
                    vid: Ia5String::new("mcert").unwrap(),
                },
                es_id: Ia5String::new("53010000000001").unwrap(),
                property: PropertyInfoV4 {
                    kind: 1,
                    name: "昆明示例科技有限公司".into(),
                    cert_list_type: list.list_type(),
                    cert_list: list.to_any().unwrap(),
                    create_date: time(1_700_000_000),
                    valid_start: time(1_700_000_001),
                    valid_end: time(1_731_536_000),
                },
                picture: Picture {
                    kind: Ia5String::new("PNG").unwrap(),
                    data: OctetString::new(PICTURE).unwrap(),
                    width: 40,
                    height: 40,
                },
                ext_datas: None,
            },
            cert: OctetString::new(b"maker certificate".as_slice()).unwrap(),
            sign_alg_id: SM2_WITH_SM3,
            signed_value: BitString::from_bytes(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])
                .unwrap(),
        }
    }

    fn certificates() -> CertList {
        CertList::Certificates(
            CERTIFICATES
                .iter()
                .map(|der| OctetString::new(*der).unwrap())
                .collect(),
        )
    }

    pub(crate) fn property_info(title: &str) -> String {
        format!("session={SESSION}&title={title}")
    }

    fn tbs(property_info: &str, hash: &[u8]) -> TbsSignV4 {
        TbsSignV4 {
            version: 4,
            eseal: seal(&certificates()),
            time_info: time(1_735_689_600),
            data_hash: BitString::from_bytes(hash).unwrap(),
            property_info: Ia5String::new(property_info).unwrap(),
            ext_datas: None,
        }
    }

    /// DER(`TBS_Sign`) as the server writes it with `mcert-ses`, title `合同 2025.pdf`.
    pub(crate) fn seal_sign_der() -> Vec<u8> {
        tbs(&property_info("%E5%90%88%E5%90%8C%202025.pdf"), &[0x5c; 32])
            .to_der()
            .unwrap()
    }

    fn decode(bytes: &[u8]) -> Result<SignedMessage, SignerError> {
        SignedMessage::decode(bytes)
    }

    fn reason(bytes: &[u8]) -> &'static str {
        match decode(bytes) {
            Err(SignerError::InvalidMessage { reason }) => reason,
            other => panic!("expected InvalidMessage, got {other:?}"),
        }
    }

    #[test]
    fn seal_sign_read_from_the_servers_der() {
        let der = seal_sign_der();
        let SignedMessage::SealSign(message) = decode(&der).unwrap() else {
            panic!("not seal_sign");
        };
        assert_eq!(message.seal_id, "53010000000001");
        assert_eq!(message.seal_name, "昆明示例科技有限公司");
        assert_eq!(message.seal_type, 1);
        assert_eq!(message.seal_vid, "mcert");
        assert_eq!(message.seal_valid_start, 1_700_000_001);
        assert_eq!(message.seal_valid_end, 1_731_536_000);
        assert_eq!(
            message.cert_sm3s,
            CERTIFICATES.map(crate::sm3_digest).to_vec()
        );
        assert_eq!(message.picture_type, "PNG");
        assert_eq!(message.picture, PICTURE);
        assert_eq!(
            (message.picture_width_mm, message.picture_height_mm),
            (40, 40)
        );
        assert_eq!(message.time_info, 1_735_689_600);
        assert_eq!(message.data_hash, [0x5c; 32]);
        assert_eq!(
            message.property_info,
            property_info("%E5%90%88%E5%90%8C%202025.pdf")
        );
        assert_eq!(message.session_id, SESSION);
        assert_eq!(message.document_title, "合同 2025.pdf");

        let message = SignedMessage::SealSign(message);
        assert_eq!(message.kind_name(), "seal_sign");
        assert_eq!(
            message.encode().unwrap(),
            der,
            "encode gives back the bytes"
        );
        let json: serde_json::Value = serde_json::from_str(&message.describe_json()).unwrap();
        assert_eq!(json["version"], 4);
        assert_eq!(json["kind"], "seal_sign");
        let fields = &json["fields"];
        assert_eq!(fields["seal_name"], "昆明示例科技有限公司");
        assert_eq!(fields["seal_type"], 1);
        assert_eq!(fields["seal_valid_end"], 1_731_536_000);
        assert_eq!(
            fields["cert_sm3s"][1],
            hex::encode(crate::sm3_digest(CERTIFICATES[1]))
        );
        assert_eq!(fields["picture"], hex::encode(PICTURE));
        assert_eq!(fields["picture_width_mm"], 40);
        assert_eq!(fields["data_hash"], "5c".repeat(32));
        assert_eq!(fields["time_info"], 1_735_689_600);
        assert_eq!(fields["session_id"], SESSION);
        assert_eq!(fields["document_title"], "合同 2025.pdf");
    }

    #[test]
    fn a_list_of_sm3_digests_and_extensions() {
        let mut tbs = tbs(&property_info("a"), &[1; 32]);
        let digests = CertList::Digests(vec![mcert_ses::CertDigest {
            kind: der::asn1::PrintableString::new("SM3").unwrap(),
            value: OctetString::new([7; 32]).unwrap(),
        }]);
        tbs.eseal = seal(&digests);
        let extension = |critical| ExtData {
            extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
            critical,
            extn_value: OctetString::new(b"x".as_slice()).unwrap(),
        };
        tbs.eseal.e_seal_info.ext_datas = Some(vec![extension(false)]);
        tbs.ext_datas = Some(vec![extension(false), extension(false)]);
        let Ok(SignedMessage::SealSign(message)) = decode(&tbs.to_der().unwrap()) else {
            panic!("not read");
        };
        assert_eq!(message.cert_sm3s, vec![[7; 32]]);

        tbs.ext_datas = Some(vec![extension(true)]);
        assert_eq!(
            reason(&tbs.to_der().unwrap()),
            "critical extension the phone does not know"
        );
        tbs.ext_datas = None;
        tbs.eseal.e_seal_info.ext_datas = Some(vec![extension(true)]);
        assert_eq!(
            reason(&tbs.to_der().unwrap()),
            "critical extension the phone does not know"
        );

        // GB/T 38540 tags TBS_Sign's extensions [0] EXPLICIT.
        tbs.eseal.e_seal_info.ext_datas = None;
        let untagged = tbs.to_der().unwrap();
        let list = vec![extension(false)].to_der().unwrap();
        let tagged = rewrap(
            &untagged,
            &[&[0xa0, list.len() as u8], list.as_slice()].concat(),
        );
        assert!(matches!(decode(&tagged), Ok(SignedMessage::SealSign(_))));
    }

    /// `der`'s outer SEQUENCE with `extra` appended to its contents.
    fn rewrap(der: &[u8], extra: &[u8]) -> Vec<u8> {
        let content = &der[4..];
        assert_eq!(der[..2], [0x30, 0x82]);
        let len = content.len() + extra.len();
        [&[0x30, 0x82, (len >> 8) as u8, len as u8], content, extra].concat()
    }

    #[test]
    fn seal_sign_is_strict_der() {
        let der = seal_sign_der();
        for cut in 0..der.len() {
            assert!(decode(&der[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            reason(&[der.as_slice(), &[0]].concat()),
            "DER element has bytes after its last field"
        );
        let mut longer = der.clone();
        longer[3] += 1;
        assert_eq!(reason(&longer), "DER length runs past the end");
        let non_minimal = [&[0x30, 0x83, 0], &der[2..]].concat();
        assert_eq!(reason(&non_minimal), "DER length not minimal");
        // The version INTEGER (02 01 04) right after the outer header, its length in long form.
        assert_eq!(der[4..7], [2, 1, 4]);
        let long_form = rewrap(&[&der[..4], &[2, 0x81, 1, 4]].concat(), &der[7..]);
        assert_eq!(reason(&long_form), "DER length not minimal");
        let padded = rewrap(&[&der[..4], &[2, 2, 0, 4]].concat(), &der[7..]);
        assert_eq!(reason(&padded), "INTEGER not minimal, or negative");
        let indefinite = [&[0x30, 0x80], &der[4..], &[0, 0]].concat();
        assert_eq!(reason(&indefinite), "DER length indefinite or over 4 bytes");
        let five_bytes = [&[0x30, 0x85, 0, 0, 0], &der[2..]].concat();
        assert_eq!(reason(&five_bytes), "DER length indefinite or over 4 bytes");

        let mut version_3 = tbs(&property_info("a"), &[1; 32]);
        version_3.version = 3;
        assert_eq!(
            reason(&version_3.to_der().unwrap()),
            "TBS_Sign version is not 4"
        );
        let mut header_1 = tbs(&property_info("a"), &[1; 32]);
        header_1.eseal.e_seal_info.header.version = 1;
        assert_eq!(
            reason(&header_1.to_der().unwrap()),
            "seal header is not ES version 4"
        );
        for len in [0, 31, 33] {
            let bytes = tbs(&property_info("a"), &vec![1; len]).to_der().unwrap();
            assert_eq!(reason(&bytes), "hash is not 32 bytes", "{len} bytes");
        }
        let mut list_3 = tbs(&property_info("a"), &[1; 32]);
        list_3.eseal.e_seal_info.property.cert_list_type = 3;
        assert_eq!(
            reason(&list_3.to_der().unwrap()),
            "certListType is not 1 or 2"
        );
    }

    #[test]
    fn property_info_is_strict() {
        let good = |title: &str| {
            let Ok(SignedMessage::SealSign(message)) =
                decode(&tbs(&property_info(title), &[1; 32]).to_der().unwrap())
            else {
                panic!("{title} not read");
            };
            message.document_title
        };
        assert_eq!(good("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(good("%e5%90%88"), "合", "lower-case hex digits too");
        assert_eq!(good(&"a".repeat(512)), "a".repeat(512));
        assert_eq!(good(&"%41".repeat(512)), "A".repeat(512));
        let bad = |property_info: &str| reason(&tbs(property_info, &[1; 32]).to_der().unwrap());
        for (case, text, expected) in [
            (
                "empty title",
                property_info(""),
                "title not 1 to 512 bytes long",
            ),
            (
                "513 bytes",
                property_info(&"a".repeat(513)),
                "title not 1 to 512 bytes long",
            ),
            (
                "space",
                property_info("a b"),
                "title is not percent-encoded",
            ),
            ("plus", property_info("a+b"), "title is not percent-encoded"),
            (
                "slash",
                property_info("a/b"),
                "title is not percent-encoded",
            ),
            (
                "ampersand",
                property_info("a&b=c"),
                "title is not percent-encoded",
            ),
            (
                "short escape",
                property_info("a%4"),
                "title is not percent-encoded",
            ),
            (
                "bad escape",
                property_info("a%4g"),
                "title is not percent-encoded",
            ),
            (
                "lone percent",
                property_info("%"),
                "title is not percent-encoded",
            ),
            ("not UTF-8", property_info("%ff%fe"), "text is not UTF-8"),
            (
                "half a character",
                property_info("%E5%90"),
                "text is not UTF-8",
            ),
            (
                "no title",
                format!("session={SESSION}"),
                "propertyInfo is not session=…&title=…",
            ),
            (
                "keys swapped",
                format!("title=a&session={SESSION}"),
                "propertyInfo is not session=…&title=…",
            ),
            (
                "short session",
                format!("session={}&title=a", &SESSION[1..]),
                "propertyInfo is not session=…&title=…",
            ),
            (
                "long session",
                format!("session={SESSION}A&title=a"),
                "propertyInfo is not session=…&title=…",
            ),
            (
                "session not base64url",
                format!("session={}+&title=a", &SESSION[1..]),
                "propertyInfo is not session=…&title=…",
            ),
            (
                "another key",
                format!("session={SESSION}&name=a"),
                "propertyInfo is not session=…&title=…",
            ),
            (
                "something first",
                format!("x&session={SESSION}&title=a"),
                "propertyInfo is not session=…&title=…",
            ),
        ] {
            assert_eq!(bad(&text), expected, "{case}");
        }
    }

    /// One TLV with a short or two-byte length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let header = if len < 0x80 {
            vec![tag, len as u8]
        } else {
            vec![tag, 0x81, len as u8]
        };
        [header.as_slice(), content].concat()
    }

    fn attribute(last: u8, value: &[u8]) -> Vec<u8> {
        let oid = tlv(OBJECT_IDENTIFIER, &[PKCS9, &[last]].concat());
        tlv(SEQUENCE, &[oid, tlv(SET, value)].concat())
    }

    fn content_type() -> Vec<u8> {
        attribute(3, &tlv(OBJECT_IDENTIFIER, ID_DATA))
    }

    fn signing_time() -> Vec<u8> {
        attribute(5, &tlv(UTC_TIME, b"250101000000Z"))
    }

    fn message_digest(len: usize) -> Vec<u8> {
        attribute(4, &tlv(OCTET_STRING, &vec![0x5c; len]))
    }

    /// The signed attributes of a PDF seal, as a CMS library writes them.
    pub(crate) fn pdf_attributes_der() -> Vec<u8> {
        tlv(
            SET,
            &[content_type(), signing_time(), message_digest(32)].concat(),
        )
    }

    #[test]
    fn pdf_signed_attributes_in_any_order() {
        let der = pdf_attributes_der();
        let Ok(message) = decode(&der) else {
            panic!("not read");
        };
        let SignedMessage::PdfSignedAttributes(attributes) = &message else {
            panic!("not pdf_signed_attributes");
        };
        assert_eq!(attributes.signing_time, 1_735_689_600);
        assert_eq!(attributes.message_digest, [0x5c; 32]);
        assert_eq!(message.kind_name(), "pdf_signed_attributes");
        assert_eq!(message.encode().unwrap(), der);
        assert_eq!(
            message.describe_json(),
            format!(
                "{{\"version\":1,\"kind\":\"pdf_signed_attributes\",\"fields\":\
                 {{\"signing_time\":1735689600,\"message_digest\":\"{}\"}}}}",
                "5c".repeat(32)
            )
        );
        let reordered = tlv(
            SET,
            &[message_digest(32), content_type(), signing_time()].concat(),
        );
        assert!(matches!(
            decode(&reordered),
            Ok(SignedMessage::PdfSignedAttributes(a)) if a.message_digest == [0x5c; 32]
        ));
    }

    #[test]
    fn pdf_signed_attributes_are_strict() {
        let set = |attributes: &[Vec<u8>]| tlv(SET, &attributes.concat());
        let (ct, st) = (content_type(), signing_time());
        for (case, bytes, expected) in [
            (
                "digest of 31",
                set(&[ct.clone(), st.clone(), message_digest(31)]),
                "hash is not 32 bytes",
            ),
            (
                "digest of 33",
                set(&[ct.clone(), st.clone(), message_digest(33)]),
                "hash is not 32 bytes",
            ),
            (
                "no digest",
                set(&[ct.clone(), st.clone()]),
                "signed attribute missing",
            ),
            (
                "no content type",
                set(&[st.clone(), message_digest(32)]),
                "signed attribute missing",
            ),
            (
                "no time",
                set(&[ct.clone(), message_digest(32)]),
                "signed attribute missing",
            ),
            ("empty", set(&[]), "signed attribute missing"),
            (
                "time twice",
                set(&[ct.clone(), st.clone(), st.clone(), message_digest(32)]),
                "signed attribute repeated",
            ),
            (
                "content type twice",
                set(&[ct.clone(), ct.clone(), st.clone(), message_digest(32)]),
                "signed attribute repeated",
            ),
            (
                "another attribute",
                set(&[
                    ct.clone(),
                    st.clone(),
                    message_digest(32),
                    attribute(7, &tlv(UTF8_STRING, b"x")),
                ]),
                "signed attribute other than contentType, signingTime, messageDigest",
            ),
            (
                "content type not data",
                set(&[
                    attribute(3, &tlv(OBJECT_IDENTIFIER, &[0x2a, 3])),
                    st.clone(),
                    message_digest(32),
                ]),
                "contentType is not id-data",
            ),
            (
                "GeneralizedTime",
                set(&[
                    ct.clone(),
                    attribute(5, &tlv(GENERALIZED_TIME, b"20250101000000Z")),
                    message_digest(32),
                ]),
                "DER element of the wrong type",
            ),
            (
                "two values",
                set(&[
                    ct.clone(),
                    attribute(
                        5,
                        &[
                            tlv(UTC_TIME, b"250101000000Z"),
                            tlv(UTC_TIME, b"250101000000Z"),
                        ]
                        .concat(),
                    ),
                    message_digest(32),
                ]),
                "DER element has bytes after its last field",
            ),
            (
                "no value",
                set(&[ct.clone(), attribute(5, &[]), message_digest(32)]),
                "DER element missing or truncated",
            ),
        ] {
            assert_eq!(reason(&bytes), expected, "{case}");
        }
        let good = pdf_attributes_der();
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(&[good.as_slice(), &[0]].concat()).is_err());
    }

    #[test]
    fn times_are_checked_dates() {
        let read = |tag: u8, text: &[u8]| {
            Der {
                rest: &tlv(tag, text),
            }
            .time(tag)
        };
        for (text, unix) in [
            (&b"19700101000000Z"[..], 0),
            (b"20000229120000Z", 951_825_600),
            (b"20241231235959Z", 1_735_689_599),
            (b"19691231235959Z", -1),
            (b"00010101000000Z", -62_135_596_800),
        ] {
            assert_eq!(read(GENERALIZED_TIME, text), Ok(unix), "{text:?}");
        }
        assert_eq!(read(UTC_TIME, b"491231235959Z"), Ok(2_524_607_999));
        assert_eq!(read(UTC_TIME, b"500101000000Z"), Ok(-631_152_000));
        for text in [
            &b"20230229000000Z"[..],
            b"21000229000000Z",
            b"20240431000000Z",
            b"20241301000000Z",
            b"20240001000000Z",
            b"20240100000000Z",
            b"20240101240000Z",
            b"20240101006000Z",
            b"20240101000060Z",
            b"20240101000000",
            b"20240101000000.5Z",
            b"202401010000Z",
            b"2024010100000+Z",
            b"20240101000000z",
        ] {
            assert!(read(GENERALIZED_TIME, text).is_err(), "{text:?}");
        }
        assert!(read(UTC_TIME, b"20240101000000Z").is_err());
    }

    #[test]
    fn integers_and_object_identifiers_are_minimal() {
        let integer = |content: &[u8]| {
            Der {
                rest: &tlv(INTEGER, content),
            }
            .unsigned()
        };
        assert_eq!(integer(&[0]), Ok(0));
        assert_eq!(integer(&[0x7f]), Ok(127));
        assert_eq!(integer(&[0, 0x80]), Ok(128));
        assert_eq!(integer(&[0, 0xff, 0xff, 0xff, 0xff]), Ok(u32::MAX));
        for bad in [
            &[][..],
            &[0, 0],
            &[0, 0x7f],
            &[0x80],
            &[0xff],
            &[1, 0, 0, 0, 0],
        ] {
            assert!(integer(bad).is_err(), "{bad:?}");
        }
        let oid = |content: &[u8]| {
            Der {
                rest: &tlv(OBJECT_IDENTIFIER, content),
            }
            .oid()
            .map(|_| ())
        };
        assert!(oid(ID_DATA).is_ok());
        assert!(oid(&[]).is_err());
        assert!(oid(&[0x2a, 0x86]).is_err(), "ends inside a sub-identifier");
        assert!(oid(&[0x2a, 0x80, 0x01]).is_err(), "padded sub-identifier");
        assert!(oid(&[0x80, 0x01]).is_err(), "padded first sub-identifier");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn der_never_panics(first in 0x30u8..=0x31, rest in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&[&[first], rest.as_slice()].concat());
        }

        #[test]
        fn altered_seals_never_panic(at in any::<prop::sample::Index>(), byte in any::<u8>(), pdf in any::<bool>()) {
            let mut bytes = if pdf { pdf_attributes_der() } else { seal_sign_der() };
            let at = at.index(bytes.len());
            bytes[at] = byte;
            let _ = decode(&bytes);
            bytes.insert(at, byte);
            let _ = decode(&bytes);
        }
    }
}
