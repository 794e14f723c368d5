//! Builds the [`Model`] from the spanned document, one section at a time.
//!
//! Each `read_*` function reads every key of its section (so all problems are
//! reported), returns `None` when something it needs was wrong, and finishes the
//! section so unknown keys are caught.

use super::diag::Diagnostics;
use super::reader::{Section, Sp};
use super::values::{self, When};
use crate::model::*;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use toml::de::DeTable;

const ROOT_KEYS: &[&str] = &[
    "owner",
    "mail",
    "smtp",
    "imap",
    "policy",
    "log",
    "contractor",
    "engagement",
];
const OWNER_KEYS: &[&str] = &["name", "email", "timezone"];
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
const POLICY_KEYS: &[&str] = &[
    "quiet_hours",
    "max_reminders_per_day",
    "silence_alert_after",
    "escalate_after",
    "payment_followup_after",
    "answer_within",
    "digest",
    "catch_up_horizon",
    "owner_notices",
];
const LOG_KEYS: &[&str] = &["level"];
const CONTRACTOR_KEYS: &[&str] = &["id", "name", "email", "timezone"];
const ENGAGEMENT_KEYS: &[&str] = &[
    "id",
    "contractor",
    "title",
    "agreement_signed",
    "agreement_file",
    "starts",
    "kickoff",
    "deliverables",
    "quality_standard",
    "performance_standard",
    "payment_terms",
    "status_reports",
    "evaluation",
    "recheck_after_delivery",
    "recheck_every",
    "payment",
    "budget",
    "attachments",
    "milestone",
];
const MILESTONE_KEYS: &[&str] = &["id", "title", "due", "remind_before", "attachments"];

/// Evaluations default to once a year, on 10 January at 10:00 in the owner's zone.
const DEFAULT_EVALUATION: &str = "0 10 10 1 *";
/// Attachments above this size in all get a warning: many servers refuse them.
const ATTACHMENT_WARN_BYTES: u64 = 10 * 1024 * 1024;

