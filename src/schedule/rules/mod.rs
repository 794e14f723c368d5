//! The rules: for one engagement, which mails fall in a window of time.
//!
//! Every rule is a function of the model, the engagement's stored record and
//! its journal facts, and the window; none reads the clock or the store, so
//! the same rules answer "what is due now" (the pass), "what comes next" (the
//! daemon's sleep, `status`) and "what will happen" (`handoff plan`).
//!
//! One file per kind of rule: [`milestones`] (deadline reminders, overdue
//! notices, the escalation, work already overdue at the start, re-checks),
//! [`contact`] (status requests, missing reports, silence, unanswered
//! questions), [`owner`] (the agreement reminder, evaluations, payments).
//!
//! Two instants recur across them, both read from the outbox's sent times
//! rather than from when a mail was decided: what *reached* the contractor.
//! Silence counts from the first mail that reached them (the instructions);
//! a status report is missing only for a request that reached them, counted
//! from its delivery; an escalation follows the overdue notice by
//! `escalate_after` from the moment that notice reached them.

mod contact;
mod milestones;
mod owner;

use super::occurrence;
use super::{Item, Mode, Window};
use crate::lifecycle::{EngagementState, MilestoneState};
use crate::model::{Engagement, Model, Schedule};
use crate::store::{EngagementRecord, JournalFacts, MilestoneRecord};
use crate::templates::Purpose;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

pub(crate) use contact::{silence_since, status_owed};
pub(crate) use milestones::reminder_key;
pub(crate) use owner::{evaluation_due, payment_due};

/// Every journal kind the rules read.
pub(crate) const KINDS: &[&str] = &[
    "acknowledgement",
    "bounce",
    "status_report",
    "delivery",
    "engagement_planned",
    "milestone_delivered",
    "milestone_instructions_sent",
    "owner_answered",
    "owner_paid",
    "owner_evaluated",
    "owner_redo",
    "sent_instructions",
    "sent_overdue_notice",
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
    /// Mail to the contractor's address is held after a bounce.
    pub held: bool,
}

impl Subject<'_> {
    pub(crate) fn item(
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

    /// The owner as the reader of the notices: their language and zone.
    pub(crate) fn owner(&self) -> crate::templates::Reader {
        self.model.owner.reader()
    }

    /// The contractor as the reader of their mail.
    pub(crate) fn contractor(&self) -> crate::templates::Reader {
        self.model.contractor_of(self.e).reader()
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
    pub(crate) fn next_open(&self) -> Option<&MilestoneRecord> {
        self.open().min_by_key(|m| m.deadline())
    }

    /// The contractor's last genuine mail, as the inbox judged it.
    pub(crate) fn last_heard(&self) -> Option<DateTime<Utc>> {
        self.facts.last_contact(&self.e.id)
    }

    /// When the instructions reached the contractor: the first mail of the
    /// work, from which silence counts.
    pub(crate) fn reached(&self) -> Option<DateTime<Utc>> {
        self.facts.latest(&self.e.id, "sent_instructions")
    }

    /// Whether work has started and is running: the rules' one test for
    /// "the schedule acts on this engagement now".
    pub(crate) fn running(&self) -> bool {
        self.record.state == EngagementState::Active
    }
}

/// All items of one engagement in the window.
pub(crate) fn engagement(s: &Subject<'_>, w: &Window) -> Vec<Item> {
    let mut out = Vec::new();
    match s.record.state {
        EngagementState::AwaitingAgreement => owner::agreement(s, w, &mut out),
        EngagementState::Active => {
            milestones::milestones(s, w, &mut out);
            milestones::overdue_at_start(s, w, &mut out);
            milestones::rechecks(s, w, &mut out);
            contact::status(s, w, &mut out);
            owner::owner_schedules(s, w, &mut out);
            contact::silence(s, w, &mut out);
            contact::unanswered(s, w, &mut out);
        }
        // Finished or ended: the record is kept, the mail stops.
        EngagementState::Finished | EngagementState::Ended => {}
    }
    out
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

/// [`recurring`] for a schedule whose occurrences replace each other (status
/// requests, the digest): after downtime, a missed occurrence that would go
/// out closer to the next regular one than to its own is dropped for it, so
/// the catch-up and the regular one never come hours apart. The next one
/// then goes on its own date, the only one of the period.
pub(crate) fn recurring_catch_up(sched: &Schedule, w: &Window) -> Vec<DateTime<Utc>> {
    let mut at = recurring(sched, w);
    if w.mode == Mode::Due
        && let Some(last) = at.first().copied()
        && let Some(next) = occurrence::next_after(sched, w.until)
        && w.until - last > next - w.until
    {
        at.clear();
    }
    at
}

/// `first`, `first + every`, … in the window, as the mode wants them.
pub(crate) fn periodic(first: DateTime<Utc>, every: TimeDelta, w: &Window) -> Vec<DateTime<Utc>> {
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
