//! RFC 6960 OCSP answers (and RFC 5019 GET), signed directly by the issuing CA.

use chrono::{DateTime, Utc};
use der::{Decode, Encode, asn1::BitString};
use sha1::Digest as _;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse, Version,
};

use super::{CaError, CertificateStatus, oids, signer::CaSigner};

/// The most certificates one request may ask about.
pub const MAX_REQUESTS: usize = 20;
/// How long a "good" answer may be cached.
pub const ANSWER_VALIDITY: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// What the registry says about one serial.
#[derive(Debug, Clone, Copy)]
pub enum Known {
    /// Issued here and in force (or expired: OCSP speaks of revocation only).
    Good,
    /// Revoked.
    Revoked {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: super::RevocationReason,
    },
    /// Never issued (or never signed) here.
    Unknown,
}

impl Known {
    /// From a registry status.
    pub fn from_status(
        status: Option<(CertificateStatus, Option<&super::RevocationRecord>)>,
    ) -> Self {
        match status {
            Some((CertificateStatus::Active, _)) => Self::Good,
            Some((CertificateStatus::Revoked, Some(r))) => Self::Revoked {
                at: r.revoked_at,
                reason: r.reason,
            },
            _ => Self::Unknown,
        }
    }
}

/// Parses an OCSP request; `None` if it is malformed or asks too much.
pub fn parse_request(der: &[u8]) -> Option<OcspRequest> {
    let request = OcspRequest::from_der(der).ok()?;
    let count = request.tbs_request.request_list.len();
    (1..=MAX_REQUESTS).contains(&count).then_some(request)
}

/// Whether a CertID names our issuing CA (by the hashes in the algorithm it chose).
pub fn names_issuer(cert_id: &CertId, issuer: &Certificate) -> bool {
    let Ok(name_der) = issuer.tbs_certificate.subject.to_der() else {
        return false;
    };
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let hash = |data: &[u8]| -> Option<Vec<u8>> {
        let oid = cert_id.hash_algorithm.oid;
        if oid == oids::SHA1 {
            Some(sha1::Sha1::digest(data).to_vec())
        } else if oid == oids::SHA256 {
            Some(sha2::Sha256::digest(data).to_vec())
        } else if oid == oids::SM3 {
            Some(mcert_signer::sm3_digest(data).to_vec())
        } else {
            None
        }
    };
    match (hash(&name_der), hash(key)) {
        (Some(name_hash), Some(key_hash)) => {
            cert_id.issuer_name_hash.as_bytes() == name_hash.as_slice()
                && cert_id.issuer_key_hash.as_bytes() == key_hash.as_slice()
        }
        _ => false,
    }
}

/// Builds a signed successful response.
pub fn build_response(
    request: &OcspRequest,
    answers: Vec<(CertId, Known)>,
    issuer: &Certificate,
    signer: &dyn CaSigner,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, CaError> {
    let at = |t: DateTime<Utc>| -> Result<OcspGeneralizedTime, CaError> {
        let date = der::DateTime::from_unix_duration(std::time::Duration::from_secs(
            u64::try_from(t.timestamp()).map_err(|_| CaError::Crypto {
                detail: "time before 1970",
            })?,
        ))?;
        Ok(OcspGeneralizedTime::from(date))
    };
    let mut responses = Vec::with_capacity(answers.len());
    for (cert_id, known) in answers {
        let status = match known {
            Known::Good => CertStatus::good(),
            Known::Unknown => CertStatus::unknown(),
            Known::Revoked {
                at: revoked_at,
                reason,
            } => CertStatus::revoked(RevokedInfo {
                revocation_time: at(revoked_at)?,
                revocation_reason: Some(reason.crl_reason()),
            }),
        };
        responses.push(SingleResponse {
            cert_id,
            cert_status: status,
            this_update: at(now)?,
            next_update: Some(at(now + ANSWER_VALIDITY)?),
            single_extensions: None,
        });
    }
    let response_extensions = match request.nonce() {
        Some(nonce) => Some(vec![x509_cert::ext::Extension {
            extn_id: <x509_ocsp::ext::Nonce as const_oid::AssociatedOid>::OID,
            critical: false,
            extn_value: der::asn1::OctetString::new(nonce.to_der()?)?,
        }]),
        None => None,
    };
    let tbs_response_data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByName(issuer.tbs_certificate.subject.clone()),
        produced_at: at(now)?,
        responses,
        response_extensions,
    };
    let signature: BitString = signer.sign(&tbs_response_data.to_der()?)?;
    let basic = BasicOcspResponse {
        tbs_response_data,
        signature_algorithm: signer.signature_algorithm(),
        signature,
        certs: None,
    };
    Ok(OcspResponse::successful(basic)?.to_der()?)
}

/// An unsigned error response (malformedRequest, internalError, unauthorized…).
pub fn error_response(response: OcspResponse) -> Vec<u8> {
    // These fixed three-to-five-byte structures always encode.
    response
        .to_der()
        .unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, 0x02])
}
