//! Liveness of the daemon's tasks, for systemd's watchdog and the log.
//!
//! Each task holds a [`Liveness`] and says when it starts and ends a unit of
//! work ([`Liveness::busy`], [`Liveness::idle`]) or when it has failed for
//! good. The watchdog task pings systemd only while [`Health::check`] is
//! happy: no task failed or gone, none busy for longer than the stall limit.
//! A task that hangs, or a runtime that stops scheduling the watchdog task
//! itself, stops the pings, and systemd restarts the service.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for its next event: healthy however long it waits.
    Idle,
    /// Doing a unit of work since then.
    Busy(Instant),
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
                        "{} busy for {} s",
                        slot.name,
                        since.elapsed().as_secs()
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

/// How long one unit of work may take before its task counts as hung: a
/// pass that sends a large backlog over a slow server takes a while, a hung
/// one takes forever.
pub const STALL: Duration = Duration::from_secs(300);

/// Pings systemd's watchdog every `every` while [`Health::check`] passes;
/// says why once when it stops pinging, and once when it resumes. Runs until
/// dropped (the daemon selects it against shutdown).
pub async fn watchdog(every: Duration, health: &Health, notifier: &super::sd_notify::Notifier) {
    let mut was_healthy = true;
    let mut notes_shown = Vec::new();
    loop {
        match health.check(STALL) {
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
                .map_err(|e| e.starts_with("work busy")),
            Err(true),
            "busy past the stall limit"
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
