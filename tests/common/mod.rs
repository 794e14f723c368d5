//! Shared helpers for integration tests: a real mail stack (Dovecot + Postfix
//! on loopback, started by `tests/mailstack/mailstack`), and clients for it.
//!
//! Use [`MailStack::shared`] for a stack per test binary (started on first use,
//! stopped when the test process exits, pass or fail), or [`MailStack::start`]
//! for a stack of one test's own (stopped on drop), where a test stops or
//! restarts servers or switches the tempfail recipient.
//!
//! `smtp` sends through the submission port (STARTTLS + AUTH, the server
//! verified against the stack's CA); `imap` logs in (STARTTLS or implicit
//! TLS, verified), lists, fetches and waits for mail with IDLE;
//! [`MailStack::maildir_messages`] reads the Maildirs on disk. Every mail of
//! Handoff's these readers return, and every mail or feed [`handoff`] writes,
//! has its calendars read strictly ([`ical`]).
//!
//! OAuth 2.0: Dovecot and Postfix also take XOAUTH2 and OAUTHBEARER with
//! JWTs from the stack's test authorization server; [`MailStack::oauth`]
//! starts that server and gives a test its endpoints, flows and switches
//! (`oauth`, over the small HTTP client in `http`); `imap` and `smtp` log in
//! with a bearer token as they do with a password; `raw` speaks IMAP and SMTP
//! line by line, for exchanges a client library would not get wrong.

#![allow(dead_code)] // each test binary uses its own subset

pub mod daemon;
pub mod http;
pub mod ical;
pub mod imap;
pub mod oauth;
pub mod raw;
pub mod smtp;
pub mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A login on the stack.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub password: String,
}

impl Account {
    /// The local part ("dana" of dana@example.test), which names its Maildir.
    pub fn local_part(&self) -> &str {
        self.user.split('@').next().unwrap_or(&self.user)
    }

    /// The domain ("example.test").
    pub fn domain(&self) -> &str {
        self.user.split('@').nth(1).unwrap_or("")
    }
}

/// One running Dovecot + Postfix (see `tests/mailstack/mailstack`).
#[derive(Debug)]
pub struct MailStack {
    pub dir: PathBuf,
    /// "127.0.0.1": every server listens on loopback only.
    pub host: String,
    /// "example.test": the one domain the stack delivers.
    pub domain: String,
    /// Submission: STARTTLS, then AUTH PLAIN/LOGIN.
    pub smtp_port: u16,
    /// IMAP with STARTTLS.
    pub imap_port: u16,
    /// IMAP with implicit TLS.
    pub imaps_port: u16,
    /// owner@example.test: Handoff's user; has a Sent folder.
    pub owner: Account,
    /// dana@example.test: a contractor.
    pub contractor: Account,
    /// eve@example.test: someone outside the engagement.
    pub stranger: Account,
    /// tempfail@example.test: answered 451 at RCPT until `tempfail_off`.
    pub tempfail: Account,
    /// gone@example.test: answered 550 at RCPT, always.
    pub gone: String,
    /// The CA that signed the servers' certificate (PEM).
    pub ca_cert: PathBuf,
    /// Root of the Maildirs: `<mail_dir>/<domain>/<local part>/Maildir`.
    pub mail_dir: PathBuf,
    /// How long `start` took, for the figures the README quotes.
    pub start_time: Duration,
    /// Every KEY=value of DIR/env, as the script wrote it at start.
    pub env: HashMap<String, String>,
    /// The authorization server, once [`MailStack::oauth`] started it.
    oauth: OnceLock<oauth::OAuth>,
    /// Held so the directory lives as long as an owned stack; `None` for the
    /// shared stack, whose directory is removed at exit.
    _tmp: Option<tempfile::TempDir>,
    owned: bool,
}

/// Every KEY=value of `dir/env`, as the script last wrote it.
fn read_env(dir: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(dir.join("env")).expect("mailstack env file");
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The script that runs stacks.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mailstack/mailstack")
}

static SHARED: OnceLock<MailStack> = OnceLock::new();

unsafe extern "C" {
    /// libc's: runs `cb` when the process exits through `exit()`, which is how
    /// the test harness ends, whether tests passed or failed.
    fn atexit(cb: extern "C" fn()) -> std::ffi::c_int;
}

/// Stops the shared stack as the test process exits, so `cargo test` leaves
/// no server behind once it returns. (A process killed outright skips this;
/// the script's watchdog, watching this process, stops the stack then.)
extern "C" fn stop_shared_stack() {
    if let Some(stack) = SHARED.get() {
        let _ = Command::new(script()).arg("stop").arg(&stack.dir).output();
        let _ = std::fs::remove_dir_all(&stack.dir);
    }
}

impl MailStack {
    /// A stack for this test alone, in a fresh temporary directory; stopped
    /// (and the directory removed) when dropped.
    pub fn start() -> MailStack {
        Self::start_with_env(&[])
    }

