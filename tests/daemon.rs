//! `handoff run` as a service: the real binary in local mode (maildir), with
//! time pinned by HANDOFF_NOW, observed from outside the way an owner and
//! systemd see it: mail files appearing, `handoff log`, its log lines, its
//! exit code, and the sd_notify datagrams on a socket the test binds.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const EXAMPLE: &str = include_str!("../config/handoff.toml");
/// After the engagement starts (2026-11-24, Berlin), in working hours.
const NOW: &str = "2026-11-25T15:00:00Z";
/// Generous: a loaded CI machine is slow, and each wait ends on its event.
const PATIENCE: Duration = Duration::from_secs(30);

fn bin() -> PathBuf {
    // HANDOFF_BIN lets the measurement run on a release build.
    std::env::var_os("HANDOFF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_handoff")))
}

/// The example config, quiet hours off so mail goes at once.
fn config_text() -> String {
    EXAMPLE.replacen(
        "quiet_hours = \"20:00-08:00\"",
        "quiet_hours = \"00:00-00:00\"",
        1,
    )
}

fn handoff(config: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", NOW)
        .env_remove("HANDOFF_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("RUST_LOG")
        .output()
        .inspect(|out| common::ical::check_run(config, &out.stdout))
        .expect("run handoff")
}

/// A running daemon, its log lines arriving on a channel.
struct Daemon {
    child: Child,
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
    started: Instant,
}

impl Daemon {
    fn start(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let started = Instant::now();
        let mut cmd = Command::new(bin());
        cmd.args(["run", "--config"])
            .arg(config)
            .env("HANDOFF_NOW", NOW)
            .env_remove("HANDOFF_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            // An empty HANDOFF_NOW: the real clock.
            if *k == "HANDOFF_NOW" && v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let mut child = cmd.spawn().expect("start handoff run");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            log,
            seen: Vec::new(),
            started,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Waits for a log line containing `needle`; returns it.
    fn expect_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no log line with {needle:?}; the log so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig}");
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// SIGTERM, then the exit code and how long it took.
    fn stop(mut self) -> (Option<i32>, Duration) {
        let asked = Instant::now();
        self.signal("-TERM");
        let deadline = asked + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status.code(), asked.elapsed());
            }
            assert!(Instant::now() < deadline, "still running after SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `what` until it returns `Some`: for state another process writes
/// (files, the store), where there is no event to await in-process.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn outgoing(dir: &Path) -> Vec<String> {
    let new = dir.join("var/mail/outgoing/new");
    common::ical::check_dir(&new);
    let Ok(entries) = std::fs::read_dir(new) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

fn log_json(config: &Path) -> Vec<serde_json::Value> {
    common::text(&handoff(config, &["log", "--json"]).stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Datagrams from the daemon, the way systemd receives them.
struct NotifySocket {
    sock: UnixDatagram,
    path: PathBuf,
    got: Vec<String>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).expect("bind notify socket");
        sock.set_read_timeout(Some(PATIENCE)).unwrap();
        NotifySocket {
            sock,
            path,
            got: Vec::new(),
        }
    }

    /// Waits for a datagram holding a line starting with `line` (one
    /// received before counts); returns the datagram.
    fn expect(&mut self, line: &str) -> String {
        let has = |msg: &str| msg.lines().any(|l| l.starts_with(line));
        if let Some(msg) = self.got.iter().find(|m| has(m)) {
            return msg.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        let mut buf = vec![0u8; 4096];
        loop {
            // Watchdog pings keep coming: the deadline, not the socket's
            // timeout, ends a wait for something else.
            assert!(Instant::now() < deadline, "no {line:?}; got {:?}", self.got);
            let n = self
                .sock
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no {line:?} ({e}); got {:?}", self.got));
            let msg = common::text(&buf[..n]);
            self.got.push(msg.clone());
            if has(&msg) {
                return msg;
            }
        }
    }
}

#[test]
fn the_daemon_sends_records_replies_reloads_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    let good = config_text();
    std::fs::write(&config, &good).unwrap();
    let mut notify = NotifySocket::bind(dir.path());
    let socket = notify.path.to_str().unwrap().to_string();
    let mut daemon = Daemon::start(
        &config,
        &[("NOTIFY_SOCKET", &socket), ("WATCHDOG_USEC", "200000")],
    );

    // systemd hears it is ready, what it does, and the watchdog pings.
    let ready = notify.expect("READY=1");
    let ready_after = daemon.started.elapsed();
    assert!(ready.contains("STATUS=watching 1 engagement(s)"), "{ready}");
    notify.expect("WATCHDOG=1");
    notify.expect("STATUS=");
    println!("exec -> READY=1: {} ms", ready_after.as_millis());

    // The instructions and the invitations are in the outgoing Maildir.
    let mails = eventually("instructions and 2 invites and the kickoff", || {
        let m = outgoing(dir.path());
        (m.len() >= 4).then_some(m)
    });
    // Message-IDs name their purpose: <random.instructions@owner's domain>.
    let instructions_id = mails
        .iter()
        .filter_map(|m| header(m, "Message-ID"))
        .find(|id| id.contains(".instructions@"))
        .expect("an instructions mail");
    assert!(
        mails
            .iter()
            .filter(|m| m.contains("METHOD:REQUEST"))
            .count()
            >= 3,
        "two milestone invites and the kickoff"
    );

    // A second daemon on the same store is refused, clearly.
    let second = handoff(&config, &["run"]);
    assert_eq!(second.status.code(), Some(1));
    let why = common::text(&second.stderr);
    assert!(
        why.contains(&format!("another `handoff run` (pid {})", daemon.pid()))
            && why.contains("already running"),
        "{why}"
    );
    // `handoff status` sees it running.
    let status = common::text(&handoff(&config, &["status"]).stdout);
    assert!(
        status.contains(&format!("daemon: running (pid {}", daemon.pid())),
        "{status}"
    );

    // A reply dropped into inbox/new (the Maildir way: tmp/, then rename)
    // is read and recorded without any other nudge.
    let inbox = dir.path().join("var/mail/inbox");
    std::fs::create_dir_all(inbox.join("tmp")).unwrap();
    let reply = format!(
        "From: Dana Diaz <dana@example.test>\r\nTo: Ada Lovelace <ada@example.test>\r\n\
         Subject: Re: Company website redesign [website]\r\nMessage-ID: <reply-1@example.test>\r\n\
         In-Reply-To: {instructions_id}\r\nReferences: {instructions_id}\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 -0500\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Got it, thanks. I start on the wireframes today.\r\n"
    );
    std::fs::write(inbox.join("tmp/1764090000.M1P1.test"), reply).unwrap();
    std::fs::rename(
        inbox.join("tmp/1764090000.M1P1.test"),
        inbox.join("new/1764090000.M1P1.test"),
    )
    .unwrap();
    eventually("the reply recorded as an acknowledgement", || {
        log_json(&config)
            .iter()
            .any(|e| e["kind"] == "acknowledgement" && e["engagement"] == "website")
            .then_some(())
    });

    // A broken config, saved: the daemon logs FILE:LINE:COL and keeps going.
    let broken = good.replacen("title = \"Wireframes\"", "title = Wireframes", 1);
    let bad_line = broken[..broken.find("title = Wireframes").unwrap()]
        .matches('\n')
        .count()
        + 1;
    std::fs::write(&config, &broken).unwrap();
    let file = config.display().to_string();
    let logged = daemon.expect_log(&format!("{file}:{bad_line}:"));
    assert!(
        logged.starts_with("<3>"),
        "an error, with journald's priority: {logged}"
    );
    daemon.expect_log("still running on the previous one");
    // SIGHUP re-reads it: the same error again, and the daemon stays up.
    daemon.signal("-HUP");
    daemon.expect_log(&format!("{file}:{bad_line}:"));
    assert!(daemon.is_running());
    // The owner is told, once for this error however often it is read.
    let notices = eventually("the config-error notice", || {
        let n: Vec<String> = outgoing(dir.path())
            .into_iter()
            .filter(|m| m.contains("your config has errors"))
            .collect();
        (!n.is_empty()).then_some(n)
    });
    assert_eq!(notices.len(), 1, "told once");
    assert!(
        header(&notices[0], "To")
            .unwrap()
            .contains("ada@example.test")
    );

    // A fixed config with a new milestone: reconciled, and its invite sent.
    let fixed = format!(
        "{good}\n[[engagement.milestone]]\nid = \"content\"\ntitle = \"Copy for every page\"\ndue = 2026-12-20\n"
    );
    std::fs::write(&config, &fixed).unwrap();
    daemon.expect_log("config reloaded");
    eventually("the new milestone's invite", || {
        log_json(&config)
            .iter()
            .any(|e| e["kind"] == "sent_milestone_invite" && e["milestone"] == "content")
            .then_some(())
    });
    // The new config is the one in force: a SIGHUP reloads it cleanly.
    daemon.signal("-HUP");
    daemon.expect_log("config reloaded");

    // SIGTERM: exit 0, promptly, and systemd is told it is stopping.
    let (code, took) = daemon.stop();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(10), "{took:?}");
    notify.expect("STOPPING=1");
    println!("SIGTERM -> exit: {} ms", took.as_millis());
    let status = common::text(&handoff(&config, &["status"]).stdout);
    assert!(
        status.contains("daemon: not running (last stopped"),
        "{status}"
    );
}

#[test]
fn without_notify_socket_it_runs_quietly_and_a_bad_config_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::write(&config, "[owner]\nname = 1\n").unwrap();
    let out = handoff(&config, &["run"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a config error is a usage error"
    );
    assert!(
        common::text(&out.stderr).contains(&format!("{}:2:8:", config.display())),
        "{}",
        common::text(&out.stderr)
    );

    std::fs::write(&config, config_text()).unwrap();
    let mut daemon = Daemon::start(&config, &[]);
    daemon.expect_log("ready");
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
}

/// Start time and idle memory, for the example (1 engagement) and with 100
/// engagements. Prints the figures (`cargo test --test daemon measure --
/// --nocapture`; set HANDOFF_BIN to a release build for the README's
/// numbers) and checks only that it gets ready at all.
#[test]
fn measure_start_time_and_idle_memory() {
    let mut hundred = config_text();
    for i in 0..99 {
        hundred += &format!(
            "\n[[engagement]]\nid = \"job{i}\"\ncontractor = \"dana\"\ntitle = \"Job {i}\"\n\
             agreement_signed = 2026-11-02\nstarts = 2026-11-24\n\
             deliverables = \"Things\"\nquality_standard = \"Good\"\nperformance_standard = \"On time\"\n\
             [[engagement.milestone]]\nid = \"m1\"\ntitle = \"First part\"\ndue = 2026-12-05\n\
             [[engagement.milestone]]\nid = \"m2\"\ntitle = \"Second part\"\ndue = 2027-01-05\n"
        );
    }
    for (label, text_) in [
        ("1 engagement", config_text()),
        ("100 engagements", hundred),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("handoff.toml");
        std::fs::write(&config, &text_).unwrap();
        // The first start queues and writes every mail (4 per engagement);
        // the restart is the steady state: the store knows everything,
        // nothing is due.
        for round in ["first start", "restart"] {
            let mut notify = NotifySocket::bind(dir.path());
            let socket = notify.path.to_str().unwrap().to_string();
            let daemon = Daemon::start(&config, &[("NOTIFY_SOCKET", &socket)]);
            notify.expect("READY=1");
            let ready = daemon.started.elapsed();
            let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
                    .unwrap_or_default()
            };
            println!(
                "{label}, {round}: exec -> READY=1 {} ms; when ready VmRSS {} (RssAnon {}, RssFile {}) [{}]",
                ready.as_millis(),
                field("VmRSS:"),
                field("RssAnon:"),
                field("RssFile:"),
                bin().display()
            );
            let (code, _) = daemon.stop();
            assert_eq!(code, Some(0));
            std::fs::remove_file(&notify.path).unwrap();
            assert!(ready < PATIENCE);
        }
    }
}

/// A config sending through `stack` and watching its IMAP, one engagement.
fn stack_config(stack: &common::MailStack, dir: &Path, id: &str) -> PathBuf {
    stack.write_config(
        dir,
        "outgoing = \"smtp\"\nincoming = \"imap\"",
        "",
        &common::engagement(id),
    )
}

#[test]
fn over_smtp_and_imap_the_daemon_sends_records_and_rides_out_an_imap_outage() {
    let stack = common::MailStack::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = "site";
    let config = stack_config(&stack, dir.path(), id);
    let mut notify = NotifySocket::bind(dir.path());
    let socket = notify.path.to_str().unwrap().to_string();
    let mut daemon = Daemon::start(&config, &[("NOTIFY_SOCKET", &socket)]);
    notify.expect("READY=1");
    daemon.expect_log("IMAP watcher connected");

    // The instructions reach the contractor's mailbox through Postfix.
    let instructions = rt.block_on(common::imap::wait_for_text(
        &stack,
        &stack.contractor,
        "INBOX",
        ".instructions@",
        PATIENCE,
    ));
    let root = common::text(&instructions)
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_string))
        .expect("the instructions' Message-ID");
    let send = |message_id: &str, body: &str| {
        let raw = common::watch::reply(&stack, id, &root, message_id, body);
        rt.block_on(common::smtp::send_raw(
            &stack,
            &stack.contractor,
            &[&stack.owner.user],
            &raw,
        ))
        .expect("Postfix takes the reply");
    };
    let recorded = |message_id: &str| {
        let wanted = format!("<{message_id}>");
        log_json(&config)
            .iter()
            .filter(|e| e["direction"] == "in" && e["message_id"] == wanted.as_str())
            .count()
    };

    // A reply is recorded by the daemon's watcher.
    let sent = Instant::now();
    send("ack.1@example.test", "Got it, starting Monday.");
    daemon.expect_log("recorded new mail");
    println!("reply sent -> recorded by the daemon: {:?}", sent.elapsed());
    assert_eq!(recorded("ack.1@example.test"), 1);

    // IMAP goes away; mail keeps arriving; IMAP comes back.
    stack.stop_imap();
    daemon.expect_log("IMAP watcher disconnected");
    let status = common::text(&handoff(&config, &["status"]).stdout);
    assert!(status.contains("NOT REACHABLE"), "{status}");
    for i in 0..3 {
        send(&format!("down.{i}@example.test"), "Status: all on track.");
    }
    stack.settle();
    stack.start_imap();
    let back = Instant::now();
    eventually("the three mails recorded", || {
        (0..3)
            .all(|i| recorded(&format!("down.{i}@example.test")) == 1)
            .then_some(())
    });
    println!("IMAP back -> all three recorded: {:?}", back.elapsed());
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "resumed within 5 s"
    );
    assert!(daemon.is_running());

    let (code, took) = daemon.stop();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");
    for i in 0..3 {
        assert_eq!(recorded(&format!("down.{i}@example.test")), 1, "once each");
    }
}

