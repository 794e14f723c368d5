//! The fuzz targets' properties (see `fuzz/`), run in CI as bounded property
//! tests: generated and mutated config texts and mails never panic Handoff.
//!
//! - config: any text either loads or yields diagnostics, each of which points
//!   inside the text (a line and column that exist).
//! - inbound: any bytes run through the whole pipeline (parse → dedupe →
//!   match → classify → record) on a store where the instructions went out,
//!   and always come back with an outcome.
//!
//! The case counts keep the run to a few seconds; `HANDOFF_FUZZ_CASES=N`
//! raises them for a longer run by hand. The README's "Fuzzing" section quotes
//! the figures.

mod common;

use handoff::config::{self, ConfigError};
use handoff::inbox::{Inbox, Source};
use handoff::model::Model;
use handoff::outbox::{Composer, Transport};
use handoff::store::Store;
use handoff::templates::Templates;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;
use std::sync::Mutex;

const EXAMPLE: &str = include_str!("../config/handoff.toml");
const NOW: &str = "2026-11-24T13:00:00Z";

fn cases(default: u32) -> u32 {
    std::env::var("HANDOFF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        // Shrinking a failure is worth a little time; an unbounded search is not.
        max_shrink_iters: 2_000,
        // A failure prints its shrunk input; no regression file is written
        // (the runner, used without the macro, knows no source file for one).
        failure_persistence: None,
        ..Config::default()
    })
}

/// Pieces a hostile or careless editor might type into a config.
const CONFIG_SNIPPETS: &[&str] = &[
    "\n",
    "\r\n",
    "\"",
    "\"\"\"",
    "'",
    "[",
    "]",
    "[[engagement]]\n",
    "[[engagement.milestone]]\n",
    "[[contractor]]\n",
    "[owner]\n",
    "=",
    " = ",
    "#",
    "\\",
    "\\u0000",
    "\\r\\nBcc: evil@example.test",
    "{",
    "}",
    ",",
    "2026-02-30",
    "2026-11-24T25:61:00",
    "\"* * * * * * *\"",
    "\"0 0 31 2 *\"",
    "\"Mars/Olympus\"",
    "\"1d-3h\"",
    "\"99999999999999999999d\"",
    "-1",
    "1e309",
    "\u{0}",
    "\u{202e}",
    "é",
    "𝄞",
    "id = \"website\"\n",
    "contractor = \"nobody\"\n",
    "password = \"hunter2\"\n",
    "tls = \"none\"\n",
];

/// One edit of a text: where (a fraction of its length), what, how much.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: f64, len: usize },
    Insert { at: f64, text: String },
    DuplicateLine { at: f64 },
    SwapLines { a: f64, b: f64 },
}

