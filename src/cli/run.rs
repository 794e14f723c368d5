//! Running the loop by hand: `run --once` (one pass) and `ingest` (mail files
//! through the inbound pipeline). `run` without `--once` is the daemon
//! ([`crate::daemon::run`]).

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
