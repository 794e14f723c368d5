//! Getting one finished message to its recipient: SMTP submission through
//! lettre's SMTP client (TLS as configured, AUTH, timeouts), or in local mode a
//! `.eml` file in `<maildir>/outgoing/new`, written atomically (written to
//! `tmp/`, synced, renamed into place). The SMTP session's steps, each
//! bounded, are in `smtp_steps`.
//!
//! # One kept connection, with TCP_NODELAY
//! The SMTP connection is opened on the first send and kept for every mail
//! after it (re-opened if it breaks), which is what a pool of one gives, but on
//! a socket we open ourselves: lettre's own transport leaves Nagle's algorithm
//! on, and its last small write of each message (the closing `.`) then waits
//! for the server's delayed ACK, 40 ms a mail on Linux. Measured here against
//! the loopback Postfix: 44 ms a mail with lettre's pooled transport, a few
//! milliseconds with `TCP_NODELAY` (see benches/results/outbox.txt).

use crate::model::ServerSettings;
use crate::model::{Model, Outgoing, TlsMode};
use crate::oauth::{Credential, SignIn};
use crate::store::OutboxMail;
use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::smtp_steps::{StepError, session_failure, timed, transaction};

/// Why a send failed, as the retry logic needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Worth trying again later: a 4xx reply, a lost connection, a timeout.
    Temporary(String),
    /// The server could not be reached at all (no TCP connection): nothing
    /// about this mail; try again as soon as the server is back.
    Unreachable(String),
    /// Never going to work: a 5xx reply, an unusable address.
    Permanent(String),
    /// Handoff could not sign in (no OAuth 2.0 sign-in, the provider refused
    /// to refresh it, the server refused the token): nothing about this
    /// mail, and no attempt of it; tried again at `retry_at`.
    SignIn {
        error: String,
        retry_at: chrono::DateTime<chrono::Utc>,
    },
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::Temporary(e)
            | SendFailure::Permanent(e)
            | SendFailure::Unreachable(e)
            | SendFailure::SignIn { error: e, .. } => f.write_str(e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("outgoing = \"smtp\" but the config has no [smtp] section")]
    NoSmtp,
    #[error("cannot read the SMTP password file: {0}")]
    Password(#[source] std::io::Error),
    #[error("SMTP: {0}")]
    SignIn(#[from] crate::oauth::SignInError),
    #[error("cannot read the SMTP CA file {}: {detail}", path.display())]
    Ca { path: PathBuf, detail: String },
    #[error("SMTP TLS setup: {0}")]
    Tls(#[from] lettre::transport::smtp::Error),
    #[error("SMTP TLS setup: {0}")]
    TlsConfig(#[from] crate::imap_conn::ImapError),
    #[error("cannot create {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where mail goes out.
pub enum Transport {
    Smtp {
        smtp: Box<SmtpClient>,
        /// The envelope sender (the owner).
        from: Address,
    },
    Maildir {
        /// `<maildir>/outgoing`, holding `tmp/` and `new/`.
        dir: PathBuf,
    },
}

impl Transport {
    /// The transport the config asks for. The SMTP password is read here,
    /// once; an OAuth 2.0 access token at each connect.
    pub fn from_model(model: &Model) -> Result<Transport, TransportError> {
        match model.mail.outgoing {
            Outgoing::Maildir => {
                let dir = model.mail.maildir.join("outgoing");
                for sub in ["tmp", "new"] {
                    let path = dir.join(sub);
                    create_private_dir(&path)
                        .map_err(|source| TransportError::Dir { path, source })?;
                }
                Ok(Transport::Maildir { dir })
            }
            Outgoing::Smtp => {
                let s = model.smtp.as_ref().ok_or(TransportError::NoSmtp)?;
                let sign_in = SignIn::for_server(s, "smtp")?;
                let mut params = TlsParameters::builder(s.host.clone());
                if let Some(ca) = &s.ca_file {
                    let pem = std::fs::read(ca).map_err(|e| TransportError::Ca {
                        path: ca.clone(),
                        detail: e.to_string(),
                    })?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| TransportError::Ca {
                        path: ca.clone(),
                        detail: e.to_string(),
                    })?;
                    params = params.add_root_certificate(cert);
                }
                let starttls = params.build_rustls()?;
                let implicit = match s.tls {
                    TlsMode::Tls => Some(crate::imap_conn::tls_config(s.ca_file.as_deref())?),
                    _ => None,
                };
                Ok(Transport::Smtp {
                    smtp: Box::new(SmtpClient {
                        settings: s.clone(),
                        sign_in,
                        renew_at: std::sync::Mutex::new(None),
                        starttls,
                        implicit,
                        hello: ClientId::Domain(model.owner.email.domain().to_string()),
                        conn: Mutex::new(None),
                        last_used: std::sync::Mutex::new(None),
                    }),
                    from: model.owner.email.clone(),
                })
            }
        }
    }

    /// Sends one mail.
    pub async fn send(&self, mail: &OutboxMail) -> Result<(), SendFailure> {
        match self {
            Transport::Smtp { smtp, from } => {
                let to: Address = mail.recipient.parse().map_err(|e| {
                    SendFailure::Permanent(format!("recipient {:?}: {e}", mail.recipient))
                })?;
                let envelope = Envelope::new(Some(from.clone()), vec![to])
                    .map_err(|e| SendFailure::Permanent(e.to_string()))?;
                smtp.send(&envelope, &mail.message).await
            }
            Transport::Maildir { dir } => write_eml(dir, mail)
                .map_err(|e| SendFailure::Temporary(format!("writing to {}: {e}", dir.display()))),
        }
    }

    /// In local mode, whether this mail already reached `new/` (a crash after
    /// the rename but before the store heard of it). `None`: cannot tell here.
    pub fn already_delivered(&self, mail: &OutboxMail) -> Option<bool> {
        match self {
            Transport::Maildir { dir } => Some(dir.join("new").join(eml_name(mail)).is_file()),
            Transport::Smtp { .. } => None,
        }
    }
}

/// A kept SMTP connection idle for longer than this is checked with a NOOP
/// before it carries a mail; within a burst of mail it is not (one round
/// trip a mail saved).
const IDLE_CHECK_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// An SMTP client that keeps one connection open across sends.
///
/// Every await on the server is bounded by [`crate::timeouts::step`] (the
/// message content by [`crate::timeouts::data`]): connect, TLS, greeting,
/// STARTTLS, AUTH, NOOP, MAIL, RCPT, DATA. After a failure the connection is
/// dropped, never closed with QUIT: lettre's `abort()` sends QUIT and waits
/// for the answer without a bound, and a server that stopped answering
/// (SIGSTOP, a wedged process) would hold the whole work loop for as long
/// as it hangs.
pub struct SmtpClient {
    settings: ServerSettings,
    /// How this account signs in (see [`crate::oauth::SignIn`]).
    sign_in: SignIn,
    /// When the kept connection's sign-in should be renewed (an access
    /// token's refresh point): it is not reused past it.
    renew_at: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// For STARTTLS (lettre upgrades the stream itself).
    starttls: TlsParameters,
    /// For implicit TLS (we wrap the socket before lettre sees it).
    implicit: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
    hello: ClientId,
    conn: Mutex<Option<AsyncSmtpConnection>>,
    /// When the kept connection last carried a mail.
    last_used: std::sync::Mutex<Option<std::time::Instant>>,
}

impl SmtpClient {
    async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendFailure> {
        let mut slot = self.conn.lock().await;
        // A kept connection may have been closed by the server meanwhile
        // (Postfix drops idle clients after smtpd_timeout, a restart drops
        // everyone). A NOOP finds out before the mail is at stake, so a
        // failure below is about this mail, not a stale socket.
        let idle = self
            .last_used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none_or(|t| t.elapsed() > IDLE_CHECK_AFTER);
        if idle
            && let Some(c) = slot.as_mut()
            && !c.has_broken()
            && !tokio::time::timeout(crate::timeouts::step(), c.test_connected())
                .await
                .unwrap_or(false)
        {
            // Dropped, not QUIT: see the type's doc.
            *slot = None;
        }
        // Past its access token's refresh point the kept connection is not
        // reused: a server may end a session whose token expired. Dropped,
        // not QUIT (see the type's doc).
        let stale_token = self
            .renew_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| chrono::Utc::now() >= at);
        if stale_token || slot.as_ref().is_some_and(AsyncSmtpConnection::has_broken) {
            *slot = None;
        }
        let reused = slot.is_some();
        if !reused {
            *slot = Some(self.connect().await?);
        }
        let Some(conn) = slot.as_mut() else {
            return Err(SendFailure::Temporary("no SMTP connection".into()));
        };
        let result = transaction(conn, envelope, message)
            .await
            .map_err(|(e, content)| match e {
                StepError::Refused {
                    permanent: true,
                    text,
                }
                | StepError::Unusable(text) => SendFailure::Permanent(text),
                StepError::Refused { text, .. } => SendFailure::Temporary(text),
                // Not a reply but a broken kept connection (the server went
                // away since the last mail): nothing about this mail; the
                // next pass connects afresh within seconds.
                StepError::Broken(text) if reused && !content => {
                    SendFailure::Unreachable(format!("on the kept connection: {text}"))
                }
                StepError::Broken(text) => SendFailure::Temporary(text),
                // Silence before the content: nothing of the mail was taken,
                // the server is not answering. During the content: it may
                // have taken the mail, so this counts as an attempt.
                StepError::Silent(text) if !content => SendFailure::Unreachable(text),
                StepError::Silent(text) => SendFailure::Temporary(text),
            });
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::time::Instant::now());
        if result.is_err() {
            // After a refusal the session is in an unknown state; after a
            // timeout the server may never answer again. Either way the
            // connection is dropped (no QUIT: see the type's doc) and the
            // next mail starts afresh.
            *slot = None;
        }
        result
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendFailure> {
        let s = &self.settings;
        // The credential first: without one there is nothing to connect for.
        let credential = self
            .sign_in
            .credential()
            .await
            .map_err(|e| sign_in_failure(e.to_string(), e.retry_at()))?;
        let step = crate::timeouts::step();
        let tcp = tokio::time::timeout(step, TcpStream::connect((s.host.as_str(), s.port)))
            .await
            .map_err(|_| {
                SendFailure::Unreachable(format!(
                    "connecting to {}:{}: no answer within {}",
                    s.host,
                    s.port,
                    crate::timeouts::shown()
                ))
            })?
            .map_err(|e| {
                SendFailure::Unreachable(format!("connecting to {}:{}: {e}", s.host, s.port))
            })?;
        // See the module doc: without this, every mail waits 40 ms.
        tcp.set_nodelay(true)
            .map_err(|e| SendFailure::Temporary(format!("TCP_NODELAY: {e}")))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.implicit {
            Some(config) => {
                let name = rustls_pki_types::ServerName::try_from(s.host.clone())
                    .map_err(|e| SendFailure::Permanent(format!("server name {}: {e}", s.host)))?;
                let tls = tokio::time::timeout(
                    step,
                    tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp),
                )
                .await
                .map_err(|_| {
                    SendFailure::Unreachable(format!(
                        "TLS with {}: no answer within {}",
                        s.host,
                        crate::timeouts::shown()
                    ))
                })?
                .map_err(|e| SendFailure::Temporary(format!("TLS with {}: {e}", s.host)))?;
                Box::new(TlsSocket(tls))
            }
            None => Box::new(tcp),
        };
        // The greeting and EHLO.
        let mut conn = timed(
            "greeting",
            step,
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello),
        )
        .await
        .map_err(session_failure)?;
        if s.tls == TlsMode::Starttls {
            timed(
                "STARTTLS",
                step,
                conn.starttls(self.starttls.clone(), &self.hello),
            )
            .await
            .map_err(session_failure)?;
        }
        self.authenticate(&mut conn, &credential).await?;
        *self.renew_at.lock().unwrap_or_else(|e| e.into_inner()) = credential.renew_at();
        Ok(conn)
    }

    /// The AUTH step: PLAIN or LOGIN with the password, XOAUTH2 with an
    /// access token. A refused token is not offered again; the mail waits
    /// for a fresh one instead of counting an attempt.
    async fn authenticate(
        &self,
        conn: &mut AsyncSmtpConnection,
        credential: &Credential,
    ) -> Result<(), SendFailure> {
        let (mechanisms, credentials) = match credential {
            Credential::Password { user, password } => (
                &[Mechanism::Plain, Mechanism::Login][..],
                Credentials::new(user.clone(), password.expose().to_string()),
            ),
            Credential::Bearer(b) => (
                &[Mechanism::Xoauth2][..],
                Credentials::new(b.user.clone(), b.token.expose().to_string()),
            ),
        };
        let result = timed(
            "AUTH",
            crate::timeouts::step(),
            conn.auth(mechanisms, &credentials),
        )
        .await;
        match (result, credential) {
            (Ok(_), _) => {
                self.sign_in.accepted().await;
                Ok(())
            }
            // No answer says nothing about the token: the server is not
            // there (and the token stays in use).
            (Err(e @ StepError::Silent(_)), _) | (Err(e), Credential::Password { .. }) => {
                Err(session_failure(e))
            }
            // lettre does not answer the JSON continuation of a refused
            // token; it ends with a client error ("does not expect a
            // challenge"), neither a 5xx nor a 4xx: the token was refused.
            (Err(e), Credential::Bearer(_)) => {
                self.sign_in.refused(credential).await;
                Err(sign_in_failure(
                    format!(
                        "{} (the access token was refused; a fresh one is tried next)",
                        e.text()
                    ),
                    None,
                ))
            }
        }
    }
}

