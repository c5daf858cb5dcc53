//! Stamped PDFs checked by other programs: qpdf reads the file, poppler lists the signatures and
//! renders the seal where it was placed, OpenSSL verifies the SM2 signature over the signed
//! attributes. The certificates (root → issuing CA → holder, SM2 with SM3) are made with the
//! OpenSSL CLI; the holder's key signs here with the `sm2` crate, as the co-signing would.
//!
//! The tools are required: a missing one fails the test with the package to install.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

use lopdf::{Dictionary, Document, Object, Stream, dictionary};
use mcert_ses::pdf::{
    self, Appearance, EmbeddedSignature, MAX_PDF_BYTES, PdfError, Placement, SignatureFields,
};
use sm2::dsa::{SigningKey, signature::Signer as _};

const SIGNING_TIME: i64 = 1_796_000_000; // 2026-11-30T...Z
const A4: (f32, f32) = (595.0, 842.0);
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Runs a tool, failing with the package that provides it when it is not installed.
fn run(program: &str, args: &[&str]) -> Output {
    let package = match program {
        "qpdf" => "qpdf",
        "openssl" => "openssl",
        _ => "poppler-utils",
    };
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is required (apt-get install {package}): {e}"))
}

fn run_ok(program: &str, args: &[&str]) -> Output {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

struct Chain {
    _dir: tempfile::TempDir,
    holder_secret: [u8; 32],
    /// Holder, issuing CA, root; DER.
    certificates: Vec<Vec<u8>>,
    /// The holder's public key, PEM.
    holder_public_pem: PathBuf,
    /// A certificate with a 17 000-byte extension, to overflow the placeholder.
    big: Vec<u8>,
}

/// One chain for every test: key generation and issuing take a few hundred milliseconds.
fn chain() -> &'static Chain {
    static CHAIN: OnceLock<Chain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        const ID: &str = "distid:1234567812345678";
        for name in ["root", "ca", "holder"] {
            run_ok(
                "openssl",
                &["genpkey", "-algorithm", "SM2", "-out", &p(&format!("{name}.key"))],
            );
        }
        run_ok(
            "openssl",
            &[
                "req", "-new", "-x509", "-key", &p("root.key"), "-sm3", "-sigopt", ID, "-subj",
                "/CN=mcert test root", "-days", "3650", "-set_serial", "1", "-out",
                &p("root.pem"),
            ],
        );
        std::fs::write(
            p("ca.ext"),
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
        )
        .unwrap();
        std::fs::write(
            p("holder.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
        )
        .unwrap();
        std::fs::write(
            p("big.ext"),
            format!("basicConstraints=critical,CA:FALSE\n1.2.3.4=ASN1:UTF8String:{}\n", "x".repeat(17_000)),
        )
        .unwrap();
        let issue = |name: &str, subject: &str, issuer: &str, ext: &str, serial: &str| {
            run_ok(
                "openssl",
                &[
                    "req", "-new", "-utf8", "-key", &p(&format!("{name}.key")), "-sm3", "-sigopt", ID,
                    "-subj", subject, "-out", &p(&format!("{name}.csr")),
                ],
            );
            run_ok(
                "openssl",
                &[
                    "x509", "-req", "-in", &p(&format!("{name}.csr")), "-CA",
                    &p(&format!("{issuer}.pem")), "-CAkey", &p(&format!("{issuer}.key")),
                    "-sm3", "-sigopt", ID, "-vfyopt", ID, "-extfile", &p(ext), "-set_serial",
                    serial, "-days", "3650", "-out", &p(&format!("{name}.pem")),
                ],
            );
        };
        issue("ca", "/CN=mcert test issuing CA", "root", "ca.ext", "2");
        issue("holder", "/O=测试单位/CN=张三", "ca", "holder.ext", "3");
        std::fs::copy(p("holder.key"), p("big.key")).unwrap();
        issue("big", "/CN=big", "ca", "big.ext", "4");
        let der = |name: &str| {
            run_ok(
                "openssl",
                &["x509", "-in", &p(&format!("{name}.pem")), "-outform", "DER"],
            )
            .stdout
        };
        let key = run_ok("openssl", &["pkey", "-in", &p("holder.key"), "-outform", "DER"]).stdout;
        // ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING (32) key, … }
        let at = key
            .windows(5)
            .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
            .expect("an EC private key");
        let holder_secret: [u8; 32] = key[at + 5..at + 37].try_into().unwrap();
        run_ok(
            "openssl",
            &["pkey", "-in", &p("holder.key"), "-pubout", "-out", &p("holder.pub.pem")],
        );
        Chain {
            holder_secret,
            certificates: vec![der("holder"), der("ca"), der("root")],
            holder_public_pem: dir.path().join("holder.pub.pem"),
            big: der("big"),
            _dir: dir,
        }
    })
}

