//! Configuration: built-in defaults, then an optional TOML file, then `MCERT_`-prefixed
//! environment variables (plus the conventional `DATABASE_URL` and `REDIS_URL`).
//! Secrets are `SecretString`s: they never appear in `Debug` output or logs.

use std::path::{Path, PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Everything the server can be told. Every field has a working default.
#[derive(Debug, Deserialize)]
pub struct Settings {
    /// Address to listen on (`MCERT_BIND`).
    pub bind: String,
    /// Public base URL put in certificates (CRL distribution point, OCSP) and in QR codes
    /// (`MCERT_PUBLIC_URL`). Defaults to `http://{bind}`.
    pub public_url: Option<String>,
    /// Directory for the embedded database, the development master key and uploads
    /// (`MCERT_DATA_DIR`).
    pub data_dir: PathBuf,
    /// PostgreSQL (or SQLite) URL (`DATABASE_URL` / `MCERT_DATABASE_URL`); embedded SQLite
    /// under `data_dir` when absent.
    pub database_url: Option<SecretString>,
    /// Redis URL (`REDIS_URL` / `MCERT_REDIS_URL`); in-process store when absent.
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key and channel (`MCERT_KV_PREFIX`).
    pub kv_prefix: String,
    /// 128-bit master key as 32 hex digits (`MCERT_MASTER_KEY`). Seals the CA's private keys.
    /// When absent, `{data_dir}/master.key` is used, and created on the very first start.
    pub master_key: Option<SecretString>,
    /// Hours a CRL stays valid (`MCERT_CRL_VALIDITY_HOURS`); a new one is issued at half-life.
    pub crl_validity_hours: u32,
    /// `text` or `json` logs (`MCERT_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Development mode (`MCERT_DEV_MODE`): serves the `/dev/*` endpoints that stand in for
    /// staff and external services (enrolment tickets without a staff login). Never in
    /// production; the server logs a warning at start when it is on.
    pub dev_mode: bool,
    /// A development clock (`MCERT_DEV_CLOCK`, development mode only): the server's time can be
    /// moved forward with `POST /dev/clock`, so that a countdown, an SMS resend minute or a QR
    /// code's expiry can be passed without waiting. Off by default.
    pub dev_clock: bool,
    /// Seconds the service agreement must be on screen before an applicant can accept it
    /// (`MCERT_AGREEMENT_COUNTDOWN_SECS`).
    pub agreement_countdown_secs: u32,
    /// The employment platform approved applications are pushed to (`[platform]` in the file,
    /// or `MCERT_PLATFORM__BASE_URL` and `MCERT_PLATFORM__API_KEY`).
    pub platform: Option<crate::providers::platform::PlatformConfig>,
    /// Seconds between rounds of the platform sync worker (`MCERT_SYNC_INTERVAL_SECS`).
    pub sync_interval_secs: u32,
    /// Alibaba Cloud SMS (`[aliyun_sms]` in the file, or `MCERT_ALIYUN_SMS__ACCESS_KEY_ID` etc.).
    /// Without it, development mode shows messages in the log and at `/dev/sms`, and production
    /// refuses to send with a clear error.
    pub aliyun_sms: Option<crate::providers::sms::AliyunSmsConfig>,
    /// Alibaba Cloud OCR for licences and ID cards (`[aliyun_ocr]` in the file, or
    /// `MCERT_ALIYUN_OCR__ACCESS_KEY_ID` etc.). Without it the wizard does not prefill.
    pub aliyun_ocr: Option<crate::providers::ocr::AliyunOcrConfig>,
    /// The WeChat mini-program (`[wechat]`, or `MCERT_WECHAT__APPID` and `__SECRET`): sign-in
    /// and face verification results. Without it, development mode uses the plainly labelled
    /// development stand-ins and production refuses with a clear error.
    pub wechat: Option<crate::providers::wechat::WeChatConfig>,
    /// Alibaba Cloud's carrier three-element check (`[aliyun_carrier]`). Without it, as for
    /// WeChat.
    pub aliyun_carrier: Option<crate::providers::carrier::AliyunCarrierConfig>,
    /// The SMS code rules. Not configurable (DESIGN.md §10 fixes them); end-to-end tests
    /// shorten the resend interval to walk flows that prove one phone twice.
    #[serde(skip)]
    pub otp_limits: crate::otp::OtpLimits,
    /// How many files an applicant may upload a day. Not configurable (`docs/api.md` states
    /// it); end-to-end tests lower it to reach it.
    #[serde(skip)]
    pub upload_limits: crate::uploads::UploadLimits,
    /// QR-login rate limits per minute (`[login]`, or `MCERT_LOGIN__PER_CLIENT`,
    /// `MCERT_LOGIN__PER_ADDRESS`, `MCERT_LOGIN__SCANS_PER_USER`).
    #[serde(default)]
    pub login: crate::login::LoginLimits,
    /// The reverse proxies in front of the server (`MCERT_TRUSTED_PROXIES`: addresses and
    /// networks, comma-separated, e.g. `10.0.0.0/8,fd00::/8`; an array in the file). Only from
    /// these is `X-Forwarded-For` believed; rate limits and the login page's "请求来自" then
    /// count the client's address instead of the proxy's. Empty: the header is ignored.
    #[serde(default, deserialize_with = "list_or_string")]
    pub trusted_proxies: Vec<String>,
    /// An ip2region `xdb` file (format version 2, e.g. the `data/ip2region.xdb` of the npm
    /// package `ip2region-ts`) that locates the browser starting a login, shown on the phone as
    /// 请求来自 云南昆明 (`MCERT_IP_REGION_DB`). Without it the phone shows the address alone.
    pub ip_region_db: Option<PathBuf>,
    /// The printed application form (`[pdf]`, or `MCERT_PDF__FALLBACK_FONTS`): the fallback
    /// fonts for characters STSong-Light lacks. A listed font that cannot be loaded stops the
    /// start.
    #[serde(default)]
    pub pdf: crate::applications::form_fonts::PdfSettings,
    /// The font the CA-generated seals are drawn in (`MCERT_SEAL_FONT`): a Song-style CJK face,
    /// Noto Serif CJK SC Bold from Debian's `fonts-noto-cjk` by default. A font that cannot be
    /// loaded stops the start.
    #[serde(default = "default_seal_font")]
    pub seal_font: PathBuf,
    /// `mcert-server demo`: development mode with an approved demo application made at start.
    #[serde(skip)]
    pub demo: bool,
}

/// A list given as a TOML array or as one comma- or space-separated string (an environment
/// variable).
fn list_or_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::List(list) => list,
        Either::Text(text) => text
            .split([',', ' '])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Serialize)]
