//! The verification report on seal signatures made here: an SM2 root and issuing CA, a seal
//! maker and signers, seals and signatures built field by field; each way a signature can be
//! wrong makes the check that should catch it fail, and only that one (with the checks that
//! rest on it not run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{str::FromStr, time::Duration};

use der::{
    Any, Decode, Encode, Sequence,
    asn1::{
        BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString, PrintableString,
        UintRef, UtcTime,
    },
};
use mcert_ses::{
    CertDigest, CertList, CertStatus, DIST_ID, Header, Outcome, Picture, PropertyInfoV4, Registry,
    Report, SM2_WITH_SM3, SealInfoV4, SealV4, SignatureV4, TbsSignV4, Verdict, verify_signature,
};
use sm2::{
    PublicKey, SecretKey,
    dsa::{
        Signature, SigningKey, VerifyingKey,
        signature::{Signer as _, Verifier as _},
    },
    elliptic_curve::sec1::ToEncodedPoint as _,
};
use sm3::Digest as _;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::{
    Certificate, TbsCertificate, Version,
    name::Name,
    serial_number::SerialNumber,
    time::{Time, Validity},
};

use Outcome::{Failed as F, NotChecked as N, Passed as P};

const DAY: u64 = 86_400;
/// 2025-06-15T15:06:40Z.
const SIGNED_AT: u64 = 1_750_000_000;
const DOCUMENT: &[u8] = b"%PDF-1.7 contract between the parties";
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");

/// The order every report lists its checks in.
const CODES: [&str; 8] = [
    "format",
    "signer_signature",
    "signer_in_seal",
    "maker_signature",
    "signer_certificate",
    "validity",
    "revocation",
    "document_hash",
];

/// An SM2 signature as DER `SEQUENCE { r, s }`, as seals carry them.
#[derive(Sequence)]
struct DerSignature<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

fn sign(key: &SecretKey, message: &[u8]) -> Vec<u8> {
    let signature: Signature = SigningKey::new(DIST_ID, key).unwrap().sign(message);
    let bytes = signature.to_bytes();
    DerSignature {
        r: UintRef::new(&bytes[..32]).unwrap(),
        s: UintRef::new(&bytes[32..]).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn verifies(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(parsed) = DerSignature::from_der(signature) else {
        return false;
    };
    let mut rs = [0u8; 64];
    for (half, value) in [parsed.r.as_bytes(), parsed.s.as_bytes()]
        .into_iter()
        .enumerate()
    {
        if value.len() > 32 {
            return false;
        }
        rs[32 * (half + 1) - value.len()..32 * (half + 1)].copy_from_slice(value);
    }
    let Ok(signature) = Signature::from_slice(&rs) else {
        return false;
    };
    VerifyingKey::new(DIST_ID, *key)
        .unwrap()
        .verify(message, &signature)
        .is_ok()
}

fn time(unix: u64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(unix)).unwrap())
}

fn generalized(unix: u64) -> GeneralizedTime {
    GeneralizedTime::from_unix_duration(Duration::from_secs(unix)).unwrap()
}

fn sm2_with_sm3() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: SM2_WITH_SM3,
        parameters: None,
    }
}

/// A certificate with its key.
struct Holder {
    certificate: Certificate,
    der: Vec<u8>,
    key: SecretKey,
}

