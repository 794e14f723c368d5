//! The owner's answer to a contractor's counter-proposal (a calendar COUNTER
//! for a milestone, RFC 5546 §3.2.7): by reply to the `notice_counter`
//! ("accept" / "decline") or by `handoff counter accept|decline ENGAGEMENT
//! [MILESTONE]`.
//!
//! - The inbox remembers the pending proposal ([`remember`]) under the
//!   scheduler key `counter/<engagement>/<milestone>` (the latest one
//!   counts), as "<proposed due, RFC 3339> <its Message-ID>".
//! - Accept: the milestone's due date is overridden in the store (the
//!   config's date stays as written; reconciliation compares the config's
//!   own date, so it does not undo this), its SEQUENCE raised, and the
//!   updated invitation (METHOD:REQUEST, the new date) queued for the
//!   contractor under `invite/<e>/<m>/<sequence>`, the key the pass uses.
//!   `status`, `plan` and the reminders follow the new date.
//! - Decline: a `counter_declined` mail carrying METHOD:DECLINECOUNTER under
//!   the milestone's UID and SEQUENCE; the date stays.
//!
//! Either way the pending proposal is cleared, and the act is one journal
//! event and its mail in one transaction.

use super::act::{Act, Also, refused};
use super::{ActionError, ActionOutcome};
use crate::calendar::{Method, decline_counter};
use crate::invite::{attendee, organizer};
use crate::outbox::{CalendarPart, Composer, MailRequest};
use crate::store::{MilestoneRecord, NewEvent, Store, StoreError, Tx};
use crate::templates::{Purpose, local_time};
use chrono::{DateTime, Utc};

/// A counter-proposal waiting for the owner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCounter {
    pub engagement: String,
    pub milestone: String,
    /// The due date it proposes.
    pub proposed: DateTime<Utc>,
    /// The Message-ID of the mail that carried it (with angle brackets).
    pub message_id: String,
}

fn key(engagement: &str, milestone: &str) -> String {
    format!("counter/{engagement}/{milestone}")
}

/// Remembers a proposal (replacing an earlier one for the same milestone).
pub fn remember(tx: &Tx<'_>, p: &PendingCounter, now: DateTime<Utc>) -> Result<(), StoreError> {
    tx.scheduler_set(
        &key(&p.engagement, &p.milestone),
        &format!("{} {}", p.proposed.to_rfc3339(), p.message_id),
        now,
    )
}

/// The proposal waiting for this milestone, if any.
pub fn pending(
    store: &Store,
    engagement: &str,
    milestone: &str,
) -> Result<Option<PendingCounter>, StoreError> {
    let Some(v) = store.scheduler_get(&key(engagement, milestone))? else {
        return Ok(None);
    };
    let (when, id) = v.split_once(' ').unwrap_or((v.as_str(), ""));
    let proposed = DateTime::parse_from_rfc3339(when)
        .map_err(|_| StoreError::Corrupt {
            what: format!("counter-proposal {engagement}/{milestone}: {v:?}"),
        })?
        .with_timezone(&Utc);
    Ok(Some(PendingCounter {
        engagement: engagement.to_string(),
        milestone: milestone.to_string(),
        proposed,
        message_id: id.to_string(),
    }))
}

