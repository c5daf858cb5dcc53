//! Native cost of one co-signed SM2 signature (DESIGN.md §5, §13): the server's share of the
//! work (PIN proof check, unsealing d2, partials, final verification) next to the phone's steps
//! run natively and a plain single-key SM2 signature as the floor.
//!
//! Run: `cargo bench -p mcert-server --bench cosign`. Results go in the README's benchmark table.

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mcert_server::ca::{KeyWrap, MasterKey};
use mcert_signer::{
    cosign::{self, ServerShare},
    message_digest,
    share::generate_share,
    transport::{Channel, TransportSecret},
};
use rand::RngCore as _;
use sm2::dsa::{SigningKey, signature::Signer as _};

fn entropy() -> [u8; 64] {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

const PIN: &[u8] = b"246810";
const SESSION: &[u8] = b"AAAAAAAAAAAAAAAAAAAAAA";
const LABEL: &[u8] = b"key-share:bench";

fn cosign(c: &mut Criterion) {
    let message = vec![0x5a; 200];
    let (share, p1) = generate_share(&entropy(), PIN).unwrap();
    let d2 = ServerShare::generate(&entropy()).unwrap();
    let public_key = d2.joint_public_key(&p1).unwrap();
    let key_wrap = MasterKey::generate();
    let sealed = key_wrap.encrypt(LABEL, d2.to_bytes().as_ref()).unwrap();
    let e = message_digest(&public_key, &message).unwrap();

    let mut group = c.benchmark_group("cosign");
    group.bench_function("phone_begin_native (PIN KDF + proof + Q1)", |b| {
        b.iter(|| cosign::begin(&share, PIN, SESSION, &message, &entropy()).unwrap())
    });
    let (_, round) = cosign::begin(&share, PIN, SESSION, &message, &entropy()).unwrap();
    group.bench_function("server_verify_pin_proof", |b| {
        b.iter(|| {
            cosign::verify_pin_proof(&p1, &round.q1, SESSION, &message, &round.proof).unwrap()
        })
    });
    group.bench_function("server_partials", |b| {
        b.iter(|| d2.partials(black_box(&e), &round.q1, &entropy()).unwrap())
    });
    let (signing, round) = cosign::begin(&share, PIN, SESSION, &message, &entropy()).unwrap();
    let partials = d2.partials(&e, &round.q1, &entropy()).unwrap();
    let transport = TransportSecret::generate(&entropy()).unwrap();
    group.bench_function("phone_seal_round (key agreement + SM4-GCM)", |b| {
        b.iter(|| {
            let (channel, ephemeral) =
                Channel::client(transport.public_key(), SESSION, &entropy()).unwrap();
            channel.seal_round(&ephemeral, &round)
        })
    });
    let (channel, ephemeral) =
        Channel::client(transport.public_key(), SESSION, &entropy()).unwrap();
    let sealed_round = channel.seal_round(&ephemeral, &round);
    group.bench_function("server_open_round_and_seal_partials", |b| {
        b.iter(|| {
            let (_, channel) = transport
                .open_round(SESSION, black_box(&sealed_round))
                .unwrap();
            channel.seal_partials(&partials)
        })
    });
    let signature = signing.finish(&partials, &public_key).unwrap();
    group.bench_function("server_verify_signature", |b| {
        b.iter(|| mcert_signer::verify(&public_key, &message, black_box(&signature)).unwrap())
    });
    group.bench_function(
        "server_total (proof + unseal d2 + e + partials + verify)",
        |b| {
            b.iter(|| {
                cosign::verify_pin_proof(&p1, &round.q1, SESSION, &message, &round.proof).unwrap();
                let secret = key_wrap.decrypt(LABEL, &sealed).unwrap();
                let bytes: &[u8; 32] = secret.as_slice().try_into().unwrap();
                let d2 = ServerShare::from_bytes(bytes).unwrap();
                let e = message_digest(&public_key, &message).unwrap();
                d2.partials(&e, &round.q1, &entropy()).unwrap();
                mcert_signer::verify(&public_key, &message, &signature).unwrap()
            })
        },
    );
    group.bench_function("phone_finish_native (s + local verify)", |b| {
        b.iter_batched(
            || {
                let (signing, round) =
                    cosign::begin(&share, PIN, SESSION, &message, &entropy()).unwrap();
                (signing, d2.partials(&e, &round.q1, &entropy()).unwrap())
            },
            |(signing, partials)| signing.finish(&partials, &public_key).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    let single = SigningKey::new(
        mcert_signer::DIST_ID,
        &sm2::SecretKey::from_slice(&[0x42; 32]).unwrap(),
    )
    .unwrap();
    group.bench_function("floor_plain_sm2_sign (one key, no split)", |b| {
        b.iter(|| {
            let signature: sm2::dsa::Signature = single.sign(black_box(&message));
            signature
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = cosign
}
criterion_main!(benches);
