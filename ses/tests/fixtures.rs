//! The seals and the seal signature of another implementation (ofdrw; `../shared/fixtures/ses/`,
//! README there): each decodes, encodes back to the same bytes, and verifies; a flipped byte in
//! any signed part, a truncation or a trailing byte is refused; the verification report on the
//! signature passes every check a registry that trusts its certificates lets pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use der::{Decode, Encode};
use mcert_ses::{CertList, Seal, SesError, SignatureV4};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/ses")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_v4_seal_decodes_re_encodes_and_verifies() {
    let bytes = fixture("UserV4.esl");
    let seal = Seal::from_der(&bytes).unwrap();
    let Seal::V4(v4) = &seal else {
        panic!("a GB/T 38540 seal")
    };
    assert_eq!(v4.e_seal_info.header.version, 4);
    assert_eq!(seal.name(), "OFD R&W 测试用印章");
    assert_eq!(seal.picture().kind.as_str(), "PNG");
    assert_eq!((seal.picture().width, seal.picture().height), (40, 40));
    assert!(seal.picture().data.as_bytes().starts_with(b"\x89PNG"));
    assert!(matches!(
        v4.e_seal_info.property.cert_list().unwrap(),
        CertList::Certificates(list) if list.len() == 1
    ));
    assert_eq!(seal.to_der().unwrap(), bytes, "byte for byte");
    seal.verify_maker().unwrap();
}

#[test]
fn a_v1_seal_decodes_re_encodes_and_verifies_over_info_cert_and_algorithm() {
    let bytes = fixture("UserV1.esl");
    let seal = Seal::from_der(&bytes).unwrap();
    assert!(matches!(seal, Seal::V1(_)), "told apart by its two fields");
    assert_eq!(seal.name(), "OFDRW测试用印章");
    assert_eq!(seal.certificates().unwrap().len(), 1);
    assert_eq!(seal.to_der().unwrap(), bytes, "byte for byte");
    seal.verify_maker().unwrap();
}

#[test]
fn a_v4_seal_signature_decodes_re_encodes_and_verifies() {
    let bytes = fixture("SignedValueV4.dat");
    let signature = SignatureV4::from_der(&bytes).unwrap();
    assert_eq!(signature.to_sign.version, 4);
    assert_eq!(
        signature.to_sign.property_info.as_str(),
        "/Doc_0/Signs/Sign_0/Signature.xml"
    );
    assert_eq!(signature.to_der().unwrap(), bytes, "byte for byte");
    signature.verify(None).unwrap();
    // The file's dataHash is all zeros: a real document's digest is not it.
    let zeros = signature.to_sign.data_hash.raw_bytes().to_vec();
    signature.verify(Some(&zeros)).unwrap();
    assert_eq!(
        signature.verify(Some(&[0x5c; 32])),
        Err(SesError::DocumentHashMismatch)
    );
}

/// The offset of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

#[test]
fn a_flipped_byte_in_each_part_is_refused() {
    let bytes = fixture("SignedValueV4.dat");
    let signature = SignatureV4::from_der(&bytes).unwrap();
    // The document time (signed by the signer).
    let time = signature.to_sign.time_info.to_der().unwrap();
    let mut tampered = bytes.clone();
    let at = find(&bytes, &time) + 5;
    tampered[at] ^= 0x01;
    assert_eq!(
        SignatureV4::from_der(&tampered).unwrap().verify(None),
        Err(SesError::SignerSignatureInvalid)
    );
    // The seal's picture (signed by the maker, and by the signer through TBS_Sign).
    let mut tampered = bytes.clone();
    let at = find(&bytes, b"\x89PNG") + 100;
    tampered[at] ^= 0x01;
    assert_eq!(
        SignatureV4::from_der(&tampered).unwrap().verify(None),
        Err(SesError::SignerSignatureInvalid)
    );
    // The signer's signature value.
    let mut tampered = bytes.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x01;
    assert_eq!(
        SignatureV4::from_der(&tampered).unwrap().verify(None),
        Err(SesError::SignerSignatureInvalid)
    );
    // The maker's signature value inside a seal.
    let seal = fixture("UserV4.esl");
    let mut tampered = seal.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x01;
    assert_eq!(
        Seal::from_der(&tampered).unwrap().verify_maker(),
        Err(SesError::MakerSignatureInvalid)
    );
}

#[test]
fn truncated_over_long_and_trailing_der_is_refused() {
    for name in ["UserV4.esl", "UserV1.esl"] {
        let bytes = fixture(name);
        assert!(
            Seal::from_der(&bytes[..bytes.len() - 1]).is_err(),
            "{name} truncated"
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(
            Seal::from_der(&trailing).is_err(),
            "{name} with a trailing byte"
        );
        let mut over_long = bytes.clone();
        over_long[3] = over_long[3].wrapping_add(1);
        assert!(
            Seal::from_der(&over_long).is_err(),
            "{name} with a length past the end"
        );
    }
    let bytes = fixture("SignedValueV4.dat");
    assert!(SignatureV4::from_der(&bytes[..100]).is_err());
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(SignatureV4::from_der(&trailing).is_err());
    assert!(Seal::from_der(&[]).is_err());
}

/// OpenSSL 3.0's verdict on `signature` over `message` by the key of `certificate` (DER).
fn openssl_verifies(certificate: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("mcert-ses-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    std::fs::write(path("cert.der"), certificate).unwrap();
    std::fs::write(path("message.bin"), message).unwrap();
    std::fs::write(path("signature.der"), signature).unwrap();
    let key = Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-in",
            &path("cert.der"),
            "-pubkey",
            "-noout",
        ])
        .output()
        .expect("openssl is installed");
    assert!(key.status.success(), "{key:?}");
    std::fs::write(path("key.pem"), key.stdout).unwrap();
    let verified = Command::new("openssl")
        .args([
            "dgst",
            "-sm3",
            "-verify",
            &path("key.pem"),
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            &path("signature.der"),
            &path("message.bin"),
        ])
        .output()
        .expect("openssl is installed");
    std::fs::remove_dir_all(&dir).unwrap();
    verified.status.success()
}

