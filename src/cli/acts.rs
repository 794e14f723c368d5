//! The owner's acts by command (`sign`, `accept`, `redo`, `evaluate`, `paid`,
//! `answered`, `end`, `counter`, `delivered`, `correct`): each is
//! [`crate::actions::apply`], one transaction, its mail sent with the next
//! pass.

use super::{
    CliError, Command, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, open_store, report_config_error,
};
use crate::actions::OwnerAction;
use crate::clock::Clock;
use crate::config;
use crate::outbox::Composer;
use crate::templates::Templates;
use std::path::Path;

/// Runs one of the owner's acts; any other command is not one (the
/// dispatch in [`super::run`] sends only acts here).
pub(super) fn command(config: &Path, clock: &dyn Clock, act: Command) -> u8 {
    match act {
        Command::Sign { engagement } => {
            owner_act(config, clock, &engagement, |_| Ok(OwnerAction::Sign))
        }
        Command::Accept {
            engagement,
            milestone,
            notes,
        } => owner_act(config, clock, &engagement, |_| {
            Ok(OwnerAction::Accept { milestone, notes })
        }),
        Command::Redo {
            engagement,
            milestone,
            notes,
            due,
        } => owner_act_in(config, clock, &engagement, |model, _| {
            let due = due
                .map(|d| {
                    crate::config::deadline(&d, model.owner.timezone)
                        .map_err(|e| format!("--due: {e}"))
                })
                .transpose()?;
            Ok(OwnerAction::Redo {
                milestone,
                reason: notes,
                due,
            })
        }),
        Command::Evaluate {
            engagement,
            score,
            notes,
        } => owner_act(config, clock, &engagement, |_| {
            Ok(OwnerAction::Evaluate { score, notes })
        }),
        Command::Paid { engagement, amount } => owner_act(config, clock, &engagement, |e| {
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
        }),
        Command::Answered { engagement } => {
            owner_act(config, clock, &engagement, |_| Ok(OwnerAction::Answered))
        }
        Command::End { engagement, notes } => owner_act(config, clock, &engagement, |_| {
            Ok(OwnerAction::End { reason: notes })
        }),
        Command::Counter {
            answer,
            engagement,
            milestone,
        } => owner_act(config, clock, &engagement, |_| {
            Ok(OwnerAction::Counter {
                milestone,
                accept: answer == super::CounterAnswer::Accept,
            })
        }),
        Command::Delivered {
            engagement,
            milestone,
        } => owner_act(config, clock, &engagement, |_| {
            Ok(OwnerAction::Delivered { milestone })
        }),
        Command::Correct {
            id,
            kind,
            milestone,
        } => correct(config, clock, &id, &kind.join(" "), milestone),
        other => {
            eprintln!("handoff: {other:?} is not an owner's act");
            EXIT_RUNTIME
        }
    }
}

/// `handoff correct ID KIND`: the mail's engagement is read from the
/// journal, then the act is the same as the others.
fn correct(
    config_path: &Path,
    clock: &dyn Clock,
    id: &str,
    kind: &str,
    milestone: Option<String>,
) -> u8 {
    let to = match crate::actions::Correction::parse(kind) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("handoff: {e}");
            return EXIT_USAGE;
        }
    };
    let loaded = match config::load(config_path) {
        Ok(l) => l,
        Err(e) => return report_config_error(&e),
    };
    let engagement = match open_store(&loaded.model)
        .map_err(|e| e.to_string())
        .and_then(|s| crate::actions::reading_engagement(&s, id).map_err(|e| e.to_string()))
    {
        Ok(Some(e)) => e,
        Ok(None) => {
            eprintln!("handoff: the mail {id} was read for no engagement: nothing to correct");
            return EXIT_RUNTIME;
        }
        Err(e) => {
            eprintln!("handoff: {e}");
            return EXIT_RUNTIME;
        }
    };
    owner_act(config_path, clock, &engagement, |_| {
        Ok(OwnerAction::Correct {
            reading: Some(id.to_string()),
            to,
            milestone,
        })
    })
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
    owner_act_in(config_path, clock, engagement, |_, e| action(e))
}

/// [`owner_act`], the act built with the whole model at hand (the owner's
/// zone reads a date).
fn owner_act_in(
    config_path: &Path,
    clock: &dyn Clock,
    engagement: &str,
    action: impl FnOnce(
        &crate::model::Model,
        Option<&crate::model::Engagement>,
    ) -> Result<OwnerAction, String>,
) -> u8 {
    let loaded = match config::load(config_path) {
        Ok(l) => l,
        Err(e) => return report_config_error(&e),
    };
    let model = &loaded.model;
    let action = match action(model, model.engagement(engagement)) {
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
        store.reconcile(&crate::planned::engagements(model), now)?;
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
