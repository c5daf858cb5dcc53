//! Alibaba Cloud Cell Phone Number Service (号码百科, product `dytnsapi`, API version
//! 2020-02-17): the action `ThreeElementsVerification` (运营商三要素核验).
//!
//! # Request
//!
//! An RPC-style call signed as [`crate::providers::aliyun`] describes (signature version 1.0,
//! HMAC-SHA1), sent like SMS: `POST` to the endpoint's root with every parameter, `Signature`
//! included, in an `application/x-www-form-urlencoded` body, so that the name, ID number and
//! phone never appear in a URL (which proxies and access logs keep). Besides the common
//! parameters (`AccessKeyId`, `Action=ThreeElementsVerification`, `Format=JSON`,
//! `SignatureMethod`, `SignatureNonce`, `SignatureVersion`, `Timestamp`, `Version=2020-02-17`):
//!
//! - `AuthCode`: the authorization code (授权 ID) of the approved application for the tag, from
//!   the 号码百科 console ("我的申请");
//! - `InputNumber`: the 11-digit phone; `CertCode`: the ID number (upper-case `X`); `Name`: the
//!   name; all in clear, as `Mask=NORMAL` says (`MD5` and `SHA256` would hash all three).
//!
//! # Answer
//!
//! `{"Code": "OK", "Message": "OK", "RequestId": "…", "Data": {"IsConsistent": 1,
//! "BasicCarrier": "中国移动"}}`, where `IsConsistent` is 1 (consistent), 0 (inconsistent) or 2
//! (查无, not found). Per the documentation, China Unicom answers 0 for empty and cancelled
//! numbers where China Mobile and China Telecom answer 2, and registrations reach the data one to
//! three days late. A call is billed when `Code` is `OK` and `IsConsistent` is not 2.
//!
//! Any other `Code` is an error, with HTTP 200 (`OperatorLimit`, `RequestFrequencyLimit`), 400
//! (`MobileNumberIllegal`, `CertCodeIllegal`, `CarrierIllegal`, `EncyrptTypeIllegal` [sic],
//! `MobileNumberTypeNotMatch`, `AuthCodeNotExist`, and the gateway's signature, AccessKey and
//! throttling codes) or 500 (`Unknown`, `SystemError`). They are sorted by what the person can do
//! about them (see [`classify`]).
//!
//! A request is sent once and never retried: see the [parent module](super).

use std::collections::BTreeMap;
use std::fmt;

use chrono::Utc;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::{CarrierCheck, CarrierError, CarrierVerdict, Elements, parse_elements};
use crate::providers::aliyun::{self, excerpt};
use crate::providers::{HttpTimeouts, http_client};
use crate::telemetry::error_chain;

/// Where `dytnsapi` is served (one endpoint for every region).
const DEFAULT_ENDPOINT: &str = "https://dytnsapi.aliyuncs.com/";
/// The `dytnsapi` version whose `ThreeElementsVerification` this implements.
const API_VERSION: &str = "2020-02-17";
/// The action.
const ACTION: &str = "ThreeElementsVerification";
/// The elements travel in clear (the request itself is TLS).
const MASK: &str = "NORMAL";
/// `Code` of an answered check.
const ANSWERED: &str = "OK";

/// Codes meaning the number cannot be checked: the carrier restricts it (`OperatorLimit`), it
/// is not of a carrier the service covers (`CarrierIllegal`: virtual operators, China
/// Broadcasting), or it was ported (`PortabilityNumberNotSupported`, listed for the sibling
/// actions of the same service).
const UNSUPPORTED_CODES: &[&str] = &[
    "OperatorLimit",
    "CarrierIllegal",
    "PortabilityNumberNotSupported",
];
/// Codes meaning a malformed phone or ID number.
const INVALID_INPUT_CODES: &[&str] = &["MobileNumberIllegal", "CertCodeIllegal"];
/// Codes meaning too many queries: of one number (`RequestFrequencyLimit`, "因运营商限制，禁止
/// 在短时间内高频对同一个号码进行反复查询") or in general (`System.LimitControl`; the gateway's
/// `Throttling*` are matched by prefix).
const RATE_LIMIT_CODES: &[&str] = &["RequestFrequencyLimit", "System.LimitControl"];
/// Codes meaning the service is struggling rather than refusing.
const UNAVAILABLE_CODES: &[&str] = &[
    "Unknown",
    "SystemError",
    "InternalError",
    "ServiceUnavailable",
];

