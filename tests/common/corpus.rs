//! The reply corpus: replies as real mail clients write them, each labelled
//! with what a careful human assistant would say it is
//! (`tests/fixtures/replies/`). `tests/corpus.rs` checks that the corpus is
//! well-formed; `benches/classify.rs` scores Handoff's reading of it.
//!
//! # What is in the folder
//!
//! - `handoff.toml`: the scenario. One owner, one contractor per language,
//!   each with a started engagement of two or three milestones.
//! - `labels.toml`: one `[[reply]]` per fixture (`file`, `client`, `lang`,
//!   `kind`, optional `milestone`, `also`, `partstat`, and a `note` saying
//!   why). [`KINDS`] is the vocabulary.
//! - `<lang>/*.eml`: the replies, stored readable: decoded text, placeholders
//!   where the client copied something from the mail it answers.
//!
//! # How a fixture becomes the bytes a client sends
//!
//! 1. [`Scenario::build`] runs the `handoff` binary (`run --once`) on the
//!    scenario in a temporary directory, its clock pinned at each of
//!    [`PASSES`]: the local outbox (`var/mail/outgoing/new/*.eml`) then holds
//!    the instructions, every invitation, the kickoffs, the status requests,
//!    deadline reminders and overdue notices. `handoff log --json` says which
//!    `.eml` is which (engagement, purpose, milestone).
//! 2. [`Scenario::fill`] replaces each `{{name REF args}}` with what the
//!    client took from the sent mail REF. REF is `engagement/purpose`,
//!    `engagement/purpose/milestone`, and `#N` picks the Nth of several in
//!    the order they were sent (a milestone's reminders); a REF that names
//!    no mail, or more than one without `#N`, is an error. The purposes are
//!    Handoff's own: `instructions`, `milestone_invite`, `kickoff`,
//!    `status_request`, `deadline_reminder`, `overdue_notice`.
//!
//!    | placeholder | becomes |
//!    |---|---|
//!    | `{{id REF}}` | its Message-ID, with angle brackets |
//!    | `{{mid REF}}` | its Message-ID without them (a `cite="mid:…"` URL) |
//!    | `{{refs REF}}` | the References of a reply to it: its References and its Message-ID, folded |
//!    | `{{subject REF}}` | its Subject, decoded |
//!    | `{{date REF}}` | its Date header, as sent |
//!    | `{{date REF LANG "FORMAT"}}` | its send time in the contractor's zone, in strftime FORMAT, with `%A %a %B %b` named in LANG and `%o` an English ordinal day ("24th") |
//!    | `{{uid REF}}`, `{{sequence REF}}` | its calendar's UID and SEQUENCE |
//!    | `{{ical REF PROP}}` | its calendar's whole content line for PROP (`DTSTART;VALUE=DATE:20261204`), unfolded; `{{ical REF PROP value}}` the value alone |
//!    | `{{text REF}}` | its text body verbatim (Outlook's quote under `From:/Sent:`) |
//!    | `{{quote REF}}` | its text body with `> ` before each line (Gmail, Apple, Thunderbird; a `format=flowed` part re-wraps it); `{{quote REF bom}}` with iOS Mail's U+FEFF before the first line |
//!    | `{{html REF}}` | the inside of its HTML `<body>` (`gmail_quote`, `blockquote`, `divRplyFwdMsg`) |
//!    | `{{headers REF}}`, `{{raw REF}}` | its header block; the whole mail (what a bounce returns) |
//!
//! 3. [`encode`] then writes each MIME part the way its headers declare:
//!    the text in the part's `charset` (utf-8, iso-8859-1, windows-1252,
//!    us-ascii), re-wrapped by RFC 3676 if `format=flowed`, then in its
//!    `Content-Transfer-Encoding` (quoted-printable with soft breaks at 76,
//!    base64 in lines of 76; a base64 body that is base64 already, such as
//!    an image, which cannot be stored readable, is kept). Calendar lines
//!    over 75 octets are folded. In a header, `=?CHARSET?Q?readable text?=` (or
//!    `?B?`) is encoded into RFC 2047 words, split and folded where long; a
//!    text that is all ASCII stays as it is, as clients leave it. Lines end in
//!    CRLF. `message/*` and `text/rfc822-headers` parts are copied as they
//!    are.
//!
//! So the bytes ingested quote the mail Handoff really sent, in today's
//! templates, and the classifier can be asked to subtract it.
//!
//! [`judge`] runs every reply through the pipeline (`Inbox::ingest`, for
//! real, not a dry run) against its own copy of the scenario's store, and
//! reports the kind, the milestone and the PARTSTAT that Handoff recorded.

#![allow(dead_code)] // the test and the benchmark use different halves

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The corpus folder.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies")
}

/// The instants of the passes that fill the outbox (see `handoff.toml`).
pub const PASSES: &[&str] = &[
    "2026-11-24T13:00:00Z",
    "2026-11-30T15:00:00Z",
    "2026-12-02T15:00:00Z",
    "2026-12-03T15:00:00Z",
    "2026-12-04T15:00:00Z",
    "2026-12-05T15:00:00Z",
];

