//! A test's own IMAP client for the stack: STARTTLS or implicit TLS, always
//! verifying the server against the stack's CA (or a config the test gives);
//! LOGIN with a password, or AUTHENTICATE with an OAuth 2.0 bearer token
//! (XOAUTH2, OAUTHBEARER).

use super::{Account, MailStack, tls_config};
use futures::TryStreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConfig;

pub type Session = async_imap::Session<TlsStream<TcpStream>>;
/// Connected (TLS up), not logged in yet.
pub type Client = async_imap::Client<TlsStream<TcpStream>>;

fn server_name() -> rustls_pki_types::ServerName<'static> {
    rustls_pki_types::ServerName::try_from("localhost").expect("valid name")
}

/// Connects on the IMAP port and upgrades with STARTTLS (the server
/// verified against the stack's CA): a client ready to log in.
pub async fn connect_starttls(stack: &MailStack) -> Result<Client, String> {
    let tcp = TcpStream::connect((stack.host.as_str(), stack.imap_port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .map_err(|e| format!("greeting: {e}"))?
        .ok_or("no greeting")?;
    client
        .run_command_and_check_ok("STARTTLS", None)
        .await
        .map_err(|e| format!("STARTTLS: {e}"))?;
    let tcp = client.into_inner();
    let tls = TlsConnector::from(tls_config(&stack.ca_cert))
        .connect(server_name(), tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(async_imap::Client::new(tls))
}

/// Connects on the IMAPS port (TLS from the first byte) with the given TLS
/// config and reads the greeting: a client ready to log in.
pub async fn connect_tls(stack: &MailStack, config: Arc<ClientConfig>) -> Result<Client, String> {
    let tcp = TcpStream::connect((stack.host.as_str(), stack.imaps_port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let tls = TlsConnector::from(config)
        .connect(server_name(), tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let mut client = async_imap::Client::new(tls);
    client
        .read_response()
        .await
        .map_err(|e| format!("greeting: {e}"))?
        .ok_or("no greeting")?;
    Ok(client)
}

/// Connects on the IMAP port, upgrades with STARTTLS, logs in.
pub async fn login_starttls(stack: &MailStack, account: &Account) -> Result<Session, String> {
    let client = connect_starttls(stack).await?;
    client
        .login(&account.user, &account.password)
        .await
        .map_err(|(e, _)| format!("LOGIN: {e}"))
}

/// Connects on the IMAPS port (TLS from the first byte) trusting the stack's
/// CA, logs in.
pub async fn login_imaps(stack: &MailStack, account: &Account) -> Result<Session, String> {
    login_tls(stack, account, tls_config(&stack.ca_cert)).await
}

/// Connects on the IMAPS port with the given TLS config, logs in.
pub async fn login_tls(
    stack: &MailStack,
    account: &Account,
    config: Arc<ClientConfig>,
) -> Result<Session, String> {
    let client = connect_tls(stack, config).await?;
    client
        .login(&account.user, &account.password)
        .await
        .map_err(|(e, _)| format!("LOGIN: {e}"))
}

/// A SASL mechanism that carries an OAuth 2.0 bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer {
    /// Google's and Microsoft's `XOAUTH2`.
    XOAuth2,
    /// RFC 7628's `OAUTHBEARER`.
    OAuthBearer,
}

impl Bearer {
    pub fn name(self) -> &'static str {
        match self {
            Bearer::XOAuth2 => "XOAUTH2",
            Bearer::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The client's first message, before base64 (RFC 7628 section 3.1 for
    /// OAUTHBEARER; Google's XOAUTH2 format).
    pub fn initial_response(self, user: &str, token: &str, host: &str, port: u16) -> String {
        match self {
            Bearer::XOAuth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01"),
            Bearer::OAuthBearer => {
                format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01")
            }
        }
    }

    /// What the client must send back to an error challenge to end the
    /// exchange and get the server's NO / 535: an empty response for
    /// XOAUTH2, a single `0x01` for OAUTHBEARER (RFC 7628 section 3.2.3).
    /// A client that waits without answering waits forever.
    pub fn error_ack(self) -> &'static [u8] {
        match self {
            Bearer::XOAuth2 => b"",
            Bearer::OAuthBearer => b"\x01",
        }
    }
}

/// An async-imap [`async_imap::Authenticator`] for a bearer token: answers
/// the server's first (empty) challenge with the initial response, and an
/// error challenge (Dovecot's JSON) with [`Bearer::error_ack`], keeping
/// the JSON in `server_error` for the caller.
pub struct BearerAuthenticator {
    mechanism: Bearer,
    initial: String,
    sent: bool,
    pub server_error: Option<String>,
}

impl async_imap::Authenticator for &mut BearerAuthenticator {
    type Response = Vec<u8>;

    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        if !self.sent {
            self.sent = true;
            return self.initial.clone().into_bytes();
        }
        self.server_error = Some(String::from_utf8_lossy(challenge).into_owned());
        self.mechanism.error_ack().to_vec()
    }
}

/// `AUTHENTICATE` with a bearer token on a connected client; the error
/// names the server's JSON error challenge when there was one.
pub async fn authenticate(
    client: Client,
    mechanism: Bearer,
    user: &str,
    token: &str,
    port: u16,
) -> Result<Session, String> {
    let mut auth = BearerAuthenticator {
        mechanism,
        initial: mechanism.initial_response(user, token, "localhost", port),
        sent: false,
        server_error: None,
    };
    let result = client.authenticate(mechanism.name(), &mut auth).await;
    result.map_err(|(e, _)| match auth.server_error {
        Some(json) => format!(
            "AUTHENTICATE {}: {e} (after the error challenge {json})",
            mechanism.name()
        ),
        None => format!("AUTHENTICATE {}: {e}", mechanism.name()),
    })
}

/// STARTTLS, then `AUTHENTICATE` with a bearer token as `user`.
pub async fn authenticate_starttls(
    stack: &MailStack,
    mechanism: Bearer,
    user: &str,
    token: &str,
) -> Result<Session, String> {
    let client = connect_starttls(stack).await?;
    authenticate(client, mechanism, user, token, stack.imap_port).await
}

/// Implicit TLS, then `AUTHENTICATE` with a bearer token as `user`.
pub async fn authenticate_imaps(
    stack: &MailStack,
    mechanism: Bearer,
    user: &str,
    token: &str,
) -> Result<Session, String> {
    let client = connect_tls(stack, tls_config(&stack.ca_cert)).await?;
    authenticate(client, mechanism, user, token, stack.imaps_port).await
}

/// One mailbox of a LIST answer.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub name: String,
    /// Attributes as the server spelled them, e.g. `\Sent`, `\HasNoChildren`.
    pub attributes: Vec<String>,
}

/// Every mailbox of the account (`LIST "" "*"`).
pub async fn list_mailboxes(session: &mut Session) -> Vec<Mailbox> {
    let names: Vec<_> = session
        .list(Some(""), Some("*"))
        .await
        .expect("LIST")
        .try_collect()
        .await
        .expect("LIST answer");
    names
        .iter()
        .map(|n| Mailbox {
            name: n.name().to_string(),
            attributes: n.attributes().iter().map(attribute_name).collect(),
        })
        .collect()
}

/// The attribute as the server spelled it.
fn attribute_name(a: &async_imap::types::NameAttribute<'_>) -> String {
    use async_imap::types::NameAttribute as A;
    match a {
        A::NoInferiors => "\\NoInferiors".into(),
        A::NoSelect => "\\NoSelect".into(),
        A::Marked => "\\Marked".into(),
        A::Unmarked => "\\Unmarked".into(),
        A::All => "\\All".into(),
        A::Archive => "\\Archive".into(),
        A::Drafts => "\\Drafts".into(),
        A::Flagged => "\\Flagged".into(),
        A::Junk => "\\Junk".into(),
        A::Sent => "\\Sent".into(),
        A::Trash => "\\Trash".into(),
        A::Extension(s) => s.to_string(),
        other => format!("{other:?}"),
    }
}

/// Every message in `mailbox`, as raw RFC 5322 bytes, in UID order.
pub async fn fetch_all(session: &mut Session, mailbox: &str) -> Vec<Vec<u8>> {
    fetch_all_with_uids(session, mailbox)
        .await
        .into_iter()
        .map(|(_, body)| body)
        .collect()
}

/// Every message in `mailbox` with its UID, in UID order.
pub async fn fetch_all_with_uids(session: &mut Session, mailbox: &str) -> Vec<(u32, Vec<u8>)> {
    let mb = session
        .select(mailbox)
        .await
        .unwrap_or_else(|e| panic!("SELECT {mailbox}: {e}"));
    if mb.exists == 0 {
        return Vec::new();
    }
    let fetches: Vec<_> = session
        .fetch("1:*", "(UID BODY.PEEK[])")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH answer");
    let mut out: Vec<(u32, Vec<u8>)> = fetches
        .iter()
        .map(|f| (f.uid.unwrap_or(0), f.body().unwrap_or_default().to_vec()))
        .collect();
    out.sort_by_key(|(uid, _)| *uid);
    // Every calendar of Handoff's a test reads is read strictly.
    for (_, m) in &out {
        super::ical::check_mail(m);
    }
    out
}

/// Waits, with IDLE, until `mailbox` holds a message for which `pred` holds;
/// returns it, or `None` after `timeout`. (Dovecot tells an IDLE session of a
/// delivery about 0.5 s after it, batching its change notifications.)
pub async fn wait_for(
    session: Session,
    mailbox: &str,
    timeout: Duration,
    pred: impl Fn(&[u8]) -> bool,
) -> (Session, Option<Vec<u8>>) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut session = session;
    loop {
        // A fresh SELECT each round: a mail that arrived before IDLE started
        // is seen here, one that arrives after wakes the IDLE below.
        if let Some(m) = fetch_all(&mut session, mailbox)
            .await
            .into_iter()
            .find(|m| pred(m))
        {
            return (session, Some(m));
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return (session, None);
        }
        let mut idle = session.idle();
        idle.init().await.expect("IDLE");
        // Keep the StopSource alive for the whole wait: dropping it ends the
        // wait at once with ManualInterrupt.
        let (wait, _stop) = idle.wait_with_timeout(left);
        let _ = wait.await;
        session = idle.done().await.expect("DONE");
    }
}

/// Logs in with STARTTLS and waits (IDLE) for a message in `mailbox` of
/// `account` that contains `needle`; panics after `timeout`.
pub async fn wait_for_text(
    stack: &MailStack,
    account: &Account,
    mailbox: &str,
    needle: &str,
    timeout: Duration,
) -> Vec<u8> {
    let session = login_starttls(stack, account)
        .await
        .unwrap_or_else(|e| panic!("IMAP login as {}: {e}", account.user));
    let (mut session, got) =
        wait_for(session, mailbox, timeout, |m| super::contains(m, needle)).await;
    let _ = session.logout().await;
    got.unwrap_or_else(|| {
        panic!(
            "no message with {needle:?} in {}'s {mailbox} within {timeout:?}",
            account.user
        )
    })
}