/// The Alibaba Cloud account that carrier checks are made with.
///
/// The account must have applied for the 运营商三要素核验 tag in the 号码百科 console and have
/// the application approved; `auth_code` is the approved application's authorization ID. The RAM
/// user needs `dytns:ThreeElementsVerification`.
#[derive(Clone, Deserialize)]
pub struct AliyunCarrierConfig {
    /// The RAM user's AccessKey ID.
    pub access_key_id: String,
    /// The matching AccessKey secret.
    pub access_key_secret: SecretString,
    /// The authorization code (`AuthCode`) of the approved tag application.
    pub auth_code: String,
    /// Endpoint to call instead of `https://dytnsapi.aliyuncs.com/` (a proxy, tests).
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl fmt::Debug for AliyunCarrierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunCarrierConfig")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .field("auth_code", &self.auth_code)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// Checks phones with the carriers through Alibaba Cloud.
pub struct AliyunCarrier {
    client: reqwest::Client,
    endpoint: Url,
    timeouts: HttpTimeouts,
    access_key_id: String,
    access_key_secret: SecretString,
    auth_code: String,
}

impl AliyunCarrier {
    /// A check with the given timeouts ([`HttpTimeouts::default`] suits a person waiting).
    ///
    /// # Errors
    ///
    /// [`CarrierError::Config`] when the AccessKey ID or secret or the authorization code is
    /// empty, when `endpoint` is not an http(s) URL, or when the HTTP client cannot be built.
    pub fn new(config: AliyunCarrierConfig, timeouts: HttpTimeouts) -> Result<Self, CarrierError> {
        let required = [
            ("access_key_id", config.access_key_id.as_str()),
            (
                "access_key_secret",
                config.access_key_secret.expose_secret(),
            ),
            ("auth_code", config.auth_code.as_str()),
        ];
        if let Some((name, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
            return Err(CarrierError::Config {
                detail: format!("Aliyun carrier check: {name} is empty"),
            });
        }

        let endpoint = config.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        let endpoint = Url::parse(endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.has_host())
            .ok_or_else(|| CarrierError::Config {
                detail: format!(
                    "Aliyun carrier check: endpoint {endpoint:?} is not an http(s) URL"
                ),
            })?;
        let client = http_client(timeouts).map_err(|e| CarrierError::Config {
            detail: format!(
                "Aliyun carrier check: cannot build the HTTP client: {}",
                error_chain(&e)
            ),
        })?;

        Ok(Self {
            client,
            endpoint,
            timeouts,
            access_key_id: config.access_key_id,
            access_key_secret: config.access_key_secret,
            auth_code: config.auth_code,
        })
    }

    /// Every parameter except `Signature`, sorted by name as signing requires.
    fn parameters(
        &self,
        elements: &Elements,
        nonce: &str,
        timestamp: &str,
    ) -> BTreeMap<&'static str, String> {
        let mut parameters =
            aliyun::common_parameters(ACTION, API_VERSION, &self.access_key_id, nonce, timestamp);
        parameters.extend([
            ("AuthCode", self.auth_code.clone()),
            ("CertCode", elements.id_number.as_str().to_owned()),
            ("InputNumber", elements.phone.as_str().to_owned()),
            ("Mask", MASK.to_owned()),
            ("Name", elements.name.as_str().to_owned()),
        ]);
        parameters
    }