impl Holder {
    /// `subject` (RFC 4514) with key `seed`, valid `from..until`, signed by `issuer` (itself
    /// when `None`: a root).
    fn new(subject: &str, seed: u8, issuer: Option<&Holder>, from: u64, until: u64) -> Self {
        let key = SecretKey::from_slice(&[seed; 32]).unwrap();
        let subject = Name::from_str(subject).unwrap();
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&[0x4d, seed, 1, 2, 3, 4, 5, 6]).unwrap(),
            signature: sm2_with_sm3(),
            issuer: issuer.map_or_else(
                || subject.clone(),
                |issuer| issuer.certificate.tbs_certificate.subject.clone(),
            ),
            validity: Validity {
                not_before: time(from),
                not_after: time(until),
            },
            subject,
            subject_public_key_info: SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: EC_PUBLIC_KEY,
                    parameters: Some(Any::encode_from(&SM2_CURVE).unwrap()),
                },
                subject_public_key: BitString::from_bytes(
                    key.public_key().to_encoded_point(false).as_bytes(),
                )
                .unwrap(),
            },
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: None,
        };
        let signer = issuer.map_or(&key, |issuer| &issuer.key);
        let signature = sign(signer, &tbs.to_der().unwrap());
        let certificate = Certificate {
            tbs_certificate: tbs,
            signature_algorithm: sm2_with_sm3(),
            signature: BitString::from_bytes(&signature).unwrap(),
        };
        Self {
            der: certificate.to_der().unwrap(),
            certificate,
            key,
        }
    }

    fn serial_hex(&self) -> String {
        hex::encode_upper(self.certificate.tbs_certificate.serial_number.as_bytes())
    }
}

/// The parties: a root and issuing CA the registry trusts, the seal maker, two employees, and
/// an employee of a CA nobody here trusts.
struct World {
    root: Holder,
    issuing: Holder,
    maker: Holder,
    signer: Holder,
    colleague: Holder,
    stranger: Holder,
}

fn world() -> World {
    let (long_from, long_until) = (SIGNED_AT - 400 * DAY, SIGNED_AT + 3000 * DAY);
    let root = Holder::new(
        "CN=mcert 测试根 CA,O=mcert,C=CN",
        1,
        None,
        long_from,
        long_until,
    );
    let issuing = Holder::new(
        "CN=mcert 测试签发 CA,O=mcert,C=CN",
        2,
        Some(&root),
        long_from,
        long_until,
    );
    let maker = Holder::new(
        "CN=mcert 制章系统,O=mcert,C=CN",
        3,
        Some(&issuing),
        long_from,
        long_until,
    );
    let employee = |name: &str, seed, issuer| {
        Holder::new(
            &format!("CN={name},O=昆明示例科技有限公司,C=CN"),
            seed,
            Some(issuer),
            SIGNED_AT - 30 * DAY,
            SIGNED_AT + 335 * DAY,
        )
    };
    let signer = employee("Zhang San", 4, &issuing);
    let colleague = employee("Li Si", 5, &issuing);
    let rogue = Holder::new("CN=Rogue CA,C=CN", 6, None, long_from, long_until);
    let stranger = employee("Wang Wu", 7, &rogue);
    World {
        root,
        issuing,
        maker,
        signer,
        colleague,
        stranger,
    }
}

/// The server's registry: trusts what the issuing CA signed (and the root signed the issuing CA).
struct TestRegistry<'a> {
    world: &'a World,
    revoked: Option<(i64, &'static str)>,
    /// Answers Unknown for every status, as a registry that lost its records would.
    forgetful: bool,
}

impl<'a> TestRegistry<'a> {
    fn new(world: &'a World) -> Self {
        Self {
            world,
            revoked: None,
            forgetful: false,
        }
    }
}

impl Registry for TestRegistry<'_> {
    fn issuer_of(&self, certificate: &Certificate) -> Option<String> {
        let checks = |issuer: &Holder, certificate: &Certificate| {
            certificate.tbs_certificate.issuer == issuer.certificate.tbs_certificate.subject
                && verifies(
                    &issuer.key.public_key(),
                    &certificate.tbs_certificate.to_der().unwrap(),
                    certificate.signature.raw_bytes(),
                )
        };
        let (root, issuing) = (&self.world.root, &self.world.issuing);
        (checks(issuing, certificate) && checks(root, &issuing.certificate))
            .then(|| "mcert 测试签发 CA".to_owned())
    }

    fn status(&self, certificate: &Certificate) -> CertStatus {
        if self.forgetful || self.issuer_of(certificate).is_none() {
            return CertStatus::Unknown;
        }
        match self.revoked {
            Some((at, reason))
                if certificate.tbs_certificate.serial_number
                    == self.world.signer.certificate.tbs_certificate.serial_number =>
            {
                CertStatus::Revoked {
                    at,
                    reason: reason.to_owned(),
                }
            }
            _ => CertStatus::Good,
        }
    }
}

