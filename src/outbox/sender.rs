//! The sender: takes due outbox rows, delivers them, records the outcome.
//! See the module doc of [`crate::outbox`] for the crash-safety design.

use super::compose::{Composer, MailRequest, finalize};
use super::transport::{SendFailure, Transport};
use crate::imap_conn;
use crate::model::ImapSettings;
use crate::store::{NewEvent, OutboxMail, Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, TimeDelta, Utc};

/// When to try a temporarily failed mail again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The wait after the first failure; each further failure doubles it.
    pub base: TimeDelta,
    /// The longest wait between two attempts.
    pub cap: TimeDelta,
    /// Attempts in all before a mail is given up.
    pub max_attempts: i64,
}

impl Default for RetryPolicy {
    /// 1 min, 2, 4, … capped at 1 h, 10 attempts: about 5 hours of trying,
    /// enough to ride out a mail server's maintenance window.
    fn default() -> Self {
        RetryPolicy {
            base: TimeDelta::minutes(1),
            cap: TimeDelta::hours(1),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The next attempt after `attempts` failures, with ±25 % jitter so many
    /// mails failing together do not retry in lockstep.
    pub fn next_attempt(&self, attempts: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        let shift = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
        let wait = self
            .base
            .checked_mul(1 << shift)
            .unwrap_or(self.cap)
            .min(self.cap);
        let mut r = [0u8; 2];
        let jitter = if getrandom::getrandom(&mut r).is_ok() {
            // A factor in [0.75, 1.25).
            0.75 + f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX) / 2.0
        } else {
            1.0
        };
        let ms = (wait.num_milliseconds() as f64 * jitter) as i64;
        now + TimeDelta::milliseconds(ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("composing the owner notice about a failed mail: {0}")]
    Compose(#[from] super::ComposeError),
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    /// `sending` rows left by a crash and found delivered.
    pub recovered_sent: usize,
    /// `sending` rows left by a crash and queued again.
    pub recovered_requeued: usize,
}

/// Delivers every due mail once (retries wait for their time), after
/// resolving any mail a crash left mid-send.
pub async fn deliver_due(
    store: &mut Store,
    transport: &Transport,
    sent_copy: Option<&ImapSettings>,
    composer: &Composer<'_>,
    policy: RetryPolicy,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, OutboxError> {
    let mut report = DeliveryReport::default();
    recover(store, transport, sent_copy, now, &mut report).await?;
    // One IMAP session for every Sent copy of this pass, opened on first use.
    let mut sent_session: Option<imap_conn::Session> = None;
    // Fetch in batches: a long queue is not held in memory at once.
    loop {
        let due = store.due_outbox(now, 64)?;
        if due.is_empty() {
            break;
        }
        // Each mail is dated now, as it goes out (compose::finalize), and
        // the claim commits those bytes: from here on they are fixed.
        let due: Vec<OutboxMail> = due
            .into_iter()
            .map(|mut m| {
                m.message = finalize(&m.message, now);
                m
            })
            .collect();
        // Claim the whole batch in one transaction (one fsync, not one per
        // mail). This widens no crash window: a claimed mail that was never
        // attempted is simply not found in new/ or Sent at recovery, and is
        // queued again.
        let claimed: Vec<bool> =
            store.transaction(|tx| due.iter().map(|m| tx.claim(m.id, &m.message)).collect())?;
        let mut batch = due.into_iter().zip(claimed);
        while let Some((mail, ok)) = batch.next() {
            if !ok {
                continue;
            }
            // The Sent copy is filed first, marked pending, and confirmed
            // right after the server accepts: see the module doc.
            let (staged, stage_error) = match sent_copy {
                Some(imap) => match stage(imap, &mut sent_session, &mail).await {
                    Ok(uid) => (uid, None),
                    Err(e) => (None, Some(e)),
                },
                None => (None, None),
            };
            let sent = transport.send(&mail).await;
            if let (Some(imap), Some(uid)) = (sent_copy, staged) {
                if sent.is_ok() {
                    confirm(store, imap, &mut sent_session, &mail, uid, now).await?;
                } else {
                    discard(imap, &mut sent_session, uid).await;
                }
            }
            match sent {
                Err(SendFailure::Unreachable(e)) => {
                    // Nothing in this batch can go now: all of it waits for
                    // the server, which is tried again within seconds so
                    // mail resumes as soon as it is back.
                    let at = now + UNREACHABLE_RETRY;
                    let rest: Vec<i64> = batch.filter(|(_, ok)| *ok).map(|(m, _)| m.id).collect();
                    store.transaction(|tx| {
                        tx.defer(mail.id, &e, at)?;
                        for id in &rest {
                            tx.defer(*id, &e, at)?;
                        }
                        Ok(())
                    })?;
                    note_unreachable(store, &e, now)?;
                    report.retrying += 1 + rest.len();
                    return finish(sent_session, report).await;
                }
                Ok(()) => {
                    if let Some(e) = &stage_error {
                        copy_failed(store, &mut sent_session, &mail, e, now)?;
                    }
                    crate::failpoint::hit("outbox.after_send");
                    store.mark_sent(mail.id, now)?;
                    report.sent += 1;
                }
                Err(SendFailure::Temporary(e)) if mail.attempts + 1 < policy.max_attempts => {
                    let at = policy.next_attempt(mail.attempts, now);
                    store.mark_failed(mail.id, &e, Some(at), now)?;
                    tracing::warn!(mail = mail.id, to = %mail.recipient, error = %e, retry_at = %at, "send failed, will retry");
                    report.retrying += 1;
                }
                Err(failure) => {
                    give_up(store, composer, &mail, &failure.to_string(), now)?;
                    report.failed += 1;
                }
            }
        }
    }
    if report.sent > 0 {
        note_reachable(store, now)?;
    }
    finish(sent_session, report).await
}

/// How soon mail waiting for an unreachable server is tried again.
pub const UNREACHABLE_RETRY: TimeDelta = TimeDelta::seconds(3);

/// The scheduler-state key set while the SMTP server cannot be reached.
const UNREACHABLE_KEY: &str = "outbox/smtp_unreachable_since";

/// Journals (and logs at warn) the start of an outage, once; later failures
/// of the same outage are only debug lines.
fn note_unreachable(store: &mut Store, error: &str, now: DateTime<Utc>) -> Result<(), OutboxError> {
    if store.scheduler_get(UNREACHABLE_KEY)?.is_some() {
        tracing::debug!(error = %error, "SMTP server still unreachable");
        return Ok(());
    }
    tracing::warn!(error = %error, "SMTP server unreachable; mail waits and is retried every few seconds");
    store.transaction(|tx| {
        tx.scheduler_set(UNREACHABLE_KEY, &crate::store::ts(now), now)?;
        tx.record_event(
            &NewEvent::internal("smtp_unreachable").detail(error.to_string()),
            now,
        )
    })?;
    Ok(())
}

/// Ends an outage noted by [`note_unreachable`], if there was one.
fn note_reachable(store: &mut Store, now: DateTime<Utc>) -> Result<(), OutboxError> {
    let Some(since) = store.scheduler_get(UNREACHABLE_KEY)? else {
        return Ok(());
    };
    tracing::info!(since = %since, "SMTP server reachable again");
    store.transaction(|tx| {
        tx.delete_scheduler_key(UNREACHABLE_KEY)?;
        tx.record_event(
            &NewEvent::internal("smtp_reachable").detail(format!("unreachable since {since}")),
            now,
        )
    })?;
    Ok(())
}

async fn finish(
    sent_session: Option<imap_conn::Session>,
    report: DeliveryReport,
) -> Result<DeliveryReport, OutboxError> {
    if let Some(mut session) = sent_session {
        let _ = session.logout().await;
    }
    Ok(report)
}

/// Marks a mail failed and, unless it was an owner notice itself, queues a
/// notice telling the owner, in one transaction.
fn give_up(
    store: &mut Store,
    composer: &Composer<'_>,
    mail: &OutboxMail,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), OutboxError> {
    tracing::error!(mail = mail.id, to = %mail.recipient, error, "send failed for good");
    let notice = match (&mail.engagement, Purpose::parse(&mail.purpose)) {
        (Some(engagement), Some(p)) if !p.is_owner_notice() => {
            let req = MailRequest {
                purpose: Purpose::NoticeSendFailed,
                engagement: engagement.clone(),
                milestone: None,
                extra: [
                    ("recipient", mail.recipient.as_str()),
                    ("subject", mail.subject.as_str()),
                    ("error", error),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                calendar: None,
            };
            // An engagement removed from the config since cannot be composed
            // for; the failure is still journaled.
            match composer.compose(&req, None, now) {
                // One notice per address and day, however many mails to it
                // fail: the journal has each one, the owner needs one.
                Ok(c) => Some(c.into_outbox(
                    format!(
                        "notice_send_failed/{engagement}/{}/{}",
                        mail.recipient,
                        now.format("%Y-%m-%d")
                    ),
                    &req,
                    now,
                )),
                Err(super::ComposeError::UnknownEngagement(_)) => None,
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    store.transaction(|tx| {
        tx.mark_failed(mail.id, error, None, now)?;
        if let Some(n) = &notice {
            tx.enqueue(n, now)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The session on the Sent mailbox, logged in and the mailbox selected on
/// first use.
async fn sent_session<'a>(
    slot: &'a mut Option<imap_conn::Session>,
    imap: &ImapSettings,
) -> Result<&'a mut imap_conn::Session, imap_conn::ImapError> {
    if slot.is_none() {
        let mut s = imap_conn::login(&imap.server).await?;
        imap_conn::timed(&imap.server.host, async {
            s.select(&imap.sent_mailbox).await?;
            Ok(())
        })
        .await?;
        *slot = Some(s);
    }
    slot.as_mut().ok_or(imap_conn::ImapError::Protocol(
        async_imap::error::Error::Append,
    ))
}

/// Files the copy of a mail about to go out in the Sent folder, marked
/// pending; returns its UID. A failure is not fatal: the mail goes out
/// without a copy (and without the crash protection the copy gives); it is
/// journaled once the mail has gone (not on every retry of an outage).
async fn stage(
    imap: &ImapSettings,
    slot: &mut Option<imap_conn::Session>,
    mail: &OutboxMail,
) -> Result<Option<u32>, imap_conn::ImapError> {
    let result = async {
        let s = sent_session(slot, imap).await?;
        imap_conn::timed(
            &imap.server.host,
            imap_conn::stage_sent_copy(s, &imap.sent_mailbox, &mail.message_id, &mail.message),
        )
        .await
    }
    .await;
    if result.is_err() {
        // The session may be broken: start afresh for the next mail.
        *slot = None;
    }
    result
}

/// Confirms the staged copy of a mail the server accepted.
async fn confirm(
    store: &mut Store,
    imap: &ImapSettings,
    slot: &mut Option<imap_conn::Session>,
    mail: &OutboxMail,
    uid: u32,
    now: DateTime<Utc>,
) -> Result<(), OutboxError> {
    let result = async {
        let s = sent_session(slot, imap).await?;
        imap_conn::timed(&imap.server.host, imap_conn::confirm_sent_copy(s, uid)).await
    }
    .await;
    if let Err(e) = result {
        copy_failed(store, slot, mail, &e, now)?;
    }
    Ok(())
}

/// Removes the staged copy of a mail that did not go out (logged if that
/// fails: a pending copy is never taken for a sent mail).
async fn discard(imap: &ImapSettings, slot: &mut Option<imap_conn::Session>, uid: u32) {
    let result = async {
        let s = sent_session(slot, imap).await?;
        imap_conn::timed(&imap.server.host, imap_conn::discard_sent_copies(s, &[uid])).await
    }
    .await;
    if let Err(e) = result {
        *slot = None;
        tracing::warn!(error = %e, "could not remove the Sent copy of a mail that did not go out");
    }
}

/// Journals a Sent-copy failure and drops the (maybe broken) session.
fn copy_failed(
    store: &mut Store,
    slot: &mut Option<imap_conn::Session>,
    mail: &OutboxMail,
    e: &imap_conn::ImapError,
    now: DateTime<Utc>,
) -> Result<(), OutboxError> {
    *slot = None;
    tracing::warn!(mail = mail.id, error = %e, "could not file a copy in the Sent folder");
    store.record_event(
        &NewEvent {
            kind: "sent_copy_failed".to_string(),
            engagement: mail.engagement.clone(),
            milestone: mail.milestone.clone(),
            message_id: Some(mail.message_id.clone()),
            subject: Some(mail.subject.clone()),
            detail: Some(e.to_string()),
            ..NewEvent::internal("sent_copy_failed")
        },
        now,
    )?;
    Ok(())
}

/// Resolves rows a crash left in `sending` (see the module doc).
async fn recover(
    store: &mut Store,
    transport: &Transport,
    sent_copy: Option<&ImapSettings>,
    now: DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<(), OutboxError> {
    let stuck = store.transaction(|tx| tx.sending_outbox())?;
    if stuck.is_empty() {
        return Ok(());
    }
    let mut slot = None;
    let mut session = match (transport, sent_copy) {
        (Transport::Smtp { .. }, Some(imap)) => match sent_session(&mut slot, imap).await {
            Ok(s) => Some(s),
            Err(e) => {
                // Without a look in Sent we cannot tell; leave the rows as they
                // are and try again on the next pass rather than guess.
                tracing::warn!(error = %e, "cannot check the Sent folder; leaving interrupted mails for later");
                return Ok(());
            }
        },
        _ => None,
    };
    for mail in stuck {
        let mut unconfirmed = false;
        let delivered = match (
            transport.already_delivered(&mail),
            session.as_mut(),
            sent_copy,
        ) {
            (Some(known), _, _) => known,
            (None, Some(s), Some(imap)) => {
                let copy =
                    imap_conn::timed(&imap.server.host, imap_conn::sent_copy(s, &mail.message_id))
                        .await;
                match copy {
                    Ok(imap_conn::SentCopy::Confirmed) => true,
                    Ok(imap_conn::SentCopy::Absent) => false,
                    // Filed, but the acceptance was never confirmed: the
                    // crash came before the server's "250" (or in the one
                    // round trip after it). Sent again; the stale copy goes.
                    Ok(imap_conn::SentCopy::Pending(uids)) => {
                        if let Err(e) = imap_conn::timed(
                            &imap.server.host,
                            imap_conn::discard_sent_copies(s, &uids),
                        )
                        .await
                        {
                            tracing::warn!(error = %e, "could not remove a pending Sent copy");
                        }
                        unconfirmed = true;
                        false
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot search the Sent folder; leaving interrupted mails for later");
                        return Ok(());
                    }
                }
            }
            _ => false,
        };
        if delivered {
            store.mark_sent(mail.id, now)?;
            report.recovered_sent += 1;
        } else {
            store.transaction(|tx| {
                tx.requeue(mail.id)?;
                if unconfirmed {
                    // The documented window: the server may have accepted it
                    // just before the crash. Journaled, so a second copy can
                    // always be told apart from a bug.
                    tx.record_event(
                        &NewEvent {
                            message_id: Some(mail.message_id.clone()),
                            engagement: mail.engagement.clone(),
                            subject: Some(mail.subject.clone()),
                            detail: Some(
                                "interrupted between sending and confirming its Sent copy; sent again"
                                    .to_string(),
                            ),
                            ..NewEvent::internal("resent_unconfirmed")
                        },
                        now,
                    )?;
                }
                Ok(())
            })?;
            report.recovered_requeued += 1;
        }
    }
    if let Some(s) = session {
        let _ = s.logout().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_the_cap() {
        let p = RetryPolicy::default();
        let now = DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
            .unwrap()
            .to_utc();
        for (attempts, minutes) in [(0, 1), (1, 2), (3, 8), (10, 60), (40, 60)] {
            let wait = p.next_attempt(attempts, now) - now;
            let want = TimeDelta::minutes(minutes);
            assert!(
                wait >= want * 3 / 4 && wait <= want * 5 / 4,
                "{attempts}: {wait}"
            );
        }
    }
}
