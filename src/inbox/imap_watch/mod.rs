//! The IMAP watcher: keeps one session on the owner's mailbox, IDLEs on it,
//! and runs every new mail through the pipeline, so a contractor's reply is
//! recorded within about a second of reaching the server.
//!
//! Why it is built this way:
//! - **Nothing is missed.** Progress is the stored (UIDVALIDITY, last UID) of
//!   each mailbox. After every (re)connect the watcher SELECTs, compares
//!   UIDVALIDITY, and fetches every UID above the last processed, so mail that
//!   arrived while it was disconnected (or the daemon was down) is read first.
//!   A changed UIDVALIDITY (the mailbox was recreated) restarts from UID 1;
//!   the pipeline's Message-ID dedupe keeps that from processing anything
//!   twice.
//! - **Exactly once.** A fetched batch is recorded in one store transaction
//!   together with the new last UID; a crash before the commit fetches the
//!   batch again, a crash after it does not.
//! - **Never dies silently.** Every IMAP step has a timeout; IDLE is renewed
//!   every `poll_every` (at least a minute, at most [`IDLE_RENEW`]; RFC 2177
//!   asks for less than 29 minutes), and each renewal is a NOOP round trip
//!   that proves the connection alive (and a look at the Sent mailbox). Any error
//!   drops the session and reconnects with exponential backoff and jitter
//!   (to at most 4 s while the server is unreachable, so the watcher is back
//!   within 5 s of it; to 5 minutes while it refuses the login), logging
//!   each change of state. The state (connected, down since, last
//!   error, last contact) is in the store for `handoff status`, and after
//!   [`TELL_OWNER_AFTER`] of failing the pipeline is told once per outage so
//!   the owner hears of it.
//! - **No IDLE, no problem.** A server without IDLE is polled every
//!   `poll_every`.
//! - The owner's Sent mailbox is read on each wake (polling is enough there):
//!   an owner's reply on a contractor's question thread is the answer the
//!   schedule waits for. Its history before the first start is skipped.
//!
//! The watcher never sends: what it records may queue mail for the outbox.

mod catch_up;

use super::{InboxError, Outcome, Source};
use crate::clock::Clock;
use crate::imap_conn::{self, ImapError, Session};
use crate::model::ImapSettings;
use crate::store::{Store, StoreError, WatcherState};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The longest one IDLE lasts before it is renewed (and the connection
/// checked with a NOOP); `poll_every` makes it shorter.
pub const IDLE_RENEW: Duration = Duration::from_secs(10 * 60);

/// Failing to reach the server for this long tells the owner (once).
pub const TELL_OWNER_AFTER: Duration = Duration::from_secs(15 * 60);

/// Mails fetched and recorded per batch (and per transaction).
pub const BATCH: usize = 500;

/// Bytes of mail held in memory per batch, at most (besides one oversized
/// mail's headers).
const BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// Which mailbox a batch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    /// Where replies arrive (`imap.mailbox`).
    Inbox,
    /// The owner's sent mail (`imap.sent_mailbox`).
    Sent,
}