/// A seal made and signed by `maker`, listing `listed`, valid `valid`.
fn seal(maker: &Holder, list: CertList, valid: (u64, u64)) -> SealV4 {
    let e_seal_info = SealInfoV4 {
        header: Header {
            id: Ia5String::new("ES").unwrap(),
            version: 4,
            vid: Ia5String::new("mcert").unwrap(),
        },
        es_id: Ia5String::new("53010000000001").unwrap(),
        property: PropertyInfoV4 {
            kind: 1,
            name: "昆明示例科技有限公司".into(),
            cert_list_type: list.list_type(),
            cert_list: list.to_any().unwrap(),
            create_date: generalized(valid.0),
            valid_start: generalized(valid.0),
            valid_end: generalized(valid.1),
        },
        picture: Picture {
            kind: Ia5String::new("PNG").unwrap(),
            data: OctetString::new(*b"\x89PNG\r\n\x1a\n a round red seal, drawn elsewhere")
                .unwrap(),
            width: 40,
            height: 40,
        },
        ext_datas: None,
    };
    let signed_value = sign(&maker.key, &e_seal_info.to_der().unwrap());
    SealV4 {
        e_seal_info,
        cert: OctetString::new(maker.der.clone()).unwrap(),
        sign_alg_id: SM2_WITH_SM3,
        signed_value: BitString::from_bytes(&signed_value).unwrap(),
    }
}

fn listing(holders: &[&Holder]) -> CertList {
    CertList::Certificates(
        holders
            .iter()
            .map(|holder| OctetString::new(holder.der.clone()).unwrap())
            .collect(),
    )
}

/// The seal for `signer` (listing only them), valid a year around the signing time.
fn seal_for(world: &World, signer: &Holder) -> SealV4 {
    seal(
        &world.maker,
        listing(&[signer]),
        (SIGNED_AT - 100 * DAY, SIGNED_AT + 265 * DAY),
    )
}

/// `signer` seals `document` with `seal` at `at`.
fn seal_document(seal: SealV4, signer: &Holder, at: u64, document: &[u8]) -> SignatureV4 {
    let to_sign = TbsSignV4 {
        version: 4,
        eseal: seal,
        time_info: generalized(at),
        data_hash: BitString::from_bytes(&sm3::Sm3::digest(document)).unwrap(),
        property_info: Ia5String::new("contract.pdf").unwrap(),
        ext_datas: None,
    };
    let signature = sign(&signer.key, &to_sign.to_der().unwrap());
    SignatureV4 {
        to_sign,
        cert: OctetString::new(signer.der.clone()).unwrap(),
        signature_alg_id: SM2_WITH_SM3,
        signature: BitString::from_bytes(&signature).unwrap(),
        time_stamp: None,
    }
}

/// The usual signature: `world.signer` seals `DOCUMENT` at `SIGNED_AT`, DER.
fn usual(world: &World) -> Vec<u8> {
    seal_document(
        seal_for(world, &world.signer),
        &world.signer,
        SIGNED_AT,
        DOCUMENT,
    )
    .to_der()
    .unwrap()
}

/// Has the signer sign the (possibly altered) `TBS_Sign` of `der` again, as someone holding a
/// listed certificate's key could.
fn re_signed(der: &[u8], signer: &Holder) -> Vec<u8> {
    let mut signature = SignatureV4::from_der(der).unwrap();
    let value = sign(&signer.key, &signature.to_sign.to_der().unwrap());
    signature.signature = BitString::from_bytes(&value).unwrap();
    signature.to_der().unwrap()
}

