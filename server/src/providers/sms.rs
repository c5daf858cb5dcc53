//! Text messages to a person's phone: one-time codes and notices about their application.
//!
//! The rest of the server codes against [`SmsSender`]. [`AliyunSms`] sends through Alibaba Cloud
//! SMS; [`DevSms`] is for development only and sends nothing: it logs each message and keeps the
//! most recent ones in memory for a development page to show.
//!
//! No implementation retries a failed send. Sending is not idempotent: when a request reached
//! the provider and only its answer was lost, a retry delivers the message twice, and every
//! attempt counts against the provider's per-phone limits. The caller reports the failure and
//! the person asks again.

use crate::failure::{Code, Describe, Description, code};
use std::fmt;

mod aliyun;
mod dev;

pub use self::aliyun::{AliyunSms, AliyunSmsConfig};
pub use self::dev::{DEV_SMS_CAPACITY, DevSms, SentSms};

/// The signature every message starts with. Template-based providers add their own registered
/// signature instead, so it appears only in [`SmsNotice::text_zh`].
const SIGNATURE: &str = "【数字证书认证中心】";

/// Digits in a mainland mobile number, the only kind of number messages go to.
const PHONE_DIGITS: usize = 11;

/// A message to a person, independent of the provider that delivers it.
///
/// Serialized (tagged by `kind`) in the notice outbox; one-time codes never are (see
/// [`crate::notify::NoticeDraft`]).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SmsNotice {
    /// A one-time code for logging in or confirming an action. Valid for 5 minutes (DESIGN.md
    /// §10); the text says so.
    Otp {
        /// The 6 digits. Secret until used: `Debug` does not show them.
        code: String,
    },
    /// The application for a certificate passed review; the certificate can be downloaded.
    ApplicationApproved {
        /// The employer the certificate is for.
        unit_name: String,
        /// The agent (经办人) who applied.
        agent_name: String,
        /// Whether an electronic seal was applied for too.
        seal_wanted: bool,
    },
    /// The application was sent back; the applicant corrects it and submits it again.
    ApplicationRejected {
        /// The employer the certificate is for.
        unit_name: String,
        /// The reviewer's reason, shown to the applicant as written.
        reason: String,
    },
    /// The employment platform holds several accounts for the employer's USCC: they must be
    /// merged before the application can go on (seed 000 FAQ (一)).
    MergeRequired {
        /// The employer.
        unit_name: String,
    },
    /// Something happened to the holder's certificate that a thief would do: tells the holder
    /// at once, so that what they did not do is noticed.
    CertificateChanged {
        /// The employer of the certificate.
        unit_name: String,
        /// What happened.
        change: CertificateChange,
    },
    /// The certificate expires soon (30 and 7 days before): renew it in time (年审延期).
    CertificateExpiring {
        /// The employer of the certificate.
        unit_name: String,
        /// The day it expires, as the holder reads it (2027年12月7日).
        expires_on: String,
        /// Whole days left.
        days_left: i64,
    },
    /// The employer's information change (信息变更) passed review: the employment platform gets
    /// the new details, the certificate is used as before.
    InformationChangeApproved {
        /// The employer.
        unit_name: String,
        /// What changed, as the agent reads it (单位地址、法定代表人).
        changes: String,
    },
    /// The information change was sent back; the agent submits a corrected one.
    InformationChangeRejected {
        /// The employer.
        unit_name: String,
        /// The reviewer's reason, shown to the agent as written.
        reason: String,
    },
}

/// What a [`SmsNotice::CertificateChanged`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateChange {
    /// Downloaded again on another device; the certificate on the old one is revoked.
    DownloadedAgain,
    /// Revoked (by staff, or by the holder).
    Revoked,
    /// The PIN lock was lifted.
    Unlocked,
    /// Renewed (年审延期): the certificate that follows it is in use.
    Renewed,
}

impl CertificateChange {
    /// The words after "{单位}的手机数字证书".
    fn text_zh(self) -> &'static str {
        match self {
            Self::DownloadedAgain => "已在一台新设备上重新下载，原设备上的证书已废除",
            Self::Revoked => "已废除，不能再用于登录和盖章",
            Self::Unlocked => "的 PIN 码锁定已解除",
            Self::Renewed => "已完成年审延期，有效期延长一年，请继续在本机使用",
        }
    }
}

