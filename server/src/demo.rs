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
        Outcome, form_fonts::FormFonts,
    },
    domain::PhoneNumber,
    staff::{Staff, StaffStore},
    store::SeaStore,
    sync::Syncer,
    tokens,
    uploads::{UploadPurpose, Uploads},
};

/// The demo agent's phone (the application's 经办人手机号码).
pub const AGENT_PHONE: &str = "13800138000";
/// The demo agent.
pub const AGENT_NAME: &str = "张三";
/// The demo agent's ID number.
pub const AGENT_ID: &str = "11010519491231002X";
/// The demo employer.
pub const UNIT_NAME: &str = "昆明示例科技有限公司";
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

/// The demo application's id: made, approved and pushed now, or found from an earlier start.
pub async fn seed(
    store: Arc<SeaStore>,
    uploads: Arc<Uploads>,
    fonts: Arc<FormFonts>,
    sync: &Syncer,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<i64> {
    let phone = PhoneNumber::parse(AGENT_PHONE)?;
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
        name: AGENT_NAME.into(),
        id_number: AGENT_ID.into(),
        email: "zhangsan@example.com".into(),
    };
    applications.save_agent(&applicant, id, &agent).await?;
    let ca = CaInput {
        form_upload_id: form,
        seal_wanted: false,
        seal_kind: None,
        stamp_filing_number: None,
    };
    applications.save_ca(&applicant, id, &ca).await?;
    applications.submit(&applicant, id).await?;
    let reviewer = match store.staff_by_username("demo-reviewer").await? {
        Some(reviewer) => reviewer,
        None => Staff::add(
            store.as_ref(),
            "demo-reviewer",
            "示例审核员",
            // Nobody signs in with it. The prefix gives it the letter and the digit that
            // the password rule asks for; random base64 alone lacks a digit now and then.
            &format!("demo0{}", tokens::random_token(24)),
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

/// What the newcomer does next, printed at start.
pub fn instructions(base: &str, application_id: i64) -> String {
    format!(
        "\n\
         mcert demo is running at {base} (development mode: stand-ins for WeChat, face check,\n\
         carrier check and SMS; never use this in production).\n\
         An approved application of {UNIT_NAME} names {AGENT_NAME} ({AGENT_ID}) with phone\n\
         {AGENT_PHONE} as agent. In another terminal, be the agent's phone:\n\
         \n\
         cd miniprogram-sdk && npm ci && npm run build\n\
         node dist/cli/mcert-phone.js login agent --server {base}\n\
         node dist/cli/mcert-phone.js verify {AGENT_NAME} {AGENT_ID}\n\
         node dist/cli/mcert-phone.js bind {AGENT_PHONE}\n\
         node dist/cli/mcert-phone.js download {application_id} --pin 112233\n\
         \n\
         Then open {base}/demo, click 扫码登录, and scan the QR with the text shown under it\n\
         (二维码内容); the phone shows where the login was started and offers three numbers:\n\
         give the one the page shows.\n\
         \n\
         node dist/cli/mcert-phone.js scan '<QR text>' --code <number on the page> --pin 112233\n\
         \n\
         Downloading again takes the real-name steps again (a fresh face result and an SMS code,\n\
         one code a minute); a new phone (another state file, `--state`) signs in first with\n\
         `login` and `verify`:\n\
         node dist/cli/mcert-phone.js download {application_id} --pin 445566 --phone {AGENT_PHONE}\n"
    )
}
