//! The certificate as an aggregate: the rules of its life that every service asks here instead
//! of deciding on its own.
//!
//! - [`Standing`]: where a certificate stands at a given time (pending, active, expired,
//!   revoked, …), the one place its status code and its Chinese label (已激活, 已废除, …) are
//!   written, and whether it may sign (log in, co-sign, be the default).
//! - [`role_of_new`]: whether a new certificate is its employer's primary (主证书) or a sub
//!   (子证书).
//! - [`superseded_by_download`]: which certificates a download on a new phone replaces.
//! - [`Primaries`]: staff choosing a new primary once the old one is revoked (no sub-certificate
//!   is promoted by itself).
//! - [`Revocations`]: 证书废除 by the agent on the application site and by staff, for a cause.
//! - [`expiry`]: which expiry reminders are due (30 and 7 days before), and their sweep.
//! - [`Renewals`]: 年审延期, from 30 days before expiry while the particulars are unchanged:
//!   the same split key under a new certificate for a mobile one (co-signed by the holder), a
//!   new CSR for a USB key (staff), and the fee a billable certificate's renewal is due.
//! - [`CertificateEvent`]: what the employment platform hears of a certificate's life.
//!
//! The stores persist what these rules decide: activation, supersession and revocation are
//! written by the store in one transaction each (`store/cert_store.rs`, `store/key_store.rs`),
//! and the per-employer serialisation under which a role is chosen is one helper
//! (`store::txn::lock_employer`). Information changes (信息变更) never touch a certificate and
//! live with the application they change (`applications::changes`).

pub mod expiry;
mod primary;
pub mod renewal;
mod revocation;
mod role;
mod standing;

use serde::{Deserialize, Serialize};

pub use primary::{AppointError, Primaries, check_appointment};
pub use renewal::{
    RenewError, RenewalDraft, RenewalParts, RenewalRecord, RenewalStore, Renewals, Renewed,
    StartedRenewal,
};
pub use revocation::{RevocationParts, Revocations, RevokeError};
pub use role::{EmployerHoldings, role_of_new};
pub use standing::{Standing, superseded_by_download};

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
