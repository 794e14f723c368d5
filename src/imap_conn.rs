//! Connecting and logging in to the owner's IMAP server, as the config says:
//! implicit TLS, STARTTLS, or (loopback or explicitly allowed) plain text.
//! Certificates are always verified, against the public roots plus the
//! config's `ca_file` if any. The outbox uses this to file copies in the Sent
//! folder; the inbox watcher will use it to watch for replies.
//!
//! It stands just above the model and the store and must not import the
//! outbox or the inbox that use it.

use crate::model::{ServerSettings, TlsMode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// Anything an IMAP session can run over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

pub type Session = async_imap::Session<Box<dyn Stream>>;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot reach {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS with {host}: {detail}")]
    Tls { host: String, detail: String },
    #[error("reading the CA file {path}: {detail}")]
    Ca { path: String, detail: String },
    #[error("cannot read the IMAP password file: {0}")]
    Password(#[source] std::io::Error),
    /// No credential to offer (no sign-in stored, or the provider refused
    /// to refresh it): nothing was sent to the IMAP server.
    #[error("IMAP: {0}")]
    SignIn(#[from] crate::oauth::SignInError),
    #[error("IMAP login as {user} refused: {detail}")]
    Login { user: String, detail: String },
    #[error("IMAP: {0}")]
    Protocol(#[from] async_imap::error::Error),
    #[error("IMAP server {host} did not answer within {after}")]
    Timeout { host: String, after: String },
}

/// A rustls client config trusting the public roots and `ca_file`.
pub fn tls_config(
    ca_file: Option<&std::path::Path>,
) -> Result<Arc<rustls::ClientConfig>, ImapError> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let ca_err = |detail: String| ImapError::Ca {
            path: path.display().to_string(),
            detail,
        };
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| ca_err(e.to_string()))? {
            let cert = cert.map_err(|e| ca_err(e.to_string()))?;
            roots.add(cert).map_err(|e| ca_err(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Tls {
            host: String::new(),
            detail: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Runs one IMAP step within [`crate::timeouts::step`]. On a timeout the
/// caller drops the session (no LOGOUT: a server that stopped answering
/// would not answer that either).
pub async fn timed<T, E: Into<ImapError>>(
    host: &str,
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(crate::timeouts::step(), f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(ImapError::Timeout {
            host: host.to_string(),
            after: crate::timeouts::shown(),
        }),
    }
}

/// Ends a session politely, within the bound: LOGOUT, or just the dropped
/// connection if the server does not answer in time.
pub async fn logout(host: &str, mut session: Session) {
    let _ = timed(host, session.logout()).await;
}

/// Connects, secures the connection as configured, and logs in: connect,
/// TLS, greeting and LOGIN each within the bound.
pub async fn login(settings: &ServerSettings) -> Result<Session, ImapError> {
    login_until(settings).await.map(|(session, _)| session)
}

/// [`login`], and when the session should end to sign in afresh (an OAuth
/// 2.0 access token's refresh point; `None` for a password).
pub async fn login_until(
    settings: &ServerSettings,
) -> Result<(Session, Option<chrono::DateTime<chrono::Utc>>), ImapError> {
    // The credential first: without one there is nothing to connect for.
    let sign_in = crate::oauth::SignIn::for_server(settings, "imap")?;
    let credential = sign_in.credential().await?;
    let renew_at = credential.renew_at();
    let host = settings.host.as_str();
    let tcp = timed(host, async {
        TcpStream::connect((settings.host.as_str(), settings.port))
            .await
            .map_err(|source| ImapError::Connect {
                host: settings.host.clone(),
                port: settings.port,
                source,
            })
    })
    .await?;
    let stream: Box<dyn Stream> = match settings.tls {
        TlsMode::Tls => Box::new(timed(host, tls(settings, tcp)).await?),
        TlsMode::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            timed(host, async {
                client
                    .read_response()
                    .await
                    .map_err(async_imap::error::Error::from)
            })
            .await?;
            timed(host, client.run_command_and_check_ok("STARTTLS", None)).await?;
            Box::new(timed(host, tls(settings, client.into_inner())).await?)
        }
        TlsMode::None => Box::new(tcp),
    };
    let mut client = async_imap::Client::new(stream);
    if settings.tls == TlsMode::Tls || settings.tls == TlsMode::None {
        // The greeting; after STARTTLS there is none (RFC 3501 §6.2.1).
        timed(host, async {
            client
                .read_response()
                .await
                .map_err(async_imap::error::Error::from)
        })
        .await?;
    }
    let session = timed(host, authenticate(client, &sign_in, &credential)).await?;
    Ok((session, renew_at))
}

/// The AUTH step: LOGIN with a password, or AUTHENTICATE XOAUTH2 with an
/// access token (answering the error continuation a refused token gets,
/// so the NO comes at once; the refused token is not offered again).
async fn authenticate(
    client: async_imap::Client<Box<dyn Stream>>,
    sign_in: &crate::oauth::SignIn,
    credential: &crate::oauth::Credential,
) -> Result<Session, ImapError> {
    use crate::oauth::{Credential, Xoauth2};
    match credential {
        Credential::Password { user, password } => client
            .login(user, password.expose())
            .await
            .map_err(|(e, _)| ImapError::Login {
                user: user.clone(),
                detail: e.to_string(),
            }),
        Credential::Bearer(b) => {
            let mut auth = Xoauth2 {
                user: &b.user,
                token: &b.token,
                answered: false,
                refused: false,
            };
            let result = client.authenticate("XOAUTH2", &mut auth).await;
            match result {
                Ok(session) => {
                    sign_in.accepted().await;
                    Ok(session)
                }
                Err((e, _)) => {
                    sign_in.refused(credential).await;
                    Err(ImapError::Login {
                        user: b.user.clone(),
                        detail: format!(
                            "{e}{}",
                            if auth.refused {
                                " (the access token was refused; a fresh one is tried next)"
                            } else {
                                ""
                            }
                        ),
                    })
                }
            }
        }
    }
}

async fn tls(
    settings: &ServerSettings,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let tls_err = |detail: String| ImapError::Tls {
        host: settings.host.clone(),
        detail,
    };
    let config = tls_config(settings.ca_file.as_deref())?;
    let name = ServerName::try_from(settings.host.clone()).map_err(|e| tls_err(e.to_string()))?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| tls_err(e.to_string()))
}

/// The IMAP keyword on a Sent copy filed before its mail went out; removed
/// once the SMTP server accepted it. See the outbox's module doc.
pub const PENDING: &str = "$HandoffPending";

/// What the Sent folder says about a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentCopy {
    /// No copy: the mail was not sent.
    Absent,
    /// Only copies still marked [`PENDING`] (their UIDs): filed, but the
    /// server's acceptance was never confirmed.
    Pending(Vec<u32>),
    /// A confirmed copy: the mail was sent.
    Confirmed,
}

/// Message-IDs we make are hex, '.', '_' and a domain; anything that would
/// need quoting is dropped rather than trusted.
fn quoted(message_id: &str) -> String {
    message_id
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n'))
        .collect()
}

/// Looks up a mail's copies in the (selected) Sent mailbox.
pub async fn sent_copy(session: &mut Session, message_id: &str) -> Result<SentCopy, ImapError> {
    let id = quoted(message_id);
    let all = session
        .uid_search(format!("HEADER Message-ID \"{id}\""))
        .await?;
    if all.is_empty() {
        return Ok(SentCopy::Absent);
    }
    let pending = session
        .uid_search(format!("KEYWORD {PENDING} HEADER Message-ID \"{id}\""))
        .await?;
    if all.len() > pending.len() {
        return Ok(SentCopy::Confirmed);
    }
    let mut uids: Vec<u32> = pending.into_iter().collect();
    uids.sort_unstable();
    Ok(SentCopy::Pending(uids))
}

/// Files `message` in the selected `mailbox` marked [`PENDING`]; returns its
/// UID.
pub async fn stage_sent_copy(
    session: &mut Session,
    mailbox: &str,
    message_id: &str,
    message: &[u8],
) -> Result<Option<u32>, ImapError> {
    session
        .append(mailbox, Some(&format!("(\\Seen {PENDING})")), None, message)
        .await?;
    let id = quoted(message_id);
    let found = session
        .uid_search(format!("KEYWORD {PENDING} HEADER Message-ID \"{id}\""))
        .await?;
    Ok(found.into_iter().max())
}

/// Files `message` in the selected `mailbox` as a plain sent copy (seen, no
/// pending mark): the mail already went out.
pub async fn file_sent_copy(
    session: &mut Session,
    mailbox: &str,
    message: &[u8],
) -> Result<(), ImapError> {
    session
        .append(mailbox, Some("(\\Seen)"), None, message)
        .await?;
    Ok(())
}

/// Confirms a staged copy: the mail went out.
pub async fn confirm_sent_copy(session: &mut Session, uid: u32) -> Result<(), ImapError> {
    use futures::TryStreamExt;
    let stream = session
        .uid_store(uid.to_string(), format!("-FLAGS.SILENT ({PENDING})"))
        .await?;
    let _: Vec<_> = stream.try_collect().await?;
    Ok(())
}

/// Removes staged copies of a mail that did not go out.
pub async fn discard_sent_copies(session: &mut Session, uids: &[u32]) -> Result<(), ImapError> {
    use futures::TryStreamExt;
    if uids.is_empty() {
        return Ok(());
    }
    let set: Vec<String> = uids.iter().map(u32::to_string).collect();
    let set = set.join(",");
    {
        let stream = session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?;
        let _: Vec<_> = stream.try_collect().await?;
    }
    let stream = session.uid_expunge(&set).await?;
    let _: Vec<_> = stream.try_collect().await?;
    Ok(())
}

/// Whether `mailbox` holds a message with this Message-ID header.
pub async fn has_message_id(
    session: &mut Session,
    mailbox: &str,
    message_id: &str,
) -> Result<bool, ImapError> {
    session.select(mailbox).await?;
    // Message-IDs we make are hex, '.', '_' and a domain: nothing that needs
    // quoting beyond the surrounding quotes.
    let safe: String = message_id
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n'))
        .collect();
    let found = session
        .uid_search(format!("HEADER Message-ID \"{safe}\""))
        .await?;
    Ok(!found.is_empty())
}