fn edit() -> impl Strategy<Value = Edit> {
    let snippet = prop_oneof![
        3 => proptest::sample::select(CONFIG_SNIPPETS).prop_map(str::to_string),
        1 => any::<String>(),
    ];
    prop_oneof![
        (0.0..1.0f64, 1..40usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (0.0..1.0f64, snippet).prop_map(|(at, text)| Edit::Insert { at, text }),
        (0.0..1.0f64).prop_map(|at| Edit::DuplicateLine { at }),
        (0.0..1.0f64, 0.0..1.0f64).prop_map(|(a, b)| Edit::SwapLines { a, b }),
    ]
}

/// The char boundary nearest below `fraction` of `s`.
fn boundary(s: &str, fraction: f64) -> usize {
    let mut i = ((s.len() as f64) * fraction) as usize;
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    for e in edits {
        match e {
            Edit::Delete { at, len } => {
                let a = boundary(&s, *at);
                let mut b = (a + len).min(s.len());
                while !s.is_char_boundary(b) {
                    b += 1;
                }
                s.replace_range(a..b, "");
            }
            Edit::Insert { at, text } => {
                let a = boundary(&s, *at);
                s.insert_str(a, text);
            }
            Edit::DuplicateLine { at } => {
                let mut lines: Vec<&str> = s.split_inclusive('\n').collect();
                if !lines.is_empty() {
                    let i = ((lines.len() as f64) * at) as usize % lines.len();
                    lines.insert(i, lines[i]);
                }
                s = lines.concat();
            }
            Edit::SwapLines { a, b } => {
                let mut lines: Vec<&str> = s.split_inclusive('\n').collect();
                if !lines.is_empty() {
                    let n = lines.len();
                    lines.swap(((n as f64) * a) as usize % n, ((n as f64) * b) as usize % n);
                }
                s = lines.concat();
            }
        }
    }
    s
}

/// The property of the `config` fuzz target: loads, or every diagnostic
/// points at a line and column that exist in the text.
fn config_holds(base: &Path, text: &str) -> Result<(), TestCaseError> {
    let name = Path::new("fuzz.toml");
    match config::parse(name, text, base, None) {
        Ok(_) => Ok(()),
        Err(ConfigError::Read { .. }) => Err(TestCaseError::fail("parse never reads a file")),
        Err(ConfigError::Invalid { diagnostics, .. }) => {
            prop_assert!(!diagnostics.is_empty(), "refused without a diagnostic");
            prop_assert!(
                diagnostics
                    .iter()
                    .any(|d| d.severity == config::Severity::Error)
            );
            // Lines as the diagnostics count them: split at '\n' only.
            let lines: Vec<&str> = text.split('\n').collect();
            for d in &diagnostics {
                prop_assert!(
                    d.line >= 1 && d.line <= lines.len(),
                    "line {} outside 1..={}: {d}",
                    d.line,
                    lines.len()
                );
                let width = lines[d.line - 1].chars().count();
                prop_assert!(
                    d.column >= 1 && d.column <= width + 1,
                    "column {} outside 1..={}: {d}",
                    d.column,
                    width + 1
                );
                prop_assert!(!d.message.is_empty());
            }
            Ok(())
        }
    }
}

#[test]
fn arbitrary_config_text_never_panics_and_points_inside_the_text() {
    let base = tempfile::tempdir().unwrap();
    let mut runner = runner(cases(400));
    runner
        .run(&any::<String>(), |text| config_holds(base.path(), &text))
        .unwrap();
}

#[test]
fn mutated_example_config_never_panics_and_points_inside_the_text() {
    let base = tempfile::tempdir().unwrap();
    assert!(
        config::parse(Path::new("fuzz.toml"), EXAMPLE, base.path(), None).is_ok(),
        "the example loads unmutated"
    );
    let mut runner = runner(cases(600));
    runner
        .run(&proptest::collection::vec(edit(), 1..6), |edits| {
            config_holds(base.path(), &apply(EXAMPLE, &edits))
        })
        .unwrap();
}

/// An owner whose instructions went out (local mode, store in memory), and
/// the fixture mails filled in for that thread.
struct Pipeline {
    _dir: tempfile::TempDir,
    model: Model,
    templates: Templates,
    store: Mutex<Store>,
    fixtures: Vec<Vec<u8>>,
}

fn now() -> chrono::DateTime<chrono::Utc> {
    NOW.parse().unwrap()
}

fn pipeline() -> Pipeline {
    let dir = tempfile::tempdir().unwrap();
    let model = config::parse(&dir.path().join("handoff.toml"), EXAMPLE, dir.path(), None)
        .unwrap()
        .model;
    let templates = Templates::load(None).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let transport = Transport::from_model(&model).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(handoff::pass::run_once(
            &model,
            &templates,
            &mut store,
            &transport,
            now(),
        ))
        .unwrap();
    let root = store
        .thread_root("website", "dana@example.test")
        .unwrap()
        .expect("the instructions went out");
    let instructions = root.trim_matches(['<', '>']).to_string();
    // The wireframes' invitation UID, for a calendar REPLY that matches.
    common::ical::check_dir(&dir.path().join("var/mail/outgoing/new"));
    let uid = std::fs::read_dir(dir.path().join("var/mail/outgoing/new"))
        .unwrap()
        .filter_map(|f| std::fs::read_to_string(f.unwrap().path()).ok())
        .flat_map(|raw| {
            raw.lines()
                .filter_map(|l| l.strip_prefix("UID:"))
                .filter(|u| u.starts_with("website-wireframes-"))
                .map(|u| u.trim().to_string())
                .collect::<Vec<_>>()
        })
        .next()
        .expect("the wireframes were invited");
    let reply = format!(
        "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:fuzz\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
         ATTENDEE;PARTSTAT=DECLINED:mailto:dana@example.test\r\nUID:{uid}\r\n\
         DTSTAMP:20261124T150000Z\r\nSEQUENCE:0\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let dir_fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inbox");
    let mut names: Vec<_> = std::fs::read_dir(&dir_fx)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the fixture mails are there");
    let fixtures = names
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            if p.ends_with("garbled.eml") {
                return raw;
            }
            String::from_utf8_lossy(&raw)
                .replace("@@INSTRUCTIONS@@", &instructions)
                .replace("@@REPLY_BASE64@@", &base64(reply.as_bytes()))
                .into_bytes()
        })
        .collect();
    Pipeline {
        _dir: dir,
        model,
        templates,
        store: Mutex::new(store),
        fixtures,
    }
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// The property of the `inbound` fuzz target: the pipeline answers with an
/// outcome (never a panic, never an error) for any bytes.
fn inbound_holds(p: &Pipeline, raw: &[u8], uid: u32) -> Result<(), TestCaseError> {
    let composer = Composer {
        model: &p.model,
        templates: &p.templates,
    };
    let inbox = Inbox {
        model: &p.model,
        composer: &composer,
    };
    let mut store = p.store.lock().unwrap_or_else(|e| e.into_inner());
    let source = Source {
        account: "fuzz".into(),
        uid_validity: 1,
        uid,
        truncated: false,
    };
    let outcome = inbox
        .ingest(&mut store, raw, &source, now(), false)
        .map_err(|e| TestCaseError::fail(format!("pipeline error: {e}")))?;
    prop_assert!(!outcome.kind.is_empty());
    prop_assert!(!outcome.why.is_empty());
    Ok(())
}

/// Pieces that break MIME in interesting ways.
const MAIL_SNIPPETS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\n",
    b"\r",
    b"--",
    b"\r\n--\r\n",
    b"=?utf-8?B?",
    b"=?x-unknown?Q?=C3=28?=",
    b"?=",
    b"=\r\n",
    b"=ZZ",
    b"Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/calendar; method=REPLY; charset=utf-8\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"charset=\"\xff\xfe\"",
    b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n",
    b"In-Reply-To: <<>>\r\n",
    b"From: \r\n",
    b"From: stranger@example.test\r\n",
    b"Subject: =?utf-8?B?SGk/DQpCY2M6IGV2aWxAZXhhbXBsZS50ZXN0?=\r\n",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\t",
    b" ",
    b":",
    b";",
    b"<",
    b">",
    b"\"",
];

