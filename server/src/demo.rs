//! `mcert-server demo`: development mode plus one approved, synced application, so that a
//! newcomer can walk the mini-program and a QR login with `mcert-phone` at once. The application
//! is made through the same services as the application site (stand-in images, the staff
//! decision by a demo reviewer), never in production: the command turns development mode on.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::TimeDelta;

use crate::audit::Actor;
use crate::clock::Clock;
use crate::staff::Reviewer;
use crate::{
    applicants::ApplicantStore,
    applications::{
        AgentInput, ApplicationStatus, ApplicationStore, Applications, CaInput, EnterpriseInput,
        Outcome, SealKind, form_fonts::FormFonts,
    },
    domain::PhoneNumber,
    staff::{Staff, StaffStore},
    store::SeaStore,
    sync::Syncer,
    uploads::{UploadPurpose, Uploads},
};

/// The demo agent's phone (the application's 经办人手机号码).
pub const AGENT_PHONE: &str = "13800138000";
/// The demo employer's second agent, 王五, whose certificate (downloaded after 张三's) is a
/// sub-certificate: the phone of the second application.
pub const SUB_PHONE: &str = "13800138001";
/// The second agent.
pub const SUB_AGENT_NAME: &str = "王五";
/// The second agent's ID number.
pub const SUB_AGENT_ID: &str = "532701198001013310";
/// The demo agent.
pub const AGENT_NAME: &str = "张三";
/// The demo agent's ID number.
pub const AGENT_ID: &str = "11010519491231002X";
/// The demo employer.
pub const UNIT_NAME: &str = "昆明示例科技有限公司";
/// The demo's staff account, printed for the staff console (development mode only).
pub const DEMO_REVIEWER: &str = "demo-reviewer";
/// Its password.
pub const DEMO_REVIEWER_PASSWORD: &str = "Demo-review-2026";
/// The demo employer's USCC.
pub const UNIT_USCC: &str = "91440300708461136T";

/// A plain grey PNG for each required image.
fn stand_in_image() -> anyhow::Result<Vec<u8>> {
    let image = image::RgbImage::from_pixel(64, 64, image::Rgb([236, 239, 244]));
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image).write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )?;
    Ok(bytes)
}

