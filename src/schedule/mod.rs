//! The schedule: which reminders, requests and notices are due when, for
//! every engagement, in the right zone, once.
//!
//! # What it owns
//! The rules (`rules`), DST-correct crontab occurrences ([`occurrence`]),
//! the downtime policy, the reminder cap, and the owner's calendar feed
//! ([`feed`]). It does not own the agreement request, the instructions or
//! the invitations (those are [`crate::pass::decide`]'s own rules), nor
//! queueing or sending (the pass and the outbox).
//!
//! # How data moves
//! In: the checked [`Model`], the store's engagement records and a summary of
//! the journal ([`crate::store::JournalFacts`], read in one grouped query for
//! all engagements), and `now`. Out: [`Item`]s, each an instant, a recipient,
//! a purpose, the engagement (and milestone), the rule that causes it, and an
//! idempotency key. Three readers share the same rules:
//!
//! - [`due`] (called once by [`crate::pass::decide`]) gives the items due at
//!   `now`; the pass queues those whose key the outbox does not hold yet,
//!   asking [`held_until`] for the reminder cap and [`folded_notices`] for
//!   the digest;
//! - [`next_due`] gives the instant of the earliest future item, so the daemon
//!   sleeps until then;
//! - [`plan`] lists the items of the next days for `handoff plan`, assuming
//!   nothing changes meanwhile.
//!
//! # Downtime
//! Handoff may be stopped for days. On the next pass each series (a recurring
//! schedule, a milestone's reminders) fires only its *latest* missed
//! occurrence (coalesced), and only if it is younger than
//! `policy.catch_up_horizon` (default 7 days); older ones are logged and
//! skipped. The overdue notice (and its owner notice) is the exception: it
//! goes out once, however late.
//!
//! # The reminder cap
//! At most `policy.max_reminders_per_day` reminders (deadline reminders,
//! overdue notices, status requests) go to one contractor per day of their
//! local calendar; the rest are *held* to the next day with room (queued now,
//! with a later `not_before`), so nothing is lost and the contractor is never
//! flooded. Quiet hours apply on top, as for every contractor mail.
//!
//! # Where it stands
//! Above the store and the send-time rules, below the outbox: it reads the
//! store and returns [`Item`]s; it must not import the outbox, the pass, the
//! inbox or anything that sends. [`due`] gives the pass what to queue.

mod feed;
pub mod occurrence;
mod plan;
mod rules;
mod summary;

pub use feed::{KickoffSent, feed};
pub use plan::{PlanEntry, plan};

use crate::lifecycle::EngagementState;
use crate::model::Model;
use crate::sendtime;
use crate::store::{EngagementRecord, JournalFacts, Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, HashMap};

/// One mail the schedule wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// When it is due (UTC).
    pub at: DateTime<Utc>,
    /// The recipient's address: the owner or the contractor.
    pub to: String,
    pub purpose: Purpose,
    pub engagement: String,
    pub milestone: Option<String>,
    /// Why, for people: the rule that causes it.
    pub rule: &'static str,
    /// The idempotency key: the same item always has the same key, so it is
    /// queued once.
    pub key: String,
    /// Items of one series replace each other after downtime: only the
    /// latest missed one fires.
    series: String,
    /// Fires once however late (the overdue notice), not only within the
    /// catch-up horizon.
    once: bool,
    /// Template values particular to this mail.
    pub extra: BTreeMap<String, String>,
}

/// How the rules report the occurrences in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// What is owed at `until`: the latest occurrence of each schedule.
    Due,
    /// Every occurrence (the plan).
    All,
    /// The first occurrence of each schedule (the next wake-up).
    First,
}

/// A span of time `(after, until]` the rules look into.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub after: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub mode: Mode,
    /// For items that fire once however late: the lower bound instead of
    /// `after` (in [`Mode::Due`]).
    pub once_after: DateTime<Utc>,
    /// For recurring schedules: the lower bound instead of `after` when it is
    /// later (in [`Mode::Due`]). On the very first wake nothing recurring is
    /// owed from before it: a fresh install does not send last Monday's
    /// digest.
    pub recurring_after: DateTime<Utc>,
}

