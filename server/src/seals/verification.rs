//! Verifying seal signatures and stamped PDFs against this CA (DESIGN.md §8): the checks of
//! GB/T 38540 in the standard's order come from `mcert-ses`; trust (issued by this CA's issuing
//! CA) and revocation come from here.

use std::collections::HashMap;

use der::{Decode as _, Encode as _};
use x509_cert::Certificate;

use crate::{
    ca::{Authority, CertStore},
    domain::CertificateSerial,
    failure::StorageError,
};
use mcert_ses::{CertStatus, Check, Outcome, Registry, Report, Verdict};

/// The CA as the verifier's registry: what it issued and what it revoked, read beforehand.
#[derive(Debug)]
struct CaRegistry {
    issuing: Certificate,
    issuing_key: Option<sm2::PublicKey>,
    statuses: HashMap<String, CertStatus>,
}

impl CaRegistry {
    fn new(authority: &Authority) -> Self {
        let issuing = authority.issuing().clone();
        let issuing_key = sm2::PublicKey::from_sec1_bytes(
            issuing
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .ok();
        Self {
            issuing,
            issuing_key,
            statuses: HashMap::new(),
        }
    }

    /// Reads the revocation status of `certificates` (DER) from the registry.
    async fn look_up(
        &mut self,
        store: &dyn CertStore,
        certificates: &[Vec<u8>],
    ) -> Result<(), StorageError> {
        for der in certificates {
            let Ok(certificate) = Certificate::from_der(der) else {
                continue;
            };
            let serial = serial_of(&certificate);
            let Ok(parsed) = CertificateSerial::parse(&serial) else {
                continue;
            };
            let status = match store.find_by_serial(&parsed).await? {
                Some(record) if record.der.as_deref() == Some(der.as_slice()) => {
                    match record.revocation {
                        Some(revocation) => CertStatus::Revoked {
                            at: revocation.revoked_at.timestamp(),
                            reason: revocation.cause.map_or_else(
                                || revocation.reason.as_str().to_string(),
                                |cause| cause.label_zh().to_string(),
                            ),
                        },
                        None => CertStatus::Good,
                    }
                }
                _ => CertStatus::Unknown,
            };
            self.statuses.insert(serial, status);
        }
        Ok(())
    }
}

fn serial_of(certificate: &Certificate) -> String {
    hex::encode_upper(certificate.tbs_certificate.serial_number.as_bytes())
}

impl Registry for CaRegistry {
    fn issuer_of(&self, certificate: &Certificate) -> Option<String> {
        if certificate.tbs_certificate.issuer != self.issuing.tbs_certificate.subject {
            return None;
        }
        let tbs = certificate.tbs_certificate.to_der().ok()?;
        let key = self.issuing_key.as_ref()?;
        mcert_signer::verify(key, &tbs, certificate.signature.raw_bytes()).ok()?;
        Some(self.issuing.tbs_certificate.subject.to_string())
    }

