//! The reply corpus is well-formed: every fixture is labelled once, in the
//! vocabulary, every placeholder resolves against the mails the scenario
//! really sent, every filled reply is a mail, and the corpus covers the
//! languages, clients and machine mail it claims to. How well Handoff reads
//! it is not asserted here: `cargo bench --bench classify` measures that.
//!
//! `CORPUS_DUMP=DIR cargo test --test corpus` writes every filled reply into
//! DIR, as the bytes Handoff is given: the way to see what a fixture becomes.

#[path = "common/corpus.rs"]
mod corpus;

use corpus::{FAMILIES, KINDS, LANGS, Label, Scenario};
use mail_parser::{MessageParser, MimeHeaders};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const PARTSTATS: &[&str] = &["accepted", "declined", "tentative", "delegated"];

fn eml_files(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            eml_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "eml") {
            out.insert(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

#[test]
fn every_fixture_is_labelled_once_in_the_vocabulary() {
    let labels = corpus::labels();
    let mut listed = BTreeSet::new();
    let mut problems = Vec::new();
    for l in &labels {
        if !listed.insert(l.file.clone()) {
            problems.push(format!("{}: listed twice", l.file));
        }
        if !corpus::dir().join(&l.file).is_file() {
            problems.push(format!("{}: listed, but there is no such file", l.file));
        }
        if !KINDS.contains(&l.kind.as_str()) {
            problems.push(format!(
                "{}: kind {:?} is not in the vocabulary",
                l.file, l.kind
            ));
        }
        for a in &l.also {
            if !KINDS.contains(&a.as_str()) || *a == l.kind {
                problems.push(format!("{}: also {a:?} is not a second kind", l.file));
            }
        }
        if !LANGS.contains(&l.lang.as_str()) {
            problems.push(format!("{}: lang {:?}", l.file, l.lang));
        }
        if !FAMILIES.contains(&l.client.as_str()) {
            problems.push(format!(
                "{}: client {:?} is not a known family",
                l.file, l.client
            ));
        }
        match (&l.partstat, l.kind.as_str()) {
            (Some(p), "calendar_reply") if PARTSTATS.contains(&p.as_str()) => {}
            (None, "calendar_reply") => {
                problems.push(format!("{}: a calendar reply needs its partstat", l.file))
            }
            (None, _) => {}
            (Some(p), _) => problems.push(format!("{}: partstat {p:?} out of place", l.file)),
        }
        if l.note.trim().is_empty() || l.note.contains('\n') {
            problems.push(format!("{}: the note must be one line", l.file));
        }
    }
    let mut on_disk = BTreeSet::new();
    eml_files(&corpus::dir(), &corpus::dir(), &mut on_disk);
    for f in on_disk.difference(&listed) {
        problems.push(format!("{f}: not in labels.toml"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_corpus_covers_languages_clients_kinds_and_machine_mail() {
    let labels = corpus::labels();
    assert!(labels.len() >= 160, "{} replies, want 160", labels.len());
    let count = |f: &dyn Fn(&Label) -> bool| labels.iter().filter(|l| f(l)).count();
    for lang in LANGS.iter().filter(|l| **l != "en") {
        let n = count(&|l| l.lang == *lang);
        assert!(n >= 12, "{n} replies in {lang}, want 12");
    }
    for family in FAMILIES {
        assert!(
            count(&|l| l.client == *family) > 0,
            "no reply from {family}"
        );
    }
    for kind in KINDS {
        assert!(count(&|l| l.kind == *kind) > 0, "no reply labelled {kind}");
    }
    // The human hard cases, several of each.
    assert!(count(&|l| l.kind == "delivery" && l.also.contains(&"question".into())) >= 3);
    assert!(count(&|l| l.kind == "status_report" && l.also.contains(&"question".into())) >= 3);
    for partstat in PARTSTATS {
        assert!(
            count(&|l| l.partstat.as_deref() == Some(partstat)) > 0,
            "no calendar reply {partstat}"
        );
    }
}

/// The header block of a mail, unfolded, as (lower-cased name, value).
fn headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

/// The decoded text/calendar parts of a mail.
fn calendars(m: &mail_parser::Message<'_>) -> Vec<String> {
    m.parts
        .iter()
        .filter(|p| {
            p.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
            })
        })
        .filter_map(|p| p.text_contents().map(|t| t.replace("\r\n ", "")))
        .collect()
}

#[test]
fn every_reply_fills_encodes_and_parses_as_the_mail_its_label_says() {
    let scenario = Scenario::build();
    let labels = corpus::labels();
    let mut problems = Vec::new();
    let mut per_family: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &labels {
        *per_family.entry(l.client.as_str()).or_default() += 1;
        let raw = match scenario.reply(&l.file) {
            Ok(r) => r,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if let Some(dump) = std::env::var_os("CORPUS_DUMP") {
            let path = Path::new(&dump).join(&l.file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &raw).unwrap();
        }
        let mut say = |what: String| problems.push(format!("{}: {what}", l.file));
        // On the wire: CRLF only, no line over RFC 5322's 998 characters.
        for (i, line) in raw.split(|b| *b == b'\n').enumerate() {
            if line.len() > 999 {
                say(format!("line {} is {} bytes long", i + 1, line.len()));
            }
            if i + 1 < raw.split(|b| *b == b'\n').count() && !line.ends_with(b"\r") {
                say(format!("line {} ends in a bare LF", i + 1));
                break;
            }
        }
        let Some(m) = MessageParser::default().parse(&raw) else {
            say("does not parse as a mail".into());
            continue;
        };
        let h = headers(&raw);
        let has = |name: &str| h.iter().any(|(n, _)| n == name);
        for required in ["from", "date", "message-id", "subject"] {
            if !has(required) {
                say(format!("no {required} header"));
            }
        }
        if m.date().is_none() {
            say("its Date does not parse".into());
        }
        for part in m.text_bodies().chain(m.html_bodies()) {
            if part.text_contents().is_none() {
                say("a text part that does not decode".into());
            }
        }
        let text = String::from_utf8_lossy(&raw).to_string();
        let report_type = |t: &str| {
            h.iter().any(|(n, v)| {
                n == "content-type"
                    && v.to_ascii_lowercase().contains("multipart/report")
                    && v.to_ascii_lowercase().contains(t)
            })
        };
        let cal = calendars(&m);
        let method = |name: &str| cal.iter().any(|c| c.contains(&format!("METHOD:{name}")));
        let dsn = |action: &str, class: &str| {
            report_type("delivery-status")
                && text.contains(&format!("Action: {action}"))
                && text.contains(&format!("Status: {class}."))
        };
        let partstat = format!(
            "PARTSTAT={}",
            l.partstat.as_deref().unwrap_or("?").to_ascii_uppercase()
        );
        let wrong = match l.kind.as_str() {
            "bounce" if !dsn("failed", "5") => {
                Some("a bounce must be a delivery-status report, Action: failed, 5.x.x".into())
            }
            "delivery_delayed" if !dsn("delayed", "4") => {
                Some("a delay must be a delivery-status report, Action: delayed, 4.x.x".into())
            }
            "read_receipt" if !report_type("disposition-notification") => {
                Some("a read receipt must be a disposition-notification report".into())
            }
            "calendar_reply" if !method("REPLY") || !cal.iter().any(|c| c.contains(&partstat)) => {
                Some(format!(
                    "a calendar reply must carry METHOD:REPLY and {partstat}"
                ))
            }
            "calendar_counter" if !method("COUNTER") => {
                Some("a counter must carry METHOD:COUNTER".to_string())
            }
            "calendar_refresh" if !method("REFRESH") => {
                Some("a refresh must carry METHOD:REFRESH".to_string())
            }
            _ => None,
        };
        if let Some(w) = wrong {
            say(w);
        }
        if l.client == "mailing-list" && !has("list-id") {
            say("mailing-list mail without List-Id".into());
        }
        // The milestone label names a real milestone of the engagement the
        // reply is about, and a calendar answer carries that milestone's UID.
        if let Some(ms) = &l.milestone {
            let fixture = std::fs::read_to_string(corpus::dir().join(&l.file)).unwrap();
            let engagements: BTreeSet<&str> = fixture
                .match_indices("{{")
                .filter_map(|(i, _)| fixture[i + 2..].split_whitespace().nth(1))
                .filter_map(|r| r.split('/').next())
                .collect();
            let known = engagements.iter().any(|e| {
                scenario
                    .milestones
                    .get(*e)
                    .is_some_and(|list| list.contains(ms))
            });
            if !known {
                say(format!("milestone {ms:?} is not one of {engagements:?}"));
            }
            if l.kind.starts_with("calendar_") {
                let uid = engagements.iter().find_map(|e| {
                    scenario
                        .find(&format!("{e}/milestone_invite/{ms}"))
                        .ok()
                        .and_then(|s| {
                            s.calendar
                                .iter()
                                .find_map(|c| c.strip_prefix("UID:").map(str::to_string))
                        })
                });
                if !uid.is_some_and(|u| cal.iter().any(|c| c.contains(&u))) {
                    say(format!("its calendar does not carry the UID of {ms}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("replies per client family: {per_family:?}");
}