/// When the replies are read.
pub const READ_AT: &str = "2026-12-05T16:00:00Z";

/// What a reply can be: the labels' vocabulary. Some kinds do not exist in
/// Handoff yet (a delayed delivery, a read receipt, a calendar counter).
pub const KINDS: &[&str] = &[
    "acknowledgement",
    "delivery",
    "status_report",
    "question",
    "message",
    "auto_reply",
    "bounce",
    "delivery_delayed",
    "read_receipt",
    "calendar_reply",
    "calendar_counter",
    "calendar_refresh",
    "unmatched",
    "ignored_sender",
    "unparseable",
];

pub const LANGS: &[&str] = &["en", "de", "fr", "es", "pt", "it", "nl"];

/// The clients and the machine-mail families the corpus must hold.
pub const FAMILIES: &[&str] = &[
    "gmail-web",
    "gmail-app",
    "outlook-desktop",
    "outlook-web",
    "outlook-mobile",
    "apple-mail",
    "apple-ios",
    "thunderbird",
    "yahoo",
    "proton",
    "exchange-autoreply",
    "gmail-vacation",
    "postfix",
    "exim",
    "exchange-dsn",
    "gmail-dsn",
    "outlook-mdn",
    "thunderbird-mdn",
    "mailing-list",
    "google-calendar",
    "outlook-calendar",
    "apple-calendar",
    "helpdesk",
];

/// One `[[reply]]` of `labels.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub file: String,
    pub client: String,
    pub lang: String,
    pub kind: String,
    pub milestone: Option<String>,
    #[serde(default)]
    pub also: Vec<String>,
    pub partstat: Option<String>,
    pub note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    reply: Vec<Label>,
}

/// The manifest, in its order.
pub fn labels() -> Vec<Label> {
    let path = dir().join("labels.toml");
    let text = std::fs::read_to_string(&path).expect("read labels.toml");
    toml::from_str::<Manifest>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .reply
}

/// A mail Handoff sent in the scenario.
#[derive(Debug, Clone)]
pub struct Sent {
    pub engagement: String,
    pub purpose: String,
    pub milestone: Option<String>,
    /// With angle brackets.
    pub message_id: String,
    /// Its References, with angle brackets, oldest first.
    pub references: Vec<String>,
    pub subject: String,
    pub date_header: String,
    pub date: DateTime<Utc>,
    /// The text/plain body, decoded.
    pub text: String,
    /// The inside of the text/html `<body>`, decoded.
    pub html: String,
    /// The calendar's content lines, unfolded (empty if it has none).
    pub calendar: Vec<String>,
    /// The header block as sent (LF line ends).
    pub headers: String,
    /// The whole mail as sent (LF line ends).
    pub raw: String,
}

/// The scenario, run: where it lives and what it sent.
pub struct Scenario {
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The store after the last pass.
    pub state: PathBuf,
    pub sent: Vec<Sent>,
    /// Engagement id → the contractor's zone.
    zones: HashMap<String, Tz>,
    /// Engagement id → its milestone ids.
    pub milestones: HashMap<String, Vec<String>>,
}