#[derive(Debug, Clone)]
enum ByteEdit {
    Delete { at: f64, len: usize },
    Insert { at: f64, bytes: Vec<u8> },
    Flip { at: f64, bit: u8 },
    Truncate { at: f64 },
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let bytes = prop_oneof![
        3 => proptest::sample::select(MAIL_SNIPPETS).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..32),
    ];
    prop_oneof![
        3 => (0.0..1.0f64, 1..64usize).prop_map(|(at, len)| ByteEdit::Delete { at, len }),
        4 => (0.0..1.0f64, bytes).prop_map(|(at, bytes)| ByteEdit::Insert { at, bytes }),
        2 => (0.0..1.0f64, 0..8u8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        1 => (0.0..1.0f64).prop_map(|at| ByteEdit::Truncate { at }),
    ]
}

fn mutate(raw: &[u8], edits: &[ByteEdit]) -> Vec<u8> {
    let mut v = raw.to_vec();
    let pos = |v: &Vec<u8>, at: f64| (((v.len() as f64) * at) as usize).min(v.len());
    for e in edits {
        match e {
            ByteEdit::Delete { at, len } => {
                let a = pos(&v, *at);
                let b = (a + len).min(v.len());
                v.drain(a..b);
            }
            ByteEdit::Insert { at, bytes } => {
                let a = pos(&v, *at);
                v.splice(a..a, bytes.iter().copied());
            }
            ByteEdit::Flip { at, bit } => {
                if !v.is_empty() {
                    let a = pos(&v, *at).min(v.len() - 1);
                    v[a] ^= 1 << bit;
                }
            }
            ByteEdit::Truncate { at } => {
                let a = pos(&v, *at);
                v.truncate(a);
            }
        }
    }
    v
}

/// The mail with its Message-ID made unique, so the dedupe does not stop
/// every mutation of a fixture after the first at the door.
fn fresh_id(raw: &[u8], n: u32) -> Vec<u8> {
    let needle = b"message-id: <";
    let at = raw
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle));
    match at {
        Some(i) => {
            let mut v = raw[..i + needle.len()].to_vec();
            v.extend_from_slice(format!("fuzz{n}.").as_bytes());
            v.extend_from_slice(&raw[i + needle.len()..]);
            v
        }
        None => raw.to_vec(),
    }
}

#[test]
fn arbitrary_bytes_through_the_inbound_pipeline_always_get_an_outcome() {
    let p = pipeline();
    let uid = std::sync::atomic::AtomicU32::new(1);
    let mut runner = runner(cases(400));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..2048), |raw| {
            inbound_holds(
                &p,
                &raw,
                uid.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            )
        })
        .unwrap();
}

#[test]
fn mutated_fixture_mails_through_the_inbound_pipeline_always_get_an_outcome() {
    let p = pipeline();
    let uid = std::sync::atomic::AtomicU32::new(1);
    let n = p.fixtures.len();
    let mut runner = runner(cases(1_000));
    runner
        .run(
            &(0..n, proptest::collection::vec(byte_edit(), 1..8)),
            |(i, edits)| {
                let n = uid.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let raw = mutate(&fresh_id(&p.fixtures[i], n), &edits);
                inbound_holds(&p, &raw, n)
            },
        )
        .unwrap();
}