pub(super) fn build(
    d: &mut Diagnostics<'_>,
    doc: &DeTable<'_>,
    base: &Path,
    credentials: Option<&Path>,
) -> Option<Model> {
    let mut root = Section::new(doc, 0..0, "the config", ROOT_KEYS);
    let owner = match root.table(d, "owner", OWNER_KEYS) {
        Some(s) => read_owner(d, s),
        None => {
            if !root.has("owner") {
                d.error(0..0, "the config has no [owner] section; expected [owner] with name, email and timezone");
            }
            None
        }
    };
    let owner_tz = owner
        .as_ref()
        .map_or(chrono_tz::UTC, |o: &Owner| o.timezone);

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
        let mailbox = s
            .str(d, "mailbox")
            .map_or("INBOX".to_string(), |v| v.into_inner().to_string());
        let sent_mailbox = s
            .str(d, "sent_mailbox")
            .map_or("Sent".to_string(), |v| v.into_inner().to_string());
        let poll_every = match s.str(d, "poll_every") {
            None => Some(TimeDelta::minutes(2)),
            Some(v) => check(d, &v, "`poll_every` in [imap]", values::period),
        };
        s.finish(d);
        server
            .zip(poll_every)
            .map(|(server, poll_every)| ImapSettings {
                server,
                mailbox,
                sent_mailbox,
                poll_every,
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
    let policy_section = root.table(d, "policy", POLICY_KEYS);
    let policy = read_policy(d, policy_section, owner_tz);
    let log_section = root.table(d, "log", LOG_KEYS);
    let log = read_log(d, log_section);

    let contractor_sections = root.tables(d, "contractor", CONTRACTOR_KEYS);
    let (contractors, contractor_ids) = read_contractors(d, contractor_sections, owner_tz);
    let engagement_sections = root.tables(d, "engagement", ENGAGEMENT_KEYS);
    let known = Known {
        contractors: &contractors,
        contractor_ids: &contractor_ids,
        owner_tz,
        base,
    };
    let engagements = read_engagements(d, engagement_sections, &known);
    root.finish(d);

    let contractors: Option<Vec<Contractor>> = contractors.into_iter().collect();
    Some(Model {
        owner: owner?,
        mail: mail?.settings,
        smtp: smtp.flatten(),
        imap: imap.flatten(),
        policy: policy?,
        log: log?,
        contractors: contractors?,
        engagements: engagements?,
    })
}

/// A key whose value is one of a few words (`default` when absent); any other
/// word is reported with the list of the allowed ones.
fn choice<T: Copy>(
    d: &mut Diagnostics<'_>,
    v: Option<&Sp<&str>>,
    key: &str,
    section: &str,
    options: &[(&str, T)],
    default: T,
) -> Option<T> {
    let Some(v) = v else {
        return Some(default);
    };
    if let Some((_, t)) = options.iter().find(|(word, _)| word == v.get_ref()) {
        return Some(*t);
    }
    let quoted: Vec<String> = options.iter().map(|(w, _)| format!("\"{w}\"")).collect();
    let expected = match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    };
    d.error(
        v.span(),
        format!(
            "`{key}` in {section} is \"{}\"; expected {expected}",
            v.get_ref().escape_debug()
        ),
    );
    None
}

/// Checks a string with `f`, reporting failure at the value's span.
fn check<T>(
    d: &mut Diagnostics<'_>,
    v: &Sp<&str>,
    what: &str,
    f: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    match f(v.get_ref()) {
        Ok(t) => Some(t),
        Err(e) => {
            d.error(v.span(), format!("{what}: {e}"));
            None
        }
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    base.join(p)
}

fn read_owner(d: &mut Diagnostics<'_>, mut s: Section<'_, '_>) -> Option<Owner> {
    let name = s.req_str(d, "name", "name = \"Your Name\"");
    let name = name.and_then(|v| {
        check(d, &v, "`name` in [owner]", values::header_text).map(|_| v.get_ref().to_string())
    });
    let email = s.req_str(d, "email", "email = \"you@example.com\"");
    let email = email.and_then(|v| check(d, &v, "`email` in [owner]", values::address));
    let tz = s.req_str(d, "timezone", "timezone = \"Europe/Berlin\"");
    let tz = tz.and_then(|v| check(d, &v, "`timezone` in [owner]", values::timezone));
    s.finish(d);
    Some(Owner {
        name: name?,
        email: email?,
        timezone: tz?,
    })
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

fn read_policy(
    d: &mut Diagnostics<'_>,
    s: Option<Section<'_, '_>>,
    owner_tz: Tz,
) -> Option<Policy> {
    let default_quiet = QuietHours {
        start: NaiveTime::from_hms_opt(20, 0, 0).unwrap_or_default(),
        end: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
    };
    // The default digest line is a constant that parses (a unit test checks
    // it); were it ever broken, the digest would be off rather than the load
    // failing.
    let default_digest = || crate::config::schedule(DEFAULT_DIGEST, owner_tz).ok();
    let Some(mut s) = s else {
        return Some(Policy {
            quiet_hours: Some(default_quiet),
            max_reminders_per_day: 1,
            silence_alert_after: TimeDelta::days(5),
            escalate_after: TimeDelta::days(3),
            payment_followup_after: TimeDelta::days(7),
            answer_within: TimeDelta::hours(24),
            digest: default_digest(),
            catch_up_horizon: TimeDelta::days(7),
            owner_notices: OwnerNotices::Immediate,
        });
    };
    let quiet_hours = match s.str(d, "quiet_hours") {
        None => Some(Some(default_quiet)),
        Some(v) => check(d, &v, "`quiet_hours` in [policy]", values::quiet_hours)
            .map(|(start, end)| (start != end).then_some(QuietHours { start, end })),
    };
    let max = match s.integer(d, "max_reminders_per_day") {
        None => Some(1),
        Some(v) => match u32::try_from(*v.get_ref()) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                d.error(v.span(), format!("`max_reminders_per_day` in [policy] is {}; expected a number of at least 1", v.get_ref()));
                None
            }
        },
    };
    let silence = period_or(
        d,
        &mut s,
        "silence_alert_after",
        "[policy]",
        TimeDelta::days(5),
    );
    let escalate = period_or(d, &mut s, "escalate_after", "[policy]", TimeDelta::days(3));
    let followup = period_or(
        d,
        &mut s,
        "payment_followup_after",
        "[policy]",
        TimeDelta::days(7),
    );
    let answer = period_or(d, &mut s, "answer_within", "[policy]", TimeDelta::hours(24));
    let horizon = period_or(
        d,
        &mut s,
        "catch_up_horizon",
        "[policy]",
        TimeDelta::days(7),
    );
    let digest = match s.str(d, "digest") {
        None => Some(default_digest()),
        // "off" (or an empty line) switches the digest off.
        Some(v) if v.get_ref().trim().is_empty() || v.get_ref().trim() == "off" => Some(None),
        Some(v) => {
            // Any fixed day works for "does it ever fire": the 5 fields
            // carry no year.
            let reference = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
            schedule(d, &v, "`digest` in [policy]", owner_tz, reference).map(Some)
        }
    };
    let notices_value = s.str(d, "owner_notices");
    let owner_notices = choice(
        d,
        notices_value.as_ref(),
        "owner_notices",
        "[policy]",
        &[
            ("immediate", OwnerNotices::Immediate),
            ("digest", OwnerNotices::Digest),
        ],
        OwnerNotices::Immediate,
    );
    s.finish(d);
    Some(Policy {
        quiet_hours: quiet_hours?,
        max_reminders_per_day: max?,
        silence_alert_after: silence?,
        escalate_after: escalate?,
        payment_followup_after: followup?,
        answer_within: answer?,
        digest: digest?,
        catch_up_horizon: horizon?,
        owner_notices: owner_notices?,
    })
}

/// `[log]`: the daemon's log level (`RUST_LOG`, when set, wins).
fn read_log(d: &mut Diagnostics<'_>, s: Option<Section<'_, '_>>) -> Option<LogSettings> {
    let Some(mut s) = s else {
        return Some(LogSettings::default());
    };
    let v = s.str(d, "level");
    let levels = [
        ("error", "error"),
        ("warn", "warn"),
        ("info", "info"),
        ("debug", "debug"),
        ("trace", "trace"),
    ];
    let level = choice(d, v.as_ref(), "level", "[log]", &levels, "info");
    s.finish(d);
    Some(LogSettings {
        level: v.and(level).map(str::to_string),
    })
}

/// The owner's digest when the config names none: Mondays at 08:00.
const DEFAULT_DIGEST: &str = "0 8 * * MON";

/// Reads an id and checks it is unique among `seen`.
fn read_id(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    what: &str,
    seen: &mut HashMap<String, usize>,
) -> Option<String> {
    let v = s.req_str(d, "id", &format!("id = \"a-short-name\" for this {what}"))?;
    let id = check(d, &v, &format!("`id` in {}", s.name), values::id)
        .map(|_| v.get_ref().to_string())?;
    s.rename(format!("{what} \"{id}\""));
    if let Some(first) = seen.get(&id) {
        let line = d.line_of(*first);
        d.error(v.span(), format!("duplicate {what} id `{id}` (first defined at line {line}); expected each {what} to have its own id"));
        return None;
    }
    seen.insert(id.clone(), v.span().start);
    Some(id)
}

/// Contractors in config order, `None` marking one with errors, plus every id
/// written (also of contractors with other errors, so an engagement naming one
/// is not told its contractor does not exist).
fn read_contractors(
    d: &mut Diagnostics<'_>,
    sections: Vec<Section<'_, '_>>,
    owner_tz: Tz,
) -> (Vec<Option<Contractor>>, Vec<String>) {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for mut s in sections {
        let id = read_id(d, &mut s, "contractor", &mut seen);
        let name = s
            .req_str(d, "name", "name = \"the contractor's name\"")
            .and_then(|v| {
                check(d, &v, &format!("`name` in {}", s.name), values::header_text)
                    .map(|_| v.get_ref().to_string())
            });
        let email = s
            .req_str(d, "email", "email = \"them@example.com\"")
            .and_then(|v| check(d, &v, &format!("`email` in {}", s.name), values::address));
        let tz = match s.str(d, "timezone") {
            None => Some(owner_tz),
            Some(v) => check(
                d,
                &v,
                &format!("`timezone` in {}", s.name),
                values::timezone,
            ),
        };
        s.finish(d);
        out.push((|| {
            Some(Contractor {
                id: id?,
                name: name?,
                email: email?,
                timezone: tz?,
            })
        })());
    }
    (out, seen.into_keys().collect())
}

/// What engagements are checked against.
struct Known<'k> {
    contractors: &'k [Option<Contractor>],
    contractor_ids: &'k [String],
    owner_tz: Tz,
    base: &'k Path,
}

