//! The copy of each sent mail in the owner's IMAP Sent folder: filed before
//! the mail goes out (marked `$HandoffPending`) and confirmed after the
//! server's "250", as the crash window needs (see the outbox's module doc);
//! or, when the folder does not answer, filed later from a queue by
//! [`file_due`], never in the send path.
//!
//! # The folder's health
//! One failure of the folder while sending (a timeout, a refused login, a
//! refused APPEND) marks it down in the store (`outbox/sent_folder_down_since`,
//! journaled once as `sent_folder_unreachable`). While it is down the
//! sender does not try it at all: a hung IMAP server costs the first mail one
//! timeout, and every mail after it nothing. [`file_due`] is what tries the
//! folder again (the daemon's Sent-copy task, every few seconds while it is
//! down; `run --once` after its pass); once the folder answers it is marked
//! up (`sent_folder_reachable`) and the sender files copies first again.
//!
//! # Filing a queued copy
//! Idempotent, so a copy is never filed twice: the Message-ID is looked up
//! in the folder first; a confirmed copy means done, a pending one (an
//! APPEND that landed although it timed out, or a confirmation that did not
//! arrive) is confirmed, and only no copy at all means an APPEND. A copy the
//! server refuses (not a silent server: a `NO`) is tried again with backoff
//! and given up after [`MAX_ATTEMPTS`] (journaled `sent_copy_failed`).

use super::sender::OutboxError;
use crate::clock::Clock;
use crate::imap_conn::{self, ImapError, SentCopy, Session};
use crate::model::ImapSettings;
use crate::store::{NewEvent, OutboxMail, QueuedCopy, Store, StoreError};
use chrono::{DateTime, TimeDelta, Utc};

/// The scheduler-state key set while the Sent folder does not answer.
pub const DOWN_KEY: &str = "outbox/sent_folder_down_since";

/// Filing attempts refused by the server before a copy is given up.
pub const MAX_ATTEMPTS: i64 = 10;

/// Runs one step on the folder's session (opened on first use) within the
/// bound: `$s` is the session, `$mailbox` the Sent mailbox's name.
macro_rules! on_session {
    ($folder:ident, |$s:ident, $mailbox:ident| $step:expr) => {{
        let host = $folder.imap.server.host.clone();
        let mailbox_name = $folder.imap.sent_mailbox.clone();
        match $folder.session().await {
            Ok($s) => {
                let $mailbox = mailbox_name.as_str();
                imap_conn::timed(&host, $step).await
            }
            Err(e) => Err(e),
        }
    }};
}

/// The Sent folder during one delivery pass: one session, opened on first
/// use, kept for every mail of the pass, dropped after any failure.
pub(super) struct SentFolder<'a> {
    pub(super) imap: &'a ImapSettings,
    session: Option<Session>,
}

impl<'a> SentFolder<'a> {
    pub(super) fn new(imap: &'a ImapSettings) -> Self {
        SentFolder {
            imap,
            session: None,
        }
    }

    /// The session, logged in and the Sent mailbox selected.
    async fn session(&mut self) -> Result<&mut Session, ImapError> {
        if self.session.is_none() {
            self.session = Some(open(self.imap).await?);
        }
        self.session
            .as_mut()
            .ok_or(ImapError::Protocol(async_imap::error::Error::Append))
    }

    /// Drops the session after a failure (no LOGOUT: the server may not
    /// answer it); the next step logs in afresh.
    fn settle<T>(&mut self, result: Result<T, ImapError>) -> Result<T, ImapError> {
        if result.is_err() {
            self.session = None;
        }
        result
    }

    /// Files the copy of a mail about to go out, marked pending; its UID.
    pub(super) async fn stage(&mut self, mail: &OutboxMail) -> Result<Option<u32>, ImapError> {
        let r = on_session!(self, |s, mailbox| imap_conn::stage_sent_copy(
            s,
            mailbox,
            &mail.message_id,
            &mail.message
        ));
        self.settle(r)
    }

    /// Confirms the staged copy of a mail the server accepted.
    pub(super) async fn confirm(&mut self, uid: u32) -> Result<(), ImapError> {
        let r = on_session!(self, |s, _mailbox| imap_conn::confirm_sent_copy(s, uid));
        self.settle(r)
    }

    /// Removes staged copies of a mail that did not go out.
    pub(super) async fn discard(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        let r = on_session!(self, |s, _mailbox| imap_conn::discard_sent_copies(s, uids));
        self.settle(r)
    }

    /// What the folder holds of a mail.
    pub(super) async fn lookup(&mut self, message_id: &str) -> Result<SentCopy, ImapError> {
        let r = on_session!(self, |s, _mailbox| imap_conn::sent_copy(s, message_id));
        self.settle(r)
    }

    /// Files a copy of a mail that already went out (no pending mark).
    async fn append(&mut self, message: &[u8]) -> Result<(), ImapError> {
        let r = on_session!(self, |s, mailbox| imap_conn::file_sent_copy(
            s, mailbox, message
        ));
        self.settle(r)
    }

    /// Ends the session, within the bound.
    pub(super) async fn close(self) {
        if let Some(s) = self.session {
            imap_conn::logout(&self.imap.server.host, s).await;
        }
    }
}

/// Logs in and selects the Sent mailbox, each step within the bound.
async fn open(imap: &ImapSettings) -> Result<Session, ImapError> {
    let mut s = imap_conn::login(&imap.server).await?;
    imap_conn::timed(&imap.server.host, s.select(&imap.sent_mailbox)).await?;
    Ok(s)
}

/// Whether the Sent folder is known not to answer.
pub fn is_down(store: &Store) -> Result<bool, StoreError> {
    Ok(store.scheduler_get(DOWN_KEY)?.is_some())
}

