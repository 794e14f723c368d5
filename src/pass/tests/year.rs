//! A simulated year, as a new user would run it (issue 17): an owner in
//! Berlin and contractors in New York, Manila and Berlin, installed with one
//! engagement already under way, driven by the real pass in local mode (the
//! `.eml` files in `outgoing/new` are what the recipients get; replies are
//! files dropped into `inbox/new`), waking exactly when the daemon would.
//! The contractors reply at plausible moments, the owner acts on the
//! notices; one contractor goes silent for three weeks, one mailbox is full
//! for ten days, Handoff is down for nine days. Then every mail that went
//! out is held to a person's checks ([`super::year_checks`]).
//!
//! `cargo test --lib year -- --nocapture` prints the count of mails by
//! purpose; with `HANDOFF_YEAR_LOG=FILE` it also writes every mail, one line
//! each, to FILE, and the text of the first of each kind (and of every
//! digest) to FILE.texts, to read the year as the recipients did.

use super::year_checks::{Mail, check};
use crate::actions::{Origin, OwnerAction};
use crate::config;
use crate::outbox::{Composer, Transport};
use crate::store::Store;
use crate::templates::Templates;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub(super) const CONFIG: &str = r#"
[owner]
name = "Ada Lovelace"
email = "ada@example.test"
timezone = "Europe/Berlin"

[mail]
maildir = "mail"

