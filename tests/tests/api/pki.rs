//! The CA as relying parties and OpenSSL see it: chain, holder certificates, CRL, OCSP,
//! revocation, the audit chain, and bad input.

use der::{Decode, Encode};
use mcert_server::audit::Actor;
use mcert_server::{
    audit::verify_chain,
    ca::{CaError, HolderDraft, RevocationReason, Role, UnitDraft},
    domain::{PersonName, PhoneNumber, ResidentId, UnitName, Uscc},
};
use x509_cert::{Certificate, crl::CertificateList};
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspRequest, OcspResponse, Request, TbsRequest, Version,
};

use crate::helpers::{TestApp, openssl, openssl_verify_sm2, s, spawn_app};

const USCC: &str = "91440300708461136T";

fn unit(name: &str) -> UnitDraft {
    UnitDraft {
        uscc: Uscc::parse(USCC).unwrap(),
        name: UnitName::parse(name).unwrap(),
    }
}

fn holder() -> HolderDraft {
    HolderDraft {
        name: PersonName::parse("张三").unwrap(),
        id_number: ResidentId::parse("11010519491231002X").unwrap(),
        phone: PhoneNumber::parse("13800138000").unwrap(),
    }
}

async fn issue(app: &TestApp, name: &str) -> mcert_server::ca::IssuedCertificate {
    let csr = app.openssl_csr(name);
    app.state
        .authority
        .issue_physical(
            &csr,
            unit("昆明测试科技有限公司"),
            holder(),
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ca_chain_verifies_in_openssl_link_by_link() {
    let app = spawn_app().await;
    let (issuing, root) = app.write_chain().await;
    let text = openssl(&["x509", "-in", s(&root), "-noout", "-text"]);
    assert!(
        text.contains("SM2-with-SM3") && text.contains("CA:TRUE"),
        "{text}"
    );
    openssl(&[
        "verify",
        "-vfyopt",
        "distid:1234567812345678",
        "-CAfile",
        s(&root),
        s(&root),
    ]);
    let out = openssl(&[
        "verify",
        "-vfyopt",
        "distid:1234567812345678",
        "-CAfile",
        s(&root),
        s(&issuing),
    ]);
    assert!(out.contains("OK"));
}

#[tokio::test(flavor = "multi_thread")]
async fn physical_certificate_follows_the_holder_profile() {
    let app = spawn_app().await;
    let (issuing, _) = app.write_chain().await;
    let issued = issue(&app, "first").await;
    assert_eq!(issued.record.role, Role::Primary);
    let pem_path = app.path("holder.pem");
    std::fs::write(&pem_path, issued.pem().unwrap()).unwrap();
    openssl(&[
        "verify",
        "-vfyopt",
        "distid:1234567812345678",
        "-partial_chain",
        "-CAfile",
        s(&issuing),
        s(&pem_path),
    ]);
    let text = openssl(&[
        "x509",
        "-in",
        s(&pem_path),
        "-noout",
        "-text",
        "-nameopt",
        "utf8",
    ]);
    for expected in [
        "CA:FALSE",
        "Digital Signature, Non Repudiation",
        "TLS Web Client Authentication",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        &format!("URI:{}/pki/crl", app.address),
        &format!("OCSP - URI:{}/pki/ocsp", app.address),
        "昆明测试科技有限公司",
        "张三",
        USCC,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    let cert = Certificate::from_der(&issued.der).unwrap();
    assert!(
        cert.tbs_certificate.serial_number.as_bytes().len() >= 9,
        "at least 64 random bits"
    );
    let validity = cert.tbs_certificate.validity;
    let days = (validity.not_after.to_unix_duration() - validity.not_before.to_unix_duration())
        .as_secs()
        / 86400;
    assert_eq!(days, 365);
    // A second certificate of the same employer is a sub-certificate.
    assert_eq!(issue(&app, "second").await.record.role, Role::Sub);
}

fn ocsp_request(issuer: &Certificate, cert: &Certificate) -> Vec<u8> {
    let cert_id = x509_ocsp::CertId::from_cert::<sha1::Sha1>(issuer, cert).unwrap();
    OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request::new(cert_id)],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap()
}

async fn ocsp_status(
    app: &TestApp,
    request: Vec<u8>,
    via_get: bool,
) -> (CertStatus, BasicOcspResponse) {
    let response = if via_get {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&request);
        app.get(&format!(
            "/pki/ocsp/{}",
            encoded.replace('/', "%2F").replace('+', "%2B")
        ))
        .await
    } else {
        app.client
            .post(format!("{}/pki/ocsp", app.address))
            .header("Content-Type", "application/ocsp-request")
            .body(request)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(
        response.headers()["content-type"],
        "application/ocsp-response"
    );
    let body = response.bytes().await.unwrap();
    let parsed = OcspResponse::from_der(&body).unwrap();
    let bytes = parsed.response_bytes.expect("successful response");
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
    (basic.tbs_response_data.responses[0].cert_status, basic)
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_shows_in_ocsp_and_crl_at_once() {
    let app = spawn_app().await;
    let (issuing_path, _) = app.write_chain().await;
    let issued = issue(&app, "revoked").await;
    let issuing = app.state.authority.issuing().clone();
    let cert = Certificate::from_der(&issued.der).unwrap();

    let (status, basic) = ocsp_status(&app, ocsp_request(&issuing, &cert), false).await;
    assert!(matches!(status, CertStatus::Good(_)));
    openssl_verify_sm2(
        app.dir.path(),
        &issuing_path,
        &basic.tbs_response_data.to_der().unwrap(),
        basic.signature.raw_bytes(),
    );
    // OpenSSL's own client parses the answer and reads the status.
    let cert_path = app.path("revoked.pem");
    std::fs::write(&cert_path, issued.pem().unwrap()).unwrap();
    let url = format!("{}/pki/ocsp", app.address);
    let out = openssl(&[
        "ocsp",
        "-issuer",
        s(&issuing_path),
        "-cert",
        s(&cert_path),
        "-url",
        &url,
        "-noverify",
    ]);
    assert!(out.contains(": good"), "{out}");

    app.state
        .authority
        .revoke(
            &issued.record.serial,
            RevocationReason::KeyCompromise,
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap();

    let (status, _) = ocsp_status(&app, ocsp_request(&issuing, &cert), true).await;
    assert!(matches!(status, CertStatus::Revoked(_)), "{status:?}");
    let out = openssl(&[
        "ocsp",
        "-issuer",
        s(&issuing_path),
        "-cert",
        s(&cert_path),
        "-url",
        &url,
        "-noverify",
    ]);
    assert!(
        out.contains(": revoked") && out.contains("keyCompromise"),
        "{out}"
    );

    let crl = app.get("/pki/crl").await;
    assert_eq!(crl.headers()["content-type"], "application/pkix-crl");
    let der = crl.bytes().await.unwrap();
    let crl_path = app.path("crl.der");
    std::fs::write(&crl_path, &der).unwrap();
    let text = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        s(&crl_path),
        "-noout",
        "-text",
    ]);
    assert!(
        text.contains(issued.record.serial.as_str()) && text.contains("Key Compromise"),
        "{text}"
    );
    let list = CertificateList::from_der(&der).unwrap();
    openssl_verify_sm2(
        app.dir.path(),
        &issuing_path,
        &list.tbs_cert_list.to_der().unwrap(),
        list.signature.raw_bytes(),
    );

    // Revoking twice is refused with the first revocation's time; nothing changes.
    let again = app
        .state
        .authority
        .revoke(
            &issued.record.serial,
            RevocationReason::Superseded,
            &Actor::Operator("test".into()),
        )
        .await;
    assert!(
        matches!(again, Err(CaError::AlreadyRevoked { .. })),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ocsp_answers_unknown_and_malformed_properly() {
    let app = spawn_app().await;
    let issued = issue(&app, "unknown").await;
    let issuing = app.state.authority.issuing().clone();
    let mut cert = Certificate::from_der(&issued.der).unwrap();
    cert.tbs_certificate.serial_number =
        x509_cert::serial_number::SerialNumber::new(&[0x11; 16]).unwrap();
    let (status, _) = ocsp_status(&app, ocsp_request(&issuing, &cert), false).await;
    assert!(matches!(status, CertStatus::Unknown(_)));

    let response = app
        .client
        .post(format!("{}/pki/ocsp", app.address))
        .body(vec![1, 2, 3])
        .send()
        .await
        .unwrap();
    let parsed = OcspResponse::from_der(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(
        parsed.response_status,
        x509_ocsp::OcspResponseStatus::MalformedRequest
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_csrs_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let malformed = app
        .state
        .authority
        .issue_physical(
            b"not a csr",
            unit("昆明测试科技有限公司"),
            holder(),
            &Actor::Operator("test".into()),
        )
        .await;
    assert!(
        matches!(malformed, Err(CaError::CsrMalformed { .. })),
        "{malformed:?}"
    );

    let mut tampered = app.openssl_csr("tampered");
    // Flip a bit inside the subject name: the self-signature no longer matches.
    let position = tampered.windows(6).position(|w| w == b"usbkey").unwrap();
    tampered[position] ^= 0x01;
    let result = app
        .state
        .authority
        .issue_physical(
            &tampered,
            unit("昆明测试科技有限公司"),
            holder(),
            &Actor::Operator("test".into()),
        )
        .await;
    assert!(
        matches!(result, Err(CaError::CsrSignatureInvalid)),
        "{result:?}"
    );

    let key = app.path("p256.key");
    let csr = app.path("p256.csr");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        s(&key),
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        s(&key),
        "-subj",
        "/CN=x",
        "-outform",
        "DER",
        "-out",
        s(&csr),
    ]);
    let result = app
        .state
        .authority
        .issue_physical(
            &std::fs::read(&csr).unwrap(),
            unit("昆明测试科技有限公司"),
            holder(),
            &Actor::Operator("test".into()),
        )
        .await;
    assert!(
        matches!(result, Err(CaError::CsrAlgorithm { .. })),
        "{result:?}"
    );

    // The only audit entry is the CA's creation: no refused request left a trace in the registry.
    let entries = app.state.store.audit_entries(0, 100).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn employer_name_must_match_its_registration() {
    let app = spawn_app().await;
    issue(&app, "registered").await;
    let csr = app.openssl_csr("renamed");
    let result = app
        .state
        .authority
        .issue_physical(
            &csr,
            unit("另一个名字有限公司"),
            holder(),
            &Actor::Operator("test".into()),
        )
        .await;
    assert!(
        matches!(result, Err(CaError::UnitNameMismatch { .. })),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_log_chains_every_state_change() {
    let app = spawn_app().await;
    let issued = issue(&app, "audited").await;
    app.state
        .authority
        .revoke(
            &issued.record.serial,
            RevocationReason::CessationOfOperation,
            &Actor::Staff("李四".into()),
        )
        .await
        .unwrap();
    let entries = app.state.store.audit_entries(0, 100).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "authority.create",
            "certificate.issue",
            "certificate.revoke"
        ]
    );
    assert_eq!(entries[2].actor, "staff:李四");
    assert_eq!(verify_chain(&entries), Ok(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_issuance_keeps_one_primary_and_an_unbroken_chain() {
    let app = spawn_app().await;
    let csrs: Vec<Vec<u8>> = (0..6).map(|i| app.openssl_csr(&format!("c{i}"))).collect();
    let authority = app.state.authority.clone();
    let tasks: Vec<_> = csrs
        .into_iter()
        .map(|csr| {
            let authority = authority.clone();
            tokio::spawn(async move {
                authority
                    .issue_physical(
                        &csr,
                        unit("昆明测试科技有限公司"),
                        holder(),
                        &Actor::Operator("test".into()),
                    )
                    .await
            })
        })
        .collect();
    let mut primaries = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().record.role == Role::Primary {
            primaries += 1;
        }
    }
    assert_eq!(primaries, 1);
    let entries = app.state.store.audit_entries(0, 100).await.unwrap();
    assert_eq!(verify_chain(&entries), Ok(7));
}