fn read_engagements(
    d: &mut Diagnostics<'_>,
    sections: Vec<Section<'_, '_>>,
    known: &Known<'_>,
) -> Option<Vec<Engagement>> {
    let mut seen = HashMap::new();
    let mut out = Some(Vec::new());
    for s in sections {
        let e = read_engagement(d, s, &mut seen, known);
        match (e, out.as_mut()) {
            (Some(e), Some(list)) => list.push(e),
            _ => out = None,
        }
    }
    out
}

fn read_engagement(
    d: &mut Diagnostics<'_>,
    mut s: Section<'_, '_>,
    seen: &mut HashMap<String, usize>,
    known: &Known<'_>,
) -> Option<Engagement> {
    let (contractors, owner_tz, base) = (known.contractors, known.owner_tz, known.base);
    let id = read_id(d, &mut s, "engagement", seen);
    let name = s.name.clone();
    let header = s.span.clone();

    let contractor = s.req_str(
        d,
        "contractor",
        "contractor = \"the id of a [[contractor]]\"",
    );
    let contractor_index = contractor.as_ref().and_then(|v| {
        let wanted = *v.get_ref();
        if let Some(i) = contractors.iter().position(|c| c.as_ref().is_some_and(|c| c.id == wanted)) {
            return Some(i);
        }
        if !known.contractor_ids.iter().any(|k| k == wanted) {
            let hint = values::nearest(wanted, known.contractor_ids.iter().map(String::as_str))
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            d.error(
                v.span(),
                format!("{name} names contractor `{wanted}`, which is not defined; expected the id of a [[contractor]]{hint}"),
            );
        }
        None
    });
    let contractor_tz = contractor_index
        .and_then(|i| contractors.get(i).cloned().flatten())
        .map_or(owner_tz, |c| c.timezone);

    let title = s
        .req_str(d, "title", "title = \"what the work is\"")
        .and_then(|v| {
            check(d, &v, &format!("`title` in {name}"), values::header_text)
                .map(|_| v.get_ref().to_string())
        });
    let agreement_signed = match s.datetime_text(d, "agreement_signed") {
        None => Some(None),
        Some(v) => check_date(d, &v, &format!("`agreement_signed` in {name}")).map(Some),
    };
    let agreement_file = s.str(d, "agreement_file").map(|v| {
        let p = resolve(base, v.get_ref());
        if !p.is_file() {
            d.warn(v.span(), format!("the agreement file {} does not exist; the agreement request will go out without it", p.display()));
        }
        p
    });
    let starts = match s.datetime_text(d, "starts") {
        Some(v) => check_date(d, &v, &format!("`starts` in {name}")),
        None => {
            if !s.has("starts") {
                d.error(header.clone(), format!("{name} is missing `starts`; expected starts = 2026-12-01 (the first day of work)"));
            }
            None
        }
    };
    let kickoff = match s.datetime_text(d, "kickoff") {
        None => Some(None),
        Some(v) => {
            let what = format!("`kickoff` in {name}");
            match values::when(v.get_ref()) {
                Ok(When::Local(dt)) => values::local_instant(dt, owner_tz)
                    .map_err(|e| d.error(v.span(), format!("{what}: {e}")))
                    .ok()
                    .map(Some),
                Ok(When::Instant(t)) => Some(Some(t)),
                Ok(When::Date(_)) => {
                    d.error(v.span(), format!("{what} is a date without a time; expected a local date-time such as 2026-11-25T15:00:00 (owner's zone)"));
                    None
                }
                Err(e) => {
                    d.error(v.span(), format!("{what}: {e}"));
                    None
                }
            }
        }
    };
    let mut text = |s: &mut Section<'_, '_>, key: &'static str, expected: &str| {
        s.req_str(d, key, expected).and_then(|v| {
            check(d, &v, &format!("`{key}` in {name}"), values::body_text)
                .map(|_| v.get_ref().to_string())
        })
    };
    let deliverables = text(
        &mut s,
        "deliverables",
        "deliverables = \"\"\"what exactly is to be delivered\"\"\"",
    );
    let quality = text(
        &mut s,
        "quality_standard",
        "quality_standard = \"\"\"how the work will be judged\"\"\"",
    );
    let performance = text(
        &mut s,
        "performance_standard",
        "performance_standard = \"\"\"when and how to deliver, how often to report status\"\"\"",
    );
    let payment_terms = match s.str(d, "payment_terms") {
        None => Some(None),
        Some(v) => check(
            d,
            &v,
            &format!("`payment_terms` in {name}"),
            values::body_text,
        )
        .map(|_| Some(v.get_ref().to_string())),
    };
    let reference = starts.unwrap_or_default();
    let status_reports =
        optional_schedule(d, &mut s, "status_reports", &name, contractor_tz, reference);
    let evaluation = match s.str(d, "evaluation") {
        None => {
            let c = values::crontab(DEFAULT_EVALUATION).ok()?;
            Some(Schedule {
                crontab: DEFAULT_EVALUATION.to_string(),
                cron: c.schedule,
                timezone: owner_tz,
            })
        }
        Some(v) => {
            let sched = schedule(
                d,
                &v,
                &format!("`evaluation` in {name}"),
                owner_tz,
                reference,
            );
            if let Some(sc) = &sched {
                check_yearly(d, &v, sc, &name, reference);
            }
            sched
        }
    };
    let payment = optional_schedule(d, &mut s, "payment", &name, owner_tz, reference);
    let budget = match s.str(d, "budget") {
        None => Some(None),
        Some(v) => check(d, &v, &format!("`budget` in {name}"), |t| {
            crate::money::Money::parse(t).map_err(|e| e.to_string())
        })
        .map(Some),
    };
    let recheck_after = period_or(
        d,
        &mut s,
        "recheck_after_delivery",
        &name,
        TimeDelta::days(7),
    );
    let recheck_every = period_or(d, &mut s, "recheck_every", &name, TimeDelta::days(90));
    let attachments = read_attachments(d, &mut s, &name, base);

    let mut milestone_ids = HashMap::new();
    let mut milestones = Some(Vec::new());
    let milestone_sections = s.tables(d, "milestone", MILESTONE_KEYS);
    if milestone_sections.is_empty() {
        d.warn(header.clone(), format!("{name} has no milestones; expected at least one [[engagement.milestone]] with a due date (explicit deadlines keep work on track)"));
    }
    for m in milestone_sections {
        let m = read_milestone(d, m, &mut milestone_ids, &name, owner_tz, starts, base);
        match (m, milestones.as_mut()) {
            (Some(m), Some(list)) => list.push(m),
            _ => milestones = None,
        }
    }
    let attachments_total: u64 = attachments
        .iter()
        .flatten()
        .chain(
            milestones
                .iter()
                .flatten()
                .flat_map(|m| m.attachments.iter()),
        )
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if attachments_total > ATTACHMENT_WARN_BYTES {
        d.warn(
            header,
            format!(
                "{name} has {:.1} MB of attachments in all; expected at most 10 MB (many mail servers refuse larger mails)",
                attachments_total as f64 / 1_048_576.0
            ),
        );
    }
    s.finish(d);
    Some(Engagement {
        id: id?,
        contractor: contractor?.get_ref().to_string(),
        contractor_index: contractor_index?,
        title: title?,
        agreement_signed: agreement_signed?,
        agreement_file,
        starts: starts?,
        kickoff: kickoff?,
        deliverables: deliverables?,
        quality_standard: quality?,
        performance_standard: performance?,
        payment_terms: payment_terms?,
        status_reports: status_reports?,
        evaluation: evaluation?,
        recheck_after_delivery: recheck_after?,
        recheck_every: recheck_every?,
        payment: payment?,
        budget: budget?,
        attachments: attachments?,
        milestones: milestones?,
    })
}

