//! Getting one finished message to its recipient: SMTP submission through
//! lettre (pooled connections, TLS as configured, AUTH, timeouts), or in local
//! mode a `.eml` file in `<maildir>/outgoing/new`, written atomically (written
//! to `tmp/`, synced, renamed into place).

use crate::model::{Model, Outgoing, TlsMode};
use crate::store::OutboxMail;
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one SMTP exchange may take before it counts as a failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a send failed, as the retry logic needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Worth trying again later: a 4xx reply, a lost connection, a timeout.
    Temporary(String),
    /// Never going to work: a 5xx reply, an unusable address.
    Permanent(String),
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::Temporary(e) | SendFailure::Permanent(e) => f.write_str(e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("outgoing = \"smtp\" but the config has no [smtp] section")]
    NoSmtp,
    #[error("cannot read the SMTP password file: {0}")]
    Password(#[source] std::io::Error),
    #[error("cannot read the SMTP CA file {}: {detail}", path.display())]
    Ca { path: PathBuf, detail: String },
    #[error("SMTP TLS setup: {0}")]
    Tls(#[from] lettre::transport::smtp::Error),
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
        smtp: AsyncSmtpTransport<Tokio1Executor>,
        /// The envelope sender (the owner).
        from: Address,
    },
    Maildir {
        /// `<maildir>/outgoing`, holding `tmp/` and `new/`.
        dir: PathBuf,
    },
}

impl Transport {
    /// The transport the config asks for. The SMTP password is read here, once.
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
                let password = s.read_password().map_err(TransportError::Password)?;
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
                let params = params.build_rustls()?;
                let tls = match s.tls {
                    TlsMode::Tls => Tls::Wrapper(params),
                    TlsMode::Starttls => Tls::Required(params),
                    // Only reachable for loopback or with allow_plaintext: the
                    // config check refuses it otherwise.
                    TlsMode::None => Tls::None,
                };
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.as_str())
                    .port(s.port)
                    .tls(tls)
                    .credentials(Credentials::new(
                        s.username.clone(),
                        password.expose().to_string(),
                    ))
                    .timeout(Some(SMTP_TIMEOUT))
                    .pool_config(PoolConfig::new().max_size(4))
                    .build();
                Ok(Transport::Smtp {
                    smtp,
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
                smtp.send_raw(&envelope, &mail.message)
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        if e.is_permanent() {
                            SendFailure::Permanent(e.to_string())
                        } else {
                            // 4xx, and everything that is not a reply at all
                            // (connection refused, TLS, timeout): try later.
                            SendFailure::Temporary(e.to_string())
                        }
                    })
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
