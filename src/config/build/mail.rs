//! `[mail]`, `[smtp]` and `[imap]`: where mail goes out and comes in, and
//! how Handoff signs in (passwords only ever by file or systemd credential;
//! OAuth 2.0 through `[oauth]`, see `oauth.rs`).
//!
//! `[mail] provider` picks a preset (`presets.rs`): the servers, the Sent
//! mailbox and whether the provider files sent mail itself, the modes
//! (`smtp`, `imap`) and the username (the owner's address). With a preset
//! `[smtp]` and `[imap]` may be left out; any key written wins.

use super::oauth::{OAUTH_KEYS, OAuthContext, read_oauth, warn_if_not_signed_in};
use super::presets::{MAIL_PRESETS, MailPreset, ServerPreset, mail_preset};
use super::*;

const MAIL_KEYS: &[&str] = &[
    "provider",
    "outgoing",
    "incoming",
    "maildir",
    "state",
    "templates_dir",
];

const SMTP_KEYS: &[&str] = &[
    "host",
    "port",
    "tls",
    "username",
    "password_file",
    "password",
    "ca_file",
    "allow_plaintext",
    "auth",
    "oauth",
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
    "auth",
    "oauth",
    "mailbox",
    "sent_mailbox",
    "server_files_sent",
    "poll_every",
];

/// What every server section is read against: the config's directory, the
/// systemd credentials, the preset, the owner's address (the preset's
/// username) and the shared `[oauth]`.
struct Around<'a> {
    base: &'a Path,
    credentials: Option<&'a Path>,
    preset: Option<&'static MailPreset>,
    owner_email: Option<&'a str>,
    state_dir: PathBuf,
    /// `[oauth]`: `None` when absent, `Some(None)` when it had errors.
    shared_oauth: Option<Option<Arc<OAuthSettings>>>,
}

/// The mail settings, `[oauth]` and the `[smtp]` and `[imap]` sections,
/// checked against each other: a mode that needs a server section finds one
/// (or a preset that stands in for it). The outer `Option` of each server is
/// "had errors", the inner one "absent".
#[allow(clippy::type_complexity)]
pub(super) fn read_mail_sections(
    d: &mut Diagnostics<'_>,
    root: &mut Section<'_, '_>,
    base: &Path,
    credentials: Option<&Path>,
    owner_email: Option<&str>,
) -> (
    Option<MailSettings>,
    Option<Option<ServerSettings>>,
    Option<Option<ImapSettings>>,
) {
    let mail_section = root.table(d, "mail", MAIL_KEYS);
    let mail = read_mail(d, mail_section, base);
    let preset = mail.as_ref().and_then(|m| m.preset);
    let (uses_smtp, uses_imap) = mail.as_ref().map_or((false, false), |m| {
        (
            m.settings.outgoing == Outgoing::Smtp,
            m.settings.incoming == Incoming::Imap,
        )
    });
    let state_dir = mail
        .as_ref()
        .and_then(|m| m.settings.state.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| base.to_path_buf());
    let mut around = Around {
        base,
        credentials,
        preset,
        owner_email,
        state_dir,
        shared_oauth: None,
    };
    around.shared_oauth = root.table(d, "oauth", OAUTH_KEYS).map(|s| {
        let cx = around.oauth_context("oauth-token.json");
        read_oauth(d, s, &cx).map(Arc::new)
    });
    // With a preset, a mode that uses a server needs no section for it: an
    // empty one stands in, filled by the preset.
    let empty = DeTable::new();
    let stand_in = |used: bool, key: &str, keys: &'static [&'static str]| {
        (used && preset.is_some() && !root.has(key))
            .then(|| Section::new(&empty, 0..0, format!("[{key}]"), keys))
    };
    let smtp_stand_in = stand_in(uses_smtp, "smtp", SMTP_KEYS);
    let imap_stand_in = stand_in(uses_imap, "imap", IMAP_KEYS);
    let smtp_section = root.table(d, "smtp", SMTP_KEYS).or(smtp_stand_in);
    let smtp = smtp_section.map(|mut s| {
        let server = read_server(d, &mut s, "smtp", uses_smtp, &around);
        s.finish(d);
        server
    });
    let imap_section = root.table(d, "imap", IMAP_KEYS).or(imap_stand_in);
    let imap = imap_section.map(|mut s| {
        let server = read_server(d, &mut s, "imap", uses_imap, &around);
        // Mailbox names reach a notice's Subject (`notice_inbox_down`).
        let mut folder =
            |s: &mut Section<'_, '_>, key: &'static str, default: &str| match s.str(d, key) {
                None => Some(default.to_string()),
                Some(v) => check(d, &v, &format!("`{key}` in [imap]"), values::header_text)
                    .map(|_| v.get_ref().to_string()),
            };
        let mailbox = folder(&mut s, "mailbox", "INBOX");
        let sent_mailbox = folder(
            &mut s,
            "sent_mailbox",
            preset.map_or("Sent", |p| p.sent_mailbox),
        );
        let server_files_sent = s
            .bool(d, "server_files_sent")
            .map_or(preset.is_some_and(|p| p.server_files_sent), |v| {
                v.into_inner()
            });
        let poll_every = match s.str(d, "poll_every") {
            None => Some(TimeDelta::minutes(2)),
            Some(v) => check(d, &v, "`poll_every` in [imap]", values::period),
        };
        s.finish(d);
        Some(ImapSettings {
            server: server?,
            mailbox: mailbox?,
            sent_mailbox: sent_mailbox?,
            server_files_sent,
            poll_every: poll_every?,
        })
    });
    if let Some(m) = &mail {
        if uses_smtp && smtp.is_none() {
            d.error(
                m.outgoing_span.clone(),
                "outgoing = \"smtp\" but the config has no [smtp] section; expected an [smtp] section with host, port, tls and username (or [mail] provider = \"…\")",
            );
        }
        if uses_imap && imap.is_none() {
            d.error(
                m.incoming_span.clone(),
                "incoming = \"imap\" but the config has no [imap] section; expected an [imap] section with host, port, tls and username (or [mail] provider = \"…\")",
            );
        }
    }
    (mail.map(|m| m.settings), smtp, imap)
}

