//! Stamped PDFs: the seal drawn on a page and a detached CMS signature (SM2 with SM3) over the
//! file, both in one incremental update appended to the original bytes, which stay untouched.
//!
//! The two halves of the signing happen in different places, so the work is split in three:
//! [`prepare`] appends the revision with a zero-filled `/Contents` placeholder and returns the
//! SM3 of the bytes the signature will cover; the holder's key (co-signed on the phone) signs
//! [`signed_attributes`] of that digest; [`finish`] wraps the signature in a CMS `SignedData`
//! and writes it, hex-encoded, into the placeholder. [`signatures`] reads every signature of a
//! PDF back for the verifier. The format is described in `docs/seals.md`.
//!
//! Times are unix seconds (`i64`, UTC): the crate has no calendar library and the server
//! converts from `chrono` at its edge.

use std::fmt::Write as _;

use cms::{
    cert::{CertificateChoices, IssuerAndSerialNumber},
    content_info::{CmsVersion, ContentInfo},
    signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
        SignerInfos,
    },
};
use der::{
    Decode, Encode, SliceReader,
    asn1::{Any, GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime},
};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, Writer};
use sm3::{Digest as _, Sm3};
use spki::AlgorithmIdentifierOwned;
use x509_cert::{
    Certificate,
    attr::{Attribute, Attributes},
    time::Time,
};

use crate::{SM2_WITH_SM3, SesError, verify::verify_sm2};

/// The largest PDF accepted, in bytes.
pub const MAX_PDF_BYTES: usize = 10 * 1024 * 1024;

/// Most signatures [`signatures`] reads from one PDF.
pub const MAX_SIGNATURES: usize = 32;

/// The largest PDF [`signatures`] reads: an upload at the limit with room for a few stamps.
pub const MAX_STAMPED_PDF_BYTES: usize = MAX_PDF_BYTES + 2 * 1024 * 1024;

/// Room for the DER CMS in `/Contents`, in bytes (twice as many hex digits in the file). A
/// `SignedData` with three SM2 certificates is about 2 KiB; the rest leaves room for longer
/// names and extensions in the certificates.
pub const PLACEHOLDER_BYTES: usize = 16 * 1024;

/// SM3 (GM/T 0006: 1.2.156.10197.1.401), the digest algorithm of the CMS.
pub const SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");
/// `sm2` (1.2.156.10197.1.301.1), which GM/T 0010 names as the signer's algorithm and some
/// other signers write; accepted when reading, never written.
pub const SM2_SIGN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301.1");

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");

const PT_PER_MM: f32 = 72.0 / 25.4;
/// Width of each patched `/ByteRange` number: ten digits cover any offset below 10 GB.
const RANGE_DIGITS: usize = 10;

/// Why a PDF cannot be stamped, or a signature in it cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// Larger than [`MAX_PDF_BYTES`] (to stamp) or [`MAX_STAMPED_PDF_BYTES`] (to verify).
    #[error("the PDF has {size} bytes, more than the {limit} accepted")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// Not a PDF, or one that cannot be read.
    #[error("the file is not a readable PDF")]
    Malformed(#[source] Option<lopdf::Error>),
    /// The PDF is encrypted (`/Encrypt` in its trailer).
    #[error("the PDF is encrypted")]
    Encrypted,
    /// The placement names a page the PDF does not have.
    #[error("page {page} asked for, the PDF has {pages}")]
    PageMissing {
        /// The 1-based page asked for.
        page: u32,
        /// How many pages the PDF has.
        pages: usize,
    },
    /// The seal would not lie entirely on the page, or its size is not positive.
    #[error("the seal does not fit on the page at the placement given")]
    PlacementInvalid,
    /// The CMS is larger than the `/Contents` placeholder.
    #[error("the CMS has {needed} bytes, the placeholder holds {capacity}")]
    SignatureTooLarge {
        /// DER length of the CMS.
        needed: usize,
        /// Bytes the placeholder holds.
        capacity: usize,
    },
    /// The signature does not verify over the signed attributes with the signer's key, or the
    /// signed attributes do not name this PDF's digest.
    #[error("the signature does not verify over this PDF")]
    SignatureInvalid,
    /// The CMS, a certificate, or the signature dictionary does not parse.
    #[error("the CMS signature is malformed")]
    CmsMalformed(Option<der::Error>),
    /// The PNG of a captured seal does not decode.
    #[error("the seal picture is not a readable PNG")]
    AppearanceInvalid,
    /// More signatures than [`MAX_SIGNATURES`]: refused before any is hashed.
    #[error("the PDF has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signing time outside what the CMS can carry (before 1970).
    #[error("signing time {unix} is not representable")]
    SigningTimeInvalid {
        /// The unix seconds given.
        unix: i64,
    },
}

