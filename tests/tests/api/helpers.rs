//! `spawn_app()`: the real server on a random port with fresh state — SQLite + memory by
//! default, PostgreSQL + Redis when `DATABASE_URL` / `REDIS_URL` are set (a named service that
//! is unreachable fails the test) — on a clock the test moves instead of sleeping
//! ([`TestApp::advance`]), and OpenSSL as the outside judge.

use std::{path::Path, process::Command, sync::Arc, time::Duration};

use mcert_server::{
    clock::AdjustableClock, configuration::Settings, http::AppState, startup::Application,
};
use sea_orm::ConnectionTrait;
use secrecy::SecretString;

pub struct TestApp {
    pub address: String,
    /// The database the instance uses (its own; a second instance may share it).
    pub database_url: SecretString,
    pub client: reqwest::Client,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// The server's clock (under the development clock when `dev_clock` is set).
    pub clock: Arc<AdjustableClock>,
}

/// A fresh database on the server named by `DATABASE_URL`, so tests never share rows.
pub async fn fresh_postgres(base: &str) -> String {
    let name = format!("mcert_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(base)
        .await
        .expect("DATABASE_URL is set but PostgreSQL is unreachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let (prefix, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database path");
    format!("{prefix}/{name}")
}

/// The server in development mode (the `/dev/*` endpoints stand in for staff tools).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The server with settings adjusted by `configure` (after the test defaults).
/// A server for tests that run the outbox rounds themselves: short countdowns, no periodic
/// rounds, and pushes to `platform` (a fake employment platform) when one is given.
pub async fn app_without_workers(platform: Option<&mcert_testkit::FakeHttp>) -> TestApp {
    spawn_app_with(|s| {
        s.agreement_countdown_secs = 1;
        s.sync_interval_secs = 3600;
        s.otp_limits.resend_interval = Duration::from_millis(1);
        s.platform = platform.map(
            |platform| mcert_server::providers::platform::PlatformConfig {
                base_url: platform.base_url().to_owned(),
                api_key: "key-1".into(),
            },
        );
    })
    .await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(Arc::new(AdjustableClock::new()), configure).await
}

/// [`spawn_app_with`] on `clock`: instances that share their storage share their clock too, as
/// servers in one data centre share the time.
pub async fn spawn_app_on(
    clock: Arc<AdjustableClock>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        mcert_server::telemetry::init(mcert_server::configuration::LogFormat::Text);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path());
    if let Ok(base) = std::env::var("DATABASE_URL") {
        settings.database_url = Some(SecretString::from(fresh_postgres(&base).await));
    }
    if let Ok(url) = std::env::var("REDIS_URL") {
        settings.redis_url = Some(SecretString::from(url));
        settings.kv_prefix = format!("mcert-test:{}:", uuid::Uuid::new_v4().simple());
    }
    settings.dev_mode = true;
    configure(&mut settings);
    let database_url = settings.effective_database_url();
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        database_url,
        client: reqwest::Client::new(),
        state,
        dir,
        clock,
    }
}

impl TestApp {
    /// Staff revoke certificate `serial` (hex) for `reason`.
    pub async fn revoke(&self, serial: &str, reason: mcert_server::ca::RevocationReason) {
        self.state
            .authority
            .revoke(
                &mcert_server::domain::CertificateSerial::parse(serial).unwrap(),
                reason,
                &mcert_server::audit::Actor::Staff("reviewer1".into()),
            )
            .await
            .unwrap();
    }

    /// The first audit entry of `action`, and its detail as JSON.
    pub async fn audited(
        &self,
        action: &str,
    ) -> (mcert_server::audit::AuditEntry, serde_json::Value) {
        let entry = self
            .state
            .store
            .audit_entries(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .find(|entry| entry.action == action)
            .unwrap_or_else(|| panic!("no {action} in the audit log"));
        let detail = serde_json::from_str(&entry.detail).unwrap();
        (entry, detail)
    }

    /// Certificate `serial` (hex) as PEM, as the registry holds it.
    pub async fn certificate_pem(&self, serial: &str) -> String {
        use der::{Decode as _, EncodePem as _};
        let record = self
            .state
            .authority
            .certificate(&mcert_server::domain::CertificateSerial::parse(serial).unwrap())
            .await
            .unwrap();
        x509_cert::Certificate::from_der(record.der.as_ref().expect("an issued certificate"))
            .unwrap()
            .to_pem(der::pem::LineEnding::LF)
            .unwrap()
    }

    /// Moves the server's time forward by `by`, as if that much time had passed: its clock and
    /// the time to live of everything in its kv store (Redis keeps its own time).
    pub async fn advance(&self, by: Duration) {
        self.clock
            .advance(chrono::TimeDelta::from_std(by).expect("a duration a clock can move"));
        self.state
            .kv
            .fast_forward(by)
            .await
            .expect("the kv store moves on");
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// A connection of the test's own to the instance's database.
    pub async fn db(&self) -> sea_orm::DatabaseConnection {
        use secrecy::ExposeSecret as _;
        sea_orm::Database::connect(self.database_url.expose_secret())
            .await
            .unwrap()
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the issuing CA and root PEMs from `/pki/ca.pem`; returns their paths.
    pub async fn write_chain(&self) -> (std::path::PathBuf, std::path::PathBuf) {
        let pem = self.get("/pki/ca.pem").await.text().await.unwrap();
        let end = "-----END CERTIFICATE-----\n";
        let split = pem.find(end).unwrap() + end.len();
        let (issuing, root) = pem.split_at(split);
        std::fs::write(self.path("issuing.pem"), issuing).unwrap();
        std::fs::write(self.path("root.pem"), root).unwrap();
        std::fs::write(self.path("chain.pem"), &pem).unwrap();
        (self.path("issuing.pem"), self.path("root.pem"))
    }

    /// An SM2 key and CSR made by OpenSSL, as a USB key's tooling would.
    pub fn openssl_csr(&self, name: &str) -> Vec<u8> {
        let key = self.path(&format!("{name}.key"));
        let csr = self.path(&format!("{name}.csr"));
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            s(&key),
        ]);
        openssl(&[
            "req",
            "-new",
            "-key",
            s(&key),
            "-sm3",
            "-sigopt",
            "distid:1234567812345678",
            "-subj",
            "/CN=usbkey",
            "-outform",
            "DER",
            "-out",
            s(&csr),
        ]);
        std::fs::read(csr).unwrap()
    }
}

pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs openssl; panics with its output unless it succeeds. Returns stdout.
pub fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "openssl {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Checks an SM2 signature over `tbs` with the standard distinguishing ID, with OpenSSL.
/// (OpenSSL 3.0 cannot pass a distid when it verifies CRLs and OCSP responses itself.)
pub fn openssl_verify_sm2(dir: &Path, signer_cert: &Path, tbs: &[u8], signature_der: &[u8]) {
    let tbs_path = dir.join("tbs.der");
    let sig_path = dir.join("sig.der");
    let pub_path = dir.join("signer-pub.pem");
    std::fs::write(&tbs_path, tbs).unwrap();
    std::fs::write(&sig_path, signature_der).unwrap();
    openssl(&[
        "x509",
        "-in",
        s(signer_cert),
        "-pubkey",
        "-noout",
        "-out",
        s(&pub_path),
    ]);
    let out = openssl(&[
        "dgst",
        "-sm3",
        "-verify",
        s(&pub_path),
        "-sigopt",
        "distid:1234567812345678",
        "-signature",
        s(&sig_path),
        s(&tbs_path),
    ]);
    assert!(out.contains("Verified OK"), "{out}");
}
