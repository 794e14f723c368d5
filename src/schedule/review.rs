//! Queued reminders decided again before they go: mail that waited (held
//! after a bounce, or queued before downtime) is not sent as it was decided
//! days ago.
//!
//! Every pass looks at the reminders (deadline reminders, overdue notices,
//! status requests) whose time has come and asks the rules whether each is
//! still right at this moment:
//! - a deadline reminder goes only while its milestone is open and its
//!   deadline ahead (once the deadline has passed the overdue notice speaks;
//!   after a redo, the redo's date is the deadline);
//! - an overdue notice only while the work is still missing;
//! - a status request only if it is the one owed now: an older one is
//!   superseded by the newer one (which names the newer date), and one that
//!   would now land closer to the next regular request than to its own is
//!   dropped for it.
//!
//! What is still right then obeys `max_reminders_per_day` again, in the order
//! it was due: a hold that ends releases at most the cap's worth per day of
//! the contractor's calendar, the rest moved to the next days with room. And
//! any contractor mail that came free inside their quiet hours (a hold that
//! ended at night, a daemon back at 23:00) waits for the morning.
//!
//! It only judges: [`review`] returns verdicts and the pass applies them
//! (take the mail back, or move its time), journaling each.

use super::rules::{reminder_key, status_owed};
use super::{Facts, Mode, REMINDERS, Window};
use crate::lifecycle::EngagementState;
use crate::model::{Engagement, Model};
use crate::schedule::occurrence;
use crate::sendtime;
use crate::store::{QueuedMail, Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, NaiveTime, Utc};
use std::collections::HashMap;

const QUIET: &str = "the contractor's quiet hours";
const CAP: &str = "max_reminders_per_day reached";

/// What becomes of a queued reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not right any more: taken back, with why.
    Drop(String),
    /// Still right, but not now: the cap has no room before this instant,
    /// or the contractor's quiet hours last until then.
    Retime(DateTime<Utc>, &'static str),
}

