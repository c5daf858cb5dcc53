//! Clients for the external services (DESIGN.md §10).
//!
//! Each service is a trait with a reqwest implementation for the real provider and a development
//! implementation that is plainly labelled as such. The reqwest clients share one construction
//! ([`http_client`]): bounded timeouts, no redirects, rustls. Whether a failed call is retried is
//! decided per call, by whether repeating it is harmless; each client documents its choice.

use std::time::Duration;

pub(crate) mod aliyun;
pub mod carrier;
pub mod ocr;
#[cfg(test)]
pub(crate) mod outages;
pub mod platform;
pub mod sms;
pub mod wechat;

/// How long a provider call may take.
///
/// The defaults suit a person waiting on a page; tests shorten them to keep a provider that never
/// answers from slowing the suite down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// Time allowed to open the TCP connection and finish the TLS handshake.
    pub connect: Duration,
    /// Time allowed for the whole call, from connecting to reading the last byte of the answer.
    pub total: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            total: Duration::from_secs(10),
        }
    }
}

/// The reqwest client every provider uses.
///
/// Redirects are not followed: provider APIs answer in place, and following one would resend a
/// signed request (and the personal data in it) to wherever the redirect points.
pub(crate) fn http_client(timeouts: HttpTimeouts) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("mcert-server/", env!("CARGO_PKG_VERSION")))
        .build()
}
