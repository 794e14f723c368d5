//! `handoff run`: Handoff as a long-running service.
//!
//! # Tasks
//! One tokio runtime (current-thread: the work is I/O and small SQLite
//! transactions, and one thread keeps start-up quick and memory small) runs:
//!
//! - `work` ([`work`]): the pass of `handoff run --once` up to delivery
//!   (reconcile, read the local inbox, decide, queue) on every wake-up, then
//!   sleep until the earliest of [`crate::pass::next_wake`] (the outbox's
//!   next due row, the next engagement start, and the schedule's next item),
//!   a [`Wake`] from a watcher, a new config, or shutdown. It owns the
//!   daemon's first [`Store`] connection.
//! - `deliver` ([`deliver`]): the outbox, whenever a mail is due or `work`
//!   queued one, on a connection of its own. Apart from `work`, so a mail
//!   server that hangs holds back neither the replies nor the decisions.
//! - `sent copies` ([`sent_copies`], with SMTP and `[imap]`): files the Sent
//!   copies the delivery could not file before sending, and watches for the
//!   Sent folder's return while it does not answer.
//! - the inbox watcher: in local mode ([`inbox_watch`]) file notifications
//!   on `<maildir>/inbox/new` wake `work`, with polling only as a fallback;
//!   with `incoming = "imap"`, the IMAP IDLE watcher ([`imap`]).
//! - the config watcher ([`config_watch`]): a change of the config file, or
//!   SIGHUP, re-reads and checks it; a good one is published on the config
//!   channel (every task sees the new [`Current`]), a bad one is logged with
//!   FILE:LINE:COL, told to the owner once, and the old one stays.
//! - the sign-in task ([`signin`]): the OAuth 2.0 sign-ins' health turned
//!   into one journal event, status line and owner notice per episode, and
//!   a new `handoff login` picked up at once.
//! - the watchdog ([`health`]): `WATCHDOG=1` to systemd at half of
//!   `$WATCHDOG_USEC`, only while every task says it is healthy (none stuck:
//!   see [`health`] for how a stuck task is told from a long one).
//!
//! Every pass's outcome (and the last error, with its time) is also written
//! to `<state>.health` ([`health_file`]), which `handoff status` reads: the
//! store cannot record its own failure to be written.
//!
//! # What a task is given
//! [`TaskContext`]: the config channel, the store's path (a task that needs
//! the store opens its own connection: SQLite in WAL mode serialises
//! writers), [`Wake`] handles for `work`, `deliver` and `sent copies`, a
//! [`Shutdown`], the clock, the [`health_file::PassLog`] and its
//! [`health::Liveness`].
//!
//! # Stopping
//! SIGTERM or SIGINT fires the shutdown [`shutdown::Trigger`]; each task
//! finishes its unit of work (a delivery gets [`deliver::GRACE`] to finish
//! its send, else it is dropped and the `sending` row is resolved at the next
//! start, as after a crash) and returns; the daemon waits for all of them, at most
//! [`STOP_DEADLINE`], records the stop and exits 0.
//!
//! # One daemon per store
//! [`lock::StoreLock`] on `<state>.lock`: a second `handoff run` refuses to
//! start and names the pid of the first.
//!
//! # Where it stands
//! At the edge with the views and the CLI: it wires the library's tasks and
//! must not import the views ([`crate::status`]) or the CLI.

pub mod config_watch;
pub mod deliver;
pub mod health;
pub mod health_file;
pub mod imap;
pub mod inbox_watch;
pub mod lock;
pub mod logging;
pub mod report;
pub mod sd_notify;
pub mod sent_copies;
pub mod shutdown;
pub mod signin;
pub mod work;

pub use report::DaemonHealth;
pub use shutdown::Shutdown;

use crate::clock::Clock;
use crate::config::Loaded;
use crate::model::Incoming;
use crate::store::{Store, StoreError};
use crate::templates::{TemplateError, Templates};
use sd_notify::Notifier;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// Keys in the store's scheduler state (`src/store/kv.rs`) that
/// `handoff status` reads to show the daemon's health.
pub mod keys {
    /// The running (or last) daemon's pid.
    pub const PID: &str = "daemon/pid";
    /// When it started (RFC 3339, UTC, by its clock).
    pub const STARTED_AT: &str = "daemon/started_at";
    /// When it stopped; empty while it runs.
    pub const STOPPED_AT: &str = "daemon/stopped_at";
    /// When its last pass finished.
    pub const LAST_PASS_AT: &str = "daemon/last_pass_at";
    /// The last pass's error, or empty when it succeeded.
    pub const LAST_ERROR: &str = "daemon/last_error";
}

/// Longest wait for the tasks to finish after SIGTERM: systemd's default
/// stop timeout is 90 s, Handoff promises 10 s.
pub const STOP_DEADLINE: Duration = Duration::from_secs(9);

