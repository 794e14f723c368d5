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
use crate::templates::Purpose;
use crate::templates::lang::fill;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// One engagement's part of the digest.
pub(super) struct Entry {
    /// Where it stands, a few lines.
    pub lines: String,
    /// Each thing that needs the owner, one line each.
    pub needs: Vec<String>,
}

/// One engagement's part of the digest at `now`, in the owner's words.
pub(super) fn entry(s: &Subject<'_>, now: DateTime<Utc>) -> Entry {
    let owner = s.owner();
    let r = summary::report(&owner);
    let contractor = s.model.contractor_of(s.e);
    let id = s.e.id.as_str();
    let name = contractor.name.as_str();
    let starts;
    let state = match s.record.state {
        EngagementState::Active if now < s.start => {
            starts = fill(r.starts, &[("date", &owner.date(s.e.starts))]);
            starts.as_str()
        }
        EngagementState::AwaitingAgreement => r.awaiting,
        EngagementState::Active => r.active,
        EngagementState::Finished => r.finished,
        EngagementState::Ended => r.ended,
    };
    let mut lines = vec![fill(
        r.engagement,
        &[
            ("title", &s.e.title),
            ("id", id),
            ("contractor", name),
            ("state", state),
        ],
    )];
    let need = |pattern: &str, values: &[(&str, &str)]| {
        let mut all = vec![("id", id), ("name", name)];
        all.extend_from_slice(values);
        fill(pattern, &all)
    };
    let mut needs = Vec::new();
    if s.record.state == EngagementState::AwaitingAgreement {
        needs.push(need(r.need_agreement, &[]));
    }
    let week = now + TimeDelta::days(7);
    for m in s.open() {
        let deadline = m.deadline();
        let due = owner.due(deadline, s.owner_tz());
        if deadline < now && now >= s.start {
            needs.push(need(r.need_overdue, &[("title", &m.title), ("due", &due)]));
        } else if deadline >= now && deadline <= week {
            lines.push(fill(r.due_this_week, &[("title", &m.title), ("due", &due)]));
        }
    }
    for m in s
        .record
        .milestones
        .iter()
        .filter(|m| m.state == MilestoneState::Delivered && !m.removed_from_config)
    {
        needs.push(match s.facts.latest_for(id, &m.id, "milestone_delivered") {
            Some(t) => need(
                r.need_check_delivered,
                &[("title", &m.title), ("when", &owner.day(t))],
            ),
            None => need(r.need_check, &[("title", &m.title)]),
        });
    }
    if s.running() {
        if let Some(at) = payment_due(s, now) {
            needs.push(need(r.need_payment, &[("when", &owner.day(at))]));
        }
        if let Some(at) = evaluation_due(s, now) {
            needs.push(need(r.need_evaluation, &[("when", &owner.day(at))]));
        }
    }
    if let Some((asked, _)) = s.facts.last_question(id)
        && s.facts
            .latest(id, "owner_answered")
            .is_none_or(|t| t < *asked)
    {
        needs.push(need(r.need_question, &[("when", &owner.day(*asked))]));
    }
    if s.held {
        let email = contractor.email.to_string();
        needs.push(need(r.need_held, &[("email", &email)]));
    }
    if let Some((since, silent)) = silence_since(s)
        && now >= silent
    {
        needs.push(need(r.need_silent, &[("when", &owner.day(since))]));
    }
    if let Some(budget) = &s.e.budget {
        lines.push(format!(
            "  - {}",
            summary::budget_line(&owner, budget, s.paid)
        ));
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
    let owner = model.owner.reader();
    let headline = (summary::report(&owner).headline)(entries.len(), needs.len());
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
