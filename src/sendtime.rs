//! When a mail may go: the send-time rules every producer of mail obeys.
//!
//! # What it owns
//! - the start instant of an engagement (midnight of `starts`, owner's zone);
//! - quiet hours: nothing reaches a contractor inside the window, in their
//!   own zone; a mail decided then waits for the window's end;
//! - the digest fold (`policy.owner_notices = "digest"`): an owner notice that
//!   can wait goes with the next digest instead of on its own.
//!
//! # How data moves
//! In: the checked [`Model`], an engagement, a purpose and an instant. Out:
//! an instant. Nothing here reads the store or composes mail, so the pass,
//! the schedule, the inbox and the owner's acts (each of which queues mail)
//! share one answer to "when may this go?". It must not import anything
//! downstream of the model but the schedule's occurrence arithmetic
//! ([`crate::schedule::occurrence`], itself pure).

use crate::model::{Engagement, Model};
use crate::schedule::occurrence;
use crate::templates::Purpose;
use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};

/// The moment work starts: midnight at the start of `starts`, owner's zone.
pub fn start_instant(model: &Model, e: &Engagement) -> DateTime<Utc> {
    let local = e.starts.and_time(NaiveTime::MIN);
    model
        .owner
        .timezone
        .from_local_datetime(&local)
        .earliest()
        // Midnight can fall in a DST gap in a few zones: an hour later then.
        .or_else(|| {
            model
                .owner
                .timezone
                .from_local_datetime(&(local + TimeDelta::hours(1)))
                .earliest()
        })
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// Whether a mail of `purpose` waits for the next digest and is folded into
/// it (`policy.owner_notices = "digest"`): owner notices that can wait.
pub fn folds_into_digest(model: &Model, purpose: Purpose) -> bool {
    model.policy.owner_notices == crate::model::OwnerNotices::Digest
        && model.policy.digest.is_some()
        && purpose.is_owner_notice()
        && !purpose.is_urgent()
        && purpose != Purpose::Digest
}

/// The earliest moment a mail may go: for the contractor, now or the end of
/// their quiet hours if now is inside them; for the owner, now, or the next
/// digest for a notice that is folded into it ([`folds_into_digest`]).
pub fn not_before(
    model: &Model,
    e: &Engagement,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    if folds_into_digest(model, purpose)
        && let Some(digest) = model
            .policy
            .digest
            .as_ref()
            .and_then(|d| occurrence::next_after(d, now))
    {
        return digest;
    }
    let Some(quiet) = model.policy.quiet_hours else {
        return now;
    };
    if purpose.is_owner_notice() {
        return now;
    }
    let tz = model.contractor_of(e).timezone;
    let local = now.with_timezone(&tz);
    if !quiet.contains(local.time()) {
        return now;
    }
    // The next local moment the window ends: today or tomorrow.
    let mut day = local.date_naive();
    if local.time() >= quiet.end {
        day = day.succ_opt().unwrap_or(day);
    }
    tz.from_local_datetime(&day.and_time(quiet.end))
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}
