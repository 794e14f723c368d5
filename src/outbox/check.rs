//! The template check: every template renders against the real config, so a
//! misspelt variable shows in `handoff check` (and stops a reload of the
//! daemon), never as a blank in someone's inbox. Each purpose is composed
//! for each engagement with plausible values for what only the moment of
//! sending knows ([`sample_extra`]), exactly as the outbox composes it.

use super::{Composer, MailRequest};
use crate::model::Model;
use crate::templates::{Purpose, Templates};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Renders every purpose for every engagement; one line per failure. The
/// daemon runs the same check before it accepts a reloaded config.
pub fn check_templates(model: &Model, now: DateTime<Utc>) -> Vec<String> {
    let templates = match Templates::load(model.mail.templates_dir.as_deref()) {
        Ok(t) => t,
        Err(e) => return vec![template_problem(model, &e.to_string())],
    };
    let composer = Composer {
        model,
        templates: &templates,
    };
    let mut problems = Vec::new();
    for e in &model.engagements {
        for purpose in Purpose::ALL {
            let milestone = e.milestones.first().map(|m| m.id.clone());
            if purpose.needs_milestone() && milestone.is_none() {
                continue;
            }
            let req = MailRequest {
                purpose: *purpose,
                engagement: e.id.clone(),
                milestone,
                extra: sample_extra(*purpose),
                calendar: None,
            };
            if let Err(err) = composer.compose(&req, None, now) {
                let line = template_problem(model, &format!("{err} (engagement {})", e.id));
                if !problems.contains(&line) {
                    problems.push(line);
                }
            }
        }
    }
    problems
}

fn template_problem(model: &Model, detail: &str) -> String {
    match &model.mail.templates_dir {
        Some(dir) => format!("{}: {detail}", dir.display()),
        None => format!("templates (built in): {detail}"),
    }
}

/// Plausible values for each purpose's `extra`, for `check` (every template
/// renders against the real config) and `preview`.
pub fn sample_extra(purpose: Purpose) -> BTreeMap<String, String> {
    let pairs: &[(&str, &str)] = match purpose {
        Purpose::DeadlineReminder => &[("due_in", "3 days"), ("due", "(its deadline)")],
        Purpose::OverdueNotice | Purpose::NoticeOverdue => &[("due", "(its deadline)")],
        Purpose::MilestoneInvite => &[("update", "no")],
        Purpose::InviteCancel => &[("title", "(the milestone)"), ("due", "(its due date)")],
        Purpose::EvaluationFeedback => &[("feedback", "(your evaluation, as you record it)")],
        Purpose::NoticeDelivery => &[
            ("received", "today"),
            (
                "excerpt",
                "(what the contractor wrote, their quote left out)",
            ),
            ("because", "(the words Handoff read it by)"),
            ("milestone_rule", "(why this milestone)"),
            ("message_id", "<(the mail's Message-ID)>"),
        ],
        Purpose::NoticeQuestion => &[
            ("excerpt", "(the contractor's question)"),
            ("because", "(the words Handoff read it by)"),
            ("milestone_rule", ""),
            ("message_id", "<(the mail's Message-ID)>"),
        ],
        Purpose::NoticeBounce => &[
            ("recipient", "(the address)"),
            ("error", "(what the server said)"),
            ("excerpt", ""),
            ("because", "(the report's status)"),
            ("milestone_rule", ""),
            ("message_id", "<(the report's Message-ID)>"),
        ],
        Purpose::NoticeCounter => &[
            ("what", "(the milestone or meeting)"),
            ("current", "(its date now)"),
            ("proposed", "(the date proposed)"),
            ("comment", "(what they wrote with it)"),
            ("answerable", "yes"),
            ("new_text", "(what they wrote in the mail)"),
        ],
        Purpose::NoticeDelegated => &[
            ("what", "(the milestone or meeting)"),
            ("when", "(its time)"),
            ("to", "(who it was passed to)"),
        ],
        Purpose::CounterDeclined => &[("proposed", "(the date they proposed)")],
        Purpose::NoticeSilence => &[("quiet_for", "5 days"), ("last_heard", "(a date)")],
        Purpose::NoticeEvaluationDue => &[("record", "(the record so far)")],
        Purpose::NoticeDeclined => &[
            ("what", "(the milestone or meeting)"),
            ("when", "(its time)"),
        ],
        Purpose::NoticeInboxDown => &[
            ("mailbox", "(the mailbox)"),
            ("since", "(when it stopped answering)"),
            ("error", "(what went wrong)"),
        ],
        Purpose::NoticeSignIn => &[
            ("account", "(the mail address)"),
            ("since", "(when the sign-in stopped working)"),
            ("error", "(what the provider said)"),
            ("command", "handoff login --config (your config)"),
            ("affects", "(replies are not read, mail is not sent)"),
        ],
        Purpose::NoticeConfigError => &[
            ("config", "(the config file)"),
            ("errors", "(each problem, as FILE:LINE:COL: what is wrong)"),
        ],
        Purpose::NoticeSendFailed => &[
            ("recipient", "(the address)"),
            ("subject", "(the subject)"),
            ("error", "(what the server said)"),
        ],
        Purpose::DeliveryAccepted => &[("notes", "(your notes, if any)")],
        Purpose::RedoRequest => &[
            ("reason", "(what needs fixing)"),
            ("due", "(when the revised work is due)"),
        ],
        Purpose::Instructions => &[
            ("overdue", ""),
            ("overdue_count", "0"),
            ("kickoff_past", ""),
        ],
        Purpose::NoticeRecheck => &[
            ("what", "(the delivered work)"),
            (
                "milestones",
                "- (each milestone, with when it was delivered)",
            ),
        ],
        Purpose::NoticePaymentDue => &[("due_on", "(a date)"), ("followup", "")],
        Purpose::NoticeOverdueAtStart => &[
            ("count", "1"),
            (
                "milestones",
                "- (each milestone already past due, with its date)",
            ),
        ],
        Purpose::ClosingNote => &[("notes", "(your closing words)")],
        Purpose::NoticeBudget => &[
            ("percent", "80"),
            ("spent", "(paid so far)"),
            ("budget", "(the budget)"),
        ],
        Purpose::Digest => &[
            ("headline", "(how many engagements, how many need you)"),
            ("summary", "(each engagement: due, late, waiting on you)"),
            ("needs", "- (each thing that needs you, one per line)"),
            ("folded", ""),
        ],
        Purpose::AgreementReminder => &[("waiting_since", "(a date)")],
        Purpose::Escalation => &[("overdue_for", "3 days"), ("due", "(its deadline)")],
        Purpose::NoticeUnanswered => &[
            ("asked", "(a date)"),
            ("excerpt", "(the contractor's question)"),
        ],
        Purpose::NoticeStatusMissing => &[("requested", "(a date)")],
        Purpose::NoticeClosingReview => &[
            ("closed", "finished"),
            (
                "review",
                "(spend, late and redone milestones, silences, questions, evaluations)",
            ),
            ("record", "(the contractor's record across engagements)"),
        ],
        _ => &[],
    };
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