impl Around<'_> {
    fn oauth_context<'b>(&'b self, default_file: &'b str) -> OAuthContext<'b> {
        OAuthContext {
            base: self.base,
            state_dir: &self.state_dir,
            credentials: self.credentials,
            implied: self.preset.and_then(|p| p.oauth),
            default_file,
        }
    }
}

/// `[mail]` plus the spans later checks point at.
struct Mail {
    settings: MailSettings,
    preset: Option<&'static MailPreset>,
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
            preset: None,
            outgoing_span: 0..0,
            incoming_span: 0..0,
        });
    };
    let preset = s.str(d, "provider").and_then(|v| match mail_preset(v.get_ref()) {
        Some(p) => Some(p),
        None => {
            let names: Vec<String> = MAIL_PRESETS.iter().map(|p| format!("\"{}\"", p.name)).collect();
            d.error(
                v.span(),
                format!(
                    "`provider` in [mail] is \"{}\"; expected one of {} (or no provider, and the servers in [smtp] and [imap])",
                    v.get_ref().escape_debug(),
                    names.join(", ")
                ),
            );
            None
        }
    });
    // A provider means real mail: its servers are the default modes.
    let (default_out, default_in) = match preset {
        Some(_) => (Outgoing::Smtp, Incoming::Imap),
        None => (Outgoing::Maildir, Incoming::Maildir),
    };
    let outgoing_v = s.str(d, "outgoing");
    let outgoing = choice(
        d,
        outgoing_v.as_ref(),
        "outgoing",
        "[mail]",
        &[("smtp", Outgoing::Smtp), ("maildir", Outgoing::Maildir)],
        default_out,
    );
    let incoming_v = s.str(d, "incoming");
    let incoming = choice(
        d,
        incoming_v.as_ref(),
        "incoming",
        "[mail]",
        &[("imap", Incoming::Imap), ("maildir", Incoming::Maildir)],
        default_in,
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
        preset,
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
    around: &Around<'_>,
) -> Option<ServerSettings> {
    let (base, credentials) = (around.base, around.credentials);
    let preset: Option<ServerPreset> = around.preset.map(|p| match kind {
        "imap" => p.imap,
        _ => p.smtp,
    });
    let name = format!("[{kind}]");
    let host = match preset {
        Some(p) if !s.has("host") => Some(p.host.to_string()),
        _ => s
            .req_str(d, "host", "host = \"mail.example.com\"")
            .and_then(|v| checked_host(d, &v, &name)),
    };
    let tls_v = s.str(d, "tls");
    let default_tls = match (preset, kind) {
        (Some(p), _) => p.tls,
        (None, "imap") => TlsMode::Tls,
        (None, _) => TlsMode::Starttls,
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
        None => tls.map(|t| match (preset, kind, t) {
            // The preset's port goes with the preset's TLS mode only.
            (Some(p), _, t) if p.tls == t => p.port,
            (_, "imap", TlsMode::Tls) => 993,
            (_, "imap", _) => 143,
            (_, _, TlsMode::Tls) => 465,
            (_, _, TlsMode::Starttls) => 587,
            (_, _, TlsMode::None) => 25,
        }),
    };
    let username = match (preset, around.owner_email) {
        (Some(_), Some(owner)) if !s.has("username") => Some(owner.to_string()),
        _ => s
            .req_str(d, "username", "username = \"the account's login\"")
            .and_then(|v| {
                check(d, &v, &format!("`username` in {name}"), values::header_text)
                    .map(|_| v.get_ref().to_string())
            }),
    };
    let auth = read_auth(d, s, kind, used, around);
    let uses_password = used && matches!(auth, Some(ServerAuth::Password));
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
    if uses_password {
        match &password_file {
            None => d.error(
                s.span.clone(),
                format!("{name} has no `password_file` and there is no systemd credential `{kind}` ($CREDENTIALS_DIRECTORY is not set); expected password_file = \"/path/to/file\" (or auth = \"oauth2\" with an [oauth] section)"),
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
        auth: auth?,
    })
}

/// A host name or IP address as written.
fn checked_host(d: &mut Diagnostics<'_>, v: &Sp<&str>, name: &str) -> Option<String> {
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
}

/// `auth` and the section's own `oauth` table. The default is "oauth2" when
/// an `[oauth]` applies to the section, else "password".
fn read_auth(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    kind: &'static str,
    used: bool,
    around: &Around<'_>,
) -> Option<ServerAuth> {
    let name = format!("[{kind}]");
    let own = s.table(d, "oauth", OAUTH_KEYS).map(|mut t| {
        let file = format!("oauth-token-{kind}.json");
        t.rename(format!("[{kind}.oauth]"));
        read_oauth(d, t, &around.oauth_context(&file)).map(Arc::new)
    });
    let oauth = own.or_else(|| around.shared_oauth.clone());
    let auth_v = s.str(d, "auth");
    let default = if oauth.is_some() {
        "oauth2"
    } else {
        "password"
    };
    let word = auth_v.as_ref().map_or(default, |v| *v.get_ref());
    let span = auth_v.as_ref().map_or(s.span.clone(), |v| v.span());
    match word {
        "password" => Some(ServerAuth::Password),
        "oauth2" => match oauth {
            Some(Some(o)) => {
                if used {
                    warn_if_not_signed_in(d, span, &name, &o);
                }
                Some(ServerAuth::OAuth2(o))
            }
            // The [oauth] table had errors, reported there.
            Some(None) => None,
            None => {
                d.error(
                    span,
                    format!("auth = \"oauth2\" in {name} but the config has no [oauth] section; expected [oauth] with provider and client_id (see the README, \"Gmail and Microsoft 365\")"),
                );
                None
            }
        },
        other => {
            d.error(
                span,
                format!(
                    "`auth` in {name} is \"{}\"; expected \"password\" or \"oauth2\"",
                    other.escape_debug()
                ),
            );
            None
        }
    }
}

pub(super) fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
