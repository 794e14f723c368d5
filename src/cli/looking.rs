//! Looking without changing anything that matters: `status`, `contractors`,
//! `log`, `plan`, `preview` and `ics`. (`plan` and `ics` record the config's
//! engagements in the store as `run` does, so their view is the daemon's.)

use super::{CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, open_store, plural, report_config_error};
use crate::clock::Clock;
use crate::config::{self, Loaded};
use crate::outbox::check::sample_extra;
use crate::outbox::{Composer, MailRequest};
use crate::status;
use crate::store::{EventFilter, Store};
use crate::templates::{Purpose, Templates};
use std::io::Write;
use std::path::Path;

pub(super) fn status_cmd(loaded: &Loaded, clock: &dyn Clock, json: bool) -> Result<(), CliError> {
    let store = open_store(&loaded.model)?;
    let mut report = status::build(&loaded.model, &store, clock.now())?;
    report.sign_ins = status::sign_ins(&loaded.model, &store, &loaded.path)?;
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

/// `handoff status ENGAGEMENT`: that engagement's lines and its review.
pub(super) fn engagement_status(
    loaded: &Loaded,
    clock: &dyn Clock,
    id: &str,
    json: bool,
) -> Result<(), CliError> {
    let model = &loaded.model;
    let store = open_store(model)?;
    let now = clock.now();
    let report = status::build(model, &store, now)?;
    let Some(engagement) = report.engagements.iter().find(|e| e.id == id) else {
        return Err(CliError::UnknownEngagement(id.to_string()));
    };
    let history = crate::record::History::load(&store)?;
    let review = crate::record::review(model, &history, id, now, None);
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({ "engagement": engagement, "review": review });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }
    let tz = model.owner.timezone;
    write!(out, "{}", status::render_engagement(engagement, tz))?;
    match review {
        Some(r) => {
            // The CLI speaks English (the tool's language), in the owner's
            // zone; the owner's mail carries the same review in theirs.
            let english = crate::templates::Reader::new(crate::templates::Lang::default(), tz);
            writeln!(out, "\n{}", r.heading(&english))?;
            for line in r.lines(&english) {
                writeln!(out, "  {line}")?;
            }
        }
        None => writeln!(
            out,
            "\nno review yet: the daemon has not recorded this engagement"
        )?,
    }
    Ok(())
}

/// `handoff contractors`: each contractor's record across engagements.
pub(super) fn contractors(loaded: &Loaded, clock: &dyn Clock, json: bool) -> Result<(), CliError> {
    let model = &loaded.model;
    let store = open_store(model)?;
    let history = crate::record::History::load(&store)?;
    let records = crate::record::contractors(model, &history, clock.now());
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &records)?;
        writeln!(out)?;
        return Ok(());
    }
    if records.is_empty() {
        writeln!(out, "no contractors")?;
    }
    for c in &records {
        let engagements = if c.engagements.is_empty() {
            "no engagement yet".to_string()
        } else {
            format!("engagements: {}", c.engagements.join(", "))
        };
        writeln!(out, "{}  {}  ({engagements})", c.id, c.display_name())?;
        let english =
            crate::templates::Reader::new(crate::templates::Lang::default(), model.owner.timezone);
        for line in c.lines(&english) {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}

pub(super) fn log_cmd(loaded: &Loaded, filter: EventFilter, json: bool) -> Result<(), CliError> {
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
                "{:>6}  {}  {:<8} {:<24} {}{}{}",
                e.id,
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

pub(super) fn plan_cmd(
    loaded: &Loaded,
    clock: &dyn Clock,
    days: u32,
    json: bool,
) -> Result<(), CliError> {
    let model = &loaded.model;
    let mut store = open_store(model)?;
    // The store must know the config's engagements (as `run` would record
    // them) for the plan to show them.
    store.reconcile(&crate::planned::engagements(model), clock.now())?;
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

pub(super) fn preview(
    config_path: &Path,
    clock: &dyn Clock,
    engagement: &str,
    purpose: Option<&str>,
    milestone: Option<String>,
    eml: bool,
    lang: Option<&str>,
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
    let lang = match lang.map(crate::templates::Lang::parse) {
        None => None,
        Some(Ok(l)) => Some(l),
        Some(Err(err)) => {
            eprintln!("handoff preview: --lang: {err}");
            return EXIT_USAGE;
        }
    };
    let loaded = match config::load(config_path) {
        Ok(l) => l,
        Err(e) => return report_config_error(&e),
    };
    // `--lang` shows the mail as a recipient reading that language would get
    // it; without it, in the recipient's own language.
    let in_lang = lang.map(|l| crate::outbox::check::speaking(&loaded.model, &l));
    let model = in_lang.as_ref().unwrap_or(&loaded.model);
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
    let (root, overrides) = if model.mail.state.is_file() {
        let store = Store::open(&model.mail.state).ok();
        (
            store
                .as_ref()
                .and_then(|s| s.thread_root(&e.id, &recipient).ok())
                .flatten(),
            store
                .as_ref()
                .and_then(|s| s.due_overrides().ok())
                .unwrap_or_default(),
        )
    } else {
        (None, Vec::new())
    };
    // The dates as agreed (an accepted counter-proposal), as the pass writes them.
    let model: &crate::model::Model = &crate::planned::effective(model, &overrides);
    let composer = Composer {
        model,
        templates: &templates,
    };
    let req = MailRequest {
        purpose,
        engagement: e.id.clone(),
        milestone,
        extra: sample_extra(model, e, purpose, clock.now()),
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
        // The subject as the reader sees it, not RFC 2047-encoded.
        let unfolded = header_block(&composed.bytes)
            .replace("\n ", " ")
            .replace("\n\t", " ");
        let headers: Vec<String> = unfolded
            .lines()
            .map(|l| {
                if l.starts_with("Subject:") {
                    format!("Subject: {}", composed.subject)
                } else {
                    l.to_string()
                }
            })
            .collect();
        let headers = headers.join("\n");
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
pub(super) fn header_block(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let end = text.find("\r\n\r\n").unwrap_or(text.len());
    text[..end].replace("\r\n", "\n")
}

pub(super) fn ics(
    loaded: &Loaded,
    clock: &dyn Clock,
    engagement: Option<&str>,
    output: Option<&Path>,
) -> Result<(), CliError> {
    let model = &loaded.model;
    if let Some(id) = engagement.filter(|id| model.engagement(id).is_none()) {
        return Err(CliError::UnknownEngagement(id.to_string()));
    }
    // The store must know the config's engagements (as `run` would record
    // them), as for `plan`: the feed names each event with its invitation's
    // UID, which the store fixes, and leaves out what is done.
    let mut store = open_store(model)?;
    store.reconcile(&crate::planned::engagements(model), clock.now())?;
    let records = store.engagements()?;
    let kickoffs = crate::invite::kickoffs_sent(model, &store)?;
    let text = crate::schedule::feed(model, engagement, &records, &kickoffs, clock.now());
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