[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "dana@example.test"
timezone = "America/New_York"

[[contractor]]
id = "rizal"
name = "Rizal Santos"
email = "rizal@example.test"
timezone = "Asia/Manila"

[[contractor]]
id = "bea"
name = "Bea Braun"
email = "bea@example.test"
timezone = "Europe/Berlin"

[[engagement]]
id = "site"
contractor = "dana"
title = "Website"
agreement_signed = 2026-11-20
starts = 2026-12-01
kickoff = 2026-12-02T15:00:00
deliverables = "Five pages"
quality_standard = "Valid HTML"
performance_standard = "On time"
status_reports = "0 9 * * MON"
evaluation = "0 10 1 */3 *"
payment = "0 9 1 * *"
budget = "6000 EUR"

[[engagement.milestone]]
id = "wireframes"
title = "Wireframes"
due = 2026-12-20
remind_before = ["3d", "1d"]

[[engagement.milestone]]
id = "pages"
title = "Pages"
due = 2027-02-26
remind_before = ["3d", "1d"]

[[engagement.milestone]]
id = "launch"
title = "Launch"
due = 2027-04-30T12:00:00
remind_before = ["7d", "1d"]

[[engagement]]
id = "app"
contractor = "rizal"
title = "Mobile app"
agreement_signed = 2026-12-15
starts = 2027-02-01
kickoff = 2027-02-02T09:00:00
deliverables = "An app"
quality_standard = "No crashes"
performance_standard = "On time"
status_reports = "0 10 * * FRI"
evaluation = "0 10 1 7 *"
payment = "0 9 15 * *"

[[engagement.milestone]]
id = "alpha"
title = "Alpha"
due = 2027-04-15
remind_before = ["3d"]

[[engagement.milestone]]
id = "beta"
title = "Beta"
due = 2027-07-15
remind_before = ["3d", "1d"]

[[engagement.milestone]]
id = "release"
title = "Release"
due = 2027-10-29
remind_before = ["7d", "1d"]

[[engagement]]
id = "copy"
contractor = "bea"
title = "Brochure copy"
starts = 2027-03-01
deliverables = "Copy"
quality_standard = "Clear"
performance_standard = "On time"
status_reports = "0 9 1 * *"
evaluation = "0 10 1 12 *"

[[engagement.milestone]]
id = "draft"
title = "Draft copy"
due = 2027-04-30

[[engagement.milestone]]
id = "final"
title = "Final copy"
due = 2027-08-31

[[engagement.milestone]]
id = "translations"
title = "Translations"
due = 2027-11-30
"#;

pub(super) const INSTALL: &str = "2027-01-04T09:00:00Z";
pub(super) const END: &str = "2028-01-03T00:00:00Z";
/// Handoff is down from here...
pub(super) const DOWN: &str = "2027-09-03T18:00:00Z";
/// ...until here.
pub(super) const UP: &str = "2027-09-12T23:00:00Z";
/// Rizal writes nothing in these three weeks.
pub(super) const SILENT: (&str, &str) = ("2027-05-10T00:00:00Z", "2027-05-31T00:00:00Z");
/// Bea's mailbox is full: her 1 June request bounces; she writes on the 11th.
const FULL: &str = "2027-06-01T00:00:00Z";
const BACK: &str = "2027-06-11T08:00:00Z";

pub(super) fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Something that happens at a moment: a mail arrives, a contractor
/// delivers a milestone (replying to its invitation, or to the instructions
/// when there was none), or the owner acts.
enum Act {
    Arrives(String),
    Delivers(&'static str, &'static str, &'static str),
    Owner(&'static str, OwnerAction),
}

/// When each milestone is delivered: (at, contractor, engagement, milestone).
const DELIVERIES: &[(&str, &str, &str, &str)] = &[
    (
        "2027-01-08T16:00:00Z",
        "dana@example.test",
        "site",
        "wireframes",
    ),
    ("2027-02-25T15:00:00Z", "dana@example.test", "site", "pages"),
    (
        "2027-04-29T14:00:00Z",
        "dana@example.test",
        "site",
        "launch",
    ),
    // Two days late.
    ("2027-04-17T03:00:00Z", "rizal@example.test", "app", "alpha"),
    ("2027-07-14T03:00:00Z", "rizal@example.test", "app", "beta"),
    (
        "2027-10-28T03:00:00Z",
        "rizal@example.test",
        "app",
        "release",
    ),
    ("2027-04-29T09:00:00Z", "bea@example.test", "copy", "draft"),
    // The redo, within the week the owner gives.
    ("2027-05-06T09:00:00Z", "bea@example.test", "copy", "draft"),
    ("2027-08-30T09:00:00Z", "bea@example.test", "copy", "final"),
];

struct Sim {
    loaded: config::Loaded,
    templates: Templates,
    store: Store,
    transport: Transport,
    dir: PathBuf,
    acts: BTreeMap<DateTime<Utc>, Vec<Act>>,
    seen: HashSet<String>,
    mails: Vec<Mail>,
    n: u32,
    /// What each contractor was invited to or instructed with:
    /// (engagement, milestone, Message-ID), in order.
    invited: Vec<(String, Option<String>, String)>,
    /// The owner sent the draft copy back once already.
    redone: bool,
    /// Owner acts refused (none expected).
    refused: Vec<String>,
}

impl Sim {
    fn later(&mut self, at: DateTime<Utc>, act: Act) {
        self.acts.entry(at).or_default().push(act);
    }

    /// 10:00 (or `hour`) on the next day of `tz` after `at`.
    fn next_day(at: DateTime<Utc>, tz: Tz, hour: u32) -> DateTime<Utc> {
        let day = at.with_timezone(&tz).date_naive() + Duration::days(1);
        let local = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap());
        tz.from_local_datetime(&local)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn reply(&mut self, from: &str, cites: &str, subject: &str, body: &str) -> String {
        self.n += 1;
        format!(
            "From: {from}\r\nTo: ada@example.test\r\nSubject: {subject}\r\nMessage-ID: <y{}@example.test>\r\nIn-Reply-To: {cites}\r\nReferences: {cites}\r\n\r\n{body}\r\n",
            self.n
        )
    }

    /// Carries out what happens at `at`.
    fn perform(&mut self, at: DateTime<Utc>, act: Act) {
        match act {
            Act::Arrives(raw) => self.drop_in(&raw),
            Act::Delivers(from, e, m) => {
                let cites = self
                    .invited
                    .iter()
                    .rev()
                    .find(|(ie, im, _)| ie == e && im.as_deref() == Some(m))
                    .or_else(|| {
                        self.invited
                            .iter()
                            .rev()
                            .find(|(ie, im, _)| ie == e && im.is_none())
                    })
                    .map(|(_, _, id)| id.clone())
                    .unwrap_or_else(|| panic!("{e}/{m}: nothing to reply to"));
                let raw = self.reply(
                    from,
                    &cites,
                    &format!("Re: [{e}]"),
                    "Here is the work, attached as a link.",
                );
                self.drop_in(&raw);
            }
            Act::Owner(e, action) => {
                let model = &self.loaded.model;
                let composer = Composer {
                    model,
                    templates: &self.templates,
                };
                if let Err(err) = crate::actions::apply(
                    model,
                    &composer,
                    &mut self.store,
                    e,
                    action,
                    Origin::Command,
                    at,
                ) {
                    self.refused.push(format!("{at} {e}: {err}"));
                }
            }
        }
    }

    /// A mail landing in the local inbox.
    fn drop_in(&mut self, raw: &str) {
        self.n += 1;
        let path = self.dir.join(format!("mail/inbox/new/{:06}.eml", self.n));
        std::fs::write(path, raw).unwrap();
    }

    /// One pass at `now`, as `run --once` does, and what went out.
    fn pass(&mut self, rt: &tokio::runtime::Runtime, now: DateTime<Utc>) {
        let model = &self.loaded.model;
        rt.block_on(crate::pass::run_once(
            model,
            &self.templates,
            &mut self.store,
            &self.transport,
            now,
        ))
        .unwrap();

        let new = self.dir.join("mail/outgoing/new");
        let mut names: Vec<String> = std::fs::read_dir(&new)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !self.seen.contains(n))
            .collect();
        names.sort();
        for name in names {
            self.seen.insert(name.clone());
            let raw = std::fs::read(new.join(&name)).unwrap();
            let mail = Mail::read(&self.store, &raw, now);
            self.react(&mail);
            self.mails.push(mail);
        }
    }

    /// What the people do on getting `m`.
    fn react(&mut self, m: &Mail) {
        let zone = |who: &str| -> Tz {
            match who {
                "dana@example.test" => chrono_tz::America::New_York,
                "rizal@example.test" => chrono_tz::Asia::Manila,
                _ => chrono_tz::Europe::Berlin,
            }
        };
        let berlin = chrono_tz::Europe::Berlin;
        let tag = format!("Re: [{}]", m.engagement);
        if m.to != "ada@example.test" {
            let silent = m.to == "rizal@example.test" && m.at >= t(SILENT.0) && m.at < t(SILENT.1);
            let full = m.to == "bea@example.test" && m.at >= t(FULL) && m.at < t(BACK);
            if full {
                // The mailbox refuses it: the bounce comes back at once.
                self.n += 1;
                let dsn = format!(
                    "From: MAILER-DAEMON@mail.example.test\r\nTo: ada@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn{}@mail.example.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n<bea@example.test>: host mx said: 552 5.2.2 mailbox full\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {}\r\n\r\n--b--\r\n",
                    self.n, m.message_id
                );
                self.later(m.at + Duration::minutes(5), Act::Arrives(dsn));
                return;
            }
            let at = Self::next_day(m.at, zone(&m.to), 10);
            let body = match m.purpose.as_str() {
                "instructions" => Some("Got it, thank you. Starting now."),
                "status_request" if !silent => Some("On track: the current part is half done."),
                _ => None,
            };
            if let Some(body) = body {
                let raw = self.reply(&m.to, &m.message_id, &tag, body);
                self.later(at, Act::Arrives(raw));
            }
            if m.purpose == "milestone_invite" || m.purpose == "instructions" {
                self.invited.push((
                    m.engagement.clone(),
                    m.milestone.clone(),
                    m.message_id.clone(),
                ));
            }
            return;
        }
        let e: &'static str = match m.engagement.as_str() {
            "site" => "site",
            "app" => "app",
            _ => "copy",
        };
        let act = match m.purpose.as_str() {
            "notice_delivery"
                if e == "copy" && m.milestone.as_deref() == Some("draft") && !self.redone =>
            {
                self.redone = true;
                OwnerAction::Redo {
                    milestone: m.milestone.clone(),
                    reason: "Shorter sentences, please.".into(),
                    due: None,
                }
            }
            "notice_delivery" => OwnerAction::Accept {
                milestone: m.milestone.clone(),
                notes: Some("Thank you.".into()),
            },
            "notice_payment_due"
                if !(m.subject.contains("still not recorded")
                    || e == "app" && m.at.format("%Y-%m").to_string() == "2027-06") =>
            {
                OwnerAction::Paid { amount: None }
            }
            "notice_evaluation_due" => OwnerAction::Evaluate {
                score: 4,
                notes: Some("Good work.".into()),
            },
            "notice_question" => OwnerAction::Answered,
            _ => return,
        };
        let days = if matches!(act, OwnerAction::Paid { .. }) {
            3
        } else {
            1
        };
        let at = Self::next_day(m.at + Duration::days(days - 1), berlin, 10);
        self.later(at, Act::Owner(e, act));
    }
}

/// The whole year: every mail that went out, and the store it left.
pub(super) fn simulate() -> (config::Loaded, Store, Vec<Mail>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let loaded = config::parse(Path::new("year.toml"), CONFIG, dir.path(), None)
        .unwrap_or_else(|e| panic!("{e:?}"));
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.path().join("mail/inbox").join(sub)).unwrap();
    }
    let transport = Transport::from_model(&loaded.model).unwrap();
    let mut sim = Sim {
        templates: Templates::load(None).unwrap(),
        store: Store::open_in_memory().unwrap(),
        transport,
        dir: dir.path().to_path_buf(),
        acts: BTreeMap::new(),
        seen: HashSet::new(),
        mails: Vec::new(),
        n: 0,
        invited: Vec::new(),
        redone: false,
        refused: Vec::new(),
        loaded,
    };
    for (at, from, e, m) in DELIVERIES {
        sim.later(t(at), Act::Delivers(from, e, m));
    }
    // Dana asks something once; the owner answers the next day.
    let question = "From: dana@example.test\r\nTo: ada@example.test\r\nSubject: Website [site]\r\nMessage-ID: <q1@example.test>\r\n\r\nShould the footer carry the street address?\r\n";
    sim.later(t("2027-02-10T15:00:00Z"), Act::Arrives(question.into()));
    // The copy's agreement is signed in February; the owner ends it early in
    // October, the translations dropped, with a word to Bea.
    sim.later(
        t("2027-02-15T10:00:00Z"),
        Act::Owner("copy", OwnerAction::Sign),
    );
    sim.later(
        t("2027-10-15T10:00:00Z"),
        Act::Owner(
            "copy",
            OwnerAction::End {
                reason: Some("We will not need the translations after all. Thank you, Bea!".into()),
            },
        ),
    );
    // Bea's mailbox works again: she writes.
    let back = "From: bea@example.test\r\nTo: ada@example.test\r\nSubject: Brochure copy [copy]\r\nMessage-ID: <back1@example.test>\r\n\r\nMy mailbox was full, sorry. All fine again.\r\n";
    sim.later(t(BACK), Act::Arrives(back.into()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut now = t(INSTALL);
    let (down, up, end) = (t(DOWN), t(UP), t(END));
    while now < end {
        while let Some(entry) = sim.acts.first_entry() {
            if *entry.key() > now {
                break;
            }
            let (at, acts) = entry.remove_entry();
            for act in acts {
                sim.perform(at, act);
            }
        }
        if now >= down && now < up {
            // Down: nothing runs; mail still arrives and the owner may act.
            now = sim.acts.keys().next().copied().unwrap_or(end).min(up);
            continue;
        }
        sim.pass(&rt, now);
        // What the pass's mail made people do, as soon as they do it.
        let next_act = sim.acts.keys().next().copied().unwrap_or(end);
        let wake = crate::pass::next_wake(&sim.loaded.model, &sim.store, now)
            .unwrap()
            .unwrap_or(end);
        now = wake.min(next_act).min(end).max(now + Duration::seconds(1));
    }
    let Sim {
        loaded,
        store,
        mails,
        refused,
        ..
    } = sim;
    (loaded, store, mails, refused)
}

#[test]
fn a_simulated_year_every_mail_right_for_its_moment() {
    let (loaded, store, mails, refused) = simulate();
    assert_eq!(refused, Vec::<String>::new(), "owner acts refused");
    let (problems, counts) = check(&loaded.model, &store, &mails);
    if let Ok(path) = std::env::var("HANDOFF_YEAR_LOG") {
        let lines: Vec<String> = mails
            .iter()
            .map(|m| {
                format!(
                    "{}  {:<24} {:<20} {:<5} {:<12} {}",
                    m.at.format("%Y-%m-%d %H:%M"),
                    m.purpose,
                    m.to,
                    m.engagement,
                    m.milestone.as_deref().unwrap_or("-"),
                    m.subject
                )
            })
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        let mut seen = HashSet::new();
        let texts: Vec<String> = mails
            .iter()
            .filter(|m| {
                m.purpose == "digest" || seen.insert((m.purpose.clone(), m.engagement.clone()))
            })
            .map(|m| {
                format!(
                    "==== {} {} {}\n{}\n{}",
                    m.at, m.purpose, m.to, m.subject, m.text
                )
            })
            .collect();
        std::fs::write(format!("{path}.texts"), texts.join("\n")).unwrap();
    }
    println!("{} mails in the simulated year, by purpose:", mails.len());
    for (purpose, n) in &counts {
        println!("  {n:>4}  {purpose}");
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
