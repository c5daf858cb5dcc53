//! The verification of a seal signature as a report a person can read: every check of
//! GB/T 38540-2020 §8, in the standard's order, each with its outcome and a Chinese sentence
//! saying what was found.
//!
//! What the report trusts is decided by the caller through [`Registry`] (which CAs are trusted,
//! which certificates are revoked); everything else is read from the `SES_Signature` itself.
//! Checks that read data whose authenticity rests on an earlier check are not run once that
//! check fails, but keep their row, so every report has the same rows in the same order:
//!
//! | check                | needs                                    | because                                               |
//! |----------------------|------------------------------------------|-------------------------------------------------------|
//! | `format`             | —                                        |                                                       |
//! | `signer_signature`   | `format`                                 |                                                       |
//! | `signer_in_seal`     | `format`                                 | the list and the certificate are compared as bytes    |
//! | `maker_signature`    | `format`                                 | the seal is signed by its maker on its own            |
//! | `signer_certificate` | `format`                                 |                                                       |
//! | `validity`           | `signer_signature`, `maker_signature`    | the signing time is only as good as the signer's signature, the seal's period as the maker's |
//! | `revocation`         | `signer_signature`, `signer_certificate` | the signing time; the registry answers only for certificates it issued |
//! | `document_hash`      | `signer_signature`                       | the digest is only as good as the signer's signature  |

use core::time::Duration;

use der::{
    Any, Decode, Encode, ErrorKind, Tag, Tagged,
    asn1::{BmpString, GeneralizedTime, Ia5StringRef, PrintableStringRef, Utf8StringRef},
    oid::ObjectIdentifier,
};
use sm3::Digest as _;
use x509_cert::{Certificate, name::Name};

use crate::{
    seal::{CertList, SealV4},
    signature::SignatureV4,
    verify::{SesError, verify_sm2},
};

/// What the verifier is told about certificates by its caller (the server's CA registry).
pub trait Registry {
    /// Whether `certificate` chains to a trusted CA (the registry checks the issuing CA's SM2
    /// signature on it, and the CA's up to the root): the trusted issuer's name, or `None`.
    fn issuer_of(&self, certificate: &Certificate) -> Option<String>;

    /// The revocation status of a certificate the registry issued.
    fn status(&self, certificate: &Certificate) -> CertStatus;
}

/// The revocation status of a certificate, as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertStatus {
    /// Issued by the registry's CA and not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// When, in Unix seconds.
        at: i64,
        /// Why, as a person reads it (e.g. "密钥泄露").
        reason: String,
    },
    /// Not issued by the registry's CA.
    Unknown,
}

/// Whether the seal signature holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Every check passed (the document's digest may be unchecked when no document was given).
    Valid,
    /// At least one check failed or could not be run.
    Invalid,
}

impl Verdict {
    /// `valid` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It holds.
    Passed,
    /// It does not.
    Failed,
    /// It was not run: a check it needs failed, or (for the document) nothing was given.
    NotChecked,
}

impl Outcome {
    /// `passed`, `failed` or `not_checked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::NotChecked => "not_checked",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable code, e.g. `signer_signature`.
    pub code: &'static str,
    /// The outcome.
    pub outcome: Outcome,
    /// What is checked, in Chinese, e.g. "签章人签名".
    pub title_zh: &'static str,
    /// What was found, a Chinese sentence.
    pub detail_zh: String,
}

/// The seal the signature was made with, as read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealSummary {
    /// The seal's code (电子印章标识, `esID`).
    pub es_id: String,
    /// The seal's name.
    pub name: String,
    /// The maker certificate's subject (RFC 4514), `None` if it does not parse.
    pub maker_subject: Option<String>,
    /// Valid from, Unix seconds.
    pub valid_start: i64,
    /// Valid until, Unix seconds.
    pub valid_end: i64,
    /// `certListType`: 1 certificates, 2 digests.
    pub cert_list_type: u32,
    /// Serials (upper-case hex) of the certificates listed; empty for a list of digests.
    pub certificate_serials: Vec<String>,
}

