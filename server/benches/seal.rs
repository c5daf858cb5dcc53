//! Server CPU per electronic seal (DESIGN.md §8, §13): what one seal signature costs the server
//! beside the co-signature itself (the `cosign` bench): encoding the `TBS_Sign` around the
//! employer's seal, the digest of that message, assembling the `SES_Signature`, verifying it
//! (the report in GB/T 38540's order), and for a PDF stamping it (the incremental update with
//! the seal drawn) and embedding the CMS signature.
//!
//! Run: `cargo bench -p mcert-server --bench seal`. Results in `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use der::{
    Decode as _, Encode as _,
    asn1::{BitString, GeneralizedTime, Ia5String, OctetString},
};
use mcert_server::ca::{CaSigner as _, SoftwareSm2Signer};
use mcert_server::seals::drawing::{RoundSeal, SealSize};
use mcert_ses::{
    CertList, CertStatus, Header, Picture, PropertyInfoV4, Registry, SealInfoV4, SealV4,
    SignatureV4, TbsSignV4, pdf,
};
use x509_cert::Certificate;

/// A self-signed SM2 certificate of `key` (the bench's registry trusts everything).
fn certificate(key: &SoftwareSm2Signer, name: &str) -> Vec<u8> {
    use std::str::FromStr as _;
    use x509_cert::{
        TbsCertificate, Version,
        name::Name,
        serial_number::SerialNumber,
        time::{Time, Validity},
    };
    let time = |unix: u64| {
        Time::UtcTime(
            der::asn1::UtcTime::from_unix_duration(std::time::Duration::from_secs(unix)).unwrap(),
        )
    };
    let subject = Name::from_str(&format!("CN={name}")).unwrap();
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&[1, 2, 3]).unwrap(),
        signature: key.signature_algorithm(),
        issuer: subject.clone(),
        validity: Validity {
            not_before: time(1_700_000_000),
            not_after: time(2_000_000_000),
        },
        subject,
        subject_public_key_info: key.public_key_info().clone(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let signature = key.sign(&tbs.to_der().unwrap()).unwrap();
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: key.signature_algorithm(),
        signature,
    }
    .to_der()
    .unwrap()
}

/// An SM2 signature as DER `SEQUENCE { r, s }`.
fn sign(key: &SoftwareSm2Signer, message: &[u8]) -> Vec<u8> {
    key.sign(message).unwrap().raw_bytes().to_vec()
}

struct TrustAll;

impl Registry for TrustAll {
    fn issuer_of(&self, _: &Certificate) -> Option<String> {
        Some("bench".into())
    }
    fn status(&self, _: &Certificate) -> CertStatus {
        CertStatus::Good
    }
}

fn time(unix: u64) -> GeneralizedTime {
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(unix)).unwrap()
}

