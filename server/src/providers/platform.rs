//! The employment platform (就业系统) that approved applications are pushed to (DESIGN.md §10).
//!
//! [`HttpPlatform`] posts the employer and agent of an approved application, and each activation
//! or revocation of a certificate downloaded for one, as JSON with a bearer key. Pushing is
//! idempotent on the platform's side (keyed by the application id and its `revision`, or by the
//! serial and event), so the sync outbox retries transient failures with backoff. An approved
//! information change (信息变更) pushes the application's employer again with the next
//! `revision` and the new address or legal representative; the platform keeps the details of
//! the highest revision it has received, so a late retry of an older one changes nothing.
//! [`DevPlatform`] accepts everything and says so in the log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{HttpTimeouts, http_client};
use crate::certificates::CertificateEvent;

/// What is pushed for one approved application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployerSync {
    /// mcert's application id (the platform's idempotency key).
    pub application_id: i64,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 单位名称.
    pub unit_name: String,
    /// Administrative region code.
    pub region_code: String,
    /// 单位住所（地址）; absent in pushes queued before it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// 法定代表人姓名; absent in pushes queued before it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_representative_name: Option<String>,
    /// 法定代表人身份证号码; absent in pushes queued before it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_representative_id: Option<String>,
    /// 经办人姓名.
    pub agent_name: String,
    /// 经办人手机号码.
    pub agent_phone: String,
    /// Whether an electronic seal was requested.
    pub seal_wanted: bool,
    /// 0 for the details as the application was approved, then one more for each approved
    /// information change; with `application_id`, the platform's idempotency key, and the
    /// newest details are those of the highest revision.
    #[serde(default)]
    pub revision: u32,
}

/// What is pushed when a certificate of an approved application is activated or revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSync {
    /// mcert's application id, as in [`EmployerSync`].
    pub application_id: i64,
    /// Certificate serial, hex (with `event`, the platform's idempotency key).
    pub serial: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 单位名称.
    pub unit_name: String,
    /// 证书持有人姓名.
    pub holder_name: String,
    /// 证书持有人手机号码.
    pub holder_phone: String,
    /// `primary` (the employer's first certificate) or `sub`.
    pub role: String,
    /// What happened.
    pub event: CertificateEvent,
    /// Why, for a revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationReport>,
    /// Valid from.
    pub not_before: DateTime<Utc>,
    /// Valid until.
    pub not_after: DateTime<Utc>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Why a certificate was revoked, as the platform hears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationReport {
    /// The RFC 5280 reason (`affiliationChanged`, `keyCompromise`, `superseded`, …).
    pub reason: String,
    /// The cause a person chose (`phone_changed`, …); none for a supersession.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The cause in Chinese (证书使用人手机号变更, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_zh: Option<String>,
}

/// A certificate event for tests: application 7's primary certificate `5f3a`, activated.
#[cfg(test)]
pub(crate) fn activation_for_tests() -> CertificateSync {
    let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    CertificateSync {
        application_id: 7,
        serial: "5f3a".into(),
        uscc: "91440300708461136T".into(),
        unit_name: "昆明测试科技有限公司".into(),
        holder_name: "张三".into(),
        holder_phone: "13800138000".into(),
        role: "primary".into(),
        event: CertificateEvent::Activated,
        revocation: None,
        not_before: at,
        not_after: at + chrono::TimeDelta::days(365),
        at,
    }
}

/// A merge of the platform's accounts for one USCC into one (seed 000 FAQ (一)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequest {
    /// 统一社会信用代码.
    pub uscc: String,
    /// The account that remains.
    pub keep: String,
    /// The accounts merged into it.
    pub absorb: Vec<String>,
    /// The CA staff member who asked (for the platform's records).
    pub operator: String,
}

/// The platform's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAnswer {
    /// Recorded; the platform's reference.
    Synced {
        /// Reference on the platform.
        reference: String,
    },
    /// The platform has several employer accounts for this USCC: they must be merged first
    /// (seed 000 FAQ (一): 需要进行单位信息合并).
    MultipleAccounts {
        /// The accounts, as the platform names them.
        accounts: Vec<String>,
    },
}

/// Why a push did not get a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// Timeout, connection failure, 5xx or an unreadable answer: try again later.
    #[error("employment platform unavailable: {detail}")]
    Unavailable {
        /// For the logs.
        detail: String,
    },
    /// The platform refused the request itself (4xx other than the merge answer).
    #[error("employment platform refused the push: {detail}")]
    Refused {
        /// For the logs and staff.
        detail: String,
    },
}

