//! What the config says should exist now, in the store's plain terms.
//!
//! The store owns reconciliation ([`crate::store::config_changes`]: in one
//! transaction new engagements and milestones are recorded, changed ones
//! re-sequenced, removed ones cancelled or ended, never deleted); this module
//! only states the config's side of it, so the store never depends on the
//! config model. It imports the model and the store's plan types, nothing
//! else.

use crate::model::Model;
use crate::store::{PlannedEngagement, PlannedMilestone};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// Every engagement and milestone the config defines, as the store plans them.
pub fn engagements(model: &Model) -> Vec<PlannedEngagement> {
    model
        .engagements
        .iter()
        .map(|e| PlannedEngagement {
            id: e.id.clone(),
            title: e.title.clone(),
            contractor: e.contractor.clone(),
            agreement_signed: e.agreement_signed.is_some(),
            milestones: e
                .milestones
                .iter()
                .map(|m| PlannedMilestone {
                    id: m.id.clone(),
                    title: m.title.clone(),
                    due: m.due,
                })
                .collect(),
        })
        .collect()
}

/// The model with a milestone's due date replaced (one agreed since the
/// config was written): what the mails about it must say.
pub fn with_due(model: &Model, engagement: &str, milestone: &str, due: DateTime<Utc>) -> Model {
    let mut m = model.clone();
    if let Some(ms) = m
        .engagements
        .iter_mut()
        .find(|e| e.id == engagement)
        .and_then(|e| e.milestones.iter_mut().find(|x| x.id == milestone))
    {
        ms.due = due;
    }
    m
}

/// The model as the store has it now: every due date the owner agreed
/// since the config was written (an accepted counter-proposal) in place of
/// the config's. Borrowed as it is when there is none (the usual case), so
/// it costs nothing then.
///
/// Never give this to [`engagements`] for reconciliation: the store
/// compares the config's own dates, and would read the agreed one as a
/// change of the config.
pub fn effective<'m>(
    model: &'m Model,
    overrides: &[(String, String, DateTime<Utc>)],
) -> Cow<'m, Model> {
    if overrides.is_empty() {
        return Cow::Borrowed(model);
    }
    let mut m = model.clone();
    for (e, ms, due) in overrides {
        if let Some(x) = m
            .engagements
            .iter_mut()
            .find(|x| &x.id == e)
            .and_then(|x| x.milestones.iter_mut().find(|y| &y.id == ms))
        {
            x.due = *due;
        }
    }
    Cow::Owned(m)
}