impl PdfError {
    /// The stable code clients see.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "pdf_too_large",
            Self::Malformed(_) => "pdf_malformed",
            Self::Encrypted => "pdf_encrypted",
            Self::PageMissing { .. } => "pdf_page_missing",
            Self::PlacementInvalid => "pdf_placement_invalid",
            Self::SignatureTooLarge { .. } => "pdf_signature_too_large",
            Self::SignatureInvalid => "pdf_signature_invalid",
            Self::CmsMalformed(_) => "pdf_cms_malformed",
            Self::AppearanceInvalid => "pdf_appearance_invalid",
            Self::SigningTimeInvalid { .. } => "pdf_signing_time_invalid",
            Self::TooManySignatures => "pdf_too_many_signatures",
        }
    }

    /// A sentence a person can act on.
    #[must_use]
    pub fn message_zh(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "PDF 文件超过 10 MB，请压缩或拆分后再上传",
            Self::Malformed(_) => "文件不是有效的 PDF 或已损坏，请重新导出后再上传",
            Self::Encrypted => "PDF 文件已加密，请上传未加密的文件",
            Self::PageMissing { .. } => "指定的页码超出了 PDF 的页数，请重新选择盖章页",
            Self::PlacementInvalid => "印章位置超出页面范围，请重新选择盖章位置",
            Self::SignatureTooLarge { .. } => "签名数据超出预留空间，请联系管理员",
            Self::SignatureInvalid => "签名验证失败，请重新盖章",
            Self::CmsMalformed(_) => "PDF 中的签名数据格式错误，无法验证",
            Self::AppearanceInvalid => "印章图片不是有效的 PNG，请重新采集印章",
            Self::SigningTimeInvalid { .. } => "签名时间无效，请检查服务器时间",
            Self::TooManySignatures => "PDF 中的签名超过 32 个，无法验证",
        }
    }
}

impl From<der::Error> for PdfError {
    fn from(error: der::Error) -> Self {
        Self::CmsMalformed(Some(error))
    }
}

/// Where the seal goes: 1-based page, the seal's centre in millimetres from the top-left corner
/// of the page's visible box (`/CropBox`, else `/MediaBox`). `/Rotate` is not taken into
/// account: the corner is that of the unrotated page.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// 1-based page number.
    pub page: u32,
    /// Millimetres from the left edge to the seal's centre.
    pub x_mm: f32,
    /// Millimetres from the top edge to the seal's centre.
    pub y_mm: f32,
}

/// How the seal looks.
#[derive(Debug, Clone, PartialEq)]
pub enum Appearance {
    /// PDF content operators drawing the seal inside a `width_mm` × `height_mm` box whose
    /// lower-left corner is at (0, 0) points, y up (`RoundSeal::pdf_operators(0.0, 0.0)`).
    Operators {
        /// The content stream operators.
        operators: String,
        /// Box width in millimetres.
        width_mm: f32,
        /// Box height in millimetres.
        height_mm: f32,
    },
    /// A PNG with alpha (a seal captured from a stamp), scaled to the box; drawn as an RGB image
    /// XObject with its alpha as `/SMask`.
    Png {
        /// The PNG file.
        png: Vec<u8>,
        /// Box width in millimetres.
        width_mm: f32,
        /// Box height in millimetres.
        height_mm: f32,
    },
}

impl Appearance {
    fn size_mm(&self) -> (f32, f32) {
        match self {
            Self::Operators {
                width_mm,
                height_mm,
                ..
            }
            | Self::Png {
                width_mm,
                height_mm,
                ..
            } => (*width_mm, *height_mm),
        }
    }
}

/// The signature dictionary's descriptive entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFields {
    /// `/Name`: the signer, e.g. employer name and holder.
    pub name: String,
    /// `/Reason`, e.g. "电子印章".
    pub reason: String,
    /// `/M`, in unix seconds (UTC).
    pub signing_time: i64,
}

/// A PDF with the seal drawn and a zero-filled signature placeholder, appended as one
/// incremental update; [`finish`] fills the placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The original PDF followed by the new revision.
    pub bytes: Vec<u8>,
    /// `[0, a, b, len - b]`: everything but the `<…>` of `/Contents`, which spans `a..b`.
    pub byte_range: [usize; 4],
    /// SM3 over the two pieces of `byte_range`.
    pub content_sm3: [u8; 32],
}

/// One signature found in a PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedSignature {
    /// Its `/ByteRange`.
    pub byte_range: [usize; 4],
    /// Whether `byte_range` is `[0, a, b, end - b]` where `a..b` is exactly the `<…>` hex string
    /// of `/Contents` inside the signature dictionary and `end` is [`Self::revision_end`] (or
    /// just before the end-of-line after its `%%EOF`): the whole file up to the end of the
    /// signature's revision, but the hole.
    pub covers_revision: bool,
    /// SM3 over the bytes `byte_range` covers.
    pub content_sm3: [u8; 32],
    /// Whether the digest algorithm is SM3 and the `messageDigest` attribute equals
    /// [`Self::content_sm3`].
    pub digest_matches: bool,
    /// Whether the SM2 signature over the signed attributes verifies with the signer
    /// certificate's key.
    pub signature_valid: bool,
    /// The signer's certificate (DER), found in the CMS by issuer and serial number.
    pub signer_certificate: Vec<u8>,
    /// The CMS's other certificates (DER).
    pub certificates: Vec<Vec<u8>>,
    /// The `signingTime` attribute, unix seconds.
    pub signing_time: Option<i64>,
    /// `/Name` of the signature dictionary.
    pub name: Option<String>,
    /// `/Reason` of the signature dictionary.
    pub reason: Option<String>,
    /// Offset just past the `%%EOF` line that ends the signature's revision; bytes after it
    /// were added later.
    pub revision_end: usize,
    /// DER of the signed attributes (the message the SM2 signature is over).
    pub signed_attributes: Vec<u8>,
    /// The DER SM2 signature.
    pub signature: Vec<u8>,
}

