//! The work loop: one pass up to delivery ([`crate::pass::prepare`]:
//! reconcile, read the local inbox, decide and queue) per wake-up, then wake
//! the delivery task ([`super::deliver`]) and sleep until the next thing is
//! due. It never talks to a server, so a hung one never holds it back.
//!
//! It never polls: the sleep ends at the earliest of
//! - [`crate::pass::next_wake`]: the outbox's next due row, the next
//!   engagement start (and, folded in there, the schedule's next item);
//! - a [`super::Wake`] from a watcher (a reply arrived);
//! - a new config published by the config watcher;
//! - shutdown.
//!
//! Time is the injectable clock's: "how long until the next item" is the
//! item's instant minus `clock.now()`, slept on tokio's monotonic timer. Under
//! a pinned clock (`HANDOFF_NOW`) now never moves, so the daemon acts on what
//! is due at that instant and on every wake-up, and otherwise waits.

use super::sd_notify::Notifier;
use super::{TaskContext, keys};
use crate::pass::{self, PassReport};
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The longest single sleep. The timer is monotonic, the schedule is wall
/// time: after a suspend or a clock step the two disagree, and waking once an
/// hour to recompute bounds how late that can make anything.
pub const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// The shortest sleep when something is due already after a pass (a batch
/// limit left rows, or a row keeps failing at once): a pause, not a spin.
pub const MIN_SLEEP: Duration = Duration::from_secs(1);

/// After a failed pass (the store unwritable, a template broken on disk):
/// the first retry delay, doubled up to [`MAX_SLEEP`].
const ERROR_BACKOFF: Duration = Duration::from_secs(5);

/// Runs until shutdown.
pub async fn run(mut ctx: TaskContext, mut store: Store, notifier: Arc<Notifier>) {
    let mut ready = false;
    let mut backoff = ERROR_BACKOFF;
    loop {
        let current = ctx.config.borrow_and_update().clone();
        let model = &current.loaded.model;
        ctx.liveness.busy();
        let now = ctx.clock.now();
        let outcome = pass::prepare(model, &current.templates, &mut store, now);
        let ended = ctx.clock.now();
        let failed = match outcome {
            Ok(report) => {
                log_pass(&report);
                backoff = ERROR_BACKOFF;
                ctx.passes.record("work", ended, None);
                record(&store, keys::LAST_ERROR, "", ended);
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "the pass failed; trying again in {} s", backoff.as_secs());
                // The health file first: when the store cannot be written,
                // it is the one place `handoff status` learns of this.
                ctx.passes.record("work", ended, Some(&e.to_string()));
                record(&store, keys::LAST_ERROR, &e.to_string(), ended);
                true
            }
        };
        record(&store, keys::LAST_PASS_AT, &crate::store::ts(ended), ended);
        // Whatever the pass queued (or a reply's notice) goes now.
        ctx.deliver.wake();
        ctx.liveness.idle();
        if ctx.shutdown.is_shutdown() {
            return;
        }
        if !ready {
            // The store is open and a whole pass ran; delivery runs beside.
            notifier.ready(&status_line(model, &store, now));
            tracing::info!("ready");
            ready = true;
        }
        let nap = if failed {
            let nap = backoff;
            backoff = (backoff * 2).min(MAX_SLEEP);
            nap
        } else {
            let now = ctx.clock.now();
            let next = pass::next_wake(model, &store, now).unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read when the next item is due");
                None
            });
            notifier.status(&status_line(model, &store, now));
            sleep_for(next, now)
        };
        tracing::debug!(seconds = nap.as_secs_f64(), "sleeping");
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = ctx.wake.woken() => tracing::debug!("woken by a watcher"),
            changed = ctx.config.changed() => {
                if changed.is_err() {
                    // The config watcher is gone: the daemon is stopping.
                    return;
                }
                tracing::debug!("woken by a new config");
            }
            () = ctx.shutdown.recv() => return,
        }
    }
}

/// How long to sleep until `next`, seen at `now`.
pub fn sleep_for(next: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Duration {
    match next {
        None => MAX_SLEEP,
        Some(at) => (at - now)
            .to_std()
            .map_or(MIN_SLEEP, |d| d.clamp(MIN_SLEEP, MAX_SLEEP)),
    }
}

fn log_pass(r: &PassReport) {
    if r.received.is_empty() && r.queued.is_empty() {
        tracing::debug!("pass: nothing to do");
        return;
    }
    let kinds: Vec<&str> = r.received.iter().map(|o| o.kind.as_str()).collect();
    tracing::info!(
        received = %kinds.join(","),
        queued = %r.queued.join(","),
        "pass done"
    );
}

/// What the daemon is doing, for systemd's STATUS= line.
fn status_line(model: &crate::model::Model, store: &Store, now: DateTime<Utc>) -> String {
    let depth = store.outbox_depth().unwrap_or(0);
    let next = pass::next_wake(model, store, now)
        .ok()
        .flatten()
        .map_or_else(
            || "nothing scheduled".to_string(),
            |t| format!("next at {}", crate::store::ts(t)),
        );
    format!(
        "watching {} engagement(s); outbox {depth}; {next}",
        model.engagements.len()
    )
}

/// Writes one health value; a failure is logged, never fatal (the health
/// file has it too).
pub(super) fn record(store: &Store, key: &str, value: &str, now: DateTime<Utc>) {
    if let Err(e) = store.scheduler_set(key, value, now) {
        tracing::warn!(key, error = %e, "cannot record the daemon's health");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn sleeps_until_the_next_item_within_bounds() {
        let now = t("2026-11-24T09:00:00Z");
        assert_eq!(
            sleep_for(Some(t("2026-11-24T09:00:30Z")), now),
            Duration::from_secs(30)
        );
        assert_eq!(sleep_for(Some(now), now), MIN_SLEEP, "due now: a pause");
        assert_eq!(
            sleep_for(Some(t("2026-11-24T08:00:00Z")), now),
            MIN_SLEEP,
            "overdue: a pause, not a spin"
        );
        assert_eq!(sleep_for(Some(t("2026-12-24T09:00:00Z")), now), MAX_SLEEP);
        assert_eq!(sleep_for(None, now), MAX_SLEEP);
    }
}
