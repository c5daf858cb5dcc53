//! Alibaba Cloud OCR (读光, product `ocr-api`, API version 2021-07-07): the actions
//! `RecognizeBusinessLicense` and `RecognizeIdcard`.
//!
//! # Request
//!
//! An RPC-style call signed as [`crate::providers::aliyun`] describes (signature version 1.0,
//! HMAC-SHA1), the way the OCR documentation's "签名机制" page gives it: `POST` to the endpoint's
//! root with every parameter, `Signature` included, in the URL's query, and the image file as the
//! raw body (`Content-Type: application/octet-stream`; "使用 HTTP 方式调用，把图片二进制文件放到
//! HTTP body 中上传即可"). The parameters are the common ones only: `AccessKeyId`, `Action`,
//! `Format=JSON`, `SignatureMethod=HMAC-SHA1`, `SignatureNonce`, `SignatureVersion=1.0`,
//! `Timestamp`, `Version=2021-07-07`. Neither action needs more (`Url` is the alternative to the
//! body; `OutputFigure` of `RecognizeIdcard` defaults to false).
//!
//! # Answer
//!
//! `{"RequestId": "…", "Data": "<JSON text>"}`, where `Data` is a *string* holding JSON. Its
//! `data` member has the fields, named as in the API reference:
//!
//! - `RecognizeBusinessLicense`: `data.companyName` (名称), `data.creditCode` (统一社会信用代码),
//!   `data.legalPerson` (法人/负责人), `data.businessAddress` (营业场所/住所). The documented field
//!   list (creditCode, companyName, companyType, businessAddress, legalPerson, businessScope,
//!   registeredCapital, RegistrationDate, validPeriod, validFromDate, validToDate, companyForm,
//!   issueDate, title) has **no registration authority** (登记机关). The reader takes
//!   `data.registrationAuthority` should the service ever send it, a name that is a guess and
//!   unconfirmed; in practice [`LicenceText::registration_authority`] stays `None` with this
//!   provider.
//! - `RecognizeIdcard`: `data.face.data.name` (姓名) and `data.face.data.idNumber` (公民身份号码).
//!   A photo of the back gives `data.back` instead, and so reads as nothing.
//!
//! A refusal is `{"RequestId", "HostId", "Code", "Message", "Recommend"}` with a 4xx or 5xx
//! status; a 200 answer may also carry `Code` and `Message`. The codes are sorted by what the
//! applicant can do about them (see [`classify`]).
//!
//! A request is sent once and never retried: see the [parent module](super).

use std::fmt;

use chrono::Utc;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::{IdCardText, LicenceText, OcrDocument, OcrError, OcrReader, cleaned};
use crate::providers::aliyun::{self, excerpt};
use crate::providers::{HttpTimeouts, http_client};
use crate::telemetry::error_chain;

/// The `ocr-api` endpoint of the China (Hangzhou) region.
const DEFAULT_ENDPOINT: &str = "https://ocr-api.cn-hangzhou.aliyuncs.com/";
/// The `ocr-api` version whose actions this implements.
const API_VERSION: &str = "2021-07-07";
/// The largest image the service takes ("图片二进制文件不能超过 10MB").
const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// Error codes meaning the image cannot be read as the document asked for, from the `ocr-api`
/// error code list ("错误码") and the actions' pages: a different kind of document
/// (`unmatchedImageType`), no document found (`illegalImageContent`), bad dimensions
/// (`illegalImageSize`, HTTP 416), not an image or an unknown format (`unsupportedImageFormat`,
/// HTTP 415), too large (`exceededImageContent`, HTTP 413), several ID cards in one picture
/// (`ExceededFaceBackCount`), and no image at all (`imageUrlOrBodyEmpty`, reported by callers
/// but absent from the list; the reader refuses an empty image before asking).
const UNREADABLE_CODES: &[&str] = &[
    "unmatchedImageType",
    "illegalImageContent",
    "illegalImageSize",
    "unsupportedImageFormat",
    "exceededImageContent",
    "ExceededFaceBackCount",
    "imageUrlOrBodyEmpty",
];

/// Error codes meaning the service is struggling rather than refusing: the recognition engine
/// failed (`algorithmError`, normally HTTP 503) or the gateway's generic internal errors.
const UNAVAILABLE_CODES: &[&str] = &["algorithmError", "InternalError", "ServiceUnavailable"];

