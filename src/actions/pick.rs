//! Which milestone an act is about, when the owner does not name one.

use super::{ActionError, Origin};
use crate::lifecycle::MilestoneState;
use crate::model::Engagement;
use crate::store::EngagementRecord;

/// The milestone an accept or redo is about: the one named, else the one the
/// cited notice was about, else the single delivered one.
pub(super) fn delivered_milestone(
    e: &Engagement,
    record: &EngagementRecord,
    named: Option<String>,
    origin: &Origin,
    verb: &'static str,
) -> Result<String, ActionError> {
    let named = named.or_else(|| match origin {
        Origin::Reply { milestone, .. } => milestone.clone(),
        Origin::Command => None,
    });
    if let Some(m) = named {
        if !record.milestones.iter().any(|r| r.id == m) {
            return Err(ActionError::UnknownMilestone {
                engagement: e.id.clone(),
                milestone: m,
                known: record
                    .milestones
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        return Ok(m);
    }
    let delivered: Vec<&str> = record
        .milestones
        .iter()
        .filter(|m| m.state == MilestoneState::Delivered)
        .map(|m| m.id.as_str())
        .collect();
    match delivered.as_slice() {
        [] => Err(ActionError::NothingDelivered {
            engagement: e.id.clone(),
            verb,
        }),
        [one] => Ok(one.to_string()),
        many => Err(ActionError::AmbiguousMilestone {
            engagement: e.id.clone(),
            count: count_word(many.len()),
            list: many.join(", "),
        }),
    }
}

pub(super) fn count_word(n: usize) -> String {
    match n {
        2 => "two".into(),
        3 => "three".into(),
        4 => "four".into(),
        n => n.to_string(),
    }
}
