//! Signing in with OAuth 2.0, as an owner on Gmail or Microsoft 365 does it,
//! against the stack's own authorization server (code + PKCE, device code,
//! refresh, revocation) and its Dovecot and Postfix (XOAUTH2):
//!
//! - `handoff login` by code with PKCE (the printed address opened by a
//!   browser stand-in) and by device code, `--status`, and `check` saying
//!   what to run before;
//! - the IMAP watcher renewing its session ahead of each token's expiry,
//!   one reconnect and one refresh per token lifetime, a reply during an
//!   expiry recorded at once;
//! - a revoked sign-in: one owner notice, one refresh attempt, no crash and
//!   no log flood, and a new `handoff login` picked up by the running daemon;
//! - the whole loop on OAuth for both: instructions out over SMTP, the reply
//!   in over IMAP IDLE.
//!
//! Each test takes a client of its own at the server (its own token
//! lifetime and record of requests), so they share one stack.

mod common;

use common::oauth::{self, Client};
use common::{MailStack, imap, smtp, text, unique};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

/// The tests of this file one at a time. Beside the two login tests (their
/// `handoff login` children, mail through Postfix and Dovecot), the renewal
/// test failed about one run in three: a watcher session went some 30 s with
/// no IDLE wake for the reply and past its refresh point, then renewed late.
/// One at a time it passed five runs of five. What it proves is the
/// renewal's timing, so it gets the servers to itself; the stall itself is
/// not understood yet (see the closing note).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The engagement has started and quiet hours are off: mail goes at once.
const NOW: &str = "2026-11-25T15:00:00Z";

/// How the config signs in to each server.
#[derive(Clone, Copy, PartialEq)]
enum Auth {
    OAuth,
    Password,
}

