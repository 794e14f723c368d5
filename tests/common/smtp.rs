//! Sending through the stack's submission port: STARTTLS required, AUTH,
//! the server verified against the stack's CA.

use super::{Account, MailStack};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::response::Response;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub fn transport(stack: &MailStack, account: &Account) -> AsyncSmtpTransport<Tokio1Executor> {
    let pem = std::fs::read(&stack.ca_cert).expect("read CA");
    let tls = TlsParameters::builder("localhost".to_string())
        .add_root_certificate(Certificate::from_pem(&pem).expect("CA PEM"))
        .build_rustls()
        .expect("TLS parameters");
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(stack.host.as_str())
        .port(stack.smtp_port)
        .tls(Tls::Required(tls))
        .credentials(Credentials::new(
            account.user.clone(),
            account.password.clone(),
        ))
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

pub async fn send(
    stack: &MailStack,
    account: &Account,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<Response, lettre::transport::smtp::Error> {
    transport(stack, account)
        .send(message(&account.user, to, subject, body))
        .await
}