fn handoff(config: &Path, args: &[&str], now: &str) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", now)
        .env_remove("HANDOFF_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run handoff");
    assert!(
        out.status.success(),
        "handoff {args:?} at {now}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Scenario {
    /// Runs the scenario's passes in a fresh directory and indexes what went
    /// out.
    pub fn build() -> Scenario {
        let dir = tempfile::Builder::new()
            .prefix("handoff-corpus-")
            .tempdir()
            .expect("tempdir");
        let config = dir.path().join("handoff.toml");
        let toml_text =
            std::fs::read_to_string(self::dir().join("handoff.toml")).expect("read handoff.toml");
        std::fs::write(&config, &toml_text).expect("write handoff.toml");
        // The scenario uses only keys today's config knows.
        handoff(&config, &["check"], PASSES[0]);
        for at in PASSES {
            handoff(&config, &["run", "--once"], at);
        }
        let (zones, milestones) = zones_and_milestones(&toml_text);

        // Which Message-ID is which mail: the journal says.
        let log = handoff(&config, &["log", "--json"], READ_AT);
        let mut what: HashMap<String, (String, String, Option<String>)> = HashMap::new();
        for line in String::from_utf8_lossy(&log.stdout).lines() {
            let e: serde_json::Value = serde_json::from_str(line).expect("log line is JSON");
            let (Some(kind), Some(id), Some(engagement)) = (
                e["kind"].as_str(),
                e["message_id"].as_str(),
                e["engagement"].as_str(),
            ) else {
                continue;
            };
            if e["direction"] != "out" {
                continue;
            }
            let Some(purpose) = kind.strip_prefix("sent_") else {
                continue;
            };
            what.insert(
                id.to_string(),
                (
                    engagement.to_string(),
                    purpose.to_string(),
                    e["milestone"].as_str().map(str::to_string),
                ),
            );
        }

        let outgoing = dir.path().join("var/mail/outgoing/new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&outgoing)
            .expect("the outbox was written")
            .map(|e| e.expect("dir entry").path())
            .collect();
        // The file names start with a sequence number: sending order.
        files.sort();
        let mut sent = Vec::new();
        for path in files {
            let bytes = std::fs::read(&path).expect("read sent mail");
            let s = read_sent(&bytes, &what).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            sent.push(s);
        }
        Scenario {
            config,
            state: dir.path().join("var/handoff.db"),
            _dir: dir,
            sent,
            zones,
            milestones,
        }
    }

    /// The contractor's zone for an engagement.
    pub fn zone(&self, engagement: &str) -> Option<Tz> {
        self.zones.get(engagement).copied()
    }

    /// The sent mail a REF names (see the module doc).
    pub fn find(&self, reference: &str) -> Result<&Sent, String> {
        let (path, nth) = match reference.split_once('#') {
            Some((p, n)) => (
                p,
                Some(
                    n.parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("{reference}: #N wants a number from 1"))?,
                ),
            ),
            None => (reference, None),
        };
        let parts: Vec<&str> = path.split('/').collect();
        let (engagement, purpose, milestone) = match parts.as_slice() {
            [e, p] => (*e, *p, None),
            [e, p, m] => (*e, *p, Some(*m)),
            _ => {
                return Err(format!(
                    "{reference}: not engagement/purpose[/milestone][#N]"
                ));
            }
        };
        let found: Vec<&Sent> = self
            .sent
            .iter()
            .filter(|s| {
                s.engagement == engagement
                    && s.purpose == purpose
                    && (milestone.is_none() || s.milestone.as_deref() == milestone)
            })
            .collect();
        match (found.len(), nth) {
            (0, _) => Err(format!("{reference}: Handoff sent no such mail")),
            (1, None) => Ok(found[0]),
            (n, None) => Err(format!("{reference}: names {n} mails; add #1..#{n}")),
            (n, Some(i)) => found
                .get(i - 1)
                .copied()
                .ok_or_else(|| format!("{reference}: there are only {n}")),
        }
    }

    /// A fixture's text with every placeholder replaced; the errors of all
    /// that do not resolve.
    pub fn fill(&self, fixture: &str) -> Result<String, Vec<String>> {
        let mut out = String::with_capacity(fixture.len() * 2);
        let mut errors = Vec::new();
        let mut rest = fixture;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start..].find("}}") else {
                errors.push("a {{ without }}".to_string());
                rest = "";
                break;
            };
            let inner = &rest[start + 2..start + len];
            match self.placeholder(inner) {
                Ok(v) => out.push_str(&v),
                Err(e) => errors.push(format!("{{{{{inner}}}}}: {e}")),
            }
            rest = &rest[start + len + 2..];
        }
        out.push_str(rest);
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    fn placeholder(&self, inner: &str) -> Result<String, String> {
        let words = split_words(inner)?;
        let [name, reference, args @ ..] = words.as_slice() else {
            return Err("wants a name and a REF".into());
        };
        let s = self.find(reference)?;
        let no_args = |v: String| {
            if args.is_empty() {
                Ok(v)
            } else {
                Err(format!("{name} takes no arguments"))
            }
        };
        match name.as_str() {
            "id" => no_args(s.message_id.clone()),
            "mid" => no_args(s.message_id.trim_matches(['<', '>']).to_string()),
            "refs" => {
                let mut ids = s.references.clone();
                ids.push(s.message_id.clone());
                no_args(ids.join("\n "))
            }
            "subject" => no_args(s.subject.clone()),
            "date" => match args {
                [] => Ok(s.date_header.clone()),
                [lang, format] => {
                    let tz = self
                        .zone(&s.engagement)
                        .ok_or_else(|| format!("no zone for {}", s.engagement))?;
                    format_date(s.date.with_timezone(&tz), lang, format)
                }
                _ => Err("date takes nothing, or LANG and \"FORMAT\"".into()),
            },
            "uid" => no_args(ical_value(s, "UID")?),
            "sequence" => no_args(ical_value(s, "SEQUENCE")?),
            "ical" => match args {
                [prop] => ical_line(s, prop),
                [prop, v] if v == "value" => ical_value(s, prop),
                _ => Err("ical takes a property name, and `value` for its value alone".into()),
            },
            "text" => no_args(s.text.trim_end().to_string()),
            "quote" => match args {
                [] => Ok(quote(&s.text, false)),
                [b] if b == "bom" => Ok(quote(&s.text, true)),
                _ => Err("quote takes nothing, or `bom`".into()),
            },
            "html" => no_args(s.html.clone()),
            "headers" => no_args(s.headers.clone()),
            "raw" => no_args(s.raw.trim_end().to_string()),
            other => Err(format!("unknown placeholder {other:?}")),
        }
    }

    /// A fixture, filled and encoded: the bytes the client would send.
    pub fn reply(&self, file: &str) -> Result<Vec<u8>, String> {
        let path = dir().join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        let filled = self
            .fill(&text)
            .map_err(|e| format!("{file}: {}", e.join("; ")))?;
        encode(&filled).map_err(|e| format!("{file}: {e}"))
    }
}