impl SmsNotice {
    /// A short name for logs (`otp`, `application_approved`, `application_rejected`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Otp { .. } => "otp",
            Self::ApplicationApproved { .. } => "application_approved",
            Self::ApplicationRejected { .. } => "application_rejected",
            Self::MergeRequired { .. } => "merge_required",
            Self::CertificateChanged { .. } => "certificate_changed",
            Self::CertificateExpiring { .. } => "certificate_expiring",
            Self::InformationChangeApproved { .. } => "information_change_approved",
            Self::InformationChangeRejected { .. } => "information_change_rejected",
        }
    }

    /// The whole message as the person reads it, signature included.
    ///
    /// Template-based providers send [`SmsNotice::template_params`] instead; their templates
    /// are registered with the same wording (see [`AliyunSmsConfig`]).
    pub fn text_zh(&self) -> String {
        match self {
            Self::Otp { code } => {
                format!("{SIGNATURE}验证码 {code}，5 分钟内有效，请勿告诉他人。")
            }
            Self::ApplicationApproved {
                unit_name,
                agent_name,
                seal_wanted,
            } => format!(
                "{SIGNATURE}人社厅劳动就业服务局注册：{unit_name}关于{agent_name}员工申请{}成功，\
                 可以登录就业彩云南小程序进行相关业务办理，{HOTLINE}。",
                applied_for(*seal_wanted)
            ),
            Self::ApplicationRejected { unit_name, reason } => format!(
                "{SIGNATURE}{unit_name}的数字证书申请审核驳回，驳回原因：{}。请登录后根据驳回原因\
                 修改资料，重新提交审核。",
                trim_reason(reason)
            ),
            Self::MergeRequired { unit_name } => format!(
                "{SIGNATURE}{unit_name}在就业系统中存在多个单位账号，需要进行单位信息合并。请联系\
                 云南CA公司申请将多个账号合并为一个，合并后即可继续办理手机CA证书，{HOTLINE}。"
            ),
            Self::CertificateChanged { unit_name, change } => format!(
                "{SIGNATURE}{unit_name}的手机数字证书{}。如非本人操作，请立即致电{HOTLINE}。",
                change.text_zh()
            ),
            Self::CertificateExpiring {
                unit_name,
                expires_on,
                days_left,
            } => format!(
                "{SIGNATURE}{unit_name}的手机数字证书将于{expires_on}到期（剩余{days_left}天）。\
                 如需继续使用，请在到期前登录申请网页办理年审延期，{HOTLINE}。"
            ),
            Self::InformationChangeApproved { unit_name, changes } => format!(
                "{SIGNATURE}{unit_name}的单位信息变更（{changes}）已审核通过，就业系统中的单位信息\
                 将随之更新，手机数字证书不受影响，可继续使用，{HOTLINE}。"
            ),
            Self::InformationChangeRejected { unit_name, reason } => format!(
                "{SIGNATURE}{unit_name}的单位信息变更审核驳回，驳回原因：{}。请登录申请网页根据\
                 驳回原因重新提交信息变更。",
                trim_reason(reason)
            ),
        }
    }

    /// The variables of the provider template for this notice: `{"code"}` for a one-time code,
    /// `{"unit", "agent", "items"}` for an approval, `{"unit", "reason"}` for a rejection,
    /// `{"unit"}` for a merge request, `{"unit", "event"}` for a change to a certificate,
    /// `{"unit", "date", "days"}` for an expiry reminder, `{"unit", "items"}` for an approved
    /// information change and `{"unit", "reason"}` for a rejected one.
    pub fn template_params(&self) -> serde_json::Value {
        match self {
            Self::Otp { code } => serde_json::json!({ "code": code }),
            Self::ApplicationApproved {
                unit_name,
                agent_name,
                seal_wanted,
            } => serde_json::json!({
                "unit": unit_name,
                "agent": agent_name,
                "items": applied_for(*seal_wanted),
            }),
            Self::ApplicationRejected { unit_name, reason } => {
                serde_json::json!({ "unit": unit_name, "reason": trim_reason(reason) })
            }
            Self::MergeRequired { unit_name } => serde_json::json!({ "unit": unit_name }),
            Self::CertificateChanged { unit_name, change } => {
                serde_json::json!({ "unit": unit_name, "event": change.text_zh() })
            }
            Self::CertificateExpiring {
                unit_name,
                expires_on,
                days_left,
            } => serde_json::json!({
                "unit": unit_name,
                "date": expires_on,
                "days": days_left.to_string(),
            }),
            Self::InformationChangeApproved { unit_name, changes } => {
                serde_json::json!({ "unit": unit_name, "items": changes })
            }
            Self::InformationChangeRejected { unit_name, reason } => {
                serde_json::json!({ "unit": unit_name, "reason": trim_reason(reason) })
            }
        }
    }
}

