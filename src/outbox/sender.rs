//! The sender: takes due outbox rows, delivers them, records the outcome.
//! See the module doc of [`crate::outbox`] for the crash-safety design.

use super::compose::{Composer, MailRequest, finalize};
use super::sent_copy::{self, SentFolder};
use super::transport::{SendFailure, Transport};
use crate::clock::Clock;
use crate::imap_conn::SentCopy;
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
    /// Mails sent whose Sent copy waits in the queue (the folder did not
    /// answer in time).
    pub copies_queued: usize,
}

/// Delivers every due mail once (retries wait for their time), after
/// resolving any mail a crash left mid-send.
///
/// Every journal row and state change is stamped with `clock.now()` at the
/// moment it happens, not with the pass's start: a pass that waits out a
/// timeout shows when each mail actually went or was deferred.
pub async fn deliver_due(
    store: &mut Store,
    transport: &Transport,
    sent_copy: Option<&ImapSettings>,
    composer: &Composer<'_>,
    policy: RetryPolicy,
    clock: &dyn Clock,
) -> Result<DeliveryReport, OutboxError> {
    let mut report = DeliveryReport::default();
    // The Sent folder is only for what goes out over SMTP.
    let mut folder = match transport {
        Transport::Smtp { .. } => sent_copy.map(SentFolder::new),
        Transport::Maildir { .. } => None,
    };
    recover(store, transport, folder.as_mut(), clock, &mut report).await?;
    let result = send_due(
        store,
        transport,
        folder.as_mut(),
        composer,
        policy,
        clock,
        &mut report,
    )
    .await;
    if let Some(f) = folder {
        f.close().await;
    }
    result?;
    Ok(report)
}

