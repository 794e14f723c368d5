//! Mail in: one pipeline for every source (the IMAP and Maildir watchers to
//! come, and `handoff ingest FILE.eml`): parse → dedupe → match → classify →
//! record.
//!
//! - parse ([`parse`]): mail-parser, any charset or encoding; a mail that does
//!   not parse, or is larger than [`parse::MAX_MAIL_BYTES`], is recorded as
//!   `unparseable`/`too_large` and skipped, never a crash.
//! - dedupe: by (account, UIDVALIDITY, UID) and by Message-ID, so nothing is
//!   processed twice, also across a UIDVALIDITY change.
//! - match: In-Reply-To/References against the Message-IDs Handoff sent; for
//!   clients that drop them, the engagement tag `[id]` in the subject from
//!   that engagement's contractor.
//! - classify ([`classify::RULES`]): a table, first match wins.
//! - record: the inbound row, the event, the state transition and any owner
//!   notice commit in one transaction. The inbox never sends: it queues, and
//!   the outbox sends.
//! - the owner's replies to notices may carry a command (`accept`, `redo:`,
//!   …): `owner` hands them to [`crate::actions`]; the owner's Sent folder
//!   ([`sent`]) only ever marks questions answered.
//!
//! # Where it stands
//! After the outbox and the owner's acts (it queues notices and performs acts
//! by reply), before the pass: it must not import the pass, the schedule's
//! deciding side, the daemon or the CLI, and it never sends.

mod calendar_reply;
pub mod classify;
pub mod imap_watch;
pub mod maildir;
pub mod new_text;
mod owner;
pub mod parse;
pub mod sent;

use crate::lifecycle::{MilestoneEvent, MilestoneState};
use crate::model::Model;
use crate::outbox::{ComposeError, Composer, MailRequest};
use crate::store::{Direction, NewEvent, NewInbound, NewOutboxMail, Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, Utc};
use classify::{Context, Kind};

/// Where a mail came from: its place in a mailbox.
#[derive(Debug, Clone)]
pub struct Source {
    pub account: String,
    pub uid_validity: u32,
    pub uid: u32,
    /// Only the header was fetched: the server reported the mail larger
    /// than [`parse::MAX_MAIL_BYTES`], so it is recorded as `too_large`
    /// without downloading it.
    pub truncated: bool,
}

/// What became of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// A [`Kind`] name, or `duplicate`, `unparseable`, `too_large`.
    pub kind: String,
    pub why: String,
    pub engagement: Option<String>,
    pub milestone: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("composing an owner notice: {0}")]
    Compose(#[from] ComposeError),
    #[error(transparent)]
    Calendar(#[from] calendar_reply::RecordError),
}

/// The pipeline, for one model.
pub struct Inbox<'a> {
    pub model: &'a Model,
    pub composer: &'a Composer<'a>,
}