/// The signer's certificate, as read from the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerSummary {
    /// Subject common name.
    pub common_name: Option<String>,
    /// Subject organisation.
    pub organization: Option<String>,
    /// Serial, upper-case hex of the DER INTEGER content octets.
    pub serial: String,
    /// Valid from, Unix seconds.
    pub not_before: i64,
    /// Valid until, Unix seconds.
    pub not_after: i64,
}

/// The report on one seal signature. The summaries, time and digest are read from the signature
/// whenever it decodes, whatever the checks found; they are only vouched for when `verdict` is
/// [`Verdict::Valid`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Whether the signature holds.
    pub verdict: Verdict,
    /// Every check, in the standard's order.
    pub checks: Vec<Check>,
    /// The seal, if the signature decodes.
    pub seal: Option<SealSummary>,
    /// The signer's certificate, if it parses.
    pub signer: Option<SignerSummary>,
    /// The signing time (`timeInfo`), Unix seconds.
    pub signed_at: Option<i64>,
    /// The signed document's SM3 digest (`dataHash`), if it is 32 bytes.
    pub document_hash: Option<[u8; 32]>,
}

impl Report {
    /// The check with this code.
    pub fn check(&self, code: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.code == code)
    }
}

/// The checks, in the order GB/T 38540-2020 §8 gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Format,
    SignerSignature,
    SignerInSeal,
    MakerSignature,
    SignerCertificate,
    Validity,
    Revocation,
    DocumentHash,
}

const STEPS: [Step; 8] = [
    Step::Format,
    Step::SignerSignature,
    Step::SignerInSeal,
    Step::MakerSignature,
    Step::SignerCertificate,
    Step::Validity,
    Step::Revocation,
    Step::DocumentHash,
];

impl Step {
    fn code(self) -> &'static str {
        match self {
            Self::Format => "format",
            Self::SignerSignature => "signer_signature",
            Self::SignerInSeal => "signer_in_seal",
            Self::MakerSignature => "maker_signature",
            Self::SignerCertificate => "signer_certificate",
            Self::Validity => "validity",
            Self::Revocation => "revocation",
            Self::DocumentHash => "document_hash",
        }
    }

    fn title_zh(self) -> &'static str {
        match self {
            Self::Format => "签章数据格式",
            Self::SignerSignature => "签章人签名",
            Self::SignerInSeal => "签章人与印章匹配",
            Self::MakerSignature => "印章制章者签名",
            Self::SignerCertificate => "签章人证书信任链",
            Self::Validity => "签章时的有效期",
            Self::Revocation => "签章人证书吊销状态",
            Self::DocumentHash => "文档完整性",
        }
    }

    /// The checks this one needs (see the module documentation).
    fn needs(self) -> &'static [Step] {
        match self {
            Self::Format => &[],
            Self::SignerSignature
            | Self::SignerInSeal
            | Self::MakerSignature
            | Self::SignerCertificate => &[Self::Format],
            Self::Validity => &[Self::SignerSignature, Self::MakerSignature],
            Self::Revocation => &[Self::SignerSignature, Self::SignerCertificate],
            Self::DocumentHash => &[Self::SignerSignature],
        }
    }
}

/// The rows as they are filled in.
struct Rows {
    outcomes: [Option<(Outcome, String)>; 8],
}

impl Rows {
    fn new() -> Self {
        Self {
            outcomes: Default::default(),
        }
    }

    fn set(&mut self, step: Step, outcome: Outcome, detail: String) {
        if let Some(slot) = self.outcomes.get_mut(step as usize) {
            *slot = Some((outcome, detail));
        }
    }

    fn outcome(&self, step: Step) -> Option<Outcome> {
        self.outcomes
            .get(step as usize)
            .and_then(|slot| slot.as_ref().map(|(outcome, _)| *outcome))
    }

