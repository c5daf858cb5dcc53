//! Alibaba Cloud SMS: the `SendSms` action of `dysmsapi` (API version 2017-05-25).
//!
//! An RPC-style call: every parameter, including the signature, goes in one
//! `application/x-www-form-urlencoded` POST body to the endpoint's root, signed as
//! [`crate::providers::aliyun`] describes.
//!
//! A request is sent once and never retried: see the [parent module](super).

use std::collections::BTreeMap;
use std::fmt;

use chrono::Utc;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{SmsError, SmsNotice, SmsSender, check_phone, masked_phone};
use crate::providers::aliyun::{self, excerpt};
use crate::providers::{HttpTimeouts, http_client};
use crate::telemetry::error_chain;

/// Where `SendSms` is served.
const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com/";
/// The `dysmsapi` version whose `SendSms` this implements.
const API_VERSION: &str = "2017-05-25";
/// SMS is a single-region service; Alibaba documents `cn-hangzhou` for every caller.
const REGION_ID: &str = "cn-hangzhou";
/// `Code` of an accepted message.
const ACCEPTED: &str = "OK";

/// The Alibaba Cloud SMS account and the templates registered in it.
///
/// The signature and the templates must be approved in the Alibaba Cloud console before
/// use. The templates take the variables of [`SmsNotice::template_params`] and are registered
/// with the wording of [`SmsNotice::text_zh`] (without the `【数字证书认证中心】` prefix, which
/// the signature replaces):
///
/// - `otp_template` (验证码): `验证码 ${code}，5 分钟内有效，请勿告诉他人。`
/// - `approved_template` (通知): `人社厅劳动就业服务局注册：${unit}关于${agent}员工申请${items}成功，可以登录就业彩云南小程序进行相关业务办理，云南CA服务热线4006007210。`
/// - `rejected_template` (通知): `${unit}的数字证书申请审核驳回，驳回原因：${reason}。请登录后根据驳回原因修改资料，重新提交审核。`
/// - `merge_template` (通知): `${unit}在就业系统中存在多个单位账号，需要进行单位信息合并。请联系云南CA公司申请将多个账号合并为一个，合并后即可继续办理手机CA证书，云南CA服务热线4006007210。`
/// - `certificate_template` (通知): `${unit}的手机数字证书${event}。如非本人操作，请立即致电云南CA服务热线4006007210。`
/// - `expiry_template` (通知): `${unit}的手机数字证书将于${date}到期（剩余${days}天）。如需继续使用，请在到期前登录申请网页办理年审延期，云南CA服务热线4006007210。`
/// - `change_approved_template` (通知): `${unit}的单位信息变更（${items}）已审核通过，就业系统中的单位信息将随之更新，手机数字证书不受影响，可继续使用，云南CA服务热线4006007210。`
/// - `change_rejected_template` (通知): `${unit}的单位信息变更审核驳回，驳回原因：${reason}。请登录申请网页根据驳回原因重新提交信息变更。`
///
/// Alibaba limits the length of a variable's value; a reason longer than the template allows
/// is refused (`isv.PARAM_LENGTH_LIMIT`), so reviewers keep reasons short.
#[derive(Clone, Deserialize)]
pub struct AliyunSmsConfig {
    /// The RAM user's AccessKey ID (it needs only `dysms:SendSms`).
    pub access_key_id: String,
    /// The matching AccessKey secret.
    pub access_key_secret: SecretString,
    /// The approved signature name shown as `【…】` at the start of every message.
    pub sign_name: String,
    /// Template code (`SMS_…`) for one-time codes.
    pub otp_template: String,
    /// Template code for "application approved".
    pub approved_template: String,
    /// Template code for "application rejected".
    pub rejected_template: String,
    /// Template code for "accounts must be merged".
    pub merge_template: String,
    /// Template code for "your certificate was downloaded again / revoked / unlocked".
    pub certificate_template: String,
    /// Template code for "your certificate expires on …".
    pub expiry_template: String,
    /// Template code for "your information change was approved".
    pub change_approved_template: String,
    /// Template code for "your information change was rejected".
    pub change_rejected_template: String,
    /// Endpoint to call instead of `https://dysmsapi.aliyuncs.com/` (tests, proxies).
    #[serde(default)]
    pub base_url: Option<String>,
}

