//! The mechanism that turns a profile, a subject and a key into a to-be-signed certificate,
//! and a signature into the final certificate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::{
    AssociatedOid,
    db::rfc4519::{COMMON_NAME, COUNTRY_NAME, ORGANIZATION_NAME},
    db::rfc5280::{ID_AD_OCSP, ID_KP_CLIENT_AUTH},
};
use der::{
    Any, Encode,
    asn1::{Ia5String, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef},
};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::{
    Certificate, TbsCertificate, Version,
    attr::AttributeTypeAndValue,
    ext::{
        Extension,
        pkix::{
            AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
            CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
            crl::dp::DistributionPoint,
            name::{DistributionPointName, GeneralName},
        },
    },
    name::{Name, RdnSequence, RelativeDistinguishedName},
    serial_number::SerialNumber,
    time::{Time, Validity},
};

use super::{
    CaError, oids,
    profile::{Profile, Usage},
    signer::CaSigner,
};
use crate::domain::CertificateSerial;

/// The subject of a certificate, as the CA writes it.
#[derive(Debug, Clone)]
pub enum Subject<'a> {
    /// A CA: `C=CN, O=…, CN=…`.
    Authority {
        /// Organisation running the CA.
        organization: &'a str,
        /// The CA's name.
        common_name: &'a str,
    },
    /// A holder: `C=CN, O=employer, organizationIdentifier=USCC, CN=holder name`.
    Holder {
        /// Employer name.
        unit_name: &'a str,
        /// Unified social credit code.
        uscc: &'a str,
        /// Holder's name.
        holder_name: &'a str,
    },
}

impl Subject<'_> {
    /// Encodes the distinguished name (UTF8String values; C as PrintableString).
    pub fn to_name(&self) -> Result<Name, CaError> {
        let mut rdns = vec![rdn(
            COUNTRY_NAME,
            Any::encode_from(&PrintableStringRef::new("CN")?)?,
        )?];
        let utf8 =
            |s: &str| -> Result<Any, CaError> { Ok(Any::encode_from(&Utf8StringRef::new(s)?)?) };
        match self {
            Subject::Authority {
                organization,
                common_name,
            } => {
                rdns.push(rdn(ORGANIZATION_NAME, utf8(organization)?)?);
                rdns.push(rdn(COMMON_NAME, utf8(common_name)?)?);
            }
            Subject::Holder {
                unit_name,
                uscc,
                holder_name,
            } => {
                rdns.push(rdn(ORGANIZATION_NAME, utf8(unit_name)?)?);
                rdns.push(rdn(oids::ORGANIZATION_IDENTIFIER, utf8(uscc)?)?);
                rdns.push(rdn(COMMON_NAME, utf8(holder_name)?)?);
            }
        }
        Ok(RdnSequence(rdns))
    }
}

fn rdn(oid: der::asn1::ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, CaError> {
    let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])?;
    Ok(RelativeDistinguishedName(set))
}

/// Who signs: the issuer's name and key identifier (its own, for a self-signed root).
#[derive(Debug, Clone)]
pub struct Issuer {
    /// Issuer distinguished name.
    pub name: Name,
    /// Issuer subject key identifier.
    pub key_identifier: Vec<u8>,
}

/// Where relying parties find revocation status.
#[derive(Debug, Clone)]
pub struct RevocationUrls {
    /// CRL distribution point.
    pub crl: String,
    /// OCSP responder.
    pub ocsp: String,
}

/// Key identifier: the leftmost 160 bits of the SM3 hash of the subjectPublicKey bits
/// (RFC 7093 method 1 with SM3 in place of SHA-256, as GM/T 0015 profiles use SM3).
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let digest = mcert_signer::sm3_digest(spki.subject_public_key.raw_bytes());
    digest[..20].to_vec()
}

/// Everything needed to build one certificate.
#[derive(Debug)]
pub struct TbsRequest<'a> {
    /// The kind.
    pub profile: &'a Profile,
    /// Serial number.
    pub serial: &'a CertificateSerial,
    /// Subject name.
    pub subject: Name,
    /// Subject key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// Issuer.
    pub issuer: &'a Issuer,
    /// Start of validity (issuance time).
    pub not_before: SystemTime,
    /// End of validity, when not the profile's span from `not_before` (a renewal runs until a
    /// year after the certificate it follows).
    pub until: Option<SystemTime>,
    /// Revocation pointers, for profiles that carry them.
    pub urls: Option<&'a RevocationUrls>,
}

/// Builds the to-be-signed certificate. Validity runs from `not_before` for the profile's span,
/// or `until`.
pub fn build_tbs(
    request: TbsRequest<'_>,
    signer: &dyn CaSigner,
) -> Result<TbsCertificate, CaError> {
    let profile = request.profile;
    let not_after = request
        .until
        .unwrap_or(request.not_before + profile.validity);
    let mut extensions = Vec::new();
    match profile.usage {
        Usage::CertificateAuthority { path_len } => {
            extensions.push(extension(
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: path_len,
                },
                true,
            )?);
            extensions.push(extension(
                &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                true,
            )?);
        }
        Usage::Holder | Usage::SealMaker => {
            extensions.push(extension(
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                true,
            )?);
            extensions.push(extension(
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
                true,
            )?);
            // A holder authenticates to portals; the seal maker signs seals and nothing else.
            if profile.usage == Usage::Holder {
                extensions.push(extension(
                    &ExtendedKeyUsage(vec![ID_KP_CLIENT_AUTH]),
                    false,
                )?);
            }
        }
    }
    let ski = key_identifier(&request.public_key);
    extensions.push(extension(
        &SubjectKeyIdentifier(OctetString::new(ski)?),
        false,
    )?);
    extensions.push(extension(
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(request.issuer.key_identifier.clone())?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
        false,
    )?);
    if let (true, Some(urls)) = (profile.revocation_pointers, request.urls) {
        extensions.push(extension(
            &CrlDistributionPoints(vec![DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(&urls.crl)?])),
                reasons: None,
                crl_issuer: None,
            }]),
            false,
        )?);
        extensions.push(extension(
            &AuthorityInfoAccessSyntax(vec![AccessDescription {
                access_method: ID_AD_OCSP,
                access_location: uri(&urls.ocsp)?,
            }]),
            false,
        )?);
    }
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(request.serial.as_bytes())?,
        signature: signer.signature_algorithm(),
        issuer: request.issuer.name.clone(),
        validity: Validity {
            not_before: time(request.not_before)?,
            not_after: time(not_after)?,
        },
        subject: request.subject,
        subject_public_key_info: request.public_key,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

/// Signs a to-be-signed certificate.
pub fn sign_certificate(
    tbs: TbsCertificate,
    signer: &dyn CaSigner,
) -> Result<Certificate, CaError> {
    let signature = signer.sign(&tbs.to_der()?)?;
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: signer.signature_algorithm(),
        signature,
    })
}

fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn uri(url: &str) -> Result<GeneralName, CaError> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(url)?))
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds.
pub fn time(at: SystemTime) -> Result<Time, CaError> {
    let since_epoch = at.duration_since(UNIX_EPOCH).map_err(|_| CaError::Crypto {
        detail: "clock before 1970",
    })?;
    let whole = Duration::from_secs(since_epoch.as_secs());
    let date = der::DateTime::from_unix_duration(whole)?;
    Ok(if date.year() < 2050 {
        Time::UtcTime(der::asn1::UtcTime::from_date_time(date)?)
    } else {
        Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(date))
    })
}