/// The Alibaba Cloud account that OCR calls are made with.
///
/// The account must have the OCR services activated ("企业资质识别" for licences, "个人证照识别"
/// for ID cards), and the RAM user needs `ocr:RecognizeBusinessLicense` and
/// `ocr:RecognizeIdcard` (or the system policy `AliyunOCRFullAccess`).
#[derive(Clone, Deserialize)]
pub struct AliyunOcrConfig {
    /// The RAM user's AccessKey ID.
    pub access_key_id: String,
    /// The matching AccessKey secret.
    pub access_key_secret: SecretString,
    /// Endpoint to call instead of `https://ocr-api.cn-hangzhou.aliyuncs.com/` (another region,
    /// a proxy, tests).
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl fmt::Debug for AliyunOcrConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunOcrConfig")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// Reads licences and ID cards through Alibaba Cloud OCR.
pub struct AliyunOcr {
    client: reqwest::Client,
    endpoint: Url,
    timeouts: HttpTimeouts,
    access_key_id: String,
    access_key_secret: SecretString,
}

impl AliyunOcr {
    /// A reader with the given timeouts ([`HttpTimeouts::default`] suits a person waiting).
    ///
    /// # Errors
    ///
    /// [`OcrError::Config`] when the AccessKey ID or secret is empty, when `endpoint` is not an
    /// http(s) URL without a query, or when the HTTP client cannot be built.
    pub fn new(config: AliyunOcrConfig, timeouts: HttpTimeouts) -> Result<Self, OcrError> {
        let required = [
            ("access_key_id", config.access_key_id.as_str()),
            (
                "access_key_secret",
                config.access_key_secret.expose_secret(),
            ),
        ];
        if let Some((name, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
            return Err(OcrError::Config {
                detail: format!("Aliyun OCR: {name} is empty"),
            });
        }

        let endpoint = config.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        // The signed parameters become the query, so the endpoint cannot bring one of its own.
        let endpoint = Url::parse(endpoint)
            .ok()
            .filter(|url| {
                matches!(url.scheme(), "https" | "http") && url.has_host() && url.query().is_none()
            })
            .ok_or_else(|| OcrError::Config {
                detail: format!(
                    "Aliyun OCR: endpoint {endpoint:?} is not an http(s) URL without a query"
                ),
            })?;
        let client = http_client(timeouts).map_err(|e| OcrError::Config {
            detail: format!(
                "Aliyun OCR: cannot build the HTTP client: {}",
                error_chain(&e)
            ),
        })?;

        Ok(Self {
            client,
            endpoint,
            timeouts,
            access_key_id: config.access_key_id,
            access_key_secret: config.access_key_secret,
        })
    }

    /// Sends `image` to the action for `document` and returns the decoded `Data`.
    /// Recognises `document` and takes its `text`, logging the outcome; a recognised image with
    /// none of the fields is unreadable.
    async fn read<T: Filled>(
        &self,
        document: OcrDocument,
        image: &[u8],
        text: fn(&Value) -> T,
        is_empty: fn(&T) -> bool,
    ) -> Result<T, OcrError> {
        let result = self
            .recognise(document, image)
            .await
            .and_then(|recognised| {
                let read = text(&recognised.data);
                if is_empty(&read) {
                    Err(OcrError::Unreadable {
                        document,
                        detail: format!(
                            "the answer has none of the fields (RequestId {})",
                            recognised.request_id
                        ),
                    })
                } else {
                    Ok(read)
                }
            });
        log_outcome(document, &result);
        result
    }

    async fn recognise(&self, document: OcrDocument, image: &[u8]) -> Result<Recognised, OcrError> {
        check_image(document, image)?;
        let parameters = aliyun::common_parameters(
            action(document),
            API_VERSION,
            &self.access_key_id,
            &aliyun::new_nonce(),
            // The wall clock, not the server's Clock: Alibaba Cloud checks the signed Timestamp
            // against real time.
            &aliyun::timestamp(Utc::now()),
        );
        let query =
            aliyun::signed_query("POST", &parameters, &self.access_key_secret).map_err(|e| {
                OcrError::Config {
                    detail: format!("Aliyun OCR: unusable AccessKey secret: {e}"),
                }
            })?;
        let mut url = self.endpoint.clone();
        url.set_query(Some(&query));

        // Sent once: a person is waiting (see the parent module).
        let response = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(ACCEPT, "application/json")
            .body(image.to_vec())
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        interpret(document, status, &body)
    }

    fn transport_error(&self, error: &reqwest::Error) -> OcrError {
        OcrError::Unavailable {
            detail: aliyun::transport_detail(error, self.timeouts),
        }
    }
}

impl fmt::Debug for AliyunOcr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunOcr")
            .field("endpoint", &self.endpoint.as_str())
            .field("timeouts", &self.timeouts)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl OcrReader for AliyunOcr {
    #[tracing::instrument(
        name = "ocr.aliyun.business_licence",
        skip_all,
        fields(image_bytes = image.len())
    )]
    async fn business_licence(&self, image: &[u8]) -> Result<LicenceText, OcrError> {
        self.read(
            OcrDocument::BusinessLicence,
            image,
            licence_text,
            LicenceText::is_empty,
        )
        .await
    }