async fn send_due(
    store: &mut Store,
    transport: &Transport,
    mut folder: Option<&mut SentFolder<'_>>,
    composer: &Composer<'_>,
    policy: RetryPolicy,
    clock: &dyn Clock,
    report: &mut DeliveryReport,
) -> Result<(), OutboxError> {
    // Fetch in batches: a long queue is not held in memory at once.
    loop {
        let now = clock.now();
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
            // right after the server accepts: see the module doc. While the
            // folder does not answer it is not tried (one timeout per
            // outage, not one per mail); the mail goes without, marked so
            // before its first byte, and its copy is queued. A provider
            // that files submitted mail in Sent itself (Gmail, Microsoft)
            // gets no copy from Handoff: the search after a crash finds the
            // provider's.
            let files_copy = folder.as_deref().is_some_and(|f| !f.imap.server_files_sent);
            let staged = match folder.as_deref_mut() {
                Some(f) if files_copy && !sent_copy::is_down(store)? => {
                    match f.stage(&mail).await {
                        Ok(uid) => uid,
                        Err(e) => {
                            sent_copy::mark_down(store, &e, clock.now())?;
                            None
                        }
                    }
                }
                _ => None,
            };
            if files_copy && staged.is_none() {
                store.transaction(|tx| tx.sent_copy_unstaged(mail.id, clock.now()))?;
            }
            // Whether this mail has a Sent copy to keep track of.
            let tracked = files_copy;
            crate::failpoint::stall("outbox.before_send").await;
            let sent = transport.send(&mail).await;
            let confirmed = match (folder.as_deref_mut(), staged) {
                (Some(f), Some(uid)) if sent.is_ok() => match f.confirm(uid).await {
                    Ok(()) => true,
                    Err(e) => {
                        sent_copy::mark_down(store, &e, clock.now())?;
                        false
                    }
                },
                (Some(f), Some(uid)) => {
                    if let Err(e) = f.discard(&[uid]).await {
                        tracing::warn!(error = %e, "could not remove the Sent copy of a mail that did not go out");
                    }
                    false
                }
                _ => false,
            };
            let now = clock.now();
            match sent {
                Err(SendFailure::SignIn { error, retry_at }) => {
                    // Not this mail's fault and no attempt of it: the batch
                    // waits for a sign-in (the daemon tells the owner once;
                    // see `daemon::signin`). The wait is measured in real
                    // time, as tokens are, and applied on the pass's clock.
                    let wait = (retry_at - chrono::Utc::now())
                        .clamp(TimeDelta::seconds(1), super::transport::SIGN_IN_RECHECK);
                    let at = now + wait;
                    let rest: Vec<i64> = batch.filter(|(_, ok)| *ok).map(|(m, _)| m.id).collect();
                    let why = format!("{SIGN_IN_WAIT}{error}");
                    store.transaction(|tx| {
                        tx.defer(mail.id, &why, at)?;
                        if tracked {
                            tx.sent_copy_done(mail.id)?;
                        }
                        for id in &rest {
                            tx.defer(*id, &why, at)?;
                        }
                        Ok(())
                    })?;
                    tracing::debug!(error = %error, retry_at = %at, "mail waits for a sign-in");
                    report.retrying += 1 + rest.len();
                    return Ok(());
                }
                Err(SendFailure::Unreachable(e)) => {
                    // Nothing in this batch can go now: all of it waits for
                    // the server, which is tried again within seconds so
                    // mail resumes as soon as it is back.
                    let at = now + UNREACHABLE_RETRY;
                    let rest: Vec<i64> = batch.filter(|(_, ok)| *ok).map(|(m, _)| m.id).collect();
                    store.transaction(|tx| {
                        tx.defer(mail.id, &e, at)?;
                        if tracked {
                            tx.sent_copy_done(mail.id)?;
                        }
                        for id in &rest {
                            tx.defer(*id, &e, at)?;
                        }
                        Ok(())
                    })?;
                    note_unreachable(store, &mail, &e, 1 + rest.len(), now)?;
                    report.retrying += 1 + rest.len();
                    return Ok(());
                }
                Ok(()) => {
                    crate::failpoint::hit("outbox.after_send");
                    let queue_copy = files_copy && !confirmed;
                    store.transaction(|tx| {
                        tx.mark_sent(mail.id, now)?;
                        if queue_copy {
                            tx.sent_copy_queue(mail.id, now)
                        } else if tracked {
                            tx.sent_copy_done(mail.id)
                        } else {
                            Ok(())
                        }
                    })?;
                    report.sent += 1;
                    report.copies_queued += usize::from(queue_copy);
                    if report.sent == 1 {
                        note_reachable(store, now)?;
                    }
                }
                Err(SendFailure::Temporary(e)) if mail.attempts + 1 < policy.max_attempts => {
                    let at = policy.next_attempt(mail.attempts, now);
                    store.transaction(|tx| {
                        tx.mark_failed(mail.id, &e, Some(at), now)?;
                        if tracked {
                            tx.sent_copy_done(mail.id)?;
                        }
                        Ok(())
                    })?;
                    tracing::warn!(mail = mail.id, to = %mail.recipient, error = %e, retry_at = %at, "send failed, will retry");
                    report.retrying += 1;
                }
                Err(failure) => {
                    if tracked {
                        store.transaction(|tx| tx.sent_copy_done(mail.id))?;
                    }
                    give_up(store, composer, &mail, &failure.to_string(), now)?;
                    report.failed += 1;
                }
            }
        }
    }
    Ok(())
}

/// How the `last_error` of a mail waiting for a sign-in begins: the daemon
/// makes such mail due at once when a new sign-in works.
pub const SIGN_IN_WAIT: &str = "waiting for a sign-in: ";

/// How soon mail waiting for an unreachable server is tried again.
pub const UNREACHABLE_RETRY: TimeDelta = TimeDelta::seconds(3);

/// The scheduler-state key set while the SMTP server cannot be reached.
const UNREACHABLE_KEY: &str = "outbox/smtp_unreachable_since";