/// Notes that the folder failed: the first time (per outage) journaled and
/// logged at warn, later only at debug.
pub(super) fn mark_down(
    store: &mut Store,
    error: &ImapError,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if is_down(store)? {
        tracing::debug!(error = %error, "the Sent folder still does not answer");
        return Ok(());
    }
    tracing::warn!(error = %error, "the IMAP Sent folder does not answer; mail goes out without waiting for it, and the copies are filed once it is back");
    store.transaction(|tx| {
        tx.scheduler_set(DOWN_KEY, &crate::store::ts(now), now)?;
        tx.record_event(
            &NewEvent::internal("sent_folder_unreachable").detail(error.to_string()),
            now,
        )
    })
}

/// Ends an outage noted by [`mark_down`], if there was one.
fn mark_up(store: &mut Store, filed: usize, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let Some(since) = store.scheduler_get(DOWN_KEY)? else {
        return Ok(false);
    };
    tracing::info!(since = %since, filed, "the IMAP Sent folder answers again");
    store.transaction(|tx| {
        tx.delete_scheduler_key(DOWN_KEY)?;
        tx.record_event(
            &NewEvent::internal("sent_folder_reachable").detail(format!(
                "unreachable since {since}; {filed} copies filed from the queue"
            )),
            now,
        )
    })?;
    Ok(true)
}

/// What one round of [`file_due`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FilingReport {
    /// Copies now in the folder (filed or confirmed).
    pub filed: usize,
    /// Copies given up (refused [`MAX_ATTEMPTS`] times).
    pub given_up: usize,
    /// The folder was down and answers again: interrupted mails can be
    /// resolved and the sender files copies first again.
    pub back: bool,
    /// Why the round stopped early: the folder does not answer.
    pub error: Option<String>,
}

/// Files every queued copy whose time has come; with the folder marked down
/// and nothing due, only tries whether it answers again. Every step is
/// bounded; a folder that does not answer ends the round (marked down).
pub async fn file_due(
    store: &mut Store,
    imap: &ImapSettings,
    clock: &dyn Clock,
) -> Result<FilingReport, OutboxError> {
    let mut report = FilingReport::default();
    let mut due = store.transaction(|tx| tx.due_sent_copies(clock.now(), 64))?;
    if due.is_empty() && !is_down(store)? {
        return Ok(report);
    }
    let mut folder = SentFolder::new(imap);
    if let Err(e) = folder.session().await {
        mark_down(store, &e, clock.now())?;
        report.error = Some(e.to_string());
        return Ok(report);
    }
    'rounds: while !due.is_empty() {
        for copy in &due {
            match file_one(&mut folder, copy).await {
                Ok(()) => {
                    store.transaction(|tx| tx.sent_copy_done(copy.outbox_id))?;
                    report.filed += 1;
                }
                Err(e) if refused(&e) => {
                    refused_copy(store, copy, &e, clock.now(), &mut report)?;
                }
                Err(e) => {
                    mark_down(store, &e, clock.now())?;
                    report.error = Some(e.to_string());
                    break 'rounds;
                }
            }
        }
        due = store.transaction(|tx| tx.due_sent_copies(clock.now(), 64))?;
    }
    if report.error.is_none() {
        report.back = mark_up(store, report.filed, clock.now())?;
    }
    folder.close().await;
    Ok(report)
}

/// Makes sure the folder holds one confirmed copy of a sent mail.
async fn file_one(folder: &mut SentFolder<'_>, copy: &QueuedCopy) -> Result<(), ImapError> {
    match folder.lookup(&copy.message_id).await? {
        SentCopy::Confirmed => Ok(()),
        SentCopy::Pending(uids) => {
            for uid in uids {
                folder.confirm(uid).await?;
            }
            Ok(())
        }
        SentCopy::Absent => folder.append(&copy.message).await,
    }
}

/// Whether an error is the server refusing this one request (a `NO` or
/// `BAD`), as opposed to a server that does not answer or a broken session.
fn refused(e: &ImapError) -> bool {
    use async_imap::error::Error;
    matches!(
        e,
        ImapError::Protocol(Error::No(_) | Error::Bad(_) | Error::Append)
    )
}

/// A copy the server refused: retried with backoff, given up at last.
fn refused_copy(
    store: &mut Store,
    copy: &QueuedCopy,
    e: &ImapError,
    now: DateTime<Utc>,
    report: &mut FilingReport,
) -> Result<(), StoreError> {
    if copy.attempts + 1 >= MAX_ATTEMPTS {
        tracing::error!(mail = copy.outbox_id, error = %e, "giving up filing a copy in the Sent folder");
        store.transaction(|tx| {
            tx.sent_copy_done(copy.outbox_id)?;
            tx.record_event(
                &NewEvent {
                    engagement: copy.engagement.clone(),
                    message_id: Some(copy.message_id.clone()),
                    subject: Some(copy.subject.clone()),
                    detail: Some(format!("refused {MAX_ATTEMPTS} times: {e}")),
                    ..NewEvent::internal("sent_copy_failed")
                },
                now,
            )
        })?;
        report.given_up += 1;
    } else {
        // 1 min, 2, 4, … 1 h: a full mailbox or a quota takes a while.
        let shift = u32::try_from(copy.attempts.clamp(0, 6)).unwrap_or(6);
        let wait = (TimeDelta::minutes(1) * (1 << shift)).min(TimeDelta::hours(1));
        tracing::warn!(mail = copy.outbox_id, error = %e, "the Sent folder refused a copy; trying again later");
        store.transaction(|tx| tx.sent_copy_retry(copy.outbox_id, &e.to_string(), now + wait))?;
    }
    Ok(())
}