/// Draws the seal on the page and appends the signature field with an empty placeholder.
///
/// # Errors
///
/// [`PdfError::TooLarge`], [`PdfError::Malformed`], [`PdfError::Encrypted`],
/// [`PdfError::PageMissing`], [`PdfError::PlacementInvalid`], or
/// [`PdfError::SigningTimeInvalid`].
pub fn prepare(
    pdf: &[u8],
    placement: &Placement,
    appearance: &Appearance,
    fields: &SignatureFields,
) -> Result<Prepared, PdfError> {
    let doc = load(pdf, MAX_PDF_BYTES)?;
    let mut update = Update::new(&doc, pdf)?;

    let pages = doc.get_pages();
    let page_id = *pages.get(&placement.page).ok_or(PdfError::PageMissing {
        page: placement.page,
        pages: pages.len(),
    })?;
    let page = doc.get_dictionary(page_id).map_err(malformed)?;

    // The seal's box in default user space.
    let (width_mm, height_mm) = appearance.size_mm();
    let (width, height) = (width_mm * PT_PER_MM, height_mm * PT_PER_MM);
    let visible = inherited(&doc, page, b"CropBox")
        .or_else(|| inherited(&doc, page, b"MediaBox"))
        .and_then(|b| rectangle(&doc, b))
        .ok_or(PdfError::Malformed(None))?;
    let left = visible[0] + placement.x_mm * PT_PER_MM - width / 2.0;
    let bottom = visible[3] - placement.y_mm * PT_PER_MM - height / 2.0;
    let seal_box = [left, bottom, left + width, bottom + height];
    let fits = seal_box.iter().all(|v| v.is_finite())
        && width > 0.0
        && height > 0.0
        && seal_box[0] >= visible[0]
        && seal_box[1] >= visible[1]
        && seal_box[2] <= visible[2]
        && seal_box[3] <= visible[3];
    if !fits {
        return Err(PdfError::PlacementInvalid);
    }
    let date = pdf_date(fields.signing_time)?;

    // The seal as a Form XObject, used both by the page content and as the widget appearance.
    let form_id = update.allocate();
    let form = seal_form(&mut update, appearance, width, height)?;
    update.object(form_id, Object::Stream(form));

    // The page: existing content wrapped in q … Q so that a graphics state it leaves behind
    // does not move the seal, then the seal.
    let mut new_page = page.clone();
    let mut resources = inherited(&doc, page, b"Resources")
        .and_then(|r| deref(&doc, r).as_dict().ok().cloned())
        .unwrap_or_default();
    let mut xobjects = resources
        .get(b"XObject")
        .ok()
        .and_then(|x| deref(&doc, x).as_dict().ok().cloned())
        .unwrap_or_default();
    let seal_name = (1..)
        .map(|n| format!("MCertSeal{n}"))
        .find(|n| !xobjects.has(n.as_bytes()))
        .unwrap_or_default();
    xobjects.set(seal_name.as_bytes(), Object::Reference(form_id));
    resources.set("XObject", Object::Dictionary(xobjects));
    new_page.set("Resources", Object::Dictionary(resources));

    let save_id = update.allocate();
    update.object(
        save_id,
        Object::Stream(Stream::new(Dictionary::new(), b"q\n".to_vec())),
    );
    let draw_id = update.allocate();
    let draw = format!(
        "\nQ\nq 1 0 0 1 {} {} cm /{seal_name} Do Q\n",
        number(seal_box[0]),
        number(seal_box[1])
    );
    update.object(
        draw_id,
        Object::Stream(Stream::new(Dictionary::new(), draw.into_bytes())),
    );
    let mut contents = vec![Object::Reference(save_id)];
    match page.get(b"Contents").map(|c| (c, deref(&doc, c))) {
        Ok((_, Object::Array(parts))) => contents.extend(parts.iter().cloned()),
        Ok((Object::Reference(id), _)) => contents.push(Object::Reference(*id)),
        Ok(_) | Err(_) => {}
    }
    contents.push(Object::Reference(draw_id));
    new_page.set("Contents", Object::Array(contents));

    // The signature value, written by hand further down so that its offsets are known.
    let sig_id = update.allocate();
    let widget_id = update.allocate();

    let mut acroform = match doc.catalog().map_err(malformed)?.get(b"AcroForm") {
        Ok(form) => deref(&doc, form).as_dict().cloned().unwrap_or_default(),
        Err(_) => Dictionary::new(),
    };
    let mut form_fields = acroform
        .get(b"Fields")
        .ok()
        .and_then(|f| deref(&doc, f).as_array().ok().cloned())
        .unwrap_or_default();
    let taken: Vec<Vec<u8>> = form_fields
        .iter()
        .filter_map(|f| deref(&doc, f).as_dict().ok())
        .filter_map(|f| f.get(b"T").ok().and_then(|t| t.as_str().ok()))
        .map(<[u8]>::to_vec)
        .collect();
    let field_name = (1..)
        .map(|n| format!("MCertSeal{n}"))
        .find(|n| !taken.iter().any(|t| t == n.as_bytes()))
        .unwrap_or_default();

    let mut widget = Dictionary::new();
    widget.set("Type", Object::Name(b"Annot".to_vec()));
    widget.set("Subtype", Object::Name(b"Widget".to_vec()));
    widget.set("FT", Object::Name(b"Sig".to_vec()));
    widget.set("T", Object::string_literal(field_name));
    widget.set("V", Object::Reference(sig_id));
    widget.set(
        "Rect",
        Object::Array(seal_box.iter().map(|v| Object::Real(*v)).collect()),
    );
    // Print (4) + Locked (128).
    widget.set("F", Object::Integer(132));
    widget.set("P", Object::Reference(page_id));
    let mut ap = Dictionary::new();
    ap.set("N", Object::Reference(form_id));
    widget.set("AP", Object::Dictionary(ap));
    update.object(widget_id, Object::Dictionary(widget));

    let mut annots = page
        .get(b"Annots")
        .ok()
        .and_then(|a| deref(&doc, a).as_array().ok().cloned())
        .unwrap_or_default();
    annots.push(Object::Reference(widget_id));
    new_page.set("Annots", Object::Array(annots));
    update.object(page_id, Object::Dictionary(new_page));

    form_fields.push(Object::Reference(widget_id));
    acroform.set("Fields", Object::Array(form_fields));
    acroform.set("SigFlags", Object::Integer(3));
    let root_id = update.root;
    let catalog = doc.catalog().map_err(malformed)?;
    match catalog.get(b"AcroForm") {
        Ok(Object::Reference(acroform_id)) => {
            update.object(*acroform_id, Object::Dictionary(acroform));
        }
        _ => {
            let mut catalog = catalog.clone();
            catalog.set("AcroForm", Object::Dictionary(acroform));
            update.object(root_id, Object::Dictionary(catalog));
        }
    }

    update.signature(
        sig_id,
        &format!(
            "<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/adbe.pkcs7.detached/ByteRange [0 {pad} {pad} {pad}]/Contents <{zeros}>/M {date}/Name {name}/Reason {reason}>>",
            pad = "*".repeat(RANGE_DIGITS),
            zeros = "0".repeat(2 * PLACEHOLDER_BYTES),
            date = text_string(&date),
            name = text_string(&fields.name),
            reason = text_string(&fields.reason),
        ),
    );
    update.finish()
}

