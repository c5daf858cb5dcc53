//! The carrier three-element check (运营商三要素核验): whether the carrier has a phone number
//! registered to the person with this name and resident ID number (DESIGN.md §10).
//!
//! The rest of the server codes against [`CarrierCheck`]. [`AliyunCarrier`] asks through Alibaba
//! Cloud's Cell Phone Number Service (号码百科); [`DevCarrier`] is for development only and says
//! so in its name, its documentation and a warning in the log on every use.
//! [`UnconfiguredCarrier`] stands in when neither is configured, failing every check clearly.
//!
//! Both check their inputs with the domain parsers first: a malformed name, ID number or phone is
//! [`CarrierError::InvalidInput`] without asking anybody.
//!
//! No check is retried. A check changes nothing, but each one is billed, the carriers refuse
//! repeated queries about one number within a short time (`RequestFrequencyLimit`), and a person
//! is waiting who can try again.

use std::fmt;

use crate::domain::{PersonName, PhoneNumber, ResidentId};
use crate::failure::{Code, Describe, Description, code};

mod aliyun;
mod dev;

pub use self::aliyun::{AliyunCarrier, AliyunCarrierConfig};
pub use self::dev::{DEV_CARRIER_INCONSISTENT_PREFIX, DEV_CARRIER_NOT_FOUND_PREFIX, DevCarrier};

/// What the carrier says about a name, ID number and phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CarrierVerdict {
    /// The phone is registered to the person with this name and ID number.
    Consistent,
    /// It is not: registered to someone else, or the name or ID number differs.
    Inconsistent,
    /// The carrier has no record of the number (empty, cancelled, or registered too recently: the
    /// carriers' data lag one to three days).
    NotFound,
}

impl CarrierVerdict {
    /// A short name for logs (`consistent`, `inconsistent`, `not_found`).
    pub fn kind(self) -> &'static str {
        match self {
            Self::Consistent => "consistent",
            Self::Inconsistent => "inconsistent",
            Self::NotFound => "not_found",
        }
    }
}

/// Asks the carrier whether a phone belongs to a person.
#[async_trait::async_trait]
pub trait CarrierCheck: Send + Sync + fmt::Debug {
    /// Whether `phone` (a mainland mobile number) is registered to the person with `name` and
    /// `id_number` (a resident ID number).
    ///
    /// One call to the provider, never retried (see the module documentation).
    async fn check(
        &self,
        name: &str,
        id_number: &str,
        phone: &str,
    ) -> Result<CarrierVerdict, CarrierError>;
}

/// Why the carrier gave no verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarrierError {
    /// The name, ID number or phone is malformed, found by the domain parsers before asking, or
    /// by the provider (`MobileNumberIllegal`, `CertCodeIllegal`).
    #[error("the name, ID number or phone is malformed: {detail}")]
    InvalidInput {
        /// What is wrong (never the value itself), for the logs.
        detail: String,
    },
    /// The carrier cannot check this number: a virtual operator's number (170, 171, 162, 165…),
    /// a number of a carrier the service does not cover (`CarrierIllegal`), or one the carrier
    /// restricts (`OperatorLimit`, `PortabilityNumberNotSupported`).
    #[error("the carrier cannot check this number: {detail}")]
    NumberUnsupported {
        /// The provider's error code and message, for the logs.
        detail: String,
    },
    /// Too many checks: of this number within a short time (`RequestFrequencyLimit`), or of any
    /// number (`Throttling.*`, `System.LimitControl`).
    #[error("carrier checks are rate limited: {detail}")]
    RateLimited {
        /// The provider's error code and message, for the logs.
        detail: String,
    },
    /// The provider could not be asked or its answer was not understood: timeout, connection
    /// error, HTTP 5xx, a system error, a body that is not the expected JSON. Trying again later
    /// may work.
    #[error("the carrier check is unavailable: {detail}")]
    Unavailable {
        /// What went wrong, for the logs.
        detail: String,
    },
    /// The provider refused the request itself: unknown AccessKey, bad signature, missing
    /// permission, an authorization code (AuthCode) that does not exist or is not for this
    /// check, any other error code. Only an administrator can fix it.
    #[error("the carrier check was refused: {detail}")]
    Refused {
        /// The provider's error code and message, for the logs.
        detail: String,
    },
    /// The check is configured wrongly (empty key or authorization code, endpoint not an
    /// http(s) URL) or not at all.
    #[error("the carrier check is misconfigured: {detail}")]
    Config {
        /// What to fix.
        detail: String,
    },
}