/// `der` with one bit flipped in byte `at` of the last occurrence of `part`.
fn flipped(der: &[u8], part: &[u8], at: usize) -> Vec<u8> {
    let start = der
        .windows(part.len())
        .rposition(|window| window == part)
        .expect("the part is in the DER");
    let mut tampered = der.to_vec();
    tampered[start + at] ^= 0x01;
    tampered
}

/// The outcomes in the report's order, after checking the order is the standard's.
fn outcomes(report: &Report) -> [Outcome; 8] {
    let codes: Vec<_> = report.checks.iter().map(|check| check.code).collect();
    assert_eq!(codes, CODES, "every check, in the standard's order");
    for check in &report.checks {
        assert!(!check.title_zh.is_empty() && !check.detail_zh.is_empty());
    }
    std::array::from_fn(|i| report.checks[i].outcome)
}

fn detail<'a>(report: &'a Report, code: &str) -> &'a str {
    &report.check(code).unwrap().detail_zh
}

#[test]
fn a_good_signature_passes_every_check_and_the_report_reads_seal_and_signer() {
    let world = world();
    let registry = TestRegistry::new(&world);

    let report = verify_signature(&usual(&world), Some(DOCUMENT), &registry);

    assert_eq!(outcomes(&report), [P, P, P, P, P, P, P, P], "{report:#?}");
    assert_eq!(report.verdict, Verdict::Valid);
    let seal = report.seal.as_ref().unwrap();
    assert_eq!(seal.name, "昆明示例科技有限公司");
    assert_eq!(seal.es_id, "53010000000001");
    assert!(
        seal.maker_subject
            .as_ref()
            .unwrap()
            .contains("mcert 制章系统")
    );
    assert_eq!(
        (seal.valid_start, seal.valid_end),
        (
            (SIGNED_AT - 100 * DAY) as i64,
            (SIGNED_AT + 265 * DAY) as i64
        )
    );
    assert_eq!(seal.cert_list_type, 1);
    assert_eq!(seal.certificate_serials, [world.signer.serial_hex()]);
    let signer = report.signer.as_ref().unwrap();
    assert_eq!(signer.common_name.as_deref(), Some("Zhang San"));
    assert_eq!(signer.organization.as_deref(), Some("昆明示例科技有限公司"));
    assert_eq!(signer.serial, "4D04010203040506");
    assert_eq!(signer.not_before, (SIGNED_AT - 30 * DAY) as i64);
    assert_eq!(report.signed_at, Some(SIGNED_AT as i64));
    assert_eq!(
        report.document_hash.unwrap().as_slice(),
        sm3::Sm3::digest(DOCUMENT).as_slice()
    );
    assert!(detail(&report, "maker_signature").contains("mcert 测试签发 CA"));
    assert_eq!(
        detail(&report, "document_hash"),
        "文档的 SM3 杂凑与签章时一致：文档在签章后没有被修改"
    );
}

#[test]
fn without_the_document_its_digest_is_not_checked_and_the_signature_still_holds() {
    let world = world();

    let report = verify_signature(&usual(&world), None, &TestRegistry::new(&world));

    assert_eq!(outcomes(&report), [P, P, P, P, P, P, P, N]);
    assert_eq!(report.verdict, Verdict::Valid);
    assert!(detail(&report, "document_hash").contains("未提供文档"));
}

#[test]
fn an_altered_document_fails_the_digest() {
    let world = world();

    let report = verify_signature(
        &usual(&world),
        Some(b"%PDF-1.7 contract between the parties, amended"),
        &TestRegistry::new(&world),
    );

    assert_eq!(outcomes(&report), [P, P, P, P, P, P, P, F]);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert_eq!(
        detail(&report, "document_hash"),
        "文档内容与签章时不一致：文档在签章后被修改过"
    );
}

