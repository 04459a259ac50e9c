//! Credentials through the real binary: `hoard passwd` prints an argon2id
//! PHC string the server accepts, the old unsalted SHA-256 form still works
//! with a warning, and a malformed hash stops start-up with the reason.

use anyhow::Result;
use hoard_tests::{
    ADMIN_PASSWORD, ADMIN_PASSWORD_SHA256, Server, ServerOptions, error_code, hoard_command,
    hoard_passwd,
};

fn admin_server(key: &str, hash: &str) -> Result<Server> {
    Server::start_with(ServerOptions {
        config: Some(format!("[admin]\n{key} = \"{hash}\"\n")),
        ..Default::default()
    })
}

#[test]
fn hoard_passwd_prints_a_salted_phc_string() -> Result<()> {
    let first = hoard_passwd(ADMIN_PASSWORD)?;
    let second = hoard_passwd(ADMIN_PASSWORD)?;
    assert!(first.starts_with("$argon2id$v=19$"), "{first}");
    assert_eq!(first.lines().count(), 1, "{first}");
    assert_ne!(first, second, "each hash gets its own salt");

    // No password at all is refused, not hashed.
    let output = hoard_command()?
        .arg("passwd")
        .stdin(std::process::Stdio::null())
        .output()?;
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("empty"), "{text}");
    assert!(output.stdout.is_empty());
    Ok(())
}

#[test]
fn the_admin_logs_in_with_an_argon2_hash() -> Result<()> {
    let server = admin_server("password_hash", &hoard_passwd(ADMIN_PASSWORD)?)?;
    let mut con = server.connect()?;
    let err = con.auth("admin", "let-me-out").unwrap_err();
    assert_eq!(error_code(&err), "WRONGPASS");
    let err = con.auth("root", ADMIN_PASSWORD).unwrap_err();
    assert_eq!(error_code(&err), "WRONGPASS", "only the admin exists");
    let err = con.plugin_list().unwrap_err();
    assert_eq!(error_code(&err), "NOPERM");
    con.auth("admin", ADMIN_PASSWORD)?;
    assert!(!con.plugin_list()?.is_empty());
    // The single-argument form is the admin too.
    let mut other = server.connect()?;
    let ok: String = redis::cmd("AUTH").arg(ADMIN_PASSWORD).query(&mut other)?;
    assert_eq!(ok, "OK");
    assert!(!server.log().contains("unsalted"), "{}", server.log());
    Ok(())
}

#[test]
fn the_legacy_sha256_form_still_works_and_start_up_warns() -> Result<()> {
    let server = admin_server("password_sha256", ADMIN_PASSWORD_SHA256)?;
    let mut con = server.connect()?;
    let err = con.auth("admin", "let-me-out").unwrap_err();
    assert_eq!(error_code(&err), "WRONGPASS");
    con.auth("admin", ADMIN_PASSWORD)?;
    assert!(!con.plugin_list()?.is_empty());
    let log = server.log();
    assert!(log.contains("unsalted SHA-256"), "{log}");
    assert!(log.contains("hoard passwd"), "{log}");
    Ok(())
}

#[test]
fn a_malformed_hash_stops_start_up_naming_the_problem() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("hoard.toml");
    for (text, reason) in [
        (
            "[admin]\npassword_hash = \"hunter2\"\n",
            "not a password hash",
        ),
        (
            "[admin]\npassword_hash = \"$argon2id$v=19$m=19456\"\n",
            "malformed PHC string",
        ),
        (
            "[admin]\npassword_hash = \"$argon2id$x\"\npassword_sha256 = \"ab\"\n",
            "not both",
        ),
    ] {
        std::fs::write(&config, text)?;
        let output = hoard_command()?
            .args(["serve", "--port", "0", "--config"])
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text}: {stderr}");
        assert!(stderr.contains(reason), "{text}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("listening"),
            "{text}"
        );
    }
    Ok(())
}