/// Writes `dir/handoff.toml`: the stack's servers, IMAP and SMTP signing in
/// as `imap` and `smtp` say, `[oauth]` a custom provider at the stack's
/// authorization server with `client`, one engagement `id`.
fn config(
    stack: &MailStack,
    dir: &Path,
    client: &Client,
    imap_auth: Auth,
    smtp_auth: Auth,
    id: &str,
) -> PathBuf {
    let o = stack.oauth();
    std::fs::write(dir.join("owner.pw"), &stack.owner.password).unwrap();
    std::fs::write(dir.join("client.secret"), &client.secret).unwrap();
    let auth = |a: Auth| match a {
        Auth::OAuth => "auth = \"oauth2\"".to_string(),
        Auth::Password => "auth = \"password\"\npassword_file = \"owner.pw\"".to_string(),
    };
    let text = format!(
        r#"[owner]
name = "Ada Lovelace"
email = "{owner}"
timezone = "Europe/Berlin"

[mail]
outgoing = "smtp"
incoming = "imap"

[smtp]
host = "127.0.0.1"
port = {smtp}
username = "{owner}"
{smtp_auth}
ca_file = "{ca}"

[imap]
host = "127.0.0.1"
port = {imaps}
tls = "tls"
username = "{owner}"
{imap_auth}
ca_file = "{ca}"
poll_every = "1m"

[oauth]
provider = "custom"
client_id = "{client_id}"
client_secret_file = "client.secret"
auth_url = "{auth_url}"
token_url = "{token_url}"
device_url = "{device_url}"
scopes = ["{scope}"]

[policy]
quiet_hours = "00:00-00:00"

[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "{dana}"
timezone = "America/New_York"
{engagement}"#,
        owner = stack.owner.user,
        smtp = stack.smtp_port,
        imaps = stack.imaps_port,
        ca = stack.ca_cert.display(),
        dana = stack.contractor.user,
        smtp_auth = auth(smtp_auth),
        imap_auth = auth(imap_auth),
        client_id = client.id,
        auth_url = o.auth_url,
        token_url = o.token_url,
        device_url = o.device_url,
        scope = o.scope,
        engagement = common::engagement(id),
    );
    let path = dir.join("handoff.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn token_file(config: &Path) -> PathBuf {
    config.parent().unwrap().join("var/oauth-token.json")
}

/// `handoff login` (with `args`) in a child, its standard output read line
/// by line; `answer` is called with each line and may act on it (open the
/// address, approve the code). Returns the exit code and everything printed.
async fn login(config: &Path, args: &[&str], answer: impl Fn(String)) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .arg("login")
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("HANDOFF_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start handoff login");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = String::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match rx.try_recv() {
            Ok(line) => {
                printed.push_str(&line);
                printed.push('\n');
                answer(line);
                continue;
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        assert!(Instant::now() < deadline, "login still running: {printed}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = child.wait_with_output().unwrap();
    printed.push_str(&text(&out.stderr));
    (out.status.code().unwrap_or(-1), printed)
}

#[tokio::test]
async fn login_by_code_with_pkce_stores_a_private_sign_in_that_sends_mail() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let stack = MailStack::shared();
    let o = stack.oauth();
    let client = o.new_client(json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let id = unique("code").replace(' ', "-").to_lowercase();
    let config = config(stack, dir.path(), &client, Auth::OAuth, Auth::OAuth, &id);

    // Before: check says what to run, with the line of `auth`.
    let out = common::handoff(&config, &["check"], NOW);
    let said = text(&out.stderr);
    assert!(
        said.contains("no sign-in is stored yet")
            && said.contains(&format!(
                "run `handoff login --config {}`",
                config.display()
            ))
            && said.contains("handoff.toml:"),
        "{said}"
    );

    // The browser stand-in opens the printed address: approved at once,
    // redirected to the loopback listener.
    let (code, printed) = login(&config, &[], |line| {
        if line.starts_with("http://") {
            tokio::spawn(async move { oauth::browse(&line).await.expect("browse") });
        }
    })
    .await;
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains("ssh -L"),
        "the SSH forward is shown: {printed}"
    );
    assert!(
        printed.contains(&format!("Signed in as {}", stack.owner.user)),
        "{printed}"
    );
    let file = token_file(&config);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the sign-in is private");
    let record = o.token_requests(&client).await;
    assert_eq!(
        record
            .iter()
            .map(|r| (r.grant_type.as_str(), r.status))
            .collect::<Vec<_>>(),
        [("authorization_code", Some(200))],
        "one code exchange (with the PKCE verifier, which the server checks)"
    );

    let status = common::handoff(&config, &["login", "--status"], NOW);
    let shown = text(&status.stdout);
    assert!(status.status.success(), "{shown}");
    for want in [
        stack.owner.user.as_str(),
        "imap, smtp",
        o.scope.as_str(),
        "valid until",
    ] {
        assert!(shown.contains(want), "{want} in: {shown}");
    }
    let out = common::handoff(&config, &["check"], NOW);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("no sign-in"),
        "{}",
        text(&out.stderr)
    );

    // The stored token signs in to Postfix: the instructions go out.
    let out = common::handoff(&config, &["run", "--once"], NOW);
    assert!(out.status.success(), "{}", text(&out.stderr));
    imap::wait_for_text(stack, &stack.contractor, "INBOX", &id, PATIENCE).await;
    assert_eq!(
        o.count(&client, "refresh_token").await,
        0,
        "a token an hour fresh is used, not refreshed"
    );
}

#[tokio::test]
async fn login_by_device_code_and_google_says_it_has_none_for_mail() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let stack = MailStack::shared();
    let o = stack.oauth();
    let client = o.new_client(json!({ "device_interval": 1 })).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        stack,
        dir.path(),
        &client,
        Auth::OAuth,
        Auth::OAuth,
        "device",
    );
    let approve = {
        let o = o.clone();
        let user = stack.owner.user.clone();
        move |line: String| {
            let code = line.trim().to_string();
            let looks_like_code = code.len() == 9
                && code.as_bytes()[4] == b'-'
                && code.chars().all(|c| c == '-' || c.is_ascii_uppercase());
            if looks_like_code {
                let (o, user) = (o.clone(), user.clone());
                tokio::spawn(async move { o.approve_device(&code, &user).await });
            }
        }
    };
    let (code, printed) = login(&config, &["--device"], approve).await;
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains(&o.base_url),
        "the verification address: {printed}"
    );
    assert!(token_file(&config).is_file());
    let grants = o.token_requests(&client).await;
    assert!(
        grants.last().is_some_and(|r| r.status == Some(200))
            && grants.iter().all(|r| r.grant_type == oauth::DEVICE_GRANT),
        "polled until approved: {grants:?}"
    );

    // Google: no device flow for the mail scope, said before anything is sent.
    let google = dir.path().join("google.toml");
    let written: String = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("device_url"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        &google,
        written.replace("provider = \"custom\"", "provider = \"google\""),
    )
    .unwrap();
    let out = common::handoff(&google, &["login", "--device"], NOW);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Google refuses the device code flow"),
        "{}",
        text(&out.stderr)
    );
}

