//! Header hygiene, as properties over generated config values (names and
//! titles made of plain words, long words, accents, scripts, quotes, and
//! the invisible characters that reorder or hide text):
//!
//! - a value with an invisible character (or a name too long to be one) is
//!   refused by `check` at the value's own FILE:LINE, naming the character;
//! - every other config composes every kind of mail with no header line
//!   over 998 octets, the Subject, From, To and Reply-To folded at 78, the
//!   names and the Subject reading back exactly (a long title shortened
//!   with "…" in the Subject, whole in the body), and nothing invisible in
//!   any header or calendar property.
//!
//! `HANDOFF_FUZZ_CASES=N` runs more cases.

use handoff::config::{self, ConfigError};
use handoff::outbox::{Composer, MailRequest};
use handoff::templates::{Purpose, Templates};
use mail_parser::MessageParser;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

const NOW: &str = "2026-11-24T13:00:00Z";

fn cases(default: u32) -> u32 {
    std::env::var("HANDOFF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The characters that must never reach a header: the bidi controls, the
/// other invisible format characters, controls, separators.
const HIDDEN: &[char] = &[
    '\u{202A}',
    '\u{202B}',
    '\u{202C}',
    '\u{202D}',
    '\u{202E}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200B}',
    '\u{200E}',
    '\u{200F}',
    '\u{2060}',
    '\u{FEFF}',
    '\u{00AD}',
    '\u{2028}',
    '\u{E0041}',
    '\u{3164}',
    '\u{7}',
    '\u{1B}',
    '\u{85}',
    '\r',
    '\n',
    '\t',
];

fn hidden(c: char) -> bool {
    HIDDEN.contains(&c)
}

/// Pieces of names and titles; a long word of up to `long` characters.
fn fragment(long: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Za-z]{1,12}".prop_map(|w| w.to_string()),
        3 => Just(" ".to_string()),
        2 => proptest::sample::select(vec![
            "Díaz", "Müller & Söhne", "山田", "太郎", "Ελένη", "می\u{200C}خواهم", "👩\u{200D}👩\u{200D}👧",
            "\"quoted\"", "a,b", "<x@y>", "; ROLE=CHAIR:", "=?utf-8?q?x?=", "\\", "O'Brien", "—", "…",
        ])
        .prop_map(str::to_string),
        1 => (20usize..long).prop_map(|n| "x".repeat(n)),
    ]
}

/// A value: mostly clean, sometimes with one invisible character somewhere.
fn text(max: usize, long: usize) -> impl Strategy<Value = String> {
    let clean = move || proptest::collection::vec(fragment(long), 1..max).prop_map(|f| f.concat());
    prop_oneof![
        4 => clean(),
        1 => (clean(), proptest::sample::select(HIDDEN.to_vec()), any::<proptest::sample::Index>())
            .prop_map(|(s, c, at)| {
                let chars: Vec<char> = s.chars().collect();
                let i = at.index(chars.len() + 1);
                chars[..i].iter().chain(std::iter::once(&c)).chain(&chars[i..]).collect()
            }),
    ]
}

/// A TOML basic string holding `s` exactly.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || hidden(c) => out.push_str(&format!("\\U{:08X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Clone)]
struct Values {
    owner: String,
    contractor: String,
    title: String,
    milestone: String,
}

fn values() -> impl Strategy<Value = Values> {
    // Names short enough to be names (mostly), titles of any length.
    (text(5, 90), text(5, 90), text(12, 400), text(12, 400)).prop_map(
        |(owner, contractor, title, milestone)| Values {
            owner,
            contractor,
            title,
            milestone,
        },
    )
}

