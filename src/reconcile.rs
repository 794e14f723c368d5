//! From the checked config to the store's plan: what should exist now.
//!
//! The store owns reconciliation (one transaction: new engagements and
//! milestones recorded, changed ones re-sequenced, removed ones cancelled or
//! ended, never deleted); this module only states the config's side of it in
//! the store's plain terms, so the store never depends on the config model.

use crate::model::Model;
use crate::store::{PlannedEngagement, PlannedMilestone};

/// Every engagement and milestone the config defines, as the store plans them.
pub fn plan(model: &Model) -> Vec<PlannedEngagement> {
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
