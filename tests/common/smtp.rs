//! Sending through the stack's submission port: STARTTLS required, AUTH
//! (a password, or an OAuth 2.0 access token with XOAUTH2), the server
//! verified against the stack's CA.

use super::{Account, MailStack};
use lettre::address::Envelope;
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::response::Response;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub type Error = lettre::transport::smtp::Error;

/// A lettre transport to the submission port, logged in as `account`, TLS
/// required (STARTTLS) and verified against the stack's CA.
pub fn transport(stack: &MailStack, account: &Account) -> AsyncSmtpTransport<Tokio1Executor> {
    transport_with(stack, &account.user, &account.password)
}

/// [`transport`] with any user and password (e.g. a wrong one).
pub fn transport_with(
    stack: &MailStack,
    user: &str,
    password: &str,
) -> AsyncSmtpTransport<Tokio1Executor> {
    builder(stack)
        .credentials(Credentials::new(user.to_string(), password.to_string()))
        .build()
}

/// The submission port, STARTTLS required, the server verified against the
/// stack's CA; no credentials yet.
fn builder(stack: &MailStack) -> AsyncSmtpTransportBuilder {
    let pem = std::fs::read(&stack.ca_cert).expect("read CA");
    let tls = TlsParameters::builder("localhost".to_string())
        .add_root_certificate(Certificate::from_pem(&pem).expect("CA PEM"))
        .build_rustls()
        .expect("TLS parameters");
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(stack.host.as_str())
        .port(stack.smtp_port)
        .tls(Tls::Required(tls))
}

/// A lettre transport to the submission port that logs in as `user` with
/// an OAuth 2.0 access token (`AUTH XOAUTH2`), TLS as [`transport`].
///
/// lettre sends the token as the initial response and does not expect a
/// challenge: when the server refuses the token (a 334 carrying JSON before
/// the 535), lettre ends with a client error ("does not expect a
/// challenge"), not with the server's 535.
pub fn transport_xoauth2(
    stack: &MailStack,
    user: &str,
    token: &str,
) -> AsyncSmtpTransport<Tokio1Executor> {
    builder(stack)
        .credentials(Credentials::new(user.to_string(), token.to_string()))
        .authentication(vec![Mechanism::Xoauth2])
        .build()
}

/// A plain text mail.
pub fn message(from: &str, to: &str, subject: &str, body: &str) -> Message {
    Message::builder()
        .from(from.parse().expect("from address"))
        .to(to.parse().expect("to address"))
        .subject(subject)
        .body(body.to_string())
        .expect("message")
}

/// Sends a plain text mail from `account` to `to` (one connection, closed
/// after).
pub async fn send(
    stack: &MailStack,
    account: &Account,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<Response, Error> {
    send_message(stack, account, message(&account.user, to, subject, body)).await
}

/// Sends a lettre message as `account` (envelope from the message's headers).
pub async fn send_message(
    stack: &MailStack,
    account: &Account,
    message: Message,
) -> Result<Response, Error> {
    transport(stack, account).send(message).await
}

/// Sends raw RFC 5322 bytes as `account`, envelope from `account.user` to
/// `to`.
pub async fn send_raw(
    stack: &MailStack,
    account: &Account,
    to: &[&str],
    raw: &[u8],
) -> Result<Response, Error> {
    let from: Address = account.user.parse().expect("from address");
    let to: Vec<Address> = to.iter().map(|a| a.parse().expect("to address")).collect();
    let envelope = Envelope::new(Some(from), to).expect("envelope");
    transport(stack, account).send_raw(&envelope, raw).await
}