/// Reads the contractors' zones and the milestones from the scenario file.
#[allow(clippy::type_complexity)]
fn zones_and_milestones(text: &str) -> (HashMap<String, Tz>, HashMap<String, Vec<String>>) {
    let v: toml::Table = toml::from_str(text).expect("handoff.toml parses");
    let owner_tz = v["owner"]["timezone"].as_str().unwrap_or("UTC");
    let mut contractor_tz = HashMap::new();
    for c in v["contractor"].as_array().into_iter().flatten() {
        let tz = c
            .get("timezone")
            .and_then(|t| t.as_str())
            .unwrap_or(owner_tz);
        contractor_tz.insert(
            c["id"].as_str().unwrap_or_default().to_string(),
            tz.parse::<Tz>().expect("a zone"),
        );
    }
    let mut zones = HashMap::new();
    let mut milestones = HashMap::new();
    for e in v["engagement"].as_array().into_iter().flatten() {
        let id = e["id"].as_str().unwrap_or_default().to_string();
        let c = e["contractor"].as_str().unwrap_or_default();
        zones.insert(id.clone(), contractor_tz[c]);
        let ms = e
            .get("milestone")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect();
        milestones.insert(id, ms);
    }
    (zones, milestones)
}

fn read_sent(
    bytes: &[u8],
    what: &HashMap<String, (String, String, Option<String>)>,
) -> Result<Sent, String> {
    use mail_parser::{MessageParser, MimeHeaders};
    let m = MessageParser::default()
        .parse(bytes)
        .ok_or("does not parse")?;
    let message_id = format!("<{}>", m.message_id().ok_or("no Message-ID")?);
    let (engagement, purpose, milestone) = what
        .get(&message_id)
        .cloned()
        .unwrap_or_else(|| (String::new(), "unknown".into(), None));
    let raw = String::from_utf8_lossy(bytes).replace("\r\n", "\n");
    let headers = raw.split("\n\n").next().unwrap_or_default().to_string();
    let date_header = header_value(&headers, "Date").ok_or("no Date")?;
    let date = DateTime::parse_from_rfc2822(&date_header)
        .map_err(|e| format!("Date {date_header:?}: {e}"))?
        .to_utc();
    let references = header_value(&headers, "References")
        .map(|r| r.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let html = m
        .body_html(0)
        .map(|h| inner_body(&h).to_string())
        .unwrap_or_default();
    let calendar = m
        .parts
        .iter()
        .find(|p| {
            p.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
            })
        })
        .and_then(|p| p.text_contents())
        .map(unfold_ical)
        .unwrap_or_default();
    Ok(Sent {
        engagement,
        purpose,
        milestone,
        message_id,
        references,
        subject: m.subject().unwrap_or_default().to_string(),
        date_header,
        date,
        text: m
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default(),
        html,
        calendar,
        headers,
        raw,
    })
}

/// A header's value in a header block (LF line ends), unfolded.
fn header_value(headers: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in headers.lines() {
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

fn inner_body(html: &str) -> &str {
    let lower = html.to_ascii_lowercase();
    let start = lower
        .find("<body")
        .and_then(|i| lower[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = lower.rfind("</body>").unwrap_or(html.len()).max(start);
    html[start..end].trim()
}

fn unfold_ical(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in text.replace("\r\n", "\n").split('\n') {
        if let Some(more) = line.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push_str(more);
        } else if !line.is_empty() {
            lines.push(line.to_string());
        }
    }
    lines
}

fn ical_line(s: &Sent, prop: &str) -> Result<String, String> {
    // The event's own line, not the alarm's (both have a DESCRIPTION).
    let mut depth_alarm = false;
    for line in &s.calendar {
        match line.as_str() {
            "BEGIN:VALARM" => depth_alarm = true,
            "END:VALARM" => depth_alarm = false,
            _ if depth_alarm => {}
            l => {
                let name = l.split([':', ';']).next().unwrap_or_default();
                if name.eq_ignore_ascii_case(prop) {
                    return Ok(l.to_string());
                }
            }
        }
    }
    Err(format!(
        "{} {} has no calendar line {prop}",
        s.engagement, s.purpose
    ))
}

fn ical_value(s: &Sent, prop: &str) -> Result<String, String> {
    let line = ical_line(s, prop)?;
    Ok(line
        .split_once(':')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default())
}

/// `> ` before each line; with `bom`, a U+FEFF before the first quoted
/// word, as iOS Mail writes it.
fn quote(text: &str, bom: bool) -> String {
    text.trim_end()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mark = if bom && i == 0 { "\u{feff}" } else { "" };
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {mark}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Words separated by spaces; a "double-quoted" word may hold spaces.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = s.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut w = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => w.push(c),
                    None => return Err("an unclosed quote".into()),
                }
            }
            words.push(w);
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
            words.push(w);
        }
    }
    Ok(words)
}

