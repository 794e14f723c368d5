//! Recording a calendar REPLY: which milestone or meeting it answers (by UID),
//! whether it may count (only the engagement's contractor answers for it),
//! and what follows (a decline is an owner notice). The inbox feeds replies
//! here; recording the event and queueing the notice is one transaction.
//! [`crate::calendar`] parses the text; what it means is decided here.

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
        let contractor = model
            .contractor_of(e)
            .email
            .to_string()
            .to_ascii_lowercase();
        let milestone = (item != "kickoff").then(|| item.clone());
        if reply.attendee != contractor || sender != contractor {
            let who = if reply.attendee != contractor {
                &reply.attendee
            } else {
                &sender
            };
            store.record_event(
                &NewEvent {
                    kind: "ignored_sender".into(),
                    direction: Some(Direction::In),
                    engagement: Some(engagement.clone()),
                    milestone,
                    detail: Some(format!("calendar reply by {who}, not the contractor")),
                    ..Default::default()
                },
                now,
            )?;
            outcomes.push(ReplyOutcome::IgnoredSender {
                engagement,
                who: who.clone(),
            });
            continue;
        }
        let title = match &milestone {
            Some(m) => e
                .milestones
                .iter()
                .find(|x| &x.id == m)
                .map_or_else(|| m.clone(), |x| x.title.clone()),
            None => crate::templates::lang::fill(
                model.owner.language.phrases().kickoff_call,
                &[("title", &e.title)],
            ),
        };
        let notice = if reply.partstat == PartStat::Declined {
            let when = match &milestone {
                Some(m) => e
                    .milestones
                    .iter()
                    .find(|x| &x.id == m)
                    .map(|x| model.owner.reader().due(x.due, model.owner.timezone)),
                None => e.kickoff.map(|k| model.owner.reader().time(k)),
            }
            .unwrap_or_default();
            let req = MailRequest {
                purpose: Purpose::NoticeDeclined,
                engagement: engagement.clone(),
                milestone: milestone.clone(),
                extra: [("what", title.clone()), ("when", when)]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                calendar: None,
            };
            let key = format!(
                "notice_declined/{engagement}/{item}/{}",
                now.format("%Y-%m-%d")
            );
            Some(
                composer
                    .compose(&req, None, now)?
                    .into_outbox(key, &req, now),
            )
        } else {
            None
        };
        store.transaction(|tx| {
            tx.record_event(
                &NewEvent {
                    kind: "calendar_reply".into(),
                    direction: Some(Direction::In),
                    engagement: Some(engagement.clone()),
                    milestone: milestone.clone(),
                    subject: Some(title.clone()),
                    detail: Some(reply.partstat.as_str().to_string()),
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
mod tests {
    use super::*;
    use crate::store::EventFilter;
    use crate::templates::Templates;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn reply(uid: &str, attendee: &str, partstat: &str) -> String {
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "METHOD:REPLY",
            "BEGIN:VEVENT",
            &format!("UID:{uid}"),
            "DTSTAMP:20261124T100000Z",
            &format!("ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}"),
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
        .join("\r\n")
    }

    fn setup() -> (Model, Templates, Store, String) {
        let base = std::env::temp_dir();
        let model = crate::config::parse(
            std::path::Path::new("handoff.toml"),
            crate::config::EXAMPLE,
            &base,
            None,
        )
        .unwrap()
        .model;
        let templates = Templates::load(None).unwrap();
        let mut store = Store::open_in_memory().unwrap();
        store
            .reconcile(
                &crate::planned::engagements(&model),
                t("2026-11-24T09:00:00Z"),
            )
            .unwrap();
        let uid = store.engagements().unwrap()[0]
            .milestones
            .iter()
            .find(|m| m.id == "wireframes")
            .unwrap()
            .calendar_uid
            .clone();
        (model, templates, store, uid)
    }

    #[test]
    fn an_acceptance_is_recorded_and_asks_nothing_of_the_owner() {
        let (model, templates, mut store, uid) = setup();
        let composer = Composer {
            model: &model,
            templates: &templates,
        };
        let out = record_reply(
            &model,
            &composer,
            &mut store,
            &reply(&uid, "Dana@Example.test", "ACCEPTED"),
            "dana@example.test",
            t("2026-11-24T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            out,
            [ReplyOutcome::Recorded {
                engagement: "website".into(),
                item: "wireframes".into(),
                partstat: PartStat::Accepted
            }]
        );
        let e = store
            .events(&EventFilter::default())
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(
            (e.kind.as_str(), e.detail.as_deref()),
            ("calendar_reply", Some("accepted"))
        );
        assert_eq!(e.direction, Direction::In);
        assert_eq!(store.outbox_depth().unwrap(), 0);
    }

    #[test]
    fn a_decline_tells_the_owner() {
        let (model, templates, mut store, uid) = setup();
        let composer = Composer {
            model: &model,
            templates: &templates,
        };
        record_reply(
            &model,
            &composer,
            &mut store,
            &reply(&uid, "dana@example.test", "DECLINED"),
            "dana@example.test",
            t("2026-11-24T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(store.outbox_depth().unwrap(), 1);
        let mail = store
            .due_outbox(t("2026-11-24T10:00:00Z"), 1)
            .unwrap()
            .remove(0);
        assert_eq!(mail.purpose, "notice_declined");
        assert_eq!(mail.recipient, "ada@example.test");
        assert!(
            mail.subject.contains("declined Wireframes"),
            "{}",
            mail.subject
        );
    }

    #[test]
    fn a_stranger_answering_changes_nothing() {
        let (model, templates, mut store, uid) = setup();
        let composer = Composer {
            model: &model,
            templates: &templates,
        };
        let out = record_reply(
            &model,
            &composer,
            &mut store,
            &reply(&uid, "eve@example.test", "DECLINED"),
            "eve@example.test",
            t("2026-11-24T10:00:00Z"),
        )
        .unwrap();
        assert!(
            matches!(&out[0], ReplyOutcome::IgnoredSender { who, .. } if who == "eve@example.test")
        );
        assert_eq!(store.outbox_depth().unwrap(), 0, "no notice earned");
        let e = store
            .events(&EventFilter::default())
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(e.kind, "ignored_sender");
        // Dana's attendee line forwarded by Eve does not count either.
        let out = record_reply(
            &model,
            &composer,
            &mut store,
            &reply(&uid, "dana@example.test", "DECLINED"),
            "eve@example.test",
            t("2026-11-24T10:00:00Z"),
        )
        .unwrap();
        assert!(matches!(&out[0], ReplyOutcome::IgnoredSender { .. }));
        assert_eq!(store.outbox_depth().unwrap(), 0);
    }

    #[test]
    fn an_unknown_uid_is_reported_not_recorded() {
        let (model, templates, mut store, _) = setup();
        let composer = Composer {
            model: &model,
            templates: &templates,
        };
        let before = store.events(&EventFilter::default()).unwrap().len();
        let out = record_reply(
            &model,
            &composer,
            &mut store,
            &reply("nope@x", "dana@example.test", "ACCEPTED"),
            "dana@example.test",
            t("2026-11-24T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(out, [ReplyOutcome::UnknownUid("nope@x".into())]);
        assert_eq!(store.events(&EventFilter::default()).unwrap().len(), before);
    }
}
