//! The canonical bytes of every message an mcert key signs (`docs/split-key.md`, "Canonical
//! signed messages"). The server builds and checks them with this module and the phone shows
//! them with [`SignedMessage::describe_json`], so both sides read the same bytes the same way.
//!
//! `"MCERT-SIGN" ‖ version u8 (1) ‖ kind u8 ‖ fields`, each field `tag u8 ‖ len u16 ‖ bytes`
//! with tags numbered from 1 in the listed order, every field present once, nothing after the
//! last. Decoding is strict and encoding refuses what decoding would refuse, so
//! `decode(encode(m)) == m` for every message that encodes.
//!
//! The two messages of an electronic seal are DER instead ([`seal`]): DER(`TBS_Sign`) of
//! GB/T 38540 (`seal_sign`, first byte 0x30) and a PDF signature's signed attributes
//! (`pdf_signed_attributes`, first byte 0x31). They are only read here; the server writes them.

mod seal;

#[cfg(test)]
pub(crate) use seal::tests as seal_tests;
pub use seal::{MAX_TITLE_LEN, PdfSignedAttributes, SealSign};

use crate::SignerError;
use crate::scalar::parse_uncompressed_point;

/// The first bytes of every signed message.
pub const MAGIC: &[u8; 10] = b"MCERT-SIGN";
/// The encoding version this crate writes and reads. Version 2 added the initiator fields to
/// `login_challenge`; version 1 is no longer read.
pub const VERSION: u8 = 2;
/// Longest text field, in UTF-8 bytes.
pub const MAX_TEXT_LEN: usize = 512;
/// Longest identifier field (`session_id`, `request_id`), in bytes; identifiers are never empty.
pub const MAX_ID_LEN: usize = 64;
/// The purposes a [`KeyCheck`] may carry.
pub const KEY_CHECK_PURPOSES: [&str; 2] = ["verify_pin", "change_pin"];

const KIND_KEY_ENROLMENT: u8 = 1;
const KIND_LOGIN_CHALLENGE: u8 = 2;
// Kind 3 was a placeholder seal request, never used: seals sign DER (`seal_sign`).
const KIND_KEY_CHECK: u8 = 4;
const KIND_GRANT_CHANGE: u8 = 5;
const KIND_REVOCATION_REQUEST: u8 = 6;
const KIND_RENEWAL_REQUEST: u8 = 7;

/// A message an mcert key signs, one variant per kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedMessage {
    /// Kind 1: the first signature of a new key, proving the phone and server hold its shares.
    KeyEnrolment(KeyEnrolment),
    /// Kind 2: approval of a scan-to-log-in request.
    LoginChallenge(LoginChallenge),
    /// Kind 4: a co-signature that only checks the PIN (before a PIN change, or on request).
    KeyCheck(KeyCheck),
    /// Kind 5: the primary holder's new item set for a sub-certificate at one portal.
    GrantChange(GrantChange),
    /// Kind 6: the holder's request to revoke their certificate (证书废除).
    RevocationRequest(RevocationRequest),
    /// Kind 7: the holder's request to renew their certificate for another year (年审延期).
    RenewalRequest(RenewalRequest),
    /// `seal_sign`: DER(`TBS_Sign`), the holder's seal on a document (GB/T 38540).
    SealSign(SealSign),
    /// `pdf_signed_attributes`: the signed attributes of a sealed PDF's CMS signature.
    PdfSignedAttributes(PdfSignedAttributes),
}

/// Kind 1, `key_enrolment`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEnrolment {
    /// Serial of the certificate being issued, upper-case hex as the registry writes it.
    pub serial: String,
    /// The joint public key P, uncompressed SEC1.
    pub public_key: [u8; 65],
    /// Unified social credit code of the unit.
    pub uscc: String,
    /// Name of the unit.
    pub unit_name: String,
    /// Name of the person holding the key.
    pub holder_name: String,
    /// Unix seconds.
    pub issued_at: i64,
}