/// DER of the CMS signed attributes, the message the holder's key signs: contentType = id-data,
/// signingTime (UTCTime; GeneralizedTime from 2050 as RFC 5652 says), messageDigest =
/// `content_sm3`, in DER SET OF order.
///
/// # Errors
///
/// [`PdfError::SigningTimeInvalid`] before 1970.
pub fn signed_attributes(
    content_sm3: &[u8; 32],
    signing_time_unix: i64,
) -> Result<Vec<u8>, PdfError> {
    let invalid = PdfError::SigningTimeInvalid {
        unix: signing_time_unix,
    };
    let seconds = u64::try_from(signing_time_unix).map_err(|_| invalid)?;
    let duration = std::time::Duration::from_secs(seconds);
    let time = match UtcTime::from_unix_duration(duration) {
        Ok(utc) => Time::UtcTime(utc),
        Err(_) => {
            Time::GeneralTime(GeneralizedTime::from_unix_duration(duration).map_err(|_| {
                PdfError::SigningTimeInvalid {
                    unix: signing_time_unix,
                }
            })?)
        }
    };
    let attribute = |oid, value: Any| -> Result<Attribute, PdfError> {
        Ok(Attribute {
            oid,
            values: SetOfVec::try_from(vec![value])?,
        })
    };
    let attributes: Attributes = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?,
        attribute(ID_SIGNING_TIME, Any::encode_from(&time)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(content_sm3.to_vec())?)?,
        )?,
    ])?;
    Ok(attributes.to_der()?)
}

/// Wraps the holder's signature in a detached CMS `SignedData` and writes it into the
/// placeholder. `certificates` are DER, the signer's first, then the issuing CA and the root.
///
/// The signer info names the digest SM3 (1.2.156.10197.1.401, no parameters) and the signature
/// algorithm SM2-with-SM3 (1.2.156.10197.1.501): the algorithm the certificates themselves
/// carry and the rest of mcert writes, which OpenSSL names `SM2-with-SM3` and maps to the SM2
/// key type and SM3 (GM/T 0010's `sm2`, 1.2.156.10197.1.301.1, names no digest). OpenSSL 3.0
/// parses the CMS but its `cms -verify` cannot check it: it computes Z_A without the
/// distinguishing ID (see `docs/seals.md`).
///
/// # Errors
///
/// [`PdfError::SignatureInvalid`] if `signed_attributes` do not hold this PDF's digest or the
/// signature does not verify with the first certificate; [`PdfError::CmsMalformed`] for a
/// certificate or attributes that do not parse; [`PdfError::SignatureTooLarge`] if the CMS
/// does not fit; [`PdfError::Malformed`] if `prepared` was altered.
pub fn finish(
    prepared: Prepared,
    signed_attributes: &[u8],
    signature_der: &[u8],
    certificates: &[Vec<u8>],
) -> Result<Vec<u8>, PdfError> {
    let Prepared {
        mut bytes,
        byte_range: [_, hole_start, hole_end, rest],
        content_sm3,
    } = prepared;
    let consistent = hole_end.checked_add(rest) == Some(bytes.len())
        && hole_start + 2 <= hole_end
        && bytes.get(hole_start) == Some(&b'<')
        && bytes.get(hole_end - 1) == Some(&b'>')
        && covered_sm3(&bytes, [0, hole_start, hole_end, rest]) == Some(content_sm3);
    if !consistent {
        return Err(PdfError::Malformed(None));
    }

    let attributes = Attributes::from_der(signed_attributes)?;
    if attributes.to_der()? != signed_attributes
        || attribute_value(&attributes, ID_CONTENT_TYPE)
            .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
            != Some(ID_DATA)
        || message_digest(&attributes).as_deref() != Some(&content_sm3[..])
    {
        return Err(PdfError::SignatureInvalid);
    }
    let signer_der = certificates.first().ok_or(PdfError::CmsMalformed(None))?;
    verify_sm2(
        signer_der,
        SM2_WITH_SM3,
        signed_attributes,
        signature_der,
        SesError::SignerSignatureInvalid,
    )
    .map_err(|e| match e {
        SesError::CertificateInvalid => PdfError::CmsMalformed(None),
        _ => PdfError::SignatureInvalid,
    })?;

    let certificates = certificates
        .iter()
        .map(|der| Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()?;
    let signer = certificates.first().ok_or(PdfError::CmsMalformed(None))?;
    let sm3 = AlgorithmIdentifierOwned {
        oid: SM3,
        parameters: None,
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.tbs_certificate.issuer.clone(),
            serial_number: signer.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sm3.clone(),
        signed_attrs: Some(attributes),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: SM2_WITH_SM3,
            parameters: None,
        },
        signature: OctetString::new(signature_der)?,
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sm3])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(SetOfVec::try_from(
            certificates
                .into_iter()
                .map(CertificateChoices::Certificate)
                .collect::<Vec<_>>(),
        )?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    let cms = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    }
    .to_der()?;

    let capacity = (hole_end - hole_start - 2) / 2;
    if cms.len() > capacity {
        return Err(PdfError::SignatureTooLarge {
            needed: cms.len(),
            capacity,
        });
    }
    let hex = hex_upper(&cms);
    bytes[hole_start + 1..hole_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(bytes)
}