/// Day and month names as the clients write them, per language
/// (abbreviations without their dot: the format string adds it where the
/// client does).
struct Names {
    days: [&'static str; 7],
    days_abbr: [&'static str; 7],
    months: [&'static str; 12],
    months_abbr: [&'static str; 12],
}

fn names(lang: &str) -> Option<Names> {
    Some(match lang {
        "en" => Names {
            days: [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ],
            days_abbr: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            months: [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ],
            months_abbr: [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ],
        },
        "de" => Names {
            days: [
                "Montag",
                "Dienstag",
                "Mittwoch",
                "Donnerstag",
                "Freitag",
                "Samstag",
                "Sonntag",
            ],
            days_abbr: ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"],
            months: [
                "Januar",
                "Februar",
                "März",
                "April",
                "Mai",
                "Juni",
                "Juli",
                "August",
                "September",
                "Oktober",
                "November",
                "Dezember",
            ],
            months_abbr: [
                "Jan", "Feb", "März", "Apr", "Mai", "Juni", "Juli", "Aug", "Sept", "Okt", "Nov",
                "Dez",
            ],
        },
        "fr" => Names {
            days: [
                "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
            ],
            days_abbr: ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"],
            months: [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ],
            months_abbr: [
                "janv", "févr", "mars", "avr", "mai", "juin", "juil", "août", "sept", "oct", "nov",
                "déc",
            ],
        },
        "es" => Names {
            days: [
                "lunes",
                "martes",
                "miércoles",
                "jueves",
                "viernes",
                "sábado",
                "domingo",
            ],
            days_abbr: ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
            months: [
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ],
            months_abbr: [
                "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
            ],
        },
        "pt" => Names {
            days: [
                "segunda-feira",
                "terça-feira",
                "quarta-feira",
                "quinta-feira",
                "sexta-feira",
                "sábado",
                "domingo",
            ],
            days_abbr: ["seg", "ter", "qua", "qui", "sex", "sáb", "dom"],
            months: [
                "janeiro",
                "fevereiro",
                "março",
                "abril",
                "maio",
                "junho",
                "julho",
                "agosto",
                "setembro",
                "outubro",
                "novembro",
                "dezembro",
            ],
            months_abbr: [
                "jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez",
            ],
        },
        "it" => Names {
            days: [
                "lunedì",
                "martedì",
                "mercoledì",
                "giovedì",
                "venerdì",
                "sabato",
                "domenica",
            ],
            days_abbr: ["lun", "mar", "mer", "gio", "ven", "sab", "dom"],
            months: [
                "gennaio",
                "febbraio",
                "marzo",
                "aprile",
                "maggio",
                "giugno",
                "luglio",
                "agosto",
                "settembre",
                "ottobre",
                "novembre",
                "dicembre",
            ],
            months_abbr: [
                "gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic",
            ],
        },
        "nl" => Names {
            days: [
                "maandag",
                "dinsdag",
                "woensdag",
                "donderdag",
                "vrijdag",
                "zaterdag",
                "zondag",
            ],
            days_abbr: ["ma", "di", "wo", "do", "vr", "za", "zo"],
            months: [
                "januari",
                "februari",
                "maart",
                "april",
                "mei",
                "juni",
                "juli",
                "augustus",
                "september",
                "oktober",
                "november",
                "december",
            ],
            months_abbr: [
                "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
            ],
        },
        _ => return None,
    })
}

fn format_date(t: DateTime<Tz>, lang: &str, format: &str) -> Result<String, String> {
    use std::fmt::Write as _;
    let n = names(lang).ok_or_else(|| format!("no day and month names for {lang:?}"))?;
    let weekday = t.weekday().num_days_from_monday() as usize;
    let month = t.month0() as usize;
    let mut spec = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            spec.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('A') => spec.push_str(n.days[weekday]),
            Some('a') => spec.push_str(n.days_abbr[weekday]),
            Some('B') => spec.push_str(n.months[month]),
            Some('b') => spec.push_str(n.months_abbr[month]),
            Some('o') => {
                let d = t.day();
                let suffix = match (d % 10, d % 100) {
                    (_, 11..=13) => "th",
                    (1, _) => "st",
                    (2, _) => "nd",
                    (3, _) => "rd",
                    _ => "th",
                };
                spec.push_str(&format!("{d}{suffix}"));
            }
            Some('%') => spec.push_str("%%"),
            _ => {
                spec.push('%');
                continue;
            }
        }
        chars.next();
    }
    let mut out = String::new();
    write!(out, "{}", t.format(&spec)).map_err(|_| format!("bad date format {format:?}"))?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Encoding: from the readable fixture to the bytes on the wire.

/// Encodes a filled fixture as the client would send it (see the module
/// doc, step 3).
pub fn encode(text: &str) -> Result<Vec<u8>, String> {
    let text = text.replace("\r\n", "\n");
    let mut out = Vec::with_capacity(text.len() * 2);
    encode_entity(&text, &mut out)?;
    Ok(out)
}

/// A header's parameters: the value before the first `;` (lower-cased) and
/// the `name=value` pairs after it (names lower-cased).
fn content_params(value: &str) -> (String, HashMap<String, String>) {
    let mut parts = value.split(';');
    let main = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            )
        })
        .collect();
    (main, params)
}