#[test]
fn mail_waiting_for_postfix_goes_within_seconds_of_its_return() {
    let stack = common::MailStack::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = "outage";
    let config = stack_config(&stack, dir.path(), id);
    // The real clock: retries are due in real seconds.
    let mut daemon = Daemon::start(&config, &[("HANDOFF_NOW", "")]);
    daemon.expect_log("IMAP watcher connected");
    rt.block_on(common::imap::wait_for_text(
        &stack,
        &stack.contractor,
        "INBOX",
        ".instructions@",
        PATIENCE,
    ));

    stack.stop_smtp();
    // A question arrives (filed straight into the owner's INBOX: submission
    // is down); the owner notice it causes cannot go.
    let question = format!(
        "From: Dana Diaz <{from}>\r\nTo: {to}\r\nSubject: Question [{id}]\r\n\
         Message-ID: <q.outage@example.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 -0500\r\n\r\n\
         Which font should the headings use?\r\n",
        from = stack.contractor.user,
        to = stack.owner.user,
    );
    rt.block_on(async {
        let mut s = common::imap::login_starttls(&stack, &stack.owner)
            .await
            .unwrap();
        s.append("INBOX", None, None, question.as_bytes())
            .await
            .unwrap();
    });
    daemon.expect_log("SMTP server unreachable");
    let back = Instant::now();
    stack.start_smtp();
    rt.block_on(common::imap::wait_for_text(
        &stack,
        &stack.owner,
        "INBOX",
        ".notice_question@",
        PATIENCE,
    ));
    let resumed = back.elapsed();
    println!("Postfix back -> the waiting owner notice delivered: {resumed:?}");
    assert!(resumed < Duration::from_secs(5), "took {resumed:?}");
    daemon.expect_log("SMTP server reachable again");
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
}
