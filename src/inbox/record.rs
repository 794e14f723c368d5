//! Recording a reading: the inbound row, the journal event (and a second
//! one when the mail is two things), the state change it earns, the owner
//! notices it calls for, in one transaction; then a calendar part, if any,
//! goes to [`super::calendar_reply`].
//!
//! | kind | state change | owner notice |
//! |---|---|---|
//! | `delivery` | the chosen milestone → `delivered` | `notice_delivery` |
//! | `acknowledgement` | instructed milestones → `acknowledged` | none |
//! | `question` (or a second reading of one) | counts for the unanswered-question reminder | `notice_question` |
//! | `bounce` | mail to the contractor held | `notice_bounce`, with the report's status |
//! | any genuine mail from the contractor | a hold after a bounce is lifted | none |
//! | everything else | none | none |
//!
//! Each notice says what was understood and from which words, quotes the
//! new text (not the quote), and how to correct a misreading.

use super::calendar_reply;
use super::classify::{Context, Decision, Kind};
use super::milestone::{self, Chosen};
use super::parse::Facts;
use super::{Inbox, InboxError, Outcome, Source};
use crate::lifecycle::{MilestoneEvent, MilestoneState};
use crate::outbox::{ComposeError, MailRequest};
use crate::store::{Direction, NewEvent, NewInbound, NewOutboxMail, Store, StoreError};
use crate::templates::Purpose;
use crate::templates::lang::seen::translate;
use chrono::{DateTime, Utc};

/// How much of the new text the journal keeps, and a notice quotes.
const JOURNAL_EXCERPT: usize = 500;
const NOTICE_EXCERPT: usize = 1500;

/// The readings a milestone is chosen for (by the mail it cites or the one
/// it names; only these three also fall back to the earliest open one:
/// thanks or a message is about the engagement, not a milestone).
fn about_a_milestone(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Delivery
            | Kind::StatusReport
            | Kind::Question
            | Kind::Acknowledgement
            | Kind::Message
    )
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

/// The outcome of a reading, with its explanation.
pub(super) fn outcome(f: &Facts, ctx: &Context, d: &Decision, chosen: Option<&Chosen>) -> Outcome {
    let mut explain = vec![format!(
        "new text ({}): \u{ab}{}\u{bb}",
        if d.reading.lang.is_empty() {
            "en"
        } else {
            &d.reading.lang
        },
        one_line(&f.new_text, 300)
    )];
    explain.extend(f.split.explain());
    if let Some(c) = chosen {
        explain.push(format!(
            "milestone {}: rule \"{}\", {}",
            c.id, c.rule, c.why
        ));
    }
    if !d.also.is_empty() {
        let also: Vec<&str> = d.also.iter().map(|k| k.as_str()).collect();
        explain.push(format!("also recorded as: {}", also.join(", ")));
    }
    Outcome {
        kind: d.kind.as_str().to_string(),
        why: d.explained(),
        engagement: ctx.engagement.clone(),
        milestone: chosen.map(|c| c.id.clone()),
        also: d.also.iter().map(|k| k.as_str().to_string()).collect(),
        explain,
    }
}

/// What the calendar recorder found says which engagement and milestone
/// the mail was about (a calendar answer matches by UID, not by thread), and
/// whether it was the contractor's at all.
fn calendar_outcome(outcome: &mut Outcome, answers: &[calendar_reply::ReplyOutcome]) {
    use calendar_reply::ReplyOutcome as R;
    let mut any_theirs = false;
    for a in answers {
        let (engagement, item) = match a {
            R::Recorded {
                engagement, item, ..
            }
            | R::Countered {
                engagement, item, ..
            }
            | R::Refreshed { engagement, item } => {
                any_theirs = true;
                (engagement, Some(item))
            }
            R::IgnoredSender { engagement, .. } => (engagement, None),
            R::UnknownUid(_) => continue,
        };
        outcome.engagement.get_or_insert_with(|| engagement.clone());
        if let Some(item) = item.filter(|i| *i != "kickoff") {
            outcome.milestone.get_or_insert_with(|| item.clone());
        }
    }
    let ignored = answers.iter().any(|a| matches!(a, R::IgnoredSender { .. }));
    if ignored && !any_theirs {
        outcome.kind = Kind::IgnoredSender.as_str().to_string();
        outcome.why = format!(
            "{}; but the calendar's attendee or its sender is not the contractor: changes nothing",
            outcome.why
        );
    }
}