impl Window {
    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.after < at && at <= self.until
    }

    fn contains_once(&self, at: DateTime<Utc>) -> bool {
        let after = if self.mode == Mode::Due {
            self.once_after
        } else {
            self.after
        };
        after < at && at <= self.until
    }

    fn shifted(&self, by: TimeDelta) -> Window {
        Window {
            after: self.after + by,
            until: self.until + by,
            mode: self.mode,
            once_after: self.once_after + by,
            recurring_after: self.recurring_after + by,
        }
    }
}

/// Reminders, in the sense of the per-day cap.
const REMINDERS: &[Purpose] = &[
    Purpose::DeadlineReminder,
    Purpose::OverdueNotice,
    Purpose::StatusRequest,
];

/// Where the last wake's instant is kept (for the downtime log).
const LAST_WAKE: &str = "schedule/last_wake";

/// The store's view, read once per call for all engagements.
struct Facts {
    records: HashMap<String, EngagementRecord>,
    journal: HashMap<String, JournalFacts>,
    empty: JournalFacts,
    /// Payments recorded (`owner_paid` details, "1200.00 EUR"), by engagement.
    paid: HashMap<String, Vec<String>>,
}

impl Facts {
    fn load(store: &Store) -> Result<Facts, StoreError> {
        let records = store
            .engagements()?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        Self::with_records(store, records)
    }

    /// With the engagement records the caller has read already.
    fn with_records(
        store: &Store,
        records: HashMap<String, EngagementRecord>,
    ) -> Result<Facts, StoreError> {
        let journal = store.journal_facts(rules::KINDS)?.by_engagement();
        let mut paid: HashMap<String, Vec<String>> = HashMap::new();
        for (engagement, detail) in store.event_details_all("owner_paid")? {
            if let Some(d) = detail {
                paid.entry(engagement).or_default().push(d);
            }
        }
        Ok(Facts {
            records,
            journal,
            empty: JournalFacts::default(),
            paid,
        })
    }
}

