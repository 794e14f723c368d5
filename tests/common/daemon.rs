//! The real `handoff run` as a child process, observed from outside: its log
//! lines (each with the instant it arrived), `handoff log --json`, its exit.
//! For the tests that put the daemon under faults (`tests/hang.rs`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous: a loaded CI machine is slow, and each wait ends on its event.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_handoff"))
}

/// A running daemon, its log lines arriving on a channel.
pub struct Daemon {
    child: Child,
    log: mpsc::Receiver<(String, Instant)>,
    /// Every line received so far.
    pub seen: Vec<String>,
}

impl Daemon {
    /// Starts `handoff run` on `config` with `env` (`HANDOFF_NOW` unset: the
    /// real clock, unless `env` sets it).
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(bin());
        cmd.args(["run", "--config"])
            .arg(config)
            .env_remove("HANDOFF_NOW")
            .env_remove("HANDOFF_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("HANDOFF_FAILPOINT")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start handoff run");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send((line, Instant::now())).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            log,
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a log line containing `needle` (after those already seen);
    /// returns it and when it arrived.
    pub fn expect_log(&mut self, needle: &str) -> (String, Instant) {
        self.expect_log_within(needle, PATIENCE)
    }

    pub fn expect_log_within(&mut self, needle: &str, within: Duration) -> (String, Instant) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok((line, at)) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return (line, at);
                    }
                }
                Err(_) => panic!(
                    "no log line with {needle:?} within {within:?}; the log so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Whether any line seen so far (and any waiting now) contains `needle`.
    pub fn logged(&mut self, needle: &str) -> bool {
        while let Ok((line, _)) = self.log.try_recv() {
            self.seen.push(line);
        }
        self.seen.iter().any(|l| l.contains(needle))
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig}");
    }

    /// SIGTERM; the exit code, and every log line from the signal on.
    pub fn stop(mut self) -> (Option<i32>, Vec<String>) {
        let before = {
            while let Ok((line, _)) = self.log.try_recv() {
                self.seen.push(line);
            }
            self.seen.len()
        };
        self.signal("-TERM");
        let deadline = Instant::now() + PATIENCE;
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status.code();
            }
            assert!(Instant::now() < deadline, "still running after SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        };
        // The reader thread ends with the pipe.
        while let Ok((line, _)) = self.log.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (code, self.seen[before..].to_vec())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with `args` on `config` (real clock).
pub fn handoff(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("HANDOFF_NOW")
        .env_remove("HANDOFF_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .output()
        .expect("run handoff")
}

/// `handoff log --json`, one value per event.
pub fn log_json(config: &Path) -> Vec<serde_json::Value> {
    super::text(&handoff(config, &["log", "--json"]).stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Polls `what` until it returns `Some`: for state another process writes
/// (the store, the Maildirs), where there is no event to await in-process.
pub fn eventually<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