fn encode_entity(entity: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let (head, body) = if let Some(rest) = entity.strip_prefix('\n') {
        ("", rest)
    } else if let Some(i) = entity.find("\n\n") {
        (&entity[..i], &entity[i + 2..])
    } else {
        (entity, "")
    };
    for line in head.lines() {
        out.extend_from_slice(encode_header_line(line)?.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if head.is_empty() && !entity.starts_with('\n') {
        return Ok(());
    }
    out.extend_from_slice(b"\r\n");
    let (ctype, params) =
        content_params(&header_value(head, "Content-Type").unwrap_or_else(|| "text/plain".into()));
    let (cte, _) = content_params(
        &header_value(head, "Content-Transfer-Encoding").unwrap_or_else(|| "7bit".into()),
    );
    let lines: Vec<&str> = body.split('\n').collect();
    if ctype.starts_with("multipart/") {
        let boundary = params
            .get("boundary")
            .ok_or_else(|| format!("{ctype} without a boundary"))?;
        return encode_multipart(&lines, boundary, out);
    }
    let mut text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    if params
        .get("format")
        .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
    {
        let delsp = params
            .get("delsp")
            .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
        text = flow(&text, 72, delsp);
    }
    // iCalendar lines longer than 75 octets are folded (RFC 5545 3.1), as
    // every calendar client does; a filled placeholder may have made one.
    if ctype == "text/calendar" || ctype == "application/ics" {
        text = text.iter().flat_map(|l| fold_ical(l)).collect();
    }
    let content = text.join("\r\n");
    // Binary content (an image, an archive) cannot be stored readable: a
    // base64 part whose body is base64 already is taken as it stands.
    if cte == "base64" && is_base64(&content) {
        out.extend_from_slice(content.as_bytes());
        return Ok(());
    }
    let copied = ctype.starts_with("message/") || ctype == "text/rfc822-headers";
    let bytes = if copied {
        content.into_bytes()
    } else {
        // RFC 2045's default for text is us-ascii; other types (an .ics
        // attachment, a PDF) are taken byte for byte as UTF-8.
        let default = if ctype.starts_with("text/") {
            "us-ascii"
        } else {
            "utf-8"
        };
        let charset = params
            .get("charset")
            .map(|c| c.to_ascii_lowercase())
            .unwrap_or_else(|| default.into());
        to_charset(&content, &charset)?
    };
    match cte.as_str() {
        "quoted-printable" => out.extend_from_slice(quoted_printable(&bytes).as_bytes()),
        "base64" => out.extend_from_slice(base64_lines(&bytes).as_bytes()),
        "7bit" | "8bit" | "binary" => out.extend_from_slice(&bytes),
        other => return Err(format!("unknown Content-Transfer-Encoding {other:?}")),
    }
    Ok(())
}

/// One iCalendar content line as folded lines of at most 75 octets, never
/// splitting a character.
fn fold_ical(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in line.chars() {
        let limit = if out.is_empty() { 75 } else { 74 };
        if current.len() + c.len_utf8() > limit {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    out.push(current);
    let mut folded: Vec<String> = Vec::with_capacity(out.len());
    for (i, piece) in out.into_iter().enumerate() {
        folded.push(if i == 0 { piece } else { format!(" {piece}") });
    }
    folded
}

fn is_base64(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n'))
}

fn encode_multipart(lines: &[&str], boundary: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut preamble: Vec<&str> = Vec::new();
    let mut parts: Vec<Vec<&str>> = Vec::new();
    let mut epilogue: Option<Vec<&str>> = None;
    for line in lines {
        if let Some(e) = epilogue.as_mut() {
            e.push(line);
        } else if *line == close {
            epilogue = Some(Vec::new());
        } else if *line == open {
            parts.push(Vec::new());
        } else if let Some(p) = parts.last_mut() {
            p.push(line);
        } else {
            preamble.push(line);
        }
    }
    let Some(epilogue) = epilogue else {
        return Err(format!("multipart {boundary:?} is not closed"));
    };
    for line in &preamble {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for part in parts {
        out.extend_from_slice(open.as_bytes());
        out.extend_from_slice(b"\r\n");
        encode_entity(&part.join("\n"), out)?;
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(close.as_bytes());
    if !epilogue.is_empty() {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(epilogue.join("\r\n").as_bytes());
    }
    Ok(())
}

fn to_charset(text: &str, charset: &str) -> Result<Vec<u8>, String> {
    match charset {
        "utf-8" | "utf8" => Ok(text.as_bytes().to_vec()),
        "us-ascii" | "ascii" => {
            if text.is_ascii() {
                Ok(text.as_bytes().to_vec())
            } else {
                Err("non-ASCII text in a us-ascii part".into())
            }
        }
        "iso-8859-1" | "latin1" => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| format!("{c:?} is not in {charset}")))
            .collect(),
        "windows-1252" | "cp1252" => text
            .chars()
            .map(|c| windows_1252(c).ok_or_else(|| format!("{c:?} is not in {charset}")))
            .collect(),
        other => Err(format!("no encoder for charset {other:?}")),
    }
}

/// Windows-1252: Latin-1 with printable characters in 0x80–0x9F.
fn windows_1252(c: char) -> Option<u8> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    if let Some((_, b)) = HIGH.iter().find(|(h, _)| *h == c) {
        return Some(*b);
    }
    match u32::from(c) {
        n @ (0..=0x7F | 0xA0..=0xFF) => u8::try_from(n).ok(),
        _ => None,
    }
}

/// RFC 2045 quoted-printable: CRLF stays a hard break, lines are cut at 76
/// with a soft break (`=`), never inside an `=XX`.
fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3 / 2);
    let text_lines: Vec<&[u8]> = split_crlf(bytes);
    for (i, line) in text_lines.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let mut width = 0;
        for (j, &b) in line.iter().enumerate() {
            let last = j + 1 == line.len();
            let token = match b {
                b'=' => "=3D".to_string(),
                b' ' | b'\t' if last => format!("={b:02X}"),
                b' ' | b'\t' | 33..=126 => (b as char).to_string(),
                _ => format!("={b:02X}"),
            };
            // Room for the token and, unless it ends the line, a soft break.
            let room = if last { 76 } else { 75 };
            if width + token.len() > room {
                out.push_str("=\r\n");
                width = 0;
            }
            out.push_str(&token);
            width += token.len();
        }
    }
    out
}

