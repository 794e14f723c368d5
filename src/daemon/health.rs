//! Liveness of the daemon's tasks, for systemd's watchdog and the log.
//!
//! Each task holds a [`Liveness`] and says when it starts and ends a unit of
//! work ([`Liveness::busy`], [`Liveness::idle`]) or when it has failed for
//! good. The watchdog task pings systemd only while [`Health::check`] is
//! happy: no task failed or gone, none busy without a sign of progress for
//! longer than [`stall_limit`]. A task that hangs, or a runtime that stops
//! scheduling the watchdog task itself, stops the pings, and systemd restarts
//! the service.
//!
//! Progress, not duration: delivering a backlog of 2 000 mails is one long
//! unit of work, a send waiting on a hung server is a short one that does not
//! move. Every step on a server is bounded ([`crate::timeouts`]), and the
//! delivery reads the time at every mail it sends or defers, so a
//! [`Heartbeat`] clock turns each reading into a sign of life: no reading
//! for [`stall_limit`] means a wait without a bound, i.e. a stuck task.
//! The IMAP watcher promises an event at least every IDLE renewal instead
//! ([`Liveness::expect_within`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for its next event: healthy however long it waits.
    Idle,
    /// Doing a unit of work; the last sign of progress then.
    Busy(Instant),
    /// Waiting, with a promise to report again before then (and maybe
    /// working in a lesser way meanwhile, as [`State::Degraded`]).
    Expecting(Instant, Option<String>),
    /// Working in a lesser way (e.g. polling instead of file notifications):
    /// healthy, but worth a STATUS line.
    Degraded(String),
    /// Cannot do its job any more.
    Failed(String),
    /// Its handle was dropped: the task ended.
    Exited,
}

#[derive(Debug)]
struct Slot {
    name: &'static str,
    state: Mutex<State>,
}

impl Slot {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic while holding a plain value.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every task's liveness.
#[derive(Debug, Default, Clone)]
pub struct Health {
    slots: Arc<Mutex<Vec<Arc<Slot>>>>,
}

impl Health {
    /// A liveness handle for a new task named `name`.
    pub fn register(&self, name: &'static str) -> Liveness {
        let slot = Arc::new(Slot {
            name,
            state: Mutex::new(State::Idle),
        });
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot.clone());
        Liveness { slot }
    }

    /// `Ok` with any degraded tasks' notes while every task is healthy;
    /// `Err` naming the first that is not.
    pub fn check(&self, stall: Duration) -> Result<Vec<String>, String> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let mut notes = Vec::new();
        for slot in slots.iter() {
            match &*slot.state() {
                State::Idle => {}
                State::Busy(since) if since.elapsed() <= stall => {}
                State::Busy(since) => {
                    return Err(format!(
                        "{} stalled: no progress for {} s",
                        slot.name,
                        since.elapsed().as_secs()
                    ));
                }
                State::Expecting(by, note) if Instant::now() <= *by => {
                    if let Some(note) = note {
                        notes.push(format!("{}: {note}", slot.name));
                    }
                }
                State::Expecting(by, _) => {
                    return Err(format!(
                        "{} stalled: silent for {} s past its promise",
                        slot.name,
                        by.elapsed().as_secs()
                    ));
                }
                State::Degraded(note) => notes.push(format!("{}: {note}", slot.name)),
                State::Failed(why) => return Err(format!("{} failed: {why}", slot.name)),
                State::Exited => return Err(format!("{} stopped", slot.name)),
            }
        }
        Ok(notes)
    }
}

/// One task's handle: dropping it marks the task as gone.
#[derive(Debug)]
pub struct Liveness {
    slot: Arc<Slot>,
}

impl Liveness {
    pub fn busy(&self) {
        *self.slot.state() = State::Busy(Instant::now());
    }

    pub fn idle(&self) {
        *self.slot.state() = State::Idle;
    }

    /// A sign of progress within the current unit of work.
    pub fn beat(&self) {
        let mut state = self.slot.state();
        if matches!(*state, State::Busy(_)) {
            *state = State::Busy(Instant::now());
        }
    }

    /// Healthy while waiting, if the task reports again within `within`.
    pub fn expect_within(&self, within: Duration) {
        *self.slot.state() = State::Expecting(Instant::now() + within, None);
    }