struct Defaults {
    bind: &'static str,
    data_dir: &'static str,
    kv_prefix: &'static str,
    crl_validity_hours: u32,
    log_format: LogFormat,
    dev_mode: bool,
    dev_clock: bool,
    agreement_countdown_secs: u32,
    sync_interval_secs: u32,
}

const DEFAULTS: Defaults = Defaults {
    bind: "127.0.0.1:8080",
    data_dir: "./data",
    kv_prefix: "mcert:",
    crl_validity_hours: 24,
    log_format: LogFormat::Text,
    dev_mode: false,
    dev_clock: false,
    agreement_countdown_secs: 10,
    sync_interval_secs: 15,
};

/// A configuration that cannot be used, with what to fix.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Settings {
    /// Reads defaults, then `MCERT_CONFIG` (or `./mcert.toml` if present), then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var_os("MCERT_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("mcert.toml"));
        Self::from_figment(Self::figment(Some(&file)))
    }

    /// The layered sources, without reading them yet.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(DEFAULTS));
        if let Some(file) = file {
            figment = figment.merge(Toml::file(file));
        }
        figment
            .merge(Env::prefixed("MCERT_").ignore(&["CONFIG"]).split("__"))
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]))
    }

    /// Extracts settings from any figment (tests build their own).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        figment.extract().map_err(|e| ConfigError(Box::new(e)))
    }

    /// Settings for an isolated instance: a port chosen by the OS and the given data dir.
    pub fn for_tests(data_dir: &Path) -> Self {
        Self {
            bind: "127.0.0.1:0".into(),
            public_url: None,
            data_dir: data_dir.to_path_buf(),
            database_url: None,
            redis_url: None,
            kv_prefix: DEFAULTS.kv_prefix.into(),
            master_key: None,
            crl_validity_hours: DEFAULTS.crl_validity_hours,
            log_format: LogFormat::Text,
            dev_mode: false,
            dev_clock: false,
            agreement_countdown_secs: DEFAULTS.agreement_countdown_secs,
            platform: None,
            sync_interval_secs: DEFAULTS.sync_interval_secs,
            aliyun_sms: None,
            aliyun_ocr: None,
            wechat: None,
            aliyun_carrier: None,
            otp_limits: crate::otp::OtpLimits::default(),
            upload_limits: crate::uploads::UploadLimits::default(),
            login: crate::login::LoginLimits::default(),
            trusted_proxies: Vec::new(),
            ip_region_db: None,
            pdf: crate::applications::form_fonts::PdfSettings::default(),
            seal_font: default_seal_font(),
            demo: false,
        }
    }

    /// The database URL to connect to: the configured one, or SQLite under `data_dir`.
    pub fn effective_database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => {
                let path = self.data_dir.join("mcert.db");
                SecretString::from(format!("sqlite://{}?mode=rwc", path.display()))
            }
        }
    }

    /// The public base URL without a trailing slash.
    pub fn public_base(&self, bound_port: u16) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => {
                let host = self.bind.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
                format!("http://{host}:{bound_port}")
            }
        }
    }

    /// Whether the configured database is PostgreSQL (for messages only).
    pub fn database_kind(&self) -> &'static str {
        match &self.database_url {
            Some(url) if url.expose_secret().starts_with("postgres") => "postgresql",
            Some(_) => "sqlite",
            None => "sqlite (embedded)",
        }
    }
}

