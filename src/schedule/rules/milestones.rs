//! The rules about milestones: deadline reminders, the overdue notice and
//! the owner's, the one escalation, work already overdue when the
//! instructions went, and the re-checks of delivered work.
//!
//! A milestone's deadline is [`MilestoneRecord::deadline`]: its due date, or
//! the redo's date while the owner has sent it back. The mails about a redo
//! carry that date in their keys, so the redo gets its own overdue notice and
//! escalation, and neither goes before the new date has passed.

use super::{Subject, periodic};
use crate::model::format_period;
use crate::schedule::{Item, Mode, Window};
use crate::store::MilestoneRecord;
use crate::templates::Purpose;
use crate::templates::lang::fill;
use chrono::{DateTime, TimeDelta, Utc};

/// The part of a milestone's mail keys that names a redo's date ("" for the
/// first deadline), so a redo's mails never collide with the first ones.
fn redo_suffix(m: &MilestoneRecord) -> String {
    match (m.state, m.redo_due) {
        (crate::lifecycle::MilestoneState::Redo, Some(d)) => format!("/redo/{}", d.to_rfc3339()),
        _ => String::new(),
    }
}

/// The idempotency key of a deadline reminder `off` before `m`'s deadline.
pub(crate) fn reminder_key(engagement: &str, m: &MilestoneRecord, off: TimeDelta) -> String {
    format!(
        "remind/{engagement}/{}/{}{}",
        m.id,
        format_period(off),
        redo_suffix(m)
    )
}

/// When the contractor was first told of the milestone (the instructions
/// listing it were queued).
fn told(s: &Subject<'_>, m: &MilestoneRecord) -> Option<DateTime<Utc>> {
    s.facts
        .latest_for(&s.e.id, &m.id, "milestone_instructions_sent")
}

/// Whether the milestone was already past its due date when the
/// contractor was told of it (installed with work under way): the
/// instructions said so, the owner had one notice listing them all, and no
/// separate overdue notice goes to the contractor.
fn told_overdue(s: &Subject<'_>, m: &MilestoneRecord) -> bool {
    m.state != crate::lifecycle::MilestoneState::Redo && told(s, m).is_some_and(|t| m.due < t)
}

/// Deadline reminders, the overdue notices and the escalation of every open
/// milestone.
pub(super) fn milestones(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let id = &s.e.id;
    for m in s.open() {
        let Some(cfg) = s.e.milestones.iter().find(|c| c.id == m.id) else {
            continue;
        };
        let deadline = m.deadline();
        let suffix = redo_suffix(m);
        let told = told(s, m);
        let told_overdue = told_overdue(s, m);
        // A redo is about the work since the owner sent it back.
        let redo_asked = (!suffix.is_empty())
            .then(|| s.facts.latest_for(id, &m.id, "owner_redo"))
            .flatten();
        // A milestone due before work started (`check` warns of it) is
        // overdue from the start, not before anyone was told of it.
        let overdue_at = deadline.max(s.start);
        // Once the deadline has passed, the overdue notice speaks: a late
        // reminder would only contradict it.
        let reminders_live = !(w.mode == Mode::Due && w.until >= deadline);
        for off in &cfg.remind_before {
            let at = deadline - *off;
            // Nothing to remind of before work started, before the
            // contractor was told of it, or before the redo was asked.
            let after_told = told.is_none_or(|t| at > t) && redo_asked.is_none_or(|r| at > r);
            if reminders_live && at >= s.start && after_told && w.contains(at) {
                let mut it = s.item(
                    at,
                    Purpose::DeadlineReminder,
                    Some(&m.id),
                    "deadline reminder (remind_before)",
                    reminder_key(id, m, *off),
                    format!("remind/{id}/{}", m.id),
                );
                it.extra
                    .insert("due_in".into(), s.contractor().period(*off));
                if w.writes() {
                    it.extra
                        .insert("due".into(), s.contractor().due(deadline, s.owner_tz()));
                }
                out.push(it);
            }
        }
        if !told_overdue && w.contains_once(overdue_at) {
            let mut it = s.item(
                overdue_at,
                Purpose::OverdueNotice,
                Some(&m.id),
                "due with no delivery: overdue notice",
                format!("overdue/{id}/{}{suffix}", m.id),
                format!("overdue/{id}/{}", m.id),
            );
            it.once = true;
            if w.writes() {
                it.extra
                    .insert("due".into(), s.contractor().due(deadline, s.owner_tz()));
            }
            out.push(it);
            let mut it = s.item(
                overdue_at,
                Purpose::NoticeOverdue,
                Some(&m.id),
                "due with no delivery: owner told",
                format!("overdue_owner/{id}/{}{suffix}", m.id),
                format!("overdue_owner/{id}/{}", m.id),
            );
            it.once = true;
            if w.writes() {
                it.extra
                    .insert("due".into(), s.owner().due(deadline, s.owner_tz()));
            }
            out.push(it);
        }
        // The escalation follows the moment the contractor was told the
        // work is late (the overdue notice, or the instructions for work
        // late before they went) by `escalate_after`, from when that mail
        // reached them: never in the same pass as the notice itself.
        let reached = if told_overdue {
            s.reached()
        } else {
            s.facts
                .latest_for(id, &m.id, "sent_overdue_notice")
                .filter(|t| redo_asked.is_none_or(|r| *t > r))
        };
        let base = match (reached, w.mode) {
            (Some(t), _) => Some(t.max(overdue_at)),
            // Not yet reached: nothing is owed now.
            (None, Mode::Due) => None,
            // The plan and the next wake-up assume it goes when due.
            (None, _) => Some(if told_overdue {
                told.unwrap_or(overdue_at)
            } else {
                overdue_at
            }),
        };
        let Some(base) = base else { continue };
        let at = base + s.model.policy.escalate_after;
        if w.contains(at) {
            let mut it = s.item(
                at,
                Purpose::Escalation,
                Some(&m.id),
                "still overdue escalate_after after the contractor was told: one escalation",
                format!("escalate/{id}/{}{suffix}", m.id),
                format!("escalate/{id}/{}", m.id),
            );
            it.extra
                .insert("overdue_for".into(), s.owner().rough(at - deadline));
            it.extra
                .insert("due".into(), s.owner().due(deadline, s.owner_tz()));
            out.push(it);
        }
    }
}