/// How soon a mail waiting for a sign-in is looked at again at the latest:
/// a local check (the token file, the source's backoff), no request.
pub const SIGN_IN_RECHECK: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

fn sign_in_failure(error: String, retry_at: Option<chrono::DateTime<chrono::Utc>>) -> SendFailure {
    let now = chrono::Utc::now();
    SendFailure::SignIn {
        error,
        retry_at: retry_at
            .unwrap_or(now + chrono::TimeDelta::seconds(5))
            .clamp(now + chrono::TimeDelta::seconds(1), now + SIGN_IN_RECHECK),
    }
}

/// A TLS socket lettre can drive (it accepts boxed streams of its own trait).
#[derive(Debug)]
struct TlsSocket(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsSocket {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// The file name of a mail in the outgoing Maildir: from its Message-ID, so
/// it is the same on every attempt.
fn eml_name(mail: &OutboxMail) -> String {
    let safe: String = mail
        .message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
        .collect();
    format!("{:06}-{safe}.eml", mail.id)
}

fn write_eml(dir: &Path, mail: &OutboxMail) -> std::io::Result<()> {
    let name = eml_name(mail);
    let tmp = dir.join("tmp").join(&name);
    let new = dir.join("new").join(&name);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(&mail.message)?;
    // On disk before it becomes visible: a reader never sees half a mail, and
    // a crash never leaves an empty one in new/.
    f.sync_all()?;
    std::fs::rename(&tmp, &new)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}
