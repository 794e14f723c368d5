//! The owner's calendar feed (`handoff ics`): the engagements' milestones,
//! kickoff meetings, and next evaluation and payment dates, as one
//! `METHOD:PUBLISH` calendar a calendar app can import or subscribe to.
//!
//! # It says what the schedule will do
//! - An engagement that is finished or ended is not in the feed at all: its
//!   record is kept, but nothing of it happens any more.
//! - A running one (signed, started or not) shows its open milestones, its
//!   kickoff (while it is ahead, or once its invitation went), and its next
//!   evaluation and payment, counted from when work starts, as the schedule
//!   counts them: the same instants `handoff plan` lists.
//! - One not signed yet shows its milestones and kickoff as
//!   `STATUS:TENTATIVE` ("not signed yet" in the title): nothing is sent for
//!   them until it is signed, and no evaluation or payment is due for it.
//!
//! # One event, one UID
//! A milestone carries its invitation's UID and SEQUENCE (the store's), the
//! kickoff its invitation's (what the invitation last said, else the UID the
//! store fixed for it), so a calendar holding both the invitation and the
//! feed shows each event once, and a re-exported feed updates events in
//! place. Evaluations and payments have no invitation; their UIDs are
//! derived from the engagement and the date.
//!
//! The caller reads the store (after reconciling it with the config) and
//! hands the records in; [`crate::calendar`] renders the text.

use super::occurrence;
use crate::calendar::{CalEvent, Method, Party, Span, build};
use crate::lifecycle::EngagementState;
use crate::model::{Engagement, Model};
use crate::sendtime;
use crate::store::EngagementRecord;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;

/// What the last kickoff invitation said (scheduler state `kickoff/<id>`,
/// read with [`crate::invite::kickoff_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KickoffSent {
    pub uid: String,
    pub sequence: u32,
    /// Its start, RFC 3339, as stored.
    pub start: String,
}

/// The feed for `only` (every engagement when `None`). `records` is the
/// store's view (an engagement it does not know is left out); `kickoffs`
/// holds the kickoff invitations sent, by engagement id.
pub fn feed(
    model: &Model,
    only: Option<&str>,
    records: &[EngagementRecord],
    kickoffs: &HashMap<String, KickoffSent>,
    now: DateTime<Utc>,
) -> String {
    let mut events = Vec::new();
    for e in model
        .engagements
        .iter()
        .filter(|e| only.is_none_or(|id| id == e.id))
    {
        let Some(record) = records.iter().find(|r| r.id == e.id) else {
            continue;
        };
        events.extend(engagement_events(
            model,
            e,
            record,
            kickoffs.get(&e.id),
            now,
        ));
    }
    let organizer = Party {
        name: model.owner.name.clone(),
        email: model.owner.email.clone(),
    };
    build(Method::Publish, &organizer, &events, now)
}

fn engagement_events(
    model: &Model,
    e: &Engagement,
    record: &EngagementRecord,
    kickoff_sent: Option<&KickoffSent>,
    now: DateTime<Utc>,
) -> Vec<CalEvent> {
    let tentative = match record.state {
        EngagementState::Active => false,
        EngagementState::AwaitingAgreement => true,
        EngagementState::Finished | EngagementState::Ended => return Vec::new(),
    };
    let contractor = model.contractor_of(e);
    let unsigned = if tentative { " (not signed yet)" } else { "" };
    let event =
        |uid: String, sequence: u32, summary: String, description: String, span: Span| CalEvent {
            uid,
            sequence,
            summary,
            description,
            span,
            attendee: None,
            alarm_before: None,
            tentative,
        };
    let mut out = Vec::new();
    // The store's milestones, in the config's terms: a removed, accepted or
    // cancelled one has nothing more to happen.
    for m in record
        .milestones
        .iter()
        .filter(|m| !m.removed_from_config && !m.state.is_terminal())
    {
        let Some(cfg) = e.milestones.iter().find(|c| c.id == m.id) else {
            continue;
        };
        out.push(event(
            m.calendar_uid.clone(),
            u32::try_from(m.sequence).unwrap_or(u32::MAX),
            format!("Due: {} ({}){unsigned}", cfg.title, contractor.name),
            format!("{}: {}", e.title, cfg.title),
            // The store's date: the config's, or one agreed since (an
            // accepted counter-proposal).
            Span::of_due(m.due, model.owner.timezone),
        ));
    }
    if let Some(k) = e.kickoff {
        // A kickoff never invited and already past never took place (work
        // started after it); one invited did.
        if k > now || kickoff_sent.is_some() {
            let (uid, sequence) = match kickoff_sent {
                // A time changed since the invitation: the next one raises
                // the SEQUENCE, and so does the feed.
                Some(s) if s.start != k.to_rfc3339() => (s.uid.clone(), s.sequence + 1),
                Some(s) => (s.uid.clone(), s.sequence),
                None if !record.kickoff_uid.is_empty() => (record.kickoff_uid.clone(), 0),
                None => (format!("feed.{}.kickoff@handoff", e.id), 0),
            };
            out.push(event(
                uid,
                sequence,
                format!("Kickoff: {} with {}{unsigned}", e.title, contractor.name),
                format!("Kickoff call for {}", e.title),
                Span::Between(k, k + TimeDelta::minutes(30)),
            ));
        }
    }
    if tentative {
        // Evaluations and payments are due only for signed work.
        return out;
    }
    // The schedule fires nothing before work starts: count from then.
    let from = now.max(sendtime::start_instant(model, e) - TimeDelta::seconds(1));
    if let Some(at) = occurrence::next_after(&e.evaluation, from) {
        out.push(event(
            format!("feed.{}.evaluation.{}@handoff", e.id, at.format("%Y%m%d")),
            0,
            format!("Evaluate {} ({})", contractor.name, e.title),
            format!("Evaluation of {} on {}", contractor.name, e.title),
            Span::Between(at, at + TimeDelta::minutes(30)),
        ));
    }
    if let Some(at) = e
        .payment
        .as_ref()
        .and_then(|p| occurrence::next_after(p, from))
    {
        out.push(event(
            format!("feed.{}.payment.{}@handoff", e.id, at.format("%Y%m%d")),
            0,
            format!("Payment due: {} ({})", contractor.name, e.title),
            e.payment_terms.clone().unwrap_or_default(),
            Span::Between(at, at + TimeDelta::minutes(30)),
        ));
    }
    out
}
