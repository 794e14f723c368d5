//! The owner's own sent mail: the one thing it tells Handoff is that a
//! contractor's question was answered.
//!
//! [`record_owner_mail`] looks at one mail from the owner's Sent folder: if it
//! is from the owner and cites (In-Reply-To/References) a contractor mail
//! recorded as a `question` that is still unanswered, it journals
//! `owner_answered` carrying the question's Message-ID, exactly what
//! `handoff answered` records. Nothing else in Sent changes state: copies of
//! Handoff's own mail, mail to anyone else, replies on other threads are only
//! remembered as looked at.
//!
//! Each mail is looked at once: its Message-ID is recorded under the
//! [`ACCOUNT`] `sent`. Local mode calls [`scan`] over `<maildir>/sent` (new/
//! and cur/, left in place: it is the owner's folder) on every pass; the IMAP
//! watcher calls [`record_owner_mail`] for each mail in the Sent mailbox.

use super::InboxError;
use crate::model::Model;
use crate::store::{Direction, NewEvent, NewInbound, Store};
use chrono::{DateTime, Utc};
use std::path::Path;

/// The account the owner's sent mail is recorded under.
pub const ACCOUNT: &str = "sent";

/// What became of one sent mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentOutcome {
    /// It answered this engagement's question (Message-ID with brackets).
    Answered {
        engagement: String,
        question: String,
    },
    /// Looked at, nothing to record.
    Nothing,
    /// Looked at before (same Message-ID).
    Seen,
}

/// Looks at one mail from the owner's Sent folder; see the module doc.
pub fn record_owner_mail(
    store: &mut Store,
    model: &Model,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<SentOutcome, InboxError> {
    if raw.len() > super::parse::MAX_MAIL_BYTES {
        return Ok(SentOutcome::Nothing);
    }
    let Some(f) = super::parse::parse(raw) else {
        return Ok(SentOutcome::Nothing);
    };
    if let Some(id) = &f.message_id
        && store.transaction(|tx| tx.inbound_message_seen(ACCOUNT, id))?
    {
        return Ok(SentOutcome::Seen);
    }
    let owner = model.owner.email.to_string().to_ascii_lowercase();
    let mut answered = None;
    if f.from.as_deref() == Some(owner.as_str()) {
        for id in &f.refs {
            let question = format!("<{id}>");
            if let Some((engagement, false)) = store.transaction(|tx| tx.question(&question))? {
                answered = Some((engagement, question));
                break;
            }
        }
    }
    let outcome = match &answered {
        Some((engagement, question)) => SentOutcome::Answered {
            engagement: engagement.clone(),
            question: question.clone(),
        },
        None => SentOutcome::Nothing,
    };
    store.transaction(|tx| {
        // Mail without a Message-ID cannot be remembered; looking at it again
        // is harmless, since an answered question is not answered twice.
        if f.message_id.is_some() {
            let uid = tx.next_local_uid(ACCOUNT)?;
            tx.record_inbound(
                &NewInbound {
                    account: ACCOUNT.to_string(),
                    uid_validity: 0,
                    uid,
                    message_id: f.message_id.clone(),
                    sender: f.from.clone(),
                    subject: Some(f.subject.clone()),
                    outcome: if answered.is_some() {
                        "owner_answered".into()
                    } else {
                        "owner_sent".into()
                    },
                    detail: None,
                },
                now,
            )?;
        }
        if let Some((engagement, question)) = &answered {
            tx.record_event(
                &NewEvent {
                    kind: "owner_answered".into(),
                    direction: Some(Direction::Out),
                    engagement: Some(engagement.clone()),
                    milestone: None,
                    message_id: Some(question.clone()),
                    subject: Some(f.subject.clone()),
                    detail: f.message_id.as_ref().map(|id| format!("replied in <{id}>")),
                },
                now,
            )?;
        }
        Ok(())
    })?;
    Ok(outcome)
}

/// Looks at every mail in `<root>/new` and `<root>/cur` not looked at
/// before; returns what each new one did. A missing folder is no error (not
/// every local setup keeps one).
pub fn scan(
    store: &mut Store,
    model: &Model,
    root: &Path,
    now: DateTime<Utc>,
) -> Result<Vec<SentOutcome>, InboxError> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let dir = root.join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect();
        paths.sort();
        for path in paths {
            match std::fs::read(&path) {
                Ok(raw) => match record_owner_mail(store, model, &raw, now)? {
                    SentOutcome::Seen => {}
                    o => out.push(o),
                },
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot read a sent mail")
                }
            }
        }
    }
    Ok(out)
}