/// The checked config every task works from, and the templates loaded for
/// it. A reload replaces the whole value; tasks hold an `Arc` to the one
/// they started a unit of work with.
pub struct Current {
    pub loaded: Loaded,
    pub templates: Templates,
}

impl Current {
    /// Loads the templates `loaded` names.
    pub fn new(loaded: Loaded) -> Result<Current, TemplateError> {
        let templates = Templates::load(loaded.model.mail.templates_dir.as_deref())?;
        Ok(Current { loaded, templates })
    }
}

/// The receiving side of the config channel: `borrow()` is the config in
/// force; `changed()` resolves when a reload published a new one.
pub type ConfigRx = watch::Receiver<Arc<Current>>;

/// Wakes the work loop now (a mail arrived, a watcher recorded something).
/// A wake while a pass runs is kept, so the loop runs again right after:
/// nothing recorded in between waits for the next deadline.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// What every long-running task is given. The IMAP watcher takes one too:
/// `inbox::imap_watch(ctx)` reads the `[imap]` settings from `ctx.config`
/// (and follows reloads with `ctx.config.changed()`), opens its own
/// `Store::open(&ctx.store_path)`, records mail, then `ctx.wake.wake()`s the
/// work loop to act on it, sets `keys::IMAP_*`, reports with `ctx.liveness`
/// and returns once `ctx.shutdown.recv()` fires (after LOGOUT).
pub struct TaskContext {
    pub config: ConfigRx,
    pub store_path: PathBuf,
    /// Wakes the work loop.
    pub wake: Wake,
    /// Wakes the delivery.
    pub deliver: Wake,
    /// Wakes the Sent-copy task.
    pub copies: Wake,
    pub shutdown: Shutdown,
    pub clock: Arc<dyn Clock>,
    /// Where each pass's outcome goes for `handoff status`.
    pub passes: health_file::PassLog,
    pub liveness: health::Liveness,
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error("cannot open the store {}: {source}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("recording the daemon's state: {0}")]
    Record(#[from] StoreError),
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("installing the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the {0} task stopped unexpectedly")]
    TaskEnded(String),
}

/// Runs the daemon until SIGTERM or SIGINT. `loaded` is the config as read
/// and checked at start (the CLI reports a bad one); `config_path` is where
/// reloads read it again.
pub fn run(loaded: Loaded, config_path: &Path, clock: Arc<dyn Clock>) -> Result<(), DaemonError> {
    logging::init(loaded.model.log.level.as_deref());
    let model = &loaded.model;
    let store_path = model.mail.state.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    // Before anything else: a SIGTERM during start-up is then a clean stop
    // once the tasks run, not the default death by signal.
    let signals = {
        let _in_runtime = runtime.enter();
        Signals::install()?
    };
    // The lock first: a second daemon must not even open the store for
    // writing its start-up marks.
    let _lock = lock::StoreLock::acquire_patiently(&store_path)?;
    let open = || {
        Store::open(&store_path).map_err(|source| DaemonError::Store {
            path: store_path.clone(),
            source,
        })
    };
    let store = open()?;
    let delivery_store = open()?;
    let passes = health_file::PassLog::new(
        health_file::HealthFile::open(&store_path)
            .inspect_err(|e| {
                tracing::warn!(file = %health_file::path(&store_path).display(), error = %e, "cannot keep the health file; `handoff status` learns of failures only from the store");
            })
            .ok(),
    );
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let now = clock.now();
    store.scheduler_set(keys::PID, &std::process::id().to_string(), now)?;
    store.scheduler_set(keys::STARTED_AT, &crate::store::ts(now), now)?;
    store.scheduler_set(keys::STOPPED_AT, "", now)?;
    let current = Arc::new(Current::new(loaded)?);
    tracing::info!(
        pid = std::process::id(),
        config = %config_path.display(),
        store = %store_path.display(),
        "handoff daemon starting"
    );
    let outcome = runtime.block_on(serve(
        current,
        signals,
        config_path.to_path_buf(),
        [store, delivery_store],
        passes,
        clock.clone(),
    ));
    // Nothing may outlive the stop: a task stuck in a blocking call would
    // otherwise hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    if let Ok(store) = Store::open(&store_path) {
        let now = clock.now();
        let _ = store.scheduler_set(keys::STOPPED_AT, &crate::store::ts(now), now);
    }
    match &outcome {
        Ok(()) => tracing::info!("handoff daemon stopped"),
        Err(e) => tracing::error!(error = %e, "handoff daemon stopped on an error"),
    }
    outcome
}