fn seal(c: &mut Criterion) {
    let font = std::fs::read(mcert_server::seals::DEFAULT_SEAL_FONT).expect("fonts-noto-cjk");
    let drawn = RoundSeal::new("昆明示例科技有限公司", &font, SealSize::default()).unwrap();
    let png = drawn.png(mcert_server::seals::PICTURE_PIXELS).unwrap();
    let maker = SoftwareSm2Signer::from_secret_bytes(&[0x11; 32]).unwrap();
    let signer = SoftwareSm2Signer::from_secret_bytes(&[0x22; 32]).unwrap();
    let maker_cert = certificate(&maker, "maker");
    let signer_cert = certificate(&signer, "holder");
    let cert_list = CertList::Certificates(vec![OctetString::new(signer_cert.clone()).unwrap()]);
    let now = 1_796_000_000;
    let info = SealInfoV4 {
        header: Header {
            id: Ia5String::new("ES").unwrap(),
            version: 4,
            vid: Ia5String::new("mcert").unwrap(),
        },
        es_id: Ia5String::new("91440300708461136T000000010001").unwrap(),
        property: PropertyInfoV4 {
            kind: 1,
            name: "昆明示例科技有限公司".into(),
            cert_list_type: 1,
            cert_list: cert_list.to_any().unwrap(),
            create_date: time(now - 86_400),
            valid_start: time(now - 86_400),
            valid_end: time(now + 86_400 * 300),
        },
        picture: Picture {
            kind: Ia5String::new("PNG").unwrap(),
            data: OctetString::new(png.clone()).unwrap(),
            width: 40,
            height: 40,
        },
        ext_datas: None,
    };
    let maker_signature = sign(&maker, &info.to_der().unwrap());
    let eseal = SealV4 {
        e_seal_info: info,
        cert: OctetString::new(maker_cert).unwrap(),
        sign_alg_id: mcert_ses::SM2_WITH_SM3,
        signed_value: BitString::from_bytes(&maker_signature).unwrap(),
    };
    let tbs = |hash: &[u8]| TbsSignV4 {
        version: 4,
        eseal: eseal.clone(),
        time_info: time(now),
        data_hash: BitString::from_bytes(hash).unwrap(),
        property_info: Ia5String::new("session=AAAAAAAAAAAAAAAAAAAAAA&title=%E5%90%88%E5%90%8C")
            .unwrap(),
        ext_datas: None,
    };
    let message = tbs(&[7; 32]).to_der().unwrap();
    let public =
        sm2::PublicKey::from_sec1_bytes(signer.public_key_info().subject_public_key.raw_bytes())
            .unwrap();
    let signature = sign(&signer, &message);
    let ses = SignatureV4 {
        to_sign: tbs(&[7; 32]),
        cert: OctetString::new(signer_cert.clone()).unwrap(),
        signature_alg_id: mcert_ses::SM2_WITH_SM3,
        signature: BitString::from_bytes(&signature).unwrap(),
        time_stamp: None,
    }
    .to_der()
    .unwrap();

    let mut group = c.benchmark_group("seal");
    group.bench_function("tbs_sign_encode (seal with a 40 mm PNG)", |b| {
        b.iter(|| tbs(black_box(&[7; 32])).to_der().unwrap())
    });
    group.bench_function("message_digest (e over DER(TBS_Sign))", |b| {
        b.iter(|| mcert_signer::message_digest(&public, black_box(&message)).unwrap())
    });
    group.bench_function("server_verify_signature over DER(TBS_Sign)", |b| {
        b.iter(|| mcert_signer::verify(&public, &message, &signature).unwrap())
    });
    group.bench_function(
        "ses_signature_assemble (decode TBS + encode SES_Signature)",
        |b| {
            b.iter(|| {
                SignatureV4 {
                    to_sign: TbsSignV4::from_der(black_box(&message)).unwrap(),
                    cert: OctetString::new(signer_cert.clone()).unwrap(),
                    signature_alg_id: mcert_ses::SM2_WITH_SM3,
                    signature: BitString::from_bytes(&signature).unwrap(),
                    time_stamp: None,
                }
                .to_der()
                .unwrap()
            })
        },
    );
    group.bench_function("verify_report (GB/T 38540 order)", |b| {
        b.iter(|| mcert_ses::verify_signature(black_box(&ses), None, &TrustAll))
    });
    group.bench_function("drawing (RoundSeal::new + PNG 400 px)", |b| {
        b.iter(|| {
            RoundSeal::new("昆明示例科技有限公司", &font, SealSize::default())
                .unwrap()
                .png(400)
                .unwrap()
        })
    });

    let document = mcert_server::seals::sample_pdf(&["bench document"]);
    let appearance = pdf::Appearance::Operators {
        operators: drawn.pdf_operators(0.0, 0.0),
        width_mm: 40.0,
        height_mm: 40.0,
    };
    let fields = pdf::SignatureFields {
        name: "昆明示例科技有限公司（张三）".into(),
        reason: "电子印章".into(),
        signing_time: now as i64,
    };
    let placement = pdf::Placement {
        page: 1,
        x_mm: 150.0,
        y_mm: 230.0,
    };
    group.bench_function("pdf_prepare (one-page PDF: seal drawn, placeholder)", |b| {
        b.iter(|| pdf::prepare(black_box(&document), &placement, &appearance, &fields).unwrap())
    });
    let prepared = pdf::prepare(&document, &placement, &appearance, &fields).unwrap();
    let attributes = pdf::signed_attributes(&prepared.content_sm3, now as i64).unwrap();
    let cms_signature = sign(&signer, &attributes);
    group.bench_function("pdf_finish (CMS SignedData embedded)", |b| {
        b.iter(|| {
            pdf::finish(
                prepared.clone(),
                &attributes,
                &cms_signature,
                std::slice::from_ref(&signer_cert),
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = seal
}
criterion_main!(benches);