/// The verdicts on the queued contractor mail whose time has come at `now`:
/// only the mails that change are listed.
pub fn review(
    model: &Model,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(QueuedMail, Verdict)>, StoreError> {
    let contractor: Vec<&str> = Purpose::ALL
        .iter()
        .filter(|p| !p.is_owner_notice())
        .map(|p| p.as_str())
        .collect();
    let rows = store.queued_due(&contractor, now)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let reminders: Vec<&str> = REMINDERS.iter().map(|p| p.as_str()).collect();
    let is_reminder = |r: &QueuedMail| reminders.contains(&r.purpose.as_str());
    // By id: a backlog (an outage of the mail server) may hold thousands.
    let by_id: HashMap<&str, &Engagement> = model
        .engagements
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    let engagement = |r: &QueuedMail| r.engagement.as_deref().and_then(|e| by_id.get(e).copied());
    // The rules' facts only when there are reminders to judge.
    let facts = if rows.iter().any(is_reminder) {
        Some(Facts::load(store)?)
    } else {
        None
    };
    let horizon = model.policy.catch_up_horizon;
    // "Which request is owed now", whatever earlier wakes did about it.
    let w = Window {
        after: now - horizon,
        until: now,
        mode: Mode::Due,
        once_after: now - horizon,
        recurring_after: now - horizon,
    };
    let mut out = Vec::new();
    let mut kept = Vec::new();
    for row in &rows {
        let verdict = match (&facts, engagement(row)) {
            (Some(facts), Some(e)) if is_reminder(row) => stale(model, facts, &w, e, row),
            _ => None,
        };
        match verdict {
            Some(why) => out.push((row.clone(), Verdict::Drop(why))),
            None => kept.push(row),
        }
    }
    // What goes now goes outside quiet hours (mail that waited through a
    // hold or downtime may come free at night), and reminders obey the cap
    // again. Held mail waits for its hold.
    let cap = i64::from(model.policy.max_reminders_per_day);
    let mut tally: HashMap<(String, chrono::NaiveDate), i64> = HashMap::new();
    let under_review: Vec<&QueuedMail> = rows.iter().filter(|r| is_reminder(r)).collect();
    for row in kept.iter().filter(|r| !r.held) {
        let Some(e) = engagement(row) else {
            continue;
        };
        let Some(purpose) = Purpose::parse(&row.purpose) else {
            continue;
        };
        let first = sendtime::not_before(model, e, purpose, now);
        if !is_reminder(row) {
            if first > now {
                out.push(((*row).clone(), Verdict::Retime(first, QUIET)));
            }
            continue;
        }
        let tz = model.contractor_of(e).timezone;
        let mut day = first.with_timezone(&tz).date_naive();
        for _ in 0..60 {
            let start = occurrence::local_to_instant(day.and_time(NaiveTime::MIN), tz);
            let Some(next) = day.succ_opt() else { break };
            let end = occurrence::local_to_instant(next.and_time(NaiveTime::MIN), tz);
            let slot = (row.recipient.clone(), day);
            if !tally.contains_key(&slot) {
                // What already stands on that day, without the reminders
                // under review (each is placed here, once, or taken back).
                let stored = i64::from(store.outbox_count_between(
                    &row.recipient,
                    &reminders,
                    start,
                    end,
                )?);
                let reviewed = under_review
                    .iter()
                    .filter(|k| {
                        k.recipient == row.recipient && k.not_before >= start && k.not_before < end
                    })
                    .count();
                tally.insert(slot.clone(), stored - i64::try_from(reviewed).unwrap_or(0));
            }
            let n = tally.entry(slot).or_insert(0);
            if *n < cap {
                *n += 1;
                let at = sendtime::not_before(model, e, purpose, start.max(now));
                let verdict = if at > now {
                    let why = if at == first { QUIET } else { CAP };
                    Some(Verdict::Retime(at, why))
                } else {
                    // Goes now; a mail from an earlier day is moved to today
                    // so it counts against today's cap.
                    (row.not_before < start).then_some(Verdict::Retime(now, "released"))
                };
                if let Some(v) = verdict {
                    out.push(((*row).clone(), v));
                }
                break;
            }
            day = next;
        }
    }
    Ok(out)
}

/// Why a queued reminder is no longer right, or `None` if it still is.
fn stale(
    model: &Model,
    facts: &Facts,
    w: &Window,
    e: &Engagement,
    row: &QueuedMail,
) -> Option<String> {
    let s = super::subject(model, facts, e)?;
    if s.record.state != EngagementState::Active {
        return Some(format!("the engagement is {}", s.record.state));
    }
    let milestone = row
        .milestone
        .as_deref()
        .and_then(|id| s.record.milestones.iter().find(|m| m.id == id));
    match Purpose::parse(&row.purpose)? {
        Purpose::DeadlineReminder => {
            let m = milestone?;
            if !s.open().any(|o| o.id == m.id) {
                return Some(format!("{} is {} now", m.title, m.state));
            }
            if m.deadline() <= w.until {
                return Some(format!(
                    "the deadline of {} passed before it could go (the overdue notice speaks)",
                    m.title
                ));
            }
            let cfg = e.milestones.iter().find(|c| c.id == m.id)?;
            if !cfg
                .remind_before
                .iter()
                .any(|off| reminder_key(&e.id, m, *off) == row.key)
            {
                return Some(format!("{}'s deadline has changed since", m.title));
            }
            None
        }
        Purpose::OverdueNotice => {
            let m = milestone?;
            if !s.open().any(|o| o.id == m.id) {
                return Some(format!("{} is {} now", m.title, m.state));
            }
            if m.deadline() > w.until {
                return Some(format!("{} has a new date ahead", m.title));
            }
            None
        }
        Purpose::StatusRequest => {
            let asked = row
                .key
                .rsplit('/')
                .next()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))?;
            match status_owed(&s, w) {
                Some(owed) if owed == asked => None,
                Some(owed) => Some(format!(
                    "superseded by the request of {}",
                    crate::templates::local_time(owed, model.owner.timezone)
                )),
                None if s.open().next().is_none() => Some("no work is open".into()),
                None => Some("the next regular request is closer than its own date".into()),
            }
        }
        _ => None,
    }
}
