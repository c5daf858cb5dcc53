//! The crypto floor of one QR login (DESIGN.md §13): the signature operations the server cannot
//! avoid for one complete login, measured natively on one core. The throughput run in
//! `scripts/bench-login` divides the server's measured CPU per login by this.
//!
//! Per login the server must
//! - open the phone's sealed round (one SM2 key agreement, SM3 KDF, SM4-GCM) and seal its
//!   answer (`transport::TransportSecret::open_round`, `Channel::seal_partials`);
//! - check the phone's PIN proof against P1: `[z]G = T + [c]P1` (`cosign::verify_pin_proof`);
//! - compute e = SM3(Z_A ‖ M) and its partials r, s2, s3 (`ServerShare::partials`);
//! - verify the final SM2 signature under P (`mcert_signer::verify`);
//! - sign one ES256 ID token (P-256 ECDSA over SHA-256 of the JWS signing input).
//!
//! The floor is the sum of their medians. Unsealing P1 and d2 (SM4-GCM) and `jsonwebtoken`'s
//! own per-token key handling are printed beside it as context, not counted: they are what the
//! server does today, not what a login needs.
//!
//! Run: `cargo bench -p mcert-server --bench login_floor` (or `scripts/bench-login`, which
//! runs it next to the throughput run). `MCERT_FLOOR_RUNS` sets the runs per operation
//! (default 2000). The last line, `floor_us=…`, is what the script reads.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcert_server::ca::{KeyWrap, MasterKey, TokenKeys};
use mcert_signer::{
    cosign::{self, ServerShare},
    message::{LoginChallenge, SignedMessage},
    message_digest,
    share::generate_share,
    transport::{Channel, TransportSecret},
};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePrivateKey as _;
use rand::RngCore as _;

const PIN: &[u8] = b"246810";
const SESSION: &str = "AAAAAAAAAAAAAAAAAAAAAA";
const WARM_UP: usize = 100;