/// Every signature dictionary in the PDF (one with `/ByteRange` and `/Contents`), in file order,
/// with the checks of its CMS.
///
/// # Errors
///
/// [`PdfError::TooLarge`] above [`MAX_STAMPED_PDF_BYTES`], [`PdfError::Malformed`],
/// [`PdfError::Encrypted`], [`PdfError::TooManySignatures`] above [`MAX_SIGNATURES`], or
/// [`PdfError::CmsMalformed`] if a signature's dictionary or CMS does not parse (a placeholder
/// never filled by [`finish`] is one).
pub fn signatures(pdf: &[u8]) -> Result<Vec<EmbeddedSignature>, PdfError> {
    let doc = load(pdf, MAX_STAMPED_PDF_BYTES)?;
    let candidates: Vec<_> = doc
        .objects
        .iter()
        .filter_map(|(id, object)| {
            let Object::Dictionary(dict) = object else {
                return None;
            };
            match (dict.get(b"ByteRange"), dict.get(b"Contents")) {
                (Ok(range), Ok(Object::String(contents, _))) => Some((*id, dict, range, contents)),
                _ => None,
            }
        })
        .collect();
    // Each signature hashes up to the whole file: a bound keeps a crafted file from costing
    // hours.
    if candidates.len() > MAX_SIGNATURES {
        return Err(PdfError::TooManySignatures);
    }
    let mut found = Vec::with_capacity(candidates.len());
    for (id, dict, range, contents) in candidates {
        found.push(embedded(&doc, pdf, id, dict, range, contents)?);
    }
    found.sort_by_key(|s| (s.revision_end, s.byte_range[1]));
    Ok(found)
}

fn embedded(
    doc: &Document,
    pdf: &[u8],
    id: ObjectId,
    dict: &Dictionary,
    range: &Object,
    contents: &[u8],
) -> Result<EmbeddedSignature, PdfError> {
    let numbers = deref(doc, range)
        .as_array()
        .map_err(|_| PdfError::CmsMalformed(None))?
        .iter()
        .map(|n| n.as_i64().ok().and_then(|n| usize::try_from(n).ok()))
        .collect::<Option<Vec<_>>>()
        .ok_or(PdfError::CmsMalformed(None))?;
    let byte_range: [usize; 4] = numbers
        .try_into()
        .map_err(|_| PdfError::CmsMalformed(None))?;
    let content_sm3 = covered_sm3(pdf, byte_range).ok_or(PdfError::CmsMalformed(None))?;

    // Where the dictionary lives, to check that the hole is its /Contents and nothing else.
    let object_start = match doc.reference_table.get(id.0) {
        Some(lopdf::xref::XrefEntry::Normal { offset, .. }) => usize::try_from(*offset).ok(),
        _ => None,
    };
    let object_end = object_start
        .and_then(|start| find(&pdf[start.min(pdf.len())..], b"endobj").map(|at| start + at));
    let [zero, hole_start, hole_end, rest] = byte_range;
    let revision_end = object_end
        .and_then(|end| find(&pdf[end..], b"%%EOF").map(|at| end + at + 5))
        .map(|eof| eol_end(pdf, eof))
        .unwrap_or(pdf.len());
    let covered_end = hole_end.checked_add(rest);
    let hole = pdf.get(hole_start..hole_end);
    let covers_revision = zero == 0
        && hole.is_some_and(|h| {
            h.first() == Some(&b'<')
                && h.last() == Some(&b'>')
                && h[1..h.len() - 1].eq_ignore_ascii_case(hex_upper(contents).as_bytes())
        })
        && object_start.is_some_and(|s| s < hole_start)
        && object_end.is_some_and(|e| hole_end <= e)
        && covered_end.is_some_and(|end| end == revision_end || eol_end(pdf, end) == revision_end);

    // The DER CMS, followed by the placeholder's zeros.
    let mut reader = SliceReader::new(contents)?;
    let cms = ContentInfo::decode(&mut reader)?;
    if cms.content_type != ID_SIGNED_DATA {
        return Err(PdfError::CmsMalformed(None));
    }
    let signed_data: SignedData = cms.content.decode_as()?;
    let signer_info = signed_data
        .signer_infos
        .0
        .get(0)
        .ok_or(PdfError::CmsMalformed(None))?;
    let attributes = signer_info
        .signed_attrs
        .as_ref()
        .ok_or(PdfError::CmsMalformed(None))?;
    let signed_attributes = attributes.to_der()?;
    let mut certificates = Vec::new();
    let mut signer_certificate = None;
    for choice in signed_data.certificates.iter().flat_map(|c| c.0.iter()) {
        let CertificateChoices::Certificate(certificate) = choice else {
            continue;
        };
        let der = certificate.to_der()?;
        let is_signer = match &signer_info.sid {
            SignerIdentifier::IssuerAndSerialNumber(sid) => {
                sid.issuer == certificate.tbs_certificate.issuer
                    && sid.serial_number == certificate.tbs_certificate.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(_) => false,
        };
        if is_signer && signer_certificate.is_none() {
            signer_certificate = Some(der);
        } else {
            certificates.push(der);
        }
    }
    let signer_certificate = signer_certificate.ok_or(PdfError::CmsMalformed(None))?;

    let digest_matches = signer_info.digest_alg.oid == SM3
        && message_digest(attributes).as_deref() == Some(&content_sm3[..]);
    let signature = signer_info.signature.as_bytes().to_vec();
    let signature_valid = [SM2_WITH_SM3, SM2_SIGN].contains(&signer_info.signature_algorithm.oid)
        && verify_sm2(
            &signer_certificate,
            SM2_WITH_SM3,
            &signed_attributes,
            &signature,
            SesError::SignerSignatureInvalid,
        )
        .is_ok();
    let signing_time = attribute_value(attributes, ID_SIGNING_TIME)
        .and_then(|v| v.to_der().ok())
        .and_then(|der| Time::from_der(&der).ok())
        .and_then(|t| i64::try_from(t.to_unix_duration().as_secs()).ok());

    Ok(EmbeddedSignature {
        byte_range,
        covers_revision,
        content_sm3,
        digest_matches,
        signature_valid,
        signer_certificate,
        certificates,
        signing_time,
        name: dict.get(b"Name").ok().and_then(|n| decode_text(doc, n)),
        reason: dict.get(b"Reason").ok().and_then(|n| decode_text(doc, n)),
        revision_end,
        signed_attributes,
        signature,
    })
}

/// Loads the PDF, telling an encrypted one apart from an unreadable one.
fn load(pdf: &[u8], limit: usize) -> Result<Document, PdfError> {
    if pdf.len() > limit {
        return Err(PdfError::TooLarge {
            size: pdf.len(),
            limit,
        });
    }
    // Readers allow a little junk before the header; anything else is not a PDF.
    if find(&pdf[..pdf.len().min(1024)], b"%PDF-").is_none() {
        return Err(PdfError::Malformed(None));
    }
    match Document::load_mem(pdf) {
        Ok(doc) if doc.trailer.has(b"Encrypt") || doc.was_encrypted() => Err(PdfError::Encrypted),
        Ok(doc) => Ok(doc),
        Err(error) => match Document::load_metadata_mem(pdf) {
            Ok(metadata) if metadata.encrypted => Err(PdfError::Encrypted),
            _ => Err(PdfError::Malformed(Some(error))),
        },
    }
}

fn malformed(error: lopdf::Error) -> PdfError {
    PdfError::Malformed(Some(error))
}

/// The object a reference points to (one level), or the object itself.
fn deref<'a>(doc: &'a Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(object),
        _ => object,
    }
}

