//! The outages every provider client must meet the same way, checked by one suite: an HTML page
//! where JSON was expected (a proxy or gateway in the way, with status 200 or 502), no answer
//! before the client's timeout, and nothing listening at all. Each is the provider's
//! "unavailable, try again later" error, asked once and not retried, its detail saying what
//! happened without quoting a secret. Each client's tests run [`Outages::check`] on their calls.

use std::fmt::{Debug, Display};
use std::time::{Duration, Instant};

use mcert_testkit::{Answer, Routes, closed_port_url};

use super::HttpTimeouts;
use super::carrier::CarrierError;
use super::ocr::OcrError;
use super::sms::SmsError;
use super::wechat::WeChatError;
use crate::failure::{Code, code};

/// The timeouts of the clients under test: a provider that never answers costs a test 300 ms.
pub(crate) const SHORT_TIMEOUTS: HttpTimeouts = HttpTimeouts {
    connect: Duration::from_millis(300),
    total: Duration::from_millis(300),
};

/// What the suite needs to know of a provider's error type.
pub(crate) trait ProviderError: Debug + Display {
    /// The code of the provider's "unavailable, try again later" error.
    const UNAVAILABLE: Code;

    /// The error's code.
    fn error_code(&self) -> Code;

    /// The detail, if this is the provider's "unavailable" error.
    fn unavailable_detail(&self) -> Option<&str>;
}

impl ProviderError for SmsError {
    const UNAVAILABLE: Code = code::SMS_UNAVAILABLE;

    fn error_code(&self) -> Code {
        self.code()
    }

    fn unavailable_detail(&self) -> Option<&str> {
        match self {
            Self::Unavailable { detail } => Some(detail),
            _ => None,
        }
    }
}

impl ProviderError for CarrierError {
    const UNAVAILABLE: Code = code::CARRIER_UNAVAILABLE;

    fn error_code(&self) -> Code {
        self.code()
    }

    fn unavailable_detail(&self) -> Option<&str> {
        match self {
            Self::Unavailable { detail } => Some(detail),
            _ => None,
        }
    }
}

impl ProviderError for OcrError {
    const UNAVAILABLE: Code = code::OCR_UNAVAILABLE;

    fn error_code(&self) -> Code {
        self.code()
    }

    fn unavailable_detail(&self) -> Option<&str> {
        match self {
            Self::Unavailable { detail } => Some(detail),
            _ => None,
        }
    }
}

impl ProviderError for WeChatError {
    const UNAVAILABLE: Code = code::WECHAT_UNAVAILABLE;

    fn error_code(&self) -> Code {
        self.code()
    }

    fn unavailable_detail(&self) -> Option<&str> {
        match self {
            Self::Unavailable { detail } => Some(detail),
            _ => None,
        }
    }
}

/// The outages of one endpoint of a provider, for one call.
#[derive(Debug)]
pub(crate) struct Outages {
    method: &'static str,
    path: &'static str,
    before: Routes,
    never_quoted: Vec<&'static str>,
}

impl Outages {
    /// Outages of the endpoint `method` `path` (path without query), which the call asks once.
    pub(crate) fn at(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            before: Routes::new(),
            never_quoted: Vec::new(),
        }
    }

    /// Endpoints the call asks first, answering normally (the access token before a question).
    pub(crate) fn after(mut self, routes: Routes) -> Self {
        self.before = routes;
        self
    }

    /// Text no error may contain: secrets, and the names of parameters that carry them.
    pub(crate) fn never_quoting(mut self, texts: &[&'static str]) -> Self {
        self.never_quoted.extend_from_slice(texts);
        self
    }

    /// Checks each outage: `call` is the call under test, made by a client built with
    /// [`SHORT_TIMEOUTS`] against the base URL it is given.
    pub(crate) async fn check<T: Debug, E: ProviderError>(
        self,
        call: impl AsyncFn(&str) -> Result<T, E>,
    ) {
        const PAGE: &str = "<html>upstream error</html>";
        // The body is quoted: an HTML page read as JSON, or a 5xx with its status.
        for (answer, quoted) in [
            (Answer::html(200, PAGE), ["unreadable", "<html>"]),
            (Answer::html(502, PAGE), ["502", "<html>"]),
        ] {
            let case = format!("{answer:?}");
            let fake = self
                .before
                .clone()
                .on(self.method, self.path, [answer])
                .start()
                .await;
            let detail = self.unavailable(&case, call(fake.base_url()).await);
            for text in quoted {
                assert!(detail.contains(text), "{case}: {detail}");
            }
            let asked = fake.received_at(self.method, self.path).len();
            assert_eq!(asked, 1, "{case}: asked once, not retried");
        }

        // No answer: the client gives up on its own timeout, which the detail names.
        let fake = self
            .before
            .clone()
            .on(self.method, self.path, [Answer::Never])
            .start()
            .await;
        let started = Instant::now();
        let result = call(fake.base_url()).await;
        let elapsed = started.elapsed();
        let detail = self.unavailable("no answer", result);
        let limit = format!("no answer within {:?}", SHORT_TIMEOUTS.total);
        assert!(detail.contains(&limit), "{detail}");
        assert!(
            elapsed >= SHORT_TIMEOUTS.total - Duration::from_millis(50)
                && elapsed < Duration::from_secs(3),
            "gave up after {elapsed:?}"
        );
        let asked = fake.received_at(self.method, self.path).len();
        assert_eq!(asked, 1, "the request did arrive, once");

        // Nothing listens.
        self.unavailable("closed port", call(&closed_port_url().await).await);
    }

    /// The detail of `result`, which must be the provider's "unavailable" error quoting nothing
    /// it must not.
    fn unavailable<T: Debug, E: ProviderError>(&self, case: &str, result: Result<T, E>) -> String {
        let error = match result {
            Ok(value) => panic!("{case}: answered {value:?}"),
            Err(error) => error,
        };
        assert_eq!(error.error_code(), E::UNAVAILABLE, "{case}: {error:?}");
        let Some(detail) = error.unavailable_detail() else {
            panic!("{case}: {error:?}");
        };
        let text = error.to_string();
        for secret in &self.never_quoted {
            assert!(!text.contains(secret), "{case} quotes {secret}: {text}");
        }
        detail.to_owned()
    }
}
