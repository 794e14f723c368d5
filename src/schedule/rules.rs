//! The rules: for one engagement, which mails fall in a window of time.
//!
//! Every rule is a function of the model, the engagement's stored record and
//! its journal facts, and the window; none reads the clock or the store, so
//! the same rules answer "what is due now" (the pass), "what comes next" (the
//! daemon's sleep) and "what will happen" (`handoff plan`).

use super::occurrence;
use super::{Item, Mode, Window};
use crate::lifecycle::{EngagementState, MilestoneState};
use crate::model::{Engagement, Model, Schedule, format_period};
use crate::store::{EngagementRecord, JournalFacts, MilestoneRecord};
use crate::templates::Purpose;
use crate::templates::local_time;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// Kinds of inbound event that count as the contractor being in touch (an
/// auto-reply or a bounce does not).
pub(crate) const GENUINE: &[&str] = &[
    "acknowledgement",
    "status_report",
    "delivery",
    "question",
    "calendar_reply",
];

/// Every journal kind the rules read.
pub(crate) const KINDS: &[&str] = &[
    "acknowledgement",
    "status_report",
    "delivery",
    "question",
    "calendar_reply",
    "engagement_planned",
    "milestone_delivered",
    "owner_answered",
    "owner_paid",
    "owner_evaluated",
];

/// What the rules know about one engagement.
pub(crate) struct Subject<'a> {
    pub model: &'a Model,
    pub e: &'a Engagement,
    pub record: &'a EngagementRecord,
    pub facts: &'a JournalFacts,
    /// Payments recorded for it (`owner_paid` details).
    pub paid: &'a [String],
    /// When work starts (midnight of `starts`, owner's zone).
    pub start: DateTime<Utc>,
}

impl Subject<'_> {
    fn item(
        &self,
        at: DateTime<Utc>,
        purpose: Purpose,
        milestone: Option<&str>,
        rule: &'static str,
        key: String,
        series: String,
    ) -> Item {
        let to = if purpose.is_owner_notice() {
            self.model.owner.email.to_string()
        } else {
            self.model.contractor_of(self.e).email.to_string()
        };
        Item {
            at,
            to,
            purpose,
            engagement: self.e.id.clone(),
            milestone: milestone.map(str::to_string),
            rule,
            key,
            series,
            once: false,
            extra: BTreeMap::new(),
        }
    }

    pub(crate) fn owner_tz(&self) -> chrono_tz::Tz {
        self.model.owner.timezone
    }

    /// Milestones still in the config that still await delivery.
    pub(crate) fn open(&self) -> impl Iterator<Item = &MilestoneRecord> {
        self.record.milestones.iter().filter(|m| {
            !m.removed_from_config
                && matches!(
                    m.state,
                    MilestoneState::Planned
                        | MilestoneState::Instructed
                        | MilestoneState::Acknowledged
                        | MilestoneState::Redo
                )
        })
    }

    /// The open milestone due first: what a status request points at.
    fn next_open(&self) -> Option<&MilestoneRecord> {
        self.open().min_by_key(|m| m.due)
    }

    /// The latest genuine contractor mail, if any.
    pub(crate) fn last_heard(&self) -> Option<DateTime<Utc>> {
        GENUINE
            .iter()
            .filter_map(|k| self.facts.latest(&self.e.id, k))
            .max()
    }
}

/// All items of one engagement in the window.
pub(crate) fn engagement(s: &Subject<'_>, w: &Window) -> Vec<Item> {
    let mut out = Vec::new();
    match s.record.state {
        EngagementState::AwaitingAgreement => agreement(s, w, &mut out),
        EngagementState::Active => {
            milestones(s, w, &mut out);
            status(s, w, &mut out);
            owner_schedules(s, w, &mut out);
            silence(s, w, &mut out);
            unanswered(s, w, &mut out);
        }
        // Finished or ended: the record is kept, the mail stops.
        EngagementState::Finished | EngagementState::Ended => {}
    }
    out
}

/// Weekly: the owner is told work has not started for want of a signature.
fn agreement(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let since = s
        .facts
        .latest(&s.e.id, "engagement_planned")
        .unwrap_or(s.start);
    let week = TimeDelta::days(7);
    for at in periodic(since + week, week, w) {
        let mut it = s.item(
            at,
            Purpose::AgreementReminder,
            None,
            "agreement not signed: weekly owner reminder",
            format!("agreement_reminder/{}/{}", s.e.id, at.to_rfc3339()),
            format!("agreement_reminder/{}", s.e.id),
        );
        it.extra
            .insert("waiting_since".into(), local_time(since, s.owner_tz()));
        out.push(it);
    }
}

