//! Recording a contractor's calendar messages (iTIP, RFC 5546): which
//! milestone or meeting each answers (by UID), whether it may count (only
//! the engagement's contractor answers for it), and what follows:
//!
//! | message | what follows |
//! |---|---|
//! | REPLY, accepted or tentative | recorded |
//! | REPLY, declined | `notice_declined` to the owner |
//! | REPLY, delegated | `notice_delegated` to the owner (who it went to) |
//! | COUNTER ([`counter`]) | `notice_counter` to the owner with the proposed date; the owner accepts or declines ([`crate::actions`]) |
//! | REFRESH ([`counter`]) | the current invitation goes again |
//!
//! The inbox feeds calendar parts here; recording the event and queueing
//! what follows is one transaction. [`crate::calendar`] parses the text;
//! what it means is decided here.

mod counter;

use super::parse::Facts;
use crate::calendar::{PartStat, ReplyError, parse_reply};
use crate::model::Model;
use crate::outbox::{ComposeError, Composer, MailRequest};
use crate::store::{Direction, NewEvent, Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, Utc};

/// What became of one answer in a REPLY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Recorded against the engagement; `item` is the milestone id or
    /// `kickoff`.
    Recorded {
        engagement: String,
        item: String,
        partstat: PartStat,
    },
    /// The attendee or the sender is not the engagement's contractor: nothing
    /// changes but an `ignored_sender` event.
    IgnoredSender { engagement: String, who: String },
    /// No milestone or meeting of ours has this UID.
    UnknownUid(String),
    /// A counter-proposal, told to the owner; `proposed` the due date it
    /// proposes, if it could be read.
    Countered {
        engagement: String,
        item: String,
        proposed: Option<DateTime<Utc>>,
    },
    /// The invitation was queued again.
    Refreshed { engagement: String, item: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("composing the owner notice: {0}")]
    Compose(#[from] ComposeError),
}

/// Reads a calendar part sent by `sender` (REPLY, COUNTER or REFRESH) and
/// records what it says.
pub fn record(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    ics: &str,
    sender: &str,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<Vec<ReplyOutcome>, RecordError> {
    let method = ics
        .lines()
        .find_map(|l| {
            let l = l.trim();
            l.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("METHOD:"))
                .map(|_| l[7..].trim().to_ascii_uppercase())
        })
        .unwrap_or_default();
    match method.as_str() {
        "COUNTER" => counter::record_counter(model, composer, store, ics, sender, facts, now),
        "REFRESH" => counter::record_refresh(model, composer, store, ics, sender, facts, now),
        _ => record_reply(model, composer, store, ics, sender, now),
    }
}

/// The contractor's address, lower-cased.
fn contractor_address(model: &Model, e: &crate::model::Engagement) -> String {
    model
        .contractor_of(e)
        .email
        .to_string()
        .to_ascii_lowercase()
}

/// Journals that a calendar message came from someone other than the
/// contractor: nothing else happens.
fn ignored(
    store: &Store,
    engagement: &str,
    milestone: Option<String>,
    who: &str,
    what: &str,
    now: DateTime<Utc>,
) -> Result<ReplyOutcome, StoreError> {
    store.record_event(
        &NewEvent {
            kind: "ignored_sender".into(),
            direction: Some(Direction::In),
            engagement: Some(engagement.to_string()),
            milestone,
            detail: Some(format!("{what} by {who}, not the contractor")),
            ..Default::default()
        },
        now,
    )?;
    Ok(ReplyOutcome::IgnoredSender {
        engagement: engagement.to_string(),
        who: who.to_string(),
    })
}

/// The milestone's title (or "the kickoff call") and its time, in the
/// owner's words (their notices say them).
fn title_and_when(
    model: &Model,
    store: &Store,
    e: &crate::model::Engagement,
    milestone: Option<&str>,
) -> Result<(String, String), StoreError> {
    let owner = model.owner.reader();
    Ok(match milestone {
        Some(m) => {
            let record = store
                .engagement(&e.id)?
                .and_then(|r| r.milestones.into_iter().find(|x| x.id == m));
            match record {
                Some(r) => (r.title, owner.due(r.due, model.owner.timezone)),
                None => (m.to_string(), String::new()),
            }
        }
        None => (
            crate::templates::lang::fill(
                model.owner.language.phrases().kickoff_call,
                &[("title", &e.title)],
            ),
            e.kickoff.map(|k| owner.time(k)).unwrap_or_default(),
        ),
    })
}