    /// Runs `check` if every check `step` needs passed; otherwise records why it was not run.
    fn run(&mut self, step: Step, check: impl FnOnce() -> (Outcome, String)) {
        let unmet = step
            .needs()
            .iter()
            .find(|need| self.outcome(**need) != Some(Outcome::Passed));
        let (outcome, detail) = match unmet {
            Some(need) => (
                Outcome::NotChecked,
                format!("因「{}」未通过，本项未检查", need.title_zh()),
            ),
            None => check(),
        };
        self.set(step, outcome, detail);
    }

    fn into_checks(self) -> Vec<Check> {
        STEPS
            .iter()
            .zip(self.outcomes)
            .map(|(step, slot)| {
                let (outcome, detail_zh) = slot.unwrap_or((
                    Outcome::NotChecked,
                    "签章数据无法解析，本项未检查".to_owned(),
                ));
                Check {
                    code: step.code(),
                    outcome,
                    title_zh: step.title_zh(),
                    detail_zh,
                }
            })
            .collect()
    }
}

fn passed(detail: impl Into<String>) -> (Outcome, String) {
    (Outcome::Passed, detail.into())
}

fn failed(detail: impl Into<String>) -> (Outcome, String) {
    (Outcome::Failed, detail.into())
}

/// Verifies a GB/T 38540 seal signature (`SES_Signature` v4, DER) in the standard's order.
///
/// `document` is the signed document's bytes, whose SM3 digest is compared with `dataHash`;
/// without it the `document_hash` check is not run and does not make the verdict invalid.
pub fn verify_signature(
    ses_signature_der: &[u8],
    document: Option<&[u8]>,
    registry: &dyn Registry,
) -> Report {
    let mut rows = Rows::new();
    let signature = match decode(ses_signature_der) {
        Ok(signature) => signature,
        Err(detail) => {
            rows.set(Step::Format, Outcome::Failed, detail);
            return Report {
                verdict: Verdict::Invalid,
                checks: rows.into_checks(),
                seal: None,
                signer: None,
                signed_at: None,
                document_hash: None,
            };
        }
    };
    rows.set(
        Step::Format,
        Outcome::Passed,
        "签章数据是符合 GB/T 38540 的电子签章（SES_Signature 第 4 版）".to_owned(),
    );

    let seal = &signature.to_sign.eseal;
    let signer_der = signature.cert.as_bytes();
    let signer = Certificate::from_der(signer_der).ok();
    let maker = Certificate::from_der(seal.cert.as_bytes()).ok();
    let signed_at = unix(signature.to_sign.time_info);

    rows.run(Step::SignerSignature, || signer_signature(&signature));
    rows.run(Step::SignerInSeal, || signer_in_seal(seal, signer_der));
    rows.run(Step::MakerSignature, || {
        maker_signature(seal, maker.as_ref(), registry)
    });
    rows.run(Step::SignerCertificate, || match &signer {
        None => failed("签章人证书无法解析：无法确认签章人的身份"),
        Some(certificate) => match registry.issuer_of(certificate) {
            Some(issuer) => passed(format!("签章人证书由可信的「{issuer}」签发")),
            None => failed("签章人证书不是由本系统信任的 CA 签发的：无法确认签章人的身份"),
        },
    });
    rows.run(Step::Validity, || {
        validity(signed_at, signer.as_ref(), seal, maker.as_ref())
    });
    rows.run(Step::Revocation, || match &signer {
        None => failed("签章人证书无法解析，无法查询其吊销状态"),
        Some(certificate) => revocation(signed_at, registry.status(certificate)),
    });
    let document_hash = <[u8; 32]>::try_from(signature.to_sign.data_hash.raw_bytes()).ok();
    rows.run(Step::DocumentHash, || match (document, document_hash) {
        (None, _) => (
            Outcome::NotChecked,
            "未提供文档，未核对文档内容是否与签章时一致".to_owned(),
        ),
        (Some(_), None) => failed(format!(
            "签章中的文档杂凑不是 32 字节的 SM3 杂凑（{} 字节），无法核对文档",
            signature.to_sign.data_hash.raw_bytes().len()
        )),
        (Some(document), Some(signed)) if sm3::Sm3::digest(document).as_slice() == signed => {
            passed("文档的 SM3 杂凑与签章时一致：文档在签章后没有被修改")
        }
        (Some(_), Some(_)) => failed("文档内容与签章时不一致：文档在签章后被修改过"),
    });

    let checks = rows.into_checks();
    let valid = checks.iter().all(|check| {
        check.outcome == Outcome::Passed
            || (check.code == Step::DocumentHash.code() && check.outcome == Outcome::NotChecked)
    });
    Report {
        verdict: if valid {
            Verdict::Valid
        } else {
            Verdict::Invalid
        },
        checks,
        seal: Some(seal_summary(seal, maker.as_ref())),
        signer: signer.as_ref().map(signer_summary),
        signed_at: Some(signed_at),
        document_hash,
    }
}

