//! The owner's commands by reply (issue "Owner commands by reply").
//!
//! A mail classified `owner_command` (from the owner's address, citing a
//! notice Handoff sent the owner, first line a command) is handed to
//! [`crate::actions::apply_with`], which performs the act exactly as the CLI
//! would, and records the inbound row in the same transaction. The notice it
//! cites fills in what a one-line command leaves out: the milestone of a
//! delivery notice, the question a question notice quoted.
//!
//! Anything else from the owner that reads as a command or answers a notice
//! (`owner_command_rejected`), and any command the act itself refuses (no
//! delivered milestone, a payment in the wrong currency), changes nothing:
//! the mail is recorded with an `owner_command_rejected` event saying why,
//! and logged.

use super::classify::{Context, Kind};
use super::{Inbox, InboxError, Outcome, Source, parse::Facts};
use crate::actions::{self, ActionError, Origin, reply};
use crate::store::{Direction, NewEvent, NewInbound, Store, Tx};
use chrono::{DateTime, Utc};

impl Inbox<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn owner_command(
        &self,
        store: &mut Store,
        facts: &Facts,
        ctx: &Context,
        milestone: Option<String>,
        kind: Kind,
        source: &Source,
        now: DateTime<Utc>,
    ) -> Result<Outcome, InboxError> {
        let line = reply::first_line(&facts.new_text);
        let engagement = ctx.engagement.clone();
        let refused = |why: String| Outcome {
            kind: Kind::OwnerCommandRejected.as_str().to_string(),
            why,
            engagement: engagement.clone(),
            ..Default::default()
        };
        let attempt = match (kind, &engagement) {
            (Kind::OwnerCommand, Some(e)) => {
                let currency = self
                    .model
                    .engagement(e)
                    .and_then(|e| e.budget.as_ref())
                    .map(|b| b.currency.clone());
                match reply::parse(line, currency.as_deref()) {
                    Ok(action) => Ok((e.clone(), action)),
                    Err(why) => Err(why),
                }
            }
            _ if !ctx.cites_owner_notice() => Err(
                "it cites no notice Handoff sent the owner (a From line alone cannot act)".into(),
            ),
            _ => Err(reply::parse(line, None)
                .err()
                .unwrap_or_else(|| "it is not a command Handoff can act on".into())),
        };
        let (e, action) = match attempt {
            Ok(x) => x,
            Err(why) => return self.reject(store, facts, source, refused(why), now),
        };
        // "accept" to a counter-proposal notice accepts the proposal, not a
        // delivery.
        let action = match (ctx.answers.as_deref(), action) {
            (Some("notice_counter"), actions::OwnerAction::Accept { .. }) => {
                actions::OwnerAction::Counter {
                    milestone: None,
                    accept: true,
                }
            }
            (_, a) => a,
        };
        let (question, reading) = self.cited_reading(store, facts)?;
        let origin = Origin::Reply {
            message_id: facts.message_id.as_ref().map(|id| format!("<{id}>")),
            milestone,
            question,
            reading,
            notice: ctx.answers.clone(),
        };
        let inbound = self.inbound_row(facts, source, Kind::OwnerCommand, line);
        let applied = actions::apply_with(
            self.model,
            self.composer,
            store,
            &e,
            action,
            origin,
            now,
            |tx: &Tx<'_>| tx.record_inbound(&inbound, now).map(|_| ()),
        );
        match applied {
            Ok(done) => Ok(Outcome {
                kind: Kind::OwnerCommand.as_str().to_string(),
                why: format!("{}: {}", done.kind, done.summary),
                engagement: Some(done.engagement),
                milestone: done.milestone,
                ..Default::default()
            }),
            Err(ActionError::Store(err)) => Err(err.into()),
            Err(ActionError::Compose(err)) => Err(err.into()),
            Err(err) => self.reject(store, facts, source, refused(err.to_string()), now),
        }
    }

    /// The mail a cited notice followed: the question a `notice_question`
    /// quoted, and the reading (delivery, question, bounce) any such notice
    /// followed. Their outbox keys are `<purpose>/<engagement>/<the mail's
    /// Message-ID>`.
    fn cited_reading(
        &self,
        store: &mut Store,
        f: &Facts,
    ) -> Result<(Option<String>, Option<String>), InboxError> {
        for id in &f.refs {
            let key = store.transaction(|tx| tx.outbox_key_of(&format!("<{id}>")))?;
            let Some(key) = key else { continue };
            let mut parts = key.splitn(3, '/');
            let (Some(purpose), Some(_), Some(mail)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if mail == "no-message-id" {
                continue;
            }
            let mail = format!("<{mail}>");
            match purpose {
                "notice_question" => return Ok((Some(mail.clone()), Some(mail))),
                "notice_delivery" | "notice_bounce" => return Ok((None, Some(mail))),
                _ => {}
            }
        }
        Ok((None, None))
    }

    fn inbound_row(&self, f: &Facts, source: &Source, kind: Kind, detail: &str) -> NewInbound {
        NewInbound {
            account: source.account.clone(),
            uid_validity: source.uid_validity,
            uid: source.uid,
            message_id: f.message_id.clone(),
            sender: f.from.clone(),
            subject: Some(f.subject.clone()),
            outcome: kind.as_str().to_string(),
            detail: Some(detail.chars().take(500).collect()),
        }
    }

    /// Records a refused command: the mail is seen, nothing else changes.
    fn reject(
        &self,
        store: &mut Store,
        f: &Facts,
        source: &Source,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Outcome, InboxError> {
        tracing::warn!(
            from = f.from.as_deref().unwrap_or("?"),
            why = %outcome.why,
            "owner command rejected"
        );
        let inbound = self.inbound_row(f, source, Kind::OwnerCommandRejected, &outcome.why);
        store.transaction(|tx| {
            tx.record_inbound(&inbound, now)?;
            tx.record_event(
                &NewEvent {
                    kind: outcome.kind.clone(),
                    direction: Some(Direction::In),
                    engagement: outcome.engagement.clone(),
                    milestone: None,
                    message_id: f.message_id.as_ref().map(|id| format!("<{id}>")),
                    subject: Some(f.subject.clone()),
                    detail: Some(outcome.why.clone()),
                },
                now,
            )
        })?;
        Ok(outcome)
    }
}
