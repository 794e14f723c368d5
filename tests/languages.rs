//! Mail in each reader's language, in plain words (issue 19): a French owner
//! and contractors who read German, Spanish and Brazilian Portuguese, run
//! through three weeks of work by the real binary (`handoff run --once` at
//! moments the clock is pinned to). Every mail that goes out is read as its
//! recipient would: by Python's `email` package, which decodes it and says
//! which language its subject and body are in (tests/language_check.py), and
//! scanned for what must never reach a person (a crontab line, a raw id, a
//! UTC time, an IANA zone name, template markup).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The passes: the start of work, a Monday (status requests, the digest),
/// the reminders, the day after the deadlines, the escalation, two weeks in.
const PASSES: &[&str] = &[
    "2026-11-24T15:00:00Z",
    "2026-11-30T15:00:00Z",
    "2026-12-01T15:00:00Z",
    "2026-12-03T15:00:00Z",
    "2026-12-06T15:00:00Z",
    "2026-12-07T15:00:00Z",
    "2026-12-09T15:00:00Z",
    "2026-12-10T15:00:00Z",
    "2026-12-14T15:00:00Z",
    "2026-12-16T15:00:00Z",
];

struct Run {
    _dir: tempfile::TempDir,
    config: PathBuf,
}

fn run() -> Run {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/languages.toml"),
        &config,
    )
    .unwrap();
    let out = common::handoff(&config, &["check"], PASSES[0]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    for now in PASSES {
        let out = common::handoff(&config, &["run", "--once"], now);
        assert!(out.status.success(), "{now}: {}", common::text(&out.stderr));
    }
    Run { _dir: dir, config }
}

/// Every mail written to the outgoing folder, by file.
fn mails(run: &Run) -> Vec<(PathBuf, Vec<u8>)> {
    let new = run.config.parent().unwrap().join("var/mail/outgoing/new");
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let raw = std::fs::read(&path).unwrap();
            (path, raw)
        })
        .collect();
    out.sort();
    out
}

fn header<'a>(raw: &'a [u8], name: &str) -> &'a str {
    let text = std::str::from_utf8(raw).unwrap_or_default();
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n")
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then_some(v.trim())
        })
        .unwrap_or_default()
}

/// The purpose a mail was sent for, from its Message-ID.
fn purpose(raw: &[u8]) -> String {
    let id = header(raw, "Message-ID");
    id.split('.')
        .nth(1)
        .and_then(|p| p.split('@').next())
        .unwrap_or_default()
        .to_string()
}

/// What each address reads.
fn languages() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("claire@example.test", "fr"),
        ("jonas@example.test", "de"),
        ("lucia@example.test", "es"),
        ("joao@example.test", "pt"),
    ])
}

fn recipient(raw: &[u8]) -> String {
    let to = header(raw, "To");
    to.rsplit('<')
        .next()
        .unwrap_or(to)
        .trim_end_matches('>')
        .to_string()
}

/// What a person must never read, in the words of a mail (its subject and
/// the text and HTML it shows; the calendar part keeps exact references).
fn never_for_a_person(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for markup in ["{{", "}}", "{%", "%}", "{#", "#}"] {
        if text.contains(markup) {
            found.push(format!("template markup {markup}"));
        }
    }
    for cron in [
        "0 9 * * MON",
        "0 9 1 */3 *",
        "0 9 * * 1-5",
        "0 8 * * MON",
        "* *",
        "*/",
    ] {
        if text.contains(cron) {
            found.push(format!("a crontab line ({cron})"));
        }
    }
    for zone in ["America/", "Europe/", "Asia/", "Etc/"] {
        if text.contains(zone) {
            found.push(format!("an IANA zone name ({zone}…)"));
        }
    }
    for utc in ["UTC", "GMT", "+0000", "+00:00"] {
        if text.contains(utc) {
            found.push(format!("a UTC time ({utc})"));
        }
    }
    let chars: Vec<char> = text.chars().collect();
    // An RFC 3339 instant (2026-11-24T15:00:00Z) or a store key with one.
    if chars
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == 'T' && w[2].is_ascii_digit())
    {
        found.push("an RFC 3339 timestamp".to_string());
    }
    // A Message-ID token or a calendar UID: a long run of hex digits.
    let mut run = 0;
    for c in &chars {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 16 {
            found.push("a raw id (16+ hex digits)".to_string());
            break;
        }
    }
    found
}