/// Signs the owner in in this process (the code flow, the browser stand-in
/// opening the address).
async fn sign_in(model: &handoff::model::Model) {
    let handoff::model::ServerAuth::OAuth2(settings) = &model.imap.as_ref().unwrap().server.auth
    else {
        panic!("IMAP signs in with OAuth");
    };
    handoff::oauth::login::by_code(settings, model.owner.email.as_ref(), |p| {
        if let handoff::oauth::login::Prompt::OpenUrl { url, .. } = p {
            tokio::spawn(async move { oauth::browse(&url).await.expect("browse") });
        }
    })
    .await
    .expect("signed in");
}

#[tokio::test]
async fn the_watcher_renews_its_session_ahead_of_each_token_expiry() {
    let _alone = ONE_AT_A_TIME.lock().await;
    use handoff::inbox::imap_watch::WatchEvent;
    let stack = MailStack::shared();
    let o = stack.oauth();
    // Ten-second tokens: the refresh point is at 8 s.
    let client = o.new_client(json!({ "access_token_lifetime": 10 })).await;
    let dir = tempfile::tempdir().unwrap();
    let id = "renew";
    let path = config(stack, dir.path(), &client, Auth::OAuth, Auth::Password, id);
    let model = handoff::config::load(&path).expect("config").model;
    sign_in(&model).await;
    let owner = common::watch::owner_of(stack, dir, path, id, common::watch::at(NOW)).await;
    let mut running = common::watch::spawn(&owner, common::watch::at(NOW));
    running.connected().await;
    let first_login = Instant::now();

    // Three token lifetimes; a reply lands just after the first token's exp.
    let mut connects = 1;
    let mut replied = false;
    let mut recorded = None;
    let end = first_login + Duration::from_secs(28);
    while Instant::now() < end {
        if !replied && first_login.elapsed() >= Duration::from_secs(10) {
            let message_id = format!("{}@example.test", unique("renew").replace(' ', "."));
            let mail = common::watch::reply(
                stack,
                id,
                &owner.root,
                &message_id,
                "Got it, starting today.",
            );
            smtp::send_raw(
                stack,
                &stack.contractor,
                &[stack.owner.user.as_str()],
                &mail,
            )
            .await
            .expect("reply sent");
            replied = true;
        }
        let left = end.saturating_duration_since(Instant::now());
        let Ok(Some(event)) = tokio::time::timeout(left, running.recv()).await else {
            break;
        };
        match event {
            WatchEvent::Connected { .. } => connects += 1,
            WatchEvent::Disconnected { error } => panic!("no failure, only renewals: {error}"),
            WatchEvent::Recorded { at, .. } if replied => recorded = Some(at),
            _ => {}
        }
    }
    running.stop().await;
    let refreshes: Vec<_> = o
        .token_requests(&client)
        .await
        .into_iter()
        .filter(|r| r.grant_type == "refresh_token")
        .collect();
    // 28 s of 10-second tokens renewed at 8 s: three renewals (±1 for a
    // machine that is slow at the edges), each one refresh, no storm.
    assert!((2..=4).contains(&refreshes.len()), "{refreshes:?}");
    // One reconnect per refresh; a refresh in the window's last moment may
    // have its reconnect just after it.
    let reconnects = connects - 1;
    assert!(
        refreshes.len() == reconnects || refreshes.len() == reconnects + 1,
        "one reconnect per refresh: {reconnects} reconnects, {refreshes:?}"
    );
    let grants = o.token_requests(&client).await;
    for pair in grants.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(
            after.at < before.expires_at.unwrap(),
            "each refresh came before the token it replaced expired: {grants:?}"
        );
    }
    assert!(
        recorded.is_some(),
        "the reply during the renewals was recorded"
    );
}