    fn status(&self, certificate: &Certificate) -> CertStatus {
        if certificate.tbs_certificate.issuer != self.issuing.tbs_certificate.subject {
            return CertStatus::Unknown;
        }
        // The seal maker's certificate is the CA's own: in force while the CA is.
        self.statuses
            .get(&serial_of(certificate))
            .cloned()
            .unwrap_or(CertStatus::Unknown)
    }
}

/// The certificates a seal signature carries: the signer's and the seal maker's.
fn carried(der: &[u8]) -> Vec<Vec<u8>> {
    match mcert_ses::SignatureV4::from_der(der) {
        Ok(signature) => vec![
            signature.cert.as_bytes().to_vec(),
            signature.to_sign.eseal.cert.as_bytes().to_vec(),
        ],
        Err(_) => Vec::new(),
    }
}

/// Verifies a DER `SES_Signature`, and the document's hash when the document is given.
pub async fn verify_seal_signature(
    authority: &Authority,
    store: &dyn CertStore,
    ses_signature: &[u8],
    document: Option<&[u8]>,
) -> Result<Report, StorageError> {
    let mut registry = CaRegistry::new(authority);
    registry.look_up(store, &carried(ses_signature)).await?;
    registry.mark_maker(authority);
    let (der, document) = (ses_signature.to_vec(), document.map(<[u8]>::to_vec));
    // Hashing a document of up to 10 MiB and three SM2 checks: off the async threads.
    tokio::task::spawn_blocking(move || {
        mcert_ses::verify_signature(&der, document.as_deref(), &registry)
    })
    .await
    .map_err(|_| StorageError::Corrupt {
        what: "verification",
        detail: "the verifying task stopped".to_string(),
    })
}

impl CaRegistry {
    /// The seal maker's certificate is the CA's own, never revoked while the CA serves.
    fn mark_maker(&mut self, authority: &Authority) {
        let maker = &authority.seal_maker().certificate;
        self.statuses.insert(serial_of(maker), CertStatus::Good);
    }
}

/// The report on one signature of a stamped PDF.
#[derive(Debug, Clone)]
pub struct PdfSignatureReport {
    /// 1-based, in the file's order.
    pub index: usize,
    /// `/Name` of the signature dictionary.
    pub name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// The `signingTime` attribute, Unix seconds.
    pub signed_at: Option<i64>,
    /// The signer certificate's serial, upper-case hex.
    pub signer_serial: Option<String>,
    /// The signer certificate's subject.
    pub signer_subject: Option<String>,
    /// Valid when every check passed.
    pub verdict: Verdict,
    /// The checks, in order.
    pub checks: Vec<Check>,
}

/// The report on a stamped PDF: valid when it has a signature and every one holds.
#[derive(Debug, Clone)]
pub struct PdfReport {
    /// The verdict.
    pub verdict: Verdict,
    /// The file's SM3, hex.
    pub sm3: String,
    /// Each signature.
    pub signatures: Vec<PdfSignatureReport>,
}

fn row(code: &'static str, title_zh: &'static str, ok: bool, yes: String, no: String) -> Check {
    Check {
        code,
        outcome: if ok { Outcome::Passed } else { Outcome::Failed },
        title_zh,
        detail_zh: if ok { yes } else { no },
    }
}

/// Verifies every signature of a stamped PDF: that its byte range covers its revision, the
/// digest, the SM2 signature over the signed attributes, the signer's certificate (issued here,
/// valid and not revoked at the signing time), and that nothing but later signatures was
/// appended after it.
pub async fn verify_pdf(
    authority: &Authority,
    store: &dyn CertStore,
    pdf: &[u8],
) -> Result<Result<PdfReport, mcert_ses::pdf::PdfError>, StorageError> {
    // Parsing and hashing up to 32 signatures of a 12 MiB file: off the async threads.
    let bytes = pdf.to_vec();
    let read = tokio::task::spawn_blocking(move || mcert_ses::pdf::signatures(&bytes))
        .await
        .map_err(|_| StorageError::Corrupt {
            what: "verification",
            detail: "the verifying task stopped".to_string(),
        })?;
    let signatures = match read {
        Ok(signatures) => signatures,
        Err(e) => return Ok(Err(e)),
    };
    let mut registry = CaRegistry::new(authority);
    let signers: Vec<Vec<u8>> = signatures
        .iter()
        .map(|s| s.signer_certificate.clone())
        .collect();
    registry.look_up(store, &signers).await?;
    let covered_to = signatures.iter().map(|s| s.revision_end).max().unwrap_or(0);
    let mut reports = Vec::with_capacity(signatures.len());
    for (index, signature) in signatures.iter().enumerate() {
        let certificate = Certificate::from_der(&signature.signer_certificate).ok();
        let signed_at = signature.signing_time;
        let mut checks = vec![
            row(
                "byte_range",
                "签名范围",
                signature.covers_revision,
                "签名覆盖其所在版本的全部内容（签名值本身除外）".to_string(),
                "签名范围没有覆盖其所在版本的全部内容：文件可能被改动过".to_string(),
            ),
            row(
                "digest",
                "文件摘要",
                signature.digest_matches,
                "签名时的文件摘要（SM3）与文件内容一致".to_string(),
                "文件内容与签名时不一致：文件在盖章后被修改过".to_string(),
            ),
            row(
                "signature",
                "签章人签名",
                signature.signature_valid,
                "签章人的 SM2 签名验证通过".to_string(),
                "签章人的 SM2 签名验证失败：签名值或签名属性被改动过".to_string(),
            ),
        ];
        let issuer = certificate.as_ref().and_then(|c| registry.issuer_of(c));
        checks.push(row(
            "signer_certificate",
            "签章人证书",
            issuer.is_some(),
            format!(
                "签章人证书由本系统签发（{}）",
                issuer.clone().unwrap_or_default()
            ),
            "签章人证书不是本系统签发的，或证书已被改动".to_string(),
        ));
        let validity = match (&certificate, signed_at) {
            (Some(c), Some(at)) => {
                let from = c
                    .tbs_certificate
                    .validity
                    .not_before
                    .to_unix_duration()
                    .as_secs();
                let to = c
                    .tbs_certificate
                    .validity
                    .not_after
                    .to_unix_duration()
                    .as_secs();
                let at_u = u64::try_from(at).unwrap_or(0);
                let ok = (from..=to).contains(&at_u);
                row(
                    "validity",
                    "签章时证书有效期",
                    ok,
                    format!("签章时间（{}）在证书有效期内", mcert_ses::beijing_time(at)),
                    format!(
                        "签章时间（{}）不在证书有效期内",
                        mcert_ses::beijing_time(at)
                    ),
                )
            }
            _ => row(
                "validity",
                "签章时证书有效期",
                false,
                String::new(),
                "签名中没有签章时间或证书无法读取".to_string(),
            ),
        };
        checks.push(validity);
        let revocation = match (certificate.as_ref().map(|c| registry.status(c)), signed_at) {
            (Some(CertStatus::Good), _) => row(
                "revocation",
                "证书状态",
                true,
                "签章人证书未被吊销".to_string(),
                String::new(),
            ),
            (Some(CertStatus::Revoked { at, reason }), Some(signed)) if at > signed => row(
                "revocation",
                "证书状态",
                true,
                format!(
                    "签章人证书在签章之后（{}）因“{reason}”被吊销，签章时有效",
                    mcert_ses::beijing_time(at)
                ),
                String::new(),
            ),
            (Some(CertStatus::Revoked { at, reason }), _) => row(
                "revocation",
                "证书状态",
                false,
                String::new(),
                format!(
                    "签章人证书已于 {} 因“{reason}”被吊销，签章无效",
                    mcert_ses::beijing_time(at)
                ),
            ),
            _ => row(
                "revocation",
                "证书状态",
                false,
                String::new(),
                "签章人证书不是本系统签发的，无法确认其状态".to_string(),
            ),
        };
        checks.push(revocation);
        checks.push(row(
            "later_changes",
            "签章后的改动",
            covered_to == pdf.len(),
            if signature.revision_end == pdf.len() {
                "签章后文件没有再被改动".to_string()
            } else {
                "签章后文件只追加了后续的签章".to_string()
            },
            "签章后文件被追加了未签名的内容，请以签章时的版本为准".to_string(),
        ));
        let verdict = if checks.iter().all(|c| c.outcome == Outcome::Passed) {
            Verdict::Valid
        } else {
            Verdict::Invalid
        };
        reports.push(PdfSignatureReport {
            index: index + 1,
            name: signature.name.clone(),
            reason: signature.reason.clone(),
            signed_at,
            signer_serial: certificate.as_ref().map(serial_of),
            signer_subject: certificate
                .as_ref()
                .map(|c| c.tbs_certificate.subject.to_string()),
            verdict,
            checks,
        });
    }
    let verdict = if !reports.is_empty() && reports.iter().all(|r| r.verdict == Verdict::Valid) {
        Verdict::Valid
    } else {
        Verdict::Invalid
    };
    Ok(Ok(PdfReport {
        verdict,
        sm3: hex::encode(mcert_signer::sm3_digest(pdf)),
        signatures: reports,
    }))
}
