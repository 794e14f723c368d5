//! Shared helpers for integration tests: a real mail stack (Dovecot + Postfix
//! on loopback, started by `tests/mailstack/mailstack`), and clients for it.
//!
//! Use [`MailStack::shared`] for a stack per test binary (started on first use,
//! stopped by the script's watchdog when the test process exits, pass or fail),
//! or [`MailStack::start`] for a stack of one test's own (stopped on drop), where
//! a test stops or restarts servers.

#![allow(dead_code)] // each test binary uses its own subset

pub mod imap;
pub mod smtp;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

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
}

/// One running Dovecot + Postfix.
#[derive(Debug)]
pub struct MailStack {
    pub dir: PathBuf,
    pub host: String,
    pub smtp_port: u16,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub owner: Account,
    pub contractor: Account,
    pub stranger: Account,
    pub tempfail: Account,
    pub ca_cert: PathBuf,
    pub mail_dir: PathBuf,
    /// How long `start` took (for the figures the README quotes).
    pub start_time: std::time::Duration,
    /// Held so the directory lives as long as an owned stack; `None` for the
    /// shared stack, whose directory the watchdog removes.
    _tmp: Option<tempfile::TempDir>,
    owned: bool,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mailstack/mailstack")
}

impl MailStack {
    /// A stack for this test alone; stopped when dropped.
    pub fn start() -> MailStack {
        Self::start_with_env(&[])
    }

    /// [`MailStack::start`] with variables for the script (e.g.
    /// `MAILSTACK_SMTPD_MAX_USE`).
    pub fn start_with_env(env: &[(&str, &str)]) -> MailStack {
        let tmp = tempfile::tempdir().expect("tempdir for the mail stack");
        let dir = tmp.path().to_path_buf();
        let mut stack = Self::launch(&dir, env);
        stack._tmp = Some(tmp);
        stack.owned = true;
        stack
    }

    /// The stack shared by every test in this binary.
    pub fn shared() -> &'static MailStack {
        static SHARED: OnceLock<MailStack> = OnceLock::new();
        SHARED.get_or_init(|| {
            // Not a TempDir: statics are never dropped, so the watchdog that
            // stops the stack when this process exits also removes the dir.
            let dir =
                std::env::temp_dir().join(format!("handoff-mailstack-{}", std::process::id()));
            Self::launch(&dir, &[])
        })
    }

    fn launch(dir: &Path, env: &[(&str, &str)]) -> MailStack {
        let started = std::time::Instant::now();
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
        let env = std::fs::read_to_string(dir.join("env")).expect("mailstack env file");
        let env: HashMap<&str, &str> = env.lines().filter_map(|l| l.split_once('=')).collect();
        let get = |k: &str| {
            env.get(k)
                .unwrap_or_else(|| panic!("{k} missing from env"))
                .to_string()
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
            smtp_port: port("SMTP_PORT"),
            imap_port: port("IMAP_PORT"),
            imaps_port: port("IMAPS_PORT"),
            owner: account("OWNER_USER", "OWNER_PASSWORD"),
            contractor: account("CONTRACTOR_USER", "CONTRACTOR_PASSWORD"),
            stranger: account("STRANGER_USER", "STRANGER_PASSWORD"),
            tempfail: account("TEMPFAIL_USER", "TEMPFAIL_PASSWORD"),
            ca_cert: PathBuf::from(get("CA_CERT")),
            mail_dir: PathBuf::from(get("MAIL_DIR")),
            start_time,
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
            "mailstack {cmd} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn stop_imap(&self) {
        self.run("stop-imap");
    }
    pub fn start_imap(&self) {
        self.run("start-imap");
    }
    pub fn restart_imap(&self) {
        self.run("restart-imap");
    }
    pub fn stop_smtp(&self) {
        self.run("stop-smtp");
    }
    pub fn start_smtp(&self) {
        self.run("start-smtp");
    }
    pub fn restart_smtp(&self) {
        self.run("restart-smtp");
    }
    /// Waits until every mail Postfix accepted has been delivered (or bounced).
    pub fn settle(&self) {
        self.run("settle");
    }
    /// From the next SMTP connection on, tempfail@ is accepted.
    pub fn tempfail_off(&self) {
        self.run("tempfail-off");
    }
    pub fn tempfail_on(&self) {
        self.run("tempfail-on");
    }

    /// The raw messages in a mailbox, read straight from its Maildir (`folder`
    /// "INBOX" or a folder name such as "Sent").
    pub fn maildir_messages(&self, account: &Account, folder: &str) -> Vec<Vec<u8>> {
        let domain = account.user.split('@').nth(1).unwrap_or("example.test");
        let mut root = self
            .mail_dir
            .join(domain)
            .join(account.local_part())
            .join("Maildir");
        if folder != "INBOX" {
            root = root.join(format!(".{folder}"));
        }
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(root.join(sub)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|p| std::fs::read(p).ok())
            .collect()
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

/// A rustls client config that trusts exactly the stack's CA (verification on).
pub fn tls_config(ca_cert: &Path) -> std::sync::Arc<tokio_rustls::rustls::ClientConfig> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_cert).expect("read CA file") {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    std::sync::Arc::new(config)
}