/// Every item in the window, over all engagements, plus the digest.
fn items(model: &Model, facts: &Facts, w: &Window) -> Vec<Item> {
    let mut out = Vec::new();
    let mut digest: Vec<(String, bool)> = Vec::new();
    let mut carrier = None;
    let digest_at = model
        .policy
        .digest
        .as_ref()
        .map(|d| rules::recurring(d, w))
        .unwrap_or_default();
    for e in &model.engagements {
        let Some(record) = facts.records.get(&e.id) else {
            continue;
        };
        if record.removed_from_config {
            continue;
        }
        let subject = rules::Subject {
            model,
            e,
            record,
            facts: facts.journal.get(&e.id).unwrap_or(&facts.empty),
            paid: facts.paid.get(&e.id).map_or(&[][..], Vec::as_slice),
            start: sendtime::start_instant(model, e),
        };
        out.extend(rules::engagement(&subject, w));
        // The summary is only worth writing for a digest about to be queued;
        // the plan and the next wake-up need its instant alone.
        if !digest_at.is_empty()
            && w.mode == Mode::Due
            && matches!(
                record.state,
                EngagementState::AwaitingAgreement | EngagementState::Active
            )
        {
            // The summary as of the (first) digest instant in the window.
            let (mut lines, needs) = summary::digest_lines(&subject, digest_at[0]);
            if let Some(budget) = &e.budget {
                lines.push_str(&format!(
                    "\n  - {}",
                    summary::budget_line(budget, subject.paid)
                ));
            }
            digest.push((lines, needs));
        }
        if carrier.is_none()
            && matches!(
                record.state,
                EngagementState::AwaitingAgreement | EngagementState::Active
            )
        {
            carrier = Some(e);
        }
    }
    // The digest is about every engagement; a mail needs one to hang on
    // (threading, the outbox row), so it rides on the first live one.
    if let Some(e) = carrier {
        let needs = digest.iter().filter(|(_, n)| *n).count();
        let summary = digest
            .iter()
            .map(|(l, _)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n\n");
        let headline = format!(
            "{} engagement{}, {} need{} you",
            digest.len(),
            if digest.len() == 1 { "" } else { "s" },
            needs,
            if needs == 1 { "s" } else { "" }
        );
        for at in digest_at {
            let mut extra = BTreeMap::new();
            extra.insert("summary".to_string(), summary.clone());
            extra.insert("headline".to_string(), headline.clone());
            out.push(Item {
                at,
                to: model.owner.email.to_string(),
                purpose: Purpose::Digest,
                engagement: e.id.clone(),
                milestone: None,
                rule: "owner digest (policy.digest, owner's zone)",
                key: format!("digest/{}", at.to_rfc3339()),
                series: "digest".to_string(),
                once: false,
                extra,
            });
        }
    }
    out
}

/// Only the latest item of each series (coalescing after downtime), in time
/// order.
fn coalesce(items: Vec<Item>) -> Vec<Item> {
    let mut latest: HashMap<String, Item> = HashMap::new();
    for it in items {
        match latest.get(&it.series) {
            Some(have) if have.at >= it.at => {}
            _ => {
                latest.insert(it.series.clone(), it);
            }
        }
    }
    let mut out: Vec<Item> = latest.into_values().collect();
    out.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
    out
}

/// The items due at `now` (coalesced, within the horizon; overdue once),
/// whether queued already or not.
fn due_items(
    model: &Model,
    facts: &Facts,
    now: DateTime<Utc>,
    last_wake: Option<DateTime<Utc>>,
) -> Vec<Item> {
    let horizon = model.policy.catch_up_horizon;
    let w = Window {
        after: now - horizon,
        until: now,
        mode: Mode::Due,
        once_after: last_wake.map_or(DateTime::<Utc>::UNIX_EPOCH, |l| l.min(now) - horizon),
        // Occurrences up to the last wake were owed then, not now (and on a
        // schedule added since, they were never owed).
        recurring_after: match last_wake {
            Some(last) => (now - horizon).max(last.min(now)),
            // An occurrence at exactly this instant is still owed.
            None => now - TimeDelta::seconds(1),
        },
    };
    coalesce(items(model, facts, &w))
}

/// What the schedule owes at one wake: the items due (coalesced, within the
/// catch-up horizon), for the pass to queue ([`crate::pass::decide`]), and
/// what is needed to record afterwards that this wake was served.
#[derive(Debug)]
pub struct Due {
    pub items: Vec<Item>,
    last_wake: Option<DateTime<Utc>>,
}

/// The items due at `now`, read with the engagement records the pass has
/// read already (one read of every milestone per wake, not two). Items that
/// fell out of the catch-up horizon since the last wake are logged here.
pub fn due(
    model: &Model,
    store: &Store,
    records: HashMap<String, EngagementRecord>,
    now: DateTime<Utc>,
) -> Result<Due, StoreError> {
    let facts = Facts::with_records(store, records)?;
    let last_wake = last_wake(store)?;
    let items = due_items(model, &facts, now, last_wake);
    log_skipped(model, &facts, store, now, last_wake, &items)?;
    Ok(Due { items, last_wake })
}

impl Due {
    /// Records `now` as the last wake, once the items are queued: the next
    /// wake owes only what falls after it.
    pub fn served(&self, store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        if self.last_wake.is_none_or(|l| l < now) {
            store.scheduler_set(LAST_WAKE, &now.to_rfc3339(), now)?;
        }
        Ok(())
    }
}

fn last_wake(store: &Store) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(store
        .scheduler_get(LAST_WAKE)?
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|t| t.with_timezone(&Utc)))
}

/// Whether `purpose` counts against `policy.max_reminders_per_day`.
pub fn is_reminder(purpose: Purpose) -> bool {
    REMINDERS.contains(&purpose)
}