#[test]
fn a_flipped_byte_in_the_signers_signature_value_fails_the_signer_signature() {
    let world = world();
    let good = usual(&world);
    let value = SignatureV4::from_der(&good).unwrap().signature;

    let report = verify_signature(
        &flipped(&good, value.raw_bytes(), 10),
        Some(DOCUMENT),
        &TestRegistry::new(&world),
    );

    // The time and the digest are only as good as the signature over them.
    assert_eq!(outcomes(&report), [P, F, P, P, P, N, N, N]);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(detail(&report, "signer_signature").starts_with("签章人签名验证失败"));
    assert!(detail(&report, "validity").contains("签章人签名"));
}

#[test]
fn a_flipped_byte_in_the_signing_time_or_the_data_hash_fails_the_signer_signature() {
    let world = world();
    let good = usual(&world);
    let to_sign = SignatureV4::from_der(&good).unwrap().to_sign;
    let time = to_sign.time_info.to_der().unwrap();
    // The seconds' last digit: still a valid GeneralizedTime, one second off.
    let later = flipped(&good, &time, time.len() - 2);
    let hash = flipped(&good, to_sign.data_hash.raw_bytes(), 7);

    for tampered in [later, hash] {
        let report = verify_signature(&tampered, Some(DOCUMENT), &TestRegistry::new(&world));

        assert_eq!(outcomes(&report), [P, F, P, P, P, N, N, N], "{report:#?}");
        assert_eq!(report.verdict, Verdict::Invalid);
    }
}

#[test]
fn a_flipped_byte_in_the_seals_picture_or_its_signed_value_fails_the_maker_signature() {
    let world = world();
    let good = usual(&world);
    let seal = SignatureV4::from_der(&good).unwrap().to_sign.eseal;
    let picture = flipped(&good, b"a round red seal", 3);
    let maker_value = flipped(&good, seal.signed_value.raw_bytes(), 10);

    for tampered in [picture, maker_value] {
        // As found: the seal is inside what the signer signed, so both signatures fail.
        let report = verify_signature(&tampered, Some(DOCUMENT), &TestRegistry::new(&world));
        assert_eq!(outcomes(&report), [P, F, P, F, P, N, N, N], "{report:#?}");
        assert!(detail(&report, "maker_signature").starts_with("印章的制章者签名验证失败"));

        // Signed again by a listed signer: the maker's signature still catches the seal.
        let report = verify_signature(
            &re_signed(&tampered, &world.signer),
            Some(DOCUMENT),
            &TestRegistry::new(&world),
        );
        assert_eq!(outcomes(&report), [P, P, P, F, P, N, P, P], "{report:#?}");
        assert_eq!(report.verdict, Verdict::Invalid);
        assert!(detail(&report, "validity").contains("印章制章者签名"));
    }
}

#[test]
fn a_flipped_byte_in_the_signers_certificate_fails_the_list_and_the_chain() {
    let world = world();
    let good = usual(&world);

    // In the name: the key still verifies the signature, but this is not the certificate the
    // seal lists, nor one the CA signed.
    let renamed = flipped(&good, b"Zhang San", 0);
    let report = verify_signature(&renamed, Some(DOCUMENT), &TestRegistry::new(&world));
    assert_eq!(outcomes(&report), [P, P, F, P, F, P, N, P], "{report:#?}");
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(detail(&report, "signer_certificate").contains("不是由本系统信任的 CA 签发的"));

    // In the key: no longer the key that signed.
    let point = world.signer.key.public_key().to_encoded_point(false);
    let rekeyed = flipped(&good, point.as_bytes(), 40);
    let report = verify_signature(&rekeyed, Some(DOCUMENT), &TestRegistry::new(&world));
    assert_eq!(outcomes(&report), [P, F, F, P, F, N, N, N], "{report:#?}");
}

