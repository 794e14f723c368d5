//! Security of the edges: what Handoff leaves on disk is private, the
//! passwords it reads never come out again, and every TLS connection it makes
//! checks the server's certificate.

mod common;

use common::MailStack;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = include_str!("../config/handoff.toml");
const NOW: &str = "2026-11-24T15:00:00Z";

/// Runs handoff under `umask` with `env`.
fn handoff_with(config: &Path, args: &[&str], umask: &str, env: &[(&str, &str)]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", NOW)
        .env_remove("HANDOFF_CONFIG")
        .envs(env.iter().copied())
        .output()
        .inspect(|out| common::ical::check_run(config, &out.stdout))
        .expect("run handoff")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_store_and_the_mail_folders_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::write(&config, EXAMPLE).unwrap();
    // umask 000: a file created without an explicit mode would be 0666.
    let out = handoff_with(&config, &["run", "--once"], "000", &[]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let var = dir.path().join("var");
    assert_eq!(mode(&var), 0o700, "the store's directory");
    assert_eq!(mode(&var.join("handoff.db")), 0o600, "the store");
    for side in ["handoff.db-wal", "handoff.db-shm"] {
        if var.join(side).exists() {
            assert_eq!(mode(&var.join(side)), 0o600, "{side}");
        }
    }
    let outgoing = var.join("mail/outgoing");
    for d in [&outgoing, &outgoing.join("tmp"), &outgoing.join("new")] {
        assert_eq!(mode(d), 0o700, "{}", d.display());
    }
    let emls: Vec<PathBuf> = std::fs::read_dir(outgoing.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!emls.is_empty(), "the instructions were written");
    for f in &emls {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    // The local inbox holds the contractors' mail: private too.
    let inbox = var.join("mail/inbox");
    for d in [
        &inbox,
        &inbox.join("new"),
        &inbox.join("cur"),
        &inbox.join("tmp"),
    ] {
        assert_eq!(mode(d), 0o700, "{}", d.display());
    }
}

/// A config that sends through the stack and files copies over IMAP, with
/// `password` in the password files (and the stack's CA trusted when `ca`).
fn server_config(stack: &MailStack, dir: &Path, id: &str, password: &str, ca: bool) -> PathBuf {
    std::fs::write(dir.join("smtp.pw"), format!("{password}\n")).unwrap();
    std::fs::write(dir.join("imap.pw"), format!("{password}\n")).unwrap();
    let ca = if ca {
        format!("ca_file = \"{}\"", stack.ca_cert.display())
    } else {
        String::new()
    };
    let config = format!(
        r#"
[owner]
name = "Ada Lovelace"
email = "{owner}"
timezone = "Europe/Berlin"

[mail]
outgoing = "smtp"
incoming = "maildir"

[smtp]
host = "127.0.0.1"
port = {smtp}
tls = "starttls"
username = "{owner}"
password_file = "smtp.pw"
{ca}

[imap]
host = "127.0.0.1"
port = {imaps}
tls = "tls"
username = "{owner}"
password_file = "imap.pw"
{ca}
sent_mailbox = "Sent"

[policy]
quiet_hours = "00:00-00:00"

[[contractor]]
id = "dana"
name = "Dana Diaz"
email = "{contractor}"

[[engagement]]
id = "{id}"
contractor = "dana"
title = "Security check"
agreement_signed = 2026-11-02
starts = 2026-11-24
deliverables = "x"
quality_standard = "x"
performance_standard = "x"

[[engagement.milestone]]
id = "m1"
title = "Milestone"
due = 2026-12-05
"#,
        owner = stack.owner.user,
        smtp = stack.smtp_port,
        imaps = stack.imaps_port,
        contractor = stack.contractor.user,
    );
    let path = dir.join("handoff.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn unique_id(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{tag}-{}-{n}", std::process::id())
}

/// Every way `password` could show: as is, and as SMTP/IMAP AUTH encode it.
fn leaks(password: &str, user: &str, haystack: &[u8]) -> Vec<String> {
    let forms = [
        password.to_string(),
        common::base64(password.as_bytes()),
        common::base64(format!("\0{user}\0{password}").as_bytes()),
        common::base64(format!("{user}\0{user}\0{password}").as_bytes()),
    ];
    forms
        .into_iter()
        .filter(|f| common::contains(haystack, f))
        .collect()
}

/// Runs every command that reads the config, with all logging on; returns
/// everything they printed.
fn every_output(config: &Path) -> (Vec<u8>, Vec<Output>) {
    let env = [("RUST_LOG", "trace"), ("RUST_BACKTRACE", "1")];
    let mut all = Vec::new();
    let mut outs = Vec::new();
    for args in [
        &["check"][..],
        &["run", "--once"],
        &["status"],
        &["status", "--json"],
        &["log"],
        &["log", "--json"],
        &["run", "--once"],
    ] {
        let out = handoff_with(config, args, "077", &env);
        all.extend_from_slice(&out.stdout);
        all.extend_from_slice(&out.stderr);
        outs.push(out);
    }
    (all, outs)
}

#[test]
fn the_password_never_appears_in_any_output_or_file() {
    let stack = MailStack::shared();
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("secret");
    // The real password, so the run logs in and sends.
    let config = server_config(stack, dir.path(), &id, &stack.owner.password, true);
    let (all, outs) = every_output(&config);
    assert!(
        outs.iter().all(|o| o.status.success()),
        "{}",
        common::text(&all)
    );
    let log = common::text(&outs[5].stdout);
    assert!(
        log.contains("\"kind\":\"sent_instructions\""),
        "logged in and sent, so the password was used: {log}"
    );
    let found = leaks(&stack.owner.password, &stack.owner.user, &all);
    assert!(found.is_empty(), "the password showed as {found:?}");
    // Nor is it anywhere Handoff writes: the store, its journal, the mail.
    for entry in walk(dir.path()) {
        if entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".pw"))
        {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap();
        let found = leaks(&stack.owner.password, &stack.owner.user, &bytes);
        assert!(found.is_empty(), "{} holds {found:?}", entry.display());
    }

    // A wrong password, distinctive, takes the failure paths (AUTH refused,
    // retries journaled): it shows nowhere either.
    let dir = tempfile::tempdir().unwrap();
    let wrong = "Zq7-not-the-password-4f1d9c";
    let config = server_config(stack, dir.path(), &unique_id("wrong"), wrong, true);
    let (all, outs) = every_output(&config);
    let log = common::text(&outs[5].stdout);
    assert!(
        log.contains("send_deferred") || log.contains("send_failed"),
        "the login failed and was journaled: {log}"
    );
    let found = leaks(wrong, &stack.owner.user, &all);
    assert!(found.is_empty(), "the password showed as {found:?}");
    for entry in walk(dir.path()) {
        if entry.extension().is_some_and(|e| e == "pw") {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            leaks(wrong, &stack.owner.user, &bytes).is_empty(),
            "{}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn no_certificate_check_is_switched_off_anywhere_in_the_source() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // rustls's escape hatches are all named "dangerous"; native-tls's and
    // async-native-tls's "danger_accept_invalid_*"; a custom verifier
    // implements ServerCertVerifier.
    let banned = [
        "dangerous",
        "danger_accept_invalid",
        "accept_invalid",
        "ServerCertVerifier",
        "NoCertificateVerification",
        "NoVerifier",
    ];
    let mut files = walk(&root.join("src"));
    files.push(root.join("Cargo.toml"));
    let mut scanned = 0;
    for f in files {
        if f.extension().is_none_or(|e| e != "rs" && e != "toml") {
            continue;
        }
        // Unit-test modules (src/*/tests.rs) may do what they like.
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&f).unwrap();
        // Everything after `#[cfg(test)]` in a file is its test module.
        let product = src.split("#[cfg(test)]").next().unwrap_or("");
        for word in banned {
            assert!(
                !product.contains(word),
                "{} mentions `{word}`: certificate checks must stay on",
                f.display()
            );
        }
        scanned += 1;
    }
    assert!(scanned > 20, "read the source tree ({scanned} files)");
}

#[test]
fn a_server_whose_certificate_is_not_trusted_is_refused() {
    let stack = MailStack::shared();
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("untrusted");
    // The right password, but the stack's CA not configured: only the
    // public roots are trusted, which did not sign the stack's certificate.
    let config = server_config(stack, dir.path(), &id, &stack.owner.password, false);
    let out = handoff_with(&config, &["run", "--once"], "077", &[]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(
        common::text(&out.stdout).contains("sent 0"),
        "{}",
        common::text(&out.stdout)
    );
    let log = common::text(&handoff_with(&config, &["log", "--json"], "077", &[]).stdout);
    let refused = log
        .lines()
        .find(|l| l.contains("send_deferred") || l.contains("send_failed"))
        .unwrap_or_else(|| panic!("the failure is journaled: {log}"));
    assert!(
        refused.to_ascii_lowercase().contains("certificate") || refused.contains("UnknownIssuer"),
        "refused for its certificate: {refused}"
    );
    stack.settle();
    assert!(
        !stack
            .maildir_messages(&stack.contractor, "INBOX")
            .iter()
            .any(|m| common::contains(m, &format!("[{id}]"))),
        "nothing reached the contractor"
    );

    // IMAP: the login is refused at the TLS handshake, before any password
    // is sent.
    let model = handoff::config::load(&config).unwrap().model;
    let imap = model.imap.clone().expect("an [imap] section");
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(handoff::imap_conn::login(&imap.server));
    let Err(err) = result else {
        panic!("a session without the CA");
    };
    let err = format!("{err}");
    assert!(
        err.to_ascii_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );

    // The control: the same config with the CA trusted sends.
    let dir = tempfile::tempdir().unwrap();
    let config = server_config(
        stack,
        dir.path(),
        &unique_id("trusted"),
        &stack.owner.password,
        true,
    );
    let out = handoff_with(&config, &["run", "--once"], "077", &[]);
    assert!(
        common::text(&out.stdout).contains("sent 1")
            || common::text(&out.stdout).contains("sent 2"),
        "{}",
        common::text(&out.stdout)
    );
}

/// Every way an OAuth 2.0 token could show: as is, and as SASL XOAUTH2
/// carries it (plain and base64).
fn token_leaks(token: &str, user: &str, haystack: &[u8]) -> Vec<String> {
    let sasl = format!("user={user}\x01auth=Bearer {token}\x01\x01");
    [token.to_string(), common::base64(sasl.as_bytes()), sasl]
        .into_iter()
        .filter(|f| common::contains(haystack, f))
        .collect()
}

#[tokio::test]
async fn oauth_tokens_never_appear_in_any_output_log_journal_or_notice() {
    let stack = MailStack::shared();
    let o = stack.oauth();
    // Two-second tokens: every run refreshes, so the refresh path is logged too.
    let client = o
        .new_client(serde_json::json!({ "access_token_lifetime": 2 }))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let id = unique_id("tokens");
    let config = server_config(stack, dir.path(), &id, &stack.owner.password, true);
    // Both accounts on OAuth: an [oauth] section makes it the default.
    std::fs::write(dir.path().join("client.secret"), &client.secret).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let oauth = format!(
        "[oauth]\nprovider = \"custom\"\nclient_id = \"{}\"\nclient_secret_file = \"client.secret\"\nauth_url = \"{}\"\ntoken_url = \"{}\"\nscopes = [\"{}\"]\n\n[policy]",
        client.id, o.auth_url, o.token_url, o.scope
    );
    std::fs::write(&config, text.replacen("[policy]", &oauth, 1)).unwrap();
    let model = handoff::config::load(&config).expect("config").model;
    let handoff::model::ServerAuth::OAuth2(settings) = &model.smtp.as_ref().unwrap().auth else {
        panic!("SMTP signs in with OAuth");
    };
    let tokens = handoff::oauth::login::by_code(settings, &stack.owner.user, |p| {
        if let handoff::oauth::login::Prompt::OpenUrl { url, .. } = p {
            tokio::spawn(async move { common::oauth::browse(&url).await.expect("browse") });
        }
    })
    .await
    .expect("signed in");
    let refresh_token = tokens.refresh_token.expose().to_string();
    let first_access = tokens.access.as_ref().unwrap().token.expose().to_string();
    // Past the first token's refresh point: the runs below refresh.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    let (mut all, outs) = every_output(&config);
    let status = handoff_with(
        &config,
        &["login", "--status"],
        "077",
        &[("RUST_LOG", "trace")],
    );
    all.extend_from_slice(&status.stdout);
    all.extend_from_slice(&status.stderr);
    assert!(
        outs.iter().all(|o| o.status.success()),
        "{}",
        common::text(&all)
    );
    let log = common::text(&outs[5].stdout);
    assert!(
        log.contains("\"kind\":\"sent_instructions\""),
        "signed in with a token and sent: {log}"
    );
    let refreshed = o.count(&client, "refresh_token").await;
    assert!(refreshed >= 1, "the runs refreshed the token");
    let stored = handoff::oauth::store::read(&settings.token_file)
        .unwrap()
        .unwrap();
    let latest_access = stored.access.unwrap().token.expose().to_string();
    assert_ne!(latest_access, first_access);
    for secret in [&refresh_token, &first_access, &latest_access] {
        let found = token_leaks(secret, &stack.owner.user, &all);
        assert!(
            found.is_empty(),
            "a token showed in the output as {found:?}"
        );
        // Nor in anything Handoff writes but the token file itself: the
        // store and its journal, the mail, the Sent copies.
        for entry in walk(dir.path()) {
            if entry == settings.token_file {
                continue;
            }
            let bytes = std::fs::read(&entry).unwrap();
            let found = token_leaks(secret, &stack.owner.user, &bytes);
            assert!(found.is_empty(), "{} holds {found:?}", entry.display());
        }
    }

    // Revoked: the failure paths (refused refresh, notice, journal) carry
    // no token either.
    o.revoke_access(&client, &stack.owner.user).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    // A new milestone: its invitation is due, so the runs try to sign in.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[[engagement.milestone]]\nid = \"m2\"\ntitle = \"Second\"\ndue = 2026-12-12\n",
    );
    std::fs::write(&config, text).unwrap();
    let (all, _) = every_output(&config);
    assert!(
        common::text(&all).contains("run `handoff login"),
        "the refusal says what to run: {}",
        common::text(&all)
    );
    for secret in [&refresh_token, &latest_access] {
        let found = token_leaks(secret, &stack.owner.user, &all);
        assert!(found.is_empty(), "a token showed as {found:?}");
    }
}
