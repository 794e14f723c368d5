//! Faults inside Handoff's own house, through the real binary: a store file
//! that is not Handoff's, a second writer beside the daemon, a store that
//! cannot be written, a task that is stuck. Each is told the way an owner
//! (or systemd) would see it.

mod common;

use common::daemon::{Daemon, PATIENCE, eventually};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const EXAMPLE: &str = include_str!("../config/handoff.toml");
const NOW: &str = "2026-11-25T15:00:00Z";

/// The example config, quiet hours off, the store at `state`.
fn config(dir: &Path, state: &str) -> PathBuf {
    let text = EXAMPLE
        .replacen(
            "quiet_hours = \"20:00-08:00\"",
            "quiet_hours = \"00:00-00:00\"",
            1,
        )
        .replacen(
            "state = \"var/handoff.db\"",
            &format!("state = \"{state}\""),
            1,
        );
    let path = dir.join("handoff.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn handoff(config: &Path, args: &[&str]) -> Output {
    Command::new(common::daemon::bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", NOW)
        .env_remove("HANDOFF_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap()
}

fn outgoing(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("var/mail/outgoing/new")).map_or(0, |d| d.count())
}

/// The one line a refused command prints: it names the file and says what
/// it is; the file is as it was.
fn refused(dir: &Path, name: &str, expect: &str) {
    let config = config(dir, name);
    let file = dir.join(name);
    let before = std::fs::read(&file).unwrap();
    for args in [&["run", "--once"][..], &["status"]] {
        let out = handoff(&config, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = common::text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&file.display().to_string()),
            "names the file: {err}"
        );
        assert!(err.contains(expect), "says what it is: {err}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "{name} untouched");
    }
    assert_eq!(outgoing(dir), 0, "nothing sent");
}

#[test]
fn a_store_that_is_not_handoffs_is_refused_in_one_line_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // Another program's database, with a table that happens to be `outbox`.
    let foreign = dir.path().join("notes.db");
    let conn = rusqlite::Connection::open(&foreign).unwrap();
    conn.execute_batch(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, note TEXT);
         INSERT INTO outbox (note) VALUES ('call the plumber');",
    )
    .unwrap();
    drop(conn);
    refused(
        dir.path(),
        "notes.db",
        "another application's SQLite database",
    );

    // Not SQLite at all.
    std::fs::write(dir.path().join("notes.txt"), "call the plumber\n").unwrap();
    refused(dir.path(), "notes.txt", "not an SQLite database");

    // A store of a newer Handoff.
    let config = config(dir.path(), "newer.db");
    assert!(handoff(&config, &["run", "--once"]).status.success());
    let sent = outgoing(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("newer.db")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let before = std::fs::read(dir.path().join("newer.db")).unwrap();
    let out = handoff(&config, &["run", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("a store of a newer Handoff (schema version 99"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.path().join("newer.db")).unwrap(), before);
    assert_eq!(outgoing(dir.path()), sent);
}

#[test]
fn a_store_from_before_the_mark_still_opens_and_gets_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "var/handoff.db");
    assert!(handoff(&config, &["run", "--once"]).status.success());
    let state = dir.path().join("var/handoff.db");
    let conn = rusqlite::Connection::open(&state).unwrap();
    conn.pragma_update(None, "application_id", 0).unwrap();
    drop(conn);
    let out = handoff(&config, &["run", "--once"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let conn = rusqlite::Connection::open(&state).unwrap();
    let id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(id, handoff::store::APPLICATION_ID);
}

#[test]
fn run_once_beside_the_daemon_says_so_and_leaves_the_outbox_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "var/handoff.db");
    let mut daemon = Daemon::start(&config, &[("HANDOFF_NOW", NOW)]);
    daemon.expect_log("ready");
    // The instructions and the two milestones' invitations; the kickoff
    // (15:00 Berlin, 14:00 UTC) is over at NOW and gets none.
    eventually("the first mails written", PATIENCE, || {
        (outgoing(dir.path()) >= 3).then_some(())
    });
    let before = outgoing(dir.path());
    // An act is queued for the daemon, as ever.
    let act = handoff(
        &config,
        &[
            "evaluate",
            "website",
            "--score",
            "4",
            "--notes",
            "Good work",
        ],
    );
    assert!(act.status.success(), "{}", common::text(&act.stderr));
    assert!(common::text(&act.stdout).contains("queued"));

    let out = handoff(&config, &["run", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::text(&out.stderr);
    assert!(
        err.contains(&format!(
            "a `handoff run` daemon (pid {}) is running",
            daemon.pid()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(outgoing(dir.path()), before, "run --once sent nothing");
    assert!(
        !daemon.logged("not found"),
        "the daemon's rows were left alone"
    );

    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    // With the daemon gone, `run --once` delivers what the act queued.
    let out = handoff(&config, &["run", "--once"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_eq!(outgoing(dir.path()), before + 1);
}

#[test]
fn a_pass_that_cannot_write_the_store_shows_in_status_with_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "var/handoff.db");
    let mut daemon = Daemon::start(&config, &[("HANDOFF_NOW", NOW)]);
    daemon.expect_log("ready");
    // Another program holds the store's write lock.
    let blocker = rusqlite::Connection::open(dir.path().join("var/handoff.db")).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // A reply wakes the work loop; its pass cannot write.
    let inbox = dir.path().join("var/mail/inbox");
    std::fs::create_dir_all(inbox.join("tmp")).unwrap();
    std::fs::write(
        inbox.join("tmp/r1"),
        "From: Dana <dana@example.test>\r\nSubject: Re: Website [website]\r\n\
         Message-ID: <locked.1@example.test>\r\n\r\nGot it.\r\n",
    )
    .unwrap();
    std::fs::rename(inbox.join("tmp/r1"), inbox.join("new/r1")).unwrap();
    daemon.expect_log("the pass failed");
    let status = common::text(&handoff(&config, &["status"]).stdout);
    assert!(
        status.contains(&format!("(failed at {}", "2026-11-25T15:00:00.000Z"))
            && status.contains("database is locked"),
        "{status}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&handoff(&config, &["status", "--json"]).stdout).unwrap();
    assert!(
        json["daemon"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("database is locked")),
        "{json}"
    );
    assert_eq!(json["daemon"]["last_error_at"], "2026-11-25T15:00:00.000Z");

    // The lock goes; the next pass succeeds and the error is gone.
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    eventually("the reply recorded", PATIENCE, || {
        common::daemon::log_json(&config)
            .iter()
            .any(|e| e["message_id"] == "<locked.1@example.test>")
            .then_some(())
    });
    let status = eventually("the error cleared", PATIENCE, || {
        let s = common::text(&handoff(&config, &["status"]).stdout);
        (!s.contains("failed at")).then_some(s)
    });
    assert!(status.contains("last pass:"), "{status}");
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn a_stuck_delivery_stops_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "var/handoff.db");
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let pings = Arc::new(AtomicUsize::new(0));
    let counter = pings.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            if buf[..n].windows(10).any(|w| w == b"WATCHDOG=1") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    // Every network step bounded at 0.1 s: a delivery without progress for
    // 20 steps and 10 s is stuck.
    let mut daemon = Daemon::start(
        &config,
        &[
            ("HANDOFF_NOW", NOW),
            ("HANDOFF_NET_TIMEOUT", "0.1"),
            ("HANDOFF_FAILPOINT", "outbox.before_send:stall"),
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let started = Instant::now();
    daemon.expect_log("failpoint outbox.before_send reached: stalling");
    eventually("watchdog pings while the stall is young", PATIENCE, || {
        (pings.load(Ordering::SeqCst) > 0).then_some(())
    });
    let (line, at) = daemon.expect_log("not pinging the watchdog");
    assert!(line.contains("deliver stalled: no progress for"), "{line}");
    let after = at - started;
    assert!(
        after >= Duration::from_secs(10),
        "not before the limit: {after:?}"
    );
    let stopped_at = pings.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        pings.load(Ordering::SeqCst) <= stopped_at + 1,
        "no more pings once stuck"
    );
    println!("delivery stuck -> watchdog pings stop: {after:?} (limit 20 steps of 0.1 s + 10 s)");
}