    async fn ask(&self, elements: &Elements) -> Result<CarrierVerdict, CarrierError> {
        let parameters = self.parameters(
            elements,
            &aliyun::new_nonce(),
            // The wall clock, not the server's Clock: Alibaba Cloud checks the signed Timestamp
            // against real time.
            &aliyun::timestamp(Utc::now()),
        );
        let body =
            aliyun::signed_query("POST", &parameters, &self.access_key_secret).map_err(|e| {
                CarrierError::Config {
                    detail: format!("Aliyun carrier check: unusable AccessKey secret: {e}"),
                }
            })?;

        // Sent once: see the parent module.
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
        interpret(status, &body)
    }

    fn transport_error(&self, error: &reqwest::Error) -> CarrierError {
        CarrierError::Unavailable {
            detail: aliyun::transport_detail(error, self.timeouts),
        }
    }
}

impl fmt::Debug for AliyunCarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunCarrier")
            .field("endpoint", &self.endpoint.as_str())
            .field("timeouts", &self.timeouts)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .field("auth_code", &self.auth_code)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CarrierCheck for AliyunCarrier {
    #[tracing::instrument(name = "carrier.aliyun.check", skip_all)]
    async fn check(
        &self,
        name: &str,
        id_number: &str,
        phone: &str,
    ) -> Result<CarrierVerdict, CarrierError> {
        let elements = parse_elements(name, id_number, phone)?;
        let result = self.ask(&elements).await;
        let phone = elements.phone.masked();
        match &result {
            Ok(verdict) => {
                tracing::info!(%phone, verdict = verdict.kind(), "carrier check answered")
            }
            Err(error) => tracing::warn!(
                %phone,
                code = error.code().name(),
                %error,
                "carrier check not answered"
            ),
        }
        result
    }
}

/// The JSON answer, on success and on refusal alike.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    data: Option<ReplyData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReplyData {
    /// 1, 0 or 2; a number in this action's documentation, a string in its siblings'.
    #[serde(default)]
    is_consistent: Option<Value>,
    #[serde(default)]
    basic_carrier: Option<String>,
}

/// Reads an answer: a 5xx or a body that is not the expected JSON means the service is
/// unavailable; a `Code` other than `OK` is sorted by [`classify`]; `OK` must carry a verdict.
fn interpret(status: StatusCode, body: &[u8]) -> Result<CarrierVerdict, CarrierError> {
    if status.is_server_error() {
        return Err(CarrierError::Unavailable {
            detail: format!("HTTP {status}: {}", excerpt(body)),
        });
    }
    let reply: Reply = serde_json::from_slice(body).map_err(|e| CarrierError::Unavailable {
        detail: format!("HTTP {status}, unreadable answer ({e}): {}", excerpt(body)),
    })?;
    let request_id = reply.request_id.unwrap_or_default();
    let code = reply.code.unwrap_or_default();

    if code != ANSWERED {
        let detail = format!(
            "HTTP {status} {code}: {} (RequestId {request_id})",
            reply.message.unwrap_or_default()
        );
        return Err(if code.trim().is_empty() {
            if status.is_client_error() {
                CarrierError::Refused { detail }
            } else {
                CarrierError::Unavailable { detail }
            }
        } else {
            classify(&code, detail)
        });
    }
    if !status.is_success() {
        return Err(CarrierError::Unavailable {
            detail: format!("HTTP {status} with Code OK (RequestId {request_id})"),
        });
    }

    let data = reply.data;
    let is_consistent = data.as_ref().and_then(|d| match d.is_consistent.as_ref()? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    });
    let verdict = match is_consistent {
        Some(1) => CarrierVerdict::Consistent,
        Some(0) => CarrierVerdict::Inconsistent,
        Some(2) => CarrierVerdict::NotFound,
        other => {
            return Err(CarrierError::Unavailable {
                detail: format!("an answer with IsConsistent {other:?} (RequestId {request_id})"),
            });
        }
    };
    tracing::debug!(
        basic_carrier = data.and_then(|d| d.basic_carrier).as_deref(),
        %request_id,
        "carrier verdict"
    );
    Ok(verdict)
}