/// Kind 2, `login_challenge`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginChallenge {
    /// The co-signing session, 1 to 64 bytes.
    pub session_id: Vec<u8>,
    /// The relying party's client id.
    pub client_id: String,
    /// The relying party's display name.
    pub portal_name: String,
    /// Origin the login was started from.
    pub origin: String,
    /// Requested scopes, space-separated.
    pub scopes: String,
    /// Serial of the certificate that logs in, upper-case hex as the registry writes it.
    pub serial: String,
    /// The code on the portal's page that the person tapped among those the phone offered.
    pub match_code: String,
    /// Where the login was started, as the phone showed it: `云南昆明 · 1.2.3.* · Chrome`.
    pub initiator: String,
    /// When the login was started, Unix seconds.
    pub initiated_at: i64,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Kind 4, `key_check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCheck {
    /// Serial of the certificate, upper-case hex as the registry writes it.
    pub serial: String,
    /// One of [`KEY_CHECK_PURPOSES`]: `verify_pin` or `change_pin`.
    pub purpose: String,
    /// Server nonce.
    pub nonce: [u8; 16],
    /// Unix seconds.
    pub issued_at: i64,
}

/// Kind 5, `grant_change` (事项授权): the whole item set that replaces the grantee's set at
/// the portal, signed by the employer's primary certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantChange {
    /// Serial of the granting (primary) certificate, upper-case hex as the registry writes it.
    pub serial: String,
    /// Unified social credit code of the employer.
    pub uscc: String,
    /// Name of the employer.
    pub employer_name: String,
    /// Serial of the sub-certificate granted to.
    pub grantee_serial: String,
    /// The portal's client id.
    pub client_id: String,
    /// The portal's display name.
    pub portal_name: String,
    /// The `grant_id` of the set this one replaces.
    pub grant_id: String,
    /// The new item set, in the portal's catalogue order.
    pub items: Vec<GrantedItem>,
    /// Unix seconds.
    pub issued_at: i64,
}

/// Kind 6, `revocation_request`: the holder revokes the certificate that signs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationRequest {
    /// Serial of the certificate revoked, upper-case hex as the registry writes it.
    pub serial: String,
    /// Unified social credit code of the employer.
    pub uscc: String,
    /// Name of the employer.
    pub unit_name: String,
    /// The cause (`phone_changed`, `key_compromise`, …), as the server names it.
    pub cause: String,
    /// Unix seconds.
    pub issued_at: i64,
}

/// Kind 7, `renewal_request`: the holder asks for the certificate that signs it to be followed
/// by a new certificate of the same key, valid until `not_after`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewalRequest {
    /// Serial of the certificate renewed (the signer), upper-case hex as the registry writes it.
    pub serial: String,
    /// Serial of the certificate that follows it.
    pub new_serial: String,
    /// Unified social credit code of the employer.
    pub uscc: String,
    /// Name of the employer.
    pub unit_name: String,
    /// Name of the person holding the key.
    pub holder_name: String,
    /// The new certificate's end of validity, Unix seconds.
    pub not_after: i64,
    /// Unix seconds.
    pub issued_at: i64,
}

/// One item of a [`GrantChange`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantedItem {
    /// The item's code in the portal's catalogue, 1 to 512 bytes.
    pub code: String,
    /// The item's name, as the phone shows it, up to 512 bytes.
    pub name: String,
    /// In force from, Unix seconds; at once if absent.
    pub starts_at: Option<i64>,
    /// In force until (exclusive), Unix seconds; without end if absent.
    pub ends_at: Option<i64>,
}

impl SignedMessage {
    /// The canonical bytes.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidMessage`] if a field breaks a limit that [`decode`](Self::decode)
    /// enforces: text over 512 bytes, an identifier outside 1 to 64 bytes, a public key that is
    /// not an uncompressed curve point, or an unknown key-check purpose. A DER message
    /// (`seal_sign`, `pdf_signed_attributes`) is the bytes it was decoded from.
    pub fn encode(&self) -> Result<Vec<u8>, SignerError> {
        let kind = match self {
            Self::SealSign(m) => return Ok(m.der.clone()),
            Self::PdfSignedAttributes(m) => return Ok(m.der.clone()),
            Self::KeyEnrolment(_) => KIND_KEY_ENROLMENT,
            Self::LoginChallenge(_) => KIND_LOGIN_CHALLENGE,
            Self::KeyCheck(_) => KIND_KEY_CHECK,
            Self::GrantChange(_) => KIND_GRANT_CHANGE,
            Self::RevocationRequest(_) => KIND_REVOCATION_REQUEST,
            Self::RenewalRequest(_) => KIND_RENEWAL_REQUEST,
        };
        let mut writer = Writer::new(kind);
        match self {
            Self::SealSign(_) | Self::PdfSignedAttributes(_) => {}
            Self::KeyEnrolment(m) => {
                writer.text(&m.serial)?;
                writer.point(&m.public_key)?;
                writer.text(&m.uscc)?;
                writer.text(&m.unit_name)?;
                writer.text(&m.holder_name)?;
                writer.time(m.issued_at);
            }
            Self::LoginChallenge(m) => {
                writer.id(&m.session_id)?;
                writer.text(&m.client_id)?;
                writer.text(&m.portal_name)?;
                writer.text(&m.origin)?;
                writer.text(&m.scopes)?;
                writer.text(&m.serial)?;
                writer.text(&m.match_code)?;
                writer.text(&m.initiator)?;
                writer.time(m.initiated_at);
                writer.time(m.issued_at);
                writer.time(m.expires_at);
            }
            Self::KeyCheck(m) => {
                writer.text(&m.serial)?;
                check_purpose(&m.purpose)?;
                writer.text(&m.purpose)?;
                writer.field(&m.nonce);
                writer.time(m.issued_at);
            }
            Self::GrantChange(m) => {
                for text in [
                    &m.serial,
                    &m.uscc,
                    &m.employer_name,
                    &m.grantee_serial,
                    &m.client_id,
                    &m.portal_name,
                    &m.grant_id,
                ] {
                    writer.text(text)?;
                }
                writer.field(&encode_items(&m.items)?);
                writer.time(m.issued_at);
            }
            Self::RevocationRequest(m) => {
                for text in [&m.serial, &m.uscc, &m.unit_name, &m.cause] {
                    writer.text(text)?;
                }
                writer.time(m.issued_at);
            }
            Self::RenewalRequest(m) => {
                for text in [
                    &m.serial,
                    &m.new_serial,
                    &m.uscc,
                    &m.unit_name,
                    &m.holder_name,
                ] {
                    writer.text(text)?;
                }
                writer.time(m.not_after);
                writer.time(m.issued_at);
            }
        }
        Ok(writer.out)
    }

    /// Parses canonical bytes.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidMessage`] for a wrong magic, version or kind, a field missing, out
    /// of order or repeated, a length past the end or wrong for a fixed-size field, text that is
    /// not UTF-8 or over 512 bytes, an identifier outside 1 to 64 bytes, an invalid public key or
    /// key-check purpose, or bytes after the last field. Bytes that start with 0x30 must be
    /// DER(`TBS_Sign`) v4 and bytes that start with 0x31 the signed attributes of a PDF seal,
    /// read as strictly (`docs/split-key.md`, "Seal messages").
    pub fn decode(bytes: &[u8]) -> Result<Self, SignerError> {
        match bytes.first() {
            Some(&seal::SEQUENCE) => return seal::decode_seal_sign(bytes).map(Self::SealSign),
            Some(&seal::SET) => {
                return seal::decode_pdf_signed_attributes(bytes).map(Self::PdfSignedAttributes);
            }
            _ => {}
        }
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(invalid("not an mcert signed message"))?;
        let [version, kind, fields @ ..] = rest else {
            return Err(invalid("truncated header"));
        };
        if *version != VERSION {
            return Err(invalid("unsupported version"));
        }
        let mut reader = Reader {
            rest: fields,
            tag: 0,
        };
        let message = match *kind {
            KIND_KEY_ENROLMENT => Self::KeyEnrolment(KeyEnrolment {
                serial: reader.text()?,
                public_key: reader.point()?,
                uscc: reader.text()?,
                unit_name: reader.text()?,
                holder_name: reader.text()?,
                issued_at: reader.time()?,
            }),
            KIND_LOGIN_CHALLENGE => Self::LoginChallenge(LoginChallenge {
                session_id: reader.id()?,
                client_id: reader.text()?,
                portal_name: reader.text()?,
                origin: reader.text()?,
                scopes: reader.text()?,
                serial: reader.text()?,
                match_code: reader.text()?,
                initiator: reader.text()?,
                initiated_at: reader.time()?,
                issued_at: reader.time()?,
                expires_at: reader.time()?,
            }),
            KIND_KEY_CHECK => Self::KeyCheck(KeyCheck {
                serial: reader.text()?,
                purpose: reader.text().and_then(|purpose| {
                    check_purpose(&purpose)?;
                    Ok(purpose)
                })?,
                nonce: reader.fixed()?,
                issued_at: reader.time()?,
            }),
            KIND_GRANT_CHANGE => Self::GrantChange(GrantChange {
                serial: reader.text()?,
                uscc: reader.text()?,
                employer_name: reader.text()?,
                grantee_serial: reader.text()?,
                client_id: reader.text()?,
                portal_name: reader.text()?,
                grant_id: reader.text()?,
                items: decode_items(reader.field()?)?,
                issued_at: reader.time()?,
            }),
            KIND_REVOCATION_REQUEST => Self::RevocationRequest(RevocationRequest {
                serial: reader.text()?,
                uscc: reader.text()?,
                unit_name: reader.text()?,
                cause: reader.text()?,
                issued_at: reader.time()?,
            }),
            KIND_RENEWAL_REQUEST => Self::RenewalRequest(RenewalRequest {
                serial: reader.text()?,
                new_serial: reader.text()?,
                uscc: reader.text()?,
                unit_name: reader.text()?,
                holder_name: reader.text()?,
                not_after: reader.time()?,
                issued_at: reader.time()?,
            }),
            _ => return Err(invalid("unknown kind")),
        };
        if !reader.rest.is_empty() {
            return Err(invalid("bytes after the last field"));
        }
        Ok(message)
    }

    /// The kind's name: `key_enrolment`, `login_challenge`, `key_check`, `grant_change`,
    /// `revocation_request`, `renewal_request`, `seal_sign` or `pdf_signed_attributes`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::KeyEnrolment(_) => "key_enrolment",
            Self::LoginChallenge(_) => "login_challenge",
            Self::KeyCheck(_) => "key_check",
            Self::GrantChange(_) => "grant_change",
            Self::RevocationRequest(_) => "revocation_request",
            Self::RenewalRequest(_) => "renewal_request",
            Self::SealSign(_) => "seal_sign",
            Self::PdfSignedAttributes(_) => "pdf_signed_attributes",
        }
    }

    /// The message as JSON for display:
    /// `{"version":2,"kind":"…","fields":{"name":value,…}}` with fields in tag order, text as
    /// JSON strings, binary fields as lower-case hex strings and times as numbers. `version` is
    /// that of the encoding: 2 for the `MCERT-SIGN` kinds, 4 (`TBS_Sign`'s) for `seal_sign` and
    /// 1 for `pdf_signed_attributes`.
    pub fn describe_json(&self) -> String {
        let mut json = JsonObject::new();
        let version = match self {
            Self::SealSign(_) => 4,
            Self::PdfSignedAttributes(_) => 1,
            _ => VERSION,
        };
        json.number("version", version.into());
        json.string("kind", self.kind_name());
        json.key("fields");
        let mut fields = JsonObject::new();
        match self {
            Self::KeyEnrolment(m) => {
                fields.string("serial", &m.serial);
                fields.hex("public_key", &m.public_key);
                fields.string("uscc", &m.uscc);
                fields.string("unit_name", &m.unit_name);
                fields.string("holder_name", &m.holder_name);
                fields.number("issued_at", m.issued_at);
            }
            Self::LoginChallenge(m) => {
                fields.hex("session_id", &m.session_id);
                fields.string("client_id", &m.client_id);
                fields.string("portal_name", &m.portal_name);
                fields.string("origin", &m.origin);
                fields.string("scopes", &m.scopes);
                fields.string("serial", &m.serial);
                fields.string("match_code", &m.match_code);
                fields.string("initiator", &m.initiator);
                fields.number("initiated_at", m.initiated_at);
                fields.number("issued_at", m.issued_at);
                fields.number("expires_at", m.expires_at);
            }
            Self::KeyCheck(m) => {
                fields.string("serial", &m.serial);
                fields.string("purpose", &m.purpose);
                fields.hex("nonce", &m.nonce);
                fields.number("issued_at", m.issued_at);
            }
            Self::GrantChange(m) => {
                fields.string("serial", &m.serial);
                fields.string("uscc", &m.uscc);
                fields.string("employer_name", &m.employer_name);
                fields.string("grantee_serial", &m.grantee_serial);
                fields.string("client_id", &m.client_id);
                fields.string("portal_name", &m.portal_name);
                fields.string("grant_id", &m.grant_id);
                fields.key("items");
                fields.out.push('[');
                for (i, item) in m.items.iter().enumerate() {
                    if i > 0 {
                        fields.out.push(',');
                    }
                    let mut object = JsonObject::new();
                    object.string("code", &item.code);
                    object.string("name", &item.name);
                    object.optional_number("starts_at", item.starts_at);
                    object.optional_number("ends_at", item.ends_at);
                    fields.out.push_str(&object.finish());
                }
                fields.out.push(']');
                fields.number("issued_at", m.issued_at);
            }
            Self::RevocationRequest(m) => {
                fields.string("serial", &m.serial);
                fields.string("uscc", &m.uscc);
                fields.string("unit_name", &m.unit_name);
                fields.string("cause", &m.cause);
                fields.number("issued_at", m.issued_at);
            }
            Self::RenewalRequest(m) => {
                fields.string("serial", &m.serial);
                fields.string("new_serial", &m.new_serial);
                fields.string("uscc", &m.uscc);
                fields.string("unit_name", &m.unit_name);
                fields.string("holder_name", &m.holder_name);
                fields.number("not_after", m.not_after);
                fields.number("issued_at", m.issued_at);
            }
            Self::SealSign(m) => {
                fields.string("seal_id", &m.seal_id);
                fields.string("seal_name", &m.seal_name);
                fields.number("seal_type", m.seal_type.into());
                fields.string("seal_vid", &m.seal_vid);
                fields.number("seal_valid_start", m.seal_valid_start);
                fields.number("seal_valid_end", m.seal_valid_end);
                fields.key("cert_sm3s");
                fields.out.push('[');
                for (i, digest) in m.cert_sm3s.iter().enumerate() {
                    if i > 0 {
                        fields.out.push(',');
                    }
                    push_hex(&mut fields.out, digest);
                }
                fields.out.push(']');
                fields.string("picture_type", &m.picture_type);
                fields.hex("picture", &m.picture);
                fields.number("picture_width_mm", m.picture_width_mm.into());
                fields.number("picture_height_mm", m.picture_height_mm.into());
                fields.number("time_info", m.time_info);
                fields.hex("data_hash", &m.data_hash);
                fields.string("property_info", &m.property_info);
                fields.string("session_id", &m.session_id);
                fields.string("document_title", &m.document_title);
            }
            Self::PdfSignedAttributes(m) => {
                fields.number("signing_time", m.signing_time);
                fields.hex("message_digest", &m.message_digest);
            }
        }
        json.out.push_str(&fields.finish());
        json.finish()
    }
}