/// Decodes strictly, or says in Chinese why not.
fn decode(bytes: &[u8]) -> Result<SignatureV4, String> {
    let signature = SignatureV4::from_der(bytes).map_err(|error| format_detail(&error))?;
    if signature.to_sign.version != 4 {
        return Err(format!(
            "签章数据的版本号是 {}，不是 GB/T 38540 的第 4 版",
            signature.to_sign.version
        ));
    }
    if signature
        .to_sign
        .eseal
        .e_seal_info
        .property
        .cert_list()
        .is_err()
    {
        return Err(
            "印章中的证书列表与其声明的类型（certListType）不符：印章数据已损坏".to_owned(),
        );
    }
    Ok(signature)
}

fn format_detail(error: &der::Error) -> String {
    match error.kind() {
        ErrorKind::Incomplete { .. } => {
            "签章数据不完整：数据在结构结束之前就断了（文件被截断或声明的长度超出了数据），请重新获取完整的签章文件".to_owned()
        }
        ErrorKind::TrailingData { decoded, remaining } => format!(
            "签章数据在第 {decoded} 字节处已经结束，其后还有 {remaining} 个多余的字节：文件被拼接或改动过"
        ),
        ErrorKind::Noncanonical { .. } | ErrorKind::Overlength => {
            "签章数据不是规范的 DER 编码：签章文件被改动过或由不合规的软件生成".to_owned()
        }
        _ => match error.position() {
            Some(position) => format!(
                "签章数据在第 {position} 字节处不符合 GB/T 38540 的 SES_Signature 结构：这不是电子签章文件，或文件已损坏"
            ),
            None => "签章数据不符合 GB/T 38540 的 SES_Signature 结构：这不是电子签章文件，或文件已损坏".to_owned(),
        },
    }
}

fn signer_signature(signature: &SignatureV4) -> (Outcome, String) {
    let signed = match signature.to_sign.to_der() {
        Ok(signed) => signed,
        Err(_) => return failed("签章内容无法重新编码，无法验证签章人签名"),
    };
    match verify_sm2(
        signature.cert.as_bytes(),
        signature.signature_alg_id,
        &signed,
        signature.signature.raw_bytes(),
        SesError::SignerSignatureInvalid,
    ) {
        Ok(()) => passed("签章人对签章内容（印章、签章时间、文档杂凑）的 SM2 签名验证通过"),
        Err(SesError::AlgorithmUnsupported) => failed(format!(
            "签章人的签名算法（{}）不是 SM2/SM3，无法验证",
            signature.signature_alg_id
        )),
        Err(SesError::CertificateInvalid) => {
            failed("签章人证书无法解析或不含 SM2 公钥，无法验证签章人签名")
        }
        Err(_) => failed(
            "签章人签名验证失败：签章内容（印章、签章时间或文档杂凑）在签名后被改动过，或签名不是由签章人证书对应的私钥所做",
        ),
    }
}

fn signer_in_seal(seal: &SealV4, signer_der: &[u8]) -> (Outcome, String) {
    match seal.lists(signer_der) {
        Ok(true) => passed("签章人证书在印章的证书列表中"),
        Ok(false) => failed("签章人证书不在印章的证书列表中：该印章不允许此证书使用"),
        Err(_) => failed("印章中的证书列表无法解析"),
    }
}

