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
//! reports the kind, the milestone, the PARTSTAT and the engagement that
//! Handoff recorded.
//!
//! Here: the manifest, the scenario and the placeholders. Beside it in
//! `corpus/`: `sent.rs` (reading the sent mails), `dates.rs` (quote-header
//! dates in seven languages), `encode.rs` (step 3), `judge.rs` (the pipeline).
//! Both users include this file by `#[path]`, so no other test binary
//! compiles it.

#![allow(dead_code)] // the test and the benchmark use different halves

#[path = "corpus/dates.rs"]
mod dates;
#[path = "corpus/encode.rs"]
mod encode;
#[path = "corpus/judge.rs"]
mod judge;
#[path = "corpus/sent.rs"]
mod sent;

pub use encode::encode;
// The benchmark's half: the test does not judge.
#[allow(unused_imports)]
pub use judge::{Verdict, cited_engagement, judge, vocabulary};
pub use sent::Sent;

use dates::format_date;
use sent::{ical_line, ical_value, read_sent};

use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// A header's value in a header block (LF line ends), unfolded.
pub(crate) fn header_value(headers: &str, name: &str) -> Option<String> {
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
pub(crate) fn split_words(s: &str) -> Result<Vec<String>, String> {
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
