//! The provider presets (`[mail] provider`) and the OAuth 2.0 providers'
//! endpoints (`[oauth] provider`), as data a reader can check against the
//! providers' own pages (the README's presets table names each source).
//!
//! A preset fills in what the owner would otherwise copy from the provider's
//! help page; every key written in `[imap]`, `[smtp]` or `[oauth]` still wins.

use crate::model::{OAuthProvider, TlsMode};

/// One server of a preset: host, port and how the connection is protected.
#[derive(Debug, Clone, Copy)]
pub(super) struct ServerPreset {
    pub host: &'static str,
    pub port: u16,
    pub tls: TlsMode,
}

/// What `[mail] provider = "…"` fills in.
#[derive(Debug, Clone, Copy)]
pub(super) struct MailPreset {
    pub name: &'static str,
    pub imap: ServerPreset,
    pub smtp: ServerPreset,
    /// The Sent mailbox's name over IMAP (English accounts for Gmail, which
    /// names it in the account's language).
    pub sent_mailbox: &'static str,
    /// Whether the provider files mail submitted over SMTP in Sent itself.
    pub server_files_sent: bool,
    /// Who issues the tokens, when the provider signs in with OAuth 2.0.
    pub oauth: Option<OAuthProvider>,
}

const fn server(host: &'static str, port: u16, tls: TlsMode) -> ServerPreset {
    ServerPreset { host, port, tls }
}

/// The presets, in the README's order.
pub(super) const MAIL_PRESETS: &[MailPreset] = &[
    MailPreset {
        name: "gmail",
        imap: server("imap.gmail.com", 993, TlsMode::Tls),
        smtp: server("smtp.gmail.com", 465, TlsMode::Tls),
        sent_mailbox: "[Gmail]/Sent Mail",
        server_files_sent: true,
        oauth: Some(OAuthProvider::Google),
    },
    MailPreset {
        name: "microsoft365",
        imap: server("outlook.office365.com", 993, TlsMode::Tls),
        smtp: server("smtp.office365.com", 587, TlsMode::Starttls),
        sent_mailbox: "Sent Items",
        server_files_sent: true,
        oauth: Some(OAuthProvider::Microsoft),
    },
    MailPreset {
        name: "outlook.com",
        imap: server("outlook.office365.com", 993, TlsMode::Tls),
        smtp: server("smtp-mail.outlook.com", 587, TlsMode::Starttls),
        sent_mailbox: "Sent Items",
        server_files_sent: true,
        oauth: Some(OAuthProvider::Microsoft),
    },
    MailPreset {
        name: "fastmail",
        imap: server("imap.fastmail.com", 993, TlsMode::Tls),
        smtp: server("smtp.fastmail.com", 465, TlsMode::Tls),
        sent_mailbox: "Sent",
        // Not documented by Fastmail: Handoff files its own copy (at worst
        // a second copy with the same Message-ID, never none).
        server_files_sent: false,
        oauth: None,
    },
    MailPreset {
        name: "icloud",
        imap: server("imap.mail.me.com", 993, TlsMode::Tls),
        smtp: server("smtp.mail.me.com", 587, TlsMode::Starttls),
        sent_mailbox: "Sent Messages",
        // Reports disagree and Apple does not say: Handoff files its own.
        server_files_sent: false,
        oauth: None,
    },
];

pub(super) fn mail_preset(name: &str) -> Option<&'static MailPreset> {
    MAIL_PRESETS.iter().find(|p| p.name == name)
}

/// A provider's endpoints and the scopes mail needs.
#[derive(Debug, Clone)]
pub(super) struct Endpoints {
    pub auth_url: String,
    pub token_url: String,
    pub device_url: Option<String>,
    pub scopes: Vec<String>,
}

/// Google: "Using OAuth 2.0 for Mobile & Desktop Apps" and "OAuth 2.0
/// Mechanism" (scope `https://mail.google.com/`). Google's device flow takes
/// only a short list of scopes, and mail is not among them: no device URL.
pub(super) fn google() -> Endpoints {
    Endpoints {
        auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
        token_url: "https://oauth2.googleapis.com/token".into(),
        device_url: None,
        scopes: vec!["https://mail.google.com/".into()],
    }
}

/// Microsoft identity platform v2.0 endpoints of `tenant` ("common",
/// "consumers", "organizations" or the tenant's id or domain), with the
/// scopes of "Authenticate an IMAP, POP or SMTP connection using OAuth".
pub(super) fn microsoft(tenant: &str) -> Endpoints {
    let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
    Endpoints {
        auth_url: format!("{base}/authorize"),
        token_url: format!("{base}/token"),
        device_url: Some(format!("{base}/devicecode")),
        scopes: vec![
            "https://outlook.office.com/IMAP.AccessAsUser.All".into(),
            "https://outlook.office.com/SMTP.Send".into(),
            "offline_access".into(),
        ],
    }
}
