//! The employment platform (就业系统) that approved applications are pushed to (DESIGN.md §10).
//!
//! [`HttpPlatform`] posts the employer and agent of an approved application as JSON with a bearer
//! key. Pushing is idempotent on the platform's side (keyed by the application id), so the sync
//! outbox retries transient failures with backoff. [`DevPlatform`] accepts everything and says so
//! in the log.

use serde::{Deserialize, Serialize};

use super::{HttpTimeouts, http_client};

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
    /// 经办人姓名.
    pub agent_name: String,
    /// 经办人手机号码.
    pub agent_phone: String,
    /// Whether an electronic seal was requested.
    pub seal_wanted: bool,
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
/// {base_url}/api/ca/employers/{uscc}/merge` to merge accounts.
pub struct HttpPlatform {
    client: reqwest::Client,
    url: String,
    api_key: secrecy::SecretString,
}

impl std::fmt::Debug for HttpPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPlatform")
            .field("url", &self.url)
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
            url: format!("{base}/api/ca/employers"),
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
        let (status, answer) = self.post(&self.url, record).await?;
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
        let url = format!("{}/{}/merge", self.url, request.uscc);
        let (status, answer) = self.post(&url, request).await?;
        match (status.as_u16(), answer.status.as_str()) {
            (200, "ok") => Ok(()),
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
        Err(PlatformError::Unavailable {
            detail: "no employment platform configured ([platform] base_url and api_key)".into(),
        })
    }

    async fn merge_accounts(&self, _request: &MergeRequest) -> Result<(), PlatformError> {
        Err(PlatformError::Unavailable {
            detail: "no employment platform configured ([platform] base_url and api_key)".into(),
        })
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
            uscc = %record.uscc,
            "DEVELOPMENT platform: push accepted, nothing sent"
        );
        Ok(SyncAnswer::Synced {
            reference: format!("dev-{}", record.application_id),
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use actix_web::{App, HttpResponse, HttpServer, web};

    use super::*;

    fn record() -> EmployerSync {
        EmployerSync {
            application_id: 7,
            uscc: "91440300708461136T".into(),
            unit_name: "昆明测试科技有限公司".into(),
            region_code: "530112".into(),
            agent_name: "张三".into(),
            agent_phone: "13800138000".into(),
            seal_wanted: false,
        }
    }

    /// A fake platform on loopback answering every push with `status` and `body`
    /// (or never answering when `hang`).
    async fn fake(status: u16, body: &'static str, hang: bool) -> String {
        let server = HttpServer::new(move || {
            App::new().route(
                "/api/ca/employers",
                web::post().to(move |request: actix_web::HttpRequest, got: web::Json<EmployerSync>| async move {
                    assert_eq!(got.application_id, 7);
                    assert_eq!(
                        request.headers().get("authorization").unwrap(),
                        "Bearer key-1"
                    );
                    if hang {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .content_type("application/json")
                        .body(body)
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let address = server.addrs()[0];
        tokio::spawn(server.run());
        format!("http://{address}")
    }

    fn client(base: String) -> HttpPlatform {
        HttpPlatform::new(
            &PlatformConfig {
                base_url: base,
                api_key: "key-1".into(),
            },
            HttpTimeouts {
                connect: Duration::from_millis(300),
                total: Duration::from_millis(300),
            },
        )
        .unwrap()
    }

    #[actix_web::test]
    async fn answers_are_read() {
        let ok = client(fake(200, r#"{"status":"ok","reference":"JY-1"}"#, false).await);
        assert_eq!(
            ok.push(&record()).await.unwrap(),
            SyncAnswer::Synced {
                reference: "JY-1".into()
            }
        );
        let merge = client(
            fake(
                409,
                r#"{"status":"multiple_accounts","accounts":["A","B"]}"#,
                false,
            )
            .await,
        );
        assert_eq!(
            merge.push(&record()).await.unwrap(),
            SyncAnswer::MultipleAccounts {
                accounts: vec!["A".into(), "B".into()]
            }
        );
        let refused = client(fake(400, r#"{"status":"bad","message":"no"}"#, false).await);
        assert!(matches!(
            refused.push(&record()).await,
            Err(PlatformError::Refused { .. })
        ));
    }

    #[actix_web::test]
    async fn outages_are_unavailable() {
        for base in [
            fake(503, "busy", false).await,
            fake(200, "<html>", false).await,
            fake(200, r#"{"status":"ok"}"#, true).await,
        ] {
            assert!(matches!(
                client(base).push(&record()).await,
                Err(PlatformError::Unavailable { .. })
            ));
        }
    }

    /// A fake platform answering merges with `status` and `body`.
    async fn fake_merge(status: u16, body: &'static str) -> String {
        let server = HttpServer::new(move || {
            App::new().route(
                "/api/ca/employers/{uscc}/merge",
                web::post().to(
                    move |path: web::Path<String>, got: web::Json<MergeRequest>| async move {
                        assert_eq!(path.as_str(), "91440300708461136T");
                        assert_eq!(got.keep, "JY-A");
                        assert_eq!(got.absorb, vec!["JY-B".to_string()]);
                        assert_eq!(got.operator, "reviewer");
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                            .content_type("application/json")
                            .body(body)
                    },
                ),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let address = server.addrs()[0];
        tokio::spawn(server.run());
        format!("http://{address}")
    }

    #[actix_web::test]
    async fn merges_are_posted_and_answers_read() {
        let request = MergeRequest {
            uscc: "91440300708461136T".into(),
            keep: "JY-A".into(),
            absorb: vec!["JY-B".into()],
            operator: "reviewer".into(),
        };
        let ok = client(fake_merge(200, r#"{"status":"ok"}"#).await);
        ok.merge_accounts(&request).await.unwrap();
        let unknown =
            client(fake_merge(404, r#"{"status":"unknown_account","message":"JY-A"}"#).await);
        assert!(matches!(
            unknown.merge_accounts(&request).await,
            Err(PlatformError::Refused { .. })
        ));
        let down = client(fake_merge(502, "bad gateway").await);
        assert!(matches!(
            down.merge_accounts(&request).await,
            Err(PlatformError::Unavailable { .. })
        ));
    }
}
