//! Thin HTTP handlers: extract, parse, call one service, respond.

pub mod dev;
pub mod health;
pub mod keys;
pub mod oauth;
pub mod openapi;
pub mod pki;

use std::sync::Arc;

use crate::{
    ca::{Authority, CertStore},
    enrol::Enrolment,
    kv::Kv,
};

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The certificate authority.
    pub authority: Arc<Authority>,
    /// The registry behind the CA.
    pub store: Arc<dyn CertStore>,
    /// Short-lived state.
    pub kv: Arc<dyn Kv>,
    /// Split-key enrolment, co-signing and PIN checks.
    pub enrolment: Arc<Enrolment>,
}