fn invalid(reason: &'static str) -> SignerError {
    SignerError::InvalidMessage { reason }
}

fn check_purpose(purpose: &str) -> Result<(), SignerError> {
    if KEY_CHECK_PURPOSES.contains(&purpose) {
        Ok(())
    } else {
        Err(invalid("key_check purpose is not verify_pin or change_pin"))
    }
}

/// A `grant_change` item list: per item the fields `code` (text, not empty), `name` (text),
/// `starts_at` and `ends_at` (each a time, or empty for none), framed as message fields with
/// tags 1 to 4 again for each item; the whole under 64 KiB.
fn encode_items(items: &[GrantedItem]) -> Result<Vec<u8>, SignerError> {
    let mut writer = Writer {
        out: Vec::new(),
        tag: 0,
    };
    for item in items {
        writer.tag = 0;
        if item.code.is_empty() {
            return Err(invalid("item code is empty"));
        }
        writer.text(&item.code)?;
        writer.text(&item.name)?;
        for time in [item.starts_at, item.ends_at] {
            match time {
                Some(time) => writer.time(time),
                None => writer.field(&[]),
            }
        }
    }
    if writer.out.len() > usize::from(u16::MAX) {
        return Err(invalid("item list over 65535 bytes"));
    }
    Ok(writer.out)
}