/// The config, and the line each value stands on.
fn config_text(v: &Values) -> (String, [(usize, &'static str); 4]) {
    let lines = [
        "[owner]".to_string(),
        format!("name = {}", toml_string(&v.owner)),
        "email = \"ada@example.test\"".into(),
        "timezone = \"Europe/Berlin\"".into(),
        "[policy]".into(),
        "quiet_hours = \"00:00-00:00\"".into(),
        "[[contractor]]".into(),
        "id = \"dana\"".into(),
        format!("name = {}", toml_string(&v.contractor)),
        "email = \"dana@example.test\"".into(),
        "timezone = \"America/New_York\"".into(),
        "[[engagement]]".into(),
        "id = \"site\"".into(),
        "contractor = \"dana\"".into(),
        format!("title = {}", toml_string(&v.title)),
        "agreement_signed = 2026-11-02".into(),
        "starts = 2026-11-24".into(),
        "kickoff = 2026-11-25T15:00:00".into(),
        "deliverables = \"Five pages\"".into(),
        "quality_standard = \"Valid HTML\"".into(),
        "performance_standard = \"On time\"".into(),
        "[[engagement.milestone]]".into(),
        "id = \"wf\"".into(),
        format!("title = {}", toml_string(&v.milestone)),
        "due = 2026-12-05".into(),
    ];
    (
        lines.join("\n") + "\n",
        [
            (2, "owner"),
            (9, "contractor"),
            (15, "engagement"),
            (24, "milestone"),
        ],
    )
}

fn refused(text: &str, is_name: bool) -> bool {
    text.chars().any(hidden) || text.trim().is_empty() || (is_name && text.chars().count() > 100)
}

/// The header block's fields: name and physical lines.
fn fields(raw: &[u8]) -> Vec<(String, Vec<String>)> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(line.to_string());
            }
        } else {
            let name = line.split(':').next().unwrap_or_default().to_string();
            out.push((name, vec![line.to_string()]));
        }
    }
    out
}

static COMPOSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static REFUSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn holds(v: &Values, base: &Path) -> Result<(), TestCaseError> {
    let (text, places) = config_text(v);
    let values = [&v.owner, &v.contractor, &v.title, &v.milestone];
    let bad: Vec<usize> = (0..4).filter(|i| refused(values[*i], *i < 2)).collect();
    let loaded = match config::parse(Path::new("hygiene.toml"), &text, base, None) {
        Ok(l) => l,
        Err(ConfigError::Invalid { diagnostics, .. }) => {
            REFUSED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            prop_assert!(!bad.is_empty(), "refused a clean config: {diagnostics:?}");
            for i in &bad {
                let (line, _) = places[*i];
                prop_assert!(
                    diagnostics
                        .iter()
                        .any(|d| d.severity == config::Severity::Error
                            && d.line == line
                            && d.to_string().starts_with(&format!("hygiene.toml:{line}:"))),
                    "no error at line {line}: {diagnostics:?}"
                );
            }
            if let Some(c) = bad
                .iter()
                .flat_map(|i| values[*i].chars())
                .find(|c| hidden(*c))
            {
                let code = format!("U+{:04X}", c as u32);
                prop_assert!(
                    diagnostics.iter().any(|d| d.message.contains(&code)),
                    "{code} not named: {diagnostics:?}"
                );
            }
            return Ok(());
        }
        Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
    };
    COMPOSED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    prop_assert!(
        bad.is_empty(),
        "accepted {:?}",
        bad.iter().map(|i| values[*i]).collect::<Vec<_>>()
    );
    let model = &loaded.model;
    let templates = Templates::load(None).unwrap();
    let composer = Composer {
        model,
        templates: &templates,
    };
    let now = NOW.parse().unwrap();
    let e = &model.engagements[0];
    let mut requests: Vec<MailRequest> = Purpose::ALL
        .iter()
        .map(|p| MailRequest {
            purpose: *p,
            engagement: e.id.clone(),
            milestone: p.needs_milestone().then(|| "wf".to_string()),
            extra: handoff::outbox::check::sample_extra(*p),
            calendar: None,
        })
        .collect();
    requests.push(handoff::invite::kickoff_request(
        model,
        e,
        "kickoff-uid@example.test".into(),
        0,
        now,
        now,
    ));
    for req in &requests {
        let mail = composer
            .compose(req, Some("<root@example.test>"), now)
            .map_err(|err| TestCaseError::fail(format!("{}: {err}", req.purpose)))?;
        for (name, lines) in fields(&mail.bytes) {
            for line in &lines {
                prop_assert!(
                    line.len() <= 998,
                    "{}: {name} line of {} octets",
                    req.purpose,
                    line.len()
                );
            }
            if ["Subject", "From", "To", "Reply-To"].contains(&name.as_str()) {
                for line in &lines {
                    prop_assert!(
                        line.len() <= 78,
                        "{}: {name} not folded at 78: {line:?}",
                        req.purpose
                    );
                }
            }
        }
        let parsed = MessageParser::default()
            .parse(&mail.bytes)
            .ok_or_else(|| TestCaseError::fail("does not parse"))?;
        let subject = parsed.subject().unwrap_or_default();
        prop_assert!(!subject.chars().any(hidden), "{}: {subject:?}", req.purpose);
        prop_assert!(
            subject.chars().count() <= 200,
            "{}: {} chars",
            req.purpose,
            subject.chars().count()
        );
        let to = parsed
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.name())
            .unwrap_or_default();
        let want = if req.purpose.is_owner_notice() {
            &v.owner
        } else {
            &v.contractor
        };
        prop_assert_eq!(words(to), words(want), "{}: To reads back", req.purpose);
        let from = parsed
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.name())
            .unwrap_or_default();
        prop_assert_eq!(words(from), words(&v.owner));
        if req.purpose == Purpose::Instructions {
            if v.title.chars().count() <= 80 {
                prop_assert_eq!(words(subject), words(&format!("{} [site]", v.title)));
            } else {
                prop_assert!(subject.ends_with("… [site]"), "{subject:?}");
                let body = parsed.body_text(0).unwrap_or_default();
                prop_assert!(
                    body.contains(v.title.as_str()),
                    "the body keeps the whole title"
                );
            }
        }
        if let Some(cal) = &req.calendar {
            prop_assert!(
                !cal.ics.chars().any(hidden_in_ics),
                "{}: calendar {:?}",
                req.purpose,
                cal.ics
            );
            // The calendar crate folds at 75 octets after the fold's space.
            for line in cal.ics.split("\r\n") {
                prop_assert!(line.len() <= 76, "calendar line of {} octets", line.len());
            }
        }
    }
    Ok(())
}