fn entropy() -> [u8; 64] {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Median of `runs` timings of `operation`, in microseconds.
fn median_us<T>(runs: usize, mut operation: impl FnMut() -> T) -> f64 {
    for _ in 0..WARM_UP {
        black_box(operation());
    }
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(operation());
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let runs: usize = std::env::var("MCERT_FLOOR_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);

    // A login challenge of the size the server builds (kind 2, realistic field lengths).
    let now = 1_790_000_000;
    let message = SignedMessage::LoginChallenge(LoginChallenge {
        session_id: SESSION.as_bytes().to_vec(),
        client_id: "mcp_0123456789abcdef0123".to_string(),
        portal_name: "就业彩云南测试门户".to_string(),
        origin: "https://portal.example.cn".to_string(),
        scopes: "openid profile employer".to_string(),
        serial: "7F3A9C0E5D2B4A6C8E1F3A5C7E9B1D2F".to_string(),
        match_code: "42".to_string(),
        initiator: "云南昆明 · 222.172.200.* · Chrome".to_string(),
        initiated_at: now - 10,
        issued_at: now,
        expires_at: now + 300,
    })
    .encode()
    .unwrap();

    let (share, p1) = generate_share(&entropy(), PIN).unwrap();
    let d2 = ServerShare::generate(&entropy()).unwrap();
    let public_key = d2.joint_public_key(&p1).unwrap();
    let (signing, round) =
        cosign::begin(&share, PIN, SESSION.as_bytes(), &message, &entropy()).unwrap();
    let e = message_digest(&public_key, &message).unwrap();
    let partials = d2.partials(&e, &round.q1, &entropy()).unwrap();
    let signature = signing.finish(&partials, &public_key).unwrap();
    mcert_signer::verify(&public_key, &message, &signature).unwrap();
    let transport = TransportSecret::generate(&entropy()).unwrap();
    let (channel, ephemeral) =
        Channel::client(transport.public_key(), SESSION.as_bytes(), &entropy()).unwrap();
    let sealed_round = channel.seal_round(&ephemeral, &round);

    // The ID token: the server's key type and the claims of an `openid profile employer` login.
    let new_key = TokenKeys::generate().unwrap();
    let keys = TokenKeys::new(
        new_key.kid.clone(),
        &new_key.secret,
        &[(new_key.kid.clone(), new_key.spki.clone())],
    )
    .unwrap();
    let claims = serde_json::json!({
        "iss": "https://mcert.example.cn",
        "sub": "Qm9hcmQgb2YgZW1wbG95ZXIgYW5kIGhvbGRlcg",
        "aud": "mcp_0123456789abcdef0123",
        "exp": now + 300, "iat": now, "auth_time": now,
        "sid": SESSION,
        "amr": ["swk", "pin"], "acr": "urn:mcert:loa:cosign",
        "name": "张三",
        "employer_name": "昆明测试科技有限公司12345",
        "uscc": "91440300MA5F000000",
        "certificate_serial": "7F3A9C0E5D2B4A6C8E1F3A5C7E9B1D2F",
        "certificate_role": "primary",
        "items": [],
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(keys.current_kid().to_string());
    let signing_input = {
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_ec_der(keys.signing_key().to_pkcs8_der().unwrap().as_bytes()),
        )
        .unwrap();
        token.rsplit_once('.').unwrap().0.to_string()
    };
    let encoding = EncodingKey::from_ec_der(keys.signing_key().to_pkcs8_der().unwrap().as_bytes());

    let key_wrap = MasterKey::generate();
    let sealed_p1 = key_wrap
        .encrypt(b"phone-share:bench", &p1.to_sec1_bytes())
        .unwrap();
    let sealed_d2 = key_wrap
        .encrypt(b"key-share:bench", d2.to_bytes().as_ref())
        .unwrap();

    let transport_us = median_us(runs, || {
        let (_, channel) = transport
            .open_round(SESSION.as_bytes(), black_box(&sealed_round))
            .unwrap();
        channel.seal_partials(&partials)
    });
    let proof = median_us(runs, || {
        cosign::verify_pin_proof(&p1, &round.q1, SESSION.as_bytes(), &message, &round.proof)
            .unwrap()
    });
    let partials_us = median_us(runs, || {
        let e = message_digest(&public_key, black_box(&message)).unwrap();
        d2.partials(&e, &round.q1, &entropy()).unwrap()
    });
    let verify = median_us(runs, || {
        mcert_signer::verify(&public_key, &message, black_box(&signature)).unwrap()
    });
    let es256 = median_us(runs, || {
        let signature: p256::ecdsa::Signature =
            keys.signing_key().sign(black_box(signing_input.as_bytes()));
        signature
    });
    let jwt = median_us(runs, || {
        jsonwebtoken::encode(&header, black_box(&claims), &encoding).unwrap()
    });
    let unseal = median_us(runs, || {
        let p1 = key_wrap.decrypt(b"phone-share:bench", &sealed_p1).unwrap();
        let d2 = key_wrap.decrypt(b"key-share:bench", &sealed_d2).unwrap();
        (p1, d2)
    });

    let floor = transport_us + proof + partials_us + verify + es256;
    println!("# Crypto floor of one QR login, server side ({runs} runs per operation, medians)");
    println!("server_open_round_and_seal_partials_us {transport_us:.1}");
    println!("server_verify_pin_proof_us {proof:.1}");
    println!("server_e_and_partials_us {partials_us:.1}");
    println!("server_verify_signature_us {verify:.1}");
    println!("es256_sign_us {es256:.1}");
    println!("floor_us {floor:.1}");
    println!("# context, not in the floor:");
    println!("jsonwebtoken_encode_es256_us {jwt:.1}");
    println!("unseal_p1_and_d2_us {unseal:.1}");
    println!("floor_us={floor:.1}");
}
