//! A contractor's COUNTER (a proposed new date) and REFRESH (the invitation
//! asked for again).
//!
//! A counter is told to the owner (`notice_counter`, with the date proposed
//! and the date agreed) and remembered as the milestone's pending proposal
//! ([`crate::actions::counter`]); the owner accepts or declines it by reply
//! or command. A counter for the kickoff call is told too: its time is the
//! config's `kickoff`, which only the owner edits. A refresh queues the
//! current invitation again, unchanged (same UID and SEQUENCE).

use super::{RecordError, ReplyOutcome, contractor_address, find, ignored, title_and_when};
use crate::calendar::{When, parse_counter, parse_refresh};
use crate::inbox::parse::Facts;
use crate::model::{Engagement, Model};
use crate::outbox::{Composer, MailRequest};
use crate::store::{Direction, NewEvent, Store};
use crate::templates::Purpose;
use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// A milestone is due at the end of a day (23:59:59 in the owner's zone)
/// or at a time; a proposal says which: a whole day, or the event's end.
fn proposed_due(start: Option<When>, end: Option<When>, tz: Tz) -> Option<DateTime<Utc>> {
    let end_of = |d: chrono::NaiveDate| {
        let t = d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
        tz.from_local_datetime(&t)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let instant = |w: When| match w {
        When::Instant(t) => Some(t),
        When::Floating(t) => tz
            .from_local_datetime(&t)
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
        When::Date(_) => None,
    };
    match (start, end) {
        // An all-day event's DTEND is the day after (exclusive): the day
        // proposed is the start.
        (Some(When::Date(d)), _) => end_of(d),
        (_, Some(e)) if instant(e).is_some() => instant(e),
        (Some(s), _) => instant(s).map(|t| t + TimeDelta::minutes(30)),
        (None, Some(When::Date(d))) => end_of(d.pred_opt()?),
        (None, Some(_)) | (None, None) => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn queue(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    e: &Engagement,
    key: String,
    req: MailRequest,
    event: NewEvent,
    also: impl FnOnce(&crate::store::Tx<'_>) -> Result<(), crate::store::StoreError>,
    now: DateTime<Utc>,
) -> Result<(), RecordError> {
    let recipient = if req.purpose.is_owner_notice() {
        model.owner.email.to_string()
    } else {
        model.contractor_of(e).email.to_string()
    };
    let root = store.thread_root(&e.id, &recipient)?;
    let not_before = crate::sendtime::not_before(model, e, req.purpose, now);
    let mail = composer
        .compose(&req, root.as_deref(), now)?
        .into_outbox(key, &req, not_before);
    store.transaction(|tx| {
        tx.record_event(&event, now)?;
        tx.enqueue(&mail, now)?;
        also(tx)
    })?;
    Ok(())
}

/// A COUNTER's or REFRESH's item, found and answered by the contractor
/// themselves.
struct Found<'m> {
    engagement: String,
    item: String,
    e: &'m Engagement,
    milestone: Option<String>,
}

/// Finds the item `uid` names and checks that the contractor both wrote
/// the mail (`sender`, lower-cased) and is the calendar's attendee;
/// otherwise the outcome that says why not (already recorded when it is a
/// stranger's).
fn item<'m>(
    model: &'m Model,
    store: &mut Store,
    uid: &str,
    attendee: &str,
    sender: &str,
    what: &str,
    now: DateTime<Utc>,
) -> Result<Result<Found<'m>, ReplyOutcome>, RecordError> {
    let unknown = || Err(ReplyOutcome::UnknownUid(uid.to_string()));
    let Some((engagement, item)) = find(model, store, uid)? else {
        return Ok(unknown());
    };
    let Some(e) = model.engagement(&engagement) else {
        return Ok(unknown());
    };
    let milestone = (item != "kickoff").then(|| item.clone());
    let contractor = contractor_address(model, e);
    if attendee != contractor || sender != contractor {
        let who = if attendee != contractor {
            attendee
        } else {
            sender
        };
        return Ok(Err(ignored(store, &engagement, milestone, who, what, now)?));
    }
    Ok(Ok(Found {
        engagement,
        item,
        e,
        milestone,
    }))
}

/// Reads a COUNTER and tells the owner of each proposal in it.
pub(super) fn record_counter(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    ics: &str,
    sender: &str,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<Vec<ReplyOutcome>, RecordError> {
    let sender = sender.trim().to_ascii_lowercase();
    let message_id = facts.message_id.as_ref().map(|id| format!("<{id}>"));
    let mut outcomes = Vec::new();
    for counter in parse_counter(ics)? {
        let found = item(
            model,
            store,
            &counter.uid,
            &counter.attendee,
            &sender,
            "counter-proposal",
            now,
        )?;
        let Found {
            engagement,
            item,
            e,
            milestone,
        } = match found {
            Ok(found) => found,
            Err(outcome) => {
                outcomes.push(outcome);
                continue;
            }
        };
        let tz = model.owner.timezone;
        let (title, current) = title_and_when(model, store, e, milestone.as_deref())?;
        let due = proposed_due(counter.start, counter.end, tz);
        // The journal keeps the date in the log's words; the owner's
        // notice in theirs.
        let proposed = due.map_or_else(
            || "(a date Handoff could not read)".to_string(),
            |d| crate::templates::local_time(d, tz),
        );
        let proposed_for_owner = due.map_or_else(
            || model.owner.language.phrases().date_unreadable.to_string(),
            |d| model.owner.reader().time(d),
        );
        let comment = counter.comment.clone().unwrap_or_default();
        let mut req = MailRequest {
            purpose: Purpose::NoticeCounter,
            engagement: engagement.clone(),
            milestone: milestone.clone(),
            extra: [
                ("what", title.clone()),
                ("current", current),
                ("proposed", proposed_for_owner),
                ("comment", comment.clone()),
                (
                    "answerable",
                    if milestone.is_some() && due.is_some() {
                        "yes"
                    } else {
                        "no"
                    }
                    .to_string(),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            calendar: None,
        };
        req.extra.insert(
            "new_text".into(),
            facts.new_text.chars().take(1500).collect(),
        );
        let key = format!(
            "notice_counter/{engagement}/{item}/{}",
            facts.message_id.as_deref().unwrap_or("no-message-id")
        );
        let event = NewEvent {
            kind: "calendar_counter".into(),
            direction: Some(Direction::In),
            engagement: Some(engagement.clone()),
            milestone: milestone.clone(),
            message_id: message_id.clone(),
            subject: Some(title.clone()),
            detail: Some(match &counter.comment {
                Some(c) => format!("proposes {proposed}: {c}"),
                None => format!("proposes {proposed}"),
            }),
        };
        let pending = match (&milestone, due) {
            (Some(m), Some(due)) => Some(crate::actions::counter::PendingCounter {
                engagement: engagement.clone(),
                milestone: m.clone(),
                proposed: due,
                message_id: message_id.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        queue(
            model,
            composer,
            store,
            e,
            key,
            req,
            event,
            |tx| match &pending {
                Some(p) => crate::actions::counter::remember(tx, p, now),
                None => Ok(()),
            },
            now,
        )?;
        outcomes.push(ReplyOutcome::Countered {
            engagement,
            item,
            proposed: due,
        });
    }
    Ok(outcomes)
}

/// Reads a REFRESH and sends each invitation it asks for again.
pub(super) fn record_refresh(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    ics: &str,
    sender: &str,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<Vec<ReplyOutcome>, RecordError> {
    let sender = sender.trim().to_ascii_lowercase();
    let message_id = facts.message_id.as_ref().map(|id| format!("<{id}>"));
    let mut outcomes = Vec::new();
    for refresh in parse_refresh(ics)? {
        let found = item(
            model,
            store,
            &refresh.uid,
            &refresh.attendee,
            &sender,
            "refresh request",
            now,
        )?;
        let Found {
            engagement,
            item,
            e,
            milestone,
        } = match found {
            Ok(found) => found,
            Err(outcome) => {
                outcomes.push(outcome);
                continue;
            }
        };
        let req = match &milestone {
            Some(m) => {
                let Some(record) = store
                    .engagement(&engagement)?
                    .and_then(|r| r.milestones.into_iter().find(|x| &x.id == m))
                else {
                    continue;
                };
                crate::invite::milestone_request(model, e, &record, now)
            }
            None => {
                let state = store.scheduler_get(&format!("kickoff/{engagement}"))?;
                let (uid, sequence, start) =
                    crate::invite::kickoff_state(state.as_deref().unwrap_or_default());
                let Some(start) = DateTime::parse_from_rfc3339(&start)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
                    .or(e.kickoff)
                else {
                    continue;
                };
                crate::invite::kickoff_request(model, e, uid, sequence, start, now)
            }
        };
        let key = format!(
            "refresh/{engagement}/{item}/{}",
            facts.message_id.as_deref().unwrap_or("no-message-id")
        );
        let event = NewEvent {
            kind: "calendar_refresh".into(),
            direction: Some(Direction::In),
            engagement: Some(engagement.clone()),
            milestone: milestone.clone(),
            message_id: message_id.clone(),
            detail: Some("the current invitation goes again".into()),
            ..Default::default()
        };
        queue(model, composer, store, e, key, req, event, |_| Ok(()), now)?;
        outcomes.push(ReplyOutcome::Refreshed { engagement, item });
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_proposal_is_a_day_or_an_end() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        let day = proposed_due(
            Some(When::Date(d)),
            Some(When::Date(d.succ_opt().unwrap())),
            tz,
        );
        assert_eq!(day.unwrap().to_rfc3339(), "2026-12-10T22:59:59+00:00");
        let start = DateTime::parse_from_rfc3339("2026-12-10T14:00:00Z")
            .unwrap()
            .to_utc();
        let end = start + TimeDelta::minutes(30);
        assert_eq!(
            proposed_due(Some(When::Instant(start)), Some(When::Instant(end)), tz),
            Some(end)
        );
        assert_eq!(
            proposed_due(Some(When::Instant(start)), None, tz),
            Some(end),
            "a start alone: the half-hour event ends 30 minutes later"
        );
        assert_eq!(proposed_due(None, None, tz), None);
    }
}