/// The owner notices waiting for the digest: queued, of a purpose that folds
/// into it. None unless the owner asked for that.
pub fn folded_notices(model: &Model, store: &Store) -> Result<Vec<(i64, String)>, StoreError> {
    let purposes: Vec<&str> = Purpose::ALL
        .iter()
        .filter(|p| sendtime::folds_into_digest(model, **p))
        .map(|p| p.as_str())
        .collect();
    if purposes.is_empty() {
        return Ok(Vec::new());
    }
    store.autocommit().queued_of_purposes(&purposes)
}

/// The reminder cap: the start of the first local day of the contractor's
/// (from today) on which fewer than `max_reminders_per_day` reminders are
/// queued to them; `now` if that is today. Asked per item as it is queued,
/// so the items of one wake count against each other.
pub fn held_until(
    model: &Model,
    store: &Store,
    e: &crate::model::Engagement,
    it: &Item,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, StoreError> {
    let tz = model.contractor_of(e).timezone;
    let cap = model.policy.max_reminders_per_day;
    let purposes: Vec<&str> = REMINDERS.iter().map(|p| p.as_str()).collect();
    // The day the mail would go: after quiet hours, if now is inside them.
    let first = sendtime::not_before(model, e, it.purpose, now);
    let mut day = first.with_timezone(&tz).date_naive();
    // A cap of 1 and a backlog of weeks still ends: at worst the mail goes
    // after 60 days, by when the backlog has gone out.
    for _ in 0..60 {
        let start = occurrence::local_to_instant(day.and_time(chrono::NaiveTime::MIN), tz);
        let Some(next) = day.succ_opt() else { break };
        let end = occurrence::local_to_instant(next.and_time(chrono::NaiveTime::MIN), tz);
        if store.outbox_count_between(&it.to, &purposes, start, end)? < cap {
            return Ok(start.max(now));
        }
        tracing::info!(key = %it.key, day = %day, "reminder cap reached; held to the next day");
        day = next;
    }
    Ok(now)
}

/// Logs the items that fell out of the catch-up horizon since the last wake
/// without being queued: what downtime cost. Only the slice between the last
/// wake and now is looked at, so each is logged once and a wake's work stays
/// proportional to what changed.
fn log_skipped(
    model: &Model,
    facts: &Facts,
    store: &Store,
    now: DateTime<Utc>,
    last_wake: Option<DateTime<Utc>>,
    due: &[Item],
) -> Result<(), StoreError> {
    let horizon = model.policy.catch_up_horizon;
    let Some(last) = last_wake else {
        return Ok(());
    };
    if now - last <= TimeDelta::zero() {
        return Ok(());
    }
    let w = Window {
        after: last - horizon,
        until: now - horizon,
        mode: Mode::All,
        once_after: last - horizon,
        recurring_after: last - horizon,
    };
    if w.until <= w.after {
        return Ok(());
    }
    let firing: std::collections::HashSet<&str> = due.iter().map(|i| i.series.as_str()).collect();
    for it in coalesce(items(model, facts, &w)) {
        if it.once || firing.contains(it.series.as_str()) {
            continue;
        }
        if !store.autocommit().outbox_has(&it.key)? {
            tracing::warn!(
                key = %it.key,
                due = %it.at,
                rule = it.rule,
                "skipped: older than catch_up_horizon after downtime"
            );
        }
    }
    Ok(())
}

/// The instant of the earliest scheduled item after `now` (the daemon sleeps
/// until then), looking a little over a year ahead; `None` if nothing is
/// scheduled in that time.
pub fn next_due(
    model: &Model,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let facts = Facts::load(store)?;
    let w = Window {
        after: now,
        until: now + TimeDelta::days(400),
        mode: Mode::First,
        once_after: now,
        recurring_after: now,
    };
    let scheduled = items(model, &facts, &w).into_iter().map(|i| i.at).min();
    // The instructions (and invitations) go at the start of work.
    let starts = model
        .engagements
        .iter()
        .filter(|e| {
            facts
                .records
                .get(&e.id)
                .is_some_and(|r| r.state == EngagementState::Active)
        })
        .map(|e| sendtime::start_instant(model, e))
        .filter(|s| *s > now)
        .min();
    Ok(scheduled.into_iter().chain(starts).min())
}