/// The demo applications' ids (the first for the primary certificate, the second for a
/// sub-certificate): made, approved and pushed now, or found from an earlier start.
pub async fn seed(
    store: Arc<SeaStore>,
    uploads: Arc<Uploads>,
    fonts: Arc<FormFonts>,
    sync: &Syncer,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(i64, i64)> {
    let mut ids = [0; 2];
    let agents = [
        (AGENT_PHONE, AGENT_NAME, AGENT_ID),
        (SUB_PHONE, SUB_AGENT_NAME, SUB_AGENT_ID),
    ];
    for (id, agent) in ids.iter_mut().zip(agents) {
        *id = seed_one(
            agent,
            store.clone(),
            uploads.clone(),
            fonts.clone(),
            sync,
            clock.clone(),
        )
        .await?;
    }
    Ok((ids[0], ids[1]))
}

/// The application of the applicant `phone` naming the agent `name` (`id_number`), approved
/// and pushed.
async fn seed_one(
    (phone, name, id_number): (&str, &str, &str),
    store: Arc<SeaStore>,
    uploads: Arc<Uploads>,
    fonts: Arc<FormFonts>,
    sync: &Syncer,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<i64> {
    let phone = PhoneNumber::parse(phone)?;
    let (applicant, _) = store.sign_in(&phone, clock.now()).await?;
    let existing = store.applications_of(applicant.id).await?;
    if let Some(approved) = existing
        .iter()
        .find(|a| a.status == ApplicationStatus::Approved)
    {
        sync.run_once().await?;
        return Ok(approved.id);
    }
    // No reading countdown for the stand-in applicant.
    let applications = Applications::new(
        store.clone(),
        uploads.clone(),
        TimeDelta::zero(),
        fonts,
        clock,
    );
    let application = match existing
        .iter()
        .find(|a| a.status == ApplicationStatus::Draft)
    {
        Some(draft) => draft.clone(),
        None => applications.create(&applicant).await?,
    };
    let id = application.id;
    let image = stand_in_image()?;
    let upload = |purpose| {
        let uploads = uploads.clone();
        let image = image.clone();
        async move { anyhow::Ok(uploads.store(applicant.id, purpose, &image).await?.id) }
    };
    let licence = upload(UploadPurpose::Licence).await?;
    let front = upload(UploadPurpose::IdFront).await?;
    let back = upload(UploadPurpose::IdBack).await?;
    let form = upload(UploadPurpose::ApplicationForm).await?;
    applications.accept_agreement(&applicant, id).await?;
    let enterprise = EnterpriseInput {
        licence_upload_id: licence,
        name: UNIT_NAME.into(),
        uscc: UNIT_USCC.into(),
        region_code: "530112".into(),
        address: "云南省昆明市西山区示例路 1 号".into(),
        legal_representative_name: "李四".into(),
        legal_representative_id: AGENT_ID.into(),
        registration_authority: Some("昆明市市场监督管理局".into()),
        contact_phone: None,
    };
    applications
        .save_enterprise(&applicant, id, &enterprise)
        .await?;
    let agent = AgentInput {
        id_front_upload_id: front,
        id_back_upload_id: back,
        name: name.into(),
        id_number: id_number.into(),
        email: "zhangsan@example.com".into(),
    };
    applications.save_agent(&applicant, id, &agent).await?;
    let ca = CaInput {
        form_upload_id: form,
        // The primary's application asks for a CA-generated seal (CA生成印章).
        seal_wanted: phone.as_str() == AGENT_PHONE,
        seal_kind: (phone.as_str() == AGENT_PHONE).then_some(SealKind::Generated),
        stamp_filing_number: None,
    };
    applications.save_ca(&applicant, id, &ca).await?;
    applications.submit(&applicant, id).await?;
    let reviewer = match store.staff_by_username(DEMO_REVIEWER).await? {
        Some(reviewer) => reviewer,
        None => Staff::add(
            store.as_ref(),
            DEMO_REVIEWER,
            "示例审核员",
            DEMO_REVIEWER_PASSWORD,
            crate::staff::StaffRole::Reviewer,
            &Actor::Development("demo"),
        )
        .await
        .context("cannot add the demo reviewer")?,
    };
    applications
        .decide(&Reviewer::for_demo(reviewer), id, Outcome::Approve)
        .await?;
    sync.run_once().await?;
    Ok(id)
}

/// What the newcomer does next, printed at start: `ids` are the applications of the primary
/// certificate and of the sub-certificate.
pub fn instructions(base: &str, ids: (i64, i64)) -> String {
    let (primary, sub) = ids;
    let portal = crate::http::demo::CLIENT_ID;
    format!(
        "\n\
         mcert demo is running at {base} (development mode: stand-ins for WeChat, face check,\n\
         carrier check and SMS; never use this in production).\n\
         An approved application of {UNIT_NAME} names {AGENT_NAME} ({AGENT_ID}) with phone\n\
         {AGENT_PHONE} as agent.\n\
         \n\
         Web pages: apply for a certificate yourself at {base}/apply (a phone-sized browser\n\
         works too; register with any mobile number: development mode shows the SMS code at\n\
         {base}/dev/sms?phone=<number>), then review it in the staff console at {base}/staff\n\
         as {DEMO_REVIEWER} with password {DEMO_REVIEWER_PASSWORD}. Once approved, its agent downloads it\n\
         like the demo's below, with the application's id and the agent's name, ID and phone.\n\
         The employer's primary holder signs in at {base}/account by scanning its QR with the\n\
         phone (`scan`, as for the demo portal) and grants items to sub-certificates there\n\
         (权限授权), as `grants set` does on the phone.\n\
         \n\
         In another terminal, be the agent's phone:\n\
         \n\
         cd miniprogram-sdk && npm ci && npm run build\n\
         node dist/cli/mcert-phone.js login agent --server {base}\n\
         node dist/cli/mcert-phone.js verify {AGENT_NAME} {AGENT_ID}\n\
         node dist/cli/mcert-phone.js bind {AGENT_PHONE}\n\
         node dist/cli/mcert-phone.js download {primary} --pin 112233\n\
         \n\
         Then open {base}/demo, click 扫码登录, and scan the QR with the text shown under it\n\
         (二维码内容); the phone shows where the login was started and offers three numbers:\n\
         give the one the page shows.\n\
         \n\
         node dist/cli/mcert-phone.js scan '<QR text>' --code <number on the page> --pin 112233\n\
         \n\
         Item grants (事项授权): the employer's first certificate is its primary and may do every\n\
         business item. A second application names {SUB_AGENT_NAME} ({SUB_AGENT_ID}, phone {SUB_PHONE}):\n\
         their certificate is a sub-certificate, which may do nothing until the primary grants\n\
         it items. Be {SUB_AGENT_NAME}'s phone (its own state file, sub-phone.json), then grant on\n\
         {AGENT_NAME}'s (signed with the primary's PIN):\n\
         \n\
         node dist/cli/mcert-phone.js login agent2 --server {base} --state sub-phone.json\n\
         node dist/cli/mcert-phone.js verify {SUB_AGENT_NAME} {SUB_AGENT_ID} --state sub-phone.json\n\
         node dist/cli/mcert-phone.js bind {SUB_PHONE} --state sub-phone.json\n\
         node dist/cli/mcert-phone.js download {sub} --pin 223344 --state sub-phone.json\n\
         node dist/cli/mcert-phone.js grants list\n\
         node dist/cli/mcert-phone.js grants set <sub serial> --portal {portal} --item unit_info --pin 112233\n\
         \n\
         Sign out at {base}/demo, click 扫码登录 again and log in with the sub-certificate: the\n\
         page shows 单位基础信息维护, and only that, under 可办理事项.\n\
         \n\
         node dist/cli/mcert-phone.js scan '<QR text>' --code <number on the page> --pin 223344 --state sub-phone.json\n\
         \n\
         Withdraw the item (no --item): the portal is told at once (back-channel logout), and the\n\
         page, reloaded, is signed out.\n\
         \n\
         node dist/cli/mcert-phone.js grants set <sub serial> --portal {portal} --pin 112233\n\
         \n\
         {SUB_AGENT_NAME} revokes the sub-certificate with the PIN (证书废除): OCSP says revoked at\n\
         once, and it logs in and signs nothing more.\n\
         \n\
         node dist/cli/mcert-phone.js revoke --cause no_longer_needed --pin 223344 --state sub-phone.json\n\
         node dist/cli/mcert-phone.js certificate --state sub-phone.json > sub.pem\n\
         curl -s {base}/pki/ca.pem > ca-chain.pem\n\
         openssl ocsp -issuer ca-chain.pem -cert sub.pem -url {base}/pki/ocsp -noverify\n\
         \n\
         Electronic seal (电子印章): {AGENT_NAME}'s application asked for a CA-generated seal\n\
         (CA生成印章), made at its approval. Upload a PDF at {base}/demo/seal (or with curl, the\n\
         sample below), scan the seal QR: the phone shows the document's title and hash, the seal\n\
         and the employer; confirm with the PIN. Download the stamped PDF, look at page 1 (the\n\
         red seal at 150 mm, 230 mm) and ask mcert whether it is valid:\n\
         \n\
         node dist/cli/mcert-phone.js seals\n\
         curl -s -o sample.pdf {base}/demo/sample.pdf\n\
         curl -s -F title=劳动合同 -F page=1 -F x_mm=150 -F y_mm=230 -F file=@sample.pdf {base}/demo/seal > seal.html\n\
         node dist/cli/mcert-phone.js scan \"$(grep -o '{base}/q/[A-Za-z0-9_-]*' seal.html)\" --code \"$(grep -o 'id=\"code\">[0-9]*' seal.html | grep -o '[0-9]*$')\" --pin 112233\n\
         curl -s -o stamped.pdf \"{base}$(grep -o '/demo/seal/[A-Za-z0-9_-]*/document.pdf' seal.html)\"\n\
         pdftoppm -r 60 -png -f 1 -l 1 stamped.pdf page\n\
         curl -s -F file=@stamped.pdf {base}/api/v1/seal-verifications\n\
         \n\
         Renewal (年审延期) opens 30 days before expiry. Move the demo server's clock 345 days on\n\
         (development mode only), then renew the primary with its PIN: the same key under a new\n\
         serial, valid a year longer; the old certificate is superseded at that moment. What the\n\
         key signed (the download, logins, grants, the renewal) and any wrong PIN is in its\n\
         signature log.\n\
         \n\
         curl -s -X POST {base}/dev/clock -H 'content-type: application/json' -d '{{\"advance_secs\": 29808000}}'\n\
         node dist/cli/mcert-phone.js renew --pin 112233\n\
         node dist/cli/mcert-phone.js history\n\
         \n\
         Downloading again takes the real-name steps again (a fresh face result and an SMS code,\n\
         one code a minute); a new phone (another state file, `--state`) signs in first with\n\
         `login` and `verify`:\n\
         node dist/cli/mcert-phone.js download {primary} --pin 445566 --phone {AGENT_PHONE}\n"
    )
}