/// Deadline reminders, overdue notices, the escalation, re-checks.
fn milestones(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let id = &s.e.id;
    for m in &s.record.milestones {
        if m.removed_from_config {
            continue;
        }
        let Some(cfg) = s.e.milestones.iter().find(|c| c.id == m.id) else {
            continue;
        };
        // The store's date: the config's, or one the owner agreed since (an
        // accepted counter-proposal).
        let due = m.due;
        // A milestone due before work started (`check` warns of it) is
        // overdue from the start, not before anyone was told of it.
        let overdue_at = due.max(s.start);
        match m.state {
            MilestoneState::Planned
            | MilestoneState::Instructed
            | MilestoneState::Acknowledged
            | MilestoneState::Redo => {
                // Once the due moment has passed, the overdue notice speaks:
                // a late reminder would only contradict it.
                let reminders_live = !(w.mode == Mode::Due && w.until >= due);
                for off in &cfg.remind_before {
                    let at = due - *off;
                    // Before work started there was nothing to remind of.
                    if reminders_live && at >= s.start && w.contains(at) {
                        let mut it = s.item(
                            at,
                            Purpose::DeadlineReminder,
                            Some(&m.id),
                            "deadline reminder (remind_before)",
                            format!("remind/{id}/{}/{}", m.id, format_period(*off)),
                            format!("remind/{id}/{}", m.id),
                        );
                        it.extra.insert("due_in".into(), human(*off));
                        out.push(it);
                    }
                }
                if w.contains_once(overdue_at) {
                    let mut it = s.item(
                        overdue_at,
                        Purpose::OverdueNotice,
                        Some(&m.id),
                        "due with no delivery: overdue notice",
                        format!("overdue/{id}/{}", m.id),
                        format!("overdue/{id}/{}", m.id),
                    );
                    it.once = true;
                    out.push(it);
                    let mut it = s.item(
                        overdue_at,
                        Purpose::NoticeOverdue,
                        Some(&m.id),
                        "due with no delivery: owner told",
                        format!("overdue_owner/{id}/{}", m.id),
                        format!("overdue_owner/{id}/{}", m.id),
                    );
                    it.once = true;
                    out.push(it);
                }
                let at = overdue_at + s.model.policy.escalate_after;
                if w.contains(at) {
                    let mut it = s.item(
                        at,
                        Purpose::Escalation,
                        Some(&m.id),
                        "still overdue after escalate_after: one escalation",
                        format!("escalate/{id}/{}", m.id),
                        format!("escalate/{id}/{}", m.id),
                    );
                    it.extra
                        .insert("overdue_for".into(), human(s.model.policy.escalate_after));
                    out.push(it);
                }
            }
            MilestoneState::Delivered | MilestoneState::Accepted => {
                let Some(delivered) = s.facts.latest_for(id, &m.id, "milestone_delivered") else {
                    continue;
                };
                let first = delivered + s.e.recheck_after_delivery;
                for at in periodic(first, s.e.recheck_every, w) {
                    out.push(s.item(
                        at,
                        Purpose::NoticeRecheck,
                        Some(&m.id),
                        "re-check after delivery (recheck_after_delivery, recheck_every)",
                        format!("recheck/{id}/{}/{}", m.id, at.to_rfc3339()),
                        format!("recheck/{id}/{}", m.id),
                    ));
                }
            }
            MilestoneState::Cancelled => {}
        }
    }
}

/// Status-report requests, and the owner notice when one went unanswered
/// until the next request.
fn status(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let Some(sched) = &s.e.status_reports else {
        return;
    };
    if s.open().next().is_none() {
        return;
    }
    let id = &s.e.id;
    let next = s.next_open().map(|m| m.id.clone());
    let last_report = s.facts.latest(id, "status_report");
    for at in recurring(sched, w).into_iter().filter(|at| *at >= s.start) {
        out.push(s.item(
            at,
            Purpose::StatusRequest,
            next.as_deref(),
            "status_reports schedule (contractor's zone)",
            format!("status_request/{id}/{}", at.to_rfc3339()),
            format!("status_request/{id}"),
        ));
        let Some(prev) = occurrence::latest_at_or_before(sched, at - TimeDelta::seconds(1)) else {
            continue;
        };
        if prev < s.start || last_report.is_some_and(|r| r >= prev) {
            continue;
        }
        let mut it = s.item(
            at,
            Purpose::NoticeStatusMissing,
            next.as_deref(),
            "no status report by the next request",
            format!("status_missing/{id}/{}", prev.to_rfc3339()),
            format!("status_missing/{id}"),
        );
        it.extra
            .insert("requested".into(), local_time(prev, s.owner_tz()));
        out.push(it);
    }
}

/// Evaluation and payment reminders to the owner, and the payment follow-up.
fn owner_schedules(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let id = &s.e.id;
    for at in recurring(&s.e.evaluation, w)
        .into_iter()
        .filter(|at| *at >= s.start)
    {
        let mut it = s.item(
            at,
            Purpose::NoticeEvaluationDue,
            None,
            "evaluation schedule (owner's zone)",
            format!("evaluation/{id}/{}", at.to_rfc3339()),
            format!("evaluation/{id}"),
        );
        // The record is for the mail itself: not worth writing for the plan.
        if w.mode == Mode::Due {
            it.extra
                .insert("record".into(), super::summary::record(s, at));
        }
        out.push(it);
    }
    let Some(pay) = &s.e.payment else {
        return;
    };
    for at in recurring(pay, w).into_iter().filter(|at| *at >= s.start) {
        out.push(s.item(
            at,
            Purpose::NoticePaymentDue,
            None,
            "payment schedule (owner's zone)",
            format!("payment/{id}/{}", at.to_rfc3339()),
            format!("payment/{id}"),
        ));
    }
    // The follow-up of a payment due at p falls at p + delay: the window of
    // payments whose follow-up falls in `w` is `w` shifted back by the delay.
    let delay = s.model.policy.payment_followup_after;
    let shifted = w.shifted(-delay);
    let paid = s.facts.latest(id, "owner_paid");
    for p in recurring(pay, &shifted)
        .into_iter()
        .filter(|p| *p >= s.start && paid.is_none_or(|t| t < *p))
    {
        out.push(s.item(
            p + delay,
            Purpose::NoticePaymentDue,
            None,
            "payment not recorded after payment_followup_after: one more reminder",
            format!("payment_followup/{id}/{}", p.to_rfc3339()),
            format!("payment_followup/{id}"),
        ));
    }
}