/// The employment platform.
#[async_trait::async_trait]
pub trait EmploymentPlatform: Send + Sync + std::fmt::Debug {
    /// Pushes one approved application.
    async fn push(&self, record: &EmployerSync) -> Result<SyncAnswer, PlatformError>;
    /// Merges the accounts of one USCC. Idempotent on the platform's side.
    async fn merge_accounts(&self, request: &MergeRequest) -> Result<(), PlatformError>;
    /// Pushes one certificate event; the platform's reference.
    async fn push_certificate(&self, record: &CertificateSync) -> Result<String, PlatformError>;
}

/// Settings of the real platform (`[platform]` in the file).
#[derive(Clone, Deserialize)]
pub struct PlatformConfig {
    /// Base URL, e.g. `https://jy.example.gov.cn`.
    pub base_url: String,
    /// Bearer key issued by the platform.
    pub api_key: secrecy::SecretString,
}

impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformConfig")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The platform over HTTP: `POST {base_url}/api/ca/employers` to push, `POST
/// {base_url}/api/ca/employers/{uscc}/merge` to merge accounts, `POST
/// {base_url}/api/ca/certificates` to push a certificate event.
pub struct HttpPlatform {
    client: reqwest::Client,
    /// `{base_url}/api/ca`.
    api: String,
    api_key: secrecy::SecretString,
}

impl std::fmt::Debug for HttpPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPlatform")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    message: Option<String>,
}

impl HttpPlatform {
    /// A client with the given timeouts.
    pub fn new(config: &PlatformConfig, timeouts: HttpTimeouts) -> Result<Self, PlatformError> {
        let base = config.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(PlatformError::Refused {
                detail: format!("platform base_url {base} is not http(s)"),
            });
        }
        Ok(Self {
            client: http_client(timeouts).map_err(|e| PlatformError::Unavailable {
                detail: e.to_string(),
            })?,
            api: format!("{base}/api/ca"),
            api_key: config.api_key.clone(),
        })
    }
}

impl HttpPlatform {
    /// Posts `body` to `url`; an outage (transport failure, 5xx, unreadable JSON) is
    /// [`PlatformError::Unavailable`].
    async fn post(
        &self,
        url: &str,
        body: &impl Serialize,
    ) -> Result<(reqwest::StatusCode, Answer), PlatformError> {
        use secrecy::ExposeSecret as _;
        let unavailable = |detail: String| PlatformError::Unavailable { detail };
        let response = self
            .client
            .post(url)
            .bearer_auth(self.api_key.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|e| unavailable(format!("unreadable answer ({status}): {e}")))?;
        Ok((status, answer))
    }
}

fn refused(status: reqwest::StatusCode, answer: Answer) -> PlatformError {
    PlatformError::Refused {
        detail: format!(
            "HTTP {status} {}: {}",
            answer.status,
            answer.message.unwrap_or_default()
        ),
    }
}

#[async_trait::async_trait]
impl EmploymentPlatform for HttpPlatform {
    async fn push(&self, record: &EmployerSync) -> Result<SyncAnswer, PlatformError> {
        let url = format!("{}/employers", self.api);
        let (status, answer) = self.post(&url, record).await?;
        match (status.as_u16(), answer.status.as_str()) {
            (200 | 201, "ok") => Ok(SyncAnswer::Synced {
                reference: answer.reference.unwrap_or_default(),
            }),
            (409, "multiple_accounts") => Ok(SyncAnswer::MultipleAccounts {
                accounts: answer.accounts,
            }),
            _ => Err(refused(status, answer)),
        }
    }

    async fn merge_accounts(&self, request: &MergeRequest) -> Result<(), PlatformError> {
        let url = format!("{}/employers/{}/merge", self.api, request.uscc);
        let (status, answer) = self.post(&url, request).await?;
        match (status.as_u16(), answer.status.as_str()) {
            (200, "ok") => Ok(()),
            _ => Err(refused(status, answer)),
        }
    }

    async fn push_certificate(&self, record: &CertificateSync) -> Result<String, PlatformError> {
        let url = format!("{}/certificates", self.api);
        let (status, answer) = self.post(&url, record).await?;
        match (status.as_u16(), answer.status.as_str()) {
            (200 | 201, "ok") => Ok(answer.reference.unwrap_or_default()),
            _ => Err(refused(status, answer)),
        }
    }
}

/// The platform when none is configured outside development mode: every push is an outage, so
/// rows wait (with backoff) until the platform is configured.
#[derive(Debug, Default)]
pub struct UnconfiguredPlatform;

