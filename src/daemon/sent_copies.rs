//! The Sent-copy task (with `outgoing = "smtp"` and an `[imap]` account):
//! files the copies of mails that went out while the IMAP Sent folder did
//! not answer ([`crate::outbox::sent_copy::file_due`]), and while the folder
//! is marked down, tries every few seconds whether it answers again, so the
//! sender goes back to filing each copy before its mail.
//!
//! Apart from the delivery, so a hung IMAP server never slows sending: the
//! delivery only queues the copy and wakes this task. Woken also by a new
//! config; otherwise it sleeps until the queue's next due copy. Dropping a
//! round at shutdown is safe: filing looks a copy up before adding one.

use super::TaskContext;
use super::health::Heartbeat;
use crate::inbox::imap_watch::{UNREACHABLE_CEILING, backoff};
use crate::model::Outgoing;
use crate::outbox::sent_copy;
use crate::store::Store;

/// Runs until shutdown.
pub async fn run(mut ctx: TaskContext) {
    let mut store = match Store::open(&ctx.store_path) {
        Ok(s) => s,
        Err(e) => {
            ctx.liveness.failed(format!("cannot open the store: {e}"));
            ctx.shutdown.recv().await;
            return;
        }
    };
    let mut failures: u32 = 0;
    loop {
        let current = ctx.config.borrow_and_update().clone();
        let model = &current.loaded.model;
        let imap = match (model.mail.outgoing, &model.imap) {
            (Outgoing::Smtp, Some(imap)) => Some(imap),
            _ => None,
        };
        let mut nap = super::work::MAX_SLEEP;
        if let Some(imap) = imap {
            ctx.liveness.busy();
            let clock = Heartbeat {
                clock: ctx.clock.as_ref(),
                liveness: &ctx.liveness,
            };
            let round = tokio::select! {
                r = sent_copy::file_due(&mut store, imap, &clock) => r,
                () = ctx.shutdown.recv() => return,
            };
            ctx.liveness.idle();
            match round {
                Ok(report) => {
                    if report.filed > 0 {
                        tracing::info!(filed = report.filed, "filed Sent copies from the queue");
                    }
                    if report.back || report.filed > 0 {
                        // Interrupted mails can be resolved now, and the
                        // sender files copies first again.
                        ctx.deliver.wake();
                    }
                    match report.error {
                        Some(e) => {
                            failures = failures.saturating_add(1);
                            let waiting = store.sent_copies_waiting().unwrap_or(0);
                            ctx.liveness.degraded(format!(
                                "the Sent folder does not answer ({e}); {waiting} copies wait"
                            ));
                            nap = backoff(failures, UNREACHABLE_CEILING);
                        }
                        None => {
                            failures = 0;
                            let next = store.next_sent_copy_attempt().unwrap_or(None);
                            nap = super::work::sleep_for(next, ctx.clock.now());
                            if next.is_none() {
                                nap = super::work::MAX_SLEEP;
                            }
                        }
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(error = %e, "filing Sent copies failed");
                    nap = backoff(failures, super::work::MAX_SLEEP);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = ctx.copies.woken() => {}
            changed = ctx.config.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = ctx.shutdown.recv() => return,
        }
    }
}