/// Journals (and logs at warn) the start of an outage, once, naming the
/// mail that found it (`mail`, the one deferred first) and how many wait;
/// later failures of the same outage are only debug lines.
fn note_unreachable(
    store: &mut Store,
    mail: &OutboxMail,
    error: &str,
    waiting: usize,
    now: DateTime<Utc>,
) -> Result<(), OutboxError> {
    if store.scheduler_get(UNREACHABLE_KEY)?.is_some() {
        tracing::debug!(error = %error, "SMTP server still unreachable");
        return Ok(());
    }
    tracing::warn!(mail = mail.id, error = %error, "SMTP server unreachable; mail waits and is retried every few seconds");
    store.transaction(|tx| {
        tx.scheduler_set(UNREACHABLE_KEY, &crate::store::ts(now), now)?;
        tx.record_event(
            &NewEvent {
                engagement: mail.engagement.clone(),
                milestone: mail.milestone.clone(),
                message_id: Some(mail.message_id.clone()),
                subject: Some(mail.subject.clone()),
                detail: Some(format!(
                    "{error}; {waiting} mail(s) deferred, retried every {} s",
                    UNREACHABLE_RETRY.num_seconds()
                )),
                ..NewEvent::internal("smtp_unreachable")
            },
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

/// Resolves rows a crash left in `sending` (see the module doc).
async fn recover(
    store: &mut Store,
    transport: &Transport,
    mut folder: Option<&mut SentFolder<'_>>,
    clock: &dyn Clock,
    report: &mut DeliveryReport,
) -> Result<(), OutboxError> {
    let stuck = store.transaction(|tx| tx.sending_outbox())?;
    for mail in stuck {
        let unstaged = store.transaction(|tx| tx.sent_copy_was_unstaged(mail.id))?;
        // What became of it, and if it goes again, why the journal says so.
        let (delivered, window) = match (transport.already_delivered(&mail), folder.as_deref_mut())
        {
            (Some(known), _) => (known, None),
            // It went out without a copy filed first: nothing can tell
            // whether the server took it. Sent again, at least once.
            (None, Some(_)) if unstaged => (
                false,
                Some(
                    "interrupted while sending without a Sent copy (the Sent folder did not answer); sent again",
                ),
            ),
            // Without a look in Sent we cannot tell; the row waits for the
            // folder to answer rather than be guessed at.
            (None, Some(_)) if sent_copy::is_down(store)? => continue,
            (None, Some(f)) => match f.lookup(&mail.message_id).await {
                Ok(SentCopy::Confirmed) => (true, None),
                Ok(SentCopy::Absent) => (false, None),
                // Filed, but the acceptance was never confirmed: the crash
                // came before the server's "250" (or in the one round trip
                // after it). Sent again; the stale copy goes.
                Ok(SentCopy::Pending(uids)) => {
                    if let Err(e) = f.discard(&uids).await {
                        tracing::warn!(error = %e, "could not remove a pending Sent copy");
                    }
                    (
                        false,
                        Some(
                            "interrupted between sending and confirming its Sent copy; sent again",
                        ),
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot search the Sent folder; leaving interrupted mails for later");
                    sent_copy::mark_down(store, &e, clock.now())?;
                    continue;
                }
            },
            // SMTP without IMAP: nothing can tell; at least once.
            (None, None) => (false, None),
        };
        let now = clock.now();
        if delivered {
            store.transaction(|tx| {
                tx.mark_sent(mail.id, now)?;
                tx.sent_copy_done(mail.id)
            })?;
            report.recovered_sent += 1;
        } else {
            store.transaction(|tx| {
                tx.requeue(mail.id)?;
                tx.sent_copy_done(mail.id)?;
                if let Some(why) = window {
                    // The documented window: the server may have accepted it
                    // just before the crash. Journaled, so a second copy can
                    // always be told apart from a bug.
                    tx.record_event(
                        &NewEvent {
                            message_id: Some(mail.message_id.clone()),
                            engagement: mail.engagement.clone(),
                            subject: Some(mail.subject.clone()),
                            detail: Some(why.to_string()),
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
