//! The subcommands, as the owner types them.
//!
//! Each command loads what it needs (config, store, clock), does one thing and
//! prints for a person, or with `--json` for a program. Errors are turned into
//! one clear line per cause here, at the edge, and into the exit codes the README
//! documents: 0 ok, 1 runtime failure, 2 usage or config error.

use crate::clock::{self, Clock};
use crate::config::{self, ConfigError, Loaded, Severity};
use crate::model::{Incoming, Model, Outgoing};
use crate::status;
use crate::store::{EventFilter, Store};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// Keeps a small business's outsourced work on track by email and calendar.
#[derive(Debug, Parser)]
#[command(name = "handoff", version, about)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, env = "HANDOFF_CONFIG", default_value = config::DEFAULT_PATH)]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter config (handoff.toml) into DIR; never overwrites.
    Init {
        /// Where to write handoff.toml (default: the directory of --config).
        dir: Option<PathBuf>,
    },
    /// Check the config: every problem as FILE:LINE:COL, exit 2 if any.
    Check,
    /// Engagements and milestones with their state and next due item.
    Status {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The event journal: what was sent, received and decided.
    Log {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Only this engagement.
        #[arg(long)]
        engagement: Option<String>,
        /// Only the last N events.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Run the daemon (not yet available).
    Run,
    /// Show what is scheduled when (not yet available).
    Plan,
    /// Render the mails Handoff would send (not yet available).
    Preview,
    /// Write the owner's calendar feed (not yet available).
    Ics,
    /// Feed .eml files through the inbound pipeline (not yet available).
    Ingest { files: Vec<PathBuf> },
}

/// Runs one command and returns its exit code.
pub fn run(cli: Cli) -> u8 {
    let clock = match clock::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("handoff: {e}");
            return EXIT_USAGE;
        }
    };
    match cli.command {
        Command::Init { dir } => init(&cli.config, dir.as_deref()),
        Command::Check => check(&cli.config, clock.as_ref()),
        Command::Status { json } => with_config(&cli.config, |loaded| {
            status_cmd(loaded, clock.as_ref(), json)
        }),
        Command::Log {
            json,
            engagement,
            limit,
        } => with_config(&cli.config, |loaded| {
            log_cmd(loaded, EventFilter { engagement, limit }, json)
        }),
        Command::Run => not_yet("run", "the daemon"),
        Command::Plan => not_yet("plan", "the schedule"),
        Command::Preview => not_yet("preview", "sending"),
        Command::Ics => not_yet("ics", "the calendar"),
        Command::Ingest { .. } => not_yet("ingest", "the inbox"),
    }
}

fn not_yet(command: &str, part: &str) -> u8 {
    eprintln!("handoff {command}: not available yet (it arrives with {part})");
    EXIT_RUNTIME
}

/// Prints config problems, one line each, the way `check` does.
fn report_config_error(e: &ConfigError) -> u8 {
    match e {
        ConfigError::Read { .. } => {
            eprintln!("handoff: {e}");
            EXIT_USAGE
        }
        ConfigError::Invalid { diagnostics, .. } => {
            for d in diagnostics {
                eprintln!("{d}");
            }
            eprintln!("handoff: {e}");
            EXIT_USAGE
        }
    }
}

fn with_config(path: &Path, f: impl FnOnce(&Loaded) -> Result<(), CliError>) -> u8 {
    let loaded = match config::load(path) {
        Ok(l) => l,
        Err(e) => return report_config_error(&e),
    };
    match f(&loaded) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("handoff: {e}");
            EXIT_RUNTIME
        }
    }
}

/// Failures of a command once its config is good.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("cannot open the store {}: {source}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: crate::store::StoreError,
    },
    #[error("reading the store: {0}")]
    Query(#[from] crate::store::StoreError),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn open_store(model: &Model) -> Result<Store, CliError> {
    Store::open(&model.mail.state).map_err(|source| CliError::Store {
        path: model.mail.state.clone(),
        source,
    })
}

fn init(config_path: &Path, dir: Option<&Path>) -> u8 {
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
    match file.and_then(|mut f| f.write_all(config::EXAMPLE.as_bytes())) {
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

fn check(path: &Path, clock: &dyn Clock) -> u8 {
    let loaded = match config::load(path) {
        Ok(l) => l,
        Err(e) => return report_config_error(&e),
    };
    for w in &loaded.warnings {
        debug_assert_eq!(w.severity, Severity::Warning);
        eprintln!("{w}");
    }
    print!("{}", summary(&loaded, clock));
    EXIT_OK
}

/// The short report of a good config: who, what, where, and what is next.
fn summary(loaded: &Loaded, clock: &dyn Clock) -> String {
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn status_cmd(loaded: &Loaded, clock: &dyn Clock, json: bool) -> Result<(), CliError> {
    let store = open_store(&loaded.model)?;
    let report = status::build(&loaded.model, &store, clock.now())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(
            out,
            "{}",
            status::render(&report, loaded.model.owner.timezone)
        )?;
    }
    Ok(())
}

fn log_cmd(loaded: &Loaded, filter: EventFilter, json: bool) -> Result<(), CliError> {
    let store = open_store(&loaded.model)?;
    let events = store.events(&filter)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        for e in &events {
            serde_json::to_writer(&mut out, e)?;
            writeln!(out)?;
        }
    } else if events.is_empty() {
        writeln!(out, "no events yet")?;
    } else {
        for e in &events {
            writeln!(
                out,
                "{}  {:<8} {:<24} {}{}{}",
                e.time,
                e.direction,
                e.kind,
                e.engagement.as_deref().unwrap_or("-"),
                e.milestone
                    .as_deref()
                    .map(|m| format!("/{m}"))
                    .unwrap_or_default(),
                e.subject
                    .as_deref()
                    .map(|s| format!("  \"{s}\""))
                    .unwrap_or_default(),
            )?;
        }
    }
    Ok(())
}