/// The service hotline the seed's notices end with.
const HOTLINE: &str = "云南CA服务热线4006007210";

/// What an approved application applied for, as the seed's approval text names it.
fn applied_for(seal_wanted: bool) -> &'static str {
    if seal_wanted {
        "云南CA证书和电子印章"
    } else {
        "云南CA证书"
    }
}

/// The reason without the closing punctuation a reviewer may have typed: the text adds its own.
fn trim_reason(reason: &str) -> &str {
    reason
        .trim()
        .trim_end_matches(['。', '.', '；', ';', '，', ',', '！', '!'])
}

impl fmt::Debug for SmsNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Otp { .. } => f.debug_struct("Otp").field("code", &"[redacted]").finish(),
            Self::ApplicationApproved {
                unit_name,
                agent_name,
                seal_wanted,
            } => f
                .debug_struct("ApplicationApproved")
                .field("unit_name", unit_name)
                .field("agent_name", agent_name)
                .field("seal_wanted", seal_wanted)
                .finish(),
            Self::MergeRequired { unit_name } => f
                .debug_struct("MergeRequired")
                .field("unit_name", unit_name)
                .finish(),
            Self::CertificateChanged { unit_name, change } => f
                .debug_struct("CertificateChanged")
                .field("unit_name", unit_name)
                .field("change", change)
                .finish(),
            Self::CertificateExpiring {
                unit_name,
                expires_on,
                days_left,
            } => f
                .debug_struct("CertificateExpiring")
                .field("unit_name", unit_name)
                .field("expires_on", expires_on)
                .field("days_left", days_left)
                .finish(),
            Self::ApplicationRejected { unit_name, reason } => f
                .debug_struct("ApplicationRejected")
                .field("unit_name", unit_name)
                .field("reason", reason)
                .finish(),
            Self::InformationChangeApproved { unit_name, changes } => f
                .debug_struct("InformationChangeApproved")
                .field("unit_name", unit_name)
                .field("changes", changes)
                .finish(),
            Self::InformationChangeRejected { unit_name, reason } => f
                .debug_struct("InformationChangeRejected")
                .field("unit_name", unit_name)
                .field("reason", reason)
                .finish(),
        }
    }
}

/// Sends text messages.
#[async_trait::async_trait]
pub trait SmsSender: Send + Sync + fmt::Debug {
    /// Sends `notice` to `phone`, the 11 national digits of a mainland mobile number (as
    /// [`crate::domain::PhoneNumber::as_str`] gives them).
    ///
    /// `Ok` means the provider accepted the message, not that the phone received it. Called
    /// once per message and never retried inside (see the module documentation).
    async fn send(&self, phone: &str, notice: &SmsNotice) -> Result<(), SmsError>;
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    /// The provider answered and refused the message: too many messages to the number
    /// (`isv.BUSINESS_LIMIT_CONTROL`), a number it cannot deliver to, a signature or template it
    /// does not accept. Also given, with code [`SmsError::INVALID_PHONE`], for a phone that is
    /// not 11 digits, without asking the provider.
    #[error("the SMS provider refused the message: {code}: {message}")]
    Rejected {
        /// The provider's error code, such as `isv.BUSINESS_LIMIT_CONTROL`.
        code: String,
        /// The provider's explanation.
        message: String,
    },
    /// The provider could not be asked or its answer was not understood: timeout, connection
    /// error, HTTP 5xx, a body that is not the expected JSON. The message may or may not have
    /// been sent.
    #[error("the SMS provider is unavailable: {detail}")]
    Unavailable {
        /// What went wrong, for the logs.
        detail: String,
    },
    /// The sender is configured wrongly (missing key, template or URL) and cannot send at all.
    #[error("SMS is misconfigured: {detail}")]
    Config {
        /// What to fix.
        detail: String,
    },
}

