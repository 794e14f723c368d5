//! Running the loop by hand: `run --once` (one pass) and `ingest` (mail files
//! through the inbound pipeline). `run` without `--once` is the daemon
//! ([`crate::daemon::run`]).
//!
//! `run --once` delivers, so it takes the daemon's lock
//! ([`crate::daemon::lock::StoreLock`]) before it opens the store: beside a
//! running daemon it says so and exits 1 without touching anything (the
//! daemon's in-flight rows are not a crash's leftovers). The owner's acts
//! only queue their mail, which the daemon (or the next `run --once`)
//! delivers; they need no lock.

use super::{CliError, open_store};
use crate::clock::Clock;
use crate::config::Loaded;
use crate::outbox::{Composer, Transport};
use crate::templates::Templates;
use std::io::Write;
use std::path::PathBuf;

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

pub(super) fn run_once(loaded: &Loaded, clock: &dyn Clock) -> Result<(), CliError> {
    let model = &loaded.model;
    let _lock = match crate::daemon::lock::StoreLock::acquire_patiently(&model.mail.state) {
        Ok(lock) => lock,
        Err(crate::daemon::lock::LockError::Held { pid, .. }) => {
            return Err(CliError::DaemonRunning {
                pid,
                store: model.mail.state.clone(),
            });
        }
        Err(e) => return Err(CliError::Lock(e)),
    };
    let templates = Templates::load(model.mail.templates_dir.as_deref())?;
    let mut store = open_store(model)?;
    // The SMTP pool spawns its housekeeping task when built, so the transport
    // is made (and dropped) inside the runtime.
    let (report, filing) = runtime()?.block_on(async {
        let transport = Transport::from_model(model)?;
        let report = crate::pass::run(model, &templates, &mut store, &transport, clock).await?;
        // The copies the delivery could not file first (the Sent folder did
        // not answer), one bounded try; what is left waits for the next run.
        let filing = match (model.mail.outgoing, &model.imap) {
            (crate::model::Outgoing::Smtp, Some(imap)) => Some(
                crate::outbox::sent_copy::file_due(&mut store, imap, clock)
                    .await
                    .map_err(crate::pass::PassError::from)?,
            ),
            _ => None,
        };
        Ok::<_, CliError>((report, filing))
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
    if filing.is_some_and(|f| f.error.is_some()) {
        println!(
            "{} Sent copies wait: the Sent folder does not answer",
            store.sent_copies_waiting()?
        );
    }
    Ok(())
}

pub(super) fn ingest(
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
        store.reconcile(&crate::planned::engagements(model), clock.now())?;
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
        if explain {
            for line in &o.explain {
                writeln!(out, "    {line}")?;
            }
        }
    }
    Ok(())
}