/// An A4 PDF of `pages` pages with a line of text on each, as lopdf writes it (classic xref);
/// `modern` writes object streams and a cross-reference stream instead.
fn make_pdf(pages: usize, modern: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut kids = Vec::new();
    for n in 1..=pages {
        let content = format!("BT /F1 24 Tf 72 760 Td (Hello, page {n}) Tj ET\n");
        let content_id = doc.add_object(Stream::new(Dictionary::new(), content.into_bytes()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        kids.push(Object::Reference(page_id));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => i64::try_from(pages).unwrap(),
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    if modern {
        doc.save_modern(&mut out).unwrap();
    } else {
        doc.save_to(&mut out).unwrap();
    }
    out
}

/// A red disc filling the box: the test's stand-in for the server's round seal.
fn red_disc(size_mm: f32) -> Appearance {
    let r = size_mm * PT_PER_MM / 2.0;
    let k = 0.552_284_8 * r;
    let c = r;
    let operators = format!(
        "q 0.9 0.1 0.1 rg {x0} {c} m {x0} {a} {b} {y1} {c} {y1} c {d} {y1} {x1} {a} {x1} {c} c \
         {x1} {e} {d} {y0} {c} {y0} c {b} {y0} {x0} {e} {x0} {c} c f Q\n",
        x0 = 0.0,
        x1 = 2.0 * r,
        y0 = 0.0,
        y1 = 2.0 * r,
        a = c + k,
        b = c - k,
        d = c + k,
        e = c - k,
    );
    Appearance::Operators {
        operators,
        width_mm: size_mm,
        height_mm: size_mm,
    }
}

/// A red disc on a transparent square, as a captured seal would be.
fn red_disc_png() -> Appearance {
    let size = 200u32;
    let image = image::RgbaImage::from_fn(size, size, |x, y| {
        let (dx, dy) = (x as f32 - 99.5, y as f32 - 99.5);
        if dx * dx + dy * dy < 95.0 * 95.0 {
            image::Rgba([220, 30, 30, 255])
        } else {
            image::Rgba([255, 255, 255, 0])
        }
    });
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    Appearance::Png {
        png,
        width_mm: 40.0,
        height_mm: 40.0,
    }
}

fn fields() -> SignatureFields {
    SignatureFields {
        name: "测试单位 张三".into(),
        reason: "电子印章".into(),
        signing_time: SIGNING_TIME,
    }
}

/// DER `SEQUENCE { r, s }` of an SM2 signature.
fn der_signature(signature: &sm2::dsa::Signature) -> Vec<u8> {
    let integer = |bytes: &[u8]| {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut value = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            vec![0]
        } else {
            vec![]
        };
        value.extend(trimmed);
        let mut out = vec![0x02, u8::try_from(value.len()).unwrap()];
        out.extend(value);
        out
    };
    let bytes = signature.to_bytes();
    let mut body = integer(&bytes[..32]);
    body.extend(integer(&bytes[32..]));
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

fn holder_sign(message: &[u8]) -> Vec<u8> {
    let secret = sm2::SecretKey::from_slice(&chain().holder_secret).unwrap();
    let key = SigningKey::new(mcert_ses::DIST_ID, &secret).unwrap();
    der_signature(&key.sign(message))
}

fn stamp_with(pdf: &[u8], placement: &Placement, appearance: &Appearance) -> Vec<u8> {
    let prepared = pdf::prepare(pdf, placement, appearance, &fields()).unwrap();
    let attributes = pdf::signed_attributes(&prepared.content_sm3, SIGNING_TIME).unwrap();
    let signature = holder_sign(&attributes);
    pdf::finish(prepared, &attributes, &signature, &chain().certificates).unwrap()
}

fn stamp(pdf: &[u8], page: u32, x_mm: f32, y_mm: f32) -> Vec<u8> {
    stamp_with(pdf, &Placement { page, x_mm, y_mm }, &red_disc(40.0))
}

fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn assert_valid(signature: &EmbeddedSignature) {
    assert!(signature.covers_revision, "{signature:?}");
    assert!(signature.digest_matches, "{signature:?}");
    assert!(signature.signature_valid, "{signature:?}");
    assert_eq!(signature.signer_certificate, chain().certificates[0]);
    assert_eq!(signature.certificates.len(), 2);
    assert!(signature.certificates.contains(&chain().certificates[1]));
    assert!(signature.certificates.contains(&chain().certificates[2]));
    assert_eq!(signature.signing_time, Some(SIGNING_TIME));
    assert_eq!(signature.name.as_deref(), Some("测试单位 张三"));
    assert_eq!(signature.reason.as_deref(), Some("电子印章"));
}

/// The byte range of a stamped file: all of it but the `<…>` of /Contents.
fn assert_byte_range_covers_all_but_the_hole(stamped: &[u8], range: [usize; 4]) {
    let [zero, a, b, rest] = range;
    assert_eq!(zero, 0);
    assert_eq!(b + rest, stamped.len());
    assert_eq!(stamped[a], b'<');
    assert_eq!(stamped[b - 1], b'>');
    assert!(stamped[a + 1..b - 1].iter().all(u8::is_ascii_hexdigit));
    assert!(stamped[..a].ends_with(b"/Contents "));
}

fn qpdf_check(dir: &Path, stamped: &[u8]) {
    let path = write_temp(dir, "check.pdf", stamped);
    let output = run("qpdf", &["--check", &path]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("No syntax or stream encoding errors"),
        "qpdf --check: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What `pdfsig` prints. Poppler (with NSS) lists each signature: field name, signer common
/// name and DN, signing time, "Signature Type: adbe.pkcs7.detached", "Signed Ranges: [0 - a],
/// [b - end]" and "Total document signed" for the last one ("Not total document signed" for
/// earlier ones). It does not know SM3 or SM2: it prints "ERROR: Unrecognized Hash ID",
/// "Signing Hash Algorithm: unknown" and "Signature Validation: Unknown Validation Failure.",
/// which is expected and why mcert has its own verifier.
fn pdfsig(dir: &Path, stamped: &[u8]) -> String {
    let path = write_temp(dir, "sig.pdf", stamped);
    let output = run("pdfsig", &[&path]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!text.contains("does not contain any signatures"), "{text}");
    text
}

#[test]
fn a_stamp_is_one_appended_revision_qpdf_and_poppler_accept() {
    let dir = tempfile::tempdir().unwrap();
    let original = make_pdf(1, false);
    let prepared = pdf::prepare(
        &original,
        &Placement {
            page: 1,
            x_mm: 150.0,
            y_mm: 230.0,
        },
        &red_disc(40.0),
        &fields(),
    )
    .unwrap();
    assert!(
        prepared.bytes.starts_with(&original),
        "the original is a prefix"
    );
    assert_byte_range_covers_all_but_the_hole(&prepared.bytes, prepared.byte_range);
    let byte_range = prepared.byte_range;
    let attributes = pdf::signed_attributes(&prepared.content_sm3, SIGNING_TIME).unwrap();
    let stamped = pdf::finish(
        prepared,
        &attributes,
        &holder_sign(&attributes),
        &chain().certificates,
    )
    .unwrap();
    assert!(stamped.starts_with(&original), "the original is a prefix");
    assert_byte_range_covers_all_but_the_hole(&stamped, byte_range);

    qpdf_check(dir.path(), &stamped);
    let listing = pdfsig(dir.path(), &stamped);
    assert!(listing.contains("Signature #1"), "{listing}");
    assert!(!listing.contains("Signature #2"), "{listing}");
    assert!(
        listing.contains("Signature Type: adbe.pkcs7.detached"),
        "{listing}"
    );
    let expected = format!(
        "Signed Ranges: [0 - {}], [{} - {}]",
        byte_range[1],
        byte_range[2],
        stamped.len()
    );
    assert!(listing.contains(&expected), "{expected} in {listing}");
    assert!(listing.contains("Total document signed"), "{listing}");
    assert!(
        listing.contains("Signature Field Name: MCertSeal1"),
        "{listing}"
    );

    let found = pdf::signatures(&stamped).unwrap();
    assert_eq!(found.len(), 1);
    assert_valid(&found[0]);
    assert_eq!(found[0].byte_range, byte_range);
    assert_eq!(found[0].revision_end, stamped.len());
    assert!(pdf::signatures(&original).unwrap().is_empty());
}

#[test]
fn openssl_verifies_the_signature_over_the_signed_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let stamped = stamp(&make_pdf(1, false), 1, 100.0, 100.0);
    let found = pdf::signatures(&stamped).unwrap();
    let signature = &found[0];
    let attributes = write_temp(dir.path(), "attrs.der", &signature.signed_attributes);
    let sig = write_temp(dir.path(), "sig.der", &signature.signature);
    let public = chain().holder_public_pem.to_string_lossy().into_owned();
    run_ok(
        "openssl",
        &[
            "dgst",
            "-sm3",
            "-verify",
            &public,
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            &sig,
            &attributes,
        ],
    );
    // The signed attributes hold exactly contentType, signingTime and messageDigest.
    let parsed = run_ok(
        "openssl",
        &["asn1parse", "-inform", "DER", "-in", &attributes],
    );
    let text = String::from_utf8_lossy(&parsed.stdout);
    assert!(
        text.contains("contentType") && text.contains("signingTime"),
        "{text}"
    );
    assert!(
        text.contains("messageDigest") && text.contains("UTCTIME"),
        "{text}"
    );
    assert_eq!(
        text.matches("OBJECT").count(),
        4,
        "three attributes and id-data: {text}"
    );

    // OpenSSL's CMS parser reads the whole structure. (`openssl cms -verify -noverify` says
    // "CMS_SignerInfo_verify: verification failure": OpenSSL 3.0 computes Z_A with an empty
    // distinguishing ID there, as `openssl dgst` does without `-sigopt distid:…`, and offers no
    // option to set it; `openssl cms -sign` with an SM2 key fails outright in 3.0.)
    let [_, a, b, _] = signature.byte_range;
    let cms = hex::decode(&stamped[a + 1..b - 1]).unwrap();
    let cms = write_temp(dir.path(), "cms.der", &cms);
    let printed = run_ok(
        "openssl",
        &[
            "cms", "-cmsout", "-print", "-noout", "-inform", "DER", "-in", &cms,
        ],
    );
    let text = String::from_utf8_lossy(&printed.stdout);
    for expected in [
        "d.issuerAndSerialNumber",
        "serialNumber: 3",
        "algorithm: sm3 (1.2.156.10197.1.401)",
        "algorithm: SM2-with-SM3 (1.2.156.10197.1.501)",
        "OBJECT:pkcs7-data (1.2.840.113549.1.7.1)",
        "UTCTIME:",
        "object: messageDigest (1.2.840.113549.1.9.4)",
        "eContent: <ABSENT>",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert_eq!(
        text.matches("cert_info:").count(),
        3,
        "three certificates: {text}"
    );
}

/// The pixels of a page rendered at 50 dpi by poppler.
fn render(dir: &Path, pdf: &[u8], page: u32) -> image::RgbImage {
    let path = write_temp(dir, "render.pdf", pdf);
    let prefix = dir.join("page").to_string_lossy().into_owned();
    let page = page.to_string();
    run_ok(
        "pdftoppm",
        &[
            "-r",
            "50",
            "-png",
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
            &path,
            &prefix,
        ],
    );
    image::open(dir.join("page.png")).unwrap().to_rgb8()
}

fn is_red(pixel: &image::Rgb<u8>) -> bool {
    let [r, g, b] = pixel.0;
    r > 150 && g < 100 && b < 100
}

/// Red pixels inside and outside a circle of `radius_mm` (shrunk or grown by a margin) around
/// the seal's centre.
fn red_inside_and_outside(image: &image::RgbImage, x_mm: f32, y_mm: f32) -> (usize, usize) {
    let px_per_mm = 50.0 / 25.4;
    let (cx, cy) = (x_mm * px_per_mm, y_mm * px_per_mm);
    let (mut inside, mut outside) = (0, 0);
    for (x, y, pixel) in image.enumerate_pixels() {
        if !is_red(pixel) {
            continue;
        }
        let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
        if d <= 20.0 * px_per_mm + 2.0 {
            inside += 1;
        } else {
            outside += 1;
        }
    }
    (inside, outside)
}

#[test]
fn the_seal_is_red_where_it_was_placed_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let original = make_pdf(2, false);
    assert_eq!(
        render(dir.path(), &original, 2)
            .pixels()
            .filter(|p| is_red(p))
            .count(),
        0
    );
    let (x_mm, y_mm) = (60.0, 200.0);
    let stamped = stamp(&original, 2, x_mm, y_mm);
    let page = render(dir.path(), &stamped, 2);
    assert_eq!(
        page.dimensions(),
        (
            (A4.0 / 72.0 * 50.0).ceil() as u32,
            (A4.1 / 72.0 * 50.0).ceil() as u32
        )
    );
    let (inside, outside) = red_inside_and_outside(&page, x_mm, y_mm);
    // A 40 mm disc at 50 dpi is about 4 800 pixels.
    assert!(inside > 4_000, "{inside} red pixels in the seal");
    assert_eq!(outside, 0);
    let centre = page.get_pixel((x_mm * 50.0 / 25.4) as u32, (y_mm * 50.0 / 25.4) as u32);
    assert!(is_red(centre), "{centre:?}");
    // The other page is untouched.
    assert_eq!(
        render(dir.path(), &stamped, 1)
            .pixels()
            .filter(|p| is_red(p))
            .count(),
        0
    );
    // The text is still there.
    let text = run_ok(
        "pdftotext",
        &[&write_temp(dir.path(), "t.pdf", &stamped), "-"],
    )
    .stdout;
    assert!(String::from_utf8_lossy(&text).contains("Hello, page 2"));
}

#[test]
fn a_captured_seal_png_is_drawn_with_its_transparency() {
    let dir = tempfile::tempdir().unwrap();
    let (x_mm, y_mm) = (105.0, 148.0);
    let stamped = stamp_with(
        &make_pdf(1, false),
        &Placement {
            page: 1,
            x_mm,
            y_mm,
        },
        &red_disc_png(),
    );
    qpdf_check(dir.path(), &stamped);
    let page = render(dir.path(), &stamped, 1);
    let (inside, outside) = red_inside_and_outside(&page, x_mm, y_mm);
    assert!(inside > 4_000, "{inside} red pixels in the seal");
    assert_eq!(outside, 0);
    // The corners of the square picture are transparent: the page shows white there.
    let px = 50.0 / 25.4;
    let corner = page.get_pixel(((x_mm - 19.0) * px) as u32, ((y_mm - 19.0) * px) as u32);
    assert!(corner.0.iter().all(|c| *c > 240), "{corner:?}");
    assert_valid(&pdf::signatures(&stamped).unwrap()[0]);
}

#[test]
fn a_second_stamp_leaves_the_first_valid_and_both_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let original = make_pdf(2, false);
    let once = stamp(&original, 1, 50.0, 50.0);
    let twice = stamp(&once, 2, 150.0, 250.0);
    assert!(twice.starts_with(&once));
    qpdf_check(dir.path(), &twice);
    let listing = pdfsig(dir.path(), &twice);
    assert!(
        listing.contains("Signature #1") && listing.contains("Signature #2"),
        "{listing}"
    );
    let (first, second) = listing.split_once("Signature #2").unwrap();
    assert!(first.contains("Not total document signed"), "{listing}");
    assert!(second.contains("Total document signed"), "{listing}");
    assert!(!second.contains("Not total document signed"), "{listing}");

    let found = pdf::signatures(&twice).unwrap();
    assert_eq!(found.len(), 2);
    for signature in &found {
        assert_valid(signature);
    }
    assert_eq!(
        found[0].revision_end,
        once.len(),
        "the first ends where it was signed"
    );
    assert_eq!(found[0].byte_range[2] + found[0].byte_range[3], once.len());
    assert_eq!(found[1].revision_end, twice.len());
    // Both seals are drawn, each on its page.
    let first = red_inside_and_outside(&render(dir.path(), &twice, 1), 50.0, 50.0);
    let second = red_inside_and_outside(&render(dir.path(), &twice, 2), 150.0, 250.0);
    assert!(first.0 > 4_000 && first.1 == 0, "{first:?}");
    assert!(second.0 > 4_000 && second.1 == 0, "{second:?}");
}

#[test]
fn a_changed_byte_or_a_changed_signature_is_seen() {
    let once = stamp(&make_pdf(1, false), 1, 100.0, 100.0);
    let twice = stamp(&once, 1, 100.0, 200.0);

    // A byte of the page text in the original revision, covered by both signatures.
    let mut tampered = twice.clone();
    let at = tampered.windows(5).position(|w| w == b"Hello").unwrap();
    tampered[at] = b'J';
    let found = pdf::signatures(&tampered).unwrap();
    assert!(
        found
            .iter()
            .all(|s| !s.digest_matches && s.signature_valid && s.covers_revision)
    );

    // A byte of the first signature's SM2 value, inside its CMS.
    let first = &pdf::signatures(&twice).unwrap()[0];
    let hex = hex::encode_upper(&first.signature[8..24]);
    let mut tampered = twice.clone();
    let at = tampered
        .windows(hex.len())
        .position(|w| w == hex.as_bytes())
        .unwrap();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let found = pdf::signatures(&tampered).unwrap();
    assert!(!found[0].signature_valid);
    assert!(found[0].digest_matches, "the covered bytes did not change");
    assert!(found[1].signature_valid, "the second one is not touched");

    // A ByteRange that stops short of its revision's end no longer covers it (leaving out
    // just the end-of-line after %%EOF is tolerated, as other signers do).
    let mut short = once.clone();
    let at = short
        .windows(14)
        .position(|w| w == b"/ByteRange [0 ")
        .unwrap()
        + 14;
    let c = pdf::signatures(&once).unwrap()[0].byte_range[3];
    let numbers = String::from_utf8(short[at..at + 32].to_vec()).unwrap();
    let patched = numbers.replacen(&format!(" {c}"), &format!(" {}", c - 2), 1);
    let patched = format!("{patched:>32}");
    assert_ne!(patched, numbers);
    short[at..at + 32].copy_from_slice(patched.as_bytes());
    let found = pdf::signatures(&short).unwrap();
    assert!(
        !found[0].covers_revision && !found[0].digest_matches,
        "{:?}",
        found[0]
    );

    // Bytes appended after the last revision are outside every ByteRange.
    let mut appended = twice.clone();
    appended.extend_from_slice(b"% later\n");
    let found = pdf::signatures(&appended).unwrap();
    assert!(found.iter().all(|s| s.digest_matches && s.signature_valid));
    assert!(found[1].revision_end < appended.len());
}

#[test]
fn pdfs_from_other_writers_are_stamped() {
    let dir = tempfile::tempdir().unwrap();
    // lopdf with object streams and a cross-reference stream: the update is one too.
    let modern = make_pdf(1, true);
    let stamped = stamp(&modern, 1, 100.0, 100.0);
    assert!(stamped.starts_with(&modern));
    assert!(stamped[modern.len()..].windows(5).any(|w| w == b"/XRef"));
    qpdf_check(dir.path(), &stamped);
    assert_valid(&pdf::signatures(&stamped).unwrap()[0]);

    // Cairo (pdftocairo) and then qpdf rewriting it with object streams.
    let source = write_temp(dir.path(), "source.pdf", &make_pdf(2, false));
    let cairo = dir.path().join("cairo.pdf").to_string_lossy().into_owned();
    run_ok("pdftocairo", &["-pdf", &source, &cairo]);
    let qpdf = dir.path().join("qpdf.pdf").to_string_lossy().into_owned();
    run_ok("qpdf", &["--object-streams=generate", &cairo, &qpdf]);
    for (path, xref_stream) in [(cairo, false), (qpdf, true)] {
        let original = std::fs::read(&path).unwrap();
        let stamped = stamp(&original, 2, 100.0, 100.0);
        assert!(stamped.starts_with(&original));
        let appended = &stamped[original.len()..];
        assert_eq!(
            appended.windows(5).any(|w| w == b"/XRef"),
            xref_stream,
            "{path}"
        );
        assert_eq!(
            appended.windows(8).any(|w| w == b"trailer\n"),
            !xref_stream,
            "{path}"
        );
        qpdf_check(dir.path(), &stamped);
        assert!(pdfsig(dir.path(), &stamped).contains("Total document signed"));
        assert_valid(&pdf::signatures(&stamped).unwrap()[0]);
        let page = render(dir.path(), &stamped, 2);
        let (inside, outside) = red_inside_and_outside(&page, 100.0, 100.0);
        assert!(inside > 4_000 && outside == 0, "{path}: {inside} {outside}");
    }
}

fn prepare_error(pdf: &[u8], page: u32, x_mm: f32, y_mm: f32) -> PdfError {
    pdf::prepare(
        pdf,
        &Placement { page, x_mm, y_mm },
        &red_disc(40.0),
        &fields(),
    )
    .unwrap_err()
}

#[test]
fn bad_inputs_are_refused_with_their_own_codes() {
    let dir = tempfile::tempdir().unwrap();
    let plain = make_pdf(2, false);
    let input = write_temp(dir.path(), "plain.pdf", &plain);
    let encrypted = dir
        .path()
        .join("encrypted.pdf")
        .to_string_lossy()
        .into_owned();
    run_ok(
        "qpdf",
        &["--encrypt", "u", "o", "256", "--", &input, &encrypted],
    );
    let encrypted = std::fs::read(encrypted).unwrap();

    let mut too_large = b"%PDF-1.7\n".to_vec();
    too_large.resize(MAX_PDF_BYTES + 1, b' ');
    let cases = [
        (prepare_error(&encrypted, 1, 100.0, 100.0), "pdf_encrypted"),
        (
            prepare_error(b"GIF89a not a pdf", 1, 100.0, 100.0),
            "pdf_malformed",
        ),
        (
            prepare_error(b"%PDF-1.7\ngarbage", 1, 100.0, 100.0),
            "pdf_malformed",
        ),
        (prepare_error(&too_large, 1, 100.0, 100.0), "pdf_too_large"),
        (prepare_error(&plain, 3, 100.0, 100.0), "pdf_page_missing"),
        (prepare_error(&plain, 0, 100.0, 100.0), "pdf_page_missing"),
        (
            prepare_error(&plain, 1, 10.0, 100.0),
            "pdf_placement_invalid",
        ),
        (
            prepare_error(&plain, 1, 100.0, 290.0),
            "pdf_placement_invalid",
        ),
        (
            prepare_error(&plain, 1, f32::NAN, 100.0),
            "pdf_placement_invalid",
        ),
    ];
    for (error, code) in &cases {
        assert_eq!(error.code(), *code, "{error:?}");
    }
    assert!(matches!(
        pdf::signatures(&encrypted),
        Err(PdfError::Encrypted)
    ));
    assert_eq!(
        cases[0].0.message_zh(),
        "PDF 文件已加密，请上传未加密的文件"
    );

    // finish: a signature by another key, attributes of another digest, a CMS too large.
    let placement = Placement {
        page: 1,
        x_mm: 100.0,
        y_mm: 100.0,
    };
    let prepared = pdf::prepare(&plain, &placement, &red_disc(40.0), &fields()).unwrap();
    let attributes = pdf::signed_attributes(&prepared.content_sm3, SIGNING_TIME).unwrap();
    let other = pdf::signed_attributes(&[7; 32], SIGNING_TIME).unwrap();
    let wrong_message = holder_sign(b"something else");
    let certificates = &chain().certificates;
    let error = pdf::finish(prepared.clone(), &attributes, &wrong_message, certificates);
    assert_eq!(error.unwrap_err().code(), "pdf_signature_invalid");
    let error = pdf::finish(prepared.clone(), &other, &holder_sign(&other), certificates);
    assert_eq!(error.unwrap_err().code(), "pdf_signature_invalid");
    let mut big_chain = certificates.clone();
    big_chain.push(chain().big.clone());
    let error = pdf::finish(
        prepared.clone(),
        &attributes,
        &holder_sign(&attributes),
        &big_chain,
    );
    assert_eq!(error.unwrap_err().code(), "pdf_signature_too_large");
    let error = pdf::finish(
        prepared,
        &attributes,
        &holder_sign(&attributes),
        &[vec![0x30, 0]],
    );
    assert_eq!(error.unwrap_err().code(), "pdf_cms_malformed");
}

#[test]
fn every_error_has_its_own_code_and_a_chinese_message() {
    let errors = [
        PdfError::TooLarge { size: 2, limit: 1 },
        PdfError::Malformed(None),
        PdfError::Encrypted,
        PdfError::PageMissing { page: 2, pages: 1 },
        PdfError::PlacementInvalid,
        PdfError::SignatureTooLarge {
            needed: 2,
            capacity: 1,
        },
        PdfError::SignatureInvalid,
        PdfError::CmsMalformed(None),
        PdfError::AppearanceInvalid,
        PdfError::SigningTimeInvalid { unix: -1 },
    ];
    let codes: std::collections::BTreeSet<_> = errors.iter().map(PdfError::code).collect();
    assert_eq!(codes.len(), errors.len());
    for error in &errors {
        assert!(error.code().starts_with("pdf_"));
        assert!(
            error
                .message_zh()
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        );
    }
}
