//! The delivery task: delivers the outbox whenever a mail is due, apart from
//! the work loop, so a mail server that hangs never holds back what the work
//! loop does meanwhile (reading replies, deciding, queueing), nor the other
//! way round.
//!
//! It sleeps until the outbox's next due row ([`Store::next_outbox_attempt`]:
//! a first try after quiet hours, a retry), or until woken: by the work loop
//! after a pass that queued mail, by the Sent-copy task when the Sent folder
//! answers again (mails a crash left mid-send can then be resolved), by a
//! new config, or by shutdown. Every step on a server is bounded; the
//! delivery reads a [`Heartbeat`] clock at every mail, so the watchdog sees
//! it move (see [`super::health`]).
//!
//! On SIGTERM a delivery in progress gets [`GRACE`] to finish its mail; past
//! it, it is dropped and the `sending` row is resolved at the next start, as
//! after a crash.

use super::health::Heartbeat;
use super::{Current, TaskContext};
use crate::outbox::{DeliveryReport, Transport};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// How long a delivery may go on after SIGTERM to finish the mail it is
/// sending.
pub const GRACE: Duration = Duration::from_secs(7);

/// After a failed delivery (the store unwritable): the first retry delay,
/// doubled up to [`super::work::MAX_SLEEP`].
const ERROR_BACKOFF: Duration = Duration::from_secs(5);

/// Runs until shutdown.
pub async fn run(mut ctx: TaskContext, mut store: Store) {
    let mut transport: Option<(Arc<Current>, Transport)> = None;
    let mut backoff = ERROR_BACKOFF;
    loop {
        let current = ctx.config.borrow_and_update().clone();
        let model = &current.loaded.model;
        ctx.liveness.busy();
        // One transport per config: a reload may change the SMTP server, and
        // keeping it across deliveries keeps the pooled SMTP connection.
        if transport
            .as_ref()
            .is_none_or(|(made_for, _)| !Arc::ptr_eq(made_for, &current))
        {
            transport = match Transport::from_model(model) {
                Ok(t) => Some((current.clone(), t)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot set up sending");
                    ctx.passes
                        .record("deliver", ctx.clock.now(), Some(&e.to_string()));
                    None
                }
            };
        }
        let outcome = match &transport {
            Some((_, t)) => {
                let clock = Heartbeat {
                    clock: ctx.clock.as_ref(),
                    liveness: &ctx.liveness,
                };
                let delivery =
                    crate::pass::deliver(model, &current.templates, &mut store, t, &clock);
                tokio::pin!(delivery);
                tokio::select! {
                    r = &mut delivery => Some(r),
                    () = ctx.shutdown.recv() => {
                        match tokio::time::timeout(GRACE, &mut delivery).await {
                            Ok(r) => Some(r),
                            Err(_) => {
                                tracing::warn!("stopping in the middle of a delivery; a mail being sent is resolved at the next start");
                                None
                            }
                        }
                    }
                }
            }
            None => None,
        };
        let now = ctx.clock.now();
        let failed = match outcome {
            Some(Ok(report)) => {
                log_delivery(&report);
                // Copies to file, or a folder to watch for its return.
                if report.copies_queued > 0
                    || crate::outbox::sent_copy::is_down(&store).unwrap_or(false)
                {
                    ctx.copies.wake();
                }
                ctx.passes.record("deliver", now, None);
                backoff = ERROR_BACKOFF;
                false
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "delivering the outbox failed; trying again in {} s", backoff.as_secs());
                ctx.passes.record("deliver", now, Some(&e.to_string()));
                super::work::record(&store, super::keys::LAST_ERROR, &e.to_string(), now);
                true
            }
            None => transport.is_none(),
        };
        ctx.liveness.idle();
        if ctx.shutdown.is_shutdown() {
            return;
        }
        let nap = if failed {
            let nap = backoff;
            backoff = (backoff * 2).min(super::work::MAX_SLEEP);
            nap
        } else {
            let next = store.next_outbox_attempt().unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read when the next mail is due");
                None
            });
            super::work::sleep_for(next, ctx.clock.now())
        };
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = ctx.deliver.woken() => {}
            changed = ctx.config.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = ctx.shutdown.recv() => return,
        }
    }
}

fn log_delivery(d: &DeliveryReport) {
    if d.sent + d.retrying + d.failed + d.recovered_sent + d.recovered_requeued == 0 {
        tracing::debug!("delivery: nothing due");
        return;
    }
    tracing::info!(
        sent = d.sent + d.recovered_sent,
        retrying = d.retrying,
        failed = d.failed,
        copies_queued = d.copies_queued,
        "delivery done"
    );
}