    #[tracing::instrument(
        name = "ocr.aliyun.id_card_front",
        skip_all,
        fields(image_bytes = image.len())
    )]
    async fn id_card_front(&self, image: &[u8]) -> Result<IdCardText, OcrError> {
        self.read(
            OcrDocument::IdCardFront,
            image,
            id_card_text,
            IdCardText::is_empty,
        )
        .await
    }
}

/// The action that reads `document`.
fn action(document: OcrDocument) -> &'static str {
    match document {
        OcrDocument::BusinessLicence => "RecognizeBusinessLicense",
        OcrDocument::IdCardFront => "RecognizeIdcard",
    }
}

/// Refuses, without asking the provider, an image it would refuse: none, or too large.
fn check_image(document: OcrDocument, image: &[u8]) -> Result<(), OcrError> {
    let detail = if image.is_empty() {
        "the image is empty".to_owned()
    } else if image.len() > MAX_IMAGE_BYTES {
        format!(
            "the image has {} bytes, more than the {MAX_IMAGE_BYTES} the service takes",
            image.len()
        )
    } else {
        return Ok(());
    };
    Err(OcrError::Unreadable { document, detail })
}

/// A successful answer: its request id and its `Data`, decoded.
#[derive(Debug)]
struct Recognised {
    request_id: String,
    data: Value,
}

/// The JSON answer of both actions, on success and on refusal alike.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OcrReply {
    /// Present only on failure, such as `unmatchedImageType`.
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    /// The result: a string of JSON (an object is taken as well).
    #[serde(default)]
    data: Option<Value>,
}

/// Reads an answer: a 5xx or a body that is not the expected JSON means the service is
/// unavailable; an error `Code` is sorted by [`classify`]; anything else must carry `Data`.
fn interpret(
    document: OcrDocument,
    status: StatusCode,
    body: &[u8],
) -> Result<Recognised, OcrError> {
    if status.is_server_error() {
        return Err(OcrError::Unavailable {
            detail: format!("HTTP {status}: {}", excerpt(body)),
        });
    }
    let reply: OcrReply = serde_json::from_slice(body).map_err(|e| OcrError::Unavailable {
        detail: format!("HTTP {status}, unreadable answer ({e}): {}", excerpt(body)),
    })?;
    let request_id = reply.request_id.unwrap_or_default();

    if let Some(code) = reply.code.filter(|code| !code.trim().is_empty()) {
        let detail = format!(
            "HTTP {status} {code}: {} (RequestId {request_id})",
            reply.message.unwrap_or_default()
        );
        return Err(match classify(&code) {
            CodeClass::Unavailable => OcrError::Unavailable { detail },
            CodeClass::Unreadable => OcrError::Unreadable { document, detail },
            CodeClass::Refused => OcrError::Refused { detail },
        });
    }
    if !status.is_success() {
        let detail = format!("HTTP {status} without an error code: {}", excerpt(body));
        return Err(if status.is_client_error() {
            OcrError::Refused { detail }
        } else {
            OcrError::Unavailable { detail }
        });
    }

    let data = match reply.data {
        Some(Value::String(text)) => {
            serde_json::from_str(&text).map_err(|e| OcrError::Unavailable {
                detail: format!(
                    "Data is not JSON ({e}) (RequestId {request_id}): {}",
                    excerpt(text.as_bytes())
                ),
            })?
        }
        Some(object @ Value::Object(_)) => object,
        _ => {
            return Err(OcrError::Unavailable {
                detail: format!("an answer without Data (RequestId {request_id})"),
            });
        }
    };
    Ok(Recognised { request_id, data })
}

