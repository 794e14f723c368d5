//! The subcommands, as the owner types them.
//!
//! Each command loads what it needs (config, store, clock), does one thing and
//! prints for a person, or with `--json` for a program. Errors are turned into
//! one clear line per cause here, at the edge, and into the exit codes the README
//! documents: 0 ok, 1 runtime failure, 2 usage or config error.
//!
//! One file per group of subcommands: `setup` (init, check), `login`
//! (the OAuth 2.0 sign-in), `looking`
//! (status, contractors, log, plan, preview, ics), `acts` (the owner's acts) and `run`
//! (run --once, ingest; the daemon itself is [`crate::daemon`]). The CLI is
//! the last layer: it may use anything, and nothing imports it.

use crate::clock::{self, Clock};
use crate::config::{self, ConfigError, Loaded};
use crate::model::Model;
use crate::store::{EventFilter, Store};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

mod acts;
mod login;
mod looking;
mod run;
mod setup;

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
    /// Write a commented starter config (handoff.toml) into DIR, its dates
    /// counted from today; never overwrites.
    Init {
        /// Where to write handoff.toml (default: the directory of --config).
        dir: Option<PathBuf>,
    },
    /// Check the config: every problem as FILE:LINE:COL, exit 2 if any.
    Check,
    /// Sign Handoff in to an OAuth 2.0 mail account (Gmail, Microsoft 365):
    /// prints an address to open in a browser (or, with --device, a code to
    /// enter), and stores the sign-in (mode 0600). Run it from your terminal.
    Login {
        /// The device code flow: a code to enter on any device (Microsoft;
        /// Google refuses it for mail).
        #[arg(long)]
        device: bool,
        /// Show what is stored: account, scopes, expiry.
        #[arg(long)]
        status: bool,
        /// Which account, when [imap] and [smtp] sign in separately: imap,
        /// smtp or the address.
        #[arg(long)]
        account: Option<String>,
        /// Write the sign-in here instead of the token file (for the
        /// systemd credential `oauth`).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Engagements and milestones with their state and next due item; with
    /// ENGAGEMENT, that one and its review (closing review once it is
    /// finished or ended, the review so far before).
    Status {
        /// Only this engagement, with its review.
        engagement: Option<String>,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Each contractor's record across all their engagements: milestones on
    /// time and late, redo requests, reply times, status reports,
    /// evaluations, money paid.
    Contractors {
        /// One JSON document instead of text.
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
        /// Write it in this language (a BCP 47 tag such as de or pt-BR)
        /// instead of the recipient's own.
        #[arg(long)]
        lang: Option<String>,
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
        /// When the revised work is due: a date (the end of that day) or a
        /// local date-time, your zone (default: `policy.redo_within` from now).
        #[arg(long)]
        due: Option<String>,
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
    /// Answer a contractor's counter-proposal (a new date proposed from
    /// their calendar): accept moves the milestone's due date and sends the
    /// updated invitation; decline keeps it and tells their calendar.
    Counter {
        /// accept or decline.
        #[arg(value_enum)]
        answer: CounterAnswer,
        engagement: String,
        /// Which milestone (default: the only one with a proposal waiting).
        milestone: Option<String>,
    },
    /// Record a delivery Handoff missed, or that came another way (a link
    /// in a chat, a file handed over); nothing goes to the contractor.
    Delivered {
        engagement: String,
        /// Which milestone (default: the only one waiting for a delivery).
        milestone: Option<String>,
    },
    /// Correct a misreading: say what a mail really was (`handoff correct
    /// <r1@example.test> question`, `handoff correct 42 not delivered`).
    /// Its effects are undone and the right ones applied; nothing goes to
    /// the contractor.
    Correct {
        /// The mail: its Message-ID, or its event number in `handoff log`.
        id: String,
        /// What it is: delivery, question, status report, acknowledgement,
        /// message, bounce, auto reply, read receipt, delivery delayed, or
        /// "not" and one of them.
        #[arg(required = true)]
        kind: Vec<String>,
        /// For a delivery: which milestone (default: the one the mail was
        /// read for, else the earliest open).
        #[arg(long)]
        milestone: Option<String>,
    },
    /// End the engagement now: open milestones are cancelled and their
    /// invitations withdrawn, reminders stop, the record is kept.
    End {
        engagement: String,
        /// Why (kept in the journal).
        #[arg(long)]
        notes: Option<String>,
    },
}

/// The owner's answer to a counter-proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CounterAnswer {
    Accept,
    Decline,
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
        Command::Init { dir } => setup::init(&cli.config, dir.as_deref(), clock.as_ref()),
        Command::Check => setup::check(&cli.config, clock.as_ref()),
        Command::Login {
            device,
            status,
            account,
            output,
        } => match config::load(&cli.config) {
            Ok(loaded) => login::login(
                &loaded,
                login::LoginArgs {
                    device,
                    status,
                    account,
                    output,
                },
            ),
            Err(e) => report_config_error(&e),
        },
        Command::Status { engagement, json } => {
            with_config(&cli.config, |loaded| match engagement {
                None => looking::status_cmd(loaded, clock.as_ref(), json),
                Some(id) => looking::engagement_status(loaded, clock.as_ref(), &id, json),
            })
        }
        Command::Contractors { json } => with_config(&cli.config, |loaded| {
            looking::contractors(loaded, clock.as_ref(), json)
        }),
        Command::Log {
            json,
            engagement,
            limit,
        } => with_config(&cli.config, |loaded| {
            looking::log_cmd(loaded, EventFilter { engagement, limit }, json)
        }),
        Command::Run { once: false } => {
            let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::from(clock);
            with_config(&cli.config, |loaded| {
                crate::daemon::run(loaded.clone(), &cli.config, clock).map_err(CliError::from)
            })
        }
        Command::Run { once: true } => {
            with_config(&cli.config, |loaded| run::run_once(loaded, clock.as_ref()))
        }
        Command::Plan { days, json } => with_config(&cli.config, |loaded| {
            looking::plan_cmd(loaded, clock.as_ref(), days, json)
        }),
        Command::Preview {
            engagement,
            purpose,
            milestone,
            eml,
            lang,
        } => looking::preview(
            &cli.config,
            clock.as_ref(),
            &engagement,
            purpose.as_deref(),
            milestone,
            eml,
            lang.as_deref(),
        ),
        Command::Ics { engagement, output } => with_config(&cli.config, |loaded| {
            looking::ics(
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
            run::ingest(loaded, clock.as_ref(), &files, dry_run, explain)
        }),
        act => acts::command(&cli.config, clock.as_ref(), act),
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
    #[error(
        "a `handoff run` daemon (pid {pid}) is running on the store {}: it sends and reads the mail itself, so `run --once` does nothing beside it (stop the daemon first)",
        store.display()
    )]
    DaemonRunning { pid: String, store: PathBuf },
    #[error(transparent)]
    Lock(#[from] crate::daemon::lock::LockError),
}

fn open_store(model: &Model) -> Result<Store, CliError> {
    Store::open(&model.mail.state).map_err(|source| CliError::Store {
        path: model.mail.state.clone(),
        source,
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