impl Inbox<'_> {
    /// The milestone a reading is about ([`milestone::choose`]).
    pub(super) fn choose_milestone(
        &self,
        store: &Store,
        ctx: &Context,
        kind: Kind,
        cited: Option<(&str, &str)>,
        f: &Facts,
    ) -> Result<Option<Chosen>, StoreError> {
        let Some(e) = ctx.engagement.as_deref() else {
            return Ok(None);
        };
        if !about_a_milestone(kind) || !ctx.from_contractor {
            return Ok(None);
        }
        let Some(record) = store.engagement(e)? else {
            return Ok(None);
        };
        Ok(milestone::choose(kind, &record, cited, &f.new_text))
    }

    /// Records a reading; see the module doc.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record(
        &self,
        store: &mut Store,
        facts: &Facts,
        source: &Source,
        ctx: &Context,
        d: &Decision,
        chosen: Option<Chosen>,
        mut outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Outcome, InboxError> {
        let kind = d.kind;
        // Read only for the kinds that move a milestone: intake of a backlog
        // is mostly other kinds, and a read per mail counts there.
        let record = match (&ctx.engagement, kind) {
            (Some(e), Kind::Delivery | Kind::Acknowledgement) => store.engagement(e)?,
            _ => None,
        };
        // A delivery moves the chosen milestone only if it is open for one.
        let delivered = chosen
            .as_ref()
            .filter(|_| kind == Kind::Delivery)
            .filter(|c| {
                record.as_ref().is_some_and(|r| {
                    r.milestones
                        .iter()
                        .any(|m| m.id == c.id && milestone::open(m.state))
                })
            })
            .map(|c| c.id.clone());
        let acknowledged: Vec<String> = match (kind, &record) {
            (Kind::Acknowledgement, Some(r)) => r
                .milestones
                .iter()
                .filter(|m| m.state == MilestoneState::Instructed)
                .map(|m| m.id.clone())
                .collect(),
            _ => Vec::new(),
        };
        let mut notices = Vec::new();
        if let Some(e) = &ctx.engagement {
            if kind == Kind::Delivery && delivered.is_some() {
                notices.push(self.notice(
                    Purpose::NoticeDelivery,
                    e,
                    chosen.as_ref(),
                    facts,
                    d,
                    now,
                )?);
            }
            if kind == Kind::Question || d.also.contains(&Kind::Question) {
                notices.push(self.notice(
                    Purpose::NoticeQuestion,
                    e,
                    chosen.as_ref(),
                    facts,
                    d,
                    now,
                )?);
            }
            if kind == Kind::Bounce {
                notices.push(self.notice(Purpose::NoticeBounce, e, None, facts, d, now)?);
            }
        }
        let message_id = facts.message_id.as_ref().map(|id| format!("<{id}>"));
        let excerpt: String = facts.new_text.chars().take(JOURNAL_EXCERPT).collect();
        let detail = match kind {
            Kind::IgnoredSender | Kind::Unparseable => d.seen.clone(),
            Kind::Bounce | Kind::DeliveryDelayed | Kind::ReadReceipt => facts
                .report
                .as_ref()
                .map_or_else(|| d.seen.clone(), |r| r.describe()),
            _ => excerpt.clone(),
        };
        let contractor = ctx
            .engagement
            .as_deref()
            .and_then(|e| self.contractor_address(e));
        store.transaction(|tx| {
            tx.record_inbound(
                &NewInbound {
                    account: source.account.clone(),
                    uid_validity: source.uid_validity,
                    uid: source.uid,
                    message_id: facts.message_id.clone(),
                    sender: facts.from.clone(),
                    subject: Some(facts.subject.clone()),
                    outcome: outcome.kind.clone(),
                    detail: Some(outcome.why.chars().take(JOURNAL_EXCERPT).collect()),
                },
                now,
            )?;
            let event = |kind: &str, detail: &str| NewEvent {
                kind: kind.to_string(),
                direction: Some(Direction::In),
                engagement: ctx.engagement.clone(),
                milestone: chosen.as_ref().map(|c| c.id.clone()),
                message_id: message_id.clone(),
                subject: Some(facts.subject.clone()),
                detail: Some(detail.to_string()),
            };
            tx.record_event(&event(kind.as_str(), &detail), now)?;
            for also in &d.also {
                tx.record_event(&event(also.as_str(), &excerpt), now)?;
            }
            if let (Some(e), Some(m)) = (&ctx.engagement, &delivered) {
                tx.apply_milestone(e, m, MilestoneEvent::Delivered, now)?;
            }
            if let Some(e) = &ctx.engagement {
                for m in &acknowledged {
                    tx.apply_milestone(e, m, MilestoneEvent::Acknowledged, now)?;
                }
            }
            for n in &notices {
                tx.enqueue(n, now)?;
            }
            // The silence clock: every genuine mail from the contractor
            // resets it, whatever its kind (`Kind::is_genuine` is the one
            // truth of what counts; the schedule reads only this record).
            if kind.is_genuine()
                && ctx.from_contractor
                && let Some(e) = &ctx.engagement
            {
                tx.record_contact(e, kind.as_str(), now)?;
            }
            // A bounce holds mail to the contractor's address (retrying a
            // dead address only makes more bounces); any genuine mail from
            // them shows the address works again.
            if let Some(address) = &contractor {
                if kind == Kind::Bounce {
                    tx.pause_recipient(address, &detail, now)?;
                } else if kind.is_genuine() && ctx.from_contractor {
                    tx.resume_recipient(address, now)?;
                }
            }
            Ok(())
        })?;
        if matches!(
            kind,
            Kind::CalendarReply | Kind::CalendarCounter | Kind::CalendarRefresh
        ) && let Some(from) = &facts.from
        {
            let mut answers = Vec::new();
            for ics in &facts.calendars {
                match calendar_reply::record(
                    self.model,
                    self.composer,
                    store,
                    ics,
                    from,
                    facts,
                    now,
                ) {
                    Ok(o) => answers.extend(o),
                    // A calendar that does not parse is the sender's fault,
                    // not a failure of the pipeline: the mail is recorded
                    // already, so say so in the journal and go on. (As an
                    // error it made `handoff ingest` exit 1 and a scan record
                    // a second, `failed` row for the same mail.)
                    Err(calendar_reply::RecordError::Reply(e)) => {
                        tracing::warn!(error = %e, "a calendar reply could not be read");
                        store.record_event(
                            &NewEvent {
                                kind: "calendar_unreadable".into(),
                                direction: Some(Direction::In),
                                engagement: ctx.engagement.clone(),
                                message_id: message_id.clone(),
                                detail: Some(format!("its calendar could not be read: {e}")),
                                ..Default::default()
                            },
                            now,
                        )?;
                        outcome.why = format!("{}; its calendar could not be read", outcome.why);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            calendar_outcome(&mut outcome, &answers);
        }
        Ok(outcome)
    }

    /// The owner notice that follows a reading: what was understood, from
    /// which words, the new text, and how to correct it.
    fn notice(
        &self,
        purpose: Purpose,
        engagement: &str,
        chosen: Option<&Chosen>,
        f: &Facts,
        d: &Decision,
        now: DateTime<Utc>,
    ) -> Result<NewOutboxMail, ComposeError> {
        let excerpt: String = f.new_text.chars().take(NOTICE_EXCERPT).collect();
        let message_id = f
            .message_id
            .as_ref()
            .map_or_else(|| "(no Message-ID)".to_string(), |id| format!("<{id}>"));
        let because = match purpose {
            // A delivery that also asks: its question notice says why it
            // reads as a question.
            Purpose::NoticeQuestion if d.kind != Kind::Question => {
                d.reading.question.clone().unwrap_or_else(|| d.seen.clone())
            }
            _ => d.seen.clone(),
        };
        // The reasons are kept in English (the journal's words); the owner
        // reads them in theirs.
        let owner = &self.model.owner;
        let words = owner.language.phrases();
        let mut extra: Vec<(&str, String)> = vec![
            ("excerpt", excerpt),
            ("because", translate(&because, words)),
            ("message_id", message_id),
            (
                "milestone_rule",
                chosen.map_or_else(String::new, |c| translate(&c.why, words)),
            ),
        ];
        match purpose {
            Purpose::NoticeDelivery => extra.push(("received", owner.reader().day(now))),
            Purpose::NoticeBounce => {
                extra.push((
                    "recipient",
                    self.contractor_address(engagement).unwrap_or_default(),
                ));
                extra.push((
                    "error",
                    f.report
                        .as_ref()
                        .map_or_else(|| d.seen.clone(), |r| r.describe()),
                ));
            }
            _ => {}
        }
        let milestone = match purpose {
            Purpose::NoticeBounce => None,
            _ => chosen.map(|c| c.id.clone()),
        };
        let req = MailRequest {
            purpose,
            engagement: engagement.to_string(),
            milestone,
            extra: extra.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            calendar: None,
        };
        let key = format!(
            "{purpose}/{engagement}/{}",
            f.message_id.as_deref().unwrap_or("no-message-id")
        );
        // A notice that can wait is held for the digest when the owner asked
        // for that (see sendtime::not_before).
        let not_before = self.model.engagement(engagement).map_or(now, |e| {
            crate::sendtime::not_before(self.model, e, purpose, now)
        });
        Ok(self
            .composer
            .compose(&req, None, now)?
            .into_outbox(key, &req, not_before))
    }
}
