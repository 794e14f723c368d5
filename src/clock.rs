//! Injectable time.
//!
//! Everything in Handoff that asks "what time is it" asks a [`Clock`], never
//! `Utc::now()` directly, so tests can move time instead of waiting for it and an
//! owner can ask "what would happen on Monday" with `HANDOFF_NOW`. Instants are
//! always UTC inside; zones are applied at the edges (templates, calendar, cron).
//!
//! It imports no other module of Handoff.

use chrono::{DateTime, Utc};
use std::sync::Mutex;

/// A source of the current instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock, used in production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move: tests, and `HANDOFF_NOW`.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        FixedClock {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock to `to` (forwards or backwards: tests decide).
    pub fn set(&self, to: DateTime<Utc>) {
        // A poisoned lock only means another thread panicked while holding a
        // plain value; the value itself is still a valid instant.
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }

    /// Moves the clock forwards by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The variable that pins "now" for every command (a diagnostic and test aid).
pub const NOW_VAR: &str = "HANDOFF_NOW";

/// Error for a `HANDOFF_NOW` value that is not an RFC 3339 instant.
#[derive(Debug, thiserror::Error)]
#[error("{NOW_VAR}={value:?} is not an RFC 3339 time (expected e.g. 2026-11-24T09:00:00Z)")]
pub struct BadNow {
    pub value: String,
}

/// The clock a command should use: `HANDOFF_NOW` when set, the system clock otherwise.
pub fn from_env() -> Result<Box<dyn Clock>, BadNow> {
    match std::env::var(NOW_VAR) {
        Ok(value) if !value.trim().is_empty() => DateTime::parse_from_rfc3339(value.trim())
            .map(|t| Box::new(FixedClock::new(t.with_timezone(&Utc))) as Box<dyn Clock>)
            .map_err(|_| BadNow { value }),
        _ => Ok(Box::new(SystemClock)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        let clock = FixedClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(chrono::Duration::days(3));
        assert_eq!(clock.now(), start + chrono::Duration::days(3));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}
