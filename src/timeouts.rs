//! How long Handoff waits for a mail server at each step before it gives up
//! on that step: one bound for every network await, SMTP and IMAP alike
//! (connect, greeting, TLS, AUTH/LOGIN, each command, APPEND, logout).
//!
//! A server that hangs without closing the connection (stopped, wedged,
//! behind a black-holing firewall) answers nothing; without a bound the task
//! waiting on it would wait as long as the hang. With one, the step fails
//! after [`step`], the connection is dropped without ceremony (no QUIT, no
//! LOGOUT: a hung server would not answer those either) and the caller
//! treats it as the server being unreachable.
//!
//! 30 s by default. `HANDOFF_NET_TIMEOUT` (seconds, fractions allowed, e.g.
//! `1.5`) sets it for the whole process: the hang tests use it to outlast
//! the timeouts in seconds instead of minutes. An unusable value is ignored
//! with a warning.
//!
//! It imports no other module of Handoff.

use std::sync::OnceLock;
use std::time::Duration;

/// The bound when `HANDOFF_NET_TIMEOUT` is not set.
pub const DEFAULT: Duration = Duration::from_secs(30);

/// The variable that sets the bound (seconds).
pub const VAR: &str = "HANDOFF_NET_TIMEOUT";

/// The longest wait for a server at one step.
pub fn step() -> Duration {
    static STEP: OnceLock<Duration> = OnceLock::new();
    *STEP.get_or_init(|| match std::env::var(VAR) {
        Err(_) => DEFAULT,
        Ok(text) => parse(&text).unwrap_or_else(|| {
            tracing::warn!(value = %text, "{VAR} is not a number of seconds between 0.05 and 3600; using {} s", DEFAULT.as_secs());
            DEFAULT
        }),
    })
}

/// The bound for sending a message's content (SMTP DATA): [`step`] plus one
/// second per 64 KiB, so a 25 MB mail over a slow link is not cut off while
/// the bytes still flow, and a hung server is still caught.
pub fn data(bytes: usize) -> Duration {
    step() + Duration::from_secs((bytes / 65_536) as u64)
}

/// The bound as people read it in a log line: "30 s", "1.5 s".
pub fn shown() -> String {
    let s = step().as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

fn parse(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    (0.05..=3600.0)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_with_fractions_within_bounds() {
        assert_eq!(parse("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse(" 1.5 "), Some(Duration::from_millis(1500)));
        for bad in ["", "0", "-1", "abc", "1e9", "NaN"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert!(data(25 * 1024 * 1024) >= step() + Duration::from_secs(400));
    }
}