fn maker_signature(
    seal: &SealV4,
    maker: Option<&Certificate>,
    registry: &dyn Registry,
) -> (Outcome, String) {
    match seal.verify_maker() {
        Ok(()) => {}
        Err(SesError::AlgorithmUnsupported) => {
            return failed(format!(
                "印章的签名算法（{}）不是 SM2/SM3，无法验证",
                seal.sign_alg_id
            ));
        }
        Err(SesError::CertificateInvalid) => {
            return failed("印章中的制章者证书无法解析或不含 SM2 公钥，无法验证印章");
        }
        Err(_) => {
            return failed(
                "印章的制章者签名验证失败：印章内容（名称、图像、证书列表或有效期）在制作后被改动过",
            );
        }
    }
    let Some(maker) = maker else {
        return failed("印章中的制章者证书无法解析，无法验证印章");
    };
    let who = display_name(&maker.tbs_certificate.subject);
    match registry.issuer_of(maker) {
        Some(issuer) => passed(format!(
            "制章者「{who}」对印章的签名验证通过，其证书由可信的「{issuer}」签发"
        )),
        None => failed(format!(
            "印章的制章者签名本身有效，但制章者「{who}」的证书不是由本系统信任的 CA 签发的：该印章不是认可的制章机构制作的"
        )),
    }
}

fn validity(
    signed_at: i64,
    signer: Option<&Certificate>,
    seal: &SealV4,
    maker: Option<&Certificate>,
) -> (Outcome, String) {
    let property = &seal.e_seal_info.property;
    let periods = [
        ("签章人证书", signer.map(certificate_period)),
        (
            "印章",
            Some((unix(property.valid_start), unix(property.valid_end))),
        ),
        ("制章者证书", maker.map(certificate_period)),
    ];
    let mut problems = Vec::new();
    for (what, period) in periods {
        match period {
            None => problems.push(format!("{what}无法解析")),
            Some((start, _)) if signed_at < start => {
                problems.push(format!(
                    "{what}尚未生效（有效期自{}起）",
                    beijing_time(start)
                ));
            }
            Some((_, end)) if signed_at > end => {
                problems.push(format!("{what}已过期（有效期至{}）", beijing_time(end)));
            }
            Some(_) => {}
        }
    }
    let when = beijing_time(signed_at);
    if problems.is_empty() {
        passed(format!(
            "签章时间（{when}）在签章人证书、印章和制章者证书的有效期内"
        ))
    } else {
        failed(format!(
            "签章时（{when}）{}：该签章不是在有效期内做的",
            problems.join("；")
        ))
    }
}

fn revocation(signed_at: i64, status: CertStatus) -> (Outcome, String) {
    match status {
        CertStatus::Good => passed("签章人证书未被吊销"),
        CertStatus::Revoked { at, reason } if at <= signed_at => failed(format!(
            "签章人证书在签章前已被吊销（{}，原因：{reason}）：签章时该证书已不能使用",
            beijing_time(at)
        )),
        CertStatus::Revoked { at, reason } => passed(format!(
            "签章时签章人证书未被吊销；该证书后来于{}被吊销（原因：{reason}），不影响此前所做的签章",
            beijing_time(at)
        )),
        CertStatus::Unknown => failed("证书不是本系统签发的：无法查询签章人证书的吊销状态"),
    }
}

fn seal_summary(seal: &SealV4, maker: Option<&Certificate>) -> SealSummary {
    let info = &seal.e_seal_info;
    let certificate_serials = match info.property.cert_list() {
        Ok(CertList::Certificates(certificates)) => certificates
            .iter()
            .filter_map(|c| Certificate::from_der(c.as_bytes()).ok())
            .map(|c| upper_hex(c.tbs_certificate.serial_number.as_bytes()))
            .collect(),
        _ => Vec::new(),
    };
    SealSummary {
        es_id: info.es_id.as_str().to_owned(),
        name: info.property.name.clone(),
        maker_subject: maker.map(|c| c.tbs_certificate.subject.to_string()),
        valid_start: unix(info.property.valid_start),
        valid_end: unix(info.property.valid_end),
        cert_list_type: info.property.cert_list_type,
        certificate_serials,
    }
}