/// Work already past due when the instructions went: one owner notice
/// listing every such milestone, when they went.
pub(super) fn overdue_at_start(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let late: Vec<&MilestoneRecord> = s.open().filter(|m| told_overdue(s, m)).collect();
    let Some(at) = late.iter().filter_map(|m| told(s, m)).min() else {
        return;
    };
    if !w.contains_once(at) {
        return;
    }
    let mut it = s.item(
        at,
        Purpose::NoticeOverdueAtStart,
        None,
        "milestones already past due when the instructions went: one owner notice",
        format!("overdue_at_start/{}", s.e.id),
        format!("overdue_at_start/{}", s.e.id),
    );
    it.once = true;
    it.extra.insert("count".into(), late.len().to_string());
    if !w.writes() {
        out.push(it);
        return;
    }
    it.extra.insert(
        "milestones".into(),
        late.iter()
            .map(|m| {
                fill(
                    s.owner().lang.phrases().report.line_due,
                    &[
                        ("title", &m.title),
                        ("due", &s.owner().due(m.due, s.owner_tz())),
                    ],
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    out.push(it);
}

/// Re-checks: one series per engagement, `recheck_after_delivery` after the
/// first delivery and then every `recheck_every` while the engagement runs,
/// each one mail listing every milestone delivered at least
/// `recheck_after_delivery` before it (at most one re-check per engagement
/// per period; none once it is finished, as no rule runs then).
pub(super) fn rechecks(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let id = &s.e.id;
    let after = s.e.recheck_after_delivery;
    let delivered: Vec<(&MilestoneRecord, DateTime<Utc>)> = s
        .record
        .milestones
        .iter()
        .filter(|m| {
            !m.removed_from_config
                && matches!(
                    m.state,
                    crate::lifecycle::MilestoneState::Delivered
                        | crate::lifecycle::MilestoneState::Accepted
                )
        })
        .filter_map(|m| {
            s.facts
                .latest_for(id, &m.id, "milestone_delivered")
                .map(|d| (m, d))
        })
        .collect();
    let Some(first) = delivered.iter().map(|(_, d)| *d + after).min() else {
        return;
    };
    for at in periodic(first, s.e.recheck_every, w) {
        let due: Vec<&(&MilestoneRecord, DateTime<Utc>)> =
            delivered.iter().filter(|(_, d)| *d + after <= at).collect();
        let titles: Vec<&str> = due.iter().map(|(m, _)| m.title.as_str()).collect();
        let mut it = s.item(
            at,
            Purpose::NoticeRecheck,
            None,
            "re-check of delivered work (recheck_after_delivery, then recheck_every)",
            format!("recheck/{id}/{}", at.to_rfc3339()),
            format!("recheck/{id}"),
        );
        let titles: Vec<String> = titles.iter().map(|t| t.to_string()).collect();
        it.extra.insert("what".into(), s.owner().list(&titles));
        if !w.writes() {
            out.push(it);
            continue;
        }
        it.extra.insert(
            "milestones".into(),
            due.iter()
                .map(|(m, d)| {
                    fill(
                        s.owner().lang.phrases().report.line_delivered,
                        &[("title", &m.title), ("when", &s.owner().time(*d))],
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
        out.push(it);
    }
}
