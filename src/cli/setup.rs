//! Setting up: `handoff init` (the commented starter config, its dates
//! counted from today) and `handoff
//! check` (every problem in the config, then every template rendered
//! against it).

use super::{EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, plural, report_config_error};
use crate::clock::Clock;
use crate::config::{self, Loaded, Severity};
use crate::model::{Incoming, Outgoing};
use crate::outbox::check::check_templates;
use crate::status;
use std::io::Write;
use std::path::Path;

/// Writes the starter config: the example with its dates counted from today
/// (`HANDOFF_NOW` respected), so a first run of it invites to what is ahead.
pub(super) fn init(config_path: &Path, dir: Option<&Path>, clock: &dyn Clock) -> u8 {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| {
        config_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    });
    let target = dir.join("handoff.toml");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("handoff init: cannot create {}: {e}", dir.display());
        return EXIT_RUNTIME;
    }
    // create_new: refuse to overwrite, atomically (no check-then-write race).
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target);
    // Its "Check it with" line names the file where it is.
    let text = config::starter(clock.now()).replacen(
        "--config config/handoff.toml",
        &format!("--config {}", target.display()),
        1,
    );
    match file.and_then(|mut f| f.write_all(text.as_bytes())) {
        Ok(()) => {
            println!(
                "wrote {}: edit it, then run `handoff check --config {}`",
                target.display(),
                target.display()
            );
            EXIT_OK
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "handoff init: {} already exists; not overwriting it",
                target.display()
            );
            EXIT_USAGE
        }
        Err(e) => {
            eprintln!("handoff init: cannot write {}: {e}", target.display());
            EXIT_RUNTIME
        }
    }
}

pub(super) fn check(path: &Path, clock: &dyn Clock) -> u8 {
    let loaded = match config::load(path) {
        Ok(l) => l,
        Err(e) => return report_config_error(&e),
    };
    for w in &loaded.warnings {
        debug_assert_eq!(w.severity, Severity::Warning);
        eprintln!("{w}");
    }
    // Every template is rendered against the real config once, so a missing
    // variable shows here and never as a blank in someone's inbox.
    let problems = check_templates(&loaded.model, clock.now());
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("handoff: {} template problem(s)", problems.len());
        return EXIT_USAGE;
    }
    print!("{}", summary(&loaded, clock));
    EXIT_OK
}

/// The short report of a good config: who, what, where, and what is next.
pub(super) fn summary(loaded: &Loaded, clock: &dyn Clock) -> String {
    let m = &loaded.model;
    let milestones: usize = m.engagements.iter().map(|e| e.milestones.len()).sum();
    let mut out = format!(
        "{}: ok ({} contractor{}, {} engagement{}, {} milestone{}{})\n",
        loaded.path.display(),
        m.contractors.len(),
        plural(m.contractors.len()),
        m.engagements.len(),
        plural(m.engagements.len()),
        milestones,
        plural(milestones),
        match loaded.warnings.len() {
            0 => String::new(),
            n => format!(", {n} warning{}", plural(n)),
        }
    );
    out += &format!(
        "owner: {} <{}>, {}\n",
        m.owner.name,
        m.owner.email,
        m.owner.timezone.name()
    );
    out += &format!(
        "mail out: {}; replies: {}; store: {}\n",
        match (&m.mail.outgoing, &m.smtp) {
            (Outgoing::Smtp, Some(s)) => format!("smtp {}:{}", s.host, s.port),
            _ => format!("maildir {}", m.mail.maildir.join("outgoing").display()),
        },
        match (&m.mail.incoming, &m.imap) {
            (Incoming::Imap, Some(i)) =>
                format!("imap {}:{} {}", i.server.host, i.server.port, i.mailbox),
            _ => format!("maildir {}", m.mail.maildir.join("inbox").display()),
        },
        m.mail.state.display()
    );
    let now = clock.now();
    let mut next: Vec<_> = m
        .engagements
        .iter()
        .flat_map(|e| e.milestones.iter().map(move |ms| (e, ms)))
        .filter(|(_, ms)| ms.due > now)
        .collect();
    next.sort_by_key(|(_, ms)| ms.due);
    if !next.is_empty() {
        out += "next milestones:\n";
        for (e, ms) in next.iter().take(5) {
            out += &format!(
                "  {}  {}/{}  {} ({})\n",
                status::local_time(ms.due, m.owner.timezone),
                e.id,
                ms.id,
                ms.title,
                m.contractor_of(e).name
            );
        }
    }
    out
}