fn signer_summary(certificate: &Certificate) -> SignerSummary {
    let tbs = &certificate.tbs_certificate;
    let (not_before, not_after) = certificate_period(certificate);
    SignerSummary {
        common_name: attribute(&tbs.subject, COMMON_NAME),
        organization: attribute(&tbs.subject, ORGANIZATION_NAME),
        serial: upper_hex(tbs.serial_number.as_bytes()),
        not_before,
        not_after,
    }
}

const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const ORGANIZATION_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");

/// The first value of attribute `oid` in `name`, as text.
fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == oid)
        .find_map(|atv| text(&atv.value))
}

/// A directory string's text (GB/T 20518 certificates use UTF8String, older ones BMPString).
fn text(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String => Utf8StringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::PrintableString => PrintableStringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::Ia5String => Ia5StringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::BmpString => value.decode_as::<BmpString>().ok().map(|s| s.to_string()),
        _ => None,
    }
}

/// A certificate holder as a person names it: the common name, or the whole subject.
fn display_name(name: &Name) -> String {
    attribute(name, COMMON_NAME).unwrap_or_else(|| name.to_string())
}

fn certificate_period(certificate: &Certificate) -> (i64, i64) {
    let validity = &certificate.tbs_certificate.validity;
    (
        seconds(validity.not_before.to_unix_duration()),
        seconds(validity.not_after.to_unix_duration()),
    )
}

fn unix(time: GeneralizedTime) -> i64 {
    seconds(time.to_unix_duration())
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// A Unix instant as the reports write it: `北京时间 2020年10月12日 19:14:03`.
pub fn beijing_time(unix: i64) -> String {
    let beijing = u64::try_from(unix.saturating_add(8 * 3600))
        .ok()
        .and_then(|secs| der::DateTime::from_unix_duration(Duration::from_secs(secs)).ok());
    match beijing {
        Some(t) => format!(
            "北京时间 {}年{}月{}日 {:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minutes(),
            t.seconds()
        ),
        None => format!("Unix 时间 {unix}"),
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02X}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_needs_only_earlier_ones() {
        for (index, step) in STEPS.iter().enumerate() {
            assert_eq!(*step as usize, index, "{step:?} is in its place");
            for need in step.needs() {
                assert!((*need as usize) < index, "{step:?} needs a later {need:?}");
            }
        }
    }

    #[test]
    fn a_report_that_cannot_decode_still_lists_every_check_in_order() {
        struct Nobody;
        impl Registry for Nobody {
            fn issuer_of(&self, _: &Certificate) -> Option<String> {
                None
            }
            fn status(&self, _: &Certificate) -> CertStatus {
                CertStatus::Unknown
            }
        }
        let report = verify_signature(&[0x30, 0x03, 0x02, 0x01], None, &Nobody);
        assert_eq!(report.verdict, Verdict::Invalid);
        let codes: Vec<_> = report.checks.iter().map(|c| c.code).collect();
        assert_eq!(codes, STEPS.map(Step::code));
        assert_eq!(report.checks[0].outcome, Outcome::Failed);
        assert!(report.checks[0].detail_zh.contains("不完整"));
        assert!(
            report.checks[1..]
                .iter()
                .all(|c| c.outcome == Outcome::NotChecked)
        );
    }

    #[test]
    fn times_are_shown_in_beijing_time() {
        // 2020-10-12T11:14:03Z, the signing time of the ofdrw fixture.
        assert_eq!(
            beijing_time(1_602_501_243),
            "北京时间 2020年10月12日 19:14:03"
        );
        assert_eq!(beijing_time(-9_000_000_000_000), "Unix 时间 -9000000000000");
    }

    #[test]
    fn serials_are_upper_case_hex() {
        assert_eq!(upper_hex(&[0x00, 0xab, 0x0c]), "00AB0C");
        assert_eq!(Verdict::Valid.as_str(), "valid");
        assert_eq!(Outcome::NotChecked.as_str(), "not_checked");
    }
}