/// What the watcher hands fetched mail to. The daemon's implementation runs
/// the pipeline against the config in force; tests use [`FixedPipeline`].
pub trait Pipeline: Send {
    /// Records a batch from `folder`, in order, in the store's current
    /// transaction (the watcher wraps the call in [`Store::batch`]).
    fn ingest(
        &mut self,
        store: &mut Store,
        folder: Folder,
        mails: &[(Source, Vec<u8>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, InboxError>;

    /// The server has been unreachable since `since`: tell the owner. Called
    /// once per outage.
    fn unreachable(
        &mut self,
        store: &mut Store,
        error: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), InboxError>;
}

/// The pipeline over one fixed config: for tests, benchmarks and `handoff
/// run --once`-style use.
pub struct FixedPipeline {
    pub model: Arc<crate::model::Model>,
    pub templates: Arc<crate::templates::Templates>,
}

impl Pipeline for FixedPipeline {
    fn ingest(
        &mut self,
        store: &mut Store,
        folder: Folder,
        mails: &[(Source, Vec<u8>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, InboxError> {
        ingest_with(&self.model, &self.templates, store, folder, mails, now)
    }

    fn unreachable(
        &mut self,
        store: &mut Store,
        error: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), InboxError> {
        record_unreachable(store, error, since, now)?;
        Ok(())
    }
}

/// Runs a batch from `folder` through the pipeline of one config: replies
/// through [`super::Inbox::ingest_batch`], the owner's sent mail through
/// [`super::Inbox::ingest_sent`].
pub fn ingest_with(
    model: &crate::model::Model,
    templates: &crate::templates::Templates,
    store: &mut Store,
    folder: Folder,
    mails: &[(Source, Vec<u8>)],
    now: DateTime<Utc>,
) -> Result<Vec<Outcome>, InboxError> {
    let composer = crate::outbox::Composer { model, templates };
    let inbox = super::Inbox {
        model,
        composer: &composer,
    };
    match folder {
        Folder::Inbox => inbox.ingest_batch(store, mails, now),
        Folder::Sent => inbox.ingest_sent(store, mails, now),
    }
}

/// Journals an outage (`imap_unreachable`), for `handoff log` and status.
pub fn record_unreachable(
    store: &mut Store,
    error: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store.transaction(|tx| {
        tx.record_event(
            &crate::store::NewEvent::internal("imap_unreachable").detail(format!(
                "the IMAP server has not answered since {}: {error}",
                since.to_rfc3339()
            )),
            now,
        )
    })
}

/// What the watcher did, for tests and benchmarks that await it instead of
/// sleeping.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// Logged in and selected; `idle` says whether the server offers IDLE.
    Connected { idle: bool },
    /// The server reported a change during IDLE (or a poll came due).
    Woken { at: Instant },
    /// A batch was recorded (committed).
    Recorded {
        folder: Folder,
        outcomes: Vec<Outcome>,
        at: Instant,
    },
    /// The session ended with an error; a reconnect follows.
    Disconnected { error: String },
    /// The connection answered the NOOP after an IDLE or a poll: alive.
    Alive,
}

#[derive(Debug, thiserror::Error)]
enum WatchError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Inbox(#[from] InboxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session reached its sign-in's refresh point (an OAuth 2.0
    /// access token about to expire): it ends cleanly and the watcher signs
    /// in afresh at once. Not a failure.
    #[error("the access token is due for renewal")]
    Renew,
}

impl From<async_imap::error::Error> for WatchError {
    fn from(e: async_imap::error::Error) -> Self {
        WatchError::Imap(ImapError::Protocol(e))
    }
}

/// The watcher of one IMAP account.
pub struct Watcher<P> {
    settings: ImapSettings,
    store: Store,
    clock: Arc<dyn Clock>,
    pipeline: P,
    events: Option<mpsc::UnboundedSender<WatchEvent>>,
    /// Wakes the daemon's work loop after something was recorded.
    wake: Option<Arc<tokio::sync::Notify>>,
}

impl<P: Pipeline> Watcher<P> {
    pub fn new(settings: ImapSettings, store: Store, clock: Arc<dyn Clock>, pipeline: P) -> Self {
        Watcher {
            settings,
            store,
            clock,
            pipeline,
            events: None,
            wake: None,
        }
    }

    /// Reports what the watcher does on `tx`.
    pub fn with_events(mut self, tx: mpsc::UnboundedSender<WatchEvent>) -> Self {
        self.events = Some(tx);
        self
    }

    /// Notifies `wake` after each recorded batch.
    pub fn with_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// The store key of a mailbox's progress: account, host and mailbox.
    fn account(&self, folder: Folder) -> String {
        let s = &self.settings;
        let mailbox = match folder {
            Folder::Inbox => &s.mailbox,
            Folder::Sent => &s.sent_mailbox,
        };
        format!("{}@{}/{}", s.server.username, s.server.host, mailbox)
    }

    fn emit(&self, e: WatchEvent) {
        if let Some(tx) = &self.events {
            // The receiver may be gone (a test that stopped listening).
            let _ = tx.send(e);
        }
    }

    /// Runs until `shutdown` turns true (or its sender is dropped): connects,
    /// catches up, IDLEs, and reconnects after any failure.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        let mut down_since: Option<(DateTime<Utc>, Instant)> = None;
        let mut told = false;
        loop {
            if stopping(&shutdown) {
                return;
            }
            let outcome = self.session(&mut shutdown, &mut failures).await;
            let (error, refused) = match outcome {
                Ok(()) => return, // asked to stop
                // Cut short by the stop (a step that timed out on the way
                // out): no reconnect to speak of.
                Err(_) if stopping(&shutdown) => return,
                // One reconnect per token lifetime, at once, without a word
                // above debug: the new session gets a fresh token.
                Err(WatchError::Renew) => {
                    tracing::debug!(mailbox = %self.settings.mailbox, "renewing the IMAP session with a fresh access token");
                    continue;
                }
                Err(e) => {
                    // A server that refuses the login will refuse it again:
                    // retrying fast only looks like an attack on it.
                    let refused = matches!(
                        e,
                        WatchError::Imap(
                            ImapError::Login { .. } | ImapError::Password(_) | ImapError::SignIn(_)
                        )
                    );
                    (e.to_string(), refused)
                }
            };
            let now = self.clock.now();
            // Once per outage at warn; each further failed attempt (every few
            // seconds while the server is away) only at debug.
            if failures == 0 {
                tracing::warn!(mailbox = %self.settings.mailbox, error = %error, "IMAP watcher disconnected; reconnecting");
            } else {
                tracing::debug!(mailbox = %self.settings.mailbox, error = %error, attempt = failures, "IMAP server still unreachable");
            }
            // `session` zeroes the count once it logs in: that session's end
            // starts a new outage.
            if failures == 0 {
                down_since = None;
                told = false;
            }
            failures = failures.saturating_add(1);
            let (since, since_instant) = *down_since.get_or_insert((now, Instant::now()));
            self.set_health(Some(error.clone()), now);
            // After the state is stored, so whoever hears it can read it.
            self.emit(WatchEvent::Disconnected {
                error: error.clone(),
            });
            if !told && since_instant.elapsed() >= TELL_OWNER_AFTER {
                told = true;
                if let Err(e) = self
                    .pipeline
                    .unreachable(&mut self.store, &error, since, now)
                {
                    tracing::error!(error = %e, "cannot record that the IMAP server is unreachable");
                }
            }
            let ceiling = if refused {
                REFUSED_CEILING
            } else {
                UNREACHABLE_CEILING
            };
            let delay = backoff(failures, ceiling);
            tracing::debug!(
                retry_in_ms = delay.as_millis() as u64,
                "IMAP watcher waiting before reconnecting"
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => {}
                // A new sign-in (`handoff login`) is tried at once.
                () = crate::oauth::changed(&self.settings.server) => {}
            }
        }
    }

    /// One session: login, catch up, then IDLE (or poll) until an error or
    /// shutdown. `Ok` only on shutdown.
    async fn session(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        failures: &mut u32,
    ) -> Result<(), WatchError> {
        let (mut session, renew_at) = imap_conn::login_until(&self.settings.server).await?;
        // A session signed in with an access token ends at its refresh
        // point (see `oauth::source`), so it never outlives its token.
        let renew = renew_at.map(|at| {
            Instant::now() + (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO)
        });
        let host = self.settings.server.host.clone();
        let idle = timed(&host, session.capabilities()).await?.has_str("IDLE");
        let now = self.clock.now();
        *failures = 0;
        self.set_health(None, now);
        tracing::info!(host = %host, mailbox = %self.settings.mailbox, idle, "IMAP watcher connected");
        self.emit(WatchEvent::Connected { idle });
        let poll = self
            .settings
            .poll_every
            .to_std()
            .unwrap_or(Duration::from_secs(120))
            .max(Duration::from_secs(1));
        let mut last_sent_check: Option<Instant> = None;
        loop {
            self.catch_up(&mut session, Folder::Inbox).await?;
            if last_sent_check.is_none_or(|t| t.elapsed() >= poll) {
                match self.catch_up(&mut session, Folder::Sent).await {
                    Ok(()) => {}
                    // A server without that mailbox: nothing to read there;
                    // say so, and keep watching the inbox.
                    Err(WatchError::Imap(ImapError::Protocol(async_imap::error::Error::No(
                        detail,
                    )))) => {
                        tracing::warn!(mailbox = %self.settings.sent_mailbox, detail = %detail,
                            "cannot read the Sent mailbox; owner replies will not count as answers");
                    }
                    Err(e) => return Err(e),
                }
                last_sent_check = Some(Instant::now());
                // Back to the inbox for IDLE.
                timed(&host, session.select(&self.settings.mailbox)).await?;
            }
            // Anything the server said meanwhile is stale: the catch-up read it.
            while session.unsolicited_responses.try_recv().is_ok() {}
            if stopping(shutdown) {
                imap_conn::logout(&host, session).await;
                return Ok(());
            }
            if idle {
                let mut handle = session.idle();
                timed(&host, handle.init()).await?;
                let wait = IDLE_RENEW
                    .min(poll.max(Duration::from_secs(60)))
                    .min(until(renew));
                let (done_waiting, stop) = handle.wait_with_timeout(wait);
                // `stop` must live for the whole wait: dropping it ends the
                // wait at once (async-imap's StopSource).
                let result = tokio::select! {
                    r = done_waiting => Some(r),
                    _ = shutdown.changed() => None,
                };
                drop(stop);
                match result {
                    Some(Ok(async_imap::extensions::idle::IdleResponse::NewData(_))) => {
                        self.emit(WatchEvent::Woken { at: Instant::now() });
                    }
                    Some(Ok(_)) => {} // renewal time
                    Some(Err(e)) => return Err(e.into()),
                    None => {}
                }
                session = timed(&host, handle.done()).await?;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(poll.min(until(renew))) => {
                        self.emit(WatchEvent::Woken { at: Instant::now() });
                    }
                    _ = shutdown.changed() => {}
                }
            }
            // Proves the connection alive (a half-open TCP connection fails
            // here, within the timeout, instead of idling forever).
            timed(&host, session.noop()).await?;
            let now = self.clock.now();
            self.set_health(None, now);
            self.emit(WatchEvent::Alive);
            if renew.is_some_and(|at| Instant::now() >= at) {
                imap_conn::logout(&host, session).await;
                return Err(WatchError::Renew);
            }
        }
    }

    /// Records the inbox's health for `handoff status`: no error means the
    /// server answered now (last contact); an error keeps the last contact.
    /// A store error here is logged, not fatal: the watcher goes on.
    fn set_health(&mut self, error: Option<String>, now: DateTime<Utc>) {
        let account = self.account(Folder::Inbox);
        let result = self.store.watcher_state(&account).and_then(|mut w| {
            if error.is_none() {
                w.last_contact_at = Some(now);
            }
            w.last_error = error;
            self.store.set_watcher_state(&account, &w)
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot record the IMAP watcher's state");
        }
    }
}

/// How long until `at` (a day when there is none).
fn until(at: Option<Instant>) -> Duration {
    at.map_or(Duration::from_secs(86_400), |at| {
        at.saturating_duration_since(Instant::now())
    })
}

/// Whether the daemon asked to stop: the flag set, or its sender gone.
fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Longest wait between reconnects while the server cannot be reached or
/// the connection fails: short, so the watcher is back within seconds of the
/// server (a refused TCP connect costs nothing).
pub const UNREACHABLE_CEILING: Duration = Duration::from_secs(4);

/// Longest wait between reconnects while the server refuses the login.
pub const REFUSED_CEILING: Duration = Duration::from_secs(300);

/// Reconnect delay after `failures` failures in a row: 1 s doubling up to
/// `ceiling`, plus up to 25 % jitter so many daemons do not reconnect in step.
pub fn backoff(failures: u32, ceiling: Duration) -> Duration {
    let base = Duration::from_secs(1)
        .saturating_mul(1u32 << failures.saturating_sub(1).min(9))
        .min(ceiling);
    let mut byte = [0u8; 1];
    let jitter = match getrandom::getrandom(&mut byte) {
        Ok(()) => f64::from(byte[0]) / 255.0 * 0.25,
        Err(_) => 0.0,
    };
    base.mul_f64(1.0 + jitter)
}

use imap_conn::timed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_ceiling_with_bounded_jitter() {
        let secs = |n| backoff(n, REFUSED_CEILING).as_secs_f64();
        assert!((1.0..=1.25).contains(&secs(1)));
        assert!((2.0..=2.5).contains(&secs(2)));
        assert!((8.0..=10.0).contains(&secs(4)));
        let quick = |n| backoff(n, UNREACHABLE_CEILING).as_secs_f64();
        assert!((4.0..=5.0).contains(&quick(3)));
        assert!(
            (4.0..=5.0).contains(&quick(1000)),
            "back within 5 s of the server"
        );
        assert!((300.0..=375.0).contains(&secs(30)));
        assert!((300.0..=375.0).contains(&secs(u32::MAX)));
    }
}