impl Inbox<'_> {
    /// Runs one mail through the pipeline. With `dry_run`, nothing is written.
    pub fn ingest(
        &self,
        store: &mut Store,
        raw: &[u8],
        source: &Source,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Outcome, InboxError> {
        if store.inbound_seen(&source.account, source.uid_validity, source.uid)? {
            return Ok(skip("duplicate", "this mailbox UID was processed before"));
        }
        if source.truncated || raw.len() > parse::MAX_MAIL_BYTES {
            let o = skip(
                "too_large",
                "larger than the size limit; recorded and skipped",
            );
            if !dry_run {
                record_skipped(store, source, None, &o, now)?;
            }
            return Ok(o);
        }
        let Some(facts) = parse::parse(raw) else {
            let o = skip(
                "unparseable",
                "not a mail the parser could read; recorded and skipped",
            );
            if !dry_run {
                record_skipped(store, source, None, &o, now)?;
            }
            return Ok(o);
        };
        if let Some(id) = &facts.message_id
            && store.transaction(|tx| tx.message_id_seen(id))?
        {
            return Ok(skip("duplicate", "this Message-ID was processed before"));
        }
        let (mut ctx, milestone) = self.matching(store, &facts)?;
        let owner = self.model.owner.email.to_string().to_ascii_lowercase();
        ctx.from_owner = facts.from.as_deref() == Some(owner.as_str());
        let rule = classify::classify(&facts, &ctx);
        if !dry_run && matches!(rule.kind, Kind::OwnerCommand | Kind::OwnerCommandRejected) {
            return self.owner_command(store, &facts, &ctx, milestone, rule.kind, source, now);
        }
        let mut outcome = Outcome {
            kind: rule.kind.as_str().to_string(),
            why: rule.why.to_string(),
            engagement: ctx.engagement.clone(),
            milestone: None,
        };
        if dry_run {
            return Ok(outcome);
        }
        // The milestone a delivery is for: the one the cited mail was about,
        // else the earliest one still open for delivery.
        let delivered = match (rule.kind, &ctx.engagement) {
            (Kind::Delivery, Some(e)) => self.delivery_target(store, e, milestone.as_deref())?,
            _ => None,
        };
        outcome.milestone = delivered.clone();
        let notice = self.notice(rule.kind, &ctx, delivered.as_deref(), &facts, now)?;
        let acknowledged: Vec<String> = match (rule.kind, &ctx.engagement) {
            (Kind::Acknowledgement, Some(e)) => store
                .engagements()?
                .into_iter()
                .find(|r| &r.id == e)
                .map(|r| {
                    r.milestones
                        .into_iter()
                        .filter(|m| m.state == MilestoneState::Instructed)
                        .map(|m| m.id)
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let excerpt: String = facts.new_text.chars().take(500).collect();
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
                    detail: Some(outcome.why.clone()),
                },
                now,
            )?;
            tx.record_event(
                &NewEvent {
                    kind: outcome.kind.clone(),
                    direction: Some(Direction::In),
                    engagement: ctx.engagement.clone(),
                    milestone: delivered.clone(),
                    message_id: facts.message_id.as_ref().map(|id| format!("<{id}>")),
                    subject: Some(facts.subject.clone()),
                    detail: Some(if rule.kind == Kind::IgnoredSender {
                        format!("from {}", facts.from.as_deref().unwrap_or("?"))
                    } else {
                        excerpt.clone()
                    }),
                },
                now,
            )?;
            if let (Some(e), Some(m)) = (&ctx.engagement, &delivered) {
                tx.apply_milestone(e, m, MilestoneEvent::Delivered, now)?;
            }
            if let Some(e) = &ctx.engagement {
                for m in &acknowledged {
                    tx.apply_milestone(e, m, MilestoneEvent::Acknowledged, now)?;
                }
            }
            if let Some(n) = &notice {
                tx.enqueue(n, now)?;
            }
            // A bounce pauses mail to the contractor's address (retrying a
            // dead address only makes more bounces); any genuine mail from
            // them shows the address works again.
            if let Some(address) = ctx
                .engagement
                .as_deref()
                .and_then(|e| self.model.engagement(e))
                .map(|e| self.model.contractor_of(e).email.to_string())
            {
                if rule.kind == Kind::Bounce {
                    tx.pause_recipient(&address, &excerpt, now)?;
                } else if rule.kind.is_genuine() && ctx.from_contractor {
                    tx.resume_recipient(&address, now)?;
                }
            }
            Ok(())
        })?;
        if rule.kind == Kind::CalendarReply
            && let Some(from) = &facts.from
        {
            for ics in &facts.calendars {
                match calendar_reply::record_reply(self.model, self.composer, store, ics, from, now)
                {
                    Ok(_) => {}
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
                                message_id: facts.message_id.as_ref().map(|id| format!("<{id}>")),
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
        }
        Ok(outcome)
    }

    /// Runs a batch of mails through the pipeline in one store transaction
    /// (each mail a savepoint of it), in order; returns their outcomes.
    ///
    /// A mail the pipeline fails on (a broken template override, a state the
    /// store refuses) is recorded as `failed` with the error and skipped, so
    /// one bad mail cannot stall the mails behind it; it stays in the mailbox
    /// for the owner. If the store itself fails, nothing of the batch is
    /// written and the caller fetches it again.
    pub fn ingest_batch(
        &self,
        store: &mut Store,
        mails: &[(Source, Vec<u8>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, InboxError> {
        store.batch(|store| {
            let mut outcomes = Vec::with_capacity(mails.len());
            for (source, raw) in mails {
                match self.ingest(store, raw, source, now, false) {
                    Ok(o) => outcomes.push(o),
                    Err(e) => {
                        tracing::warn!(account = %source.account, uid = source.uid, error = %e,
                            "a mail could not be recorded; skipped");
                        let o = skip("failed", &format!("the pipeline failed on it: {e}"));
                        record_skipped(store, source, None, &o, now)?;
                        outcomes.push(o);
                    }
                }
            }
            Ok(outcomes)
        })
    }

    /// Looks at a batch of the owner's sent mail ([`sent::record_owner_mail`]:
    /// a reply on a contractor's question thread answers it), in one store
    /// transaction; returns an outcome per mail (`answered`, `looked_at`,
    /// `duplicate`).
    pub fn ingest_sent(
        &self,
        store: &mut Store,
        mails: &[(Source, Vec<u8>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, InboxError> {
        store.batch(|store| {
            let mut outcomes = Vec::with_capacity(mails.len());
            for (_, raw) in mails {
                let o = match sent::record_owner_mail(store, self.model, raw, now)? {
                    sent::SentOutcome::Answered { engagement, .. } => Outcome {
                        kind: "answered".into(),
                        why: "the owner replied on the contractor's question thread".into(),
                        engagement: Some(engagement),
                        milestone: None,
                    },
                    sent::SentOutcome::Nothing => {
                        skip("looked_at", "the owner's mail; nothing to record")
                    }
                    sent::SentOutcome::Seen => skip("duplicate", "looked at before"),
                };
                outcomes.push(o);
            }
            Ok(outcomes)
        })
    }

    /// Finds the engagement: by the mails it cites, else by tag and sender.
    fn matching(
        &self,
        store: &Store,
        f: &parse::Facts,
    ) -> Result<(Context, Option<String>), StoreError> {
        for id in &f.refs {
            if let Some(crate::store::SentRef {
                engagement: Some(engagement),
                milestone,
                purpose,
            }) = store.sent_ref(&format!("<{id}>"))?
            {
                let from_contractor = self.is_contractor_of(&engagement, f.from.as_deref());
                return Ok((
                    Context {
                        engagement: Some(engagement),
                        answers: Some(purpose),
                        from_contractor,
                        from_owner: false,
                    },
                    milestone,
                ));
            }
        }
        for e in &self.model.engagements {
            let tag = crate::outbox::compose::subject_tag(&e.id);
            if f.subject.contains(&tag) && self.is_contractor_of(&e.id, f.from.as_deref()) {
                return Ok((
                    Context {
                        engagement: Some(e.id.clone()),
                        answers: None,
                        from_contractor: true,
                        from_owner: false,
                    },
                    None,
                ));
            }
        }
        Ok((Context::default(), None))
    }

    fn is_contractor_of(&self, engagement: &str, from: Option<&str>) -> bool {
        let Some(e) = self.model.engagement(engagement) else {
            return false;
        };
        let contractor = self
            .model
            .contractor_of(e)
            .email
            .to_string()
            .to_ascii_lowercase();
        from == Some(contractor.as_str())
    }

    fn delivery_target(
        &self,
        store: &Store,
        engagement: &str,
        cited: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let Some(record) = store
            .engagements()?
            .into_iter()
            .find(|r| r.id == engagement)
        else {
            return Ok(None);
        };
        let open = |s: MilestoneState| {
            matches!(
                s,
                MilestoneState::Instructed | MilestoneState::Acknowledged | MilestoneState::Redo
            )
        };
        if let Some(m) = cited.and_then(|c| {
            record
                .milestones
                .iter()
                .find(|m| m.id == c && open(m.state))
        }) {
            return Ok(Some(m.id.clone()));
        }
        // Milestones come ordered by due date.
        Ok(record
            .milestones
            .iter()
            .find(|m| open(m.state))
            .map(|m| m.id.clone()))
    }

    /// The owner notice a kind of mail calls for.
    fn notice(
        &self,
        kind: Kind,
        ctx: &Context,
        milestone: Option<&str>,
        f: &parse::Facts,
        now: DateTime<Utc>,
    ) -> Result<Option<NewOutboxMail>, ComposeError> {
        let Some(engagement) = &ctx.engagement else {
            return Ok(None);
        };
        let excerpt: String = f.new_text.chars().take(1500).collect();
        let (purpose, extra): (Purpose, Vec<(&str, String)>) = match kind {
            Kind::Delivery if milestone.is_some() => (
                Purpose::NoticeDelivery,
                vec![
                    (
                        "received",
                        crate::templates::local_time(now, self.model.owner.timezone),
                    ),
                    ("excerpt", excerpt),
                ],
            ),
            Kind::Question => (Purpose::NoticeQuestion, vec![("excerpt", excerpt)]),
            Kind::Bounce => (
                Purpose::NoticeBounce,
                vec![
                    (
                        "recipient",
                        self.model
                            .engagement(engagement)
                            .map(|e| self.model.contractor_of(e).email.to_string())
                            .unwrap_or_default(),
                    ),
                    ("error", excerpt),
                ],
            ),
            _ => return Ok(None),
        };
        let req = MailRequest {
            purpose,
            engagement: engagement.clone(),
            milestone: milestone.map(str::to_string),
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
        Ok(Some(
            self.composer
                .compose(&req, None, now)?
                .into_outbox(key, &req, not_before),
        ))
    }
}

fn skip(kind: &str, why: &str) -> Outcome {
    Outcome {
        kind: kind.to_string(),
        why: why.to_string(),
        engagement: None,
        milestone: None,
    }
}

fn record_skipped(
    store: &mut Store,
    source: &Source,
    message_id: Option<String>,
    o: &Outcome,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store.transaction(|tx| {
        tx.record_inbound(
            &NewInbound {
                account: source.account.clone(),
                uid_validity: source.uid_validity,
                uid: source.uid,
                message_id,
                sender: None,
                subject: None,
                outcome: o.kind.clone(),
                detail: Some(o.why.clone()),
            },
            now,
        )?;
        tx.record_event(
            &NewEvent {
                kind: o.kind.clone(),
                direction: Some(Direction::In),
                detail: Some(o.why.clone()),
                ..Default::default()
            },
            now,
        )
    })
}

#[cfg(test)]
mod tests;