impl fmt::Debug for AliyunSmsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunSmsConfig")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .field("sign_name", &self.sign_name)
            .field("otp_template", &self.otp_template)
            .field("approved_template", &self.approved_template)
            .field("rejected_template", &self.rejected_template)
            .field("merge_template", &self.merge_template)
            .field("certificate_template", &self.certificate_template)
            .field("expiry_template", &self.expiry_template)
            .field("change_approved_template", &self.change_approved_template)
            .field("change_rejected_template", &self.change_rejected_template)
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// Sends messages through Alibaba Cloud SMS.
pub struct AliyunSms {
    client: reqwest::Client,
    endpoint: Url,
    timeouts: HttpTimeouts,
    access_key_id: String,
    access_key_secret: SecretString,
    sign_name: String,
    otp_template: String,
    approved_template: String,
    rejected_template: String,
    merge_template: String,
    certificate_template: String,
    expiry_template: String,
    change_approved_template: String,
    change_rejected_template: String,
}

impl AliyunSms {
    /// A sender with the default timeouts (connect 3 s, whole call 10 s).
    ///
    /// # Errors
    ///
    /// [`SmsError::Config`] when a field is empty or `base_url` is not an http(s) URL.
    pub fn new(config: AliyunSmsConfig) -> Result<Self, SmsError> {
        Self::with_timeouts(config, HttpTimeouts::default())
    }

    /// A sender with the given timeouts.
    ///
    /// # Errors
    ///
    /// As [`AliyunSms::new`].
    pub fn with_timeouts(
        config: AliyunSmsConfig,
        timeouts: HttpTimeouts,
    ) -> Result<Self, SmsError> {
        let required = [
            ("access_key_id", config.access_key_id.as_str()),
            (
                "access_key_secret",
                config.access_key_secret.expose_secret(),
            ),
            ("sign_name", config.sign_name.as_str()),
            ("otp_template", config.otp_template.as_str()),
            ("approved_template", config.approved_template.as_str()),
            ("rejected_template", config.rejected_template.as_str()),
            ("merge_template", config.merge_template.as_str()),
            ("certificate_template", config.certificate_template.as_str()),
            ("expiry_template", config.expiry_template.as_str()),
            (
                "change_approved_template",
                config.change_approved_template.as_str(),
            ),
            (
                "change_rejected_template",
                config.change_rejected_template.as_str(),
            ),
        ];
        if let Some((name, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
            return Err(SmsError::Config {
                detail: format!("Aliyun SMS: {name} is empty"),
            });
        }

        let base_url = config.base_url.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        let endpoint = Url::parse(base_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.has_host())
            .ok_or_else(|| SmsError::Config {
                detail: format!("Aliyun SMS: base_url {base_url:?} is not an http(s) URL"),
            })?;
        let client = http_client(timeouts).map_err(|e| SmsError::Config {
            detail: format!(
                "Aliyun SMS: cannot build the HTTP client: {}",
                error_chain(&e)
            ),
        })?;

        Ok(Self {
            client,
            endpoint,
            timeouts,
            access_key_id: config.access_key_id,
            access_key_secret: config.access_key_secret,
            sign_name: config.sign_name,
            otp_template: config.otp_template,
            approved_template: config.approved_template,
            rejected_template: config.rejected_template,
            merge_template: config.merge_template,
            certificate_template: config.certificate_template,
            expiry_template: config.expiry_template,
            change_approved_template: config.change_approved_template,
            change_rejected_template: config.change_rejected_template,
        })
    }

    fn template(&self, notice: &SmsNotice) -> &str {
        match notice {
            SmsNotice::Otp { .. } => &self.otp_template,
            SmsNotice::ApplicationApproved { .. } => &self.approved_template,
            SmsNotice::ApplicationRejected { .. } => &self.rejected_template,
            SmsNotice::MergeRequired { .. } => &self.merge_template,
            SmsNotice::CertificateChanged { .. } => &self.certificate_template,
            SmsNotice::CertificateExpiring { .. } => &self.expiry_template,
            SmsNotice::InformationChangeApproved { .. } => &self.change_approved_template,
            SmsNotice::InformationChangeRejected { .. } => &self.change_rejected_template,
        }
    }

    /// Every `SendSms` parameter except `Signature`, sorted by name as signing requires.
    fn parameters(
        &self,
        phone: &str,
        notice: &SmsNotice,
        nonce: &str,
        timestamp: &str,
    ) -> BTreeMap<&'static str, String> {
        let mut parameters = aliyun::common_parameters(
            "SendSms",
            API_VERSION,
            &self.access_key_id,
            nonce,
            timestamp,
        );
        parameters.extend([
            ("PhoneNumbers", phone.to_owned()),
            ("RegionId", REGION_ID.to_owned()),
            ("SignName", self.sign_name.clone()),
            ("TemplateCode", self.template(notice).to_owned()),
            ("TemplateParam", notice.template_params().to_string()),
        ]);
        parameters
    }

