//! What `end` sends: every invitation the contractor still holds for this
//! engagement is withdrawn with a METHOD:CANCEL under its UID (RFC 5546
//! §3.2.5), the SEQUENCE raised, using the same mails the pass sends for a
//! milestone removed from the config; and, when the owner gave a reason
//! (`end --notes`, `end: …` by reply), a short closing mail carrying it.

use super::{ActionError, Plan, request};
use crate::model::{Engagement, Model};
use crate::outbox::Composer;
use crate::store::{EngagementRecord, Store};
use chrono::{DateTime, Utc};

/// Plans the cancellation of every open milestone (and the withdrawal of
/// the invitations sent for them and for a kickoff still ahead); returns
/// the line for people.
pub(super) fn withdraw_invitations(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    e: &Engagement,
    record: &EngagementRecord,
    plan: &mut Plan,
    now: DateTime<Utc>,
) -> Result<String, ActionError> {
    let mut withdrawn = 0;
    for m in record.milestones.iter().filter(|m| !m.state.is_terminal()) {
        plan.cancel.push(m.id.clone());
        let invited = format!("invite/{}/{}/", e.id, m.id);
        if store.transaction(|tx| tx.outbox_has_prefix(&invited))? {
            // The cancellation carries the SEQUENCE the act's transaction
            // raises it to.
            let mut cancelled = m.clone();
            cancelled.sequence += 1;
            let key = format!("cancel/{}/{}/{}", e.id, m.id, cancelled.sequence);
            let req = crate::invite::cancel_request(model, e, &cancelled, now);
            plan.mail(model, composer, store, key, e, req, now)?;
            withdrawn += 1;
        }
    }
    // The kickoff call, if invited and still ahead, is withdrawn too.
    let state_key = format!("kickoff/{}", e.id);
    let invited = store.transaction(|tx| tx.outbox_has_prefix(&format!("{state_key}/")))?;
    let state = store.scheduler_get(&state_key)?;
    if invited
        && let Some((key, req, new_state)) =
            crate::invite::kickoff_cancel(model, e, state.as_deref(), now)
    {
        plan.mail(model, composer, store, key, e, req, now)?;
        plan.scheduler_values.push((state_key, new_state));
        withdrawn += 1;
    }
    Ok(format!(
        "{} ended; {} open milestone(s) cancelled, {withdrawn} invitation(s) withdrawn; the record is kept and its review goes to you",
        e.id,
        plan.cancel.len()
    ))
}

/// Plans the closing mail with the owner's notes; none without notes (the
/// owner then tells the contractor themselves, or not at all).
pub(super) fn closing_note(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    e: &Engagement,
    notes: Option<String>,
    plan: &mut Plan,
    now: DateTime<Utc>,
) -> Result<(), ActionError> {
    let Some(notes) = notes.filter(|n| !n.trim().is_empty()) else {
        return Ok(());
    };
    let mut req = request(e, crate::templates::Purpose::ClosingNote, None);
    req.extra.insert("notes".into(), notes);
    plan.mail(
        model,
        composer,
        store,
        format!("closing_note/{}", e.id),
        e,
        req,
        now,
    )
}