/// The signals the daemon handles, registered at the very start.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, DaemonError> {
        use tokio::signal::unix::{SignalKind, signal};
        let sig = |kind: SignalKind, name: &'static str| {
            signal(kind).map_err(|source| DaemonError::Signal {
                signal: name,
                source,
            })
        };
        Ok(Signals {
            term: sig(SignalKind::terminate(), "SIGTERM")?,
            int: sig(SignalKind::interrupt(), "SIGINT")?,
            hup: sig(SignalKind::hangup(), "SIGHUP")?,
        })
    }
}

async fn serve(
    current: Arc<Current>,
    signals: Signals,
    config_path: PathBuf,
    [store, delivery_store]: [Store; 2],
    passes: health_file::PassLog,
    clock: Arc<dyn Clock>,
) -> Result<(), DaemonError> {
    let Signals {
        mut term,
        mut int,
        mut hup,
    } = signals;

    let notifier = Arc::new(Notifier::from_env());
    let health = health::Health::default();
    let trigger = shutdown::Trigger::new();
    let wake = Wake::default();
    let deliver_wake = Wake::default();
    let copies_wake = Wake::default();
    let reload = Arc::new(Notify::new());
    let incoming = current.loaded.model.mail.incoming;
    let outgoing = current.loaded.model.mail.outgoing;
    let (config_tx, config_rx) = watch::channel(current);
    let store_path = config_rx.borrow().loaded.model.mail.state.clone();
    let context = |name: &'static str| TaskContext {
        config: config_rx.clone(),
        store_path: store_path.clone(),
        wake: wake.clone(),
        deliver: deliver_wake.clone(),
        copies: copies_wake.clone(),
        shutdown: trigger.subscribe(),
        clock: clock.clone(),
        passes: passes.clone(),
        liveness: health.register(name),
    };

    let mut tasks: JoinSet<&'static str> = JoinSet::new();
    {
        let ctx = context("work");
        let notifier = notifier.clone();
        tasks.spawn(async move {
            work::run(ctx, store, notifier).await;
            "work"
        });
    }
    {
        let ctx = context("deliver");
        tasks.spawn(async move {
            deliver::run(ctx, delivery_store).await;
            "deliver"
        });
    }
    if outgoing == crate::model::Outgoing::Smtp {
        let ctx = context("sent copies");
        tasks.spawn(async move {
            sent_copies::run(ctx).await;
            "sent copies"
        });
    }
    match incoming {
        Incoming::Maildir => {
            let ctx = context("inbox");
            tasks.spawn(async move {
                inbox_watch::run(ctx).await;
                "inbox"
            });
        }
        Incoming::Imap => spawn_imap_watch(&mut tasks, context("imap")),
    }
    {
        let ctx = context("signin");
        tasks.spawn(async move {
            signin::run(ctx).await;
            "signin"
        });
    }
    {
        let ctx = context("config");
        let reload = reload.clone();
        tasks.spawn(async move {
            config_watch::run(ctx, config_path, config_tx, reload).await;
            "config"
        });
    }
    if notifier.is_enabled()
        && let Some(every) = sd_notify::watchdog_interval()
    {
        let mut shutdown = trigger.subscribe();
        let notifier = notifier.clone();
        let health = health.clone();
        tasks.spawn(async move {
            tokio::select! {
                () = health::watchdog(every, &health, &notifier) => {}
                () = shutdown.recv() => {}
            }
            "watchdog"
        });
    }

    let result = loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break Ok(()) }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break Ok(()) }
            _ = hup.recv() => { tracing::info!("SIGHUP: re-reading the config"); reload.notify_one() }
            ended = tasks.join_next() => {
                // Tasks only return on shutdown; one that returns (or
                // panics) now leaves the daemon unable to do its job, so it
                // stops and lets systemd's Restart=on-failure start afresh.
                let name = match ended {
                    Some(Ok(name)) => name.to_string(),
                    Some(Err(e)) => format!("a ({e})"),
                    None => "every".to_string(),
                };
                break Err(DaemonError::TaskEnded(name));
            }
        }
    };
    notifier.stopping();
    trigger.fire();
    let drained = tokio::time::timeout(STOP_DEADLINE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "tasks still busy after {} s; stopping anyway",
            STOP_DEADLINE.as_secs()
        );
        tasks.abort_all();
    }
    result
}

/// The slot for the IMAP watcher (`incoming = "imap"`). Until
/// `inbox::imap_watch` lands, replies over IMAP are not read by the daemon:
/// this says so once, marks the task degraded and waits for shutdown. The
/// watcher replaces the body with:
///
/// ```ignore
/// tasks.spawn(async move {
///     crate::inbox::imap_watch(ctx).await;
///     "imap"
/// });
/// ```
fn spawn_imap_watch(tasks: &mut JoinSet<&'static str>, ctx: TaskContext) {
    tasks.spawn(async move {
        imap::run(ctx).await;
        "imap"
    });
}