    /// The form body: the canonical query plus its `Signature`.
    fn signed_body(&self, parameters: &BTreeMap<&'static str, String>) -> Result<String, SmsError> {
        aliyun::signed_query("POST", parameters, &self.access_key_secret).map_err(|e| {
            SmsError::Config {
                detail: format!("Aliyun SMS: unusable AccessKey secret: {e}"),
            }
        })
    }

    fn transport_error(&self, error: &reqwest::Error) -> SmsError {
        SmsError::Unavailable {
            detail: aliyun::transport_detail(error, self.timeouts),
        }
    }
}

impl fmt::Debug for AliyunSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunSms")
            .field("endpoint", &self.endpoint.as_str())
            .field("timeouts", &self.timeouts)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .field("sign_name", &self.sign_name)
            .field("otp_template", &self.otp_template)
            .field("approved_template", &self.approved_template)
            .field("rejected_template", &self.rejected_template)
            .field("merge_template", &self.merge_template)
            .field("certificate_template", &self.certificate_template)
            .field("expiry_template", &self.expiry_template)
            .field("change_approved_template", &self.change_approved_template)
            .field("change_rejected_template", &self.change_rejected_template)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SmsSender for AliyunSms {
    #[tracing::instrument(
        name = "sms.aliyun.send",
        skip_all,
        fields(phone = %masked_phone(phone), notice = notice.kind())
    )]
    async fn send(&self, phone: &str, notice: &SmsNotice) -> Result<(), SmsError> {
        check_phone(phone)?;
        let nonce = aliyun::new_nonce();
        // The wall clock, not the server's Clock: Alibaba Cloud checks the signed Timestamp
        // against real time.
        let timestamp = aliyun::timestamp(Utc::now());
        let body = self.signed_body(&self.parameters(phone, notice, &nonce, &timestamp))?;

        // Sent once: a retry after a lost answer would deliver the message twice.
        let response = self
            .client
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;

        match interpret(status, &body) {
            Ok(reply) => {
                tracing::info!(
                    request_id = %reply.request_id,
                    biz_id = %reply.biz_id,
                    "SMS accepted by Aliyun"
                );
                Ok(())
            }
            Err(error) => {
                tracing::warn!(error = %error, "SMS not sent");
                Err(error)
            }
        }
    }
}

/// The JSON answer of `SendSms`, on success and on refusal alike.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendSmsReply {
    /// `OK`, or the reason for refusing, such as `isv.BUSINESS_LIMIT_CONTROL`.
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    request_id: String,
    /// The receipt id of an accepted message.
    #[serde(default)]
    biz_id: String,
}

