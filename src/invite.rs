//! The calendar side of milestones and meetings: the event each one is, and
//! the invitation (REQUEST), update or cancellation (CANCEL) mail that
//! carries it (iMIP, RFC 6047; iTIP, RFC 5546).
//!
//! # What it owns
//! - the [`CalEvent`] of a milestone (its stored UID and SEQUENCE, all-day on
//!   a due date, a half-hour ending at a due time) and of a kickoff call (30
//!   minutes, its UID and SEQUENCE kept in scheduler state);
//! - the [`MailRequest`]s that carry them.
//!
//! # How data moves
//! In: the checked [`Model`] and the store's milestone records (or the
//! kickoff's scheduler state). Out: mail requests, which the caller queues:
//! the pass sends invitations and withdraws removed milestones, the owner's
//! `end` withdraws what is still open. Nothing here queues, reads the store or
//! decides *whether* a mail is due; [`crate::calendar`] renders the text.

use crate::calendar::{self, CalEvent, Method, Party, Span};
use crate::model::{Engagement, Model};
use crate::outbox::compose::subject_tag;
use crate::outbox::{CalendarPart, MailRequest};
use crate::store::MilestoneRecord;
use crate::templates::Purpose;
use crate::templates::local_time;
use chrono::{DateTime, TimeDelta, Utc};

/// A mail of `purpose` about engagement `e`, with no milestone or extras yet.
pub fn request(e: &Engagement, purpose: Purpose) -> MailRequest {
    MailRequest {
        purpose,
        engagement: e.id.clone(),
        milestone: None,
        extra: Default::default(),
        calendar: None,
    }
}

/// The owner, as organizer of every event.
pub fn organizer(model: &Model) -> Party {
    Party {
        name: model.owner.name.clone(),
        email: model.owner.email.clone(),
    }
}

/// The engagement's contractor, as the one attendee.
pub fn attendee(model: &Model, e: &Engagement) -> Party {
    let contractor = model.contractor_of(e);
    Party {
        name: contractor.name.clone(),
        email: contractor.email.clone(),
    }
}

/// The kickoff's scheduler state, "UID SEQUENCE START": what the invitation
/// sent last said.
pub fn kickoff_state(v: &str) -> (String, u32, String) {
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
pub fn kickoff_event(
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
        tentative: false,
    }
}

/// The `invite_cancel` mail withdrawing a kickoff invitation that was sent
/// and has not happened yet (the owner ended the engagement), with the
/// scheduler state to store with it (SEQUENCE raised); `None` when there is
/// nothing to withdraw.
pub fn kickoff_cancel(
    model: &Model,
    e: &Engagement,
    state: Option<&str>,
    now: DateTime<Utc>,
) -> Option<(String, MailRequest, String)> {
    let start = e.kickoff.filter(|k| *k > now)?;
    let (uid, sequence, _) = kickoff_state(state?);
    let sequence = sequence + 1;
    let event = kickoff_event(e, uid.clone(), sequence, start, attendee(model, e));
    let mut req = request(e, Purpose::InviteCancel);
    req.extra
        .insert("title".into(), format!("Kickoff call for {}", e.title));
    req.extra.insert(
        "due".into(),
        local_time(start, model.contractor_of(e).timezone),
    );
    req.calendar = Some(CalendarPart {
        method: Method::Cancel,
        ics: calendar::build(Method::Cancel, &organizer(model), &[event], now),
    });
    Some((
        format!("kickoff_cancel/{}/{sequence}", e.id),
        req,
        format!("{uid} {sequence} {}", start.to_rfc3339()),
    ))
}

/// A milestone as a calendar event: the one invitation, update or
/// cancellation the contractor's calendar keeps under the milestone's UID.
pub fn milestone_event(model: &Model, e: &Engagement, m: &MilestoneRecord) -> CalEvent {
    CalEvent {
        uid: m.calendar_uid.clone(),
        sequence: u32::try_from(m.sequence).unwrap_or(u32::MAX),
        summary: format!("Due: {} {}", m.title, subject_tag(&e.id)),
        description: format!("{} ({})", m.title, e.title),
        span: Span::of_due(m.due, model.owner.timezone),
        attendee: Some(attendee(model, e)),
        alarm_before: Some(TimeDelta::days(1)),
        tentative: false,
    }
}

/// The `invite_cancel` mail withdrawing a milestone's invitation
/// (`METHOD:CANCEL` under its UID, RFC 5546 §3.2.5): for a milestone removed
/// from the config here, and for the open milestones of an engagement the
/// owner ends ([`crate::actions`]). `m.sequence` must already be raised.
pub fn cancel_request(
    model: &Model,
    e: &Engagement,
    m: &MilestoneRecord,
    now: DateTime<Utc>,
) -> MailRequest {
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
            &organizer(model),
            &[milestone_event(model, e, m)],
            now,
        ),
    });
    req
}

/// The `milestone_invite` mail: the REQUEST under the milestone's UID, an
/// update when its SEQUENCE has been raised.
pub fn milestone_request(
    model: &Model,
    e: &Engagement,
    m: &MilestoneRecord,
    now: DateTime<Utc>,
) -> MailRequest {
    let mut req = request(e, Purpose::MilestoneInvite);
    req.milestone = Some(m.id.clone());
    let update = if m.sequence > 0 { "yes" } else { "no" };
    req.extra.insert("update".into(), update.into());
    req.calendar = Some(CalendarPart {
        method: Method::Request,
        ics: calendar::build(
            Method::Request,
            &organizer(model),
            &[milestone_event(model, e, m)],
            now,
        ),
    });
    req
}

/// The `kickoff` mail: the REQUEST for the kickoff call at `start`.
pub fn kickoff_request(
    model: &Model,
    e: &Engagement,
    uid: String,
    sequence: u32,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> MailRequest {
    let event = kickoff_event(e, uid, sequence, start, attendee(model, e));
    let mut req = request(e, Purpose::Kickoff);
    req.calendar = Some(CalendarPart {
        method: Method::Request,
        ics: calendar::build(Method::Request, &organizer(model), &[event], now),
    });
    req
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Span;
    use crate::store::Store;
    use chrono::NaiveDate;
    use std::path::Path;

    #[test]
    fn a_milestone_due_on_a_date_is_invited_on_the_owners_date() {
        // The owner in Los Angeles, the contractor in Manila: the end of 5
        // December for the owner is the afternoon of the 6th for Dana.
        let src = crate::config::EXAMPLE
            .replacen("\"Europe/Berlin\"", "\"America/Los_Angeles\"", 1)
            .replacen("\"America/New_York\"", "\"Asia/Manila\"", 1);
        let model = crate::config::parse(Path::new("t.toml"), &src, Path::new("/tmp"), None)
            .unwrap()
            .model;
        let mut store = Store::open_in_memory().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-24T17:00:00Z")
            .unwrap()
            .to_utc();
        store
            .reconcile(&crate::planned::engagements(&model), now)
            .unwrap();
        let record = &store.engagements().unwrap()[0];
        let wireframes = record
            .milestones
            .iter()
            .find(|m| m.id == "wireframes")
            .unwrap();
        let e = &model.engagements[0];
        let event = milestone_event(&model, e, wireframes);
        assert_eq!(
            event.span,
            Span::Day(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap())
        );
        let ics = milestone_request(&model, e, wireframes, now)
            .calendar
            .unwrap()
            .ics;
        assert!(ics.contains("DTSTART;VALUE=DATE:20261205\r\n"), "{ics}");
        assert!(ics.contains("DTEND;VALUE=DATE:20261206\r\n"), "{ics}");
    }
}
