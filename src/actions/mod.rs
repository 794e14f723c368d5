//! The owner's acts: sign, accept, redo, evaluate, paid, answered, end, and the
//! ones that set Handoff's reading right: delivered, correct, counter.
//!
//! Both ways the owner acts end here: the CLI (`handoff accept website wf
//! --notes "…"`) and a reply to a Handoff notice whose first line is a
//! command ([`reply`], checked by the inbox). [`apply`] records each act as
//! one journal event, applies the state transition it implies, and queues the
//! mail it causes, all in ONE store transaction: either the act happened
//! with all its effects, or nothing changed.
//!
//! # The journal events (other parts read these)
//!
//! | kind | detail | effect |
//! |---|---|---|
//! | `owner_signed` | none | engagement `awaiting_agreement` → `active` (the instructions follow on `starts`) |
//! | `owner_accept` | the notes, if any | milestone `delivered` → `accepted`; all accepted → engagement `finished` and the closing review to the owner; `delivery_accepted` mail to the contractor |
//! | `owner_redo` | the reason | milestone `delivered` → `redo`, due again on the date given (`--due`) or `policy.redo_within` from now; `redo_request` mail to the contractor, saying the date |
//! | `owner_evaluated` | `"4: notes"` (or `"4"`) | `evaluation_feedback` mail to the contractor |
//! | `owner_paid` | the amount, `"1200.00 EUR"`, or none | counts against the budget; `notice_budget` at 80 % and at 100 %, each once |
//! | `owner_answered` | none; its `message_id` is the question's | the question no longer waits for the owner |
//! | `owner_end` | the reason, if any | engagement → `ended`; open milestones `cancelled`, their invitations and a kickoff still ahead withdrawn (`invite_cancel`, METHOD:CANCEL); with a reason, a `closing_note` mail to the contractor carrying it; the closing review to the owner |
//! | `owner_counter_accepted` | "due A → B" | the milestone's due date overridden in the store, SEQUENCE raised, the updated invitation to the contractor ([`counter`]) |
//! | `owner_counter_declined` | the date declined | `counter_declined` mail with METHOD:DECLINECOUNTER ([`counter`]) |
//! | `owner_delivered` | none | milestone → `delivered`, nothing to the contractor ([`delivered`]) |
//! | `owner_corrected` | "delivery → question" | the reading's effects undone and the new one's applied, nothing to the contractor ([`correct`]) |
//!
//! Every event names the engagement (and the milestone, for accept and
//! redo). An act by reply carries the reply's Message-ID (except
//! `owner_answered`, which carries the question's) and the direction `in`;
//! an act by command is `internal`. [`crate::inbox::sent`] also records
//! `owner_answered` (direction `out`) when the owner's own reply on the
//! question's thread shows up in the Sent folder.
//!
//! Idempotency keys of the mails: `delivery_accepted/<e>/<m>`,
//! `redo_request/<e>/<m>/<n>`, `evaluation_feedback/<e>/<n>` (the n-th
//! redo or evaluation), `notice_budget/<e>/<80|100>`,
//! `cancel/<e>/<m>/<sequence>` (the same key the pass uses for a milestone
//! removed from the config), `kickoff_cancel/<e>/<sequence>`,
//! `closing_note/<e>`, `closing_review/<e>` (the owner's closing review, `review`).
//!
//! # Where it stands
//! After the outbox and the invitations (it queues the mail an act causes),
//! before the inbox (which performs acts by reply): it must not import the
//! inbox, the pass, the daemon or the CLI.

mod act;
mod budget;
mod correct;
pub mod counter;
mod delivered;
mod end;
mod error;
mod pick;
mod redo;
pub mod reply;
mod review;

use act::{Act, refused};
pub use correct::{Correction, reading_engagement};
pub use error::ActionError;

pub use budget::spent;
pub use redo::default_due;

