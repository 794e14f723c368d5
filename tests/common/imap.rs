//! A test's own IMAP client for the stack: STARTTLS or implicit TLS, always
//! verifying the server against the stack's CA.

use super::{Account, MailStack, tls_config};
use futures::TryStreamExt;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub type Session = async_imap::Session<TlsStream<TcpStream>>;

fn server_name() -> rustls_pki_types::ServerName<'static> {
    rustls_pki_types::ServerName::try_from("localhost").expect("valid name")
}

/// Connects on the IMAP port, upgrades with STARTTLS, logs in.
pub async fn login_starttls(stack: &MailStack, account: &Account) -> Result<Session, String> {
    let tcp = TcpStream::connect((stack.host.as_str(), stack.imap_port))
        .await
        .map_err(|e| e.to_string())?;
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no greeting")?;
    client
        .run_command_and_check_ok("STARTTLS", None)
        .await
        .map_err(|e| e.to_string())?;
    let tcp = client.into_inner();
    let tls = TlsConnector::from(tls_config(&stack.ca_cert))
        .connect(server_name(), tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let client = async_imap::Client::new(tls);
    client
        .login(&account.user, &account.password)
        .await
        .map_err(|(e, _)| e.to_string())
}

/// Connects on the IMAPS port (TLS from the first byte), logs in.
pub async fn login_tls(
    stack: &MailStack,
    account: &Account,
    config: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<Session, String> {
    let tcp = TcpStream::connect((stack.host.as_str(), stack.imaps_port))
        .await
        .map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(config)
        .connect(server_name(), tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let mut client = async_imap::Client::new(tls);
    client
        .read_response()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no greeting")?;
    client
        .login(&account.user, &account.password)
        .await
        .map_err(|(e, _)| e.to_string())
}

/// Every message in `mailbox`, as raw RFC 5322 bytes, in UID order.
pub async fn fetch_all(session: &mut Session, mailbox: &str) -> Vec<Vec<u8>> {
    let mb = session.select(mailbox).await.expect("select");
    if mb.exists == 0 {
        return Vec::new();
    }
    let fetches: Vec<_> = session
        .fetch("1:*", "(UID BODY.PEEK[])")
        .await
        .expect("fetch")
        .try_collect()
        .await
        .expect("fetch stream");
    let mut out: Vec<(u32, Vec<u8>)> = fetches
        .iter()
        .map(|f| (f.uid.unwrap_or(0), f.body().unwrap_or_default().to_vec()))
        .collect();
    out.sort_by_key(|(uid, _)| *uid);
    out.into_iter().map(|(_, b)| b).collect()
}

/// Waits, with IDLE, until `mailbox` holds a message for which `pred` holds;
/// returns it, or `None` after `timeout`.
pub async fn wait_for(
    session: Session,
    mailbox: &str,
    timeout: Duration,
    pred: impl Fn(&[u8]) -> bool,
) -> (Session, Option<Vec<u8>>) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut session = session;
    loop {
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
