//! `handoff delivered ENGAGEMENT [MILESTONE]`, and a reply "delivered" to an
//! overdue notice or an escalation: a delivery Handoff missed, or that came
//! another way (a link in a chat, a file handed over), is recorded.
//!
//! The milestone becomes `delivered` (so `accept` and `redo` work, and the
//! overdue notices stop), journaled as `owner_delivered`, in one
//! transaction. Nothing goes to the contractor, and no "please check it"
//! notice to the owner, who said so.

use super::act::{Act, Also, refused};
use super::{ActionError, ActionOutcome};
use crate::lifecycle::MilestoneEvent;
use crate::store::Store;

/// Records the delivery; see the module doc.
pub(super) fn record(
    act: &Act<'_>,
    store: &mut Store,
    milestone: Option<String>,
    also: Also<'_>,
) -> Result<ActionOutcome, ActionError> {
    let e = &act.e.id;
    let m = match milestone.or_else(|| act.cited_milestone()) {
        Some(m) => act.known(m)?,
        None => {
            let open: Vec<&str> = act
                .record
                .milestones
                .iter()
                .filter(|m| !m.removed_from_config && m.state.awaits_delivery())
                .map(|m| m.id.as_str())
                .collect();
            match open.as_slice() {
                [] => {
                    return Err(ActionError::Refused(format!(
                        "{e} has no milestone waiting for a delivery"
                    )));
                }
                [one] => one.to_string(),
                many => {
                    return Err(ActionError::Refused(format!(
                        "{e} has {} milestones waiting for a delivery ({}): name one",
                        many.len(),
                        many.join(", ")
                    )));
                }
            }
        }
    };
    let mut event = act.event.clone();
    event.milestone = Some(m.clone());
    event.detail = Some("recorded by the owner".into());
    store
        .transaction(|tx| {
            tx.record_event(&event, act.now)?;
            tx.apply_milestone(e, &m, MilestoneEvent::Delivered, act.now)?;
            also(tx)
        })
        .map_err(refused)?;
    Ok(act.done(
        Some(m.clone()),
        Vec::new(),
        format!(
            "{e}/{m} recorded as delivered; accept or redo it once you have checked it \
             (nothing was sent to the contractor)"
        ),
    ))
}
