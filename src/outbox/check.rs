//! The template check: every template renders against the real config, so a
//! misspelt variable shows in `handoff check` (and stops a reload of the
//! daemon), never as a blank in someone's inbox. Each purpose is composed
//! for each engagement, in every language the config uses (the owner's and
//! every contractor's, so also an owner notice in a contractor's language),
//! with plausible values for what only the moment of sending knows
//! ([`sample_extra`]), exactly as the outbox composes it.

use super::{Composer, MailRequest};
use crate::model::{Engagement, Model};
use crate::templates::lang::fill;
use crate::templates::{Lang, Purpose, Templates};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// Renders every purpose for every engagement in every language the config
/// uses; one line per failure. The daemon runs the same check before it
/// accepts a reloaded config.
pub fn check_templates(model: &Model, now: DateTime<Utc>) -> Vec<String> {
    let templates = match Templates::load(model.mail.templates_dir.as_deref()) {
        Ok(t) => t,
        Err(e) => return vec![template_problem(model, &e.to_string())],
    };
    let mut problems = Vec::new();
    for lang in languages(model) {
        let in_lang = speaking(model, &lang);
        let composer = Composer {
            model: &in_lang,
            templates: &templates,
        };
        for e in &in_lang.engagements {
            for purpose in Purpose::ALL {
                let Some(req) = sample_request(&in_lang, e, *purpose, now) else {
                    continue;
                };
                if let Err(err) = composer.compose(&req, None, now) {
                    let line =
                        template_problem(model, &format!("{err} (engagement {}, in {lang})", e.id));
                    if !problems.contains(&line) {
                        problems.push(line);
                    }
                }
            }
        }
    }
    problems
}

/// What the owner should know about their own templates: an English file
/// of theirs does not reach a reader whose language ships its own file of
/// that name. One line each, for `handoff check`.
pub fn template_notes(model: &Model) -> Vec<String> {
    let Some(dir) = &model.mail.templates_dir else {
        return Vec::new();
    };
    let Ok(templates) = Templates::load(Some(dir)) else {
        return Vec::new();
    };
    let own = templates.overridden();
    let mut notes = Vec::new();
    for rel in own.iter().filter(|r| r.starts_with("en/")) {
        let file = &rel[3..];
        let missed: Vec<String> = languages(model)
            .iter()
            .filter(|l| {
                l.code() != "en"
                    && !own.contains(&format!("{}/{file}", l.code()))
                    && Templates::ships(l.base(), file)
            })
            .map(|l| l.code().to_string())
            .collect();
        if !missed.is_empty() {
            notes.push(format!(
                "{}: your {rel} changes the English mail only; readers of {} get Handoff's own translation (copy your file to {}/{file} to change theirs)",
                dir.display(),
                missed.join(", "),
                missed[0],
            ));
        }
    }
    notes
}

/// The languages the config uses: the owner's first, then each
/// contractor's, each once.
pub fn languages(model: &Model) -> Vec<Lang> {
    let mut out = vec![model.owner.language.clone()];
    for c in &model.contractors {
        if !out.contains(&c.language) {
            out.push(c.language.clone());
        }
    }
    out
}

/// The model with everyone reading `lang`: how `check` and `preview --lang`
/// compose a mail in a language its recipient does not read.
pub fn speaking(model: &Model, lang: &Lang) -> Model {
    let mut m = model.clone();
    m.owner.language = lang.clone();
    for c in &mut m.contractors {
        c.language = lang.clone();
    }
    m
}

