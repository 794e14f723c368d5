//! `[mail]`, `[smtp]` and `[imap]`: where mail goes out and comes in, and
//! how Handoff signs in (passwords only ever by file or systemd credential).

use super::*;

const MAIL_KEYS: &[&str] = &["outgoing", "incoming", "maildir", "state", "templates_dir"];

const SMTP_KEYS: &[&str] = &[
    "host",
    "port",
    "tls",
    "username",
    "password_file",
    "password",
    "ca_file",
    "allow_plaintext",
];

const IMAP_KEYS: &[&str] = &[
    "host",
    "port",
    "tls",
    "username",
    "password_file",
    "password",
    "ca_file",
    "allow_plaintext",
    "mailbox",
    "sent_mailbox",
    "poll_every",
];

/// The mail settings and the `[smtp]` and `[imap]` sections, checked against
/// each other: a mode that needs a server section finds one. The outer
/// `Option` of each server is "had errors", the inner one "absent".
#[allow(clippy::type_complexity)]
pub(super) fn read_mail_sections(
    d: &mut Diagnostics<'_>,
    root: &mut Section<'_, '_>,
    base: &Path,
    credentials: Option<&Path>,
) -> (
    Option<MailSettings>,
    Option<Option<ServerSettings>>,
    Option<Option<ImapSettings>>,
) {
    let mail_section = root.table(d, "mail", MAIL_KEYS);
    let mail = read_mail(d, mail_section, base);
    let (uses_smtp, uses_imap) = mail.as_ref().map_or((false, false), |m| {
        (
            m.settings.outgoing == Outgoing::Smtp,
            m.settings.incoming == Incoming::Imap,
        )
    });
    let smtp_section = root.table(d, "smtp", SMTP_KEYS);
    let smtp = smtp_section.map(|mut s| {
        let server = read_server(d, &mut s, "smtp", uses_smtp, base, credentials);
        s.finish(d);
        server
    });
    let imap_section = root.table(d, "imap", IMAP_KEYS);
    let imap = imap_section.map(|mut s| {
        let server = read_server(d, &mut s, "imap", uses_imap, base, credentials);
        // Mailbox names reach a notice's Subject (`notice_inbox_down`).
        let mut folder =
            |s: &mut Section<'_, '_>, key: &'static str, default: &str| match s.str(d, key) {
                None => Some(default.to_string()),
                Some(v) => check(d, &v, &format!("`{key}` in [imap]"), values::header_text)
                    .map(|_| v.get_ref().to_string()),
            };
        let mailbox = folder(&mut s, "mailbox", "INBOX");
        let sent_mailbox = folder(&mut s, "sent_mailbox", "Sent");
        let poll_every = match s.str(d, "poll_every") {
            None => Some(TimeDelta::minutes(2)),
            Some(v) => check(d, &v, "`poll_every` in [imap]", values::period),
        };
        s.finish(d);
        Some(ImapSettings {
            server: server?,
            mailbox: mailbox?,
            sent_mailbox: sent_mailbox?,
            poll_every: poll_every?,
        })
    });
    if let Some(m) = &mail {
        if uses_smtp && smtp.is_none() {
            d.error(
                m.outgoing_span.clone(),
                "outgoing = \"smtp\" but the config has no [smtp] section; expected an [smtp] section with host, port, tls and username",
            );
        }
        if uses_imap && imap.is_none() {
            d.error(
                m.incoming_span.clone(),
                "incoming = \"imap\" but the config has no [imap] section; expected an [imap] section with host, port, tls and username",
            );
        }
    }
    (mail.map(|m| m.settings), smtp, imap)
}

/// `[mail]` plus the spans later checks point at.
struct Mail {
    settings: MailSettings,
    outgoing_span: std::ops::Range<usize>,
    incoming_span: std::ops::Range<usize>,
}

fn read_mail(d: &mut Diagnostics<'_>, s: Option<Section<'_, '_>>, base: &Path) -> Option<Mail> {
    let default = |rel: &str| resolve(base, rel);
    let Some(mut s) = s else {
        return Some(Mail {
            settings: MailSettings {
                outgoing: Outgoing::Maildir,
                incoming: Incoming::Maildir,
                maildir: default("var/mail"),
                state: default("var/handoff.db"),
                templates_dir: None,
            },
            outgoing_span: 0..0,
            incoming_span: 0..0,
        });
    };
    let outgoing_v = s.str(d, "outgoing");
    let outgoing = choice(
        d,
        outgoing_v.as_ref(),
        "outgoing",
        "[mail]",
        &[("smtp", Outgoing::Smtp), ("maildir", Outgoing::Maildir)],
        Outgoing::Maildir,
    );
    let incoming_v = s.str(d, "incoming");
    let incoming = choice(
        d,
        incoming_v.as_ref(),
        "incoming",
        "[mail]",
        &[("imap", Incoming::Imap), ("maildir", Incoming::Maildir)],
        Incoming::Maildir,
    );
    let maildir = s
        .str(d, "maildir")
        .map_or_else(|| default("var/mail"), |v| resolve(base, v.get_ref()));
    let state = s
        .str(d, "state")
        .map_or_else(|| default("var/handoff.db"), |v| resolve(base, v.get_ref()));
    let templates_dir = s.str(d, "templates_dir").map(|v| {
        let p = resolve(base, v.get_ref());
        if !p.is_dir() {
            d.error(v.span(), format!("the templates directory {} does not exist; expected a directory holding your versions of files from templates/", p.display()));
        }
        p
    });
    let spans = (
        outgoing_v.map_or(s.span.clone(), |v| v.span()),
        incoming_v.map_or(s.span.clone(), |v| v.span()),
    );
    s.finish(d);
    Some(Mail {
        settings: MailSettings {
            outgoing: outgoing?,
            incoming: incoming?,
            maildir,
            state,
            templates_dir,
        },
        outgoing_span: spans.0,
        incoming_span: spans.1,
    })
}

