//! Certificate profiles: policy as data. Each kind of certificate the CA makes is one
//! `Profile` value; `builder.rs` is the mechanism that turns a profile into extensions.

use std::time::Duration;

const DAY: u64 = 24 * 60 * 60;

/// What a certificate may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Signs certificates and CRLs.
    CertificateAuthority {
        /// Maximum number of CA certificates below this one (`None` = unlimited).
        path_len: Option<u8>,
    },
    /// An end entity's signing key: digitalSignature + nonRepudiation, clientAuth.
    Holder,
    /// The CA's electronic-seal maker (印章制作者, GB/T 38540): digitalSignature +
    /// nonRepudiation, for signing `SES_SealInfo`, nothing else.
    SealMaker,
}

/// A certificate kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Short name for logs and the audit log.
    pub name: &'static str,
    /// How long it is valid from issuance.
    pub validity: Duration,
    /// CA or end entity.
    pub usage: Usage,
    /// Whether to point at the CRL and the OCSP responder (end entities only: the root is
    /// trusted directly and the issuing CA is checked against nothing above).
    pub revocation_pointers: bool,
}

/// Self-signed trust anchor, 20 years.
pub const ROOT: Profile = Profile {
    name: "root",
    validity: Duration::from_secs(20 * 365 * DAY),
    usage: Usage::CertificateAuthority { path_len: Some(1) },
    revocation_pointers: false,
};

/// The CA that signs holder certificates, 10 years, signs no CA below it.
pub const ISSUING_CA: Profile = Profile {
    name: "issuing-ca",
    validity: Duration::from_secs(10 * 365 * DAY),
    usage: Usage::CertificateAuthority { path_len: Some(0) },
    revocation_pointers: false,
};

/// A phone-bound holder certificate: one year (seed 000, renewed yearly).
pub const MOBILE_HOLDER: Profile = Profile {
    name: "mobile-holder",
    validity: Duration::from_secs(365 * DAY),
    usage: Usage::Holder,
    revocation_pointers: true,
};

/// A USB-key holder certificate issued from the token's CSR: one year (seeds 001/002).
pub const PHYSICAL_HOLDER: Profile = Profile {
    name: "physical-holder",
    validity: Duration::from_secs(365 * DAY),
    usage: Usage::Holder,
    revocation_pointers: true,
};

/// The CA's seal maker: signs the employers' seals (GB/T 38540 `SESeal`), 5 years.
pub const SEAL_MAKER: Profile = Profile {
    name: "seal-maker",
    validity: Duration::from_secs(5 * 365 * DAY),
    usage: Usage::SealMaker,
    revocation_pointers: true,
};
