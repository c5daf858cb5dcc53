//! Split-key signing end to end (DESIGN.md §5, docs/split-key.md): enrolment through the HTTP
//! API with the signer crate as the phone, signatures judged by OpenSSL, the server-counted PIN,
//! and bad input that must change nothing.

use der::Decode;
use mcert_server::audit::verify_chain;
use mcert_signer::{
    SignerError,
    cosign::{self, ClientRound},
    message::SignedMessage,
    share::{MaskedShare, generate_share},
    transport::TransportSecret,
};
use serde_json::json;
use x509_cert::Certificate;

use crate::{
    helpers::{openssl_verify_sm2, spawn_app},
    phone::{PIN, b64, entropy, unb64},
};

const WRONG_PIN: &str = "135790";

#[tokio::test(flavor = "multi_thread")]
async fn enrolled_key_signs_and_openssl_verifies() {
    let app = spawn_app().await;
    let ticket = app.ticket().await;
    let (share, started) = app.start_enrolment(&ticket, PIN).await;
    let serial = started["serial"].as_str().unwrap().to_string();
    let public_key = unb64(&started["public_key"]);

    // The server's message is the canonical key-enrolment message for this key.
    match SignedMessage::decode(&unb64(&started["cosign"]["message"])).unwrap() {
        SignedMessage::KeyEnrolment(m) => {
            assert_eq!(m.serial, serial);
            assert_eq!(m.public_key.as_slice(), public_key.as_slice());
            assert_eq!(m.unit_name, "昆明测试科技有限公司");
        }
        other => panic!("unexpected message {other:?}"),
    }
    // Pending until the first co-signed signature.
    let record = app
        .state
        .authority
        .certificate(&serial.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(record.status.as_str(), "pending");

    let done = app
        .cosign(&started["cosign"], &public_key, &share, PIN)
        .await
        .unwrap();
    assert_eq!(done["serial"], serial.as_str());
    let pem = done["certificate"].as_str().unwrap();
    let certificate = Certificate::from_der(&pem_rfc7468_decode(pem)).unwrap();
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    assert_eq!(spki, public_key.as_slice(), "the certificate carries P");
    let record = app
        .state
        .authority
        .certificate(&serial.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(record.status.as_str(), "active");

    // OpenSSL verifies the enrolment signature and a later PIN-check signature under the
    // certificate's key, as plain SM2 signatures with the standard ID.
    let cert_path = app.path("holder.pem");
    std::fs::write(&cert_path, pem).unwrap();
    openssl_verify_sm2(
        app.dir.path(),
        &cert_path,
        &unb64(&done["message"]),
        &unb64(&done["signature"]),
    );
    let phone = crate::phone::TestPhone {
        share,
        serial: serial.clone(),
        public_key,
        device_token: done["device_token"].as_str().unwrap().to_string(),
    };
    let checked = app.verify_pin(&phone, PIN).await.unwrap();
    assert_eq!(checked["purpose"], "verify_pin");
    openssl_verify_sm2(
        app.dir.path(),
        &cert_path,
        &unb64(&checked["message"]),
        &unb64(&checked["signature"]),
    );
    let status = app.key_status(&phone).await;
    assert_eq!(status["status"], "active");
    assert_eq!(status["locked"], false);
    assert_eq!(status["remaining_attempts"], 6);
}

fn pem_rfc7468_decode(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn six_wrong_pins_lock_the_key_and_the_lock_is_audited() {
    let app = spawn_app().await;
    let phone = app.enrol(PIN).await;

    // A right PIN between wrong ones resets the count.
    let wrong = app.verify_pin(&phone, WRONG_PIN).await.unwrap_err();
    assert_eq!((wrong.status, wrong.code()), (403, "pin_incorrect"));
    assert_eq!(wrong.body["remaining_attempts"], 5);
    assert!(
        wrong.body.get("partials").is_none(),
        "no partials for a wrong PIN"
    );
    app.verify_pin(&phone, PIN).await.unwrap();
    assert_eq!(app.key_status(&phone).await["remaining_attempts"], 6);

    // Five wrong PINs count down; the sixth locks.
    for remaining in (1..=5).rev() {
        let wrong = app.verify_pin(&phone, WRONG_PIN).await.unwrap_err();
        assert_eq!(wrong.code(), "pin_incorrect");
        assert_eq!(wrong.body["remaining_attempts"], remaining);
    }
    let locked = app.verify_pin(&phone, WRONG_PIN).await.unwrap_err();
    assert_eq!((locked.status, locked.code()), (423, "key_locked"));

    // Even the right PIN gets nothing now, and no new PIN-check session opens.
    let status = app.key_status(&phone).await;
    assert_eq!(status["locked"], true);
    assert_eq!(status["remaining_attempts"], 0);
    let refused = app
        .try_key_check(&phone, "verify_pin", Some(phone.device_token.as_str()))
        .await;
    assert_eq!((refused.status, refused.code()), (423, "key_locked"));

    let entries = app.state.store.audit_entries(0, 1000).await.unwrap();
    verify_chain(&entries).unwrap();
    let locks: Vec<_> = entries.iter().filter(|e| e.action == "key.lock").collect();
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].subject, phone.serial);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_may_retry_a_pin_and_issues_partials_once() {
    let app = spawn_app().await;
    let phone = app.enrol(PIN).await;
    let session = app.key_check(&phone, "verify_pin").await;
    let id = session["session_id"].as_str().unwrap();
    let message = unb64(&session["message"]);
    // Wrong then right within one session.
    let (_, wrong) = phone.begin(WRONG_PIN, id, &message);
    let answer = app.send_round(id, &wrong).await;
    assert_eq!(answer.code(), "pin_incorrect");
    let (_, right) = phone.begin(PIN, id, &message);
    let answer = app.send_round(id, &right).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    // Partials are issued once per session.
    let again = app.send_round(id, &right).await;
    assert_eq!((again.status, again.code()), (409, "cosign_out_of_order"));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_wrong_pins_from_copied_phones_cannot_get_a_seventh_try() {
    let app = spawn_app().await;
    let phone = app.enrol(PIN).await;
    // Twelve copies of the phone's storage race with wrong PINs.
    let mut sessions = Vec::new();
    for _ in 0..12 {
        sessions.push(app.key_check(&phone, "verify_pin").await);
    }
    let attempts = sessions.iter().map(|session| {
        let app = &app;
        let phone = &phone;
        async move {
            let id = session["session_id"].as_str().unwrap();
            let (_, round) = phone.begin(WRONG_PIN, id, &unb64(&session["message"]));
            app.send_round(id, &round).await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut remaining: Vec<u64> = answers
        .iter()
        .filter(|a| a.code() == "pin_incorrect")
        .map(|a| a.body["remaining_attempts"].as_u64().unwrap())
        .collect();
    remaining.sort_unstable();
    assert_eq!(remaining, vec![1, 2, 3, 4, 5], "{answers:?}");
    assert_eq!(
        answers.iter().filter(|a| a.code() == "key_locked").count(),
        7,
        "{answers:?}"
    );
    let status = app.key_status(&phone).await;
    assert_eq!(status["locked"], true);
    // The right PIN afterwards is refused.
    let session = app
        .try_key_check(&phone, "verify_pin", Some(phone.device_token.as_str()))
        .await;
    assert_eq!(session.code(), "key_locked");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_input_is_refused_without_counting() {
    let app = spawn_app().await;
    let phone = app.enrol(PIN).await;
    let session = app.key_check(&phone, "verify_pin").await;
    let id = session["session_id"].as_str().unwrap();
    let message = unb64(&session["message"]);
    let (_, round) = phone.begin(WRONG_PIN, id, &message);
    let sealed = app.seal_round(id, &round).await;
    let clear = round.to_bytes();
    let partials = format!("/api/v1/cosign/{id}/partials");

    let mut tampered = sealed.clone();
    tampered[100] ^= 1;
    let mut off_curve = sealed.clone();
    off_curve[65] ^= 1;
    let mut version_1 = sealed.clone();
    version_1[0] = 1;
    let cases = [
        // The clear round of wire version 1 gets a clear answer: update the mini-program.
        (
            json!({ "q1": b64(&clear[..65]), "proof": b64(&clear[65..]) }),
            "cosign_protocol_outdated",
        ),
        (
            json!({ "sealed_round": b64(&version_1) }),
            "cosign_protocol_outdated",
        ),
        (
            json!({ "sealed_round": b64(&tampered) }),
            "cosign_round_undecryptable",
        ),
        (json!({ "sealed_round": b64(&off_curve) }), "invalid_point"),
        (
            json!({ "sealed_round": b64(&sealed[..243]) }),
            "invalid_length",
        ),
        (json!({ "sealed_round": "not base64!" }), "bad_request"),
        // The server computes e itself: a client-supplied digest is not part of the API.
        (
            json!({ "sealed_round": b64(&sealed), "digest": b64(&[7u8; 32]) }),
            "bad_request",
        ),
        (json!({ "q1": b64(&clear[..65]) }), "bad_request"),
        (json!({}), "bad_request"),
    ];
    for (body, code) in cases {
        let answer = app.post_json(&partials, &body, None).await;
        assert_eq!((answer.status, answer.code()), (400, code), "{body}");
        if code == "cosign_protocol_outdated" {
            let text = answer.body["message"].as_str().unwrap();
            assert!(text.contains("请更新小程序"), "{text}");
        }
    }
    assert_eq!(app.key_status(&phone).await["remaining_attempts"], 6);

    // Unknown session, signature before partials, forged device token, bad serial.
    let unknown = app
        .post_json(
            "/api/v1/cosign/AAAAAAAAAAAAAAAAAAAAAA/partials",
            &json!({ "sealed_round": b64(&sealed) }),
            None,
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (404, "cosign_session_not_found")
    );
    let early = app
        .post_json(
            &format!("/api/v1/cosign/{id}/signature"),
            &json!({ "signature": b64(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]) }),
            None,
        )
        .await;
    assert_eq!((early.status, early.code()), (409, "cosign_out_of_order"));
    let forged = app
        .try_key_check(&phone, "verify_pin", Some("forged-token"))
        .await;
    assert_eq!(
        (forged.status, forged.code()),
        (401, "device_token_invalid")
    );
    let missing = app.try_key_check(&phone, "verify_pin", None).await;
    assert_eq!(missing.code(), "device_token_invalid");
    assert_eq!(app.key_status(&phone).await["remaining_attempts"], 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signature_over_anything_but_the_sessions_message_is_refused() {
    let app = spawn_app().await;
    let phone = app.enrol(PIN).await;
    let session = app.key_check(&phone, "verify_pin").await;
    let id = session["session_id"].as_str().unwrap();
    // The phone is tricked into signing another message in this session: its proof is bound
    // to the message, so the server rejects it as a wrong PIN would be...
    let other = b"pay 1,000,000 to the attacker".to_vec();
    let (_, round) = phone.begin(PIN, id, &other);
    let answer = app.send_round(id, &round).await;
    assert_eq!(answer.code(), "pin_incorrect");

    // ...and with the right message, the partials are over the server's digest, so the phone's
    // finished signature verifies only over the session's message; a signature the phone made
    // for another session is refused.
    let message = unb64(&session["message"]);
    let (signing, round) = phone.begin(PIN, id, &message);
    let answer = app.send_round(id, &round).await;
    assert_eq!(answer.status, 200);
    let partials = answer.partials.unwrap();
    let public_key = mcert_signer::parse_public_key(&phone.public_key).unwrap();
    signing.finish(&partials, &public_key).unwrap();
    let previous = app.verify_pin(&phone, PIN).await.unwrap();
    let replay = app
        .post_json(
            &format!("/api/v1/cosign/{id}/signature"),
            &json!({ "signature": previous["signature"] }),
            None,
        )
        .await;
    assert_eq!((replay.status, replay.code()), (400, "signature_invalid"));
    // The session is spent either way.
    let again = app
        .post_json(
            &format!("/api/v1/cosign/{id}/signature"),
            &json!({ "signature": previous["signature"] }),
            None,
        )
        .await;
    assert_eq!(again.code(), "cosign_session_not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn tickets_are_single_use_and_a_retried_enrolment_abandons_the_first() {
    let app = spawn_app().await;
    let ticket = app.ticket().await;
    // First attempt never finishes (the phone lost its connection).
    let (first_share, first) = app.start_enrolment(&ticket, PIN).await;
    // Second attempt with the same ticket completes.
    let (share, second) = app.start_enrolment(&ticket, PIN).await;
    let public_key = unb64(&second["public_key"]);
    app.cosign(&second["cosign"], &public_key, &share, PIN)
        .await
        .unwrap();
    let first_serial = first["serial"].as_str().unwrap().parse().unwrap();
    let first_record = app
        .state
        .authority
        .certificate(&first_serial)
        .await
        .unwrap();
    assert_eq!(first_record.status.as_str(), "abandoned");
    let second_serial = second["serial"].as_str().unwrap().parse().unwrap();
    let second_record = app
        .state
        .authority
        .certificate(&second_serial)
        .await
        .unwrap();
    assert_eq!(second_record.status.as_str(), "active");
    assert_eq!(
        second_record.role.as_str(),
        "primary",
        "the abandoned one holds no role"
    );

    // The ticket is spent.
    let (_, p1) = generate_share(&entropy(), PIN.as_bytes()).unwrap();
    let p1 = sm2::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&p1, false);
    let reused = app
        .post_json(
            "/api/v1/enrolments",
            &json!({ "ticket": ticket, "p1": b64(p1.as_bytes()) }),
            None,
        )
        .await;
    assert_eq!(
        (reused.status, reused.code()),
        (404, "enrolment_ticket_invalid")
    );
    // Bad tickets and bad points.
    let malformed = app
        .post_json(
            "/api/v1/enrolments",
            &json!({ "ticket": "nope", "p1": b64(p1.as_bytes()) }),
            None,
        )
        .await;
    assert_eq!(malformed.code(), "enrolment_ticket_malformed");
    let fresh = app.ticket().await;
    let bad_point = app
        .post_json(
            "/api/v1/enrolments",
            &json!({ "ticket": fresh, "p1": b64(&[4u8; 65]) }),
            None,
        )
        .await;
    assert_eq!((bad_point.status, bad_point.code()), (400, "invalid_point"));
    // The abandoned attempt's session can no longer get partials: its key share is gone.
    let abandoned = app
        .cosign(
            &first["cosign"],
            &unb64(&first["public_key"]),
            &first_share,
            PIN,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (abandoned.status, abandoned.code()),
        (404, "cosign_session_not_found")
    );
    assert!(first_record.der.is_none(), "never signed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_development_endpoint_exists_only_in_development_mode() {
    let app = crate::helpers::spawn_app_with(|settings| settings.dev_mode = false).await;
    let answer = app
        .post_json("/dev/enrolment-tickets", &json!({}), None)
        .await;
    assert_eq!(answer.status, 404);
}

/// The offline search of issue 12, finding 7, on a copied share and a round in clear: whether
/// `pin` unmasks the d1 whose P1 makes the round's PIN proof hold. Written from the documented
/// share layout, as an attacker would.
fn pin_matches(
    share: &MaskedShare,
    pin: &str,
    round: &ClientRound,
    id: &str,
    message: &[u8],
) -> bool {
    use sm2::elliptic_curve::{bigint::U256, ops::Reduce};
    let bytes = share.to_bytes();
    let iterations = u32::from_be_bytes(bytes[2..6].try_into().unwrap());
    let mut m = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sm3::Sm3>(pin.as_bytes(), &bytes[6..22], iterations, &mut m);
    let reduce = |b: &[u8]| <sm2::Scalar as Reduce<U256>>::reduce(U256::from_be_slice(b));
    let two_256 = reduce(&[0xff; 32]) + sm2::Scalar::ONE;
    let d1 = reduce(&bytes[22..54]) - (reduce(&m[..32]) * two_256 + reduce(&m[32..]));
    let u = d1.invert().unwrap();
    let p1 =
        sm2::PublicKey::from_affine((sm2::ProjectivePoint::GENERATOR * u).to_affine()).unwrap();
    cosign::verify_pin_proof(&p1, &round.q1, id.as_bytes(), message, &round.proof).is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logged_round_and_a_copied_share_give_no_offline_pin_search() {
    let app = spawn_app().await;
    let phone = app.enrol(PIN).await;
    let public_key = mcert_signer::parse_public_key(&phone.public_key).unwrap();

    // One PIN check, with every body as a logging proxy records it: the session, the sealed
    // round, the sealed partials and the final signature.
    let session = app.key_check(&phone, "verify_pin").await;
    let id = session["session_id"].as_str().unwrap();
    let message = unb64(&session["message"]);
    let (signing, round) = phone.begin(PIN, id, &message);
    let sent = app.send_round(id, &round).await;
    let partials = sent.partials.unwrap();
    let signature = signing.finish(&partials, &public_key).unwrap();
    let done = app
        .post_json(
            &format!("/api/v1/cosign/{id}/signature"),
            &json!({ "signature": b64(&signature) }),
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let log = format!("{session} {} {} {}", sent.request, sent.body, done.body);
    let sealed_round = unb64(&sent.request["sealed_round"]);
    let sealed_partials = unb64(&sent.body["sealed_partials"]);

    // None of Q1, T, z, r, s2, s3 is in the log, neither as bytes nor as text.
    let clear = round.to_bytes();
    let answer = partials.to_bytes();
    let values = [
        &clear[..65],
        &clear[65..130],
        &clear[130..],
        &answer[..32],
        &answer[32..64],
        &answer[64..],
    ];
    for value in values {
        for logged in [&sealed_round, &sealed_partials] {
            assert!(!logged.windows(value.len()).any(|w| w == value));
        }
        assert!(!log.contains(&hex::encode(value)));
        assert!(!log.contains(&b64(value).trim_end_matches('=')[..40]));
    }

    // The round does not open without the server's transport private key: not with another
    // key (a proxy's own, say), and not as if it belonged to another session.
    let other = TransportSecret::generate(&entropy()).unwrap();
    assert_eq!(
        other.open_round(id.as_bytes(), &sealed_round).unwrap_err(),
        SignerError::TransportRejected
    );
    let server = app.state.authority.transport_key();
    assert_eq!(
        server
            .open_round(b"AAAAAAAAAAAAAAAAAAAAAA", &sealed_round)
            .unwrap_err(),
        SignerError::TransportRejected
    );

    // The remaining assumption (docs/split-key.md): with the transport key as well, the same
    // log does allow the search, so the oracle tested above is the real one.
    let (opened, _) = server.open_round(id.as_bytes(), &sealed_round).unwrap();
    assert_eq!(opened, round);
    let candidates = ["000000", "123456", WRONG_PIN, PIN, "999999"];
    let found: Vec<&str> = candidates
        .into_iter()
        .filter(|pin| pin_matches(&phone.share, pin, &opened, id, &message))
        .collect();
    assert_eq!(found, [PIN]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sealed_round_replayed_into_another_session_is_refused_uncounted() {
    let app = spawn_app().await;
    let phone = app.enrol(PIN).await;
    let first = app.key_check(&phone, "verify_pin").await;
    let second = app.key_check(&phone, "verify_pin").await;
    let first_id = first["session_id"].as_str().unwrap();
    let second_id = second["session_id"].as_str().unwrap();
    let (_, round) = phone.begin(PIN, first_id, &unb64(&first["message"]));
    let sealed = app.seal_round(first_id, &round).await;
    let replayed = app
        .post_json(
            &format!("/api/v1/cosign/{second_id}/partials"),
            &json!({ "sealed_round": b64(&sealed) }),
            None,
        )
        .await;
    assert_eq!(
        (replayed.status, replayed.code()),
        (400, "cosign_round_undecryptable")
    );
    assert_eq!(app.key_status(&phone).await["remaining_attempts"], 6);
    // The session it was made for still takes it.
    let answer = app
        .post_json(
            &format!("/api/v1/cosign/{first_id}/partials"),
            &json!({ "sealed_round": b64(&sealed) }),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

/// A CA created before the co-signing round was encrypted has no transport key. The first start
/// of this version creates one; instances starting together agree on it, and a round sealed to
/// the key one instance publishes opens on the other.
#[tokio::test(flavor = "multi_thread")]
async fn a_ca_from_before_the_encrypted_round_gets_one_transport_key_for_all_instances() {
    use sea_orm::ConnectionTrait as _;
    let first = spawn_app().await;
    let phone = first.enrol(PIN).await;
    first
        .db()
        .await
        .execute_unprepared("DELETE FROM authority_keys WHERE purpose = 'transport'")
        .await
        .unwrap();
    let master_key = std::fs::read_to_string(first.path("master.key")).unwrap();
    let instance = || {
        let (database_url, master_key) = (first.database_url.clone(), master_key.clone());
        crate::helpers::spawn_app_with(move |s| {
            s.database_url = Some(database_url);
            s.master_key = Some(secrecy::SecretString::from(master_key.trim().to_string()));
        })
    };
    let (a, b) = tokio::join!(instance(), instance());
    let key = a.transport_key().await;
    assert_eq!(b.transport_key().await, key);
    assert_ne!(
        first.transport_key().await,
        key,
        "a new key, not the deleted one"
    );
    let rows = a
        .db()
        .await
        .query_all_raw(sea_orm::Statement::from_string(
            a.db().await.get_database_backend(),
            "SELECT key_id FROM authority_keys WHERE purpose = 'transport'",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);

    // Sealed to the key `a` publishes, opened by `b`.
    let session = b.key_check(&phone, "verify_pin").await;
    let id = session["session_id"].as_str().unwrap();
    let (_, round) = phone.begin(PIN, id, &unb64(&session["message"]));
    let sealed = a.seal_round(id, &round).await;
    let answer = b
        .post_json(
            &format!("/api/v1/cosign/{id}/partials"),
            &json!({ "sealed_round": b64(&sealed) }),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}