/// Reads a REPLY sent by `sender` and records each answer in it.
pub fn record_reply(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    ics: &str,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ReplyOutcome>, RecordError> {
    let sender = sender.trim().to_ascii_lowercase();
    let mut outcomes = Vec::new();
    for reply in parse_reply(ics)? {
        let Some((engagement, item)) = find(model, store, &reply.uid)? else {
            outcomes.push(ReplyOutcome::UnknownUid(reply.uid));
            continue;
        };
        let Some(e) = model.engagement(&engagement) else {
            outcomes.push(ReplyOutcome::UnknownUid(reply.uid));
            continue;
        };
        let contractor = contractor_address(model, e);
        let milestone = (item != "kickoff").then(|| item.clone());
        if reply.attendee != contractor || sender != contractor {
            let who = if reply.attendee != contractor {
                &reply.attendee
            } else {
                &sender
            };
            outcomes.push(ignored(
                store,
                &engagement,
                milestone,
                who,
                "calendar reply",
                now,
            )?);
            continue;
        }
        let (title, when) = title_and_when(model, store, e, milestone.as_deref())?;
        let notice = match &reply.partstat {
            PartStat::Declined | PartStat::Delegated => {
                let (purpose, prefix) = if reply.partstat == PartStat::Declined {
                    (Purpose::NoticeDeclined, "notice_declined")
                } else {
                    (Purpose::NoticeDelegated, "notice_delegated")
                };
                let mut extra: std::collections::BTreeMap<String, String> =
                    [("what", title.clone()), ("when", when)]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect();
                if purpose == Purpose::NoticeDelegated {
                    extra.insert(
                        "to".into(),
                        reply
                            .delegated_to
                            .clone()
                            .unwrap_or_else(|| "someone it does not name".into()),
                    );
                }
                let req = MailRequest {
                    purpose,
                    engagement: engagement.clone(),
                    milestone: milestone.clone(),
                    extra,
                    calendar: None,
                };
                let key = format!("{prefix}/{engagement}/{item}/{}", now.format("%Y-%m-%d"));
                Some(
                    composer
                        .compose(&req, None, now)?
                        .into_outbox(key, &req, now),
                )
            }
            _ => None,
        };
        let detail = match &reply.delegated_to {
            Some(to) => format!("{} to {to}", reply.partstat.as_str()),
            None => reply.partstat.as_str().to_string(),
        };
        store.transaction(|tx| {
            tx.record_event(
                &NewEvent {
                    kind: "calendar_reply".into(),
                    direction: Some(Direction::In),
                    engagement: Some(engagement.clone()),
                    milestone: milestone.clone(),
                    subject: Some(title.clone()),
                    detail: Some(detail.clone()),
                    ..Default::default()
                },
                now,
            )?;
            if let Some(n) = &notice {
                tx.enqueue(n, now)?;
            }
            Ok(())
        })?;
        outcomes.push(ReplyOutcome::Recorded {
            engagement,
            item,
            partstat: reply.partstat,
        });
    }
    Ok(outcomes)
}

/// The engagement and item (milestone id, or `kickoff`) a UID belongs to.
fn find(model: &Model, store: &Store, uid: &str) -> Result<Option<(String, String)>, StoreError> {
    if let Some(found) = store.milestone_by_uid(uid)? {
        return Ok(Some(found));
    }
    for e in &model.engagements {
        let stored = store.scheduler_get(&format!("kickoff/{}", e.id))?;
        if stored.as_deref().and_then(|v| v.split(' ').next()) == Some(uid) {
            return Ok(Some((e.id.clone(), "kickoff".to_string())));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