fn decode_items(bytes: &[u8]) -> Result<Vec<GrantedItem>, SignerError> {
    let mut reader = Reader {
        rest: bytes,
        tag: 0,
    };
    let mut items = Vec::new();
    while !reader.rest.is_empty() {
        reader.tag = 0;
        let code = reader.text()?;
        if code.is_empty() {
            return Err(invalid("item code is empty"));
        }
        items.push(GrantedItem {
            code,
            name: reader.text()?,
            starts_at: reader.optional_time()?,
            ends_at: reader.optional_time()?,
        });
    }
    Ok(items)
}

fn check_text(text: &[u8]) -> Result<(), SignerError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(invalid("text longer than 512 bytes"));
    }
    Ok(())
}

fn check_id(id: &[u8]) -> Result<(), SignerError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(invalid("identifier not 1 to 64 bytes long"));
    }
    Ok(())
}

fn check_point(point: &[u8; 65]) -> Result<(), SignerError> {
    parse_uncompressed_point(point)
        .map(|_| ())
        .map_err(|_| invalid("public_key is not an uncompressed SM2 point"))
}

/// Appends fields, numbering their tags from 1.
struct Writer {
    out: Vec<u8>,
    tag: u8,
}

impl Writer {
    fn new(kind: u8) -> Self {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(kind);
        Self { out, tag: 0 }
    }

    /// One field; every caller bounds `value` well below 64 KiB.
    fn field(&mut self, value: &[u8]) {
        self.tag += 1;
        self.out.push(self.tag);
        self.out
            .extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        self.out.extend_from_slice(value);
    }

    fn text(&mut self, text: &str) -> Result<(), SignerError> {
        check_text(text.as_bytes())?;
        self.field(text.as_bytes());
        Ok(())
    }

    fn id(&mut self, id: &[u8]) -> Result<(), SignerError> {
        check_id(id)?;
        self.field(id);
        Ok(())
    }

    fn point(&mut self, point: &[u8; 65]) -> Result<(), SignerError> {
        check_point(point)?;
        self.field(point);
        Ok(())
    }

    fn time(&mut self, time: i64) {
        self.field(&time.to_be_bytes());
    }
}

/// Takes fields in tag order from the front of the bytes after the header.
struct Reader<'a> {
    rest: &'a [u8],
    tag: u8,
}