use crate::lifecycle::{EngagementEvent, EngagementState, MilestoneEvent, MilestoneState};
use crate::model::{Engagement, Model};
use crate::money::Money;
use crate::outbox::{Composer, MailRequest};
use crate::store::{Direction, NewEvent, NewOutboxMail, Store, StoreError, Tx};
use crate::templates::Purpose;
use chrono::{DateTime, Utc};

/// One act of the owner's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerAction {
    /// The agreement is signed: work may start.
    Sign,
    /// A delivered milestone is accepted (the single delivered one if none
    /// is named).
    Accept {
        milestone: Option<String>,
        notes: Option<String>,
    },
    /// A delivered milestone needs another pass, due again on `due`
    /// (default: `policy.redo_within` from now, or the milestone's own due
    /// date if that is later).
    Redo {
        milestone: Option<String>,
        reason: String,
        due: Option<DateTime<Utc>>,
    },
    /// The owner's evaluation, 1 to 5, sent to the contractor as feedback.
    Evaluate { score: u8, notes: Option<String> },
    /// A payment (amount optional: a scheduled payment made).
    Paid { amount: Option<Money> },
    /// The contractor's latest question has been answered.
    Answered,
    /// The engagement ends now (finished, or losses cut).
    End { reason: Option<String> },
    /// The contractor's counter-proposal for a milestone is accepted (its
    /// due date moves, an updated invitation goes out) or declined
    /// (METHOD:DECLINECOUNTER).
    Counter {
        milestone: Option<String>,
        accept: bool,
    },
    /// A delivery Handoff missed, or that came another way, is recorded.
    Delivered { milestone: Option<String> },
    /// A misreading is corrected: the mail `reading` (a Message-ID or an
    /// event id; by reply, the one the cited notice followed) was `to`.
    Correct {
        reading: Option<String>,
        to: Correction,
        milestone: Option<String>,
    },
}

impl OwnerAction {
    /// The journal kinds of the acts, as `'static` names.
    const KINDS: &'static [&'static str] = &[
        "owner_signed",
        "owner_accept",
        "owner_redo",
        "owner_evaluated",
        "owner_paid",
        "owner_answered",
        "owner_end",
        "owner_counter_accepted",
        "owner_counter_declined",
        "owner_delivered",
        "owner_corrected",
    ];

    fn kind_name(kind: &str) -> &'static str {
        Self::KINDS
            .iter()
            .find(|k| **k == kind)
            .copied()
            .unwrap_or("owner_act")
    }

    /// The journal kind this act is recorded as.
    pub fn event_kind(&self) -> &'static str {
        match self {
            OwnerAction::Sign => "owner_signed",
            OwnerAction::Accept { .. } => "owner_accept",
            OwnerAction::Redo { .. } => "owner_redo",
            OwnerAction::Evaluate { .. } => "owner_evaluated",
            OwnerAction::Paid { .. } => "owner_paid",
            OwnerAction::Answered => "owner_answered",
            OwnerAction::End { .. } => "owner_end",
            OwnerAction::Counter { accept: true, .. } => "owner_counter_accepted",
            OwnerAction::Counter { accept: false, .. } => "owner_counter_declined",
            OwnerAction::Delivered { .. } => "owner_delivered",
            OwnerAction::Correct { .. } => "owner_corrected",
        }
    }
}

/// How the act reached Handoff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origin {
    /// A `handoff` command.
    #[default]
    Command,
    /// A reply to a notice: its Message-ID (with angle brackets), and what
    /// the cited notice was about, which fills in what the one-line command
    /// leaves out.
    Reply {
        message_id: Option<String>,
        /// The milestone the notice was about (a delivery to check).
        milestone: Option<String>,
        /// The question the notice quoted (with angle brackets).
        question: Option<String>,
        /// The mail whose reading the notice followed (with angle
        /// brackets): what "wrong: …" corrects.
        reading: Option<String>,
        /// The purpose of the notice the reply cites.
        notice: Option<String>,
    },
}

