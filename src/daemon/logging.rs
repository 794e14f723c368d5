//! The daemon's log: tracing, written to standard error.
//!
//! On a terminal it is the usual human format (time, level, message). Under
//! systemd (`$JOURNAL_STREAM` set, or standard error not a terminal) the
//! journal stamps each line itself, so there is no timestamp of ours and no
//! colour; each line starts with its syslog priority (`<3>` error, `<4>`
//! warning, `<6>` info, `<7>` debug and trace), which journald reads as the
//! entry's priority (sd-daemon(3)).
//!
//! The level: `RUST_LOG` if set (any `EnvFilter` directive), else `[log]
//! level` from the config, else `info`. What is logged at info never holds a
//! password (the config keeps none; `Secret` prints `[redacted]`) or a
//! message body (bodies appear at debug at most).

use std::fmt;
use std::io::IsTerminal;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Whether the log goes to the journal rather than a person.
pub fn under_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() || !std::io::stderr().is_terminal()
}

/// The log directive that keeps credentials out of the log (see [`init`]).
const SECRET_SAFE: &str = "async_imap=info";

/// Installs the global subscriber. `config_level` is `[log] level`, if set.
/// A second call (tests) leaves the first subscriber in place.
pub fn init(config_level: Option<&str>) {
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(config_level.unwrap_or("info")));
    // async-imap traces every command it encodes, LOGIN with its password
    // among them: never below info, whatever RUST_LOG asks. (The directive
    // is a constant; a test proves it parses.)
    if let Ok(cap) = SECRET_SAFE.parse() {
        filter = filter.add_directive(cap);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if under_journal() {
        builder
            .with_ansi(false)
            .event_format(Journal {
                inner: tracing_subscriber::fmt::format()
                    .without_time()
                    .with_level(false)
                    .with_target(false),
            })
            .try_init()
    } else {
        builder.try_init()
    };
}

/// syslog(3) priority of a tracing level.
pub fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// The default line, less time and level, after a `<N>` priority prefix.
struct Journal {
    inner: Format<Full, ()>,
}

impl<S, N> FormatEvent<S, N> for Journal
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(*event.metadata().level()))?;
        self.inner.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_secret_safe_directive_parses() {
        assert!(
            super::SECRET_SAFE
                .parse::<tracing_subscriber::filter::Directive>()
                .is_ok()
        );
    }

    use super::*;

    #[test]
    fn levels_map_to_syslog_priorities() {
        assert_eq!(priority(Level::ERROR), 3);
        assert_eq!(priority(Level::WARN), 4);
        assert_eq!(priority(Level::INFO), 6);
        assert_eq!(priority(Level::DEBUG), 7);
        assert_eq!(priority(Level::TRACE), 7);
    }
}