/// A page attribute, looked up through `/Parent` as the page tree's inheritance says.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    // The depth bound stops a /Parent loop.
    for _ in 0..64 {
        if let Ok(value) = node.get(key) {
            return Some(value);
        }
        node = deref(doc, node.get(b"Parent").ok()?).as_dict().ok()?;
    }
    None
}

/// A rectangle as `[left, bottom, right, top]`.
fn rectangle(doc: &Document, object: &Object) -> Option<[f32; 4]> {
    let values = deref(doc, object)
        .as_array()
        .ok()?
        .iter()
        .map(|v| deref(doc, v).as_float().ok())
        .collect::<Option<Vec<f32>>>()?;
    let [a, b, c, d]: [f32; 4] = values.try_into().ok()?;
    Some([a.min(c), b.min(d), a.max(c), b.max(d)])
}

/// The seal's Form XObject, `width` × `height` points.
fn seal_form(
    update: &mut Update,
    appearance: &Appearance,
    width: f32,
    height: f32,
) -> Result<Stream, PdfError> {
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"XObject".to_vec()));
    dict.set("Subtype", Object::Name(b"Form".to_vec()));
    dict.set(
        "BBox",
        Object::Array(vec![
            Object::Integer(0),
            Object::Integer(0),
            Object::Real(width),
            Object::Real(height),
        ]),
    );
    let content = match appearance {
        Appearance::Operators { operators, .. } => {
            dict.set("Resources", Object::Dictionary(Dictionary::new()));
            operators.as_bytes().to_vec()
        }
        Appearance::Png { png, .. } => {
            let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
                .map_err(|_| PdfError::AppearanceInvalid)?
                .to_rgba8();
            let (w, h) = image.dimensions();
            let mut rgb = Vec::with_capacity(image.len() / 4 * 3);
            let mut alpha = Vec::with_capacity(image.len() / 4);
            for pixel in image.pixels() {
                rgb.extend_from_slice(&pixel.0[..3]);
                alpha.push(pixel.0[3]);
            }
            let image_dict = |space: &[u8]| {
                let mut d = Dictionary::new();
                d.set("Type", Object::Name(b"XObject".to_vec()));
                d.set("Subtype", Object::Name(b"Image".to_vec()));
                d.set("Width", Object::Integer(i64::from(w)));
                d.set("Height", Object::Integer(i64::from(h)));
                d.set("ColorSpace", Object::Name(space.to_vec()));
                d.set("BitsPerComponent", Object::Integer(8));
                d
            };
            let mask_id = update.allocate();
            let mut mask = Stream::new(image_dict(b"DeviceGray"), alpha);
            mask.compress().map_err(malformed)?;
            update.object(mask_id, Object::Stream(mask));
            let image_id = update.allocate();
            let mut picture = image_dict(b"DeviceRGB");
            picture.set("SMask", Object::Reference(mask_id));
            let mut picture = Stream::new(picture, rgb);
            picture.compress().map_err(malformed)?;
            update.object(image_id, Object::Stream(picture));
            let mut xobjects = Dictionary::new();
            xobjects.set("Seal", Object::Reference(image_id));
            let mut resources = Dictionary::new();
            resources.set("XObject", Object::Dictionary(xobjects));
            dict.set("Resources", Object::Dictionary(resources));
            format!(
                "q {} 0 0 {} 0 0 cm /Seal Do Q\n",
                number(width),
                number(height)
            )
            .into_bytes()
        }
    };
    let mut stream = Stream::new(dict, content);
    stream.compress().map_err(malformed)?;
    Ok(stream)
}

