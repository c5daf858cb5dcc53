//! The command line: `serve` (default), `migrate`, and the staff `admin` commands.

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::audit::Actor;
use crate::certificates::Primaries;
use crate::failure::{Describe, Description};
use crate::{
    ca::{HolderDraft, RevocationReason, UnitDraft},
    configuration::Settings,
    domain::CertificateSerial,
    portals::{BusinessItem, ClientKind, PortalDraft, Portals, items::catalogue_from_specs},
    startup,
};

/// mcert: certificate authority and QR-login service.
#[derive(Debug, Parser)]
#[command(name = "mcert-server", version)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (default).
    Serve,
    /// Run in development mode with a demo portal at /demo and an approved demo application,
    /// and print how to log in with `mcert-phone` (never in production).
    Demo,
    /// Database schema.
    Migrate {
        /// up, down or status.
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Staff operations.
    Admin {
        /// The operation.
        #[command(subcommand)]
        action: Box<AdminAction>,
    },
}

/// A portal's business-item catalogue on the command line.
#[derive(Debug, clap::Args)]
pub struct CatalogueArgs {
    /// A business item of its catalogue, `CODE=名称` (repeatable): what a sub-certificate can
    /// be granted (事项授权).
    #[arg(long = "item")]
    items: Vec<String>,
    /// The group of an item, `CODE=分组` (repeatable).
    #[arg(long = "item-group")]
    item_groups: Vec<String>,
    /// An item granted to every sub-certificate of a media type and not removable,
    /// `CODE=physical` or `CODE=mobile` (repeatable; seed 000: 失业保险默认实体CA已授权).
    #[arg(long = "locked-item")]
    locked_items: Vec<String>,
}

