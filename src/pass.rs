//! One pass of Handoff's work, the same whether run once (`handoff run
//! --once`) or by the daemon on every wake-up: bring the store in line with
//! the config, decide which mails are due now and queue them (each with the
//! state change that causes it, in one transaction), then deliver the outbox.
//!
//! The rules live in [`decide`]; the schedule (reminders, status requests,
//! evaluations, payments, silence) adds its rules there, so the pass stays in
//! one place and only grows.

use crate::lifecycle::{EngagementState, MilestoneEvent, MilestoneState};
use crate::model::{Engagement, Model};
use crate::outbox::{self, Composer, DeliveryReport, MailRequest, RetryPolicy, Transport};
use crate::store::{NewOutboxMail, ReconcileReport, Store, StoreError};
use crate::templates::{Purpose, Templates};
use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("composing a mail: {0}")]
    Compose(#[from] outbox::ComposeError),
    #[error(transparent)]
    Outbox(#[from] outbox::OutboxError),
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct PassReport {
    pub reconciled: ReconcileReport,
    /// Idempotency keys of the mails queued in this pass.
    pub queued: Vec<String>,
    pub delivery: DeliveryReport,
}

/// Runs one whole pass.
pub async fn run_once(
    model: &Model,
    templates: &Templates,
    store: &mut Store,
    transport: &Transport,
    now: DateTime<Utc>,
) -> Result<PassReport, PassError> {
    let reconciled = store.reconcile(&crate::reconcile::plan(model), now)?;
    let composer = Composer { model, templates };
    let queued = decide(model, &composer, store, now)?;
    let sent_copy = match model.mail.outgoing {
        crate::model::Outgoing::Smtp => model.imap.as_ref(),
        crate::model::Outgoing::Maildir => None,
    };
    let delivery = outbox::deliver_due(
        store,
        transport,
        sent_copy,
        &composer,
        RetryPolicy::default(),
        now,
    )
    .await?;
    Ok(PassReport {
        reconciled,
        queued,
        delivery,
    })
}

/// Queues every mail that is due now and not yet queued; returns their keys.
pub fn decide(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    now: DateTime<Utc>,
) -> Result<Vec<String>, PassError> {
    let mut queued = Vec::new();
    let records = store.engagements()?;
    for e in &model.engagements {
        let Some(record) = records.iter().find(|r| r.id == e.id) else {
            continue;
        };
        match record.state {
            // Before signing, only the agreement request goes to the
            // contractor: no instructions, no reminders.
            EngagementState::AwaitingAgreement => {
                let key = format!("agreement_request/{}", e.id);
                if queue(
                    model,
                    composer,
                    store,
                    &key,
                    e,
                    Purpose::AgreementRequest,
                    now,
                    |_| Ok(()),
                )? {
                    queued.push(key);
                }
            }
            EngagementState::Active if now >= start_instant(model, e) => {
                let key = format!("instructions/{}", e.id);
                let planned: Vec<String> = record
                    .milestones
                    .iter()
                    .filter(|m| m.state == MilestoneState::Planned)
                    .map(|m| m.id.clone())
                    .collect();
                // The instructions and the milestones they announce change
                // together: both commit, or neither does.
                let sent = queue(
                    model,
                    composer,
                    store,
                    &key,
                    e,
                    Purpose::Instructions,
                    now,
                    |tx| {
                        for m in &planned {
                            tx.apply_milestone(&e.id, m, MilestoneEvent::InstructionsSent, now)?;
                        }
                        Ok(())
                    },
                )?;
                if sent {
                    queued.push(key);
                }
            }
            _ => {}
        }
    }
    Ok(queued)
}

/// The moment work starts: midnight at the start of `starts`, owner's zone.
fn start_instant(model: &Model, e: &Engagement) -> DateTime<Utc> {
    let local = e.starts.and_time(NaiveTime::MIN);
    model
        .owner
        .timezone
        .from_local_datetime(&local)
        .earliest()
        // Midnight can fall in a DST gap in a few zones: an hour later then.
        .or_else(|| {
            model
                .owner
                .timezone
                .from_local_datetime(&(local + TimeDelta::hours(1)))
                .earliest()
        })
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// The earliest moment a mail to the contractor may go: now, or the end of
/// their quiet hours if now is inside them.
pub fn not_before(
    model: &Model,
    e: &Engagement,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(quiet) = model.policy.quiet_hours else {
        return now;
    };
    if purpose.is_owner_notice() {
        return now;
    }
    let tz = model.contractor_of(e).timezone;
    let local = now.with_timezone(&tz);
    if !quiet.contains(local.time()) {
        return now;
    }
    // The next local moment the window ends: today or tomorrow.
    let mut day = local.date_naive();
    if local.time() >= quiet.end {
        day = day.succ_opt().unwrap_or(day);
    }
    tz.from_local_datetime(&day.and_time(quiet.end))
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// Composes and queues one mail under `key` unless that key was queued
/// before, running `also` in the same transaction. Returns whether it queued.
#[allow(clippy::too_many_arguments)]
fn queue(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    key: &str,
    e: &Engagement,
    purpose: Purpose,
    now: DateTime<Utc>,
    also: impl FnOnce(&crate::store::Tx<'_>) -> Result<(), StoreError>,
) -> Result<bool, PassError> {
    if store.transaction(|tx| tx.outbox_has(key))? {
        return Ok(false);
    }
    let recipient = if purpose.is_owner_notice() {
        model.owner.email.to_string()
    } else {
        model.contractor_of(e).email.to_string()
    };
    let root = store.thread_root(&e.id, &recipient)?;
    let req = MailRequest {
        purpose,
        engagement: e.id.clone(),
        milestone: None,
        extra: Default::default(),
    };
    let c = composer.compose(&req, root.as_deref(), now)?;
    let mail = NewOutboxMail {
        idempotency_key: key.to_string(),
        engagement: Some(e.id.clone()),
        milestone: None,
        purpose: purpose.to_string(),
        recipient: c.recipient.to_string(),
        subject: c.subject,
        message_id: c.message_id,
        message: c.bytes,
        not_before: not_before(model, e, purpose, now),
    };
    store.transaction(|tx| {
        tx.enqueue(&mail, now)?;
        also(tx)
    })?;
    Ok(true)
}