/// Reads an answer: `OK` is accepted, any other `Code` is a refusal, and a 5xx or a body that is
/// not the expected JSON means the service is unavailable. Alibaba answers refusals it decides at
/// the gateway (a bad signature, an unknown AccessKey) with 4xx and the same JSON shape.
fn interpret(status: StatusCode, body: &[u8]) -> Result<SendSmsReply, SmsError> {
    if status.is_server_error() {
        return Err(SmsError::Unavailable {
            detail: format!("HTTP {status}: {}", excerpt(body)),
        });
    }
    let reply: SendSmsReply = serde_json::from_slice(body).map_err(|e| SmsError::Unavailable {
        detail: format!("HTTP {status}, unreadable answer ({e}): {}", excerpt(body)),
    })?;
    if reply.code != ACCEPTED {
        return Err(SmsError::Rejected {
            code: reply.code,
            message: format!("{} (RequestId {})", reply.message, reply.request_id),
        });
    }
    if !status.is_success() {
        return Err(SmsError::Unavailable {
            detail: format!("HTTP {status} with Code OK"),
        });
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mcert_testkit::{Answer, FakeHttp, Received};

    use super::*;
    use crate::providers::aliyun::{TIMESTAMP_FORMAT, canonical_query, sign, string_to_sign};
    use crate::providers::outages::{Outages, SHORT_TIMEOUTS};

    // The signature's known answers are in `crate::providers::aliyun`.

    // ----- Reading answers ------------------------------------------------------------------

    #[test]
    fn interprets_answers() {
        let ok = br#"{"Code":"OK","Message":"OK","RequestId":"r","BizId":"b"}"#;
        let reply = interpret(StatusCode::OK, ok).unwrap();
        assert_eq!(
            (reply.request_id.as_str(), reply.biz_id.as_str()),
            ("r", "b")
        );

        let denied = br#"{"Code":"SignatureDoesNotMatch","Message":"bad","RequestId":"r"}"#;
        match interpret(StatusCode::BAD_REQUEST, denied) {
            Err(SmsError::Rejected { code, message }) => {
                assert_eq!(code, "SignatureDoesNotMatch");
                assert!(message.contains("bad") && message.contains("RequestId r"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            interpret(StatusCode::SERVICE_UNAVAILABLE, ok),
            Err(SmsError::Unavailable { .. })
        ));
        assert!(matches!(
            interpret(StatusCode::OK, b"{\"Message\":\"no code\"}"),
            Err(SmsError::Unavailable { .. })
        ));
        assert!(matches!(
            interpret(StatusCode::FOUND, ok),
            Err(SmsError::Unavailable { .. })
        ));
    }

    // ----- Configuration --------------------------------------------------------------------

    const SECRET: &str = "s3cr3t-AccessKey+secret/value";

    fn config(base_url: Option<String>) -> AliyunSmsConfig {
        AliyunSmsConfig {
            access_key_id: "LTAI-test-id".into(),
            access_key_secret: SecretString::from(SECRET),
            sign_name: "云南 CA*测试".into(),
            otp_template: "SMS_100001".into(),
            approved_template: "SMS_100002".into(),
            rejected_template: "SMS_100003".into(),
            merge_template: "SMS_100004".into(),
            certificate_template: "SMS_100005".into(),
            expiry_template: "SMS_100006".into(),
            change_approved_template: "SMS_100007".into(),
            change_rejected_template: "SMS_100008".into(),
            base_url,
        }
    }

    #[test]
    fn refuses_incomplete_configuration() {
        let mut empty_key = config(None);
        empty_key.access_key_secret = SecretString::from(" ");
        let mut no_template = config(None);
        no_template.rejected_template = String::new();
        for (config, field) in [
            (empty_key, "access_key_secret"),
            (no_template, "rejected_template"),
            (config(Some("ftp://example.com/".into())), "base_url"),
            (config(Some("not a url".into())), "base_url"),
        ] {
            match AliyunSms::new(config) {
                Err(error @ SmsError::Config { .. }) => {
                    assert!(error.to_string().contains(field), "{error}");
                    assert_eq!(error.code(), "sms_misconfigured");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let sender = AliyunSms::new(config(None)).unwrap();
        assert_eq!(sender.endpoint.as_str(), DEFAULT_ENDPOINT);
        assert_eq!(sender.timeouts, HttpTimeouts::default());
    }

    #[test]
    fn configuration_deserialises_and_debug_hides_the_secret() {
        let config: AliyunSmsConfig = serde_json::from_value(serde_json::json!({
            "access_key_id": "LTAI-test-id",
            "access_key_secret": SECRET,
            "sign_name": "mcert",
            "otp_template": "SMS_1",
            "approved_template": "SMS_2",
            "rejected_template": "SMS_3",
            "merge_template": "SMS_4",
            "certificate_template": "SMS_5",
            "expiry_template": "SMS_6",
            "change_approved_template": "SMS_7",
            "change_rejected_template": "SMS_8",
        }))
        .unwrap();
        assert!(config.base_url.is_none());
        let printed = format!("{config:?}");
        assert!(
            !printed.contains(SECRET) && printed.contains("[redacted]"),
            "{printed}"
        );
        let printed = format!("{:?}", AliyunSms::new(config).unwrap());
        assert!(
            !printed.contains(SECRET) && printed.contains("LTAI-test-id"),
            "{printed}"
        );
    }

    // ----- Against a fake Aliyun on loopback ------------------------------------------------

    fn sender_for(fake: &FakeHttp, timeouts: HttpTimeouts) -> AliyunSms {
        AliyunSms::with_timeouts(config(Some(fake.base_url().to_owned())), timeouts).unwrap()
    }

    const PHONE: &str = "13812345678";
    const ACCEPTED_REPLY: &str = r#"{"Code":"OK","Message":"OK","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990","BizId":"900619746936498440^0"}"#;

    async fn send_one(answer: Answer) -> (Result<(), SmsError>, Vec<Received>) {
        let fake = FakeHttp::start(answer).await;
        let result = sender_for(&fake, SHORT_TIMEOUTS)
            .send(
                PHONE,
                &SmsNotice::Otp {
                    code: "123456".into(),
                },
            )
            .await;
        (result, fake.received())
    }

    #[tokio::test]
    async fn sends_a_complete_form_whose_signature_verifies() {
        let fake = FakeHttp::start(Answer::json(200, ACCEPTED_REPLY)).await;
        let sender = sender_for(&fake, HttpTimeouts::default());
        let notices = [
            SmsNotice::Otp {
                code: "123456".into(),
            },
            SmsNotice::ApplicationApproved {
                unit_name: "云南信息科技有限公司".into(),
                agent_name: "张三".into(),
                seal_wanted: true,
            },
            SmsNotice::ApplicationRejected {
                unit_name: "云南信息科技有限公司".into(),
                reason: "营业执照扫描件不清晰 & 需重新上传*".into(),
            },
            SmsNotice::MergeRequired {
                unit_name: "云南信息科技有限公司".into(),
            },
        ];
        // The signed Timestamp is the wall clock's.
        let before = Utc::now() - chrono::Duration::seconds(1);
        for notice in &notices {
            sender.send(PHONE, notice).await.unwrap();
        }
        let after = Utc::now() + chrono::Duration::seconds(1);

        let received = fake.received();
        assert_eq!(received.len(), notices.len());
        let mut nonces = Vec::new();
        for ((request, notice), template) in received.iter().zip(&notices).zip([
            "SMS_100001",
            "SMS_100002",
            "SMS_100003",
            "SMS_100004",
        ]) {
            // Everything travels in the body; the URL carries no parameter and no signature.
            assert_eq!(request.method, "POST");
            assert_eq!(request.target, "/", "no parameter travels in the URL");
            assert_eq!(
                request.header("content-type"),
                Some("application/x-www-form-urlencoded")
            );
            assert!(!request.body_text().contains(SECRET));

            let mut form = request.form();
            let names: Vec<&str> = form.keys().map(String::as_str).collect();
            assert_eq!(
                names,
                [
                    "AccessKeyId",
                    "Action",
                    "Format",
                    "PhoneNumbers",
                    "RegionId",
                    "SignName",
                    "Signature",
                    "SignatureMethod",
                    "SignatureNonce",
                    "SignatureVersion",
                    "TemplateCode",
                    "TemplateParam",
                    "Timestamp",
                    "Version",
                ]
            );
            assert_eq!(form["AccessKeyId"], "LTAI-test-id");
            assert_eq!(form["Action"], "SendSms");
            assert_eq!(form["Format"], "JSON");
            assert_eq!(form["PhoneNumbers"], PHONE);
            assert_eq!(form["RegionId"], "cn-hangzhou");
            assert_eq!(form["SignName"], "云南 CA*测试");
            assert_eq!(form["SignatureMethod"], "HMAC-SHA1");
            assert_eq!(form["SignatureVersion"], "1.0");
            assert_eq!(form["Version"], "2017-05-25");
            assert_eq!(form["TemplateCode"], template);
            let params: serde_json::Value = serde_json::from_str(&form["TemplateParam"]).unwrap();
            assert_eq!(params, notice.template_params());
            assert!(uuid::Uuid::parse_str(&form["SignatureNonce"]).is_ok());
            nonces.push(form["SignatureNonce"].clone());

            let timestamp =
                chrono::NaiveDateTime::parse_from_str(&form["Timestamp"], TIMESTAMP_FORMAT)
                    .unwrap()
                    .and_utc();
            assert_eq!(form["Timestamp"].len(), "2017-07-12T02:42:19Z".len());
            assert!(before <= timestamp && timestamp <= after, "{timestamp}");

            // Recompute the signature from what arrived, the way Aliyun checks it.
            let signature = form.remove("Signature").unwrap();
            let signed: BTreeMap<&str, String> =
                form.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            let expected = sign(
                &SecretString::from(SECRET),
                &string_to_sign("POST", &canonical_query(&signed)),
            )
            .unwrap();
            assert_eq!(signature, expected);
        }
        nonces.sort();
        nonces.dedup();
        assert_eq!(nonces.len(), notices.len(), "a nonce was reused");
    }

    #[tokio::test]
    async fn rate_limit_is_a_rejection_that_says_too_frequent() {
        let (result, received) = send_one(Answer::json(200, r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1","RequestId":"A1"}"#))
        .await;
        assert_eq!(received.len(), 1, "sent exactly once");
        let error = result.unwrap_err();
        match &error {
            SmsError::Rejected { code, message } => {
                assert_eq!(code, "isv.BUSINESS_LIMIT_CONTROL");
                assert!(
                    message.contains("Permits:1") && message.contains("A1"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(error.code(), "sms_rate_limited");
        assert!(error.message_zh().contains("发送过于频繁"));
    }

    #[tokio::test]
    async fn an_invalid_number_is_a_rejection() {
        let (result, _) = send_one(Answer::json(
            200,
            r#"{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号","RequestId":"A2"}"#,
        ))
        .await;
        let error = result.unwrap_err();
        assert!(matches!(error, SmsError::Rejected { .. }), "{error:?}");
        assert_eq!(error.code(), "sms_phone_invalid");
    }

    #[tokio::test]
    async fn a_gateway_refusal_with_4xx_is_a_rejection() {
        let (result, _) = send_one(Answer::json(400, r#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation.","RequestId":"A3"}"#))
        .await;
        let error = result.unwrap_err();
        assert!(
            matches!(&error, SmsError::Rejected { code, .. } if code == "SignatureDoesNotMatch"),
            "{error:?}"
        );
        assert_eq!(error.code(), "sms_rejected");
    }

    #[tokio::test]
    async fn http_500_is_unavailable_and_not_retried() {
        let (result, received) = send_one(Answer::json(
            500,
            r#"{"Code":"isp.SYSTEM_ERROR","Message":"boom"}"#,
        ))
        .await;
        let error = result.unwrap_err();
        match &error {
            SmsError::Unavailable { detail } => assert!(detail.contains("500"), "{detail}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(error.code(), "sms_unavailable");
        assert_eq!(received.len(), 1, "no retry");
    }

    /// An HTML page (status 200 or 502), no answer in time, a closed port.
    #[tokio::test]
    async fn outages_are_unavailable() {
        let notice = SmsNotice::Otp {
            code: "123456".into(),
        };
        Outages::at("POST", "/")
            .never_quoting(&[SECRET])
            .check(async |base| {
                AliyunSms::with_timeouts(config(Some(base.to_owned())), SHORT_TIMEOUTS)
                    .unwrap()
                    .send(PHONE, &notice)
                    .await
            })
            .await;
    }

    #[tokio::test]
    async fn a_malformed_phone_never_reaches_the_provider() {
        let fake = FakeHttp::start(Answer::json(200, ACCEPTED_REPLY)).await;
        let error = sender_for(&fake, SHORT_TIMEOUTS)
            .send(
                "1381234567",
                &SmsNotice::Otp {
                    code: "123456".into(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "sms_phone_invalid");
        assert!(fake.received().is_empty());
    }
}