/// Text with its runs of white space made one space, trimmed: readers
/// differ in how they keep a display name's spacing.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Hidden characters, but the line ends iCalendar text is made of.
fn hidden_in_ics(c: char) -> bool {
    hidden(c) && c != '\r' && c != '\n'
}

#[test]
fn no_header_line_is_over_998_or_unfolded_and_nothing_invisible_reaches_a_header() {
    let base = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: cases(96),
        max_shrink_iters: 500,
        failure_persistence: None,
        ..Config::default()
    });
    runner.run(&values(), |v| holds(&v, base.path())).unwrap();
    let (composed, refused) = (
        COMPOSED.load(std::sync::atomic::Ordering::SeqCst),
        REFUSED.load(std::sync::atomic::Ordering::SeqCst),
    );
    println!("{composed} configs composed every mail, {refused} refused");
    assert!(
        composed >= 10 && refused >= 5,
        "both sides tried: {composed} composed, {refused} refused"
    );
}

#[test]
fn a_title_with_a_direction_override_is_refused_at_its_line_and_column() {
    let v = Values {
        owner: "Ada Lovelace".into(),
        contractor: "Dana \u{202E}gnp.exe\u{202C}".into(),
        title: "Website".into(),
        milestone: "Wireframes".into(),
    };
    let (text, _) = config_text(&v);
    let base = tempfile::tempdir().unwrap();
    let Err(ConfigError::Invalid { diagnostics, .. }) =
        config::parse(Path::new("hygiene.toml"), &text, base.path(), None)
    else {
        panic!("accepted a name with U+202E");
    };
    let d = diagnostics
        .iter()
        .find(|d| d.message.contains("U+202E (RIGHT-TO-LEFT OVERRIDE)"))
        .expect("names the override");
    assert_eq!(
        d.to_string().split(':').take(3).collect::<Vec<_>>(),
        ["hygiene.toml", "9", "8"]
    );
}
