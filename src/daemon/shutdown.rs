//! Shutdown as a value passed to every task (the mini-redis way).
//!
//! The daemon holds a [`Trigger`]; each long-running task holds a
//! [`Shutdown`] made from it. Firing the trigger broadcasts once; every task
//! sees it at its next `select!`, finishes (or abandons, see `work`) its unit
//! of work and returns. The daemon then waits for the tasks' `JoinSet` to
//! drain, with a deadline, before it exits.

use tokio::sync::broadcast;

/// The sending side: fired once, on SIGTERM or SIGINT.
#[derive(Debug, Clone)]
pub struct Trigger {
    tx: broadcast::Sender<()>,
}

impl Trigger {
    pub fn new() -> Trigger {
        // One message is all that is ever sent.
        let (tx, _) = broadcast::channel(1);
        Trigger { tx }
    }

    /// A handle for one task.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            is_shutdown: false,
            rx: self.tx.subscribe(),
        }
    }

    /// Tells every task to stop.
    pub fn fire(&self) {
        // An error only means no task is listening any more: nothing to tell.
        let _ = self.tx.send(());
    }
}

impl Default for Trigger {
    fn default() -> Self {
        Trigger::new()
    }
}

/// One task's view of the shutdown signal.
#[derive(Debug)]
pub struct Shutdown {
    is_shutdown: bool,
    rx: broadcast::Receiver<()>,
}

impl Shutdown {
    /// Whether the signal has been seen already.
    pub fn is_shutdown(&self) -> bool {
        self.is_shutdown
    }

    /// Waits for the signal; returns at once if it was seen before.
    pub async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        // Lagged cannot happen with one message; Closed means the trigger is
        // gone, which only happens when the daemon is stopping anyway.
        let _ = self.rx.recv().await;
        self.is_shutdown = true;
    }
}

impl Clone for Shutdown {
    fn clone(&self) -> Self {
        Shutdown {
            is_shutdown: self.is_shutdown,
            rx: self.rx.resubscribe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_handle_sees_the_signal_once_fired() {
        let trigger = Trigger::new();
        let mut a = trigger.subscribe();
        let mut b = a.clone();
        assert!(!a.is_shutdown());
        trigger.fire();
        a.recv().await;
        b.recv().await;
        assert!(a.is_shutdown() && b.is_shutdown());
        // Seen once, seen for good.
        a.recv().await;
    }
}