#[test]
fn openssl_agrees_on_what_the_maker_and_the_signer_signed() {
    for name in ["UserV4.esl", "UserV1.esl"] {
        let seal = Seal::from_der(&fixture(name)).unwrap();
        let (_, signature) = seal.maker_signature();
        assert!(
            openssl_verifies(
                seal.maker_certificate(),
                &seal.maker_signed_bytes().unwrap(),
                signature
            ),
            "{name}"
        );
    }
    let signature = SignatureV4::from_der(&fixture("SignedValueV4.dat")).unwrap();
    assert!(openssl_verifies(
        signature.cert.as_bytes(),
        &signature.to_sign.to_der().unwrap(),
        signature.signature.raw_bytes()
    ));
}

/// Trusts exactly the certificates it is given, as if its CA had issued them, none revoked.
struct TrustsOnly(Vec<Vec<u8>>);

impl mcert_ses::Registry for TrustsOnly {
    fn issuer_of(&self, certificate: &x509_cert::Certificate) -> Option<String> {
        let der = certificate.to_der().unwrap();
        self.0
            .contains(&der)
            .then(|| certificate.tbs_certificate.issuer.to_string())
    }

    fn status(&self, certificate: &x509_cert::Certificate) -> mcert_ses::CertStatus {
        match self.issuer_of(certificate) {
            Some(_) => mcert_ses::CertStatus::Good,
            None => mcert_ses::CertStatus::Unknown,
        }
    }
}

#[test]
fn the_outside_signature_passes_the_report_when_its_certificates_are_trusted() {
    use mcert_ses::{Outcome::*, Verdict, verify_signature};
    let bytes = fixture("SignedValueV4.dat");
    let signature = SignatureV4::from_der(&bytes).unwrap();
    let signer = signature.cert.as_bytes().to_vec();
    let maker = signature.to_sign.eseal.cert.as_bytes().to_vec();
    let outcomes = |report: &mcert_ses::Report| -> Vec<_> {
        report.checks.iter().map(|c| (c.code, c.outcome)).collect()
    };

    let report = verify_signature(&bytes, None, &TrustsOnly(vec![signer.clone(), maker]));

    // The cryptographic checks are ofdrw's own work and pass on their merits. The trust checks
    // pass because this registry is told to trust both certificates (ofdrw's test root is
    // nobody's CA); validity passes because ofdrw signed on 2020-10-12, inside the certificate's
    // 2020-04-21..2022-04-21 and the seal's 2020-04-22..2022-04-22; revocation is the
    // registry's word. The document is not given: its dataHash is all zeros (see the README).
    assert_eq!(
        outcomes(&report),
        [
            ("format", Passed),
            ("signer_signature", Passed),
            ("signer_in_seal", Passed),
            ("maker_signature", Passed),
            ("signer_certificate", Passed),
            ("validity", Passed),
            ("revocation", Passed),
            ("document_hash", NotChecked),
        ]
    );
    assert_eq!(report.verdict, Verdict::Valid);
    assert_eq!(
        report.signed_at,
        Some(1_602_501_243),
        "2020-10-12T11:14:03Z"
    );
    let seal = report.seal.unwrap();
    assert_eq!(seal.name, "OFD R&W 测试用印章");
    assert_eq!(seal.es_id, "51f044b76510434e9bc67a1185c2fba5");
    // The one certificate the seal lists is the signer's.
    assert_eq!(seal.certificate_serials, ["01719D2DAB60"]);
    let holder = report.signer.unwrap();
    assert_eq!(holder.common_name.as_deref(), Some("Test Certificate"));
    assert_eq!(holder.organization.as_deref(), Some("OFD R&W"));
    assert_eq!(holder.serial, "01719D2DAB60");
    assert_eq!(report.document_hash, Some([0; 32]));

    // Any real document differs from the all-zero digest. Trusting the signer alone is not
    // trusting the maker: ofdrw's maker certificate has the signer's subject but is another
    // certificate (serial 01719D2E201D).
    let report = verify_signature(&bytes, Some(b"Signature.xml"), &TrustsOnly(vec![signer]));
    assert_eq!(report.check("maker_signature").unwrap().outcome, Failed);
    assert_eq!(report.check("document_hash").unwrap().outcome, Failed);
    assert_eq!(report.verdict, Verdict::Invalid);

    // A registry that trusts neither: the signatures still verify, the trust checks fail, and
    // revocation is not asked of a registry that did not issue the certificate.
    let report = verify_signature(&bytes, None, &TrustsOnly(Vec::new()));
    assert_eq!(
        outcomes(&report),
        [
            ("format", Passed),
            ("signer_signature", Passed),
            ("signer_in_seal", Passed),
            ("maker_signature", Failed),
            ("signer_certificate", Failed),
            ("validity", NotChecked),
            ("revocation", NotChecked),
            ("document_hash", NotChecked),
        ]
    );
    assert!(
        report
            .check("maker_signature")
            .unwrap()
            .detail_zh
            .starts_with("印章的制章者签名本身有效")
    );
}