/// What an act did, for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    /// The journal kind (`owner_accept`, …).
    pub kind: &'static str,
    pub engagement: String,
    pub milestone: Option<String>,
    /// Idempotency keys of the mails queued.
    pub queued: Vec<String>,
    /// One line for people: what changed.
    pub summary: String,
}

/// Records the act with its transition and its mail, in one transaction.
pub fn apply(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    engagement_id: &str,
    action: OwnerAction,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<ActionOutcome, ActionError> {
    apply_with(
        model,
        composer,
        store,
        engagement_id,
        action,
        origin,
        now,
        |_| Ok(()),
    )
}

/// [`apply`], running `also` in the same transaction (the inbox records the
/// reply that carried the command there, so both commit or neither does).
#[allow(clippy::too_many_arguments)]
pub fn apply_with(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    engagement_id: &str,
    action: OwnerAction,
    origin: Origin,
    now: DateTime<Utc>,
    also: impl FnOnce(&Tx<'_>) -> Result<(), StoreError>,
) -> Result<ActionOutcome, ActionError> {
    let e = model
        .engagement(engagement_id)
        .ok_or_else(|| ActionError::UnknownEngagement {
            engagement: engagement_id.to_string(),
            known: model
                .engagements
                .iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let record = store
        .engagements()?
        .into_iter()
        .find(|r| r.id == e.id)
        .ok_or_else(|| StoreError::NotFound {
            what: format!("engagement {}", e.id),
        })?;
    let kind = action.event_kind();
    let (reply_id, direction) = match &origin {
        Origin::Command => (None, Direction::Internal),
        Origin::Reply { message_id, .. } => (message_id.clone(), Direction::In),
    };
    let mut plan = Plan {
        event: NewEvent {
            kind: kind.to_string(),
            direction: Some(direction),
            engagement: Some(e.id.clone()),
            message_id: reply_id,
            ..Default::default()
        },
        ..Default::default()
    };
    let contractor = model.contractor_of(e);
    // The acts that move a date, record a delivery or correct a reading
    // write their own transaction (see `Act`).
    macro_rules! act {
        () => {
            Act {
                model,
                composer,
                e,
                record,
                origin,
                event: plan.event,
                now,
            }
        };
    }
    let summary = match action {
        OwnerAction::Counter { milestone, accept } => {
            return counter::answer(&act!(), store, milestone, accept, Box::new(also));
        }
        OwnerAction::Delivered { milestone } => {
            return delivered::record(&act!(), store, milestone, Box::new(also));
        }
        OwnerAction::Correct {
            reading,
            to,
            milestone,
        } => return correct::apply(&act!(), store, reading, to, milestone, Box::new(also)),
        OwnerAction::Sign => {
            if record.state != EngagementState::AwaitingAgreement {
                return Err(ActionError::Refused(format!(
                    "{} is {}: its agreement is already signed",
                    e.id, record.state
                )));
            }
            plan.engagement_event = Some(EngagementEvent::AgreementSigned);
            format!(
                "{} signed: now active; the instructions go to {} on {}",
                e.id, contractor.name, e.starts
            )
        }
        OwnerAction::Accept { milestone, notes } => {
            let m = pick::delivered_milestone(e, &record, milestone, &origin, "accept")?;
            plan.event.milestone = Some(m.clone());
            plan.event.detail = notes.clone();
            plan.milestone_events
                .push((m.clone(), MilestoneEvent::Accepted));
            let rest_done = record.milestones.iter().all(|r| {
                r.id == m
                    || matches!(
                        r.state,
                        MilestoneState::Accepted | MilestoneState::Cancelled
                    )
            });
            if rest_done && record.state == EngagementState::Active {
                plan.engagement_event = Some(EngagementEvent::AllMilestonesAccepted);
            }
            let mut req = request(e, Purpose::DeliveryAccepted, Some(&m));
            req.extra.insert("notes".into(), notes.unwrap_or_default());
            let key = format!("delivery_accepted/{}/{m}", e.id);
            plan.mail(model, composer, store, key, e, req, now)?;
            format!(
                "{}/{m} accepted{}; a confirmation goes to {}",
                e.id,
                if plan.engagement_event.is_some() {
                    " (every milestone is now accepted: the engagement is finished; its review goes to you)"
                } else {
                    ""
                },
                contractor.name
            )
        }
        OwnerAction::Redo {
            milestone,
            reason,
            due,
        } => {
            let m = pick::delivered_milestone(e, &record, milestone, &origin, "send back")?;
            redo::plan(
                model, composer, store, e, &record, &m, reason, due, &mut plan, now,
            )?
        }
        OwnerAction::Evaluate { score, notes } => {
            if !(1..=5).contains(&score) {
                return Err(ActionError::BadScore(score));
            }
            plan.event.detail = Some(match &notes {
                Some(n) => format!("{score}: {n}"),
                None => score.to_string(),
            });
            let n = store
                .transaction(|tx| Ok(tx.event_details("owner_evaluated", &e.id, None)?.len()))?
                + 1;
            let mut feedback = format!("My rating: {score} out of 5.");
            if let Some(n) = &notes {
                feedback = format!("{feedback}\n\n{n}");
            }
            let mut req = request(e, Purpose::EvaluationFeedback, None);
            req.extra.insert("feedback".into(), feedback);
            plan.mail(
                model,
                composer,
                store,
                format!("evaluation_feedback/{}/{n}", e.id),
                e,
                req,
                now,
            )?;
            format!(
                "{} evaluated {score}/5; the feedback goes to {}",
                e.id, contractor.name
            )
        }
        OwnerAction::Paid { amount } => {
            plan.event.detail = amount.as_ref().map(Money::to_string);
            budget::paid(model, composer, store, e, amount.as_ref(), &mut plan, now)?
        }
        OwnerAction::Answered => {
            // A reply to a question notice answers that question; if it is
            // answered already, saying so again is refused rather than
            // silently marking some other question.
            let cited = match &origin {
                Origin::Reply {
                    question: Some(q), ..
                } => match store.transaction(|tx| tx.question(q))? {
                    Some((eng, false)) if eng == e.id => Some(q.clone()),
                    Some((eng, true)) if eng == e.id => {
                        return Err(ActionError::Refused(format!(
                            "{}: the question {q} is already answered",
                            e.id
                        )));
                    }
                    _ => None,
                },
                _ => None,
            };
            let question = match cited {
                Some(q) => q,
                None => store
                    .latest_unanswered_question(&e.id)?
                    .ok_or_else(|| ActionError::NoQuestion(e.id.clone()))?,
            };
            plan.event.message_id = Some(question.clone());
            format!("{}: the question {question} is marked answered", e.id)
        }
        OwnerAction::End { reason } => {
            if record.state.is_terminal() {
                return Err(ActionError::Refused(format!(
                    "{} is already {}",
                    e.id, record.state
                )));
            }
            plan.event.detail = reason.clone();
            plan.engagement_event = Some(EngagementEvent::Ended);
            let line =
                end::withdraw_invitations(model, composer, store, e, &record, &mut plan, now)?;
            end::closing_note(model, composer, store, e, reason, &mut plan, now)?;
            line
        }
    };
    // Closing the engagement sends the owner its review, in the same transaction.
    if let Some(closing) = review::closing(plan.engagement_event) {
        review::closing_review(model, composer, store, e, closing, &mut plan, now)?;
    }
    let milestone = plan.event.milestone.clone();
    let queued: Vec<String> = plan
        .mails
        .iter()
        .map(|m| m.idempotency_key.clone())
        .collect();
    store
        .transaction(|tx| {
            tx.record_event(&plan.event, now)?;
            for (m, ev) in &plan.milestone_events {
                tx.apply_milestone(&e.id, m, *ev, now)?;
            }
            for (m, due) in &plan.redo_due {
                tx.set_redo_due(&e.id, m, *due, now)?;
            }
            for m in &plan.cancel {
                tx.bump_sequence(&e.id, m, now)?;
                tx.apply_milestone(&e.id, m, MilestoneEvent::Cancelled, now)?;
            }
            if plan.engagement_event == Some(EngagementEvent::Ended) {
                // Mail to the contractor still waiting (held by quiet hours,
                // say) would contradict the end; the cancellations below
                // are queued after this, so they stay.
                let n =
                    tx.withdraw_queued(&e.id, "withdrawn: the owner ended the engagement", now)?;
                if n > 0 {
                    tx.record_event(
                        &NewEvent::internal("outbox_withdrawn")
                            .engagement(&e.id)
                            .detail(format!("{n} queued mail(s) to the contractor")),
                        now,
                    )?;
                }
            }
            if let Some(ev) = plan.engagement_event {
                tx.apply_engagement(&e.id, ev, now)?;
            }
            for k in &plan.scheduler_marks {
                tx.scheduler_set(k, "done", now)?;
            }
            for (k, v) in &plan.scheduler_values {
                tx.scheduler_set(k, v, now)?;
            }
            for mail in &plan.mails {
                tx.enqueue(mail, now)?;
            }
            also(tx)
        })
        .map_err(refused)?;
    tracing::info!(engagement = %e.id, kind, "owner act recorded");
    Ok(ActionOutcome {
        kind,
        engagement: e.id.clone(),
        milestone,
        queued,
        summary,
    })
}

/// What a refused transition would have done, for the error line.
pub(super) fn refused_verb(event: &str) -> &'static str {
    match event {
        "accepted" => "accept it",
        "redo_requested" => "send it back for a redo",
        "cancelled" => "cancel it",
        "agreement_signed" => "sign it",
        "all_milestones_accepted" => "finish it",
        "ended" => "end it",
        _ => "do that",
    }
}

/// Everything one act writes, gathered before the one transaction.
#[derive(Default)]
pub(super) struct Plan {
    event: NewEvent,
    milestone_events: Vec<(String, MilestoneEvent)>,
    /// Milestones to cancel (SEQUENCE raised first).
    cancel: Vec<String>,
    engagement_event: Option<EngagementEvent>,
    /// Scheduler-state keys to mark done (budget thresholds passed).
    scheduler_marks: Vec<String>,
    /// Scheduler-state values to set (the kickoff's raised SEQUENCE).
    scheduler_values: Vec<(String, String)>,
    /// Redo dates to store: (milestone, when it is due again).
    redo_due: Vec<(String, DateTime<Utc>)>,
    mails: Vec<NewOutboxMail>,
}

impl Plan {
    /// Composes the mail under `key`, unless that key was queued before.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn mail(
        &mut self,
        model: &Model,
        composer: &Composer<'_>,
        store: &mut Store,
        key: String,
        e: &Engagement,
        req: MailRequest,
        now: DateTime<Utc>,
    ) -> Result<(), ActionError> {
        if store.transaction(|tx| tx.outbox_has(&key))? {
            return Ok(());
        }
        let recipient = if req.purpose.is_owner_notice() {
            model.owner.email.to_string()
        } else {
            model.contractor_of(e).email.to_string()
        };
        let root = store.thread_root(&e.id, &recipient)?;
        let not_before = crate::sendtime::not_before(model, e, req.purpose, now);
        self.mails.push(
            composer
                .compose(&req, root.as_deref(), now)?
                .into_outbox(key, &req, not_before),
        );
        Ok(())
    }
}

pub(super) fn request(e: &Engagement, purpose: Purpose, milestone: Option<&str>) -> MailRequest {
    MailRequest {
        purpose,
        engagement: e.id.clone(),
        milestone: milestone.map(str::to_string),
        extra: Default::default(),
        calendar: None,
    }
}