fn read_milestone(
    d: &mut Diagnostics<'_>,
    mut s: Section<'_, '_>,
    seen: &mut HashMap<String, usize>,
    engagement: &str,
    owner_tz: Tz,
    starts: Option<NaiveDate>,
    base: &Path,
) -> Option<Milestone> {
    let id = read_id(d, &mut s, "milestone", seen);
    let name = format!("{} of {engagement}", s.name);
    s.rename(name.clone());
    let title = s
        .req_str(d, "title", "title = \"what is due\"")
        .and_then(|v| {
            check(d, &v, &format!("`title` in {name}"), values::header_text)
                .map(|_| v.get_ref().to_string())
        });
    let due = match s.datetime_text(d, "due") {
        None => {
            if !s.has("due") {
                d.error(
                    s.span.clone(),
                    format!(
                        "{name} is missing `due`; expected due = 2026-12-05 or a local date-time"
                    ),
                );
            }
            None
        }
        Some(v) => {
            let what = format!("`due` in {name}");
            let t = match values::when(v.get_ref()) {
                Ok(When::Date(day)) => values::end_of_day(day, owner_tz),
                Ok(When::Local(dt)) => values::local_instant(dt, owner_tz),
                Ok(When::Instant(t)) => Ok(t),
                Err(e) => Err(e),
            };
            match t {
                Ok(t) => {
                    let start = starts.and_then(|s| {
                        values::local_instant(s.and_time(NaiveTime::MIN), owner_tz).ok()
                    });
                    if start.is_some_and(|start| t < start) {
                        d.warn(v.span(), format!("{name} is due before the engagement starts; expected a due date on or after `starts`"));
                    }
                    Some(t)
                }
                Err(e) => {
                    d.error(v.span(), format!("{what}: {e}"));
                    None
                }
            }
        }
    };
    let remind_before = match s.str_array(d, "remind_before", "periods such as [\"3d\", \"1d\"]") {
        None => Some(vec![TimeDelta::days(1)]),
        Some(items) => {
            let parsed: Vec<Option<TimeDelta>> = items
                .iter()
                .map(|v| check(d, v, &format!("`remind_before` in {name}"), values::period))
                .collect();
            parsed.into_iter().collect::<Option<Vec<_>>>().map(|mut v| {
                v.sort_by(|a, b| b.cmp(a));
                v.dedup();
                v
            })
        }
    };
    let attachments = read_attachments(d, &mut s, &name, base);
    s.finish(d);
    Some(Milestone {
        id: id?,
        title: title?,
        due: due?,
        remind_before: remind_before?,
        attachments: attachments?,
    })
}