impl<'a> Reader<'a> {
    fn field(&mut self) -> Result<&'a [u8], SignerError> {
        self.tag += 1;
        let [tag, len_high, len_low, rest @ ..] = self.rest else {
            return Err(invalid("field missing or truncated"));
        };
        if *tag != self.tag {
            return Err(invalid("field missing, repeated or out of order"));
        }
        let len = usize::from(u16::from_be_bytes([*len_high, *len_low]));
        let (value, rest) = rest
            .split_at_checked(len)
            .ok_or(invalid("field runs past the end"))?;
        self.rest = rest;
        Ok(value)
    }

    fn text(&mut self) -> Result<String, SignerError> {
        let value = self.field()?;
        check_text(value)?;
        String::from_utf8(value.to_vec()).map_err(|_| invalid("text is not UTF-8"))
    }

    fn id(&mut self) -> Result<Vec<u8>, SignerError> {
        let value = self.field()?;
        check_id(value)?;
        Ok(value.to_vec())
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], SignerError> {
        self.field()?
            .try_into()
            .map_err(|_| invalid("fixed-size field has the wrong length"))
    }

    fn point(&mut self) -> Result<[u8; 65], SignerError> {
        let point = self.fixed()?;
        check_point(&point)?;
        Ok(point)
    }

    fn time(&mut self) -> Result<i64, SignerError> {
        self.fixed().map(i64::from_be_bytes)
    }

    /// A time, or an empty field for none.
    fn optional_time(&mut self) -> Result<Option<i64>, SignerError> {
        let value = self.field()?;
        if value.is_empty() {
            return Ok(None);
        }
        let bytes = value
            .try_into()
            .map_err(|_| invalid("fixed-size field has the wrong length"))?;
        Ok(Some(i64::from_be_bytes(bytes)))
    }
}

/// A JSON object written by hand (this crate has no serde): keys are fixed ASCII names, values
/// strings or integers.
struct JsonObject {
    out: String,
    empty: bool,
}

impl JsonObject {
    fn new() -> Self {
        Self {
            out: String::from("{"),
            empty: true,
        }
    }

    fn key(&mut self, name: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_json_string(&mut self.out, name);
        self.out.push(':');
    }

    fn string(&mut self, name: &str, value: &str) {
        self.key(name);
        push_json_string(&mut self.out, value);
    }

    fn hex(&mut self, name: &str, value: &[u8]) {
        self.key(name);
        push_hex(&mut self.out, value);
    }

    fn number(&mut self, name: &str, value: i64) {
        self.key(name);
        self.out.push_str(&value.to_string());
    }

    fn optional_number(&mut self, name: &str, value: Option<i64>) {
        match value {
            Some(value) => self.number(name, value),
            None => {
                self.key(name);
                self.out.push_str("null");
            }
        }
    }

    fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// Appends `value` as a JSON string of lower-case hex digits.
fn push_hex(out: &mut String, value: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(value.len() * 2 + 2);
    out.push('"');
    for byte in value {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out.push('"');
}

/// Appends `value` as a JSON string (RFC 8259 §7): quote, backslash and control characters
/// escaped, and U+2028 / U+2029 too so the output is also a valid JavaScript literal.
fn push_json_string(out: &mut String, value: &str) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{0}'..='\u{1f}' | '\u{2028}' | '\u{2029}' => {
                let code = u32::from(c);
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(DIGITS[((code >> shift) & 0xf) as usize]));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn public_key() -> [u8; 65] {
        hex::decode(crate::digest::tests::ANNEX_A_PUBLIC_KEY)
            .unwrap()
            .try_into()
            .unwrap()
    }

    fn key_check() -> SignedMessage {
        SignedMessage::KeyCheck(KeyCheck {
            serial: "0a1b".into(),
            purpose: "verify_pin".into(),
            nonce: [0x11; 16],
            issued_at: 1_700_000_000,
        })
    }

    fn login_challenge() -> LoginChallenge {
        LoginChallenge {
            session_id: b"s-1".to_vec(),
            client_id: "portal".into(),
            portal_name: "示例门户".into(),
            origin: "https://portal.example".into(),
            scopes: "openid profile".into(),
            serial: "0a1b".into(),
            match_code: "42".into(),
            initiator: "云南昆明 · 222.172.200.* · Chrome".into(),
            initiated_at: 1_699_999_990,
            issued_at: 1_700_000_000,
            expires_at: 1_700_000_300,
        }
    }

    fn all_kinds() -> Vec<SignedMessage> {
        vec![
            SignedMessage::KeyEnrolment(KeyEnrolment {
                serial: "0a1b".into(),
                public_key: public_key(),
                uscc: "91350100M000100Y43".into(),
                unit_name: "测试单位".into(),
                holder_name: "张三".into(),
                issued_at: 1_700_000_000,
            }),
            SignedMessage::LoginChallenge(login_challenge()),
            key_check(),
            SignedMessage::GrantChange(grant_change()),
            SignedMessage::RevocationRequest(RevocationRequest {
                serial: "0A1B".into(),
                uscc: "91530100MA6K000001".into(),
                unit_name: "昆明示例科技有限公司".into(),
                cause: "phone_changed".into(),
                issued_at: 1_700_000_000,
            }),
            renewal_request(),
        ]
    }

    fn renewal_request() -> SignedMessage {
        SignedMessage::RenewalRequest(RenewalRequest {
            serial: "0A1B".into(),
            new_serial: "0C2D".into(),
            uscc: "91530100MA6K000001".into(),
            unit_name: "昆明示例科技有限公司".into(),
            holder_name: "张三".into(),
            not_after: 1_731_536_000,
            issued_at: 1_700_000_000,
        })
    }

    #[test]
    fn renewal_request_known_bytes() {
        let mut expected = b"MCERT-SIGN".to_vec();
        expected.extend([2, 7]);
        for (tag, text) in [
            (1, "0A1B"),
            (2, "0C2D"),
            (3, "91530100MA6K000001"),
            (4, "昆明示例科技有限公司"),
            (5, "张三"),
        ] {
            expected.push(tag);
            expected.extend(u16::try_from(text.len()).unwrap().to_be_bytes());
            expected.extend(text.as_bytes());
        }
        expected.extend([6, 0, 8]);
        expected.extend(1_731_536_000i64.to_be_bytes());
        expected.extend([7, 0, 8]);
        expected.extend(1_700_000_000i64.to_be_bytes());
        assert_eq!(renewal_request().encode().unwrap(), expected);
        assert_eq!(SignedMessage::decode(&expected).unwrap(), renewal_request());
    }

