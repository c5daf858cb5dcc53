//! Certificates as the registry knows them: what happens to one in its life.

use serde::{Deserialize, Serialize};

/// What happened to a certificate, as reported to the employment platform for the certificates
/// downloaded for an approved application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateEvent {
    /// The certificate was downloaded and activated on the agent's phone.
    Activated,
    /// The certificate was revoked (by staff, or superseded by a download on a new phone).
    Revoked,
}

impl CertificateEvent {
    /// Stored and sent form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activated => "activated",
            Self::Revoked => "revoked",
        }
    }
}