#[async_trait::async_trait]
impl EmploymentPlatform for UnconfiguredPlatform {
    async fn push(&self, _record: &EmployerSync) -> Result<SyncAnswer, PlatformError> {
        Err(unconfigured())
    }

    async fn merge_accounts(&self, _request: &MergeRequest) -> Result<(), PlatformError> {
        Err(unconfigured())
    }

    async fn push_certificate(&self, _record: &CertificateSync) -> Result<String, PlatformError> {
        Err(unconfigured())
    }
}

fn unconfigured() -> PlatformError {
    PlatformError::Unavailable {
        detail: "no employment platform configured ([platform] base_url and api_key)".into(),
    }
}

/// DEVELOPMENT ONLY: accepts every push and logs it.
#[derive(Debug, Default)]
pub struct DevPlatform;

#[async_trait::async_trait]
impl EmploymentPlatform for DevPlatform {
    async fn push(&self, record: &EmployerSync) -> Result<SyncAnswer, PlatformError> {
        tracing::info!(
            application = record.application_id,
            revision = record.revision,
            uscc = %record.uscc,
            "DEVELOPMENT platform: push accepted, nothing sent"
        );
        Ok(SyncAnswer::Synced {
            reference: format!("dev-{}-{}", record.application_id, record.revision),
        })
    }

    async fn merge_accounts(&self, request: &MergeRequest) -> Result<(), PlatformError> {
        tracing::info!(
            uscc = %request.uscc,
            keep = %request.keep,
            "DEVELOPMENT platform: merge accepted, nothing sent"
        );
        Ok(())
    }

