//! Test support only: every calendar Handoff writes in the test suite is read
//! by strict parsers besides the `icalendar` crate that wrote it.
//!
//! [`assert_strict`] hands the text to `tests/calendar_strict.py --serve`
//! (Python's `icalendar`, `ical` and a validating `vobject`, plus the rules
//! clients rely on: one PRODID, DTEND after DTSTART, no RSVP on a CANCEL),
//! one long-lived process per test binary, so a check costs milliseconds
//! rather than an interpreter start. [`super::build`] calls it on every
//! calendar it returns under `cfg(test)`, so no unit test can emit one that
//! escapes; the integration tests include this same file
//! (`tests/common/ical.rs`) and call it on every mail and feed they read.
//!
//! It uses nothing of Handoff, only std, so both can include it. The server
//! ends when its stdin closes, that is when the test process exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

struct Server {
    // Held so the child is not dropped (and its pipes closed) early.
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

static SERVER: Mutex<Option<Server>> = Mutex::new(None);

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/calendar_strict.py")
}

fn start() -> Result<Server, String> {
    let mut child = Command::new("python3")
        .arg(script())
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start python3 {}: {e}", script().display()))?;
    let stdin = child.stdin.take().ok_or("no stdin for the checker")?;
    let stdout = BufReader::new(child.stdout.take().ok_or("no stdout for the checker")?);
    Ok(Server {
        _child: child,
        stdin,
        stdout,
    })
}

fn ask(server: &mut Server, ics: &str) -> Result<String, String> {
    writeln!(server.stdin, "{}", ics.len()).map_err(|e| e.to_string())?;
    server
        .stdin
        .write_all(ics.as_bytes())
        .and_then(|()| server.stdin.flush())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    server
        .stdout
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if line.is_empty() {
        // The server died: whatever it printed before is on stderr.
        let mut rest = String::new();
        let _ = server.stdout.read_to_string(&mut rest);
        return Err(format!("the calendar checker exited{rest}"));
    }
    Ok(line)
}

/// `Err(reason)` when a strict reading refuses `ics`.
pub fn check(ics: &str) -> Result<(), String> {
    // A test that panicked while holding the lock leaves a usable server.
    let mut slot = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    if slot.is_none() {
        *slot = Some(start()?);
    }
    let Some(server) = slot.as_mut() else {
        return Err("no calendar checker".into());
    };
    let verdict = match ask(server, ics) {
        Ok(v) => v,
        Err(e) => {
            *slot = None;
            return Err(e);
        }
    };
    if verdict.trim() == r#"{"ok": true}"# {
        Ok(())
    } else {
        Err(verdict.trim().to_string())
    }
}

/// Panics, naming the reason and showing the calendar, when a strict reading
/// refuses `ics`.
pub fn assert_strict(ics: &str) {
    if let Err(why) = check(ics) {
        panic!("a strict iCalendar parser refuses this calendar: {why}\n{ics}");
    }
}