impl SmsError {
    /// The code of [`SmsError::Rejected`] for a phone refused before any provider is asked.
    pub const INVALID_PHONE: &str = "mcert.INVALID_PHONE";

    /// A stable snake_case identifier for the JSON error body; clients may match on it.
    pub fn code(&self) -> Code {
        match self {
            Self::Rejected { code, .. } if is_rate_limit(code) => code::SMS_RATE_LIMITED,
            Self::Rejected { code, .. } if is_invalid_phone(code) => code::SMS_PHONE_INVALID,
            Self::Rejected { .. } => code::SMS_REJECTED,
            Self::Unavailable { .. } => code::SMS_UNAVAILABLE,
            Self::Config { .. } => code::SMS_MISCONFIGURED,
        }
    }

    /// A Chinese message telling the person what happened and what to do.
    pub fn message_zh(&self) -> String {
        let text = match self {
            Self::Rejected { code, .. } if is_rate_limit(code) => "短信发送过于频繁，请稍后再试",
            Self::Rejected { code, .. } if is_invalid_phone(code) => {
                "该手机号码无法接收短信，请核对是否为11位中国大陆手机号码后重新输入"
            }
            Self::Rejected { .. } => "短信发送失败，请稍后重试；如多次失败，请联系客服",
            Self::Unavailable { .. } => "短信服务暂时不可用，请稍后重试",
            Self::Config { .. } => "短信服务配置有误，暂时无法发送短信，请联系系统管理员",
        };
        text.to_owned()
    }
}

impl Describe for SmsError {
    fn describe(&self) -> Description {
        Description::new(self.code(), self.message_zh())
    }
}

/// The sender when no SMS provider is configured and development mode is off: every send is a
/// clear configuration error, never a silent drop.
#[derive(Debug, Default)]
pub struct UnconfiguredSms;

#[async_trait::async_trait]
impl SmsSender for UnconfiguredSms {
    async fn send(&self, _phone: &str, _notice: &SmsNotice) -> Result<(), SmsError> {
        Err(SmsError::Config {
            detail: "no SMS provider: configure [aliyun_sms] or turn on development mode".into(),
        })
    }
}

/// Provider codes that mean "too many messages": Alibaba's per-phone and per-day flow control
/// (`isv.BUSINESS_LIMIT_CONTROL`, `isv.DAY_LIMIT_CONTROL`) and its API gateway's `Throttling*`.
fn is_rate_limit(code: &str) -> bool {
    code.ends_with("LIMIT_CONTROL") || code.starts_with("Throttling")
}

/// Provider codes that mean the number itself is wrong.
fn is_invalid_phone(code: &str) -> bool {
    matches!(code, SmsError::INVALID_PHONE | "isv.MOBILE_NUMBER_ILLEGAL")
}

/// Refuses anything but 11 ASCII digits before a provider sees it.
fn check_phone(phone: &str) -> Result<(), SmsError> {
    if phone.len() == PHONE_DIGITS && phone.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(SmsError::Rejected {
            code: SmsError::INVALID_PHONE.to_owned(),
            message: "the phone number is not 11 digits".to_owned(),
        })
    }
}

