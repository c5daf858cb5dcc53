//! RFC 5280 CRLs, signed by the issuing CA.

use chrono::{DateTime, Utc};
use der::{Encode, asn1::OctetString};
use x509_cert::{
    Version,
    crl::{CertificateList, RevokedCert, TbsCertList},
    ext::{
        Extension,
        pkix::{AuthorityKeyIdentifier, CrlNumber},
    },
    serial_number::SerialNumber,
};

use super::{CaError, RevocationRecord, builder, signer::CaSigner};
use const_oid::AssociatedOid;

/// Builds and signs CRL number `number` listing `revocations`.
pub fn build_crl(
    number: i64,
    this_update: DateTime<Utc>,
    next_update: DateTime<Utc>,
    revocations: &[RevocationRecord],
    issuer: &builder::Issuer,
    signer: &dyn CaSigner,
) -> Result<Vec<u8>, CaError> {
    let mut revoked = Vec::with_capacity(revocations.len());
    for revocation in revocations {
        revoked.push(RevokedCert {
            serial_number: SerialNumber::new(revocation.serial.as_bytes())?,
            revocation_date: builder::time(revocation.revoked_at.into())?,
            crl_entry_extensions: Some(vec![Extension {
                extn_id: x509_cert::ext::pkix::crl::CrlReason::OID,
                critical: false,
                extn_value: OctetString::new(revocation.reason.crl_reason().to_der()?)?,
            }]),
        });
    }
    let number_bytes = u64::try_from(number)
        .map_err(|_| CaError::Crypto {
            detail: "CRL number",
        })?
        .to_be_bytes();
    let crl_number = CrlNumber(der::asn1::Uint::new(&number_bytes)?);
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer.key_identifier.clone())?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let tbs = TbsCertList {
        version: Version::V2,
        signature: signer.signature_algorithm(),
        issuer: issuer.name.clone(),
        this_update: builder::time(this_update.into())?,
        next_update: Some(builder::time(next_update.into())?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(vec![
            Extension {
                extn_id: AuthorityKeyIdentifier::OID,
                critical: false,
                extn_value: OctetString::new(aki.to_der()?)?,
            },
            Extension {
                extn_id: CrlNumber::OID,
                critical: false,
                extn_value: OctetString::new(crl_number.to_der()?)?,
            },
        ]),
    };
    let signature = signer.sign(&tbs.to_der()?)?;
    let list = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signer.signature_algorithm(),
        signature,
    };
    Ok(list.to_der()?)
}
