//! One pass of Handoff's work, the same whether run once (`handoff run
//! --once`) or by the daemon on every wake-up: bring the store in line with
//! the config, decide which mails are due now and queue them (each with the
//! state change that causes it, in one transaction), then deliver the outbox.
//!
//! The rules live in [`decide`]; the schedule (reminders, status requests,
//! evaluations, payments, silence) adds its rules there, so the pass stays in
//! one place and only grows.
//!
//! # Where it stands
//! At the top of the library, under the daemon and the CLI: it may use every
//! stage of the flow (reconcile, inbox, schedule, invite, outbox) and must not
//! import the daemon, the views or the CLI.

use crate::clock::Clock;
use crate::invite;
use crate::lifecycle::{EngagementState, MilestoneEvent, MilestoneState};
use crate::model::{Engagement, Model};
use crate::outbox::compose::new_token;
use crate::outbox::{self, Composer, DeliveryReport, MailRequest, RetryPolicy, Transport};
use crate::schedule;
use crate::sendtime;
use crate::store::{ReconcileReport, Store, StoreError};
use crate::templates::{Purpose, Templates};
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("composing a mail: {0}")]
    Compose(#[from] outbox::ComposeError),
    #[error(transparent)]
    Outbox(#[from] outbox::OutboxError),
    #[error(transparent)]
    Inbox(#[from] crate::inbox::InboxError),
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct PassReport {
    pub reconciled: ReconcileReport,
    /// What became of each mail read from the local inbox.
    pub received: Vec<crate::inbox::Outcome>,
    /// Idempotency keys of the mails queued in this pass.
    pub queued: Vec<String>,
    pub delivery: DeliveryReport,
}

/// Runs one whole pass at `now` (a clock standing still there): tests and
/// benchmarks that move time step by step.
pub async fn run_once(
    model: &Model,
    templates: &Templates,
    store: &mut Store,
    transport: &Transport,
    now: DateTime<Utc>,
) -> Result<PassReport, PassError> {
    run(
        model,
        templates,
        store,
        transport,
        &crate::clock::FixedClock::new(now),
    )
    .await
}

/// Runs one whole pass: [`prepare`] at the clock's now, then [`deliver`],
/// whose journal rows carry the clock's time at each event.
pub async fn run(
    model: &Model,
    templates: &Templates,
    store: &mut Store,
    transport: &Transport,
    clock: &dyn Clock,
) -> Result<PassReport, PassError> {
    let mut report = prepare(model, templates, store, clock.now())?;
    report.delivery = deliver(model, templates, store, transport, clock).await?;
    Ok(report)
}

/// The pass up to delivery: reconcile, read the local inbox, decide and
/// queue. No network: the daemon delivers in a task of its own, so a server
/// that hangs never holds back the replies and decisions.
pub fn prepare(
    model: &Model,
    templates: &Templates,
    store: &mut Store,
    now: DateTime<Utc>,
) -> Result<PassReport, PassError> {
    let reconciled = store.reconcile(&crate::planned::engagements(model), now)?;
    // Every mail of the pass says the dates as agreed (a counter-proposal
    // the owner accepted moves a milestone's date in the store, not in the
    // config). Reconciliation above takes the config as written.
    let overrides = store.due_overrides()?;
    let model: &Model = &crate::planned::effective(model, &overrides);
    let composer = Composer { model, templates };
    // Replies first: an acknowledgement or a delivery changes what is due.
    let received = match model.mail.incoming {
        crate::model::Incoming::Maildir => {
            let inbox = crate::inbox::Inbox {
                model,
                composer: &composer,
            };
            let mut received =
                crate::inbox::maildir::scan(&inbox, store, &model.mail.maildir.join("inbox"), now)?;
            // The owner's own replies on a question thread answer it.
            for o in crate::inbox::sent::scan(store, model, &model.mail.maildir.join("sent"), now)?
            {
                if let crate::inbox::sent::SentOutcome::Answered { engagement, .. } = o {
                    received.push(crate::inbox::Outcome {
                        kind: "owner_answered".into(),
                        why: "the owner replied on the question's thread (Sent)".into(),
                        engagement: Some(engagement),
                        ..Default::default()
                    });
                }
            }
            received
        }
        // The IMAP watcher runs in the daemon, not in a single pass.
        crate::model::Incoming::Imap => Vec::new(),
    };
    let queued = decide(model, &composer, store, now)?;
    Ok(PassReport {
        reconciled,
        received,
        queued,
        delivery: DeliveryReport::default(),
    })
}

/// Delivers the outbox: the pass's last step (see [`outbox::deliver_due`]).
pub async fn deliver(
    model: &Model,
    templates: &Templates,
    store: &mut Store,
    transport: &Transport,
    clock: &dyn Clock,
) -> Result<DeliveryReport, PassError> {
    let composer = Composer { model, templates };
    let sent_copy = match model.mail.outgoing {
        crate::model::Outgoing::Smtp => model.imap.as_ref(),
        crate::model::Outgoing::Maildir => None,
    };
    Ok(outbox::deliver_due(
        store,
        transport,
        sent_copy,
        &composer,
        RetryPolicy::default(),
        clock,
    )
    .await?)
}

/// Queues every mail that is due now and not yet queued; returns their keys.
pub fn decide(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    now: DateTime<Utc>,
) -> Result<Vec<String>, PassError> {
    let mut queued = Vec::new();
    // One read for all engagements, looked up by id: the pass must not cost
    // a query (or a scan) per engagement per engagement.
    let records: std::collections::HashMap<String, crate::store::EngagementRecord> = store
        .engagements()?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    for e in &model.engagements {
        let Some(record) = records.get(&e.id) else {
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
                    invite::request(e, Purpose::AgreementRequest),
                    now,
                    |_| Ok(()),
                )? {
                    queued.push(key);
                }
            }
            EngagementState::Active if now >= sendtime::start_instant(model, e) => {
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
                    instructions(model, e, record, now),
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
                // The instructions just moved planned milestones on: read
                // this engagement's record again only if they did.
                let fresh;
                let record = if sent {
                    fresh = store.engagements()?.into_iter().find(|r| r.id == e.id);
                    match &fresh {
                        Some(r) => r,
                        None => continue,
                    }
                } else {
                    record
                };
                invitations(model, composer, store, e, record, now, &mut queued)?;
            }
            _ => {}
        }
    }
    // Mail that waited (a bounce hold, downtime) is decided again before
    // anything new is queued beside it.
    review(model, store, now)?;
    // The schedule's rules: reminders, requests, notices, the digest. The
    // records read above serve it too; only the instructions changed any
    // (planned → instructed), which its rules treat alike.
    let due = schedule::due(model, store, records, now)?;
    queue_scheduled(model, composer, store, &due, now, &mut queued)?;
    due.served(store, now)?;
    Ok(queued)
}

/// The instructions: everything the contractor works from, saying which
/// milestones are already past due as they go (work under way at install)
/// and whether the kickoff call is already over (it then gets no
/// invitation).
fn instructions(
    model: &Model,
    e: &Engagement,
    record: &crate::store::EngagementRecord,
    now: DateTime<Utc>,
) -> MailRequest {
    let reader = model.contractor_of(e).reader();
    let late: Vec<String> = record
        .milestones
        .iter()
        .filter(|m| m.state == MilestoneState::Planned && !m.removed_from_config && m.due < now)
        .map(|m| {
            crate::templates::lang::fill(
                reader.lang.phrases().overdue_item,
                &[
                    ("title", &m.title),
                    ("due", &reader.due(m.due, model.owner.timezone)),
                ],
            )
        })
        .collect();
    let mut req = invite::request(e, Purpose::Instructions);
    req.extra.insert("overdue".into(), late.join("; "));
    req.extra
        .insert("overdue_count".into(), late.len().to_string());
    let kickoff_past = e.kickoff.is_some_and(|k| invite::meeting_over(k, now));
    req.extra.insert(
        "kickoff_past".into(),
        if kickoff_past { "yes" } else { "" }.into(),
    );
    req
}

/// Applies the schedule's second look at the queued mail whose time has
/// come ([`schedule::review`]): a stale reminder is taken back (journaled
/// `mail_withdrawn`, with why), one over the cap or inside quiet hours is
/// moved to when it may go (logged). All in one transaction: a backlog
/// released at night costs one commit, not one per mail.
fn review(model: &Model, store: &mut Store, now: DateTime<Utc>) -> Result<(), PassError> {
    let verdicts = schedule::review(model, store, now)?;
    if verdicts.is_empty() {
        return Ok(());
    }
    store.transaction(|tx| {
        for (mail, verdict) in &verdicts {
            match verdict {
                schedule::Verdict::Drop(why) => {
                    tx.take_back(mail.id, &format!("withdrawn: {why}"))?;
                    let mut ev = crate::store::NewEvent::internal("mail_withdrawn")
                        .detail(format!("{}: {why}", mail.key));
                    ev.engagement = mail.engagement.clone();
                    ev.milestone = mail.milestone.clone();
                    tx.record_event(&ev, now)?;
                }
                schedule::Verdict::Retime(at, _) => tx.retime(mail.id, *at)?,
            }
        }
        Ok(())
    })?;
    for (mail, verdict) in &verdicts {
        match verdict {
            schedule::Verdict::Drop(why) => {
                tracing::info!(key = %mail.key, why = %why, "queued mail withdrawn")
            }
            schedule::Verdict::Retime(at, why) => {
                tracing::debug!(key = %mail.key, at = %at, why, "queued mail moved")
            }
        }
    }
    Ok(())
}

/// Queues the schedule's due items whose key the outbox does not hold yet:
/// reminders under the per-contractor cap, the digest with the owner notices
/// folded into it.
fn queue_scheduled(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    due: &schedule::Due,
    now: DateTime<Utc>,
    queued: &mut Vec<String>,
) -> Result<(), PassError> {
    for it in &due.items {
        let Some(e) = model.engagement(&it.engagement) else {
            continue;
        };
        let earliest = if schedule::is_reminder(it.purpose) {
            if store.autocommit().outbox_has(&it.key)? {
                continue;
            }
            schedule::held_until(model, store, e, it, now)?
        } else {
            now
        };
        let mut extra = it.extra.clone();
        // The digest takes in the owner notices held for it (policy
        // owner_notices = "digest"): listed in it, not sent on their own.
        let folded = if it.purpose == Purpose::Digest {
            schedule::folded_notices(model, store)?
        } else {
            Vec::new()
        };
        if it.purpose == Purpose::Digest {
            let list: Vec<String> = folded.iter().map(|(_, s)| format!("- {s}")).collect();
            extra.insert("folded".to_string(), list.join("\n"));
        }
        let req = MailRequest {
            purpose: it.purpose,
            engagement: it.engagement.clone(),
            milestone: it.milestone.clone(),
            extra,
            calendar: None,
        };
        let why = format!("folded into the digest {}", it.key);
        if queue_at(
            model,
            composer,
            store,
            &it.key,
            e,
            req,
            now,
            earliest,
            |tx| {
                for (id, _) in &folded {
                    tx.take_back(*id, &why)?;
                }
                if !folded.is_empty() {
                    tx.record_event(
                        &crate::store::NewEvent::internal("notices_folded").detail(format!(
                            "{} owner notice(s) into {}",
                            folded.len(),
                            it.key
                        )),
                        now,
                    )?;
                }
                Ok(())
            },
        )? {
            tracing::info!(key = %it.key, rule = it.rule, due = %it.at, "queued");
            queued.push(it.key.clone());
        }
    }
    Ok(())
}

/// Calendar invitations once work has started: one REQUEST per milestone (a
/// new one, same UID, whenever reconciliation raised its SEQUENCE), a CANCEL
/// for an invited milestone that left the config, and the kickoff meeting.
fn invitations(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    e: &Engagement,
    record: &crate::store::EngagementRecord,
    now: DateTime<Utc>,
    queued: &mut Vec<String>,
) -> Result<(), PassError> {
    for m in &record.milestones {
        let invited = format!("invite/{}/{}/", e.id, m.id);
        if m.state == MilestoneState::Cancelled {
            let key = format!("cancel/{}/{}/{}", e.id, m.id, m.sequence);
            if m.removed_from_config && store.transaction(|tx| tx.outbox_has_prefix(&invited))? {
                let req = invite::cancel_request(model, e, m, now);
                if queue(model, composer, store, &key, e, req, now, |_| Ok(()))? {
                    queued.push(key);
                }
            }
            continue;
        }
        if m.state.is_terminal() || m.removed_from_config {
            continue;
        }
        // An event that is over gets no invitation (nor update): the
        // instructions list it, and a calendar entry in the past is noise.
        if m.due <= now {
            continue;
        }
        let key = format!("{invited}{}", m.sequence);
        // Most passes find every invitation sent: ask before building one.
        if store.autocommit().outbox_has(&key)? {
            continue;
        }
        let req = invite::milestone_request(model, e, m, now);
        if queue(model, composer, store, &key, e, req, now, |_| Ok(()))? {
            queued.push(key);
        }
    }
    if let Some(start) = e.kickoff.filter(|k| !invite::meeting_over(*k, now)) {
        // The kickoff's UID and SEQUENCE live in scheduler state: it has no
        // row of its own. A changed time raises the SEQUENCE.
        let state_key = format!("kickoff/{}", e.id);
        let (uid, mut sequence, known_start) = match store.scheduler_get(&state_key)? {
            Some(v) => invite::kickoff_state(&v),
            // The UID the store gave the engagement, which the owner's feed
            // already shows (a store from before it had none: a fresh one).
            None if !record.kickoff_uid.is_empty() => {
                (record.kickoff_uid.clone(), 0, start.to_rfc3339())
            }
            None => (
                format!("{}.kickoff.{}@handoff", e.id, new_token()),
                0,
                start.to_rfc3339(),
            ),
        };
        if known_start != start.to_rfc3339() {
            sequence += 1;
        }
        store.scheduler_set(
            &state_key,
            &format!("{uid} {sequence} {}", start.to_rfc3339()),
            now,
        )?;
        let key = format!("kickoff/{}/{sequence}", e.id);
        let req = invite::kickoff_request(model, e, uid, sequence, start, now);
        if queue(model, composer, store, &key, e, req, now, |_| Ok(()))? {
            queued.push(key);
        }
    }
    Ok(())
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
    req: MailRequest,
    now: DateTime<Utc>,
    also: impl FnOnce(&crate::store::Tx<'_>) -> Result<(), StoreError>,
) -> Result<bool, PassError> {
    queue_at(model, composer, store, key, e, req, now, now, also)
}

/// [`queue`], with the mail held until `earliest` at the soonest (the
/// reminder cap holds some to a later day); quiet hours apply from there.
#[allow(clippy::too_many_arguments)]
fn queue_at(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    key: &str,
    e: &Engagement,
    req: MailRequest,
    now: DateTime<Utc>,
    earliest: DateTime<Utc>,
    also: impl FnOnce(&crate::store::Tx<'_>) -> Result<(), StoreError>,
) -> Result<bool, PassError> {
    if store.transaction(|tx| tx.outbox_has(key))? {
        return Ok(false);
    }
    let purpose = req.purpose;
    let recipient = if purpose.is_owner_notice() {
        model.owner.email.to_string()
    } else {
        model.contractor_of(e).email.to_string()
    };
    let root = store.thread_root(&e.id, &recipient)?;
    let mail = composer.compose(&req, root.as_deref(), now)?.into_outbox(
        key.to_string(),
        &req,
        sendtime::not_before(model, e, purpose, earliest.max(now)),
    );
    store.transaction(|tx| {
        tx.enqueue(&mail, now)?;
        also(tx)
    })?;
    Ok(true)
}

/// The next moment a pass has something to do, as far as the pass knows: the
/// outbox's earliest queued row (a first try held back by quiet hours, or a
/// retry), the start of an engagement that has not started yet (its
/// instructions and invitations go then), or the schedule's next item
/// (reminders, status requests, evaluations, payments, silence, digest).
/// `None`: nothing is due until something changes (a reply, a reload). The
/// daemon sleeps until then, so it never polls.
pub fn next_wake(
    model: &Model,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let outbox = store.next_outbox_attempt()?;
    let start = model
        .engagements
        .iter()
        .map(|e| sendtime::start_instant(model, e))
        .filter(|t| *t > now)
        .min();
    let scheduled = schedule::next_due(model, store, now)?;
    Ok(outbox.into_iter().chain(start).chain(scheduled).min())
}

#[cfg(test)]
mod tests;