/// The phone with all but its last 4 characters hidden, for logs: `*******5678`.
fn masked_phone(phone: &str) -> String {
    let count = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(index, c)| if index + 4 < count { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn otp() -> SmsNotice {
        SmsNotice::Otp {
            code: "123456".into(),
        }
    }

    #[test]
    fn otp_text_names_the_code_and_its_lifetime() {
        assert_eq!(
            otp().text_zh(),
            "【数字证书认证中心】验证码 123456，5 分钟内有效，请勿告诉他人。"
        );
        assert_eq!(
            otp().template_params(),
            serde_json::json!({"code": "123456"})
        );
    }

    #[test]
    fn approval_text_is_the_seeds() {
        let notice = SmsNotice::ApplicationApproved {
            unit_name: "云南信息科技有限公司".into(),
            agent_name: "张三".into(),
            seal_wanted: true,
        };
        assert_eq!(
            notice.text_zh(),
            "【数字证书认证中心】人社厅劳动就业服务局注册：云南信息科技有限公司关于张三员工申请\
             云南CA证书和电子印章成功，可以登录就业彩云南小程序进行相关业务办理，\
             云南CA服务热线4006007210。"
        );
        assert_eq!(
            notice.template_params(),
            serde_json::json!({"unit": "云南信息科技有限公司", "agent": "张三", "items": "云南CA证书和电子印章"})
        );
        let without_seal = SmsNotice::ApplicationApproved {
            unit_name: "云南信息科技有限公司".into(),
            agent_name: "张三".into(),
            seal_wanted: false,
        };
        assert!(
            without_seal
                .text_zh()
                .contains("关于张三员工申请云南CA证书成功")
        );
    }

    #[test]
    fn merge_text_asks_for_the_merge() {
        let notice = SmsNotice::MergeRequired {
            unit_name: "云南信息科技有限公司".into(),
        };
        let text = notice.text_zh();
        assert!(
            text.starts_with("【数字证书认证中心】云南信息科技有限公司在就业系统中存在多个单位账号，需要进行单位信息合并"),
            "{text}"
        );
        assert_eq!(notice.kind(), "merge_required");
    }

    #[test]
    fn certificate_changes_tell_the_holder_what_to_do() {
        for (change, words) in [
            (
                CertificateChange::DownloadedAgain,
                "已在一台新设备上重新下载，原设备上的证书已废除",
            ),
            (CertificateChange::Revoked, "已废除，不能再用于登录和盖章"),
            (CertificateChange::Unlocked, "的 PIN 码锁定已解除"),
        ] {
            let notice = SmsNotice::CertificateChanged {
                unit_name: "云南信息科技有限公司".into(),
                change,
            };
            assert_eq!(
                notice.text_zh(),
                format!(
                    "【数字证书认证中心】云南信息科技有限公司的手机数字证书{words}。如非本人操作，\
                     请立即致电云南CA服务热线4006007210。"
                )
            );
            assert_eq!(notice.template_params()["event"], words);
            assert_eq!(notice.kind(), "certificate_changed");
        }
    }

    #[test]
    fn notices_survive_the_outbox_round_trip() {
        let notices = [
            SmsNotice::ApplicationApproved {
                unit_name: "甲".into(),
                agent_name: "乙".into(),
                seal_wanted: false,
            },
            SmsNotice::ApplicationRejected {
                unit_name: "甲".into(),
                reason: "丙".into(),
            },
            SmsNotice::MergeRequired {
                unit_name: "甲".into(),
            },
            SmsNotice::CertificateChanged {
                unit_name: "甲".into(),
                change: CertificateChange::DownloadedAgain,
            },
            SmsNotice::CertificateExpiring {
                unit_name: "甲".into(),
                expires_on: "2027年12月7日".into(),
                days_left: 30,
            },
            SmsNotice::InformationChangeApproved {
                unit_name: "甲".into(),
                changes: "单位地址".into(),
            },
            SmsNotice::InformationChangeRejected {
                unit_name: "甲".into(),
                reason: "丙".into(),
            },
        ];
        for notice in notices {
            let stored = serde_json::to_value(&notice).unwrap();
            assert_eq!(stored["kind"], notice.kind());
            assert_eq!(serde_json::from_value::<SmsNotice>(stored).unwrap(), notice);
        }
    }

    #[test]
    fn information_change_texts_tell_the_outcome_and_what_follows() {
        let approved = SmsNotice::InformationChangeApproved {
            unit_name: "云南信息科技有限公司".into(),
            changes: "单位地址、法定代表人".into(),
        };
        assert_eq!(
            approved.text_zh(),
            "【数字证书认证中心】云南信息科技有限公司的单位信息变更（单位地址、法定代表人）已审核通过，\
             就业系统中的单位信息将随之更新，手机数字证书不受影响，可继续使用，\
             云南CA服务热线4006007210。"
        );
        assert_eq!(
            approved.template_params(),
            serde_json::json!({"unit": "云南信息科技有限公司", "items": "单位地址、法定代表人"})
        );
        let rejected = SmsNotice::InformationChangeRejected {
            unit_name: "云南信息科技有限公司".into(),
            reason: "营业执照不清晰。".into(),
        };
        assert_eq!(
            rejected.text_zh(),
            "【数字证书认证中心】云南信息科技有限公司的单位信息变更审核驳回，驳回原因：营业执照不清晰。\
             请登录申请网页根据驳回原因重新提交信息变更。"
        );
        assert_eq!(rejected.template_params()["reason"], "营业执照不清晰");
        assert_eq!(
            (approved.kind(), rejected.kind()),
            ("information_change_approved", "information_change_rejected")
        );
    }

    #[test]
    fn rejection_text_gives_the_reason_and_the_way_back() {
        let notice = SmsNotice::ApplicationRejected {
            unit_name: "云南信息科技有限公司".into(),
            reason: " 营业执照扫描件不清晰。 ".into(),
        };
        let text = notice.text_zh();
        assert_eq!(
            text,
            "【数字证书认证中心】云南信息科技有限公司的数字证书申请审核驳回，驳回原因：营业执照扫描件不清晰。\
             请登录后根据驳回原因修改资料，重新提交审核。"
        );
        assert!(!text.contains("。。"));
        assert_eq!(
            notice.template_params(),
            serde_json::json!({"unit": "云南信息科技有限公司", "reason": "营业执照扫描件不清晰"})
        );
    }

    #[test]
    fn debug_hides_the_code_but_not_the_notices() {
        let printed = format!("{:?}", otp());
        assert_eq!(printed, "Otp { code: \"[redacted]\" }");
        let printed = format!(
            "{:?}",
            SmsNotice::ApplicationRejected {
                unit_name: "甲".into(),
                reason: "乙".into()
            }
        );
        assert!(
            printed.contains("甲") && printed.contains("乙"),
            "{printed}"
        );
    }

    #[test]
    fn kinds_are_stable() {
        assert_eq!(otp().kind(), "otp");
        let approved = SmsNotice::ApplicationApproved {
            unit_name: String::new(),
            agent_name: String::new(),
            seal_wanted: false,
        };
        assert_eq!(approved.kind(), "application_approved");
    }

    fn rejected(code: &str) -> SmsError {
        SmsError::Rejected {
            code: code.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn rate_limits_say_too_frequent() {
        for code in [
            "isv.BUSINESS_LIMIT_CONTROL",
            "isv.DAY_LIMIT_CONTROL",
            "Throttling.User",
        ] {
            let error = rejected(code);
            assert_eq!(error.code(), "sms_rate_limited", "{code}");
            assert!(error.message_zh().contains("发送过于频繁"), "{code}");
        }
    }

    #[test]
    fn every_error_has_a_code_and_a_chinese_message() {
        let cases = [
            (rejected("isv.MOBILE_NUMBER_ILLEGAL"), "sms_phone_invalid"),
            (rejected(SmsError::INVALID_PHONE), "sms_phone_invalid"),
            (rejected("isv.BLACK_KEY_CONTROL_LIMIT"), "sms_rejected"),
            (rejected("isv.AMOUNT_NOT_ENOUGH"), "sms_rejected"),
            (
                SmsError::Unavailable {
                    detail: "timeout".into(),
                },
                "sms_unavailable",
            ),
            (
                SmsError::Config {
                    detail: "no key".into(),
                },
                "sms_misconfigured",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
            let message = error.message_zh();
            assert!(!message.is_empty() && !message.is_ascii(), "{message}");
        }
    }

    #[test]
    fn phones_are_checked_and_masked() {
        assert!(check_phone("13812345678").is_ok());
        for bad in [
            "",
            "1381234567",
            "138123456789",
            "1381234567a",
            "+8613812345",
        ] {
            let error = check_phone(bad).unwrap_err();
            assert_eq!(error.code(), "sms_phone_invalid", "{bad}");
        }
        assert_eq!(masked_phone("13812345678"), "*******5678");
        assert_eq!(masked_phone("123"), "123");
    }
}