/// What an error code means for the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeClass {
    /// Try again later: throttling or an engine failure.
    Unavailable,
    /// Try another photo: [`UNREADABLE_CODES`].
    Unreadable,
    /// Nothing the applicant can do: credentials, permissions, activation, anything else.
    Refused,
}

/// Sorts a provider error code. Aliyun spells codes in mixed case (`IllegalImageUrl` next to
/// `illegalImageContent`), so the comparison ignores case. Flow control is the gateway's
/// `Throttling`, `Throttling.User`, `Throttling.Api` and the like.
fn classify(code: &str) -> CodeClass {
    let is = |known: &&str| known.eq_ignore_ascii_case(code);
    if code.to_ascii_lowercase().starts_with("throttling") || UNAVAILABLE_CODES.iter().any(is) {
        CodeClass::Unavailable
    } else if UNREADABLE_CODES.iter().any(is) {
        CodeClass::Unreadable
    } else {
        CodeClass::Refused
    }
}

/// The licence fields of a decoded `Data`.
fn licence_text(data: &Value) -> LicenceText {
    LicenceText {
        unit_name: field(data, "/data/companyName"),
        uscc: field(data, "/data/creditCode"),
        legal_representative_name: field(data, "/data/legalPerson"),
        address: field(data, "/data/businessAddress"),
        // Not in the documented field list: see the module documentation.
        registration_authority: field(data, "/data/registrationAuthority"),
    }
}

/// The ID card fields of a decoded `Data`; only the front (`face`) has them.
fn id_card_text(data: &Value) -> IdCardText {
    IdCardText {
        name: field(data, "/data/face/data/name"),
        id_number: field(data, "/data/face/data/idNumber"),
    }
}

/// The text at `pointer`, trimmed; `None` when missing, empty or not text. Numbers are taken as
/// written, since the service sends some all-digit fields as JSON numbers.
fn field(data: &Value, pointer: &str) -> Option<String> {
    match data.pointer(pointer)? {
        Value::String(text) => cleaned(text),
        Value::Number(number) => cleaned(&number.to_string()),
        _ => None,
    }
}

/// One line per call. Only which fields were read is logged, never their values.
fn log_outcome<T: Filled>(document: OcrDocument, result: &Result<T, OcrError>) {
    match result {
        Ok(text) => tracing::info!(
            document = document.kind(),
            fields_read = text.filled(),
            "read by Aliyun OCR"
        ),
        Err(error) => tracing::warn!(
            document = document.kind(),
            code = error.code().name(),
            error = %error,
            "not read by Aliyun OCR"
        ),
    }
}

/// How many fields a reading filled, for the logs.
trait Filled {
    fn filled(&self) -> usize;
}

impl Filled for LicenceText {
    fn filled(&self) -> usize {
        [
            &self.unit_name,
            &self.uscc,
            &self.legal_representative_name,
            &self.address,
            &self.registration_authority,
        ]
        .into_iter()
        .filter(|field| field.is_some())
        .count()
    }
}

impl Filled for IdCardText {
    fn filled(&self) -> usize {
        usize::from(self.name.is_some()) + usize::from(self.id_number.is_some())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use mcert_testkit::{Answer, FakeHttp, Received};
    use serde_json::json;

    use super::*;
    use crate::providers::aliyun::{TIMESTAMP_FORMAT, canonical_query, sign, string_to_sign};
    use crate::providers::outages::{Outages, SHORT_TIMEOUTS};

    const SECRET: &str = "s3cr3t-AccessKey+secret/value";
    const REQUEST_ID: &str = "43A29C77-405E-4CC0-BC55-EE694AD00655";

    fn config(endpoint: Option<String>) -> AliyunOcrConfig {
        AliyunOcrConfig {
            access_key_id: "LTAI-ocr-id".into(),
            access_key_secret: SecretString::from(SECRET),
            endpoint,
        }
    }

    /// A JPEG-looking file holding every byte value, and the blank line that ends HTTP headers:
    /// it arrives intact only if the body is sent as raw bytes.
    fn image() -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
        bytes.extend(0..=u8::MAX);
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes
    }