    /// [`MailStack::start`] with variables for the script (e.g.
    /// `MAILSTACK_SMTPD_MAX_USE`).
    pub fn start_with_env(env: &[(&str, &str)]) -> MailStack {
        let tmp = tempfile::Builder::new()
            .prefix("handoff-mailstack-")
            .tempdir()
            .expect("tempdir for the mail stack");
        let dir = tmp.path().to_path_buf();
        let mut stack = Self::launch(&dir, env);
        stack._tmp = Some(tmp);
        stack.owned = true;
        stack
    }

    /// The stack shared by every test in this binary, started on first use.
    /// Tests on it must not stop servers or switch tempfail (use
    /// [`MailStack::start`] for that), and should tell their mails apart by a
    /// unique subject or id, since other tests deliver to the same mailboxes.
    pub fn shared() -> &'static MailStack {
        SHARED.get_or_init(|| {
            // Not a TempDir: statics are never dropped; the atexit hook (or
            // the watchdog) stops the stack and removes the directory.
            let dir =
                std::env::temp_dir().join(format!("handoff-mailstack-{}", std::process::id()));
            let stack = Self::launch(&dir, &[]);
            // SAFETY: registers a plain function; libc calls it once at exit.
            unsafe { atexit(stop_shared_stack) };
            stack
        })
    }

    fn launch(dir: &Path, env: &[(&str, &str)]) -> MailStack {
        let started = Instant::now();
        let out = Command::new(script())
            .envs(env.iter().copied())
            .arg("start")
            .arg(dir)
            .arg("--watch-pid")
            .arg(std::process::id().to_string())
            .output()
            .expect("run tests/mailstack/mailstack");
        assert!(
            out.status.success(),
            "mailstack start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let start_time = started.elapsed();
        let env = read_env(dir);
        let get = |k: &str| {
            env.get(k)
                .unwrap_or_else(|| panic!("{k} missing from {}/env", dir.display()))
                .clone()
        };
        let port = |k: &str| {
            get(k)
                .parse::<u16>()
                .unwrap_or_else(|_| panic!("{k} is not a port"))
        };
        let account = |u: &str, p: &str| Account {
            user: get(u),
            password: get(p),
        };
        MailStack {
            dir: dir.to_path_buf(),
            host: get("HOST"),
            domain: get("DOMAIN"),
            smtp_port: port("SMTP_PORT"),
            imap_port: port("IMAP_PORT"),
            imaps_port: port("IMAPS_PORT"),
            owner: account("OWNER_USER", "OWNER_PASSWORD"),
            contractor: account("CONTRACTOR_USER", "CONTRACTOR_PASSWORD"),
            stranger: account("STRANGER_USER", "STRANGER_PASSWORD"),
            tempfail: account("TEMPFAIL_USER", "TEMPFAIL_PASSWORD"),
            gone: get("GONE_USER"),
            ca_cert: PathBuf::from(get("CA_CERT")),
            mail_dir: PathBuf::from(get("MAIL_DIR")),
            start_time,
            env,
            oauth: OnceLock::new(),
            _tmp: None,
            owned: false,
        }
    }

    fn run(&self, cmd: &str) {
        let out = Command::new(script())
            .arg(cmd)
            .arg(&self.dir)
            .output()
            .expect("run tests/mailstack/mailstack");
        assert!(
            out.status.success(),
            "mailstack {cmd} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// IMAP down (both ports closed, open sessions cut). Submission, AUTH and
    /// delivery into the Maildirs go on.
    pub fn stop_imap(&self) {
        self.run("stop-imap");
    }
    /// IMAP back on the same ports.
    pub fn start_imap(&self) {
        self.run("start-imap");
    }
    pub fn restart_imap(&self) {
        self.run("restart-imap");
    }
    /// Submission down (port closed, open connections cut). Mail already
    /// accepted stays queued and is delivered after `start_smtp`.
    pub fn stop_smtp(&self) {
        self.run("stop-smtp");
    }
    /// Submission back on the same port.
    pub fn start_smtp(&self) {
        self.run("start-smtp");
    }
    pub fn restart_smtp(&self) {
        self.run("restart-smtp");
    }
    /// Waits until Postfix holds no mail in flight: everything it accepted
    /// has been delivered into a Maildir (or bounced, or deferred).
    pub fn settle(&self) {
        self.run("settle");
    }
    /// From the next SMTP connection on, tempfail@ is accepted.
    pub fn tempfail_off(&self) {
        self.run("tempfail-off");
    }
    /// From the next SMTP connection on, tempfail@ is answered 451 again.
    pub fn tempfail_on(&self) {
        self.run("tempfail-on");
    }
    /// Every Postfix process stopped (SIGSTOP): the port still takes
    /// connections, nothing answers. Until [`MailStack::thaw_smtp`].
    pub fn freeze_smtp(&self) {
        self.run("freeze-smtp");
    }
    pub fn thaw_smtp(&self) {
        self.run("thaw-smtp");
    }
    /// Every Dovecot IMAP process stopped (delivery and AUTH go on).
    pub fn freeze_imap(&self) {
        self.run("freeze-imap");
    }
    pub fn thaw_imap(&self) {
        self.run("thaw-imap");
    }

    /// The Maildir folder of `account` (`folder` "INBOX", or a folder name
    /// such as "Sent", kept by Dovecot as Maildir++ `.Sent`).
    pub fn maildir(&self, account: &Account, folder: &str) -> PathBuf {
        let mut root = self
            .mail_dir
            .join(account.domain())
            .join(account.local_part())
            .join("Maildir");
        if !folder.eq_ignore_ascii_case("INBOX") {
            root = root.join(format!(".{}", folder.replace('/', ".")));
        }
        root
    }

    /// The raw messages in a mailbox, read straight from its Maildir (`new`
    /// and `cur`), in file-name order (delivery time first).
    pub fn maildir_messages(&self, account: &Account, folder: &str) -> Vec<Vec<u8>> {
        let root = self.maildir(account, folder);
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(root.join(sub)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        let mails: Vec<Vec<u8>> = files
            .into_iter()
            .filter_map(|p| std::fs::read(p).ok())
            .collect();
        ical::check_mails(&mails);
        mails
    }
}

impl Drop for MailStack {
    fn drop(&mut self) {
        if self.owned {
            // Best effort: a panic in drop would abort the test run.
            let _ = Command::new(script()).arg("stop").arg(&self.dir).output();
        }
    }
}

/// A rustls client config that trusts exactly the stack's CA (verification
/// on), with the ring provider and no process-wide default installed.
pub fn tls_config(ca_cert: &Path) -> Arc<tokio_rustls::rustls::ClientConfig> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_cert).expect("read CA file") {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    client_config(roots)
}

/// A rustls client config that trusts only the public web roots, so it must
/// refuse the stack's servers: proves verification is on.
pub fn untrusting_tls_config() -> Arc<tokio_rustls::rustls::ClientConfig> {
    use tokio_rustls::rustls;
    client_config(rustls::RootCertStore::from_iter(
        webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
    ))
}

fn client_config(
    roots: tokio_rustls::rustls::RootCertStore,
) -> Arc<tokio_rustls::rustls::ClientConfig> {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

impl MailStack {
    /// Writes `dir/owner.pw` and `dir/handoff.toml` for the owner's account on
    /// this stack: SMTP submission and IMAP (implicit TLS), both verified
    /// against the stack's CA; quiet hours off; Dana as the contractor. `mail`
    /// is the body of `[mail]` (e.g. `outgoing = "smtp"`), `imap_extra` more
    /// `[imap]` keys, `rest` what follows (engagements: see [`engagement`]).
    pub fn write_config(&self, dir: &Path, mail: &str, imap_extra: &str, rest: &str) -> PathBuf {
        std::fs::write(dir.join("owner.pw"), &self.owner.password).expect("write owner.pw");
        let text = format!(
            r#"[owner]
name = "Ada Lovelace"
email = "{owner}"
timezone = "Europe/Berlin"

[mail]
{mail}

[smtp]
host = "127.0.0.1"
port = {smtp}
username = "{owner}"
password_file = "owner.pw"
ca_file = "{ca}"

[imap]
host = "127.0.0.1"
port = {imaps}
tls = "tls"
username = "{owner}"
password_file = "owner.pw"
ca_file = "{ca}"
{imap_extra}

[policy]
quiet_hours = "00:00-00:00"

[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "{dana}"
timezone = "America/New_York"
{rest}"#,
            owner = self.owner.user,
            smtp = self.smtp_port,
            imaps = self.imaps_port,
            ca = self.ca_cert.display(),
            dana = self.contractor.user,
        );
        let path = dir.join("handoff.toml");
        std::fs::write(&path, text).expect("write handoff.toml");
        path
    }
}

/// An engagement with Dana, signed, started 2026-11-24, one milestone
/// `wireframes` due 2026-12-05.
pub fn engagement(id: &str) -> String {
    format!(
        r#"
[[engagement]]
id = "{id}"
contractor = "dana"
title = "Website"
agreement_signed = 2026-11-02
starts = 2026-11-24
deliverables = "Five pages"
quality_standard = "Valid HTML"
performance_standard = "On time"

[[engagement.milestone]]
id = "wireframes"
title = "Wireframes"
due = 2026-12-05
"#
    )
}

/// Bytes a command printed, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the handoff binary with `args` on `config`, the clock pinned at
/// `now` (`HANDOFF_NOW`), no `HANDOFF_CONFIG` from the environment.
/// What it wrote (a feed, mail in the local outgoing folder) is read
/// strictly ([`ical::check_run`]).
pub fn handoff(config: &Path, args: &[&str], now: &str) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", now)
        .env_remove("HANDOFF_CONFIG")
        .output()
        .expect("run handoff");
    ical::check_run(config, &out.stdout);
    out
}

/// Standard base64 (RFC 4648) with padding: for building raw mails and
/// for looking for encoded secrets.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A subject or id no other test (nor another run's leftovers) uses.
pub fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{tag} {}-{n}", std::process::id())
}

/// Whether `haystack` contains `needle` as bytes.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
}