    #[test]
    fn key_check_known_bytes() {
        let mut expected = b"MCERT-SIGN".to_vec();
        expected.extend([2, 4]);
        expected.extend([1, 0, 4]);
        expected.extend(b"0a1b");
        expected.extend([2, 0, 10]);
        expected.extend(b"verify_pin");
        expected.extend([3, 0, 16]);
        expected.extend([0x11; 16]);
        expected.extend([4, 0, 8]);
        expected.extend(1_700_000_000i64.to_be_bytes());
        assert_eq!(key_check().encode().unwrap(), expected);
        assert_eq!(SignedMessage::decode(&expected).unwrap(), key_check());
    }

    #[test]
    fn every_kind_round_trips() {
        for (message, kind) in all_kinds().into_iter().zip([1u8, 2, 4, 5, 6, 7]) {
            let bytes = message.encode().unwrap();
            assert_eq!(
                &bytes[..12],
                &[b"MCERT-SIGN".as_slice(), &[2, kind]].concat()
            );
            assert_eq!(SignedMessage::decode(&bytes).unwrap(), message);
        }
        let names: Vec<_> = all_kinds().iter().map(SignedMessage::kind_name).collect();
        assert_eq!(
            names,
            [
                "key_enrolment",
                "login_challenge",
                "key_check",
                "grant_change",
                "revocation_request",
                "renewal_request"
            ]
        );
    }

    fn grant_change() -> GrantChange {
        GrantChange {
            serial: "0A1B".into(),
            uscc: "91530100MA6K000001".into(),
            employer_name: "昆明示例科技有限公司".into(),
            grantee_serial: "0C2D".into(),
            client_id: "portal".into(),
            portal_name: "就业彩云南".into(),
            grant_id: "v3".into(),
            items: vec![
                GrantedItem {
                    code: "unit_info".into(),
                    name: "单位基础信息维护".into(),
                    starts_at: None,
                    ends_at: Some(1_702_592_000),
                },
                GrantedItem {
                    code: "training".into(),
                    name: String::new(),
                    starts_at: Some(1_700_000_000),
                    ends_at: None,
                },
            ],
            issued_at: 1_700_000_000,
        }
    }

    #[test]
    fn grant_change_item_list_bytes() {
        let bytes = SignedMessage::GrantChange(grant_change()).encode().unwrap();
        let mut items = vec![1, 0, 9];
        items.extend(b"unit_info");
        items.extend([2, 0, 24]);
        items.extend("单位基础信息维护".as_bytes());
        items.extend([3, 0, 0, 4, 0, 8]);
        items.extend(1_702_592_000i64.to_be_bytes());
        items.extend([1, 0, 8]);
        items.extend(b"training");
        items.extend([2, 0, 0, 3, 0, 8]);
        items.extend(1_700_000_000i64.to_be_bytes());
        items.extend([4, 0, 0]);
        let mut field = vec![8];
        field.extend(u16::try_from(items.len()).unwrap().to_be_bytes());
        field.extend(&items);
        assert!(bytes.windows(field.len()).any(|w| w == field.as_slice()));
        assert_eq!(
            SignedMessage::decode(&bytes).unwrap(),
            SignedMessage::GrantChange(grant_change())
        );
        let json = SignedMessage::GrantChange(grant_change()).describe_json();
        assert!(json.contains(
            "\"grant_id\":\"v3\",\"items\":[{\"code\":\"unit_info\",\"name\":\"单位基础信息维护\",\
             \"starts_at\":null,\"ends_at\":1702592000},{\"code\":\"training\",\"name\":\"\",\
             \"starts_at\":1700000000,\"ends_at\":null}],\"issued_at\":1700000000}}"
        ));
    }

    #[test]
    fn grant_change_item_lists_are_strict() {
        let with_items = |items: &[u8]| {
            let mut change = grant_change();
            change.items.clear();
            let good = SignedMessage::GrantChange(change).encode().unwrap();
            // The empty item list is the field before the last (tag 8, length 0).
            let at = good.len() - 11 - 3;
            assert_eq!(&good[at..at + 3], &[8, 0, 0]);
            let mut bytes = good[..at].to_vec();
            bytes.push(8);
            bytes.extend(u16::try_from(items.len()).unwrap().to_be_bytes());
            bytes.extend(items);
            bytes.extend(&good[at + 3..]);
            bytes
        };
        let item = |code: &[u8], starts: &[u8]| {
            let mut bytes = vec![1, 0, u8::try_from(code.len()).unwrap()];
            bytes.extend(code);
            bytes.extend([2, 0, 0, 3, 0, u8::try_from(starts.len()).unwrap()]);
            bytes.extend(starts);
            bytes.extend([4, 0, 0]);
            bytes
        };
        let good = item(b"a", &[]);
        assert!(SignedMessage::decode(&with_items(&good)).is_ok());
        assert!(SignedMessage::decode(&with_items(&[good.clone(), good.clone()].concat())).is_ok());
        assert_eq!(
            decode_error(&with_items(&item(b"", &[]))),
            "item code is empty"
        );
        assert_eq!(
            decode_error(&with_items(&item(b"a", &[0; 7]))),
            "fixed-size field has the wrong length"
        );
        assert_eq!(
            decode_error(&with_items(&item(b"\xff", &[]))),
            "text is not UTF-8"
        );
        assert_eq!(
            decode_error(&with_items(&good[..good.len() - 3])),
            "field missing or truncated"
        );
        let mut reordered = good.clone();
        reordered[0] = 2;
        assert_eq!(
            decode_error(&with_items(&reordered)),
            "field missing, repeated or out of order"
        );

        let mut empty_code = grant_change();
        empty_code.items[0].code.clear();
        let mut long_name = grant_change();
        long_name.items[0].name = "a".repeat(513);
        for change in [empty_code, long_name] {
            assert!(matches!(
                SignedMessage::GrantChange(change).encode(),
                Err(SignerError::InvalidMessage { .. })
            ));
        }
    }

