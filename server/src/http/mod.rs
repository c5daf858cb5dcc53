//! Thin HTTP handlers: extract, parse, call one service, respond.

pub mod health;
pub mod oauth;
pub mod openapi;
pub mod pki;

use std::sync::Arc;

use crate::{ca::Authority, kv::Kv};

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The certificate authority.
    pub authority: Arc<Authority>,
    /// Short-lived state.
    pub kv: Arc<dyn Kv>,
}
