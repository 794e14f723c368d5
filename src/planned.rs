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