/// Sorts an error code by what the person can do about it. The gateway's flow control is
/// `Throttling`, `Throttling.User`, `Throttling.Api` and the like.
fn classify(code: &str, detail: String) -> CarrierError {
    let listed = |codes: &[&str]| codes.iter().any(|known| known.eq_ignore_ascii_case(code));
    if code.to_ascii_lowercase().starts_with("throttling") || listed(RATE_LIMIT_CODES) {
        CarrierError::RateLimited { detail }
    } else if listed(UNSUPPORTED_CODES) {
        CarrierError::NumberUnsupported { detail }
    } else if listed(INVALID_INPUT_CODES) {
        CarrierError::InvalidInput { detail }
    } else if listed(UNAVAILABLE_CODES) {
        CarrierError::Unavailable { detail }
    } else {
        CarrierError::Refused { detail }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use mcert_testkit::{Answer, FakeHttp, Received};
    use serde_json::json;

    use super::*;
    use crate::providers::aliyun::{TIMESTAMP_FORMAT, canonical_query, sign, string_to_sign};
    use crate::providers::outages::{Outages, SHORT_TIMEOUTS};

    const SECRET: &str = "s3cr3t-AccessKey+secret/value";
    const NAME: &str = "张三";
    const ID_NUMBER: &str = "11010519491231002X";
    const PHONE: &str = "13812345678";

    fn config(endpoint: Option<String>) -> AliyunCarrierConfig {
        AliyunCarrierConfig {
            access_key_id: "LTAI-carrier-id".into(),
            access_key_secret: SecretString::from(SECRET),
            auth_code: "QASDW-auth".into(),
            endpoint,
        }
    }

    /// The documented example answer with `IsConsistent` set.
    fn answered(is_consistent: Value) -> Answer {
        Answer::json(
            200,
            json!({
                "Code": "OK",
                "Message": "OK",
                "RequestId": "CC3BB6D2-2FDF-4321-9DCE-B38165CE4C47",
                "Data": {"BasicCarrier": "中国移动", "IsConsistent": is_consistent},
            })
            .to_string(),
        )
    }

    fn refusal(status: u16, code: &str, message: &str) -> Answer {
        Answer::json(
            status,
            json!({"Code": code, "Message": message, "RequestId": "R-1"}).to_string(),
        )
    }

    async fn check_with(
        answer: Answer,
        name: &str,
        id_number: &str,
    ) -> (Result<CarrierVerdict, CarrierError>, Vec<Received>) {
        let fake = FakeHttp::start(answer).await;
        let carrier =
            AliyunCarrier::new(config(Some(fake.base_url().to_owned())), SHORT_TIMEOUTS).unwrap();
        let result = carrier.check(name, id_number, PHONE).await;
        (result, fake.received())
    }

    async fn check_one(answer: Answer) -> (Result<CarrierVerdict, CarrierError>, Vec<Received>) {
        check_with(answer, NAME, ID_NUMBER).await
    }

    /// Checks everything about a request, its signature included, and returns its form.
    fn assert_signed_request(request: &Received) -> BTreeMap<String, String> {
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/", "no parameter travels in the URL");
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.header("accept"), Some("application/json"));
        assert!(!request.body_text().contains(SECRET));

        let mut form = request.form();
        let names: Vec<&str> = form.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "AccessKeyId",
                "Action",
                "AuthCode",
                "CertCode",
                "Format",
                "InputNumber",
                "Mask",
                "Name",
                "Signature",
                "SignatureMethod",
                "SignatureNonce",
                "SignatureVersion",
                "Timestamp",
                "Version",
            ]
        );
        assert_eq!(form["AccessKeyId"], "LTAI-carrier-id");
        assert_eq!(form["Action"], "ThreeElementsVerification");
        assert_eq!(form["Version"], "2020-02-17");
        assert_eq!(form["Format"], "JSON");
        assert_eq!(form["SignatureMethod"], "HMAC-SHA1");
        assert_eq!(form["SignatureVersion"], "1.0");
        assert_eq!(form["AuthCode"], "QASDW-auth");
        assert_eq!(form["Mask"], "NORMAL");
        assert!(uuid::Uuid::parse_str(&form["SignatureNonce"]).is_ok());
        let timestamp = chrono::NaiveDateTime::parse_from_str(&form["Timestamp"], TIMESTAMP_FORMAT)
            .unwrap()
            .and_utc();
        // The signed Timestamp is the wall clock's.
        assert!(
            (Utc::now() - timestamp).num_seconds().abs() < 60,
            "{timestamp}"
        );

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
        form
    }

    // ----- Verdicts -------------------------------------------------------------------------

    #[tokio::test]
    async fn a_consistent_triple_is_consistent_and_the_request_is_signed() {
        let (result, received) = check_one(answered(json!(1))).await;
        assert_eq!(result.unwrap(), CarrierVerdict::Consistent);
        assert_eq!(received.len(), 1);
        let form = assert_signed_request(&received[0]);
        assert_eq!(form["Name"], NAME);
        assert_eq!(form["CertCode"], ID_NUMBER);
        assert_eq!(form["InputNumber"], PHONE);
    }

    #[tokio::test]
    async fn elements_are_sent_normalised() {
        let (result, received) =
            check_with(answered(json!(1)), " 张三 ", "11010519491231002x").await;
        assert_eq!(result.unwrap(), CarrierVerdict::Consistent);
        let form = assert_signed_request(&received[0]);
        assert_eq!(form["Name"], "张三");
        assert_eq!(form["CertCode"], "11010519491231002X");
    }

    #[tokio::test]
    async fn inconsistent_and_not_found_are_verdicts() {
        for (value, verdict) in [
            (json!(0), CarrierVerdict::Inconsistent),
            (json!(2), CarrierVerdict::NotFound),
            (json!("1"), CarrierVerdict::Consistent),
            (json!("0"), CarrierVerdict::Inconsistent),
        ] {
            let (result, _) = check_one(answered(value.clone())).await;
            assert_eq!(result.unwrap(), verdict, "{value}");
        }
    }

    #[tokio::test]
    async fn an_unknown_verdict_is_unavailable() {
        for value in [json!(3), json!(null), json!("yes")] {
            let (result, _) = check_one(answered(value.clone())).await;
            assert_eq!(result.unwrap_err().code(), "carrier_unavailable", "{value}");
        }
        let (result, _) = check_one(Answer::json(
            200,
            r#"{"Code":"OK","Message":"OK","RequestId":"R"}"#,
        ))
        .await;
        assert_eq!(result.unwrap_err().code(), "carrier_unavailable");
    }

    // ----- Provider errors ------------------------------------------------------------------

    #[tokio::test]
    async fn error_codes_are_sorted_by_what_the_person_can_do() {
        let cases = [
            (
                200,
                "RequestFrequencyLimit",
                "频繁查询",
                "carrier_rate_limited",
            ),
            (
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
                "carrier_rate_limited",
            ),
            (
                200,
                "OperatorLimit",
                "The number is limited by the operator.",
                "carrier_number_unsupported",
            ),
            (
                400,
                "CarrierIllegal",
                "Illegal carrier type",
                "carrier_number_unsupported",
            ),
            (
                400,
                "MobileNumberIllegal",
                "Wrong format of phone number",
                "carrier_input_invalid",
            ),
            (
                400,
                "CertCodeIllegal",
                "Invalid CertCode value.",
                "carrier_input_invalid",
            ),
            (
                400,
                "AuthCodeNotExist",
                "The label application form does not exist",
                "carrier_refused",
            ),
            (
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
                "carrier_refused",
            ),
            (
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
                "carrier_refused",
            ),
        ];
        for (status, code, message, expected) in cases {
            let (result, received) = check_one(refusal(status, code, message)).await;
            assert_eq!(received.len(), 1, "{code}: sent exactly once");
            let error = result.unwrap_err();
            assert_eq!(error.code(), expected, "{code}: {error:?}");
            let text = error.to_string();
            assert!(text.contains(code) && text.contains("R-1"), "{text}");
        }
    }

    #[tokio::test]
    async fn http_5xx_is_unavailable_and_not_retried() {
        let (result, received) = check_one(refusal(500, "SystemError", "System error")).await;
        match result {
            Err(CarrierError::Unavailable { detail }) => {
                assert!(detail.contains("500"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(received.len(), 1, "no retry");
    }

    /// An HTML page (status 200 or 502), no answer in time, a closed port.
    #[tokio::test]
    async fn outages_are_unavailable() {
        Outages::at("POST", "/")
            .never_quoting(&[SECRET])
            .check(async |base| {
                AliyunCarrier::new(config(Some(base.to_owned())), SHORT_TIMEOUTS)
                    .unwrap()
                    .check(NAME, ID_NUMBER, PHONE)
                    .await
            })
            .await;
    }

    #[tokio::test]
    async fn malformed_elements_never_reach_the_provider() {
        let fake = FakeHttp::start(answered(json!(1))).await;
        let carrier =
            AliyunCarrier::new(config(Some(fake.base_url().to_owned())), SHORT_TIMEOUTS).unwrap();
        for (name, id_number, phone) in [
            ("", ID_NUMBER, PHONE),
            (NAME, "110105194912310020", PHONE),
            (NAME, ID_NUMBER, "1381234567"),
        ] {
            let error = carrier.check(name, id_number, phone).await.unwrap_err();
            assert_eq!(error.code(), "carrier_input_invalid");
        }
        assert!(fake.received().is_empty());
    }

    // ----- Reading answers ------------------------------------------------------------------

    #[test]
    fn interprets_answers() {
        let ok = br#"{"Code":"OK","RequestId":"r","Data":{"IsConsistent":1}}"#;
        assert_eq!(
            interpret(StatusCode::OK, ok).unwrap(),
            CarrierVerdict::Consistent
        );
        // Code OK with an error status, or a redirect, is not understood.
        assert!(matches!(
            interpret(StatusCode::FOUND, ok),
            Err(CarrierError::Unavailable { .. })
        ));
        // No Code at all: a refusal on 4xx, not understood on 2xx.
        assert!(matches!(
            interpret(StatusCode::FORBIDDEN, b"{}"),
            Err(CarrierError::Refused { .. })
        ));
        assert!(matches!(
            interpret(StatusCode::OK, b"{}"),
            Err(CarrierError::Unavailable { .. })
        ));
    }

    // ----- Configuration --------------------------------------------------------------------

    #[test]
    fn refuses_incomplete_configuration() {
        let mut no_secret = config(None);
        no_secret.access_key_secret = SecretString::from(" ");
        let mut no_auth_code = config(None);
        no_auth_code.auth_code = String::new();
        for (config, field) in [
            (no_secret, "access_key_secret"),
            (no_auth_code, "auth_code"),
            (config(Some("ftp://example.com/".into())), "endpoint"),
            (config(Some("not a url".into())), "endpoint"),
        ] {
            match AliyunCarrier::new(config, HttpTimeouts::default()) {
                Err(error @ CarrierError::Config { .. }) => {
                    assert!(error.to_string().contains(field), "{error}");
                    assert_eq!(error.code(), "carrier_misconfigured");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let carrier = AliyunCarrier::new(config(None), HttpTimeouts::default()).unwrap();
        assert_eq!(carrier.endpoint.as_str(), DEFAULT_ENDPOINT);
    }

    #[test]
    fn configuration_deserialises_and_debug_hides_the_secret() {
        let config: AliyunCarrierConfig = serde_json::from_value(json!({
            "access_key_id": "LTAI-carrier-id",
            "access_key_secret": SECRET,
            "auth_code": "QASDW-auth",
        }))
        .unwrap();
        assert!(config.endpoint.is_none());
        let printed = format!("{config:?}");
        assert!(
            !printed.contains(SECRET) && printed.contains("[redacted]"),
            "{printed}"
        );
        let printed = format!(
            "{:?}",
            AliyunCarrier::new(config, HttpTimeouts::default()).unwrap()
        );
        assert!(
            !printed.contains(SECRET) && printed.contains("LTAI-carrier-id"),
            "{printed}"
        );
    }
}
