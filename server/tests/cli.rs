//! The staff command line as staff use it: the real binary, a fresh data directory, OpenSSL's CSR.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::process::{Command, Output};

use sea_orm::ConnectionTrait;

fn mcert(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcert-server"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("MCERT_MASTER_KEY")
        .output()
        .unwrap()
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "openssl {args:?}");
}

fn issue_args(uscc: &str) -> Vec<&str> {
    vec![
        "admin",
        "issue-physical",
        "--csr",
        "token.csr",
        "--unit-name",
        "昆明测试科技有限公司",
        "--uscc",
        uscc,
        "--holder-name",
        "张三",
        "--holder-id",
        "11010519491231002X",
        "--phone",
        "13800138000",
    ]
}

/// A USB key's SM2 key and CSR (`token.key`, `token.csr`) in `path`.
fn usb_key_csr(path: &std::path::Path) {
    openssl(
        path,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "token.key",
        ],
    );
    openssl(
        path,
        &[
            "req",
            "-new",
            "-key",
            "token.key",
            "-sm3",
            "-sigopt",
            "distid:1234567812345678",
            "-subj",
            "/CN=usbkey",
            "-out",
            "token.csr",
        ],
    );
}

/// The serial (hex) of the certificate PEM `mcert-server` printed.
fn serial_of(path: &std::path::Path, issued: &Output) -> String {
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    std::fs::write(path.join("issued.pem"), &issued.stdout).unwrap();
    String::from_utf8(
        Command::new("openssl")
            .args(["x509", "-in", "issued.pem", "-noout", "-serial"])
            .current_dir(path)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .trim_start_matches("serial=")
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_issue_revoke_and_audit_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    usb_key_csr(path);

    // Bad input: non-zero exit, a Chinese sentence with the stable code, nothing created.
    let bad = mcert(path, &issue_args("91440300708461136X"));
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("uscc_checksum") && stderr.contains("第18位应为 T"),
        "{stderr}"
    );
    assert!(
        !path.join("data").exists(),
        "bad input must not create the CA"
    );

    let issued = mcert(path, &issue_args("91440300708461136T"));
    let serial = serial_of(path, &issued);
    let pem = String::from_utf8(issued.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    std::fs::write(path.join("holder.pem"), &pem).unwrap();

    let unknown = mcert(path, &["admin", "revoke", "--serial", "0102030405060708AA"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("certificate_not_found"));

    let bad_cause = mcert(
        path,
        &["admin", "revoke", "--serial", &serial, "--cause", "bored"],
    );
    assert!(!bad_cause.status.success());
    let stderr = String::from_utf8_lossy(&bad_cause.stderr);
    assert!(
        stderr.contains("revocation_cause_unknown") && stderr.contains("不再使用"),
        "{stderr}"
    );
    let revoked = mcert(
        path,
        &[
            "admin",
            "revoke",
            "--serial",
            &serial,
            "--cause",
            "key_compromise",
        ],
    );
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert!(
        String::from_utf8_lossy(&revoked.stdout).contains("(keyCompromise, 手机丢失或密钥泄露)"),
        "{}",
        String::from_utf8_lossy(&revoked.stdout)
    );

    // An enrolment ticket for a mobile certificate: bad input refused, good input printed once.
    let mut ticket_args = issue_args("91440300708461136T");
    ticket_args.splice(1..4, ["enrol-ticket"]);
    let mut bad_phone = ticket_args.clone();
    let last = bad_phone.len() - 1;
    bad_phone[last] = "1380013800";
    let refused = mcert(path, &bad_phone);
    assert!(!refused.status.success());
    let ticket = mcert(path, &ticket_args);
    assert!(
        ticket.status.success(),
        "{}",
        String::from_utf8_lossy(&ticket.stderr)
    );
    let ticket = String::from_utf8(ticket.stdout).unwrap();
    let ticket = ticket.trim();
    assert_eq!(ticket.len(), 29, "{ticket}");
    assert!(
        ticket
            .chars()
            .all(|c| c == '-' || c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    );

    let verified = mcert(path, &["admin", "audit-verify"]);
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stdout).contains("intact: 4 entries"));

    // Edit one audit entry behind mcert's back: the chain shows it.
    let url = format!("sqlite://{}?mode=rw", path.join("data/mcert.db").display());
    let db = sea_orm::Database::connect(url).await.unwrap();
    db.execute_unprepared("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        .await
        .unwrap();
    db.close().await.unwrap();
    let broken = mcert(path, &["admin", "audit-verify"]);
    assert!(!broken.status.success());
    assert!(String::from_utf8_lossy(&broken.stderr).contains("entry 2 was altered"));

    // A wrong master key is refused with a clear sentence.
    let wrong_key = Command::new(env!("CARGO_BIN_EXE_mcert-server"))
        .args(["admin", "audit-verify"])
        .current_dir(path)
        .env_remove("DATABASE_URL")
        .env("MCERT_MASTER_KEY", "00112233445566778899aabbccddeeff")
        .output()
        .unwrap();
    assert!(!wrong_key.status.success());
    assert!(String::from_utf8_lossy(&wrong_key.stderr).contains("master key does not open"));
}

/// A portal's business-item catalogue from the command line: registered with the portal (items,
/// groups, a locked default for physical certificates), replaced later (audited), and refused
/// with the reason when an item is malformed or a group names no item.
#[test]
fn a_portal_catalogue_is_registered_and_replaced_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let added = mcert(
        path,
        &[
            "admin",
            "add-portal",
            "--name",
            "就业彩云南",
            "--origin",
            "https://portal.example.cn",
            "--redirect-uri",
            "https://portal.example.cn/cb",
            "--item",
            "unit_info=单位基础信息维护",
            "--item",
            "unemployment_insurance=失业保险",
            "--item-group",
            "unit_info=单位服务",
            "--locked-item",
            "unemployment_insurance=physical",
        ],
    );
    assert!(added.status.success(), "{added:?}");
    let stdout = String::from_utf8(added.stdout).unwrap();
    let client_id = stdout
        .lines()
        .find_map(|line| line.strip_prefix("client_id="))
        .unwrap()
        .to_string();

    let replaced = mcert(
        path,
        &[
            "admin",
            "set-portal-items",
            "--client-id",
            &client_id,
            "--item",
            "unemployment_insurance=失业保险",
            "--item",
            "training=技能培训和创业培训服务",
            "--locked-item",
            "unemployment_insurance=physical",
        ],
    );
    assert!(replaced.status.success(), "{replaced:?}");
    assert!(
        String::from_utf8(replaced.stdout)
            .unwrap()
            .contains("has 2 items")
    );

    for (args, expected) in [
        (vec!["--item", "training"], "CODE=名称"),
        (
            vec!["--item", "a=甲", "--item-group", "b=组"],
            "not an --item",
        ),
        (
            vec!["--item", "a=甲", "--locked-item", "a=usb"],
            "physical or mobile",
        ),
    ] {
        let mut command = vec!["admin", "set-portal-items", "--client-id", &client_id];
        command.extend(args);
        let refused = mcert(path, &command);
        assert!(!refused.status.success());
        let stderr = String::from_utf8(refused.stderr).unwrap();
        assert!(stderr.contains(expected), "{stderr}");
    }
    let unknown = mcert(
        path,
        &[
            "admin",
            "set-portal-items",
            "--client-id",
            "p_none",
            "--item",
            "a=甲",
        ],
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8(unknown.stderr)
            .unwrap()
            .contains("p_none")
    );

    // Registration and replacement are in the audit log, whose chain holds.
    let verified = mcert(path, &["admin", "audit-verify"]);
    assert!(verified.status.success(), "{verified:?}");
}

/// A new primary from the command line: refused while the employer's primary is in force, done
/// with a reason once it is revoked.
#[test]
fn staff_choose_a_new_primary_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    usb_key_csr(path);
    let primary = serial_of(path, &mcert(path, &issue_args("91440300708461136T")));
    let sub = serial_of(path, &mcert(path, &issue_args("91440300708461136T")));
    let set_primary = |reason: &str| {
        mcert(
            path,
            &["admin", "set-primary", "--serial", &sub, "--reason", reason],
        )
    };
    let refused = set_primary("原主证书持有人离职");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("primary_in_force"));
    let revoked = mcert(
        path,
        &[
            "admin",
            "revoke",
            "--serial",
            &primary,
            "--reason",
            "affiliationChanged",
        ],
    );
    assert!(revoked.status.success(), "{revoked:?}");
    let appointed = set_primary("原主证书持有人离职");
    assert!(appointed.status.success(), "{appointed:?}");
    assert!(String::from_utf8_lossy(&appointed.stdout).contains("is now the primary certificate"));
}