#[test]
fn a_signer_the_seal_does_not_list_fails_the_match() {
    let world = world();
    let seal = seal(
        &world.maker,
        listing(&[&world.colleague]),
        (SIGNED_AT - DAY, SIGNED_AT + DAY),
    );
    let der = seal_document(seal, &world.signer, SIGNED_AT, DOCUMENT)
        .to_der()
        .unwrap();

    let report = verify_signature(&der, Some(DOCUMENT), &TestRegistry::new(&world));

    assert_eq!(outcomes(&report), [P, P, F, P, P, P, P, P]);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert_eq!(
        detail(&report, "signer_in_seal"),
        "签章人证书不在印章的证书列表中：该印章不允许此证书使用"
    );
}

#[test]
fn a_list_of_digests_is_matched_by_the_certificates_sm3() {
    let world = world();
    let digests = |holders: &[&Holder]| {
        CertList::Digests(
            holders
                .iter()
                .map(|holder| CertDigest {
                    kind: PrintableString::new("SM3").unwrap(),
                    value: OctetString::new(sm3::Sm3::digest(&holder.der).to_vec()).unwrap(),
                })
                .collect(),
        )
    };
    let period = (SIGNED_AT - DAY, SIGNED_AT + DAY);
    let registry = TestRegistry::new(&world);

    for (list, expected) in [
        (digests(&[&world.colleague, &world.signer]), P),
        (digests(&[&world.colleague]), F),
    ] {
        let der = seal_document(
            seal(&world.maker, list, period),
            &world.signer,
            SIGNED_AT,
            DOCUMENT,
        )
        .to_der()
        .unwrap();
        let report = verify_signature(&der, None, &registry);
        assert_eq!(report.check("signer_in_seal").unwrap().outcome, expected);
        let seal = report.seal.unwrap();
        assert_eq!(seal.cert_list_type, 2);
        assert!(seal.certificate_serials.is_empty());
    }
}

#[test]
fn a_certificate_revoked_before_the_signing_fails_and_one_revoked_after_passes() {
    let world = world();
    let der = usual(&world);
    let revoked_at = |at: u64| TestRegistry {
        revoked: Some((at as i64, "密钥泄露")),
        ..TestRegistry::new(&world)
    };

    let before = verify_signature(&der, Some(DOCUMENT), &revoked_at(SIGNED_AT - DAY));
    assert_eq!(outcomes(&before), [P, P, P, P, P, P, F, P]);
    assert_eq!(before.verdict, Verdict::Invalid);
    assert!(detail(&before, "revocation").starts_with("签章人证书在签章前已被吊销"));
    assert!(detail(&before, "revocation").contains("密钥泄露"));

    let after = verify_signature(&der, Some(DOCUMENT), &revoked_at(SIGNED_AT + DAY));
    assert_eq!(outcomes(&after), [P, P, P, P, P, P, P, P]);
    assert_eq!(after.verdict, Verdict::Valid);
    let said = detail(&after, "revocation");
    assert!(
        said.contains("后来于北京时间 2025年6月16日 23:06:40被吊销"),
        "{said}"
    );
    assert!(said.contains("密钥泄露"));
}

#[test]
fn a_signer_or_maker_no_trusted_ca_issued_fails_the_chain() {
    let world = world();
    let registry = TestRegistry::new(&world);

    // A seal the trusted maker made for a stranger's certificate.
    let der = seal_document(
        seal_for(&world, &world.stranger),
        &world.stranger,
        SIGNED_AT,
        DOCUMENT,
    )
    .to_der()
    .unwrap();
    let report = verify_signature(&der, Some(DOCUMENT), &registry);
    // Revocation is asked only of the registry that issued the certificate.
    assert_eq!(outcomes(&report), [P, P, P, P, F, P, N, P]);
    assert_eq!(report.verdict, Verdict::Invalid);

    // A seal made by someone who is not a trusted maker.
    let seal = seal(
        &world.stranger,
        listing(&[&world.signer]),
        (SIGNED_AT - DAY, SIGNED_AT + DAY),
    );
    let der = seal_document(seal, &world.signer, SIGNED_AT, DOCUMENT)
        .to_der()
        .unwrap();
    let report = verify_signature(&der, Some(DOCUMENT), &registry);
    assert_eq!(outcomes(&report), [P, P, P, F, P, N, P, P]);
    assert!(detail(&report, "maker_signature").contains("「Wang Wu」的证书不是由本系统信任的"));

    // A registry that does not know the certificate it is asked about.
    let forgetful = TestRegistry {
        forgetful: true,
        ..TestRegistry::new(&world)
    };
    let report = verify_signature(&usual(&world), Some(DOCUMENT), &forgetful);
    assert_eq!(outcomes(&report), [P, P, P, P, P, P, F, P]);
    assert!(detail(&report, "revocation").starts_with("证书不是本系统签发的"));
}

