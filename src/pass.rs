//! One pass of Handoff's work, the same whether run once (`handoff run
//! --once`) or by the daemon on every wake-up: bring the store in line with
//! the config, decide which mails are due now and queue them (each with the
//! state change that causes it, in one transaction), then deliver the outbox.
//!
//! The rules live in [`decide`]; the schedule (reminders, status requests,
//! evaluations, payments, silence) adds its rules there, so the pass stays in
//! one place and only grows.

use crate::calendar::{self, CalEvent, Method, Party, Span};
use crate::lifecycle::{EngagementState, MilestoneEvent, MilestoneState};
use crate::model::{Engagement, Model};
use crate::outbox::CalendarPart;
use crate::outbox::compose::{local_time, new_token, subject_tag};
use crate::outbox::{self, Composer, DeliveryReport, MailRequest, RetryPolicy, Transport};
use crate::store::{MilestoneRecord, ReconcileReport, Store, StoreError};
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
                        milestone: None,
                    });
                }
            }
            received
        }
        // The IMAP watcher runs in the daemon, not in a single pass.
        crate::model::Incoming::Imap => Vec::new(),
    };
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
        received,
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
                    request(e, Purpose::AgreementRequest),
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
                    request(e, Purpose::Instructions),
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
    // The schedule's rules: reminders, requests, notices, the digest. The
    // records read above serve it too; only the instructions changed any
    // (planned → instructed), which its rules treat alike.
    crate::schedule::queue_due_for(model, composer, store, records, now, &mut queued)?;
    Ok(queued)
}

fn request(e: &Engagement, purpose: Purpose) -> MailRequest {
    MailRequest {
        purpose,
        engagement: e.id.clone(),
        milestone: None,
        extra: Default::default(),
        calendar: None,
    }
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
    let contractor = model.contractor_of(e);
    let attendee = Party {
        name: contractor.name.clone(),
        email: contractor.email.clone(),
    };
    let organizer = Party {
        name: model.owner.name.clone(),
        email: model.owner.email.clone(),
    };
    for m in &record.milestones {
        let invited = format!("invite/{}/{}/", e.id, m.id);
        if m.state == MilestoneState::Cancelled {
            let key = format!("cancel/{}/{}/{}", e.id, m.id, m.sequence);
            if m.removed_from_config && store.transaction(|tx| tx.outbox_has_prefix(&invited))? {
                let req = cancel_request(model, e, m, now);
                if queue(model, composer, store, &key, e, req, now, |_| Ok(()))? {
                    queued.push(key);
                }
            }
            continue;
        }
        if m.state.is_terminal() || m.removed_from_config {
            continue;
        }
        let event = milestone_event(model, e, m);
        let key = format!("{invited}{}", m.sequence);
        // Most passes find every invitation sent: ask before building one.
        if store.autocommit().outbox_has(&key)? {
            continue;
        }
        let mut req = request(e, Purpose::MilestoneInvite);
        req.milestone = Some(m.id.clone());
        let update = if m.sequence > 0 { "yes" } else { "no" };
        req.extra.insert("update".into(), update.into());
        req.calendar = Some(CalendarPart {
            method: Method::Request,
            ics: calendar::build(Method::Request, &organizer, &[event], now),
        });
        if queue(model, composer, store, &key, e, req, now, |_| Ok(()))? {
            queued.push(key);
        }
    }
    if let Some(start) = e.kickoff {
        // The kickoff's UID and SEQUENCE live in scheduler state: it has no
        // row of its own. A changed time raises the SEQUENCE.
        let state_key = format!("kickoff/{}", e.id);
        let (uid, mut sequence, known_start) = match store.scheduler_get(&state_key)? {
            Some(v) => kickoff_state(&v),
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
        let event = kickoff_event(e, uid, sequence, start, attendee);
        let mut req = request(e, Purpose::Kickoff);
        req.calendar = Some(CalendarPart {
            method: Method::Request,
            ics: calendar::build(Method::Request, &organizer, &[event], now),
        });
        if queue(model, composer, store, &key, e, req, now, |_| Ok(()))? {
            queued.push(key);
        }
    }
    Ok(())
}

/// The kickoff's scheduler state, "UID SEQUENCE START": what the invitation
/// sent last said.
pub(crate) fn kickoff_state(v: &str) -> (String, u32, String) {
    let mut parts = v.splitn(3, ' ');
    (
        parts.next().unwrap_or_default().to_string(),
        parts
            .next()
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0),
        parts.next().unwrap_or_default().to_string(),
    )
}

/// The kickoff meeting as a calendar event (30 minutes from `start`).
fn kickoff_event(
    e: &Engagement,
    uid: String,
    sequence: u32,
    start: DateTime<Utc>,
    attendee: Party,
) -> CalEvent {
    CalEvent {
        uid,
        sequence,
        summary: format!("Kickoff: {} {}", e.title, subject_tag(&e.id)),
        description: format!("Kickoff call for {} (30 minutes).", e.title),
        span: Span::Between(start, start + TimeDelta::minutes(30)),
        attendee: Some(attendee),
        alarm_before: Some(TimeDelta::minutes(15)),
    }
}

