//! A test's own IMAP client for the stack: STARTTLS or implicit TLS, always
//! verifying the server against the stack's CA (or a config the test gives).

use super::{Account, MailStack, tls_config};
use futures::TryStreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConfig;

pub type Session = async_imap::Session<TlsStream<TcpStream>>;

fn server_name() -> rustls_pki_types::ServerName<'static> {
    rustls_pki_types::ServerName::try_from("localhost").expect("valid name")
}

/// Connects on the IMAP port, upgrades with STARTTLS, logs in.
pub async fn login_starttls(stack: &MailStack, account: &Account) -> Result<Session, String> {
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
    let client = async_imap::Client::new(tls);
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
    client
        .login(&account.user, &account.password)
        .await
        .map_err(|(e, _)| format!("LOGIN: {e}"))
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