impl CarrierError {
    /// A stable snake_case identifier for the JSON error body; clients may match on it.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidInput { .. } => code::CARRIER_INPUT_INVALID,
            Self::NumberUnsupported { .. } => code::CARRIER_NUMBER_UNSUPPORTED,
            Self::RateLimited { .. } => code::CARRIER_RATE_LIMITED,
            Self::Unavailable { .. } => code::CARRIER_UNAVAILABLE,
            Self::Refused { .. } => code::CARRIER_REFUSED,
            Self::Config { .. } => code::CARRIER_MISCONFIGURED,
        }
    }

    /// A Chinese message telling the person what happened and what to do.
    pub fn message_zh(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "姓名、身份证号码或手机号码格式有误，请核对后重试",
            Self::NumberUnsupported { .. } => {
                "该手机号码暂不支持运营商实名核验（如虚拟运营商号码），请使用本人实名登记的中国移动、中国联通或中国电信手机号码"
            }
            Self::RateLimited { .. } => "核验过于频繁，请稍后再试",
            Self::Unavailable { .. } => "运营商核验服务暂时不可用，请稍后重试",
            Self::Refused { .. } | Self::Config { .. } => {
                "运营商核验服务暂时无法使用，请稍后重试；如多次出现，请联系客服"
            }
        }
    }
}

impl Describe for CarrierError {
    fn describe(&self) -> Description {
        Description::new(self.code(), self.message_zh())
    }
}

/// The check when no provider is configured and development mode is off: every check is a clear
/// configuration error, never a silent pass.
#[derive(Debug, Default)]
pub struct UnconfiguredCarrier;

#[async_trait::async_trait]
impl CarrierCheck for UnconfiguredCarrier {
    async fn check(
        &self,
        _name: &str,
        _id_number: &str,
        _phone: &str,
    ) -> Result<CarrierVerdict, CarrierError> {
        Err(CarrierError::Config {
            detail: "no carrier check: configure [aliyun_carrier] or turn on development mode"
                .into(),
        })
    }
}

/// The three elements, parsed.
struct Elements {
    name: PersonName,
    id_number: ResidentId,
    phone: PhoneNumber,
}

/// Parses the three elements with the domain parsers (whose errors never carry the value).
fn parse_elements(name: &str, id_number: &str, phone: &str) -> Result<Elements, CarrierError> {
    let invalid = |error: crate::domain::DomainError| CarrierError::InvalidInput {
        detail: error.to_string(),
    };
    Ok(Elements {
        name: PersonName::parse(name).map_err(invalid)?,
        id_number: ResidentId::parse(id_number).map_err(invalid)?,
        phone: PhoneNumber::parse(phone).map_err(invalid)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn detail() -> String {
        "Code: message".into()
    }

    #[test]
    fn every_error_has_a_stable_code_and_an_actionable_chinese_message() {
        let cases = [
            (
                CarrierError::InvalidInput { detail: detail() },
                "carrier_input_invalid",
                "核对",
            ),
            (
                CarrierError::NumberUnsupported { detail: detail() },
                "carrier_number_unsupported",
                "实名登记",
            ),
            (
                CarrierError::RateLimited { detail: detail() },
                "carrier_rate_limited",
                "稍后再试",
            ),
            (
                CarrierError::Unavailable { detail: detail() },
                "carrier_unavailable",
                "稍后重试",
            ),
            (
                CarrierError::Refused { detail: detail() },
                "carrier_refused",
                "联系客服",
            ),
            (
                CarrierError::Config { detail: detail() },
                "carrier_misconfigured",
                "联系客服",
            ),
        ];
        for (error, code, phrase) in cases {
            assert_eq!(error.code(), code, "{error}");
            let message = error.message_zh();
            assert!(message.contains(phrase) && !message.is_ascii(), "{message}");
        }
    }

    #[test]
    fn elements_are_parsed_and_normalised() {
        let elements = parse_elements(" 张三 ", "11010519491231002x", "+86 138-1234-5678").unwrap();
        assert_eq!(elements.name.as_str(), "张三");
        assert_eq!(elements.id_number.as_str(), "11010519491231002X");
        assert_eq!(elements.phone.as_str(), "13812345678");
    }

    #[test]
    fn malformed_elements_are_invalid_input_without_their_value() {
        for (name, id_number, phone) in [
            ("张", "11010519491231002X", "13812345678"),
            ("张三", "110105194912310020", "13812345678"),
            ("张三", "11010519491231002X", "12812345678"),
        ] {
            let Err(error) = parse_elements(name, id_number, phone) else {
                unreachable!("{name} {id_number} {phone} parsed");
            };
            assert_eq!(error.code(), "carrier_input_invalid");
            let text = error.to_string();
            assert!(
                !text.contains("1101051949") && !text.contains("12812345678"),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn unconfigured_carrier_fails_every_check_clearly() {
        let error = UnconfiguredCarrier
            .check("张三", "11010519491231002X", "13812345678")
            .await
            .unwrap_err();
        assert_eq!(error.code(), "carrier_misconfigured");
        assert!(error.to_string().contains("[aliyun_carrier]"), "{error}");
    }

    #[test]
    fn verdict_kinds_are_stable() {
        assert_eq!(CarrierVerdict::Consistent.kind(), "consistent");
        assert_eq!(CarrierVerdict::Inconsistent.kind(), "inconsistent");
        assert_eq!(CarrierVerdict::NotFound.kind(), "not_found");
    }
}