/// The `invite_cancel` mail withdrawing a kickoff invitation that was sent
/// and has not happened yet (the owner ended the engagement), with the
/// scheduler state to store with it (SEQUENCE raised); `None` when there is
/// nothing to withdraw.
pub(crate) fn kickoff_cancel(
    model: &Model,
    e: &Engagement,
    state: Option<&str>,
    now: DateTime<Utc>,
) -> Option<(String, MailRequest, String)> {
    let start = e.kickoff.filter(|k| *k > now)?;
    let (uid, sequence, _) = kickoff_state(state?);
    let sequence = sequence + 1;
    let contractor = model.contractor_of(e);
    let attendee = Party {
        name: contractor.name.clone(),
        email: contractor.email.clone(),
    };
    let organizer = Party {
        name: model.owner.name.clone(),
        email: model.owner.email.clone(),
    };
    let event = kickoff_event(e, uid.clone(), sequence, start, attendee);
    let mut req = request(e, Purpose::InviteCancel);
    req.extra
        .insert("title".into(), format!("Kickoff call for {}", e.title));
    req.extra
        .insert("due".into(), local_time(start, contractor.timezone));
    req.calendar = Some(CalendarPart {
        method: Method::Cancel,
        ics: calendar::build(Method::Cancel, &organizer, &[event], now),
    });
    Some((
        format!("kickoff_cancel/{}/{sequence}", e.id),
        req,
        format!("{uid} {sequence} {}", start.to_rfc3339()),
    ))
}

/// A milestone as a calendar event: the one invitation, update or
/// cancellation the contractor's calendar keeps under the milestone's UID.
fn milestone_event(model: &Model, e: &Engagement, m: &MilestoneRecord) -> CalEvent {
    let contractor = model.contractor_of(e);
    CalEvent {
        uid: m.calendar_uid.clone(),
        sequence: u32::try_from(m.sequence).unwrap_or(u32::MAX),
        summary: format!("Due: {} {}", m.title, subject_tag(&e.id)),
        description: format!("{} ({})", m.title, e.title),
        span: milestone_span(m.due, model.owner.timezone),
        attendee: Some(Party {
            name: contractor.name.clone(),
            email: contractor.email.clone(),
        }),
        alarm_before: Some(TimeDelta::days(1)),
    }
}

/// The `invite_cancel` mail withdrawing a milestone's invitation
/// (`METHOD:CANCEL` under its UID, RFC 5546 §3.2.5): for a milestone removed
/// from the config here, and for the open milestones of an engagement the
/// owner ends ([`crate::actions`]). `m.sequence` must already be raised.
pub(crate) fn cancel_request(
    model: &Model,
    e: &Engagement,
    m: &MilestoneRecord,
    now: DateTime<Utc>,
) -> MailRequest {
    let organizer = Party {
        name: model.owner.name.clone(),
        email: model.owner.email.clone(),
    };
    let mut req = request(e, Purpose::InviteCancel);
    req.extra.insert("title".into(), m.title.clone());
    req.extra.insert(
        "due".into(),
        local_time(m.due, model.contractor_of(e).timezone),
    );
    req.calendar = Some(CalendarPart {
        method: Method::Cancel,
        ics: calendar::build(
            Method::Cancel,
            &organizer,
            &[milestone_event(model, e, m)],
            now,
        ),
    });
    req
}

/// A milestone due at the end of a day (how a date is read) is an all-day
/// event on that day; one due at a time is the half-hour ending then.
fn milestone_span(due: DateTime<Utc>, tz: chrono_tz::Tz) -> Span {
    let local = due.with_timezone(&tz);
    if local.time() == NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN) {
        Span::Day(local.date_naive())
    } else {
        Span::Between(due - TimeDelta::minutes(30), due)
    }
}

/// The moment work starts: midnight at the start of `starts`, owner's zone.
pub(crate) fn start_instant(model: &Model, e: &Engagement) -> DateTime<Utc> {
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

/// Whether a mail of `purpose` waits for the next digest and is folded into
/// it (`policy.owner_notices = "digest"`): owner notices that can wait.
pub fn folds_into_digest(model: &Model, purpose: Purpose) -> bool {
    model.policy.owner_notices == crate::model::OwnerNotices::Digest
        && model.policy.digest.is_some()
        && purpose.is_owner_notice()
        && !purpose.is_urgent()
        && purpose != Purpose::Digest
}

/// The earliest moment a mail may go: for the contractor, now or the end of
/// their quiet hours if now is inside them; for the owner, now, or the next
/// digest for a notice that is folded into it ([`folds_into_digest`]).
pub fn not_before(
    model: &Model,
    e: &Engagement,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    if folds_into_digest(model, purpose)
        && let Some(digest) = model.policy.digest.as_ref().and_then(|d| d.next_after(now))
    {
        return digest;
    }
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
    req: MailRequest,
    now: DateTime<Utc>,
    also: impl FnOnce(&crate::store::Tx<'_>) -> Result<(), StoreError>,
) -> Result<bool, PassError> {
    queue_at(model, composer, store, key, e, req, now, now, also)
}

/// [`queue`], with the mail held until `earliest` at the soonest (the
/// reminder cap holds some to a later day); quiet hours apply from there.
#[allow(clippy::too_many_arguments)]
pub(crate) fn queue_at(
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
        not_before(model, e, purpose, earliest.max(now)),
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
        .map(|e| start_instant(model, e))
        .filter(|t| *t > now)
        .min();
    let schedule = crate::schedule::next_due(model, store, now)?;
    Ok(outbox.into_iter().chain(start).chain(schedule).min())
}
