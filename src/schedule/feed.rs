//! The owner's calendar feed (`handoff ics`): every milestone, the kickoff
//! meetings, and the next evaluation and payment date of each engagement, as
//! one `METHOD:PUBLISH` calendar a calendar app can import or subscribe to.
//! UIDs are derived from the ids, so a re-exported feed updates events in
//! place instead of duplicating them.
//!
//! Which events the feed holds is the schedule's knowledge (what is still
//! open, when evaluations and payments come); [`crate::calendar`] only
//! renders them. The caller reads the store and hands the records in.

use super::occurrence;
use crate::calendar::{CalEvent, Method, Party, Span, build};
use crate::model::{Engagement, Model};
use crate::store::EngagementRecord;
use chrono::{DateTime, NaiveTime, TimeDelta, Utc};

/// The feed for `engagements` (all when `None`). `records` is the store's
/// view, used to leave out cancelled and accepted milestones.
pub fn feed(
    model: &Model,
    only: Option<&str>,
    records: &[EngagementRecord],
    now: DateTime<Utc>,
) -> String {
    let mut events = Vec::new();
    for e in model
        .engagements
        .iter()
        .filter(|e| only.is_none_or(|id| id == e.id))
    {
        events.extend(engagement_events(model, e, records, now));
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
    records: &[EngagementRecord],
    now: DateTime<Utc>,
) -> Vec<CalEvent> {
    let record = records.iter().find(|r| r.id == e.id);
    let contractor = model.contractor_of(e);
    let tz = model.owner.timezone;
    let event = |uid: String, summary: String, description: String, span: Span| CalEvent {
        uid,
        sequence: 0,
        summary,
        description,
        span,
        attendee: None,
        alarm_before: None,
    };
    let mut out = Vec::new();
    for m in &e.milestones {
        let done = record
            .and_then(|r| r.milestones.iter().find(|s| s.id == m.id))
            .is_some_and(|s| s.state.is_terminal());
        if done {
            continue;
        }
        // The store's date, where one was agreed since the config was written.
        let due = record
            .and_then(|r| r.milestones.iter().find(|s| s.id == m.id))
            .map_or(m.due, |s| s.due);
        let local = due.with_timezone(&tz);
        let span = if local.time() == NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN)
        {
            Span::Day(local.date_naive())
        } else {
            Span::Between(due - TimeDelta::minutes(30), due)
        };
        out.push(event(
            format!("feed.{}.{}@handoff", e.id, m.id),
            format!("Due: {} ({})", m.title, contractor.name),
            format!("{}: {}", e.title, m.title),
            span,
        ));
    }
    if let Some(k) = e.kickoff {
        out.push(event(
            format!("feed.{}.kickoff@handoff", e.id),
            format!("Kickoff: {} with {}", e.title, contractor.name),
            format!("Kickoff call for {}", e.title),
            Span::Between(k, k + TimeDelta::minutes(30)),
        ));
    }
    if let Some(at) = occurrence::next_after(&e.evaluation, now) {
        out.push(event(
            format!("feed.{}.evaluation.{}@handoff", e.id, at.format("%Y%m%d")),
            format!("Evaluate {} ({})", contractor.name, e.title),
            format!("Evaluation of {} on {}", contractor.name, e.title),
            Span::Between(at, at + TimeDelta::minutes(30)),
        ));
    }
    if let Some(at) = e
        .payment
        .as_ref()
        .and_then(|p| occurrence::next_after(p, now))
    {
        out.push(event(
            format!("feed.{}.payment.{}@handoff", e.id, at.format("%Y%m%d")),
            format!("Payment due: {} ({})", contractor.name, e.title),
            e.payment_terms.clone().unwrap_or_default(),
            Span::Between(at, at + TimeDelta::minutes(30)),
        ));
    }
    out
}