    /// A successful answer whose `Data` is `data` as a JSON string, as the service sends it.
    fn success(data: &Value) -> String {
        json!({"RequestId": REQUEST_ID, "Data": data.to_string()}).to_string()
    }

    /// The documented `RecognizeBusinessLicense` example (API reference, "返回参数"), trimmed
    /// to its `data` member, with padding and an empty field added to test the cleaning.
    fn licence_data() -> Value {
        json!({
            "algo_version": "5f161015b0f3e48197b049a587c5b2468d8d0cb9",
            "data": {
                "RegistrationDate": "2017年01月04日",
                "businessAddress": " 萧山区宁围街道泰宏巷40号联合中心北区 ",
                "businessScope": "影视文化艺术活动策划",
                "companyForm": "",
                "companyName": "杭州橘子文化传媒有限公司",
                "companyType": "有限责任公司(自然人投资或控股)",
                "creditCode": "913301095U78M2HC4A",
                "legalPerson": "陈云平\n",
                "registeredCapital": "壹佰万元整",
                "validFromDate": 20170104,
                "validPeriod": "2017年01月04日至长期",
                "validToDate": 29991231
            },
            "ftype": 1,
            "height": 829,
            "width": 564
        })
    }

    /// The documented `RecognizeIdcard` example, front side.
    fn id_card_data() -> Value {
        json!({
            "data": {
                "face": {
                    "data": {
                        "name": "方大呆",
                        "sex": "女",
                        "ethnicity": "汉",
                        "birthDate": "2006年10月2日",
                        "address": "上海市西藏南路-瞿溪路弘辉名苑",
                        "idNumber": "371002200610020000"
                    },
                    "ftype": 0
                }
            }
        })
    }

    async fn reader_for(answer: Answer) -> (FakeHttp, AliyunOcr) {
        let fake = FakeHttp::start(answer).await;
        let reader =
            AliyunOcr::new(config(Some(fake.base_url().to_owned())), SHORT_TIMEOUTS).unwrap();
        (fake, reader)
    }

    async fn read_licence(answer: Answer) -> (Result<LicenceText, OcrError>, Vec<Received>) {
        let (fake, reader) = reader_for(answer).await;
        let result = reader.business_licence(&image()).await;
        (result, fake.received())
    }

    async fn read_id_card(answer: Answer) -> (Result<IdCardText, OcrError>, Vec<Received>) {
        let (fake, reader) = reader_for(answer).await;
        let result = reader.id_card_front(&image()).await;
        (result, fake.received())
    }