fn split_crlf(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'\r' && bytes[i + 1] == b'\n' {
            lines.push(&bytes[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    lines.push(&bytes[start..]);
    lines
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_lines(data: &[u8]) -> String {
    let b = base64(data);
    b.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// RFC 3676 format=flowed at `width`: each line re-wrapped at spaces, a
/// trailing space marking each soft break (with `delsp`, one more, since the
/// reader deletes it); quote depth kept on every piece; space-stuffing where
/// a line would start with a space or "From ".
fn flow(lines: &[String], width: usize, delsp: bool) -> Vec<String> {
    let marker = if delsp { " " } else { "" };
    let mut out = Vec::new();
    for line in lines {
        if line == "-- " {
            out.push(line.clone());
            continue;
        }
        let depth = line.chars().take_while(|c| *c == '>').count();
        let rest = &line[depth..];
        let rest = if depth > 0 {
            rest.strip_prefix(' ').unwrap_or(rest)
        } else {
            rest
        };
        let rest = rest.trim_end();
        let prefix = if depth > 0 {
            format!("{} ", ">".repeat(depth))
        } else if rest.starts_with(' ') || rest.starts_with("From ") {
            " ".to_string()
        } else {
            String::new()
        };
        if rest.is_empty() {
            out.push(">".repeat(depth));
            continue;
        }
        let room = width.saturating_sub(prefix.chars().count()).max(20);
        let mut piece = String::new();
        for word in rest.split(' ') {
            let len = piece.chars().count();
            if len > 0 && len + word.chars().count() > room {
                out.push(format!("{prefix}{piece}{marker}"));
                piece.clear();
            }
            piece.push_str(word);
            piece.push(' ');
        }
        out.push(format!("{prefix}{}", piece.trim_end()));
    }
    out
}

/// Encodes every `=?charset?Q?readable?=` (or `?B?`) shell in a header line.
fn encode_header_line(line: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("=?") {
        let after = &rest[start + 2..];
        let Some((charset, tail)) = after.split_once('?') else {
            break;
        };
        let mut tail_chars = tail.chars();
        let (Some(mode), Some('?')) = (tail_chars.next(), tail_chars.next()) else {
            break;
        };
        let text_start = &tail[2..];
        let Some(end) = text_start.find("?=") else {
            break;
        };
        let readable = &text_start[..end];
        out.push_str(&rest[..start]);
        out.push_str(&encoded_words(readable, charset, mode)?);
        rest = &text_start[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// RFC 2047 words for `text`, each at most 75 characters, folded onto
/// continuation lines; plain ASCII is left as it is.
fn encoded_words(text: &str, charset: &str, mode: char) -> Result<String, String> {
    if text.is_ascii() {
        return Ok(text.to_string());
    }
    let cs = charset.to_ascii_lowercase();
    let overhead = charset.len() + 7; // =? ? Q ? ?=
    let mut words = Vec::new();
    let mut chunk = String::new();
    let encoded_len = |s: &str| -> Result<usize, String> {
        let b = to_charset(s, &cs)?;
        Ok(match mode.to_ascii_uppercase() {
            'B' => b.len().div_ceil(3) * 4,
            _ => q_encode(&b).len(),
        })
    };
    for c in text.chars() {
        let mut next = chunk.clone();
        next.push(c);
        if !chunk.is_empty() && encoded_len(&next)? + overhead > 75 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    let mut encoded = Vec::new();
    for w in words {
        let b = to_charset(&w, &cs)?;
        let body = match mode.to_ascii_uppercase() {
            'B' => base64(&b),
            'Q' => q_encode(&b),
            m => return Err(format!("encoded-word mode {m:?}")),
        };
        encoded.push(format!("=?{charset}?{mode}?{body}?="));
    }
    Ok(encoded.join("\r\n "))
}

fn q_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b' ' => out.push('_'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'!' | b'*' | b'+' | b'-' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Judging: what Handoff makes of each reply.

/// What Handoff recorded for one reply.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Handoff's kind, in the labels' vocabulary where the names differ.
    pub kind: String,
    /// The milestone Handoff attached the reply to, if any: the delivered
    /// milestone, or the one a calendar reply was recorded against.
    pub milestone: Option<String>,
    /// The PARTSTAT recorded for a calendar reply.
    pub partstat: Option<String>,
    /// The engagement Handoff matched it to.
    pub engagement: Option<String>,
    /// The rule's reason (`ingest --explain`).
    pub why: String,
    /// Time in `Inbox::ingest` alone (the store copy and open excluded).
    pub took: Duration,
}

/// The engagement a fixture's placeholders cite (the first REF's), if any:
/// the thread it is on.
pub fn cited_engagement(file: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir().join(file)).ok()?;
    let start = text.find("{{")?;
    let inner = &text[start + 2..start + text[start..].find("}}")?];
    let reference = split_words(inner).ok()?.into_iter().nth(1)?;
    reference.split('/').next().map(str::to_string)
}

/// Today's kind names in the labels' vocabulary. They are the same names
/// today; anything Handoff says that the vocabulary has no word for
/// (`owner_command`, `duplicate`, `failed`, `too_large`) stays as it is and
/// counts as a misreading.
pub fn vocabulary(kind: &str) -> String {
    match kind {
        // Handoff's `unparseable` is a mail the parser could not read at
        // all; the label means "no sender to be read", which is the nearest.
        "unparseable" => "unparseable".into(),
        other => other.to_string(),
    }
}

/// Runs each reply through the pipeline against a fresh copy of the
/// scenario's store, at [`READ_AT`].
pub fn judge(scenario: &Scenario, replies: &[Vec<u8>]) -> Vec<Verdict> {
    use handoff::inbox::{Inbox, Source};
    use handoff::store::{Direction, EventFilter, Store};
    let loaded = handoff::config::load(&scenario.config).expect("scenario config");
    let model = &loaded.model;
    let templates = handoff::templates::Templates::load(None).expect("templates");
    let composer = handoff::outbox::Composer {
        model,
        templates: &templates,
    };
    let inbox = Inbox {
        model,
        composer: &composer,
    };
    let now = DateTime::parse_from_rfc3339(READ_AT)
        .expect("READ_AT")
        .to_utc();
    let work = tempfile::tempdir().expect("tempdir");
    let all = EventFilter {
        engagement: None,
        limit: None,
    };
    let mut verdicts = Vec::with_capacity(replies.len());
    for (i, raw) in replies.iter().enumerate() {
        let copy = work.path().join(format!("reply-{i}.db"));
        std::fs::copy(&scenario.state, &copy).expect("copy the store");
        let wal = scenario.state.with_extension("db-wal");
        if wal.exists() {
            std::fs::copy(&wal, copy.with_extension("db-wal")).expect("copy the WAL");
        }
        let mut store = Store::open(&copy).expect("open the copy");
        let before = store.events(&all).expect("events").len();
        let source = Source {
            account: "corpus".into(),
            uid_validity: 1,
            uid: 1,
            truncated: false,
        };
        let started = Instant::now();
        let outcome = inbox.ingest(&mut store, raw, &source, now, false);
        let took = started.elapsed();
        let verdict = match outcome {
            Ok(o) => {
                let events = store.events(&all).expect("events");
                let new: Vec<_> = events[before.min(events.len())..]
                    .iter()
                    .filter(|e| e.direction == Direction::In)
                    .collect();
                let recorded = new.iter().find(|e| e.milestone.is_some());
                // The calendar recorder has the last word on who answered:
                // the pipeline says `calendar_reply` before it looks.
                let kind = if o.kind == "calendar_reply"
                    && new.iter().any(|e| e.kind == "ignored_sender")
                {
                    "ignored_sender".to_string()
                } else {
                    vocabulary(&o.kind)
                };
                Verdict {
                    kind,
                    milestone: o
                        .milestone
                        .clone()
                        .or_else(|| recorded.and_then(|e| e.milestone.clone())),
                    partstat: new.iter().find_map(|e| e.partstat.clone()),
                    engagement: o.engagement.clone(),
                    why: o.why,
                    took,
                }
            }
            Err(e) => Verdict {
                kind: "failed".into(),
                milestone: None,
                partstat: None,
                engagement: None,
                why: e.to_string(),
                took,
            },
        };
        verdicts.push(verdict);
        drop(store);
        let _ = std::fs::remove_file(&copy);
    }
    verdicts
}