/// Reads the keys `[smtp]` and `[imap]` share. A section that is present is
/// checked whole even when the mode does not use it (an `[smtp]` written for
/// later is validated today); only its files need not exist until it is used.
fn read_server(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    kind: &'static str,
    used: bool,
    base: &Path,
    credentials: Option<&Path>,
) -> Option<ServerSettings> {
    let name = format!("[{kind}]");
    let host = s.req_str(d, "host", "host = \"mail.example.com\"");
    let host = host.and_then(|v| {
        let h = v.get_ref().trim();
        let ok = !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if ok {
            Some(h.to_string())
        } else {
            d.error(
                v.span(),
                format!(
                    "`host` in {name} is \"{}\"; expected a host name or IP address",
                    v.get_ref().escape_debug()
                ),
            );
            None
        }
    });
    let tls_v = s.str(d, "tls");
    let default_tls = if kind == "imap" {
        TlsMode::Tls
    } else {
        TlsMode::Starttls
    };
    let tls = choice(
        d,
        tls_v.as_ref(),
        "tls",
        &name,
        &[
            ("tls", TlsMode::Tls),
            ("starttls", TlsMode::Starttls),
            ("none", TlsMode::None),
        ],
        default_tls,
    );
    let port = match s.integer(d, "port") {
        Some(v) => match u16::try_from(*v.get_ref()) {
            Ok(p) if p > 0 => Some(p),
            _ => {
                d.error(
                    v.span(),
                    format!(
                        "`port` in {name} is {}; expected a port number from 1 to 65535",
                        v.get_ref()
                    ),
                );
                None
            }
        },
        None => tls.map(|t| match (kind, t) {
            ("imap", TlsMode::Tls) => 993,
            ("imap", _) => 143,
            (_, TlsMode::Tls) => 465,
            (_, TlsMode::Starttls) => 587,
            (_, TlsMode::None) => 25,
        }),
    };
    let username = s.req_str(d, "username", "username = \"the account's login\"");
    let username = username.and_then(|v| {
        check(d, &v, &format!("`username` in {name}"), values::header_text)
            .map(|_| v.get_ref().to_string())
    });
    if let Some(span) = s.value_span("password") {
        // Read it (so it is not also reported as unknown) but never echo it.
        let _ = s.str(d, "password");
        d.error(
            span,
            format!(
                "a password must not stand in the config (it is world-readable); expected password_file = \"/path/to/file\" or the systemd credential `{kind}`"
            ),
        );
    }
    let password_file_v = s.str(d, "password_file");
    let password_file = match &password_file_v {
        Some(v) => Some(resolve(base, v.get_ref())),
        None => credentials.map(|c| c.join(kind)),
    };
    if used {
        match &password_file {
            None => d.error(
                s.span.clone(),
                format!("{name} has no `password_file` and there is no systemd credential `{kind}` ($CREDENTIALS_DIRECTORY is not set); expected password_file = \"/path/to/file\""),
            ),
            Some(p) => {
                if let Err(e) = std::fs::File::open(p) {
                    d.error(
                        password_file_v.as_ref().map_or(s.span.clone(), |v| v.span()),
                        format!("the password file {} for {name} cannot be read ({e}); expected a readable file holding the password", p.display()),
                    );
                }
            }
        }
    }
    let ca_file = s.str(d, "ca_file").map(|v| {
        let p = resolve(base, v.get_ref());
        if used && !p.is_file() {
            d.error(v.span(), format!("the CA file {} for {name} does not exist; expected a PEM file with the CA certificate", p.display()));
        }
        p
    });
    let allow_plaintext = s.bool(d, "allow_plaintext").is_some_and(|v| v.into_inner());
    if let (Some(TlsMode::None), Some(h)) = (tls, &host)
        && !is_loopback(h)
        && !allow_plaintext
    {
        d.error(
            tls_v.as_ref().map_or(s.span.clone(), |v| v.span()),
            format!("tls = \"none\" in {name} would send the password in clear text to {h}; expected \"tls\" or \"starttls\" (or allow_plaintext = true beside it, if you must)"),
        );
    }
    Some(ServerSettings {
        host: host?,
        port: port?,
        tls: tls?,
        username: username?,
        password_file,
        ca_file,
        allow_plaintext,
    })
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