impl CatalogueArgs {
    fn catalogue(&self) -> anyhow::Result<Vec<BusinessItem>> {
        catalogue_from_specs(&self.items, &self.item_groups, &self.locked_items)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// Migration actions.
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Roll back the newest migrations.
    Down {
        /// How many.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// Staff actions.
/// Who a certificate is for, as the admin commands take it.
#[derive(Debug, clap::Args)]
pub struct HolderArgs {
    /// Employer name (单位名称).
    #[arg(long)]
    unit_name: String,
    /// Unified social credit code (统一社会信用代码).
    #[arg(long)]
    uscc: String,
    /// Holder's name (证书使用人).
    #[arg(long)]
    holder_name: String,
    /// Holder's resident ID number.
    #[arg(long)]
    holder_id: String,
    /// Holder's mobile phone.
    #[arg(long)]
    phone: String,
    /// Who is acting, for the audit log.
    #[arg(long, default_value = "cli")]
    actor: String,
}

impl HolderArgs {
    /// Who acts, as the audit log names them.
    fn actor(&self) -> Actor {
        Actor::Operator(self.actor.clone())
    }

    /// Parses every field (before anything is opened).
    fn drafts(&self) -> anyhow::Result<(UnitDraft, HolderDraft)> {
        let unit = UnitDraft::parse(&self.uscc, &self.unit_name).map_err(sentence)?;
        let holder = HolderDraft::parse(&self.holder_name, &self.holder_id, &self.phone)
            .map_err(sentence)?;
        Ok((unit, holder))
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Issue a USB-key certificate from the token's PKCS#10 request; prints the PEM.
    IssuePhysical {
        /// The CSR file (DER or PEM).
        #[arg(long)]
        csr: PathBuf,
        #[command(flatten)]
        holder: HolderArgs,
    },
    /// Create a one-time enrolment ticket (下载码) for a mobile certificate; prints the ticket.
    /// The holder enters it in the mini-program (or `mcert-phone enrol`) with a new PIN.
    EnrolTicket {
        #[command(flatten)]
        holder: HolderArgs,
    },
    /// Revoke a certificate, for a cause (证书废除) or with a bare RFC 5280 reason.
    Revoke {
        /// Serial number, hex.
        #[arg(long)]
        serial: String,
        /// The cause: holder_changed (证书使用人变更), phone_changed (证书使用人手机号变更),
        /// employer_renamed (单位名称变更), no_longer_needed (不再使用), key_compromise
        /// (手机丢失或密钥泄露); recorded, told to the employment platform, and its RFC 5280
        /// reason goes in the CRL.
        #[arg(long, conflicts_with = "reason")]
        cause: Option<String>,
        /// RFC 5280 reason without a cause: unspecified, keyCompromise, affiliationChanged,
        /// superseded, cessationOfOperation, privilegeWithdrawn.
        #[arg(long, default_value = "unspecified")]
        reason: String,
        /// Who is acting, for the audit log.
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Renew a USB-key certificate (年审延期) from the token's new PKCS#10 request, from 30 days
    /// before it expires: the new certificate (same employer and holder, valid until a year
    /// after the old one ends) is active at once and the old one superseded; prints the PEM.
    /// Mobile certificates are renewed by their holder in the mini-program.
    Renew {
        /// The certificate renewed, serial number in hex.
        #[arg(long)]
        serial: String,
        /// The token's new CSR file (DER or PEM).
        #[arg(long)]
        csr: PathBuf,
        /// Who is acting, for the audit log.
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Verify a seal signature (a DER `SES_Signature` file) or a stamped PDF against this CA, in
    /// GB/T 38540's order; prints each check and the verdict, and exits non-zero when invalid.
    VerifySeal {
        /// The `SES_Signature` (DER) or the stamped PDF.
        file: PathBuf,
        /// For a `SES_Signature`: the document it was made over (its SM3 is compared).
        #[arg(long)]
        document: Option<PathBuf>,
    },
    /// Make an active sub-certificate its employer's primary (主证书) once the old primary is
    /// revoked or expired; audited with the reason.
    SetPrimary {
        /// Serial number, hex.
        #[arg(long)]
        serial: String,
        /// Why (recorded in the audit log; up to 200 characters).
        #[arg(long)]
        reason: String,
        /// Who is acting, for the audit log.
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Check the audit log's hash chain.
    AuditVerify,
    /// Add a staff account (reviewer). The password is read from `MCERT_STAFF_PASSWORD`, or from
    /// the first line of standard input: at least 10 characters with letters and digits.
    AddStaff {
        /// Login name: letters, digits, `.`, `_`, `-`.
        #[arg(long)]
        username: String,
        /// Name shown in the audit log and review pages.
        #[arg(long)]
        name: String,
        /// `reviewer` (review applications, information changes and captured seals) or
        /// `administrator` (everything: certificates, employers, fees, staff, portals).
        #[arg(long, default_value = "reviewer", value_parser = ["reviewer", "administrator"])]
        role: String,
        /// Who is acting, for the audit log.
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Register an employment portal as an OIDC client; prints its client id and, for a
    /// confidential portal, its secret (shown once, stored as a digest).
    AddPortal {
        /// The name the phone shows when its QR code is scanned.
        #[arg(long)]
        name: String,
        /// An origin its pages live on (`https://host[:port]`; repeatable; the first is shown
        /// on the phone).
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// An exact redirect URI (repeatable).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// An exact post-logout redirect URI (repeatable).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (no secret; PKCE S256 required) instead of a confidential one.
        #[arg(long)]
        public: bool,
        /// A scope it may ask for (`openid`, `profile`, `employer`; repeatable; default all).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Its business-item catalogue.
        #[command(flatten)]
        catalogue: CatalogueArgs,
        /// Where it takes OpenID Connect Back-Channel Logout tokens (https; http on loopback).
        #[arg(long = "backchannel-logout-uri")]
        backchannel_logout_uri: Option<String>,
        /// Who is acting, for the audit log.
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Replace the business-item catalogue of a registered portal (audited with the catalogue
    /// before and after).
    SetPortalItems {
        /// The portal's client id.
        #[arg(long = "client-id")]
        client_id: String,
        /// Its business-item catalogue.
        #[command(flatten)]
        catalogue: CatalogueArgs,
        /// Who is acting, for the audit log.
        #[arg(long, default_value = "cli")]
        actor: String,
    },
}

/// Runs a command. Errors come back as sentences for the terminal.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = startup::Application::build(settings).await?;
            app.run_until_stopped()
                .await
                .context("server stopped with an error")
        }
        Command::Demo => {
            let mut settings = settings;
            settings.dev_mode = true;
            settings.demo = true;
            // The demo renews its certificate with the clock moved to the month before expiry.
            settings.dev_clock = true;
            let app = startup::Application::build(settings).await?;
            app.run_until_stopped()
                .await
                .context("server stopped with an error")
        }
        Command::Migrate { action } => migrate(action, &settings).await,
        Command::Admin { action } => admin(*action, &settings).await,
    }
}

async fn migrate(action: MigrateAction, settings: &Settings) -> anyhow::Result<()> {
    let db = crate::store::connect(&settings.effective_database_url())
        .await
        .with_context(|| {
            format!(
                "cannot connect to the {} database",
                settings.database_kind()
            )
        })?;
    match action {
        MigrateAction::Up => {
            crate::store::migrate_up(&db).await?;
            println!("all migrations applied");
        }
        MigrateAction::Down { steps } => {
            crate::store::migrate_down(&db, steps).await?;
            println!("rolled back {steps} migration(s)");
        }
        MigrateAction::Status => {
            for (name, applied) in crate::store::migration_status(&db).await? {
                println!("{} {name}", if applied { "applied" } else { "pending" });
            }
        }
    }
    Ok(())
}

/// An error as one plain sentence (Chinese message, then the code and the technical detail).
fn sentence<E: Describe + std::error::Error>(error: E) -> anyhow::Error {
    let Description { code, message, .. } = error.describe();
    anyhow::anyhow!(
        "{message} [{code}: {}]",
        crate::telemetry::error_chain(&error)
    )
}

async fn admin(action: AdminAction, settings: &Settings) -> anyhow::Result<()> {
    // Input is parsed before anything is opened, so bad input changes nothing.
    match action {
        AdminAction::IssuePhysical { csr, holder: args } => {
            let (unit, holder) = args.drafts()?;
            let csr = std::fs::read(&csr)
                .with_context(|| format!("cannot read CSR file {}", csr.display()))?;
            crate::ca::verify_csr(&csr).map_err(sentence)?;
            let core = open_core(settings).await?;
            let issued = core
                .authority
                .issue_physical(&csr, unit, holder, &args.actor())
                .await
                .map_err(sentence)?;
            eprintln!(
                "issued serial {} ({}) for {}",
                issued.record.serial,
                issued.record.role.as_str(),
                issued.record.unit_name
            );
            print!("{}", issued.pem().map_err(sentence)?);
        }
        AdminAction::EnrolTicket { holder: args } => {
            let (unit, holder) = args.drafts()?;
            let core = open_core(settings).await?;
            let issued = crate::enrol::create_ticket(
                core.store.as_ref(),
                unit,
                holder,
                &args.actor(),
                core.clock.now(),
            )
            .await
            .map_err(sentence)?;
            eprintln!(
                "enrolment ticket for {} of {}, valid until {}",
                args.holder_name,
                args.unit_name,
                issued.expires_at.to_rfc3339()
            );
            println!("{}", issued.ticket);
        }
        AdminAction::Revoke {
            serial,
            cause,
            reason,
            actor,
        } => {
            let serial = CertificateSerial::parse(&serial).map_err(sentence)?;
            let cause = cause
                .as_deref()
                .map(crate::certificates::Revocations::cause)
                .transpose()
                .map_err(sentence)?;
            let reason = RevocationReason::parse(&reason).map_err(sentence)?;
            let core = open_core(settings).await?;
            let actor = Actor::Operator(actor);
            let revocation = match cause {
                Some(cause) => core.authority.revoke_for(&serial, cause, &actor).await,
                None => core.authority.revoke(&serial, reason, &actor).await,
            }
            .map_err(sentence)?;
            let cause = revocation
                .cause
                .map(|cause| format!(", {}", cause.label_zh()))
                .unwrap_or_default();
            println!(
                "revoked {} ({}{cause}) at {}",
                revocation.serial,
                revocation.reason.as_str(),
                revocation.revoked_at.to_rfc3339()
            );
        }
        AdminAction::VerifySeal { file, document } => {
            let read = |path: &PathBuf| {
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
            };
            let bytes = read(&file)?;
            let document = document.as_ref().map(read).transpose()?;
            let core = open_core(settings).await?;
            let verified = crate::http::seals::verify(
                &core.authority,
                core.store.as_ref(),
                &bytes,
                document.as_deref(),
            )
            .await
            .map_err(sentence)?;
            let print = |checks: &[crate::http::seals::CheckBody]| {
                for check in checks {
                    println!("  [{}] {}：{}", check.outcome, check.title, check.detail);
                }
            };
            let valid = match verified {
                crate::http::seals::Verified::Seal(report) => {
                    println!("{}（{}）", report.verdict_label, report.verdict);
                    print(&report.checks);
                    report.verdict == "valid"
                }
                crate::http::seals::Verified::Pdf(report) => {
                    println!(
                        "{}（{}）：{} 个签章，文件 SM3 {}",
                        report.verdict_label,
                        report.verdict,
                        report.signatures.len(),
                        report.sm3
                    );
                    for signature in &report.signatures {
                        println!(
                            "签章 {}（{}）：{}",
                            signature.index,
                            signature.name.as_deref().unwrap_or("未署名"),
                            signature.verdict
                        );
                        print(&signature.checks);
                    }
                    report.verdict == "valid"
                }
            };
            if !valid {
                anyhow::bail!("签章无效 [seal_invalid]");
            }
        }
        AdminAction::Renew { serial, csr, actor } => {
            let serial = CertificateSerial::parse(&serial).map_err(sentence)?;
            let csr = std::fs::read(&csr)
                .with_context(|| format!("cannot read CSR file {}", csr.display()))?;
            crate::ca::verify_csr(&csr).map_err(sentence)?;
            let core = open_core(settings).await?;
            let renewed = crate::certificates::renewal::renew_physical(
                &core.authority,
                core.store.as_ref(),
                core.store.as_ref(),
                (&serial, &csr),
                &Actor::Operator(actor),
                core.clock.now(),
            )
            .await
            .map_err(sentence)?;
            let renewal = &renewed.renewal;
            let fee = renewal
                .fee_yuan
                .map_or_else(|| "free".to_string(), |yuan| format!("{yuan} yuan due"));
            eprintln!(
                "renewed {} as {} until {} ({fee}); {} is superseded",
                renewal.previous_serial,
                renewal.serial,
                renewal.not_after.to_rfc3339(),
                renewal.previous_serial
            );
            print!("{}", renewed.certificate_pem);
        }
        AdminAction::SetPrimary {
            serial,
            reason,
            actor,
        } => {
            let serial = CertificateSerial::parse(&serial).map_err(sentence)?;
            let core = open_core(settings).await?;
            let primary = Primaries::new(core.store.clone(), Arc::new(crate::clock::SystemClock))
                .appoint(&serial, &reason, &Actor::Operator(actor))
                .await
                .map_err(sentence)?;
            println!(
                "{} is now the primary certificate of {} ({})",
                primary.serial, primary.unit_name, primary.uscc
            );
        }
        AdminAction::AddStaff {
            username,
            name,
            role,
            actor,
        } => {
            let password = match std::env::var("MCERT_STAFF_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("cannot read the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let core = open_core(settings).await?;
            let staff = crate::staff::Staff::add(
                core.store.as_ref(),
                &username,
                &name,
                &password,
                crate::staff::StaffRole::parse(&role).unwrap_or(crate::staff::StaffRole::Reviewer),
                &Actor::Operator(actor),
            )
            .await
            .map_err(|e| {
                let Description { code, message, .. } = e.describe();
                anyhow::anyhow!("{message} [{code}]")
            })?;
            println!(
                "added staff account {} ({}), {}",
                staff.username,
                staff.display_name,
                staff.role.label_zh()
            );
        }
        AdminAction::AddPortal {
            name,
            origins,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            scopes,
            catalogue,
            backchannel_logout_uri,
            actor,
        } => {
            let items = catalogue.catalogue()?;
            let draft = PortalDraft {
                name,
                kind: if public {
                    ClientKind::Public
                } else {
                    ClientKind::Confidential
                },
                origins,
                redirect_uris,
                post_logout_redirect_uris,
                scopes,
                items,
                backchannel_logout_uri,
            }
            .validated()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let core = open_core(settings).await?;
            let registered = Portals::new(core.store.clone())
                .register(draft, &Actor::Operator(actor))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let portal = &registered.portal;
            eprintln!(
                "registered portal {} ({}), scopes {}",
                portal.name,
                portal.kind.as_str(),
                portal.scopes.join(" ")
            );
            println!("client_id={}", portal.client_id);
            if let Some(secret) = &registered.secret {
                println!("client_secret={secret}");
            }
        }
        AdminAction::SetPortalItems {
            client_id,
            catalogue,
            actor,
        } => {
            let items = catalogue.catalogue()?;
            let core = open_core(settings).await?;
            let portal = Portals::new(core.store.clone())
                .set_items(&client_id, items, &Actor::Operator(actor))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "portal {} ({}) has {} items",
                portal.name,
                portal.client_id,
                portal.items.len()
            );
        }
        AdminAction::AuditVerify => {
            let core = open_core(settings).await?;
            let check = crate::ca::check_audit_chain(core.store.as_ref(), 0).await?;
            if let Some(broken) = check.broken {
                anyhow::bail!(broken);
            }
            println!("audit log intact: {} entries", check.checked);
        }
    }
    Ok(())
}

async fn open_core(settings: &Settings) -> anyhow::Result<startup::Core> {
    let port = settings
        .bind
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(8080);
    // The CLI runs apart from any server, on the system's time (a development server's moved
    // clock lives in that server's process).
    startup::open_core(
        settings,
        &settings.public_base(port),
        Arc::new(crate::clock::SystemClock),
    )
    .await
}
