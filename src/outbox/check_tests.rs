//! Every template in every shipped language, composed as `check` composes
//! it (the shipped config, [`sample_extra`]): what a person reads never
//! holds a crontab line, a raw id, a UTC time, an IANA zone name or template
//! markup, and a translation never slips into English.

use super::*;
use crate::templates::lang::SHIPPED;
use std::path::Path;

fn model() -> Model {
    crate::config::parse(
        Path::new("t.toml"),
        crate::config::EXAMPLE,
        Path::new("/tmp"),
        None,
    )
    .unwrap()
    .model
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T08:00:00Z")
        .unwrap()
        .to_utc()
}

/// What must never reach a person, found in `text`.
fn never_for_a_person(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for bad in [
        "{{", "}}", "{%", "%}", "{#", "#}", "* *", "*/", "America/", "Europe/", "Asia/", "Etc/",
        "UTC", "GMT", "+0000",
    ] {
        if text.contains(bad) {
            found.push(bad.to_string());
        }
    }
    let chars: Vec<char> = text.chars().collect();
    if chars
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == 'T' && w[2].is_ascii_digit())
    {
        found.push("an RFC 3339 timestamp".into());
    }
    let longest_hex = text
        .split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if longest_hex >= 16 {
        found.push("a raw id".into());
    }
    found
}

/// English weekday and month names, which a translation never shows (its
/// dates come in its own language).
fn english_dates(text: &str) -> Vec<String> {
    // April, August, September and November are German too.
    const NAMES: &[&str] = &[
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "June",
        "July",
        "October",
        "December",
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
        "Sat",
        "Sun",
        "Dec",
    ];
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| NAMES.contains(w))
        .map(str::to_string)
        .collect()
}

/// A parenthesis opened inside another, which reads badly in any language
/// ("15:00 (Vienna time) (an invitation follows)" is fine, "due (Saturday
/// at 17:59 (Berlin time))" is not): the line it is on.
fn nested_parenthesis(text: &str) -> Option<&str> {
    text.lines().find(|line| {
        let mut depth = 0u32;
        line.chars().any(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            c == '(' && depth > 1
        })
    })
}

#[test]
fn no_template_in_any_language_shows_a_crontab_id_utc_time_or_markup() {
    let mut base = model();
    // The owner's own words (in English in the shipped config) are the
    // owner's; what is checked here is what Handoff writes around them.
    for e in &mut base.engagements {
        e.deliverables = "-".into();
        e.quality_standard = "-".into();
        e.performance_standard = "-".into();
        e.payment_terms = Some("-".into());
    }
    let templates = Templates::load(None).unwrap();
    let mut problems = Vec::new();
    for code in SHIPPED {
        let lang = Lang::parse(code).unwrap();
        let model = speaking(&base, &lang);
        let composer = Composer {
            model: &model,
            templates: &templates,
        };
        for e in &model.engagements {
            for purpose in Purpose::ALL {
                let Some(req) = sample_request(&model, e, *purpose, now()) else {
                    continue;
                };
                let c = composer
                    .compose(&req, None, now())
                    .unwrap_or_else(|err| panic!("{purpose} in {code}: {err}"));
                for (part, text) in [
                    ("subject", &c.subject),
                    ("text", &c.rendered.text),
                    ("html", &c.rendered.html),
                ] {
                    for p in never_for_a_person(text) {
                        problems.push(format!("{purpose} in {code}, {part}: {p}\n{text}"));
                    }
                    if let Some(line) = nested_parenthesis(text) {
                        problems.push(format!(
                            "{purpose} in {code}, {part}: a parenthesis inside another: {line}"
                        ));
                    }
                    if *code != "en" {
                        for w in english_dates(text) {
                            problems
                                .push(format!("{purpose} in {code}, {part}: English {w}\n{text}"));
                        }
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn check_renders_every_language_the_config_uses_and_names_it() {
    let mut m = model();
    m.contractors[0].language = Lang::parse("pt-BR").unwrap();
    m.owner.language = Lang::parse("fr").unwrap();
    let codes: Vec<String> = languages(&m).iter().map(|l| l.tag().to_string()).collect();
    assert_eq!(codes, ["fr", "pt-BR"]);
    // The owner's Portuguese file with a misspelt variable is found, and
    // the problem names the language it was rendered in.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pt")).unwrap();
    std::fs::write(
        dir.path().join("pt/kickoff.txt"),
        "Subject: Olá {{ contractor.nome }}\n\nx\n",
    )
    .unwrap();
    m.mail.templates_dir = Some(dir.path().to_path_buf());
    let problems = check_templates(&m, now());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("pt/kickoff.txt") && p.contains("in pt-BR")),
        "{problems:?}"
    );
}

#[test]
fn an_english_override_says_it_does_not_reach_a_translated_reader() {
    let mut m = model();
    m.contractors[0].language = Lang::parse("de").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kickoff.txt"),
        "Subject: Hi {{ contractor.first_name }}\n\nCall\n",
    )
    .unwrap();
    m.mail.templates_dir = Some(dir.path().to_path_buf());
    let notes = template_notes(&m);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("en/kickoff.txt changes the English mail only"),
        "{}",
        notes[0]
    );
    assert!(notes[0].contains("de/kickoff.txt"), "{}", notes[0]);
}

#[test]
fn a_parenthesis_inside_another_is_found_one_after_another_is_not() {
    assert_eq!(
        nested_parenthesis("x\ndue (Saturday at 17:59 (Berlin time)).\ny"),
        Some("due (Saturday at 17:59 (Berlin time)).")
    );
    assert_eq!(
        nested_parenthesis("15:00 (Vienna time). An invitation follows (soon)."),
        None
    );
}
