//! What Handoff makes of each reply: the pipeline run for real, each reply
//! against its own copy of the scenario's store.
//!
//! The one file of the corpus that uses Handoff's library (config, templates,
//! composer, inbox, store); everything else goes through the `handoff`
//! binary, so a change to the library's insides touches only this.

use super::{Scenario, dir, split_words};
use chrono::DateTime;
use std::time::{Duration, Instant};

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
    /// The second things Handoff recorded the reply as (`Outcome::also`: a
    /// delivery that asks is a question too).
    pub also: Vec<String>,
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
    let now = DateTime::parse_from_rfc3339(super::READ_AT)
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
                    also: o.also.clone(),
                    why: o.why,
                    took,
                }
            }
            Err(e) => Verdict {
                kind: "failed".into(),
                milestone: None,
                partstat: None,
                engagement: None,
                also: Vec::new(),
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