#[test]
fn a_certificate_or_seal_outside_its_validity_at_the_signing_time_fails_validity() {
    let world = world();
    let registry = TestRegistry::new(&world);

    // Signed the day after the signer's certificate expired.
    let expired_at = SIGNED_AT + 335 * DAY;
    let der = seal_document(
        seal(
            &world.maker,
            listing(&[&world.signer]),
            (SIGNED_AT, expired_at + 10 * DAY),
        ),
        &world.signer,
        expired_at + DAY,
        DOCUMENT,
    )
    .to_der()
    .unwrap();
    let report = verify_signature(&der, Some(DOCUMENT), &registry);
    assert_eq!(outcomes(&report), [P, P, P, P, P, F, P, P]);
    assert_eq!(report.verdict, Verdict::Invalid);
    let said = detail(&report, "validity");
    assert!(
        said.contains("签章人证书已过期（有效期至北京时间 2026年5月16日"),
        "{said}"
    );
    assert!(!said.contains("印章"), "{said}");

    // Signed with a seal that was not yet valid.
    let der = seal_document(
        seal(
            &world.maker,
            listing(&[&world.signer]),
            (SIGNED_AT + DAY, SIGNED_AT + 10 * DAY),
        ),
        &world.signer,
        SIGNED_AT,
        DOCUMENT,
    )
    .to_der()
    .unwrap();
    let report = verify_signature(&der, Some(DOCUMENT), &registry);
    assert_eq!(outcomes(&report), [P, P, P, P, P, F, P, P]);
    let said = detail(&report, "validity");
    assert!(
        said.contains("印章尚未生效（有效期自北京时间 2025年6月16日"),
        "{said}"
    );
    assert!(!said.contains("签章人证书"), "{said}");
}

#[test]
fn another_signature_algorithm_is_not_accepted() {
    let world = world();
    let mut signature = SignatureV4::from_der(&usual(&world)).unwrap();
    // ECDSA with SHA-256.
    signature.signature_alg_id = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

    let report = verify_signature(
        &signature.to_der().unwrap(),
        None,
        &TestRegistry::new(&world),
    );

    assert_eq!(outcomes(&report), [P, F, P, P, P, N, N, N]);
    assert!(detail(&report, "signer_signature").contains("不是 SM2/SM3"));
}

#[test]
fn truncated_over_long_and_trailing_der_fails_the_format_and_nothing_else_is_checked() {
    let world = world();
    let registry = TestRegistry::new(&world);
    let good = usual(&world);
    let mut trailing = good.clone();
    trailing.push(0);
    let mut over_long = good.clone();
    over_long[3] = over_long[3].wrapping_add(1);

    for (bytes, says) in [
        (&good[..good.len() - 1], "不完整"),
        (&good[..100], "不完整"),
        (&over_long[..], "不完整"),
        (&trailing[..], "多余的字节"),
        (&b"not a seal"[..], "不符合"),
    ] {
        let report = verify_signature(bytes, None, &registry);
        assert_eq!(outcomes(&report), [F, N, N, N, N, N, N, N]);
        assert_eq!(report.verdict, Verdict::Invalid);
        assert!(detail(&report, "format").contains(says), "{report:#?}");
        assert_eq!(report.seal, None);
        assert_eq!(report.signed_at, None);
    }
}