/// The revision being appended: new objects, new versions of existing ones, and the signature
/// dictionary whose `/ByteRange` and `/Contents` are patched once the layout is known.
struct Update<'a> {
    original: &'a [u8],
    next_id: u32,
    root: ObjectId,
    previous_size: i64,
    previous_xref: usize,
    /// Whether the previous cross-reference section is a stream (PDF 1.5): then so is ours.
    xref_stream: bool,
    trailer_extra: Dictionary,
    objects: Vec<(ObjectId, Object)>,
    signature: Option<(ObjectId, String)>,
}

impl<'a> Update<'a> {
    fn new(doc: &Document, original: &'a [u8]) -> Result<Self, PdfError> {
        let root = doc
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(malformed)?;
        let previous_size = doc
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .unwrap_or(0);
        let previous_xref = last_startxref(original).ok_or(PdfError::Malformed(None))?;
        let xref_stream = !original
            .get(previous_xref..)
            .is_some_and(|at| at.trim_ascii_start().starts_with(b"xref"));
        let mut trailer_extra = Dictionary::new();
        for key in [b"Info".as_slice(), b"ID"] {
            if let Ok(value) = doc.trailer.get(key) {
                trailer_extra.set(key, value.clone());
            }
        }
        let next_id = u32::try_from(previous_size)
            .unwrap_or(0)
            .max(doc.max_id.saturating_add(1));
        Ok(Self {
            original,
            next_id,
            root,
            previous_size,
            previous_xref,
            xref_stream,
            trailer_extra,
            objects: Vec::new(),
            signature: None,
        })
    }

    fn allocate(&mut self) -> ObjectId {
        let id = (self.next_id, 0);
        self.next_id += 1;
        id
    }

    fn object(&mut self, id: ObjectId, object: Object) {
        self.objects.push((id, object));
    }

    fn signature(&mut self, id: ObjectId, dictionary: &str) {
        self.signature = Some((id, dictionary.to_owned()));
    }

    fn finish(self) -> Result<Prepared, PdfError> {
        let mut out = self.original.to_vec();
        if !matches!(out.last(), Some(b'\n' | b'\r')) {
            out.push(b'\n');
        }
        let mut offsets: Vec<(ObjectId, usize)> = Vec::new();
        for (id, object) in &self.objects {
            offsets.push((*id, out.len()));
            out.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
            Writer::write_object(&mut out, object).map_err(|_| PdfError::Malformed(None))?;
            out.extend_from_slice(b"\nendobj\n");
        }
        let (sig_id, sig_dict) = self.signature.ok_or(PdfError::Malformed(None))?;
        offsets.push((sig_id, out.len()));
        out.extend_from_slice(format!("{} {} obj\n", sig_id.0, sig_id.1).as_bytes());
        let sig_start = out.len();
        out.extend_from_slice(sig_dict.as_bytes());
        out.extend_from_slice(b"\nendobj\n");

        let mut size = i64::from(self.next_id).max(self.previous_size);
        let mut trailer = self.trailer_extra;
        trailer.set("Root", Object::Reference(self.root));
        trailer.set("Prev", Object::Integer(count(self.previous_xref)));
        let xref_at = out.len();
        if self.xref_stream {
            let xref_id = (
                u32::try_from(size).map_err(|_| PdfError::Malformed(None))?,
                0,
            );
            size += 1;
            offsets.push((xref_id, xref_at));
            offsets.sort_unstable();
            let mut index = Vec::new();
            let mut rows = Vec::new();
            for ((number, generation), offset) in &offsets {
                index.extend([Object::Integer(i64::from(*number)), Object::Integer(1)]);
                rows.push(1u8);
                rows.extend_from_slice(
                    &u32::try_from(*offset)
                        .map_err(|_| PdfError::Malformed(None))?
                        .to_be_bytes(),
                );
                rows.extend_from_slice(&generation.to_be_bytes());
            }
            trailer.set("Type", Object::Name(b"XRef".to_vec()));
            trailer.set("Size", Object::Integer(size));
            trailer.set("Index", Object::Array(index));
            trailer.set(
                "W",
                Object::Array(vec![
                    Object::Integer(1),
                    Object::Integer(4),
                    Object::Integer(2),
                ]),
            );
            out.extend_from_slice(format!("{} 0 obj\n", xref_id.0).as_bytes());
            Writer::write_object(&mut out, &Object::Stream(Stream::new(trailer, rows)))
                .map_err(|_| PdfError::Malformed(None))?;
            out.extend_from_slice(b"\nendobj\n");
        } else {
            offsets.sort_unstable();
            out.extend_from_slice(b"xref\n");
            let mut rest = offsets.as_slice();
            while let Some(((first, _), _)) = rest.first() {
                let run = rest
                    .iter()
                    .enumerate()
                    .take_while(|(i, ((n, _), _))| {
                        u32::try_from(*i).ok().map(|i| first + i) == Some(*n)
                    })
                    .count();
                out.extend_from_slice(format!("{first} {run}\n").as_bytes());
                for ((_, generation), offset) in &rest[..run] {
                    out.extend_from_slice(format!("{offset:010} {generation:05} n\r\n").as_bytes());
                }
                rest = &rest[run..];
            }
            trailer.set("Size", Object::Integer(size));
            out.extend_from_slice(b"trailer\n");
            Writer::write_object(&mut out, &Object::Dictionary(trailer))
                .map_err(|_| PdfError::Malformed(None))?;
            out.push(b'\n');
        }
        out.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());

