//! systemd's readiness protocol, without a crate: datagrams to
//! `$NOTIFY_SOCKET` (sd_notify(3)). `READY=1` once the store is open and the
//! first pass is done, `STATUS=` lines saying what the daemon does,
//! `WATCHDOG=1` pings while every task is healthy, `STOPPING=1` on the way
//! out. Without `$NOTIFY_SOCKET` (not under systemd) every call is a no-op.
//!
//! A socket address starting with `@` is in Linux's abstract namespace (the
//! `@` stands for the leading NUL byte).
//!
//! The socket is non-blocking: a datagram the receiver has no room for (its
//! queue holds 10 by default) is dropped, never waited for. A blocking send
//! would stop the whole daemon (one thread runs every task) for as long as
//! nobody reads, the watchdog pings included.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Where the messages go, if anywhere.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`; an unusable value is logged and ignored (the
    /// daemon works without systemd's bookkeeping, systemd would then time
    /// the start out and say so).
    pub fn from_env() -> Notifier {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Notifier { target: None };
        };
        match connect(path.as_encoded_bytes()) {
            Ok(target) => Notifier {
                target: Some(target),
            },
            Err(e) => {
                tracing::warn!(socket = ?path, error = %e, "cannot use NOTIFY_SOCKET");
                Notifier { target: None }
            }
        }
    }

    /// Whether messages go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one message (`KEY=VALUE` lines). Failures are logged at debug:
    /// systemd going away is not the daemon's problem to solve.
    pub fn send(&self, message: &str) {
        if let Some((sock, addr)) = &self.target
            && let Err(e) = sock.send_to_addr(message.as_bytes(), addr)
        {
            tracing::debug!(error = %e, "sd_notify failed");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }

    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping");
    }
}

fn connect(path: &[u8]) -> std::io::Result<(UnixDatagram, SocketAddr)> {
    let addr = match path.strip_prefix(b"@") {
        Some(name) => abstract_addr(name)?,
        None => {
            use std::os::unix::ffi::OsStrExt;
            SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(path))?
        }
    };
    let sock = UnixDatagram::unbound()?;
    sock.set_nonblocking(true)?;
    Ok((sock, addr))
}

#[cfg(target_os = "linux")]
fn abstract_addr(name: &[u8]) -> std::io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_addr(_: &[u8]) -> std::io::Result<SocketAddr> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "abstract socket addresses exist only on Linux",
    ))
}

/// How often to ping the watchdog: half of `$WATCHDOG_USEC`, as
/// sd_watchdog_enabled(3) advises, when the variable is set for this process
/// (`$WATCHDOG_PID`, when present, must be ours).
pub fn watchdog_interval() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.trim() != std::process::id().to_string()
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier {
            target: Some(connect(path.as_os_str().as_encoded_bytes()).unwrap()),
        };
        n.ready("running");
        let mut buf = [0u8; 256];
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=running");

        let name = format!("@handoff-test-{}", std::process::id());
        let addr = abstract_addr(&name.as_bytes()[1..]).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        let n = Notifier {
            target: Some(connect(name.as_bytes()).unwrap()),
        };
        n.watchdog();
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
    }

    #[test]
    fn a_receiver_that_never_reads_never_blocks_the_sender() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let _listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier {
            target: Some(connect(path.as_os_str().as_encoded_bytes()).unwrap()),
        };
        let started = std::time::Instant::now();
        for _ in 0..200 {
            n.watchdog();
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "dropped, not waited for"
        );
    }

    #[test]
    fn no_socket_means_nothing_is_sent() {
        let n = Notifier { target: None };
        assert!(!n.is_enabled());
        n.ready("x");
    }
}