fn read_attachments(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    name: &str,
    base: &Path,
) -> Option<Vec<PathBuf>> {
    let Some(items) = s.str_array(
        d,
        "attachments",
        "file paths such as [\"briefs/brief.pdf\"]",
    ) else {
        return Some(Vec::new());
    };
    let mut ok = true;
    let mut out = Vec::new();
    for v in items {
        let p = resolve(base, v.get_ref());
        if !p.is_file() {
            ok = false;
            d.error(
                v.span(),
                format!(
                    "the attachment {} of {name} does not exist; expected a readable file",
                    p.display()
                ),
            );
        }
        out.push(p);
    }
    ok.then_some(out)
}

fn check_date(d: &mut Diagnostics<'_>, v: &Sp<String>, what: &str) -> Option<NaiveDate> {
    match values::date(v.get_ref()) {
        Ok(day) => Some(day),
        Err(e) => {
            d.error(v.span(), format!("{what}: {e}"));
            None
        }
    }
}

fn period_or(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    key: &'static str,
    name: &str,
    default: TimeDelta,
) -> Option<TimeDelta> {
    match s.str(d, key) {
        None => Some(default),
        Some(v) => check(d, &v, &format!("`{key}` in {name}"), values::period),
    }
}

/// Parses a crontab line into a schedule in `tz`, and checks it ever fires.
fn schedule(
    d: &mut Diagnostics<'_>,
    v: &Sp<&str>,
    what: &str,
    tz: Tz,
    reference: NaiveDate,
) -> Option<Schedule> {
    let c = check(d, v, what, values::crontab)?;
    if c.both_days_restricted {
        d.warn(
            v.span(),
            format!("{what}: `{}` restricts both day-of-month and day-of-week; Handoff fires only when both match (classic cron fires when either does)", v.get_ref()),
        );
    }
    let sched = Schedule {
        crontab: v.get_ref().trim().to_string(),
        cron: c.schedule,
        timezone: tz,
    };
    if next_local(&sched, start_of(reference)).is_none() {
        d.error(
            v.span(),
            format!(
                "{what}: `{}` never fires; expected a schedule with at least one date",
                v.get_ref()
            ),
        );
        return None;
    }
    Some(sched)
}