    async fn push_certificate(&self, record: &CertificateSync) -> Result<String, PlatformError> {
        tracing::info!(
            application = record.application_id,
            serial = %record.serial,
            event = record.event.as_str(),
            "DEVELOPMENT platform: certificate push accepted, nothing sent"
        );
        Ok(format!("dev-{}-{}", record.serial, record.event.as_str()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use mcert_testkit::{Answer, FakeHttp, Received, closed_port_url};

    use super::*;
    use crate::providers::outages::SHORT_TIMEOUTS;

    fn record() -> EmployerSync {
        EmployerSync {
            application_id: 7,
            uscc: "91440300708461136T".into(),
            unit_name: "昆明测试科技有限公司".into(),
            region_code: "530112".into(),
            address: Some("云南省昆明市西山区某某路 1 号".into()),
            legal_representative_name: Some("李四".into()),
            legal_representative_id: Some("11010519491231002X".into()),
            agent_name: "张三".into(),
            agent_phone: "13800138000".into(),
            seal_wanted: false,
            revision: 0,
        }
    }

    #[test]
    fn a_push_queued_before_the_details_and_revision_were_sent_still_reads() {
        let old = serde_json::json!({
            "application_id": 7,
            "uscc": "91440300708461136T",
            "unit_name": "昆明测试科技有限公司",
            "region_code": "530112",
            "agent_name": "张三",
            "agent_phone": "13800138000",
            "seal_wanted": false,
        });
        let read: EmployerSync = serde_json::from_value(old.clone()).unwrap();
        assert_eq!((read.revision, read.address.as_deref()), (0, None));
        let mut again = serde_json::to_value(&read).unwrap();
        assert_eq!(
            again.as_object_mut().unwrap().remove("revision"),
            Some(0.into())
        );
        assert_eq!(again, old, "pushed as it was queued, with its revision");
    }

    #[tokio::test]
    async fn an_update_is_posted_with_its_revision_and_details() {
        let ok = FakeHttp::start(Answer::json(200, r#"{"status":"ok","reference":"JY-1"}"#)).await;
        let update = EmployerSync {
            address: Some("云南省昆明市五华区新地址 9 号".into()),
            revision: 2,
            ..record()
        };
        client(ok.base_url()).push(&update).await.unwrap();
        let sent = only_request(&ok, "/api/ca/employers");
        assert_eq!(
            (
                &sent["revision"],
                &sent["address"],
                &sent["legal_representative_name"]
            ),
            (
                &2.into(),
                &"云南省昆明市五华区新地址 9 号".into(),
                &"李四".into()
            )
        );
    }

    fn client(base: &str) -> HttpPlatform {
        HttpPlatform::new(
            &PlatformConfig {
                base_url: base.to_string(),
                api_key: "key-1".into(),
            },
            SHORT_TIMEOUTS,
        )
        .unwrap()
    }

    /// The one request the fake got, checked for the path and the bearer key; its JSON body.
    fn only_request(fake: &FakeHttp, path: &str) -> serde_json::Value {
        let received: Vec<Received> = fake.received();
        assert_eq!(received.len(), 1);
        assert_eq!(
            (received[0].method.as_str(), received[0].path()),
            ("POST", path)
        );
        assert_eq!(received[0].header("authorization"), Some("Bearer key-1"));
        serde_json::from_slice(&received[0].body).unwrap()
    }

    #[tokio::test]
    async fn answers_are_read() {
        let ok = FakeHttp::start(Answer::json(200, r#"{"status":"ok","reference":"JY-1"}"#)).await;
        assert_eq!(
            client(ok.base_url()).push(&record()).await.unwrap(),
            SyncAnswer::Synced {
                reference: "JY-1".into()
            }
        );
        assert_eq!(only_request(&ok, "/api/ca/employers")["application_id"], 7);
        let merge = FakeHttp::start(Answer::json(
            409,
            r#"{"status":"multiple_accounts","accounts":["A","B"]}"#,
        ))
        .await;
        assert_eq!(
            client(merge.base_url()).push(&record()).await.unwrap(),
            SyncAnswer::MultipleAccounts {
                accounts: vec!["A".into(), "B".into()]
            }
        );
        let refused =
            FakeHttp::start(Answer::json(400, r#"{"status":"bad","message":"no"}"#)).await;
        assert!(matches!(
            client(refused.base_url()).push(&record()).await,
            Err(PlatformError::Refused { .. })
        ));
    }

    #[tokio::test]
    async fn certificate_events_are_posted_and_answers_read() {
        let ok =
            FakeHttp::start(Answer::json(201, r#"{"status":"ok","reference":"JY-C-1"}"#)).await;
        let reference = client(ok.base_url())
            .push_certificate(&activation_for_tests())
            .await
            .unwrap();
        assert_eq!(reference, "JY-C-1");
        let sent = only_request(&ok, "/api/ca/certificates");
        assert_eq!(
            (&sent["serial"], &sent["event"], &sent["role"]),
            (&"5f3a".into(), &"activated".into(), &"primary".into())
        );
        assert_eq!(sent["holder_phone"], "13800138000");
        let refused = FakeHttp::start(Answer::json(
            422,
            r#"{"status":"unknown_serial","message":"5f3a"}"#,
        ))
        .await;
        match client(refused.base_url())
            .push_certificate(&activation_for_tests())
            .await
        {
            Err(PlatformError::Refused { detail }) => assert!(detail.contains("5f3a"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn outages_are_unavailable() {
        let answers = [
            Answer::json(503, "busy"),
            Answer::html(200, "<html>"),
            Answer::html(404, "<html>not found</html>"),
            Answer::Never,
        ];
        let mut fakes = Vec::new();
        for answer in answers {
            fakes.push(FakeHttp::start(answer).await);
        }
        let mut bases: Vec<String> = fakes.iter().map(|f| f.base_url().to_string()).collect();
        bases.push(closed_port_url().await);
        for base in &bases {
            let platform = client(base);
            assert!(
                matches!(
                    platform.push(&record()).await,
                    Err(PlatformError::Unavailable { .. })
                ),
                "push to {base}"
            );
            assert!(
                matches!(
                    platform.push_certificate(&activation_for_tests()).await,
                    Err(PlatformError::Unavailable { .. })
                ),
                "certificate push to {base}"
            );
        }
    }

    #[tokio::test]
    async fn merges_are_posted_and_answers_read() {
        let request = MergeRequest {
            uscc: "91440300708461136T".into(),
            keep: "JY-A".into(),
            absorb: vec!["JY-B".into()],
            operator: "reviewer".into(),
        };
        let ok = FakeHttp::start(Answer::json(200, r#"{"status":"ok"}"#)).await;
        client(ok.base_url())
            .merge_accounts(&request)
            .await
            .unwrap();
        let sent = only_request(&ok, "/api/ca/employers/91440300708461136T/merge");
        assert_eq!(
            serde_json::from_value::<MergeRequest>(sent).unwrap(),
            request
        );
        let unknown = FakeHttp::start(Answer::json(
            404,
            r#"{"status":"unknown_account","message":"JY-A"}"#,
        ))
        .await;
        assert!(matches!(
            client(unknown.base_url()).merge_accounts(&request).await,
            Err(PlatformError::Refused { .. })
        ));
        let down = FakeHttp::start(Answer::html(502, "bad gateway")).await;
        assert!(matches!(
            client(down.base_url()).merge_accounts(&request).await,
            Err(PlatformError::Unavailable { .. })
        ));
    }
}