        // Patch the ByteRange now that every offset is known.
        let dict = &out[sig_start..];
        let hole_start =
            sig_start + find(dict, b"/Contents <").ok_or(PdfError::Malformed(None))? + 10;
        let hole_end = hole_start + 2 * PLACEHOLDER_BYTES + 2;
        let byte_range = [0, hole_start, hole_end, out.len() - hole_end];
        let range_at =
            sig_start + find(dict, b"/ByteRange [0 ").ok_or(PdfError::Malformed(None))? + 14;
        let numbers = format!(
            "{:>w$} {:>w$} {:>w$}",
            byte_range[1],
            byte_range[2],
            byte_range[3],
            w = RANGE_DIGITS
        );
        if numbers.len() != 3 * RANGE_DIGITS + 2 {
            return Err(PdfError::TooLarge {
                size: out.len(),
                limit: MAX_STAMPED_PDF_BYTES,
            });
        }
        out[range_at..range_at + numbers.len()].copy_from_slice(numbers.as_bytes());
        let content_sm3 = covered_sm3(&out, byte_range).ok_or(PdfError::Malformed(None))?;
        Ok(Prepared {
            bytes: out,
            byte_range,
            content_sm3,
        })
    }
}

fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The offset the last `startxref` gives.
fn last_startxref(pdf: &[u8]) -> Option<usize> {
    let at = pdf.windows(9).rposition(|w| w == b"startxref")?;
    let digits: String = pdf[at + 9..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|b| char::from(*b))
        .collect();
    digits.parse().ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Past the end-of-line marker at `at`, if there is one.
fn eol_end(pdf: &[u8], at: usize) -> usize {
    match pdf.get(at..at + 2) {
        Some(b"\r\n") => at + 2,
        _ if matches!(pdf.get(at), Some(b'\n' | b'\r')) => at + 1,
        _ => at,
    }
}

/// SM3 over the two pieces of a ByteRange, if they lie in the file.
fn covered_sm3(pdf: &[u8], [a, b, c, d]: [usize; 4]) -> Option<[u8; 32]> {
    let first = pdf.get(a..a.checked_add(b)?)?;
    let second = pdf.get(c..c.checked_add(d)?)?;
    let mut hasher = Sm3::new();
    hasher.update(first);
    hasher.update(second);
    Some(hasher.finalize().into())
}

fn attribute_value(attributes: &Attributes, oid: ObjectIdentifier) -> Option<&Any> {
    let attribute = attributes.iter().find(|a| a.oid == oid)?;
    match attribute.values.as_slice() {
        [value] => Some(value),
        _ => None,
    }
}

fn message_digest(attributes: &Attributes) -> Option<Vec<u8>> {
    attribute_value(attributes, ID_MESSAGE_DIGEST)?
        .decode_as::<OctetString>()
        .ok()
        .map(OctetString::into_bytes)
}

/// A PDF date, `D:YYYYMMDDHHmmSS+00'00'`, as a plain string.
fn pdf_date(unix: i64) -> Result<String, PdfError> {
    let time = u64::try_from(unix)
        .ok()
        .and_then(|s| der::DateTime::from_unix_duration(std::time::Duration::from_secs(s)).ok())
        .ok_or(PdfError::SigningTimeInvalid { unix })?;
    Ok(format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
        time.minutes(),
        time.seconds()
    ))
}

/// A PDF text string as a hex string: PDFDocEncoding (as ASCII) when the text is ASCII, else
/// UTF-16BE with its byte order mark.
fn text_string(text: &str) -> String {
    let bytes: Vec<u8> = if text.is_ascii() {
        text.as_bytes().to_vec()
    } else {
        [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect()
    };
    format!("<{}>", hex_upper(&bytes))
}

fn decode_text(doc: &Document, object: &Object) -> Option<String> {
    let bytes = deref(doc, object).as_str().ok()?;
    match bytes {
        [0xFE, 0xFF, rest @ ..] => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // PDFDocEncoding agrees with Latin-1 on the printable characters signers use.
        _ => Some(bytes.iter().map(|b| char::from(*b)).collect()),
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        let _ = write!(out, "{byte:02X}");
    }
    out
}

/// A number for a content stream: no exponent, at most three decimals.
fn number(value: f32) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_strings_are_hex_and_utf16_when_not_ascii() {
        assert_eq!(text_string("ab"), "<6162>");
        assert_eq!(text_string("印"), "<FEFF5370>");
    }

    #[test]
    fn pdf_dates_are_utc() {
        assert_eq!(pdf_date(0).unwrap(), "D:19700101000000+00'00'");
        assert!(matches!(
            pdf_date(-1),
            Err(PdfError::SigningTimeInvalid { unix: -1 })
        ));
    }

    #[test]
    fn numbers_have_no_exponent() {
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(-0.0001), "0");
    }

    #[test]
    fn the_last_startxref_counts() {
        assert_eq!(
            last_startxref(b"startxref\n12\n%%EOF\nstartxref\r\n345\n%%EOF"),
            Some(345)
        );
    }
}
