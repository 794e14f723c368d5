//! Mail in: one pipeline for every source (the IMAP and Maildir watchers,
//! and `handoff ingest FILE.eml`): parse → dedupe → match → new text →
//! classify → choose the milestone → record.
//!
//! - parse ([`parse`]): mail-parser, any charset or encoding; a mail that does
//!   not parse, or is larger than [`parse::MAX_MAIL_BYTES`], is recorded as
//!   `unparseable`/`too_large` and skipped, never a crash. Machine mail
//!   (delivery reports, receipts, auto-reply headers) is read by
//!   [`machine`].
//! - dedupe: by (account, UIDVALIDITY, UID) and by Message-ID, so nothing is
//!   processed twice, also across a UIDVALIDITY change.
//! - match ([`matching`]): In-Reply-To/References against the Message-IDs
//!   Handoff sent; for clients that drop them, the engagement tag `[id]` in
//!   the subject from that engagement's contractor.
//! - new text ([`new_text`]): what the writer wrote, with the quote (the
//!   cited mail subtracted, client markers) and the signature cut off.
//! - classify ([`classify::RULES`]): a table, first match wins, reading the
//!   new text's words ([`meaning`], [`crate::words`]).
//! - milestone ([`milestone`]): cited, else named, else the earliest open.
//! - record ([`record`]): the inbound row, the event(s), the state
//!   transition and any owner notice commit in one transaction. The inbox
//!   never sends: it queues, and the outbox sends.
//! - the owner's replies to notices may carry a command (`accept`, `redo:`,
//!   `wrong: question`, …): `owner` hands them to [`crate::actions`]; the
//!   owner's Sent folder ([`sent`]) only ever marks questions answered.
//!
//! # Where it stands
//! After the outbox and the owner's acts (it queues notices and performs acts
//! by reply), before the pass: it must not import the pass, the schedule's
//! deciding side, the daemon or the CLI, and it never sends.

mod calendar_reply;
pub mod classify;
pub mod imap_watch;
pub mod machine;
pub mod maildir;
mod matching;
pub mod meaning;
pub mod milestone;
pub mod new_text;
mod owner;
pub mod parse;
mod record;
pub mod sent;

use crate::model::Model;
use crate::outbox::{ComposeError, Composer};
use crate::store::{Direction, NewEvent, NewInbound, Store, StoreError};
use chrono::{DateTime, Utc};
use classify::Kind;

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// A [`Kind`] name, or `duplicate`, `unparseable`, `too_large`.
    pub kind: String,
    pub why: String,
    pub engagement: Option<String>,
    pub milestone: Option<String>,
    /// What else the same mail is (a delivery that asks: `question`).
    pub also: Vec<String>,
    /// For `handoff ingest --explain`: the new text read, where the reply
    /// was cut, and which rule chose the milestone, one line each.
    pub explain: Vec<String>,
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
        let Some(mut facts) = parse::read(raw) else {
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
        let matched = self.matching(store, &facts)?;
        facts.subtract(&matched.cited);
        let mut ctx = matched.ctx;
        let owner = self.model.owner.email.to_string().to_ascii_lowercase();
        ctx.from_owner = facts.from.as_deref() == Some(owner.as_str());
        let decision = classify::classify(&facts, &ctx);
        if !dry_run
            && matches!(
                decision.kind,
                Kind::OwnerCommand | Kind::OwnerCommandRejected
            )
        {
            let milestone = matched.cited_milestone.map(|(m, _)| m);
            return self.owner_command(store, &facts, &ctx, milestone, decision.kind, source, now);
        }
        let cited = matched
            .cited_milestone
            .as_ref()
            .map(|(m, p)| (m.as_str(), p.as_str()));
        let chosen = self.choose_milestone(store, &ctx, decision.kind, cited, &facts)?;
        let outcome = record::outcome(&facts, &ctx, &decision, chosen.as_ref());
        if dry_run {
            return Ok(outcome);
        }
        self.record(store, &facts, source, &ctx, &decision, chosen, outcome, now)
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
                        ..Default::default()
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
}

fn skip(kind: &str, why: &str) -> Outcome {
    Outcome {
        kind: kind.to_string(),
        why: why.to_string(),
        ..Default::default()
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