fn optional_schedule(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    key: &'static str,
    name: &str,
    tz: Tz,
    reference: NaiveDate,
) -> Option<Option<Schedule>> {
    match s.str(d, key) {
        None => Some(None),
        Some(v) => schedule(d, &v, &format!("`{key}` in {name}"), tz, reference).map(Some),
    }
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The schedule's next local wall-clock time after `t`, carried in a UTC
/// frame. Whether a line ever fires, and how often, is a question about the
/// wall clock, so these checks need no zone rules; the DST-correct instants
/// are the schedule's business ([`crate::schedule::occurrence`]).
fn next_local(sched: &Schedule, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    sched.cron.after(&t).next()
}

/// Warns when evaluations come less often than once a year.
fn check_yearly(
    d: &mut Diagnostics<'_>,
    v: &Sp<&str>,
    sched: &Schedule,
    name: &str,
    reference: NaiveDate,
) {
    let year = TimeDelta::days(366);
    let mut prev = start_of(reference);
    // Five occurrences cover every repeating pattern a 5-field line can express
    // within a few years (the longest, 29 February, repeats every 4 years).
    for _ in 0..5 {
        match next_local(sched, prev) {
            Some(next) if next - prev <= year => prev = next,
            _ => {
                d.warn(
                    v.span(),
                    format!("`evaluation` in {name} (`{}`) comes less often than once a year; expected at least one evaluation a year", v.get_ref()),
                );
                return;
            }
        }
    }
}
