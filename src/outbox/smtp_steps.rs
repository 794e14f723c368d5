//! The steps of an SMTP session, each under its own bound
//! ([`crate::timeouts`]), and how a failed one counts: the greeting, STARTTLS
//! and AUTH of [`super::transport`]'s kept connection, and one mail
//! transaction (MAIL, RCPT, DATA, the content). lettre's own `send` runs the
//! same commands but aborts on any error with a QUIT it waits for without a
//! bound; here a failed step is only reported, and the caller drops the
//! connection.

use super::transport::SendFailure;
use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use std::time::Duration;

/// Why one SMTP step failed, before it is weighed as a [`SendFailure`].
#[derive(Debug)]
pub(super) enum StepError {
    /// The server answered with a refusal (4xx or 5xx).
    Refused { permanent: bool, text: String },
    /// Not a reply: a dropped connection, a TLS error, a garbled answer.
    Broken(String),
    /// No answer within the bound.
    Silent(String),
    /// Never going to work with this server (it lacks an extension the mail
    /// needs).
    Unusable(String),
}

impl StepError {
    pub(super) fn text(&self) -> &str {
        match self {
            StepError::Refused { text, .. }
            | StepError::Broken(text)
            | StepError::Silent(text)
            | StepError::Unusable(text) => text,
        }
    }
}

/// Runs one SMTP step with its bound.
pub(super) async fn timed<T>(
    what: &str,
    bound: Duration,
    f: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, StepError> {
    match tokio::time::timeout(bound, f).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) if e.is_permanent() || e.is_transient() => Err(StepError::Refused {
            permanent: e.is_permanent(),
            text: format!("{what}: {e}"),
        }),
        Ok(Err(e)) => Err(StepError::Broken(format!("{what}: {e}"))),
        Err(_) => Err(StepError::Silent(format!(
            "{what}: no answer within {:.1} s",
            bound.as_secs_f64()
        ))),
    }
}

/// How a failed step of setting up a session counts: before any mail is at
/// stake, silence means the server is not there.
pub(super) fn session_failure(e: StepError) -> SendFailure {
    match e {
        StepError::Refused {
            permanent: true,
            text,
        }
        | StepError::Unusable(text) => SendFailure::Permanent(text),
        StepError::Refused { text, .. } | StepError::Broken(text) => SendFailure::Temporary(text),
        StepError::Silent(text) => SendFailure::Unreachable(text),
    }
}

/// One mail transaction (RFC 5321 §3.3), each command under its own bound.
/// lettre's `send` runs the same commands, but on any error aborts with a
/// QUIT it waits for without a bound. The error says whether it came while
/// the content was on the wire (`true`).
pub(super) async fn transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), (StepError, bool)> {
    use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
    use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};
    let envelope_step = |e| (e, false);
    let step = crate::timeouts::step();
    let mut options = Vec::new();
    // As lettre decides: SMTPUTF8 for non-ASCII addresses (RFC 6531),
    // 8BITMIME for non-ASCII content (RFC 6152), refused if not offered.
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a: &Address| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(envelope_step(StepError::Unusable(
                "the envelope has non-ASCII addresses but the server does not offer SMTPUTF8"
                    .into(),
            )));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !message.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(envelope_step(StepError::Unusable(
                "the message is not ASCII but the server does not offer 8BITMIME".into(),
            )));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    timed(
        "MAIL FROM",
        step,
        conn.command(Mail::new(envelope.from().cloned(), options)),
    )
    .await
    .map_err(envelope_step)?;
    for to in envelope.to() {
        timed("RCPT TO", step, conn.command(Rcpt::new(to.clone(), vec![])))
            .await
            .map_err(envelope_step)?;
    }
    timed("DATA", step, conn.command(Data))
        .await
        .map_err(envelope_step)?;
    timed(
        "sending",
        crate::timeouts::data(message.len()),
        conn.message(message),
    )
    .await
    .map_err(|e| (e, true))?;
    Ok(())
}
