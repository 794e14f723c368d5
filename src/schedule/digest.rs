//! The owner's digest: one mail per `policy.digest` occurrence (after
//! downtime, one per period: a missed digest closer to the next one is
//! dropped for it), about every engagement still running or waiting for its
//! agreement.
//!
//! Its headline counts everything that needs the owner and its first part
//! lists each, one line per thing: deliveries to check, payments and
//! evaluations due, open questions, addresses held after a bounce, overdue
//! work, silent contractors, agreements not signed. Each is read from the
//! same facts and rules the schedule acts on (the silence clock is
//! [`super::rules::silence_since`], the payment and evaluation the rules'
//! own occurrences), so the digest never says what the schedule does not.

use super::rules::{Subject, evaluation_due, payment_due, silence_since};
use super::{Item, summary};
use crate::lifecycle::{EngagementState, MilestoneState};
use crate::model::Model;
use crate::templates::{Purpose, local_time};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// One engagement's part of the digest.
pub(super) struct Entry {
    /// Where it stands, a few lines.
    pub lines: String,
    /// Each thing that needs the owner, one line each.
    pub needs: Vec<String>,
}

/// One engagement's part of the digest at `now`.
pub(super) fn entry(s: &Subject<'_>, now: DateTime<Utc>) -> Entry {
    let tz = s.owner_tz();
    let contractor = s.model.contractor_of(s.e);
    let id = &s.e.id;
    let state = match s.record.state {
        EngagementState::Active if now < s.start => {
            format!("starts {}", s.e.starts.format("%a %-d %b %Y"))
        }
        EngagementState::AwaitingAgreement => "waiting for the agreement".to_string(),
        other => other.to_string(),
    };
    let mut lines = vec![format!(
        "{} ({id}, {}): {state}",
        s.e.title, contractor.name
    )];
    let mut needs = Vec::new();
    if s.record.state == EngagementState::AwaitingAgreement {
        needs.push(format!("- {id}: the agreement is not signed yet"));
    }
    let week = now + TimeDelta::days(7);
    for m in s.open() {
        let deadline = m.deadline();
        if deadline < now && now >= s.start {
            needs.push(format!(
                "- {id}: {} is overdue (due {})",
                m.title,
                local_time(deadline, tz)
            ));
        } else if deadline >= now && deadline <= week {
            lines.push(format!(
                "  - due this week: {} ({})",
                m.title,
                local_time(deadline, tz)
            ));
        }
    }
    for m in s
        .record
        .milestones
        .iter()
        .filter(|m| m.state == MilestoneState::Delivered && !m.removed_from_config)
    {
        let when = s
            .facts
            .latest_for(id, &m.id, "milestone_delivered")
            .map(|t| format!(" (delivered {})", local_time(t, tz)))
            .unwrap_or_default();
        needs.push(format!("- {id}: check the delivery of {}{when}", m.title));
    }
    if s.running() {
        if let Some(at) = payment_due(s, now) {
            needs.push(format!(
                "- {id}: a payment to {} is due (since {})",
                contractor.name,
                local_time(at, tz)
            ));
        }
        if let Some(at) = evaluation_due(s, now) {
            needs.push(format!(
                "- {id}: the evaluation of {} is due (since {})",
                contractor.name,
                local_time(at, tz)
            ));
        }
    }
    if let Some((asked, _)) = s.facts.last_question(id)
        && s.facts
            .latest(id, "owner_answered")
            .is_none_or(|t| t < *asked)
    {
        needs.push(format!(
            "- {id}: {}'s question of {} is not answered",
            contractor.name,
            local_time(*asked, tz)
        ));
    }
    if s.held {
        needs.push(format!(
            "- {id}: mail to {} is held after a bounce",
            contractor.email
        ));
    }
    if let Some((since, silent)) = silence_since(s)
        && now >= silent
    {
        needs.push(format!(
            "- {id}: {} silent since {}",
            contractor.name,
            local_time(since, tz)
        ));
    }
    if let Some(budget) = &s.e.budget {
        lines.push(format!("  - {}", summary::budget_line(budget, s.paid)));
    }
    Entry {
        lines: lines.join("\n"),
        needs,
    }
}

/// The digest items at `at` (one per instant the window owes), carried by
/// engagement `carrier` (a mail needs one to hang on: threading, the outbox
/// row), with the text written from `entries` (empty outside the pass).
pub(super) fn items(
    model: &Model,
    carrier: &str,
    entries: &[Entry],
    at: &[DateTime<Utc>],
) -> Vec<Item> {
    let needs: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.needs.iter().map(String::as_str))
        .collect();
    let summary = entries
        .iter()
        .map(|e| e.lines.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let n = entries.len();
    let headline = format!(
        "{n} engagement{}, {}",
        if n == 1 { "" } else { "s" },
        match needs.len() {
            0 => "nothing needs you".to_string(),
            1 => "1 thing needs you".to_string(),
            k => format!("{k} things need you"),
        }
    );
    at.iter()
        .map(|at| {
            let mut extra = BTreeMap::new();
            extra.insert("summary".to_string(), summary.clone());
            extra.insert("headline".to_string(), headline.clone());
            extra.insert("needs".to_string(), needs.join("\n"));
            Item {
                at: *at,
                to: model.owner.email.to_string(),
                purpose: Purpose::Digest,
                engagement: carrier.to_string(),
                milestone: None,
                rule: "owner digest (policy.digest, owner's zone)",
                key: format!("digest/{}", at.to_rfc3339()),
                series: "digest".to_string(),
                once: false,
                extra,
            }
        })
        .collect()
}