/// Answers the proposal; see the module doc.
pub(super) fn answer(
    act: &Act<'_>,
    store: &mut Store,
    milestone: Option<String>,
    accept: bool,
    also: Also<'_>,
) -> Result<ActionOutcome, ActionError> {
    let e = act.e;
    let m = match milestone.or_else(|| act.cited_milestone()) {
        Some(m) => act.known(m)?,
        None => {
            let mut waiting = Vec::new();
            for r in &act.record.milestones {
                if pending(store, &e.id, &r.id)?.is_some() {
                    waiting.push(r.id.clone());
                }
            }
            match waiting.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(ActionError::Refused(format!(
                        "{} has no counter-proposal waiting for an answer",
                        e.id
                    )));
                }
                many => {
                    return Err(ActionError::Refused(format!(
                        "{} has counter-proposals for {}: name the milestone",
                        e.id,
                        many.join(", ")
                    )));
                }
            }
        }
    };
    let Some(p) = pending(store, &e.id, &m)? else {
        return Err(ActionError::Refused(format!(
            "{}/{m} has no counter-proposal waiting for an answer",
            e.id
        )));
    };
    let Some(record) = act.record.milestones.iter().find(|r| r.id == m) else {
        return Err(ActionError::Refused(format!(
            "{}/{m} is not in the store",
            e.id
        )));
    };
    if record.state.is_terminal() {
        return Err(ActionError::Refused(format!(
            "{}/{m} is {}: its date no longer matters",
            e.id, record.state
        )));
    }
    let tz = act.model.owner.timezone;
    let contractor = act.model.contractor_of(e);
    let now = act.now;
    let mut event = act.event.clone();
    event.milestone = Some(m.clone());
    let recipient = act.model.contractor_of(e).email.to_string();
    let root = store.thread_root(&e.id, &recipient)?;
    let not_before = |purpose| crate::sendtime::not_before(act.model, e, purpose, now);
    if accept {
        event.detail = Some(format!(
            "due {} → {}",
            local_time(record.due, tz),
            local_time(p.proposed, tz)
        ));
        let updated = MilestoneRecord {
            due: p.proposed,
            due_override: Some(p.proposed),
            sequence: record.sequence + 1,
            ..record.clone()
        };
        // The mail about the new date must say the new date: it is composed
        // from the model as it will be.
        let moved = crate::planned::with_due(act.model, &e.id, &m, p.proposed);
        let composer = Composer {
            model: &moved,
            templates: act.composer.templates,
        };
        let moved_e = moved.engagement(&e.id).unwrap_or(e);
        let req = crate::invite::milestone_request(&moved, moved_e, &updated, now);
        let mail_key = format!("invite/{}/{m}/{}", e.id, updated.sequence);
        let mail = composer.compose(&req, root.as_deref(), now)?.into_outbox(
            mail_key.clone(),
            &req,
            not_before(req.purpose),
        );
        store
            .transaction(|tx| {
                tx.record_event(&event, now)?;
                let sequence = tx.set_due_override(&e.id, &m, p.proposed, now)?;
                tx.record_event(
                    &NewEvent::internal("milestone_rescheduled")
                        .engagement(&e.id)
                        .milestone(&m)
                        .detail(format!(
                            "due {} → {} (counter-proposal {} accepted); SEQUENCE {sequence}",
                            crate::store::ts(record.due),
                            crate::store::ts(p.proposed),
                            p.message_id
                        )),
                    now,
                )?;
                tx.delete_scheduler_key(&key(&e.id, &m))?;
                tx.enqueue(&mail, now)?;
                also(tx)
            })
            .map_err(refused)?;
        return Ok(act.done(
            Some(m.clone()),
            vec![mail_key],
            format!(
                "{}/{m} is now due {}; the updated invitation goes to {}",
                e.id,
                local_time(p.proposed, tz),
                act.model.contractor_of(e).name
            ),
        ));
    }
    event.detail = Some(format!("declined {}", local_time(p.proposed, tz)));
    let sequence = u32::try_from(record.sequence).unwrap_or(u32::MAX);
    let ics = decline_counter(
        &organizer(act.model),
        &attendee(act.model, e),
        &record.calendar_uid,
        sequence,
        crate::calendar::Span::of_due(record.due, tz),
        &crate::templates::lang::fill(
            contractor.language.phrases().date_stays,
            &[("due", &contractor.reader().due(record.due, tz))],
        ),
        now,
    );
    let mut req = MailRequest {
        purpose: Purpose::CounterDeclined,
        engagement: e.id.clone(),
        milestone: Some(m.clone()),
        extra: Default::default(),
        calendar: Some(CalendarPart {
            method: Method::DeclineCounter,
            ics,
        }),
    };
    req.extra
        .insert("proposed".into(), contractor.reader().time(p.proposed));
    let mail_key = format!(
        "counter_declined/{}/{m}/{}",
        e.id,
        p.message_id.trim_matches(['<', '>'])
    );
    let mail = act
        .composer
        .compose(&req, root.as_deref(), now)?
        .into_outbox(mail_key.clone(), &req, not_before(req.purpose));
    store
        .transaction(|tx| {
            tx.record_event(&event, now)?;
            tx.delete_scheduler_key(&key(&e.id, &m))?;
            tx.enqueue(&mail, now)?;
            also(tx)
        })
        .map_err(refused)?;
    Ok(act.done(
        Some(m.clone()),
        vec![mail_key],
        format!(
            "{}/{m} stays due {}; {} is told (METHOD:DECLINECOUNTER)",
            e.id,
            local_time(record.due, tz),
            act.model.contractor_of(e).name
        ),
    ))
}