/// The request `check` composes for one purpose of `e` (about its first
/// milestone), or `None` when the purpose needs a milestone `e` lacks.
pub fn sample_request(
    model: &Model,
    e: &Engagement,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Option<MailRequest> {
    let milestone = e.milestones.first().map(|m| m.id.clone());
    if purpose.needs_milestone() && milestone.is_none() {
        return None;
    }
    Some(MailRequest {
        purpose,
        engagement: e.id.clone(),
        milestone,
        extra: sample_extra(model, e, purpose, now),
        calendar: None,
    })
}

fn template_problem(model: &Model, detail: &str) -> String {
    match &model.mail.templates_dir {
        Some(dir) => format!("{}: {detail}", dir.display()),
        None => format!("templates (built in): {detail}"),
    }
}

/// Plausible values for each purpose's `extra` in engagement `e`, written
/// for its recipient at `now` as the real mail would be (dates in their
/// words, people's own words in their language), for `check` (every
/// template renders against the real config), `preview` and the tests.
pub fn sample_extra(
    model: &Model,
    e: &Engagement,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let owner = &model.owner;
    let contractor = model.contractor_of(e);
    let reader = if purpose.is_owner_notice() {
        owner.reader()
    } else {
        contractor.reader()
    };
    let words = reader.lang.phrases();
    let record = crate::templates::lang::record::of(reader.lang.base());
    let days_ago = |n: i64| reader.time(now - TimeDelta::days(n));
    let first = e.milestones.first();
    let title = first.map_or_else(|| e.title.clone(), |m| m.title.clone());
    let due = first.map_or_else(
        || reader.date(e.starts),
        |m| reader.due(m.due, owner.timezone),
    );
    let config = "handoff.toml";
    let message_id = format!("<sample.{}@handoff.invalid>", e.id);
    let budget = e
        .budget
        .as_ref()
        .map_or("2000.00 EUR".to_string(), |b| b.to_string());
    let spent = e.budget.as_ref().map_or("1600.00 EUR".to_string(), |b| {
        crate::money::Money {
            cents: b.cents / 5 * 4,
            currency: b.currency.clone(),
        }
        .to_string()
    });
    let bounce = format!(
        "550 5.1.1 <{}>: Recipient address rejected: User unknown",
        contractor.email
    );
    let pairs: Vec<(&str, String)> = match purpose {
        Purpose::DeadlineReminder => vec![
            ("due_in", reader.period(TimeDelta::days(3))),
            ("due", due.clone()),
        ],
        Purpose::OverdueNotice | Purpose::NoticeOverdue => vec![("due", due)],
        Purpose::MilestoneInvite => vec![("update", "no".into())],
        Purpose::InviteCancel => vec![("title", title), ("due", due)],
        Purpose::EvaluationFeedback => vec![("feedback", words.sample_feedback.into())],
        Purpose::NoticeDelivery => vec![
            ("received", reader.day(now)),
            ("excerpt", words.sample_delivery.into()),
            (
                "because",
                fill(words.seen.attachment, &[("name", "wireframes.pdf")]),
            ),
            (
                "milestone_rule",
                fill(words.seen.named, &[("title", &title)]),
            ),
            ("message_id", message_id.clone()),
        ],
        Purpose::NoticeQuestion => vec![
            ("excerpt", words.sample_question.into()),
            ("because", words.seen.question_mark.into()),
            ("milestone_rule", String::new()),
            ("message_id", message_id.clone()),
        ],
        Purpose::NoticeBounce => vec![
            ("recipient", contractor.email.to_string()),
            ("error", bounce.clone()),
            ("excerpt", String::new()),
            ("because", bounce),
            ("milestone_rule", String::new()),
            ("message_id", message_id.clone()),
        ],
        Purpose::NoticeCounter => vec![
            ("what", title.clone()),
            ("current", due.clone()),
            ("proposed", reader.time(now + TimeDelta::days(10))),
            ("comment", words.sample_question.into()),
            ("answerable", "yes".into()),
            ("new_text", String::new()),
        ],
        Purpose::NoticeDelegated => vec![
            ("what", title.clone()),
            ("when", due.clone()),
            ("to", format!("helper@{}", contractor.email.domain())),
        ],
        Purpose::CounterDeclined => vec![(
            "proposed",
            contractor.reader().time(now + TimeDelta::days(10)),
        )],
        Purpose::NoticeSilence => vec![
            ("quiet_for", reader.period(TimeDelta::days(5))),
            ("last_heard", days_ago(6)),
        ],
        Purpose::NoticeEvaluationDue => {
            vec![("record", crate::schedule::sample_record(&reader, now))]
        }
        Purpose::NoticeDeclined => vec![("what", title), ("when", due)],
        Purpose::NoticeInboxDown => vec![
            ("mailbox", format!("{}/INBOX", owner.email)),
            ("since", days_ago(1)),
            ("error", "connection refused".into()),
        ],
        Purpose::NoticeSignIn => vec![
            ("account", owner.email.to_string()),
            ("since", days_ago(1)),
            (
                "error",
                "invalid_grant: Token has been expired or revoked.".into(),
            ),
            ("command", format!("handoff login --config {config}")),
            ("affects", words.sign_in_stops[1].into()),
        ],
        Purpose::NoticeConfigError => vec![
            ("config", config.into()),
            (
                "errors",
                format!(
                    "{config}:12:7: `due` in [[engagement.milestone]]: `2026-02-30` is not a date; expected due = 2026-12-05 or a local date-time"
                ),
            ),
        ],
        Purpose::NoticeSendFailed => vec![
            ("recipient", contractor.email.to_string()),
            (
                "subject",
                format!("{} {}", e.title, crate::outbox::compose::subject_tag(&e.id)),
            ),
            ("error", bounce),
        ],
        Purpose::DeliveryAccepted => vec![("notes", words.sample_notes.into())],
        Purpose::RedoRequest => vec![("reason", words.sample_reason.into()), ("due", due)],
        Purpose::Instructions => vec![
            ("overdue", String::new()),
            ("overdue_count", "0".into()),
            ("kickoff_past", String::new()),
        ],
        Purpose::NoticeRecheck => vec![
            ("what", title.clone()),
            (
                "milestones",
                fill(
                    words.report.line_delivered,
                    &[("title", &title), ("when", &days_ago(10))],
                ),
            ),
        ],
        Purpose::NoticePaymentDue => vec![("due_on", reader.day(now)), ("followup", String::new())],
        Purpose::NoticeOverdueAtStart => vec![
            ("count", "1".into()),
            (
                "milestones",
                fill(words.report.line_due, &[("title", &title), ("due", &due)]),
            ),
        ],
        Purpose::ClosingNote => vec![("notes", words.sample_notes.into())],
        Purpose::NoticeClosingReview => vec![
            ("closed", words.report.finished.into()),
            (
                "review",
                format!(
                    "{}\n{}",
                    fill(
                        record.spent_of_budget,
                        &[("spent", &spent), ("budget", &budget), ("percent", "80")],
                    ),
                    record.late_none
                ),
            ),
            (
                "record",
                format!(
                    "- {}",
                    fill(record.milestones, &[("on_time", "2"), ("late", "0")])
                ),
            ),
        ],
        Purpose::NoticeBudget => vec![
            ("percent", "80".into()),
            ("spent", spent),
            ("budget", budget),
        ],
        Purpose::Digest => {
            let (headline, needs, summary) = crate::schedule::sample_digest(model, e, &reader, now);
            vec![
                ("headline", headline),
                ("needs", needs),
                ("summary", summary),
                ("folded", String::new()),
            ]
        }
        Purpose::AgreementReminder => vec![("waiting_since", days_ago(7))],
        Purpose::Escalation => vec![
            ("overdue_for", reader.period(TimeDelta::days(3))),
            ("due", due),
        ],
        Purpose::NoticeUnanswered => vec![
            ("asked", days_ago(2)),
            ("excerpt", words.sample_question.into()),
        ],
        Purpose::NoticeStatusMissing => vec![("requested", days_ago(7))],
        _ => vec![],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
