//! Electronic seals (seed 000 §一 and §三, DESIGN.md §8): the seal made at approval (drawn by
//! the CA, or cut out of the stamped form and confirmed by staff), a portal's sealing session
//! for a document's hash or a PDF, the phone's co-signature over exactly DER(`TBS_Sign`), the
//! `SES_Signature` and the stamped PDF checked with outside tools (OpenSSL, qpdf, poppler), and
//! the verifier catching a flipped byte in each part.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use der::{Decode as _, Encode as _};
use mcert_server::{
    audit::Actor, portals::BusinessItem, portals::ClientKind, portals::PortalDraft,
};
use serde_json::{Value, json};

use crate::{
    applications::{approve, staff_session, submitted_with_form},
    downloads::download_for,
    helpers::{TestApp, app_without_workers, openssl, openssl_verify_sm2, s},
    login::{PIN, REDIRECT, scan, tap},
    people::{ZHANG_ID, mp_session, verify},
    phone::{Answer, TestPhone, unb64},
};

const USCC: &str = "91440300708461136T";

/// A confidential portal whose catalogue has the seal item: (client id, secret).
async fn seal_portal(app: &TestApp) -> (String, String) {
    let item = |code: &str, name: &str| BusinessItem {
        code: code.into(),
        name: name.into(),
        group: Some("单位服务".into()),
        locked_for: None,
    };
    let registered = app
        .state
        .portals
        .register(
            PortalDraft {
                name: "就业彩云南".into(),
                kind: ClientKind::Confidential,
                origins: vec!["https://portal.example.cn".into()],
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![],
                scopes: vec![],
                items: vec![
                    item("unit_info", "单位基础信息维护"),
                    item("document_seal", "单位文件资料授权签章"),
                ],
                backchannel_logout_uri: None,
            },
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap();
    (registered.portal.client_id, registered.secret.unwrap())
}

/// The agent 张三 of an application asking for a seal of `kind` (with `form` as the stamped
/// form), approved and downloaded: (applicant token, application id, mini-program token, phone).
async fn holder(
    app: &TestApp,
    phone: &str,
    kind: &str,
    form: Option<Vec<u8>>,
) -> (String, i64, String, TestPhone) {
    let (applicant, id) = submitted_with_form(app, phone, Some(kind), form).await;
    approve(app, id).await;
    app.state.sync.run_once().await.unwrap();
    let openid = format!("openid-{phone}");
    let token = mp_session(app, &openid).await;
    let face = format!("dev-pass:张三:{ZHANG_ID}:{openid}");
    let verified = verify(app, &token, "张三", ZHANG_ID, &face).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let held = download_for(app, &token, id, phone, PIN, None).await;
    (applicant, id, token, held)
}

async fn applicant_get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn seal_of(app: &TestApp, token: &str, id: i64) -> Value {
    let response = applicant_get(app, token, &format!("/api/v1/applications/{id}/seal")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn portal_post(
    app: &TestApp,
    (client, secret): (&str, &str),
    path: &str,
    body: &Value,
) -> Answer {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .basic_auth(client, Some(secret))
        .json(body)
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

async fn pdf_session(
    app: &TestApp,
    (client, secret): (&str, &str),
    title: &str,
    pdf: Vec<u8>,
    (page, x, y): (u32, f32, f32),
) -> Answer {
    let form = reqwest::multipart::Form::new()
        .text("uscc", USCC)
        .text("title", title.to_string())
        .text("page", page.to_string())
        .text("x_mm", x.to_string())
        .text("y_mm", y.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(pdf).file_name("document.pdf"),
        );
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/seal-sessions/pdf", app.address))
        .basic_auth(client, Some(secret))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

/// A sealing session for `body`, created by `portal` and scanned with `token`: its creation
/// answer.
async fn scanned(app: &TestApp, portal: (&str, &str), token: &str, body: &Value) -> Value {
    let created = portal_post(app, portal, "/api/v1/seal-sessions", body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let scanned = scan(app, token, created.body["qr_text"].as_str().unwrap()).await;
    assert_eq!(scanned.status, 200, "{:?}", scanned.body);
    created.body
}

/// Taps the number of the session `created` with certificate `serial`.
async fn tap_as(app: &TestApp, token: &str, created: &Value, serial: &str) -> Answer {
    let (id, code) = (
        created["id"].as_str().unwrap(),
        created["match_code"].as_str().unwrap(),
    );
    tap(app, token, id, serial, code).await
}

/// Scans and confirms sealing session `created` with `held` and the PIN; the signature
/// answers (the second one for a PDF).
async fn seal_with(app: &TestApp, token: &str, created: &Value, held: &TestPhone) -> Vec<Value> {
    let id = created["id"].as_str().unwrap();
    let scanned = scan(app, token, created["qr_text"].as_str().unwrap()).await;
    assert_eq!(scanned.status, 200, "{:?}", scanned.body);
    assert_eq!(scanned.body["purpose"], "seal");
    let code = created["match_code"].as_str().unwrap();
    let opened = tap(app, token, id, &held.serial, code).await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    let mut answers = vec![
        app.cosign(&opened.body, &held.public_key, &held.share, PIN)
            .await
            .unwrap(),
    ];
    if let Some(next) = answers[0].get("next").cloned() {
        answers.push(
            app.cosign(&next, &held.public_key, &held.share, PIN)
                .await
                .unwrap(),
        );
    }
    answers
}

async fn verify_file(app: &TestApp, file: &[u8], document: Option<&[u8]>) -> Value {
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file.to_vec()).file_name("file"),
    );
    if let Some(document) = document {
        form = form.part(
            "document",
            reqwest::multipart::Part::bytes(document.to_vec()).file_name("document"),
        );
    }
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/seal-verifications", app.address))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn outcome<'a>(report: &'a Value, code: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .and_then(|c| c["outcome"].as_str())
        .unwrap_or_else(|| panic!("no check {code} in {report}"))
}

fn sm3_hex(bytes: &[u8]) -> String {
    use sm3::Digest as _;
    hex::encode(sm3::Sm3::digest(bytes))
}

/// Writes DER certificate bytes as PEM at `name` in the app's directory.
fn pem_file(app: &TestApp, name: &str, der: &[u8]) -> std::path::PathBuf {
    let der_path = app.path(&format!("{name}.der"));
    let pem_path = app.path(&format!("{name}.pem"));
    std::fs::write(&der_path, der).unwrap();
    openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        s(&der_path),
        "-out",
        s(&pem_path),
    ]);
    pem_path
}

/// Whether the RGBA pixel is the seal's red ink.
fn red(pixel: &image::Rgba<u8>) -> bool {
    let [r, g, b, a] = pixel.0;
    a > 200 && r > 180 && g < 90 && b < 90
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_seal_seals_a_hash_and_a_pdf_that_outside_tools_verify() {
    let app = app_without_workers(None).await;
    let (applicant, application_id) =
        submitted_with_form(&app, "13900139300", Some("generated"), None).await;
    let waiting = seal_of(&app, &applicant, application_id).await;
    assert_eq!(
        (waiting["status"].as_str(), waiting["status_label"].as_str()),
        (Some("making"), Some("制作中"))
    );
    approve(&app, application_id).await;
    let made = seal_of(&app, &applicant, application_id).await;
    assert_eq!(made["status_label"], "已制作", "{made}");
    assert_eq!(
        (made["width_mm"].as_u64(), made["kind"].as_str()),
        (Some(40), Some("generated"))
    );
    // The picture: transparent outside the ring, red on it, bare in the middle of the lower arc.
    let png = STANDARD
        .decode(made["picture_png"].as_str().unwrap())
        .unwrap();
    let picture = image::load_from_memory(&png).unwrap().to_rgba8();
    let (w, h) = picture.dimensions();
    assert_eq!(w, h);
    assert_eq!(picture.get_pixel(2, 2).0[3], 0, "corner transparent");
    assert!(red(picture.get_pixel(w / 2, 3)), "ring at the top");
    assert!(red(picture.get_pixel(w / 2, h / 2)), "star in the centre");
    assert_eq!(
        picture.get_pixel(w / 2, h * 4 / 5).0[3],
        0,
        "lower arc bare"
    );

    app.state.sync.run_once().await.unwrap();
    let openid = "openid-13900139300";
    let token = mp_session(&app, openid).await;
    let face = format!("dev-pass:张三:{ZHANG_ID}:{openid}");
    assert_eq!(
        verify(&app, &token, "张三", ZHANG_ID, &face).await.status,
        200
    );
    let held = download_for(&app, &token, application_id, "13900139300", PIN, None).await;
    let (client, secret) = seal_portal(&app).await;
    let portal = (client.as_str(), secret.as_str());

    // A document the portal keeps, sealed by its SM3.
    let document = "劳动合同\n甲方：昆明测试科技有限公司\n乙方：王五".as_bytes();
    let created = portal_post(
        &app,
        portal,
        "/api/v1/seal-sessions",
        &json!({ "uscc": USCC, "title": "劳动合同（王五）", "sm3": sm3_hex(document) }),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let scanned = scan(&app, &token, created.body["qr_text"].as_str().unwrap()).await;
    assert_eq!(scanned.body["document"]["title"], "劳动合同（王五）");
    assert_eq!(scanned.body["document"]["sm3"], sm3_hex(document).as_str());
    assert_eq!(scanned.body["employer"]["uscc"], USCC);
    assert_eq!(scanned.body["seal"]["picture_png"], made["picture_png"]);
    let code = created.body["match_code"].as_str().unwrap();
    let opened = tap(&app, &token, &id, &held.serial, code).await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    // The co-signed message is exactly DER(TBS_Sign), built by the server.
    let message = unb64(&opened.body["message"]);
    let tbs = mcert_ses::TbsSignV4::from_der(&message).unwrap();
    assert_eq!(tbs.to_der().unwrap(), message);
    assert_eq!(hex::encode(tbs.data_hash.raw_bytes()), sm3_hex(document));
    assert!(
        tbs.property_info
            .as_str()
            .starts_with(&format!("session={id}&title="))
    );
    let signed = app
        .cosign(&opened.body, &held.public_key, &held.share, PIN)
        .await
        .unwrap();
    assert_eq!(signed["purpose"], "seal");
    assert!(signed.get("next").is_none());
    let result = portal_post(
        &app,
        portal,
        &format!("/api/v1/seal-sessions/{id}/result"),
        &json!({}),
    )
    .await;
    assert_eq!(result.status, 200, "{:?}", result.body);
    assert_eq!(result.body["serial"], held.serial.as_str());
    let again = portal_post(
        &app,
        portal,
        &format!("/api/v1/seal-sessions/{id}/result"),
        &json!({}),
    )
    .await;
    assert_eq!(again.code(), "login_state", "collected once");
    let ses = unb64(&result.body["ses_signature"]);
    let signature = mcert_ses::SignatureV4::from_der(&ses).unwrap();
    assert_eq!(signature.to_sign.to_der().unwrap(), message);

    // OpenSSL checks the signer's signature over DER(TBS_Sign) and the maker's over the seal.
    let dir = app.path("");
    let signer = pem_file(&app, "signer", signature.cert.as_bytes());
    openssl_verify_sm2(&dir, &signer, &message, signature.signature.raw_bytes());
    let seal = &signature.to_sign.eseal;
    let maker = pem_file(&app, "maker", seal.cert.as_bytes());
    openssl_verify_sm2(
        &dir,
        &maker,
        &seal.e_seal_info.to_der().unwrap(),
        seal.signed_value.raw_bytes(),
    );
    let chain = app.write_chain().await;
    let verified = openssl(&[
        "verify",
        "-partial_chain",
        "-vfyopt",
        "distid:1234567812345678",
        "-CAfile",
        s(&chain.0),
        s(&maker),
    ]);
    assert!(verified.contains("OK"), "{verified}");
    assert_eq!(seal.e_seal_info.property.name, "昆明测试科技有限公司");

    // The verifier: valid, with the document too; an altered document is caught.
    let report = verify_file(&app, &ses, Some(document)).await;
    assert_eq!(report["verdict"], "valid", "{report}");
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["outcome"] == "passed"),
        "{report}"
    );
    assert_eq!(report["signer"]["serial"], held.serial.as_str());
    let report = verify_file(&app, &ses, Some(b"another document")).await;
    assert_eq!(
        (
            report["verdict"].as_str(),
            outcome(&report, "document_hash")
        ),
        (Some("invalid"), "failed")
    );
    // A flipped byte in each part fails the check that guards it.
    let flipped = |change: &dyn Fn(&mut mcert_ses::SignatureV4)| {
        let mut altered = signature.clone();
        change(&mut altered);
        altered.to_der().unwrap()
    };
    let flip = |bytes: &[u8]| {
        let mut bytes = bytes.to_vec();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        bytes
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "signer_signature",
            flipped(&|s| {
                s.signature =
                    der::asn1::BitString::from_bytes(&flip(s.signature.raw_bytes())).unwrap()
            }),
        ),
        (
            "signer_signature",
            flipped(&|s| {
                s.to_sign.data_hash =
                    der::asn1::BitString::from_bytes(&flip(s.to_sign.data_hash.raw_bytes()))
                        .unwrap()
            }),
        ),
        (
            "maker_signature",
            flipped(&|s| {
                s.to_sign.eseal.e_seal_info.picture.data = der::asn1::OctetString::new(flip(
                    s.to_sign.eseal.e_seal_info.picture.data.as_bytes(),
                ))
                .unwrap()
            }),
        ),
        (
            "maker_signature",
            flipped(&|s| {
                s.to_sign.eseal.signed_value = der::asn1::BitString::from_bytes(&flip(
                    s.to_sign.eseal.signed_value.raw_bytes(),
                ))
                .unwrap()
            }),
        ),
    ];
    for (check, altered) in cases {
        let report = verify_file(&app, &altered, None).await;
        assert_eq!(
            (report["verdict"].as_str(), outcome(&report, check)),
            (Some("invalid"), "failed"),
            "{check}: {report}"
        );
    }
    let mut truncated = ses.clone();
    truncated.truncate(ses.len() - 3);
    let report = verify_file(&app, &truncated, None).await;
    assert_eq!(outcome(&report, "format"), "failed");

    // The signature log lists the seal with its document hash.
    let history = app
        .get_json(
            &format!("/api/v1/mp/certificates/{}/signatures", held.serial),
            &token,
        )
        .await;
    let entry = &history.body.as_array().unwrap()[0];
    assert_eq!(
        (entry["purpose"].as_str(), entry["login_session"].as_str()),
        (Some("seal"), Some(id.as_str()))
    );
    assert_eq!(entry["document_hash"], sm3_hex(document).as_str());
    assert_eq!(entry["seal"], seal.e_seal_info.es_id.as_str());

    // A PDF: the application form, stamped at the bottom right of page 1.
    let original = applicant_get(
        &app,
        &applicant,
        &format!("/api/v1/applications/{application_id}/form.pdf"),
    )
    .await
    .bytes()
    .await
    .unwrap()
    .to_vec();
    assert!(original.starts_with(b"%PDF-"));
    let created = pdf_session(
        &app,
        portal,
        "用人单位数字证书业务申请表",
        original.clone(),
        (1, 150.0, 240.0),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let answers = seal_with(&app, &token, &created.body, &held).await;
    assert_eq!(
        answers.len(),
        2,
        "a PDF takes the seal and then its CMS signature"
    );
    assert_eq!(
        (
            answers[0]["purpose"].as_str(),
            answers[1]["purpose"].as_str()
        ),
        (Some("seal"), Some("seal_pdf"))
    );
    let result = portal_post(
        &app,
        portal,
        &format!("/api/v1/seal-sessions/{id}/result"),
        &json!({}),
    )
    .await;
    assert_eq!(result.status, 200, "{:?}", result.body);
    assert_eq!(result.body["document_sm3"], sm3_hex(&original).as_str());
    let stamped = reqwest::Client::new()
        .get(format!(
            "{}{}",
            app.address,
            result.body["pdf_url"].as_str().unwrap()
        ))
        .basic_auth(&client, Some(&secret))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert!(
        stamped.starts_with(&original),
        "an incremental update keeps every earlier byte"
    );
    let embedded = mcert_ses::pdf::signatures(&stamped).unwrap();
    assert_eq!(embedded.len(), 1);
    assert_eq!(
        hex::encode(embedded[0].content_sm3),
        result.body["data_hash"].as_str().unwrap()
    );
    // OpenSSL: the SM2 signature over the signed attributes.
    openssl_verify_sm2(
        &dir,
        &signer,
        &embedded[0].signed_attributes,
        &embedded[0].signature,
    );
    let path = app.path("stamped.pdf");
    std::fs::write(&path, &stamped).unwrap();
    let checked = std::process::Command::new("qpdf")
        .args(["--check", s(&path)])
        .output()
        .expect("qpdf is installed");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let listed = std::process::Command::new("pdfsig")
        .arg(s(&path))
        .output()
        .expect("pdfsig (poppler-utils) is installed");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("Signature #1"), "{listed}");
    // The seal is red on the page where it was asked for (150 mm, 240 mm from the top left).
    let prefix = app.path("page");
    let rendered = std::process::Command::new("pdftoppm")
        .args([
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            s(&path),
            s(&prefix),
        ])
        .output()
        .expect("pdftoppm is installed");
    assert!(rendered.status.success());
    let page_png = std::fs::read_dir(app.path(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with("page")
                && p.extension().is_some_and(|e| e == "png")
        })
        .unwrap();
    let page = image::open(&page_png).unwrap().to_rgba8();
    let px = |mm: f32| (mm / 25.4 * 50.0) as u32;
    let near = (px(150.0) - px(20.0)..px(150.0) + px(20.0))
        .flat_map(|x| (px(240.0) - px(20.0)..px(240.0) + px(20.0)).map(move |y| (x, y)))
        .filter(|&(x, y)| red(page.get_pixel(x, y)))
        .count();
    let far = (0..px(60.0))
        .flat_map(|x| (0..px(60.0)).map(move |y| (x, y)))
        .filter(|&(x, y)| red(page.get_pixel(x, y)))
        .count();
    assert!(
        near > 100 && far == 0,
        "red near the seal: {near}, far from it: {far}"
    );
    let report = verify_file(&app, &stamped, None).await;
    assert_eq!(
        (report["kind"].as_str(), report["verdict"].as_str()),
        (Some("pdf"), Some("valid")),
        "{report}"
    );

    // A second seal on the stamped PDF leaves the first valid.
    let created = pdf_session(
        &app,
        portal,
        "申请表（第二次盖章）",
        stamped.clone(),
        (1, 60.0, 240.0),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    seal_with(&app, &token, &created.body, &held).await;
    let result = portal_post(
        &app,
        portal,
        &format!("/api/v1/seal-sessions/{id}/result"),
        &json!({}),
    )
    .await;
    let twice = reqwest::Client::new()
        .get(format!(
            "{}{}",
            app.address,
            result.body["pdf_url"].as_str().unwrap()
        ))
        .basic_auth(&client, Some(&secret))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert!(twice.starts_with(&stamped));
    let report = verify_file(&app, &twice, None).await;
    assert_eq!(report["verdict"], "valid", "{report}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 2);
    // A changed byte inside the first revision invalidates it.
    let mut altered = twice.clone();
    let at = original.len() / 2;
    altered[at] = altered[at].wrapping_add(1);
    let report = verify_file(&app, &altered, None).await;
    assert_eq!(report["verdict"], "invalid", "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sealing_refuses_a_sub_without_the_item_another_employer_and_bad_documents() {
    let app = app_without_workers(None).await;
    let (_, _, token, primary) = holder(&app, "13900139310", "generated", None).await;
    let (client, secret) = seal_portal(&app).await;
    let portal = (client.as_str(), secret.as_str());
    let ask =
        |title: &str, sm3: &str, uscc: &str| json!({ "uscc": uscc, "title": title, "sm3": sm3 });
    let hash = sm3_hex(b"document");

    // Bad requests: nothing is created.
    for (body, code) in [
        (ask("合同", &hash[..62], USCC), "seal_hash_invalid"),
        (ask("合同", "zz", USCC), "seal_hash_invalid"),
        (ask("", &hash, USCC), "seal_request_invalid"),
        (ask("第一行\n第二行", &hash, USCC), "seal_request_invalid"),
        (ask("合同", &hash, "91530100MA6K1234X5"), "seal_not_made"),
    ] {
        let refused = portal_post(&app, portal, "/api/v1/seal-sessions", &body).await;
        assert_eq!(refused.code(), code, "{body}: {:?}", refused.body);
    }
    let garbage = pdf_session(
        &app,
        portal,
        "合同",
        b"not a pdf at all".to_vec(),
        (1, 100.0, 100.0),
    )
    .await;
    assert_eq!(garbage.code(), "pdf_malformed", "{:?}", garbage.body);
    let big = pdf_session(
        &app,
        portal,
        "合同",
        vec![b'%'; 10 * 1024 * 1024 + 1],
        (1, 100.0, 100.0),
    )
    .await;
    assert_eq!((big.status, big.code()), (413, "pdf_too_large"));
    let plain = app.path("plain.pdf");
    let locked = app.path("locked.pdf");
    std::fs::write(&plain, minimal_pdf()).unwrap();
    let encrypted = std::process::Command::new("qpdf")
        .args(["--encrypt", "u", "o", "256", "--", s(&plain), s(&locked)])
        .output()
        .expect("qpdf is installed");
    assert!(
        encrypted.status.success(),
        "{}",
        String::from_utf8_lossy(&encrypted.stderr)
    );
    let refused = pdf_session(
        &app,
        portal,
        "合同",
        std::fs::read(&locked).unwrap(),
        (1, 100.0, 100.0),
    )
    .await;
    assert_eq!(refused.code(), "pdf_encrypted");
    let refused = pdf_session(&app, portal, "合同", minimal_pdf(), (3, 100.0, 100.0)).await;
    assert_eq!(refused.code(), "pdf_page_missing");

    // A sub-certificate without 单位文件资料授权签章 is refused, and nothing is signed.
    let (_, second) = crate::applications::submitted(&app, "13900139311").await;
    approve(&app, second).await;
    app.state.sync.run_once().await.unwrap();
    let sub = download_for(
        &app,
        &token,
        second,
        "13900139311",
        PIN,
        Some("openid-13900139310"),
    )
    .await;
    let created = scanned(&app, portal, &token, &ask("合同", &hash, USCC)).await;
    let refused = tap_as(&app, &token, &created, &sub.serial).await;
    assert_eq!((refused.status, refused.code()), (403, "seal_not_granted"));
    // The primary may.
    let opened = tap_as(&app, &token, &created, &primary.serial).await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);

    // The portal cancels while the phone enters its PIN: the signature leaves no seal behind.
    let created = scanned(&app, portal, &token, &ask("合同", &hash, USCC)).await;
    let id = created["id"].as_str().unwrap().to_string();
    let opened = tap_as(&app, &token, &created, &primary.serial).await;
    assert_eq!(opened.status, 201);
    let cancelled = reqwest::Client::new()
        .delete(format!("{}/api/v1/seal-sessions/{id}", app.address))
        .basic_auth(&client, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 204);
    let late = app
        .cosign(&opened.body, &primary.public_key, &primary.share, PIN)
        .await
        .unwrap_err();
    assert_eq!(late.code(), "login_state", "{:?}", late.body);
    let result = portal_post(
        &app,
        portal,
        &format!("/api/v1/seal-sessions/{id}/result"),
        &json!({}),
    )
    .await;
    assert_eq!(result.code(), "login_state");
    assert!(
        app.state
            .sealing
            .seals()
            .store()
            .signature_of_session(&id)
            .await
            .unwrap()
            .is_none(),
        "no seal signature stored"
    );

    // A revoked certificate seals nothing more.
    app.revoke(
        &primary.serial,
        mcert_server::ca::RevocationReason::KeyCompromise,
    )
    .await;
    let created = scanned(&app, portal, &token, &ask("合同", &hash, USCC)).await;
    let refused = tap_as(&app, &token, &created, &primary.serial).await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "certificate_not_usable")
    );
}

/// A one-page PDF of a few hundred bytes.
fn minimal_pdf() -> Vec<u8> {
    mcert_server::seals::sample_pdf(&["a contract"])
}

/// An A4 form at 100 dpi: black lines of "text", and the employer's round seal stamped in red
/// over them at the bottom right.
fn stamped_form(seal: Option<&[u8]>) -> Vec<u8> {
    let (w, h) = (827u32, 1169u32);
    let mut page = image::RgbaImage::from_pixel(w, h, image::Rgba([255, 255, 255, 255]));
    for line in 0..30 {
        let y = 80 + line * 30;
        for x in 60..760 {
            for dy in 0..6 {
                page.put_pixel(x, y + dy, image::Rgba([20, 20, 20, 255]));
            }
        }
    }
    if let Some(png) = seal {
        let stamp = image::load_from_memory(png).unwrap().to_rgba8();
        let stamp =
            image::imageops::resize(&stamp, 158, 158, image::imageops::FilterType::Triangle);
        image::imageops::overlay(&mut page, &stamp, 560, 900);
    }
    let mut out = Vec::new();
    page.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_captured_stamp_waits_for_staff_and_a_form_without_one_fails() {
    let app = app_without_workers(None).await;
    let font =
        std::fs::read(mcert_server::seals::DEFAULT_SEAL_FONT).expect("fonts-noto-cjk is installed");
    let drawn = mcert_server::seals::drawing::RoundSeal::new(
        "昆明测试科技有限公司",
        &font,
        mcert_server::seals::drawing::SealSize::default(),
    )
    .unwrap()
    .png(400)
    .unwrap();
    let (applicant, id) = submitted_with_form(
        &app,
        "13900139320",
        Some("traditional"),
        Some(stamped_form(Some(&drawn))),
    )
    .await;
    approve(&app, id).await;
    let seal = seal_of(&app, &applicant, id).await;
    assert_eq!(
        (seal["status"].as_str(), seal["kind"].as_str()),
        (Some("making"), Some("traditional")),
        "{seal}"
    );
    let staff = staff_session(&app).await;
    let client = reqwest::Client::new();
    let queue: Value = client
        .get(format!("{}/api/v1/staff/seals?status=making", app.address))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seal_id = queue["seals"][0]["id"].as_i64().unwrap();
    let one: Value = client
        .get(format!("{}/api/v1/staff/seals/{seal_id}", app.address))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        one["form_upload_id"].is_string(),
        "the original beside the cut-out"
    );
    let cut = client
        .get(format!(
            "{}/api/v1/staff/seals/{seal_id}/picture.png",
            app.address
        ))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let cut = image::load_from_memory(&cut).unwrap().to_rgba8();
    assert_eq!(cut.get_pixel(1, 1).0[3], 0, "background transparent");
    let decide = |body: Value| {
        let client = client.clone();
        let staff = staff.clone();
        let url = format!("{}/api/v1/staff/seals/{seal_id}/decision", app.address);
        async move {
            Answer::of(
                client
                    .post(url)
                    .bearer_auth(staff)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(
        decide(json!({ "approve": false })).await.code(),
        "seal_reason_required"
    );
    let confirmed = decide(json!({ "approve": true })).await;
    assert_eq!(
        confirmed.body["status_label"], "已制作",
        "{:?}",
        confirmed.body
    );
    assert_eq!(
        decide(json!({ "approve": true })).await.code(),
        "seal_not_making"
    );
    // Made, but nobody has downloaded a certificate of the employer yet: nothing to seal with.
    let (client_id, secret) = seal_portal(&app).await;
    let early = portal_post(
        &app,
        (client_id.as_str(), secret.as_str()),
        "/api/v1/seal-sessions",
        &json!({ "uscc": USCC, "title": "合同", "sm3": sm3_hex(b"early") }),
    )
    .await;
    assert_eq!((early.status, early.code()), (409, "seal_no_certificate"));

    // A form with no red stamp: 制作失败, with what to do.
    let (applicant, id) = submitted_with_form(
        &app,
        "13900139321",
        Some("traditional"),
        Some(stamped_form(None)),
    )
    .await;
    approve(&app, id).await;
    let failed = seal_of(&app, &applicant, id).await;
    assert_eq!(failed["status_label"], "制作失败");
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("未找到红色"),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hosted_seal_page_shows_the_qr_and_sends_the_browser_back_to_the_portal() {
    let app = app_without_workers(None).await;
    let (_, _, token, held) = holder(&app, "13900139330", "generated", None).await;
    let (client, secret) = seal_portal(&app).await;
    let portal = (client.as_str(), secret.as_str());
    let ask = |return_url: &str| json!({ "uscc": USCC, "title": "劳动合同 <第7号>", "sm3": sm3_hex(b"hosted"), "return_url": return_url });
    let refused = portal_post(
        &app,
        portal,
        "/api/v1/seal-sessions",
        &ask("https://evil.example.cn/back"),
    )
    .await;
    assert_eq!(refused.code(), "seal_request_invalid");
    let created = portal_post(
        &app,
        portal,
        "/api/v1/seal-sessions",
        &ask("https://portal.example.cn/seal/done?case=7"),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let page_url = created.body["page_url"].as_str().unwrap();
    assert_eq!(page_url, format!("{}/seal/{id}", app.address));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(page_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("第7号") && !html.contains("<第7号>"),
        "the title, escaped: {html}"
    );
    assert!(html.contains(created.body["match_code"].as_str().unwrap()));
    assert!(html.contains(created.body["qr_text"].as_str().unwrap()));
    assert!(
        html.contains("data:image/png;base64,"),
        "the seal's picture"
    );

    seal_with(&app, &token, &created.body, &held).await;
    let back = browser.get(page_url).send().await.unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(
        back.headers()["location"].to_str().unwrap(),
        format!("https://portal.example.cn/seal/done?case=7&seal_session={id}")
    );
    let result = portal_post(
        &app,
        portal,
        &format!("/api/v1/seal-sessions/{id}/result"),
        &json!({}),
    )
    .await;
    assert_eq!(result.status, 200);

    // Declined on the phone: back with the reason, and nothing to collect.
    let created = portal_post(
        &app,
        portal,
        "/api/v1/seal-sessions",
        &ask("https://portal.example.cn/seal/done"),
    )
    .await;
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        scan(&app, &token, created.body["qr_text"].as_str().unwrap())
            .await
            .status,
        200
    );
    let denied = app
        .post_json(
            &format!("/api/v1/mp/logins/{id}/deny"),
            &json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(denied.status, 204);
    let back = browser
        .get(created.body["page_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        back.headers()["location"].to_str().unwrap(),
        format!("https://portal.example.cn/seal/done?seal_session={id}&error=denied")
    );
}