    /// Checks everything about a request but its action, and returns its query.
    fn assert_signed_image_request(request: &Received) -> BTreeMap<String, String> {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), "/");
        assert_eq!(
            request.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(request.header("accept"), Some("application/json"));
        assert_eq!(
            request.body,
            image(),
            "the image is the body, byte for byte"
        );
        assert!(!request.target.contains(SECRET));

        let mut query = request.query();
        let names: Vec<&str> = query.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "AccessKeyId",
                "Action",
                "Format",
                "Signature",
                "SignatureMethod",
                "SignatureNonce",
                "SignatureVersion",
                "Timestamp",
                "Version",
            ]
        );
        assert_eq!(query["AccessKeyId"], "LTAI-ocr-id");
        assert_eq!(query["Format"], "JSON");
        assert_eq!(query["SignatureMethod"], "HMAC-SHA1");
        assert_eq!(query["SignatureVersion"], "1.0");
        assert_eq!(query["Version"], "2021-07-07");
        assert!(uuid::Uuid::parse_str(&query["SignatureNonce"]).is_ok());
        let timestamp =
            chrono::NaiveDateTime::parse_from_str(&query["Timestamp"], TIMESTAMP_FORMAT)
                .unwrap()
                .and_utc();
        // The signed Timestamp is the wall clock's.
        assert!(
            (Utc::now() - timestamp).num_seconds().abs() < 60,
            "{timestamp}"
        );

        // Recompute the signature from what arrived, the way Aliyun checks it.
        let signature = query.remove("Signature").unwrap();
        let signed: BTreeMap<&str, String> =
            query.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let expected = sign(
            &SecretString::from(SECRET),
            &string_to_sign("POST", &canonical_query(&signed)),
        )
        .unwrap();
        assert_eq!(signature, expected);
        query
    }

    // ----- Reading licences and ID cards ----------------------------------------------------

    #[tokio::test]
    async fn reads_a_licence_from_a_signed_request_carrying_the_image() {
        let (result, received) = read_licence(Answer::json(200, success(&licence_data()))).await;
        assert_eq!(
            result.unwrap(),
            LicenceText {
                unit_name: Some("杭州橘子文化传媒有限公司".into()),
                uscc: Some("913301095U78M2HC4A".into()),
                legal_representative_name: Some("陈云平".into()),
                address: Some("萧山区宁围街道泰宏巷40号联合中心北区".into()),
                registration_authority: None,
            }
        );
        assert_eq!(received.len(), 1);
        let query = assert_signed_image_request(&received[0]);
        assert_eq!(query["Action"], "RecognizeBusinessLicense");
    }

    #[tokio::test]
    async fn reads_the_front_of_an_id_card() {
        let (result, received) = read_id_card(Answer::json(200, success(&id_card_data()))).await;
        assert_eq!(
            result.unwrap(),
            IdCardText {
                name: Some("方大呆".into()),
                id_number: Some("371002200610020000".into()),
            }
        );
        let query = assert_signed_image_request(&received[0]);
        assert_eq!(query["Action"], "RecognizeIdcard");
    }

    #[tokio::test]
    async fn each_request_has_its_own_nonce() {
        let (fake, reader) = reader_for(Answer::json(200, success(&licence_data()))).await;
        reader.business_licence(&image()).await.unwrap();
        reader.business_licence(&image()).await.unwrap();
        let nonces: Vec<String> = fake
            .received()
            .iter()
            .map(|request| request.query()["SignatureNonce"].clone())
            .collect();
        assert_eq!(nonces.len(), 2);
        assert_ne!(nonces[0], nonces[1]);
    }

    #[tokio::test]
    async fn a_registration_authority_is_taken_if_ever_sent() {
        let mut data = licence_data();
        data["data"]["registrationAuthority"] = json!("杭州市萧山区市场监督管理局");
        let (result, _) = read_licence(Answer::json(200, success(&data))).await;
        assert_eq!(
            result.unwrap().registration_authority.as_deref(),
            Some("杭州市萧山区市场监督管理局")
        );
    }

    #[tokio::test]
    async fn the_back_of_an_id_card_is_unreadable() {
        let back = json!({"data": {"back": {"data": {"issueAuthority": "上海市公安局"}}}});
        let (result, _) = read_id_card(Answer::json(200, success(&back))).await;
        let error = result.unwrap_err();
        assert!(
            matches!(
                error,
                OcrError::Unreadable {
                    document: OcrDocument::IdCardFront,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.message_zh().contains("人像面"));
    }

    #[tokio::test]
    async fn a_licence_with_no_field_read_is_unreadable() {
        let blank = json!({"data": {"companyName": " ", "creditCode": "", "title": "营业执照"}});
        let (result, _) = read_licence(Answer::json(200, success(&blank))).await;
        let error = result.unwrap_err();
        assert_eq!(error.code(), "ocr_unreadable");
        assert!(error.to_string().contains(REQUEST_ID), "{error}");
    }

    // ----- Provider errors ------------------------------------------------------------------

    #[tokio::test]
    async fn an_image_of_something_else_is_unreadable() {
        let body = json!({
            "RequestId": "A1",
            "HostId": "ocr-api.cn-hangzhou.aliyuncs.com",
            "Code": "unmatchedImageType",
            "Message": "The image type does not match the API operation.",
            "Recommend": "https://api.aliyun.com/troubleshoot?q=unmatchedImageType"
        });
        let (result, received) = read_licence(Answer::json(400, body.to_string())).await;
        assert_eq!(received.len(), 1);
        let error = result.unwrap_err();
        match &error {
            OcrError::Unreadable { document, detail } => {
                assert_eq!(*document, OcrDocument::BusinessLicence);
                assert!(
                    detail.contains("unmatchedImageType") && detail.contains("A1"),
                    "{detail}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(error.code(), "ocr_unreadable");
        assert_eq!(
            error.message_zh(),
            "未能识别图片中的营业执照信息，请上传清晰、完整的照片，或直接填写"
        );
    }

    #[tokio::test]
    async fn an_image_of_the_wrong_size_is_unreadable() {
        let body = json!({
            "RequestId": "A2",
            "Code": "illegalImageSize",
            "Message": "The image size must not be less than 5px or greater than 8192px."
        });
        let (result, _) = read_id_card(Answer::json(416, body.to_string())).await;
        assert_eq!(result.unwrap_err().code(), "ocr_unreadable");
    }

    #[tokio::test]
    async fn throttling_is_unavailable() {
        let body = json!({
            "RequestId": "A3",
            "Code": "Throttling.User",
            "Message": "Request was denied due to user flow control."
        });
        let (result, received) = read_licence(Answer::json(400, body.to_string())).await;
        assert_eq!(received.len(), 1, "not retried");
        let error = result.unwrap_err();
        match &error {
            OcrError::Unavailable { detail } => {
                assert!(detail.contains("Throttling.User"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(error.code(), "ocr_unavailable");
    }

    #[tokio::test]
    async fn missing_permission_is_a_refusal() {
        let body = json!({
            "RequestId": "A4",
            "Code": "noPermission",
            "Message": "You are not authorized to perform this operation."
        });
        let (result, _) = read_licence(Answer::json(401, body.to_string())).await;
        let error = result.unwrap_err();
        assert!(
            matches!(&error, OcrError::Refused { detail } if detail.contains("noPermission")),
            "{error:?}"
        );
        assert_eq!(error.code(), "ocr_refused");
    }

    #[tokio::test]
    async fn http_503_is_unavailable_and_not_retried() {
        let body = json!({"RequestId": "A5", "Code": "algorithmError", "Message": "boom"});
        let (result, received) = read_licence(Answer::json(503, body.to_string())).await;
        let error = result.unwrap_err();
        match &error {
            OcrError::Unavailable { detail } => assert!(detail.contains("503"), "{detail}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(received.len(), 1, "no retry");
    }

    #[tokio::test]
    async fn data_that_is_not_json_is_unavailable() {
        let body = json!({"RequestId": REQUEST_ID, "Data": "not json"}).to_string();
        let (result, _) = read_licence(Answer::json(200, body)).await;
        match result {
            Err(OcrError::Unavailable { detail }) => {
                assert!(detail.contains("Data is not JSON"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// An HTML page (status 200 or 502), no answer in time, a closed port: for both documents.
    #[tokio::test]
    async fn outages_are_unavailable() {
        let reader = |base: &str| AliyunOcr::new(config(Some(base.to_owned())), SHORT_TIMEOUTS);
        Outages::at("POST", "/")
            .never_quoting(&[SECRET])
            .check(async |base| reader(base).unwrap().business_licence(&image()).await)
            .await;
        Outages::at("POST", "/")
            .never_quoting(&[SECRET])
            .check(async |base| reader(base).unwrap().id_card_front(&image()).await)
            .await;
    }

    #[tokio::test]
    async fn an_empty_image_never_reaches_the_provider() {
        let (fake, reader) = reader_for(Answer::json(200, success(&licence_data()))).await;
        let error = reader.business_licence(&[]).await.unwrap_err();
        assert_eq!(error.code(), "ocr_unreadable");
        let error = reader
            .id_card_front(&vec![0; MAX_IMAGE_BYTES + 1])
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                OcrError::Unreadable {
                    document: OcrDocument::IdCardFront,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(fake.received().is_empty());
    }

    // ----- Reading answers ------------------------------------------------------------------

    #[test]
    fn codes_are_sorted_by_what_the_applicant_can_do() {
        for code in [
            "Throttling",
            "Throttling.User",
            "Throttling.Api",
            "algorithmError",
            "InternalError",
        ] {
            assert_eq!(classify(code), CodeClass::Unavailable, "{code}");
        }
        for code in [
            "unmatchedImageType",
            "illegalImageContent",
            "IllegalImageSize",
            "unsupportedImageFormat",
            "exceededImageContent",
            "ExceededFaceBackCount",
        ] {
            assert_eq!(classify(code), CodeClass::Unreadable, "{code}");
        }
        for code in [
            "noPermission",
            "ocrServiceNotOpen",
            "OcrServiceExpired",
            "illegalSignature",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId.NotFound",
        ] {
            assert_eq!(classify(code), CodeClass::Refused, "{code}");
        }
    }

    #[test]
    fn interprets_answers() {
        let document = OcrDocument::BusinessLicence;
        let ok = success(&licence_data());
        let recognised = interpret(document, StatusCode::OK, ok.as_bytes()).unwrap();
        assert_eq!(recognised.request_id, REQUEST_ID);
        assert_eq!(recognised.data, licence_data());

        // A `Data` object instead of a string is taken as well.
        let object = json!({"RequestId": "r", "Data": licence_data()}).to_string();
        let recognised = interpret(document, StatusCode::OK, object.as_bytes()).unwrap();
        assert_eq!(
            licence_text(&recognised.data).uscc.as_deref(),
            Some("913301095U78M2HC4A")
        );

        // An error code in a 200 answer counts.
        let coded = br#"{"RequestId":"r","Code":"noPermission","Message":"no"}"#;
        assert!(matches!(
            interpret(document, StatusCode::OK, coded),
            Err(OcrError::Refused { .. })
        ));
        // A 4xx without a code is a refusal; a redirect is not understood.
        assert!(matches!(
            interpret(document, StatusCode::FORBIDDEN, b"{}"),
            Err(OcrError::Refused { .. })
        ));
        assert!(matches!(
            interpret(document, StatusCode::FOUND, ok.as_bytes()),
            Err(OcrError::Unavailable { .. })
        ));
        for missing in [r#"{"RequestId":"r"}"#, r#"{"RequestId":"r","Data":null}"#] {
            assert!(
                matches!(
                    interpret(document, StatusCode::OK, missing.as_bytes()),
                    Err(OcrError::Unavailable { .. })
                ),
                "{missing}"
            );
        }
    }

    #[test]
    fn fields_are_text_or_numbers_written_out() {
        let data = json!({"data": {"a": " x ", "b": 91330109, "c": null, "d": {"e": 1}}});
        assert_eq!(field(&data, "/data/a").as_deref(), Some("x"));
        assert_eq!(field(&data, "/data/b").as_deref(), Some("91330109"));
        assert_eq!(field(&data, "/data/c"), None);
        assert_eq!(field(&data, "/data/d"), None);
        assert_eq!(field(&data, "/data/missing"), None);
        assert_eq!(field(&json!("text"), "/data/a"), None);
    }

    // ----- Configuration --------------------------------------------------------------------

    #[test]
    fn refuses_incomplete_configuration() {
        let mut no_secret = config(None);
        no_secret.access_key_secret = SecretString::from(" ");
        let mut no_id = config(None);
        no_id.access_key_id = String::new();
        for (config, field) in [
            (no_secret, "access_key_secret"),
            (no_id, "access_key_id"),
            (config(Some("ftp://example.com/".into())), "endpoint"),
            (config(Some("not a url".into())), "endpoint"),
            (config(Some("https://example.com/?a=b".into())), "endpoint"),
        ] {
            match AliyunOcr::new(config, HttpTimeouts::default()) {
                Err(error @ OcrError::Config { .. }) => {
                    assert!(error.to_string().contains(field), "{error}");
                    assert_eq!(error.code(), "ocr_misconfigured");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let reader = AliyunOcr::new(config(None), HttpTimeouts::default()).unwrap();
        assert_eq!(reader.endpoint.as_str(), DEFAULT_ENDPOINT);
        assert_eq!(reader.timeouts, HttpTimeouts::default());
    }

    #[test]
    fn configuration_deserialises_and_debug_hides_the_secret() {
        let config: AliyunOcrConfig = serde_json::from_value(json!({
            "access_key_id": "LTAI-ocr-id",
            "access_key_secret": SECRET,
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
            AliyunOcr::new(config, HttpTimeouts::default()).unwrap()
        );
        assert!(
            !printed.contains(SECRET) && printed.contains("LTAI-ocr-id"),
            "{printed}"
        );
    }
}