    /// [`Liveness::degraded`], with the promise of [`Liveness::expect_within`].
    pub fn degraded_within(&self, note: impl Into<String>, within: Duration) {
        *self.slot.state() = State::Expecting(Instant::now() + within, Some(note.into()));
    }

    /// The task reported: its promise starts again (its note stays).
    pub fn renew(&self, within: Duration) {
        let mut state = self.slot.state();
        let note = match &*state {
            State::Expecting(_, note) => note.clone(),
            State::Degraded(note) => Some(note.clone()),
            _ => None,
        };
        *state = State::Expecting(Instant::now() + within, note);
    }

    pub fn degraded(&self, note: impl Into<String>) {
        *self.slot.state() = State::Degraded(note.into());
    }

    pub fn failed(&self, why: impl Into<String>) {
        *self.slot.state() = State::Failed(why.into());
    }
}

impl Drop for Liveness {
    fn drop(&mut self) {
        *self.slot.state() = State::Exited;
    }
}

/// How long a busy task may go without a sign of progress before it counts
/// as stuck: more than the longest chain of bounded steps between two of
/// the delivery's time readings (a login, a Sent copy, a reconnect and a
/// whole mail transaction: about 20 steps), plus room for local work. With
/// the default 30 s step: about 10 minutes.
pub fn stall_limit() -> Duration {
    crate::timeouts::step() * 20 + Duration::from_secs(10)
}

/// A clock that counts every reading as a sign of life of `liveness`'s
/// task: see the module doc.
pub struct Heartbeat<'a> {
    pub clock: &'a dyn crate::clock::Clock,
    pub liveness: &'a Liveness,
}

impl crate::clock::Clock for Heartbeat<'_> {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.liveness.beat();
        self.clock.now()
    }
}

/// Pings systemd's watchdog every `every` while [`Health::check`] passes;
/// says why once when it stops pinging, and once when it resumes. Runs until
/// dropped (the daemon selects it against shutdown).
pub async fn watchdog(every: Duration, health: &Health, notifier: &super::sd_notify::Notifier) {
    let mut was_healthy = true;
    let mut notes_shown = Vec::new();
    loop {
        match health.check(stall_limit()) {
            Ok(notes) => {
                notifier.watchdog();
                if !was_healthy {
                    tracing::info!("all tasks healthy again; watchdog pings resume");
                }
                if notes != notes_shown {
                    if !notes.is_empty() {
                        notifier.status(&format!("running, degraded: {}", notes.join("; ")));
                    }
                    notes_shown = notes;
                }
                was_healthy = true;
            }
            Err(why) => {
                if was_healthy {
                    tracing::error!("not pinging the watchdog: {why}");
                }
                was_healthy = false;
            }
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_while_idle_or_briefly_busy_not_when_failed_stalled_or_gone() {
        let health = Health::default();
        let a = health.register("work");
        let b = health.register("inbox");
        assert_eq!(health.check(Duration::from_secs(60)), Ok(vec![]));
        a.busy();
        assert!(health.check(Duration::from_secs(60)).is_ok());
        assert_eq!(
            health
                .check(Duration::ZERO)
                .map_err(|e| e.starts_with("work stalled")),
            Err(true),
            "busy past the stall limit"
        );
        std::thread::sleep(Duration::from_millis(5));
        a.beat();
        assert!(
            health.check(Duration::from_millis(4)).is_ok(),
            "a beat is progress"
        );
        a.expect_within(Duration::from_secs(60));
        assert!(health.check(Duration::ZERO).is_ok(), "within its promise");
        a.expect_within(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        assert!(
            health
                .check(Duration::ZERO)
                .is_err_and(|e| e.contains("past its promise")),
            "silent past its promise"
        );
        a.idle();
        b.degraded("polling");
        assert_eq!(
            health.check(Duration::ZERO),
            Ok(vec!["inbox: polling".to_string()])
        );
        b.failed("no watch");
        assert_eq!(
            health.check(Duration::ZERO),
            Err("inbox failed: no watch".into())
        );
        b.idle();
        drop(a);
        assert_eq!(health.check(Duration::ZERO), Err("work stopped".into()));
    }
}
