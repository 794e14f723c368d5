//! The daemon's IMAP task: runs [`crate::inbox::imap_watch::Watcher`] on the
//! `[imap]` settings in force, feeds what it fetches through the pipeline of
//! the current config, wakes the work loop after each recorded batch, and
//! restarts the watcher when a reload changes the `[imap]` settings.
//!
//! The watcher itself knows nothing of the daemon: it reports what it does on
//! a channel, which this task turns into liveness (connected: idle;
//! disconnected: degraded, healthy for the watchdog, since restarting the
//! daemon would not bring the server back) and wake-ups. The watcher reports
//! at least once per IDLE renewal or reconnect attempt, each of its steps
//! bounded; silent for longer than [`promise`], it is stuck, and the
//! watchdog stops.
//!
//! On shutdown it stops the watcher and says nothing more: the end of the
//! config channel at shutdown is no change of `[imap]`.

use super::{Current, TaskContext, Wake};
use crate::inbox::imap_watch::{self, Folder, Pipeline, WatchEvent, Watcher};
use crate::inbox::{InboxError, Outcome, Source};
use crate::model::ImapSettings;
use crate::outbox::Composer;
use crate::store::Store;
use crate::templates::Purpose;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// The pipeline over whatever config is current when a batch arrives.
struct CurrentPipeline {
    config: watch::Receiver<Arc<Current>>,
    wake: Wake,
}

impl Pipeline for CurrentPipeline {
    fn ingest(
        &mut self,
        store: &mut Store,
        folder: Folder,
        mails: &[(Source, Vec<u8>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, InboxError> {
        let current = self.config.borrow().clone();
        imap_watch::ingest_with(
            &current.loaded.model,
            &current.templates,
            store,
            folder,
            mails,
            now,
        )
    }

    fn unreachable(
        &mut self,
        store: &mut Store,
        error: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), InboxError> {
        imap_watch::record_unreachable(store, error, since, now)?;
        let current = self.config.borrow().clone();
        let model = &current.loaded.model;
        let Some(imap) = &model.imap else {
            return Ok(());
        };
        let composer = Composer {
            model,
            templates: &current.templates,
        };
        let extra = [
            (
                "mailbox".to_string(),
                format!(
                    "{}@{}/{}",
                    imap.server.username, imap.server.host, imap.mailbox
                ),
            ),
            (
                "since".to_string(),
                crate::templates::local_time(since, model.owner.timezone),
            ),
            ("error".to_string(), error.to_string()),
        ]
        .into_iter()
        .collect();
        let key = format!("notice_inbox_down/{}", since.to_rfc3339());
        if let Some(mail) = composer.compose_system(Purpose::NoticeInboxDown, key, extra, now)? {
            store.enqueue(&mail, now)?;
            self.wake.wake();
        }
        Ok(())
    }
}

/// How long the watcher may go without reporting: an IDLE renewal or the
/// longest reconnect wait, plus the steps of a login and a catch-up.
fn promise() -> std::time::Duration {
    imap_watch::IDLE_RENEW.max(imap_watch::REFUSED_CEILING.mul_f64(1.25))
        + super::health::stall_limit()
}

/// Runs until shutdown: one watcher at a time, on the current `[imap]`.
pub(super) async fn run(mut ctx: TaskContext) {
    loop {
        let settings: Option<ImapSettings> = ctx.config.borrow().loaded.model.imap.clone();
        let Some(settings) = settings else {
            // The config check requires [imap] for incoming = "imap"; a
            // reload cannot switch modes (it needs a restart).
            ctx.liveness
                .degraded("incoming = \"imap\" but no [imap] section");
            ctx.shutdown.recv().await;
            return;
        };
        let store = match Store::open(&ctx.store_path) {
            Ok(s) => s,
            Err(e) => {
                ctx.liveness.failed(format!("cannot open the store: {e}"));
                ctx.shutdown.recv().await;
                return;
            }
        };
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let watcher = Watcher::new(
            settings.clone(),
            store,
            ctx.clock.clone(),
            CurrentPipeline {
                config: ctx.config.clone(),
                wake: ctx.wake.clone(),
            },
        )
        .with_events(events_tx);
        let running = watcher.run(stop_rx);
        tokio::pin!(running);
        ctx.liveness
            .degraded_within("connecting to the IMAP server", promise());
        let restart = loop {
            tokio::select! {
                () = &mut running => break false,
                () = ctx.shutdown.recv() => {
                    let _ = stop_tx.send(true);
                    (&mut running).await;
                    return;
                }
                changed = ctx.config.changed() => {
                    if changed.is_err() {
                        // The config watcher is gone: the daemon is stopping,
                        // nothing changed.
                        let _ = stop_tx.send(true);
                        (&mut running).await;
                        return;
                    }
                    let now_settings = ctx.config.borrow().loaded.model.imap.clone();
                    if now_settings.as_ref() != Some(&settings) {
                        tracing::info!("the [imap] settings changed: reconnecting");
                        let _ = stop_tx.send(true);
                        (&mut running).await;
                        break true;
                    }
                }
                Some(event) = events.recv() => match event {
                    WatchEvent::Connected { idle } => {
                        if idle {
                            ctx.liveness.expect_within(promise());
                        } else {
                            ctx.liveness.degraded_within("the IMAP server has no IDLE: polling", promise());
                        }
                    }
                    WatchEvent::Disconnected { error } => {
                        ctx.liveness.degraded_within(format!("IMAP: {error}"), promise());
                    }
                    WatchEvent::Recorded { .. } => {
                        ctx.liveness.renew(promise());
                        ctx.wake.wake();
                    }
                    WatchEvent::Woken { .. } | WatchEvent::Alive => ctx.liveness.renew(promise()),
                },
            }
        };
        if !restart || ctx.shutdown.is_shutdown() {
            // The watcher only ends when told to stop.
            return;
        }
    }
}