    fn decode_error(bytes: &[u8]) -> &'static str {
        match SignedMessage::decode(bytes) {
            Err(SignerError::InvalidMessage { reason }) => reason,
            other => panic!("expected InvalidMessage, got {other:?}"),
        }
    }

    #[test]
    fn strict_decoding() {
        let good = key_check().encode().unwrap();
        let with = |index: usize, byte: u8| {
            let mut bytes = good.clone();
            bytes[index] = byte;
            bytes
        };
        // Field offsets in the key_check message: serial tag at 12, purpose tag at 19,
        // nonce tag at 32, issued_at tag at 51.
        assert_eq!(good[12..15], [1, 0, 4]);
        assert_eq!(good[32..35], [3, 0, 16]);
        assert_eq!(good[51..54], [4, 0, 8]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("magic", with(0, b'm')),
            ("header only", good[..11].to_vec()),
            ("version 0", with(10, 0)),
            ("version 1", with(10, 1)),
            ("version 3", with(10, 3)),
            ("kind 0", with(11, 0)),
            ("kind 3, never used", with(11, 3)),
            ("kind 5", with(11, 5)),
            ("tag out of order", with(12, 2)),
            ("tag repeated", with(19, 1)),
            ("no fields", good[..12].to_vec()),
            ("last field missing", good[..51].to_vec()),
            ("truncated value", good[..good.len() - 1].to_vec()),
            ("truncated header", good[..53].to_vec()),
            ("trailing byte", [good.as_slice(), &[0]].concat()),
            ("extra field", [good.as_slice(), &[5, 0, 0]].concat()),
            ("nonce too short", with(34, 15)),
            ("time too long", {
                let mut bytes = with(53, 9);
                bytes.push(0);
                bytes
            }),
            ("length past end", with(13, 0xff)),
        ];
        for (case, bytes) in cases {
            assert!(
                matches!(
                    SignedMessage::decode(&bytes),
                    Err(SignerError::InvalidMessage { .. })
                ),
                "{case}"
            );
        }
        assert_eq!(
            decode_error(&with(11, 9)),
            "unknown kind",
            "reasons name the rule"
        );
    }

    #[test]
    fn decoding_checks_field_contents() {
        // A login challenge with each field swapped for a bad value, re-framed by hand.
        let frame = |fields: &[&[u8]], kind: u8| {
            let mut bytes = b"MCERT-SIGN".to_vec();
            bytes.extend([2, kind]);
            for (tag, value) in (1u8..).zip(fields) {
                bytes.push(tag);
                bytes.extend((value.len() as u16).to_be_bytes());
                bytes.extend(*value);
            }
            bytes
        };
        let time = 7i64.to_be_bytes();
        let text_513 = [b'a'; 513];
        let text_512 = [b'a'; 512];
        let login = |session: &[u8], client: &[u8]| {
            frame(
                &[
                    session, client, b"p", b"o", b"s", b"0a", b"42", b"i", &time, &time, &time,
                ],
                2,
            )
        };
        assert!(SignedMessage::decode(&login(b"s", &text_512)).is_ok());
        assert_eq!(
            decode_error(&login(b"s", &text_513)),
            "text longer than 512 bytes"
        );
        assert_eq!(
            decode_error(&login(b"s", &[0xff, 0xfe])),
            "text is not UTF-8"
        );
        assert_eq!(
            decode_error(&login(b"", b"c")),
            "identifier not 1 to 64 bytes long"
        );
        assert_eq!(
            decode_error(&login(&[1; 65], b"c")),
            "identifier not 1 to 64 bytes long"
        );
        assert!(SignedMessage::decode(&login(&[1; 64], b"c")).is_ok());

        let mut off_curve = public_key();
        off_curve[64] ^= 1;
        let mut compressed = public_key();
        compressed[0] = 2;
        for bad in [off_curve, compressed, [0; 65]] {
            let bytes = frame(&[b"0a", &bad, b"u", b"n", b"h", &time], 1);
            assert_eq!(
                decode_error(&bytes),
                "public_key is not an uncompressed SM2 point"
            );
        }
        let bytes = frame(&[b"0a", b"reset_pin", &[0; 16], &time], 4);
        assert_eq!(
            decode_error(&bytes),
            "key_check purpose is not verify_pin or change_pin"
        );
        let bytes = frame(&[b"0a", b"change_pin", &[0; 16], &time], 4);
        assert!(SignedMessage::decode(&bytes).is_ok());
    }

    #[test]
    fn encoding_refuses_what_decoding_would_refuse() {
        let mut long_text = login_challenge();
        long_text.origin = "a".repeat(513);
        let mut empty_id = login_challenge();
        empty_id.session_id.clear();
        let mut long_id = login_challenge();
        long_id.session_id = vec![1; 65];
        let mut bad_key = KeyEnrolment {
            serial: "0a".into(),
            public_key: public_key(),
            uscc: String::new(),
            unit_name: String::new(),
            holder_name: String::new(),
            issued_at: 0,
        };
        bad_key.public_key[1] ^= 1;
        let bad_purpose = KeyCheck {
            serial: "0a".into(),
            purpose: "verify".into(),
            nonce: [0; 16],
            issued_at: 0,
        };
        for message in [
            SignedMessage::LoginChallenge(long_text),
            SignedMessage::LoginChallenge(empty_id),
            SignedMessage::LoginChallenge(long_id),
            SignedMessage::KeyEnrolment(bad_key),
            SignedMessage::KeyCheck(bad_purpose),
        ] {
            assert!(
                matches!(message.encode(), Err(SignerError::InvalidMessage { .. })),
                "{message:?}"
            );
        }
    }

    #[test]
    fn describe_json_layout() {
        assert_eq!(
            key_check().describe_json(),
            "{\"version\":2,\"kind\":\"key_check\",\"fields\":{\"serial\":\"0a1b\",\
             \"purpose\":\"verify_pin\",\"nonce\":\"11111111111111111111111111111111\",\
             \"issued_at\":1700000000}}"
        );
        let json = SignedMessage::LoginChallenge(login_challenge()).describe_json();
        assert!(json.starts_with(
            "{\"version\":2,\"kind\":\"login_challenge\",\"fields\":{\"session_id\":\"732d31\","
        ));
        assert!(json.contains("\"portal_name\":\"示例门户\""));
        assert!(json.contains(
            "\"initiator\":\"云南昆明 · 222.172.200.* · Chrome\",\"initiated_at\":1699999990,"
        ));
        assert!(json.ends_with("\"issued_at\":1700000000,\"expires_at\":1700000300}}"));
    }

    #[test]
    fn describe_json_escapes_strings() {
        let mut challenge = login_challenge();
        challenge.portal_name =
            "a\"b\\c\nd\re\tf\u{8}\u{c}\u{0}\u{1f}\u{7f}\u{2028}\u{2029}é😀".into();
        challenge.issued_at = i64::MIN;
        challenge.expires_at = i64::MAX;
        let json = SignedMessage::LoginChallenge(challenge.clone()).describe_json();
        assert!(json.contains(
            "\"portal_name\":\"a\\\"b\\\\c\\nd\\re\\tf\\b\\f\\u0000\\u001f\u{7f}\\u2028\\u2029é😀\""
        ));
        assert!(json.contains("\"issued_at\":-9223372036854775808"));
        assert!(json.contains("\"expires_at\":9223372036854775807"));

        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed["fields"]["portal_name"],
            challenge.portal_name.as_str()
        );
        assert_eq!(parsed["fields"]["issued_at"], i64::MIN);
    }

    fn text() -> impl Strategy<Value = String> {
        // Up to 128 characters of any kind, which stays within 512 UTF-8 bytes.
        proptest::collection::vec(any::<char>(), 0..128)
            .prop_map(|chars| chars.into_iter().collect())
    }

    fn id() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 1..=64)
    }

    fn grant_item() -> impl Strategy<Value = GrantedItem> {
        // Up to 60 characters stays within 512 UTF-8 bytes.
        let short = |min| {
            proptest::collection::vec(any::<char>(), min..60)
                .prop_map(|chars| chars.into_iter().collect::<String>())
        };
        (
            short(1),
            short(0),
            any::<Option<i64>>(),
            any::<Option<i64>>(),
        )
            .prop_map(|(code, name, starts_at, ends_at)| GrantedItem {
                code,
                name,
                starts_at,
                ends_at,
            })
    }

    fn message() -> impl Strategy<Value = SignedMessage> {
        prop_oneof![
            (text(), text(), text(), text(), any::<i64>()).prop_map(
                |(serial, uscc, unit_name, holder_name, issued_at)| {
                    SignedMessage::KeyEnrolment(KeyEnrolment {
                        serial,
                        public_key: public_key(),
                        uscc,
                        unit_name,
                        holder_name,
                        issued_at,
                    })
                }
            ),
            (
                id(),
                (text(), text(), text(), text()),
                (text(), text(), text()),
                (any::<i64>(), any::<i64>(), any::<i64>())
            )
                .prop_map(
                    |(
                        session_id,
                        (client_id, portal_name, origin, scopes),
                        (serial, match_code, initiator),
                        (initiated_at, issued_at, expires_at),
                    )| {
                        SignedMessage::LoginChallenge(LoginChallenge {
                            session_id,
                            client_id,
                            portal_name,
                            origin,
                            scopes,
                            serial,
                            match_code,
                            initiator,
                            initiated_at,
                            issued_at,
                            expires_at,
                        })
                    }
                ),
            (
                text(),
                prop::sample::select(KEY_CHECK_PURPOSES.to_vec()),
                any::<[u8; 16]>(),
                any::<i64>()
            )
                .prop_map(|(serial, purpose, nonce, issued_at)| {
                    SignedMessage::KeyCheck(KeyCheck {
                        serial,
                        purpose: purpose.into(),
                        nonce,
                        issued_at,
                    })
                }),
            (
                (text(), text(), text(), text()),
                (text(), text(), text()),
                proptest::collection::vec(grant_item(), 0..20),
                any::<i64>()
            )
                .prop_map(
                    |(
                        (serial, uscc, employer_name, grantee_serial),
                        (client_id, portal_name, grant_id),
                        items,
                        issued_at,
                    )| {
                        SignedMessage::GrantChange(GrantChange {
                            serial,
                            uscc,
                            employer_name,
                            grantee_serial,
                            client_id,
                            portal_name,
                            grant_id,
                            items,
                            issued_at,
                        })
                    }
                ),
            (text(), text(), text(), text(), any::<i64>()).prop_map(
                |(serial, uscc, unit_name, cause, issued_at)| {
                    SignedMessage::RevocationRequest(RevocationRequest {
                        serial,
                        uscc,
                        unit_name,
                        cause,
                        issued_at,
                    })
                }
            ),
            (
                (text(), text(), text(), text(), text()),
                any::<i64>(),
                any::<i64>()
            )
                .prop_map(
                    |((serial, new_serial, uscc, unit_name, holder_name), not_after, issued_at)| {
                        SignedMessage::RenewalRequest(RenewalRequest {
                            serial,
                            new_serial,
                            uscc,
                            unit_name,
                            holder_name,
                            not_after,
                            issued_at,
                        })
                    }
                ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn decode_inverts_encode(message in message()) {
            let bytes = message.encode().unwrap();
            prop_assert_eq!(SignedMessage::decode(&bytes).unwrap(), message.clone());
            let json: serde_json::Value = serde_json::from_str(&message.describe_json()).unwrap();
            prop_assert_eq!(json["kind"].as_str(), Some(message.kind_name()));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SignedMessage::decode(&bytes);
        }

        #[test]
        fn any_truncation_or_extension_is_rejected(message in message(), cut in any::<prop::sample::Index>()) {
            let bytes = message.encode().unwrap();
            let cut = cut.index(bytes.len());
            prop_assert!(SignedMessage::decode(&bytes[..cut]).is_err());
            let mut longer = bytes;
            longer.push(0);
            prop_assert!(SignedMessage::decode(&longer).is_err());
        }
    }
}