fn decoded(raw: &[u8]) -> (String, String, String) {
    let m = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("parses");
    (
        m.subject().unwrap_or_default().to_string(),
        m.body_text(0).unwrap_or_default().to_string(),
        m.body_html(0).unwrap_or_default().to_string(),
    )
}

#[test]
fn every_mail_reads_in_its_recipients_language_with_no_crontab_id_or_utc_time() {
    let run = run();
    let mails = mails(&run);
    let langs = languages();
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut expected = Vec::new();
    let mut problems = Vec::new();
    for (path, raw) in &mails {
        let to = recipient(raw);
        let lang = langs
            .get(to.as_str())
            .unwrap_or_else(|| panic!("{}: a mail to {to}", path.display()));
        seen.entry(lang.to_string()).or_default().push(purpose(raw));
        expected.push(serde_json::json!({ "path": path, "lang": lang }));
        let (subject, text, html) = decoded(raw);
        for (part, words) in [("subject", &subject), ("text", &text), ("html", &html)] {
            for p in never_for_a_person(words) {
                problems.push(format!(
                    "{} ({}) {part}: {p}\n{words}",
                    purpose(raw),
                    path.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // The weeks produced the mail a person would expect, in each language.
    let has = |lang: &str, p: &str| seen.get(lang).is_some_and(|v| v.iter().any(|x| x == p));
    for lang in ["de", "es", "pt"] {
        for p in [
            "instructions",
            "milestone_invite",
            "deadline_reminder",
            "overdue_notice",
        ] {
            assert!(has(lang, p), "no {p} in {lang}: {seen:?}");
        }
    }
    // Spanish status reports are quarterly: none in these weeks.
    assert!(
        has("de", "status_request") && has("pt", "status_request"),
        "{seen:?}"
    );
    assert!(has("de", "kickoff"), "{seen:?}");
    for p in [
        "notice_overdue",
        "escalation",
        "digest",
        "notice_payment_due",
    ] {
        assert!(has("fr", p), "no {p} for the French owner: {seen:?}");
    }
    let list = run.config.parent().unwrap().join("expected.json");
    std::fs::write(&list, serde_json::to_vec(&expected).unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/language_check.py"))
        .arg(&list)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}{}",
        common::text(&out.stdout),
        common::text(&out.stderr)
    );
}

#[test]
fn a_german_contractor_reads_the_deadline_in_words_and_in_their_own_time() {
    let run = run();
    let mails = mails(&run);
    let instructions = mails
        .iter()
        .find(|(_, raw)| purpose(raw) == "instructions" && recipient(raw) == "jonas@example.test")
        .expect("the German instructions");
    let (subject, text, _) = decoded(&instructions.1);
    assert_eq!(subject, "Neue Website für die Praxis [praxis]");
    // Due on a date: the end of the owner's day in Paris, which is also
    // 23:59 in Vienna; a due time is given in Vienna's time.
    assert!(
        text.contains("- Entwürfe der Startseite: fällig am Samstag, 5. Dezember 2026, Tagesende in Paris (bei Ihnen: 23:59)"),
        "{text}"
    );
    assert!(
        text.contains(
            "- Alle Seiten online: fällig am Freitag, 18. Dezember 2026 um 12:00 (Ortszeit Wien)"
        ),
        "{text}"
    );
    assert!(
        text.contains("jeden Montag um 09:00 (Ortszeit Wien)"),
        "{text}"
    );
    // A schedule with no short phrase (quarterly) is told by its next dates.
    let spanish = mails
        .iter()
        .find(|(_, raw)| purpose(raw) == "instructions" && recipient(raw) == "lucia@example.test")
        .expect("the Spanish instructions");
    let (_, text, _) = decoded(&spanish.1);
    assert!(
        text.contains("según un calendario fijo; próximas fechas: viernes, 1 de enero de 2027 a las 09:00, jueves, 1 de abril de 2027 a las 09:00 y jueves, 1 de julio de 2027 a las 09:00 (hora de Ciudad de México)"),
        "{text}"
    );
    let portuguese = mails
        .iter()
        .find(|(_, raw)| purpose(raw) == "instructions" && recipient(raw) == "joao@example.test")
        .expect("the Portuguese instructions");
    let (_, text, _) = decoded(&portuguese.1);
    assert!(
        text.contains("de segunda a sexta-feira às 09:00 (horário de São Paulo)"),
        "{text}"
    );
}

/// Drops a mail into the local inbox (tmp/, then renamed into new/).
fn receive(run: &Run, name: &str, raw: &str) {
    let inbox = run.config.parent().unwrap().join("var/mail/inbox");
    std::fs::create_dir_all(inbox.join("tmp")).unwrap();
    std::fs::create_dir_all(inbox.join("new")).unwrap();
    let tmp = inbox.join("tmp").join(name);
    std::fs::write(&tmp, raw.replace('\n', "\r\n")).unwrap();
    std::fs::rename(&tmp, inbox.join("new").join(name)).unwrap();
}

/// The one mail of `purpose` to `to`, decoded, with its Message-ID.
fn only(run: &Run, purpose_: &str, to: &str) -> (String, String, String) {
    let all: Vec<_> = mails(run)
        .into_iter()
        .filter(|(_, raw)| purpose(raw) == purpose_ && recipient(raw) == to)
        .collect();
    assert_eq!(all.len(), 1, "{purpose_} to {to}");
    let raw = &all[0].1;
    let (subject, text, _) = decoded(raw);
    (header(raw, "Message-ID").to_string(), subject, text)
}

#[test]
fn a_german_delivery_is_told_to_the_french_owner_in_french_and_her_french_reply_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/languages.toml"),
        &config,
    )
    .unwrap();
    let run = Run { _dir: dir, config };
    let once = |now: &str| {
        let out = common::handoff(&run.config, &["run", "--once"], now);
        assert!(out.status.success(), "{now}: {}", common::text(&out.stderr));
    };
    once(PASSES[0]);
    let (instructions, _, _) = only(&run, "instructions", "jonas@example.test");
    // Jonas answers the instructions from his phone with the designs attached.
    receive(
        &run,
        "1.jonas",
        &format!(
            "From: Jonas Gruber <jonas@example.test>\nTo: Claire Dubois <claire@example.test>\n\
             Subject: AW: Neue Website für die Praxis [praxis]\n\
             Message-ID: <entwuerfe.1@example.test>\nIn-Reply-To: {instructions}\n\
             References: {instructions}\nDate: Thu, 03 Dec 2026 10:00:00 +0100\n\
             MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
             --b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\
             Hallo Claire,\n\nhier die Entwürfe der Startseite.\n\nViele Grüße\nJonas\n\n\
             --b\nContent-Type: application/pdf; name=\"startseite.pdf\"\n\
             Content-Disposition: attachment; filename=\"startseite.pdf\"\n\
             Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n"
        ),
    );
    once("2026-12-03T10:00:00Z");
    let (notice, subject, text) = only(&run, "notice_delivery", "claire@example.test");
    assert!(subject.contains("Entwürfe der Startseite"), "{subject}");
    // Why Handoff read it so, in her words; the file name as sent.
    assert!(text.contains("une pièce jointe (startseite.pdf)"), "{text}");
    assert!(
        text.contains(
            "le nouveau texte la nomme (\u{ab}\u{a0}Entwürfe der Startseite\u{a0}\u{bb})"
        ),
        "{text}"
    );
    assert!(text.contains("\u{ab}\u{a0}accepter\u{a0}\u{bb}"), "{text}");
    for english in ["an attachment", "names it", "Reply", "wrong:"] {
        assert!(!text.contains(english), "{english:?} in\n{text}");
    }
    // She answers in French; the accept goes to Jonas in German.
    receive(
        &run,
        "2.claire",
        &format!(
            "From: Claire Dubois <claire@example.test>\nTo: claire@example.test\n\
             Subject: RE: {subject}\nMessage-ID: <ok.1@example.test>\n\
             In-Reply-To: {notice}\nReferences: {notice}\n\
             Date: Thu, 03 Dec 2026 14:00:00 +0100\nMIME-Version: 1.0\n\
             Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\
             Accepter : les couleurs sont parfaites.\n\nClaire\n"
        ),
    );
    once("2026-12-03T14:00:00Z");
    let (_, subject, text) = only(&run, "delivery_accepted", "jonas@example.test");
    assert_eq!(subject, "Neue Website für die Praxis [praxis]");
    assert!(text.contains("nehme die Arbeit an"), "{text}");
    assert!(text.contains("les couleurs sont parfaites."), "{text}");
    let out = common::handoff(&run.config, &["status", "--json"], "2026-12-03T14:00:00Z");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let praxis = v["engagements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "praxis")
        .unwrap();
    assert_eq!(praxis["milestones"][0]["state"], "accepted", "{praxis}");
}
