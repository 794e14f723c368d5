//! The subcommands, as the owner types them.
//!
//! Each command loads what it needs (config, store, clock), does one thing and
//! prints for a person, or with `--json` for a program. Errors are turned into
//! one clear line per cause here, at the edge, and into the exit codes the README
//! documents: 0 ok, 1 runtime failure, 2 usage or config error.

use crate::actions::OwnerAction;
use crate::clock::{self, Clock};
use crate::config::{self, ConfigError, Loaded, Severity};
use crate::model::{Incoming, Model, Outgoing};
use crate::outbox::compose::sample_extra;
use crate::outbox::{Composer, MailRequest, Transport};
use crate::status;
use crate::store::{EventFilter, Store};
use crate::templates::{Purpose, Templates};
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
    /// Run Handoff: the daemon (until SIGTERM; SIGHUP or a change of the
    /// config file reloads it); `--once` does one pass (queue what is due,
    /// deliver the outbox) and exits.
    Run {
        #[arg(long)]
        once: bool,
    },
    /// The timeline: every mail and reminder due in the next days, when
    /// (UTC and the recipient's time), to whom, and the rule behind it.
    Plan {
        /// How many days ahead.
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show the exact mail Handoff would send, without sending or changing anything.
    Preview {
        /// The engagement id.
        engagement: String,
        /// What kind of mail (default: instructions); see templates/.
        purpose: Option<String>,
        /// Which milestone, for mails about one (default: the first).
        #[arg(long)]
        milestone: Option<String>,
        /// Print the raw message (.eml) instead of a readable view.
        #[arg(long)]
        eml: bool,
    },
    /// Write the owner's calendar feed (.ics): milestones, kickoffs, the next
    /// evaluation and payment dates.
    Ics {
        /// Only this engagement.
        #[arg(long)]
        engagement: Option<String>,
        /// Write to this file (atomically) instead of standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Run .eml files through the inbound pipeline, as if they had arrived.
    Ingest {
        /// Classify and explain, but record nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print which rule matched and why.
        #[arg(long)]
        explain: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Record the agreement as signed: work starts on `starts`.
    Sign {
        /// The engagement id.
        engagement: String,
    },
    /// Accept a delivered milestone; the contractor gets a short confirmation
    /// with your notes.
    Accept {
        engagement: String,
        /// Which milestone (default: the only delivered one).
        milestone: Option<String>,
        /// Feedback to pass on.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Send a delivered milestone back for another pass, saying why.
    Redo {
        engagement: String,
        /// Which milestone (default: the only delivered one).
        milestone: Option<String>,
        /// What needs fixing (goes to the contractor).
        #[arg(long, required = true)]
        notes: String,
    },
    /// Record your evaluation; it goes to the contractor as feedback.
    Evaluate {
        engagement: String,
        /// 1 (poor) to 5 (excellent).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        score: u8,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Record a payment, e.g. `paid website 1200 EUR` (a bare number is in
    /// the budget's currency).
    Paid {
        engagement: String,
        /// The amount and currency, if known.
        amount: Vec<String>,
    },
    /// Mark the contractor's latest question answered.
    Answered { engagement: String },
    /// End the engagement now: open milestones are cancelled and their
    /// invitations withdrawn, reminders stop, the record is kept.
    End {
        engagement: String,
        /// Why (kept in the journal).
        #[arg(long)]
        notes: Option<String>,
    },
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
    // The daemon sets up its own log (level from the config); a one-shot
    // command shows warnings and errors (a mail that could not be sent, a
    // file it could not read) on standard error, more with RUST_LOG.
    if !matches!(cli.command, Command::Run { once: false }) {
        crate::daemon::logging::init(Some("warn"));
    }
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
        Command::Run { once: false } => {
            let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::from(clock);
            with_config(&cli.config, |loaded| {
                crate::daemon::run(loaded.clone(), &cli.config, clock).map_err(CliError::from)
            })
        }
        Command::Run { once: true } => {
            with_config(&cli.config, |loaded| run_once(loaded, clock.as_ref()))
        }
        Command::Plan { days, json } => with_config(&cli.config, |loaded| {
            plan_cmd(loaded, clock.as_ref(), days, json)
        }),
        Command::Preview {
            engagement,
            purpose,
            milestone,
            eml,
        } => preview(
            &cli.config,
            clock.as_ref(),
            &engagement,
            purpose.as_deref(),
            milestone,
            eml,
        ),
        Command::Ics { engagement, output } => with_config(&cli.config, |loaded| {
            ics(
                loaded,
                clock.as_ref(),
                engagement.as_deref(),
                output.as_deref(),
            )
        }),
        Command::Ingest {
            dry_run,
            explain,
            files,
        } => with_config(&cli.config, |loaded| {
            ingest(loaded, clock.as_ref(), &files, dry_run, explain)
        }),
        Command::Sign { engagement } => owner_act(&cli.config, clock.as_ref(), &engagement, |_| {
            Ok(OwnerAction::Sign)
        }),
        Command::Accept {
            engagement,
            milestone,
            notes,
        } => owner_act(&cli.config, clock.as_ref(), &engagement, |_| {
            Ok(OwnerAction::Accept { milestone, notes })
        }),
        Command::Redo {
            engagement,
            milestone,
            notes,
        } => owner_act(&cli.config, clock.as_ref(), &engagement, |_| {
            Ok(OwnerAction::Redo {
                milestone,
                reason: notes,
            })
        }),
        Command::Evaluate {
            engagement,
            score,
            notes,
        } => owner_act(&cli.config, clock.as_ref(), &engagement, |_| {
            Ok(OwnerAction::Evaluate { score, notes })
        }),
        Command::Paid { engagement, amount } => {
            owner_act(&cli.config, clock.as_ref(), &engagement, |e| {
                let text = amount.join(" ");
                if text.trim().is_empty() {
                    return Ok(OwnerAction::Paid { amount: None });
                }
                let currency = e
                    .and_then(|e| e.budget.as_ref())
                    .map(|b| b.currency.as_str());
                crate::money::Money::parse_or(&text, currency)
                    .map(|m| OwnerAction::Paid { amount: Some(m) })
                    .map_err(|err| err.to_string())
            })
        }
        Command::Answered { engagement } => {
            owner_act(&cli.config, clock.as_ref(), &engagement, |_| {
                Ok(OwnerAction::Answered)
            })
        }
        Command::End { engagement, notes } => {
            owner_act(&cli.config, clock.as_ref(), &engagement, |_| {
                Ok(OwnerAction::End { reason: notes })
            })
        }
    }
}

/// One of the owner's acts: the store learns the config first (so a fresh
/// store works), then [`crate::actions::apply`] records the act, its state
/// change and its mail together. The mail goes out with the next pass.
fn owner_act(
    config_path: &Path,
    clock: &dyn Clock,
    engagement: &str,
    action: impl FnOnce(Option<&crate::model::Engagement>) -> Result<OwnerAction, String>,
) -> u8 {
    let loaded = match config::load(config_path) {
        Ok(l) => l,
        Err(e) => return report_config_error(&e),
    };
    let model = &loaded.model;
    let action = match action(model.engagement(engagement)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("handoff: {e}");
            return EXIT_USAGE;
        }
    };
    let run = || -> Result<crate::actions::ActionOutcome, CliError> {
        let templates = Templates::load(model.mail.templates_dir.as_deref())?;
        let composer = Composer {
            model,
            templates: &templates,
        };
        let mut store = open_store(model)?;
        let now = clock.now();
        store.reconcile(&crate::reconcile::plan(model), now)?;
        Ok(crate::actions::apply(
            model,
            &composer,
            &mut store,
            engagement,
            action,
            crate::actions::Origin::Command,
            now,
        )?)
    };
    match run() {
        Ok(outcome) => {
            println!("{}", outcome.summary);
            if !outcome.queued.is_empty() {
                println!(
                    "queued {} (sent with the next pass)",
                    outcome.queued.join(", ")
                );
            }
            EXIT_OK
        }
        Err(CliError::Action(e)) if e.is_usage() => {
            eprintln!("handoff: {e}");
            EXIT_USAGE
        }
        Err(e) => {
            eprintln!("handoff: {e}");
            EXIT_RUNTIME
        }
    }
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
        Err(e @ CliError::UnknownEngagement(_)) => {
            eprintln!("handoff: {e}");
            EXIT_USAGE
        }
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
    #[error(transparent)]
    Templates(#[from] crate::templates::TemplateError),
    #[error(transparent)]
    Transport(#[from] crate::outbox::TransportError),
    #[error(transparent)]
    Pass(#[from] crate::pass::PassError),
    #[error(transparent)]
    Inbox(#[from] crate::inbox::InboxError),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("no engagement `{0}` in the config")]
    UnknownEngagement(String),
    #[error(transparent)]
    Action(#[from] crate::actions::ActionError),
    #[error(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),
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

/// Renders every purpose for every engagement; one line per failure. The
/// daemon runs the same check before it accepts a reloaded config.
pub(crate) fn check_templates(model: &Model, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let templates = match Templates::load(model.mail.templates_dir.as_deref()) {
        Ok(t) => t,
        Err(e) => return vec![template_problem(model, &e.to_string())],
    };
    let composer = Composer {
        model,
        templates: &templates,
    };
    let mut problems = Vec::new();
    for e in &model.engagements {
        for purpose in Purpose::ALL {
            let milestone = e.milestones.first().map(|m| m.id.clone());
            if purpose.needs_milestone() && milestone.is_none() {
                continue;
            }
            let req = MailRequest {
                purpose: *purpose,
                engagement: e.id.clone(),
                milestone,
                extra: sample_extra(*purpose),
                calendar: None,
            };
            if let Err(err) = composer.compose(&req, None, now) {
                let line = template_problem(model, &format!("{err} (engagement {})", e.id));
                if !problems.contains(&line) {
                    problems.push(line);
                }
            }
        }
    }
    problems
}

fn template_problem(model: &Model, detail: &str) -> String {
    match &model.mail.templates_dir {
        Some(dir) => format!("{}: {detail}", dir.display()),
        None => format!("templates (built in): {detail}"),
    }
}

fn ics(
    loaded: &Loaded,
    clock: &dyn Clock,
    engagement: Option<&str>,
    output: Option<&Path>,
) -> Result<(), CliError> {
    let model = &loaded.model;
    if let Some(id) = engagement.filter(|id| model.engagement(id).is_none()) {
        return Err(CliError::UnknownEngagement(id.to_string()));
    }
    // The store only refines the feed (done milestones left out); without
    // one, the config alone says what is planned.
    let records = if model.mail.state.is_file() {
        Store::open(&model.mail.state)
            .and_then(|s| s.engagements())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let text = crate::calendar::feed(model, engagement, &records, clock.now());
    match output {
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
        Some(path) => {
            // Write beside it, then rename: a calendar app polling the file
            // never reads half a feed.
            let tmp = path.with_extension("ics.tmp");
            std::fs::write(&tmp, &text)?;
            std::fs::rename(&tmp, path)?;
        }
    }
    Ok(())
}

fn ingest(
    loaded: &Loaded,
    clock: &dyn Clock,
    files: &[PathBuf],
    dry_run: bool,
    explain: bool,
) -> Result<(), CliError> {
    let model = &loaded.model;
    let templates = Templates::load(model.mail.templates_dir.as_deref())?;
    let composer = Composer {
        model,
        templates: &templates,
    };
    let inbox = crate::inbox::Inbox {
        model,
        composer: &composer,
    };
    let mut store = open_store(model)?;
    // The store must know the config's engagements before mail can match them.
    if !dry_run {
        store.reconcile(&crate::reconcile::plan(model), clock.now())?;
    }
    let mut out = std::io::stdout().lock();
    for file in files {
        // At most just over the size limit: a huge file is recorded as
        // too_large without being read whole.
        let raw = crate::inbox::maildir::read_mail(file)?;
        let uid = store.transaction(|tx| tx.next_local_uid("ingest"))?;
        let source = crate::inbox::Source {
            account: "ingest".into(),
            uid_validity: 0,
            uid,
            truncated: false,
        };
        let o = inbox.ingest(&mut store, &raw, &source, clock.now(), dry_run)?;
        write!(out, "{}: {}", file.display(), o.kind)?;
        if let Some(e) = &o.engagement {
            let m = o
                .milestone
                .as_deref()
                .map(|m| format!("/{m}"))
                .unwrap_or_default();
            write!(out, " ({e}{m})")?;
        }
        if explain {
            write!(out, ": {}", o.why)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

fn run_once(loaded: &Loaded, clock: &dyn Clock) -> Result<(), CliError> {
    let model = &loaded.model;
    let templates = Templates::load(model.mail.templates_dir.as_deref())?;
    let mut store = open_store(model)?;
    // The SMTP pool spawns its housekeeping task when built, so the transport
    // is made (and dropped) inside the runtime.
    let report = runtime()?.block_on(async {
        let transport = Transport::from_model(model)?;
        Ok::<_, CliError>(
            crate::pass::run_once(model, &templates, &mut store, &transport, clock.now()).await?,
        )
    })?;
    let d = &report.delivery;
    if !report.received.is_empty() {
        let kinds: Vec<&str> = report.received.iter().map(|o| o.kind.as_str()).collect();
        println!("received {} ({})", kinds.len(), kinds.join(", "));
    }
    println!(
        "queued {}{}; sent {}, retrying {}, failed {}; outbox now {}",
        report.queued.len(),
        if report.queued.is_empty() {
            String::new()
        } else {
            format!(" ({})", report.queued.join(", "))
        },
        d.sent + d.recovered_sent,
        d.retrying,
        d.failed,
        store.outbox_depth()?
    );
    Ok(())
}

fn preview(
    config_path: &Path,
    clock: &dyn Clock,
    engagement: &str,
    purpose: Option<&str>,
    milestone: Option<String>,
    eml: bool,
) -> u8 {
    let purpose = match purpose.map(|p| (p, Purpose::parse(p))) {
        None => Purpose::Instructions,
        Some((_, Some(p))) => p,
        Some((name, None)) => {
            let all: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
            eprintln!(
                "handoff preview: unknown purpose `{name}`; expected one of: {}",
                all.join(", ")
            );
            return EXIT_USAGE;
        }
    };
    let loaded = match config::load(config_path) {
        Ok(l) => l,
        Err(e) => return report_config_error(&e),
    };
    let model = &loaded.model;
    let Some(e) = model.engagement(engagement) else {
        let ids: Vec<&str> = model.engagements.iter().map(|e| e.id.as_str()).collect();
        eprintln!(
            "handoff preview: no engagement `{engagement}`; expected one of: {}",
            ids.join(", ")
        );
        return EXIT_USAGE;
    };
    let milestone = milestone.or_else(|| {
        purpose
            .needs_milestone()
            .then(|| e.milestones.first().map(|m| m.id.clone()))
            .flatten()
    });
    let templates = match Templates::load(model.mail.templates_dir.as_deref()) {
        Ok(t) => t,
        Err(err) => {
            eprintln!("handoff preview: {err}");
            return EXIT_USAGE;
        }
    };
    // Threading as it would be, read from the store if there is one; preview
    // never creates or changes a store.
    let recipient = if purpose.is_owner_notice() {
        model.owner.email.to_string()
    } else {
        model.contractor_of(e).email.to_string()
    };
    let root = if model.mail.state.is_file() {
        Store::open(&model.mail.state)
            .and_then(|s| s.thread_root(&e.id, &recipient))
            .ok()
            .flatten()
    } else {
        None
    };
    let composer = Composer {
        model,
        templates: &templates,
    };
    let req = MailRequest {
        purpose,
        engagement: e.id.clone(),
        milestone,
        extra: sample_extra(purpose),
        calendar: None,
    };
    let composed = match composer.compose(&req, root.as_deref(), clock.now()) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("handoff preview: {err}");
            return EXIT_USAGE;
        }
    };
    let mut out = std::io::stdout().lock();
    let written = if eml {
        out.write_all(&composed.bytes)
    } else {
        let headers = header_block(&composed.bytes);
        write!(
            out,
            "{headers}\n--- text/plain ---\n{}\n--- text/html ---\n{}\n",
            composed.rendered.text, composed.rendered.html
        )
    };
    match written {
        Ok(()) => EXIT_OK,
        Err(err) => {
            eprintln!("handoff preview: {err}");
            EXIT_RUNTIME
        }
    }
}

/// The header section of a message, as text.
fn header_block(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let end = text.find("\r\n\r\n").unwrap_or(text.len());
    text[..end].replace("\r\n", "\n")
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

fn plan_cmd(loaded: &Loaded, clock: &dyn Clock, days: u32, json: bool) -> Result<(), CliError> {
    let model = &loaded.model;
    let mut store = open_store(model)?;
    // The store must know the config's engagements (as `run` would record
    // them) for the plan to show them.
    store.reconcile(&crate::reconcile::plan(model), clock.now())?;
    let entries = crate::schedule::plan(model, &store, clock.now(), days)?;
    let mut out = std::io::stdout().lock();
    if json {
        for e in &entries {
            serde_json::to_writer(&mut out, e)?;
            writeln!(out)?;
        }
    } else if entries.is_empty() {
        writeln!(
            out,
            "nothing scheduled in the next {days} day{}",
            plural(days as usize)
        )?;
    } else {
        for e in &entries {
            writeln!(
                out,
                "{}  {:<26} {:<28} {:<22} {}{}  ({})",
                e.at.format("%Y-%m-%d %H:%M UTC"),
                e.local,
                e.to,
                e.purpose,
                e.engagement,
                e.milestone
                    .as_deref()
                    .map(|m| format!("/{m}"))
                    .unwrap_or_default(),
                e.rule,
            )?;
        }
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
