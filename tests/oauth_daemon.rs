//! `handoff run` on OAuth 2.0, the real binary against the stack's Dovecot,
//! Postfix and authorization server, seen from outside as an owner sees it:
//! the mail in the mailboxes, `handoff status`, `handoff log`, the log lines.
//!
//! - the whole loop with both IMAP and SMTP signed in by token:
//!   instructions out over SMTP XOAUTH2, the reply in over IMAP IDLE;
//! - a sign-in revoked at the provider (as when the owner removes the app's
//!   access): one owner notice saying what to run, one refused refresh (no
//!   retry storm), no crash, a few log lines; then `handoff login` again and
//!   the running daemon signs in again by itself.

mod common;

use common::oauth::{self, Client};
use common::{MailStack, imap, smtp, text, unique};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);
const NOW: &str = "2026-11-25T15:00:00Z";

/// `dir/handoff.toml` with IMAP on OAuth 2.0 (the stack's authorization
/// server as a custom provider, `client`) and SMTP on OAuth too, or on the
/// password when `smtp_password`.
fn config(
    stack: &MailStack,
    dir: &Path,
    client: &Client,
    smtp_password: bool,
    id: &str,
) -> PathBuf {
    let o = stack.oauth();
    std::fs::write(dir.join("owner.pw"), &stack.owner.password).unwrap();
    std::fs::write(dir.join("client.secret"), &client.secret).unwrap();
    let smtp_auth = if smtp_password {
        "auth = \"password\"\npassword_file = \"owner.pw\""
    } else {
        ""
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
ca_file = "{ca}"

[oauth]
provider = "custom"
client_id = "{client_id}"
client_secret_file = "client.secret"
auth_url = "{auth_url}"
token_url = "{token_url}"
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
        client_id = client.id,
        auth_url = o.auth_url,
        token_url = o.token_url,
        scope = o.scope,
        engagement = common::engagement(id),
    );
    let path = dir.join("handoff.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Signs the owner in (the code flow, the browser stand-in opening the
/// address), as `handoff login` does.
async fn sign_in(config: &Path) {
    let model = handoff::config::load(config).expect("config").model;
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

/// A running `handoff run`, its log lines on a channel.
struct Daemon {
    child: Child,
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    fn start(config: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(["run", "--config"])
            .arg(config)
            .env("HANDOFF_NOW", NOW)
            .env_remove("HANDOFF_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start handoff run");
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            log,
            seen: Vec::new(),
        }
    }

    /// Waits (without blocking the test's runtime) for a log line with
    /// `needle`.
    async fn expect_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            while let Ok(line) = self.log.try_recv() {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}; the log so far:\n{}",
                self.seen.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every line logged so far.
    fn lines(&mut self) -> &[String] {
        while let Ok(line) = self.log.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn stop(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            assert!(Instant::now() < deadline, "the daemon stops on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The journal, as `handoff log --json` prints it.
fn journal(config: &Path) -> Vec<serde_json::Value> {
    let out = common::handoff(config, &["log", "--json"], NOW);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn kinds(config: &Path, kind: &str) -> usize {
    journal(config).iter().filter(|e| e["kind"] == kind).count()
}

/// Polls `f` (a file or command the owner would look at) until it says
/// yes, at most [`PATIENCE`].
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_whole_loop_runs_on_oauth_for_imap_and_smtp() {
    let stack = MailStack::shared();
    let o = stack.oauth();
    let client = o.new_client(json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let id = unique("loop").replace(' ', "-");
    let config = config(stack, dir.path(), &client, false, &id);
    sign_in(&config).await;
    let mut daemon = Daemon::start(&config);
    daemon.expect_log("IMAP watcher connected").await;

    // Instructions out over SMTP, signed in with the token.
    let instructions = imap::wait_for_text(stack, &stack.contractor, "INBOX", &id, PATIENCE).await;
    let root = mail_parser::MessageParser::default()
        .parse(&instructions)
        .and_then(|m| m.message_id().map(|id| format!("<{id}>")))
        .expect("the instructions' Message-ID");
    // Dana's reply comes in over IMAP IDLE, signed in with the same token.
    let message_id = format!("{}@example.test", unique("ack").replace(' ', "."));
    let reply = common::watch::reply(stack, &id, &root, &message_id, "Got it, starting today.");
    smtp::send_raw(
        stack,
        &stack.contractor,
        &[stack.owner.user.as_str()],
        &reply,
    )
    .await
    .expect("reply sent");
    eventually("the reply is recorded as an acknowledgement", || {
        journal(&config)
            .iter()
            .any(|e| e["direction"] == "in" && e["kind"] == "acknowledgement")
    })
    .await;
    assert!(daemon.is_running());
    let grants: Vec<String> = o
        .token_requests(&client)
        .await
        .into_iter()
        .map(|r| r.grant_type)
        .collect();
    assert_eq!(
        grants,
        ["authorization_code"],
        "one sign-in serves both accounts for the token's hour"
    );
    assert_eq!(daemon.stop(), Some(0));
}

#[tokio::test]
async fn a_revoked_sign_in_tells_the_owner_once_and_a_new_login_resumes() {
    let stack = MailStack::shared();
    let o = stack.oauth();
    // Six-second tokens: the daemon needs a refresh within seconds.
    let client = o.new_client(json!({ "access_token_lifetime": 6 })).await;
    let dir = tempfile::tempdir().unwrap();
    let id = unique("revoked").replace(' ', "-");
    let config = config(stack, dir.path(), &client, true, &id);
    sign_in(&config).await;
    let mut daemon = Daemon::start(&config);
    daemon.expect_log("IMAP watcher connected").await;
    imap::wait_for_text(stack, &stack.contractor, "INBOX", &id, PATIENCE).await;

    let revoked_at = std::time::SystemTime::now();
    assert!(o.revoke_access(&client, &stack.owner.user).await >= 1);
    // The next refresh is refused: the owner hears of it by mail (SMTP
    // signs in with its password, so mail still goes).
    let subject = "sign in again";
    imap::wait_for_text(stack, &stack.owner, "INBOX", subject, PATIENCE).await;
    let logged_then = daemon.lines().len();

    // Three times the token's life later: still one notice, one refused
    // refresh, the daemon up, no flood in its log.
    tokio::time::sleep(Duration::from_secs(18)).await;
    assert!(daemon.is_running(), "no crash loop");
    let refused: Vec<_> = o
        .token_requests(&client)
        .await
        .into_iter()
        .filter(|r| r.at >= revoked_at && r.grant_type == "refresh_token")
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "one refused refresh, then backoff: {refused:?}"
    );
    assert_eq!(refused[0].error.as_deref(), Some("invalid_grant"));
    let notices = {
        stack.settle();
        let mut s = imap::login_imaps(stack, &stack.owner).await.unwrap();
        imap::fetch_all(&mut s, "INBOX")
            .await
            .into_iter()
            .filter(|m| common::contains(m, subject) && common::contains(m, &stack.owner.user))
            .count()
    };
    assert_eq!(notices, 1, "one owner notice");
    assert_eq!(kinds(&config, "oauth_sign_in_needed"), 1);
    let lines = daemon.lines();
    let since = &lines[logged_then.min(lines.len())..];
    assert!(since.len() <= 6, "no log flood: {since:#?}");
    let status = common::handoff(&config, &["status"], NOW);
    let shown = text(&status.stdout);
    assert!(
        shown.contains("SIGN-IN NEEDED")
            && shown.contains(&format!(
                "run `handoff login --config {}`",
                config.display()
            )),
        "{shown}"
    );

    // The owner signs in again; the running daemon takes it up by itself.
    sign_in(&config).await;
    daemon.expect_log("signed in again").await;
    eventually("the journal says so", || {
        kinds(&config, "oauth_signed_in") == 1
    })
    .await;
    let shown = text(&common::handoff(&config, &["status"], NOW).stdout);
    assert!(
        shown.contains(&format!("sign-in {}: ok", stack.owner.user)),
        "{shown}"
    );
    assert_eq!(daemon.stop(), Some(0));
}