fn default_seal_font() -> PathBuf {
    PathBuf::from(crate::seals::DEFAULT_SEAL_FONT)
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            let settings = Settings::from_figment(Settings::figment(None)).unwrap();
            assert_eq!(settings.bind, "127.0.0.1:8080");
            assert_eq!(settings.data_dir, PathBuf::from("./data"));
            assert_eq!(
                settings.seal_font,
                PathBuf::from(crate::seals::DEFAULT_SEAL_FONT)
            );
            assert!(settings.database_url.is_none());
            assert!(
                settings
                    .effective_database_url()
                    .expose_secret()
                    .starts_with("sqlite://./data/mcert.db")
            );
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file_and_secrets_do_not_print() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("mcert.toml", "bind = \"0.0.0.0:9000\"\nkv_prefix = \"f:\"")?;
            jail.set_env("MCERT_BIND", "127.0.0.1:9100");
            jail.set_env("DATABASE_URL", "postgres://u:hunter2@db/mcert");
            jail.set_env("MCERT_MASTER_KEY", "00112233445566778899aabbccddeeff");
            let settings =
                Settings::from_figment(Settings::figment(Some(Path::new("mcert.toml")))).unwrap();
            assert_eq!(settings.bind, "127.0.0.1:9100");
            assert_eq!(settings.kv_prefix, "f:");
            assert_eq!(settings.database_kind(), "postgresql");
            let printed = format!("{settings:?}");
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(!printed.contains("00112233"), "{printed}");
            Ok(())
        });
    }

    #[test]
    fn the_development_clock_is_off_unless_asked_for() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            let settings = Settings::from_figment(Settings::figment(None)).unwrap();
            assert!(!settings.dev_clock);
            jail.set_env("MCERT_DEV_CLOCK", "true");
            let settings = Settings::from_figment(Settings::figment(None)).unwrap();
            assert!(settings.dev_clock);
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_a_string() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("MCERT_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7");
            let settings = Settings::from_figment(Settings::figment(None)).unwrap();
            assert_eq!(settings.trusted_proxies, ["10.0.0.0/8", "192.168.1.7"]);
            jail.clear_env();
            jail.create_file("mcert.toml", "trusted_proxies = [\"127.0.0.1\"]")?;
            let settings =
                Settings::from_figment(Settings::figment(Some(Path::new("mcert.toml")))).unwrap();
            assert_eq!(settings.trusted_proxies, ["127.0.0.1"]);
            Ok(())
        });
    }

    #[test]
    fn fallback_fonts_default_to_hanazono_and_take_a_list_or_none() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            let settings = Settings::from_figment(Settings::figment(None)).unwrap();
            assert_eq!(
                settings.pdf.fallback_fonts,
                [
                    PathBuf::from("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
                    PathBuf::from("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"),
                ]
            );
            jail.set_env(
                "MCERT_PDF__FALLBACK_FONTS",
                "[/opt/fonts/a.ttf, /opt/fonts/b.ttf]",
            );
            let settings = Settings::from_figment(Settings::figment(None)).unwrap();
            assert_eq!(
                settings.pdf.fallback_fonts,
                [
                    PathBuf::from("/opt/fonts/a.ttf"),
                    PathBuf::from("/opt/fonts/b.ttf")
                ]
            );
            jail.set_env("MCERT_PDF__FALLBACK_FONTS", "[]");
            let settings = Settings::from_figment(Settings::figment(None)).unwrap();
            assert!(settings.pdf.fallback_fonts.is_empty());
            jail.clear_env();
            jail.create_file("mcert.toml", "[pdf]\nfallback_fonts = [\"/opt/x.ttf\"]")?;
            let settings =
                Settings::from_figment(Settings::figment(Some(Path::new("mcert.toml")))).unwrap();
            assert_eq!(settings.pdf.fallback_fonts, [PathBuf::from("/opt/x.ttf")]);
            Ok(())
        });
    }

    #[test]
    fn public_base_follows_the_bound_port() {
        let settings = Settings::for_tests(Path::new("/tmp"));
        assert_eq!(settings.public_base(41234), "http://127.0.0.1:41234");
    }
}