/// No genuine mail from the contractor for `silence_alert_after` while work
/// is outstanding: one alert per silence.
fn silence(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    if s.open().next().is_none() {
        return;
    }
    let since = s.last_heard().map_or(s.start, |t| t.max(s.start));
    let after = s.model.policy.silence_alert_after;
    let at = since + after;
    if !w.contains(at) {
        return;
    }
    let mut it = s.item(
        at,
        Purpose::NoticeSilence,
        s.next_open().map(|m| m.id.as_str()),
        "no genuine contractor mail for silence_alert_after",
        format!("silence/{}/{}", s.e.id, since.to_rfc3339()),
        format!("silence/{}", s.e.id),
    );
    it.extra.insert("quiet_for".into(), human(after));
    it.extra
        .insert("last_heard".into(), local_time(since, s.owner_tz()));
    out.push(it);
}

/// A question the owner has not answered within `answer_within`: one
/// reminder quoting it.
fn unanswered(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let Some((asked, text)) = s.facts.last_question(&s.e.id) else {
        return;
    };
    if s.facts
        .latest(&s.e.id, "owner_answered")
        .is_some_and(|t| t >= *asked)
    {
        return;
    }
    let at = *asked + s.model.policy.answer_within;
    if !w.contains(at) {
        return;
    }
    let mut it = s.item(
        at,
        Purpose::NoticeUnanswered,
        None,
        "contractor question unanswered after answer_within",
        format!("unanswered/{}/{}", s.e.id, asked.to_rfc3339()),
        format!("unanswered/{}", s.e.id),
    );
    it.extra
        .insert("asked".into(), local_time(*asked, s.owner_tz()));
    it.extra.insert("excerpt".into(), text.clone());
    out.push(it);
}

/// Occurrences of a crontab schedule in the window, as the mode wants them.
pub(crate) fn recurring(sched: &Schedule, w: &Window) -> Vec<DateTime<Utc>> {
    match w.mode {
        Mode::Due => occurrence::latest_at_or_before(sched, w.until)
            .filter(|at| *at > w.after.max(w.recurring_after))
            .into_iter()
            .collect(),
        Mode::All => occurrence::between(sched, w.after, w.until, 100_000),
        Mode::First => occurrence::next_after(sched, w.after)
            .filter(|at| *at <= w.until)
            .into_iter()
            .collect(),
    }
}

/// `first`, `first + every`, … in the window, as the mode wants them.
fn periodic(first: DateTime<Utc>, every: TimeDelta, w: &Window) -> Vec<DateTime<Utc>> {
    let step = every.num_seconds().max(60);
    // The index of the first term after `w.after` (0 if `first` is later).
    let k_after = if first > w.after {
        0
    } else {
        (w.after - first).num_seconds() / step + 1
    };
    let term = |k: i64| first + TimeDelta::seconds(k.saturating_mul(step));
    match w.mode {
        Mode::Due => {
            if first > w.until {
                return Vec::new();
            }
            let k = (w.until - first).num_seconds() / step;
            let at = term(k);
            if at > w.after.max(w.recurring_after) {
                vec![at]
            } else {
                Vec::new()
            }
        }
        Mode::First => {
            let at = term(k_after);
            if at <= w.until { vec![at] } else { Vec::new() }
        }
        Mode::All => (k_after..)
            .map(term)
            .take_while(|at| *at <= w.until)
            .take(100_000)
            .collect(),
    }
}

/// "3 days", "1 day", "12 hours", "1 day 12 hours": how long, for a person.
pub(crate) fn human(d: TimeDelta) -> String {
    let days = d.num_days();
    let hours = d.num_hours() - days * 24;
    let minutes = d.num_minutes() - d.num_hours() * 60;
    let unit = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(unit(days, "day"));
    }
    if hours > 0 {
        parts.push(unit(hours, "hour"));
    }
    if minutes > 0 || parts.is_empty() {
        parts.push(unit(minutes, "minute"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_periods() {
        assert_eq!(human(TimeDelta::days(3)), "3 days");
        assert_eq!(human(TimeDelta::days(1)), "1 day");
        assert_eq!(human(TimeDelta::hours(36)), "1 day 12 hours");
        assert_eq!(human(TimeDelta::minutes(30)), "30 minutes");
    }
}
