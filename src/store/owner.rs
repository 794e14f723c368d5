//! The reads behind the owner's acts ([`crate::actions`]): which contractor
//! questions still wait for an answer, what has been paid, how often an act
//! was recorded (for idempotency keys), which of our mails a Message-ID names.
//!
//! Nothing here has a table of its own: the owner's acts are journal events
//! (`owner_answered`, `owner_paid`, …), so these are queries over the journal
//! and the outbox. A question is an `in` event of kind `question`; it is
//! answered once an `owner_answered` event carries its Message-ID.

use super::{StoreError, Tx};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl Tx<'_> {
    /// The Message-ID (with angle brackets) of the engagement's most recent
    /// contractor question that no `owner_answered` event names yet.
    pub fn latest_unanswered_question(
        &self,
        engagement: &str,
    ) -> Result<Option<String>, StoreError> {
        // A question the owner corrected into something else waits no more.
        let sql = format!(
            "SELECT q.message_id FROM event q
             WHERE q.kind = 'question' AND q.engagement_id = ?1 AND q.message_id IS NOT NULL
               AND {}
               AND NOT EXISTS (SELECT 1 FROM event a
                               WHERE a.kind = 'owner_answered' AND a.message_id = q.message_id)
             ORDER BY q.time DESC, q.id DESC LIMIT 1",
            super::events::standing("q")
        );
        Ok(self
            .cached_row(&sql, [engagement], |r| r.get(0))
            .optional()?)
    }

    /// The engagement of the contractor question with this Message-ID (with
    /// angle brackets), and whether it has been answered.
    pub fn question(&self, message_id: &str) -> Result<Option<(String, bool)>, StoreError> {
        let sql = format!(
            "SELECT q.engagement_id,
                    EXISTS (SELECT 1 FROM event a
                            WHERE a.kind = 'owner_answered' AND a.message_id = q.message_id)
             FROM event q
             WHERE q.kind = 'question' AND q.message_id = ?1 AND q.engagement_id IS NOT NULL
               AND {}
             LIMIT 1",
            super::events::standing("q")
        );
        Ok(self
            .cached_row(&sql, [message_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// The details of every event of `kind` for the engagement (and
    /// milestone, if given), oldest first: e.g. each `owner_paid` amount.
    pub fn event_details(
        &self,
        kind: &str,
        engagement: &str,
        milestone: Option<&str>,
    ) -> Result<Vec<Option<String>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT detail FROM event
             WHERE kind = ?1 AND engagement_id = ?2 AND (?3 IS NULL OR milestone_id = ?3)
             ORDER BY time, id",
        )?;
        let rows = stmt.query_map(params![kind, engagement, milestone], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every event of `kind` that names an engagement: (engagement, detail),
    /// oldest first. One query for all engagements (the digest's budget lines).
    pub fn event_details_all(
        &self,
        kind: &str,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT engagement_id, detail FROM event
             WHERE kind = ?1 AND engagement_id IS NOT NULL ORDER BY time, id",
        )?;
        let rows = stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The idempotency key of the mail we queued under this Message-ID (with
    /// angle brackets): it names the decision the mail came from.
    pub fn outbox_key_of(&self, message_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .cached_row(
                "SELECT idempotency_key FROM outbox WHERE message_id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Raises a milestone's calendar SEQUENCE (RFC 5545 §3.8.7.4) for a
    /// cancellation the owner decided, and returns the new value.
    pub fn bump_sequence(
        &self,
        engagement: &str,
        milestone: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.cached_exec(
            "UPDATE milestone SET sequence = sequence + 1, updated_at = ?3
             WHERE engagement_id = ?1 AND id = ?2",
            params![engagement, milestone, super::ts(now)],
        )?;
        Ok(self.cached_row(
            "SELECT sequence FROM milestone WHERE engagement_id = ?1 AND id = ?2",
            [engagement, milestone],
            |r| r.get(0),
        )?)
    }

    /// Takes back the engagement's mail to the contractor that is queued and
    /// not yet claimed by the sender (owner notices stay): the rows are kept,
    /// marked failed with `why`, so the record shows what never went out.
    /// Returns how many.
    pub fn withdraw_queued(
        &self,
        engagement: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.cached_exec(
            "UPDATE outbox SET status = 'failed', last_error = ?2, next_attempt_at = ?3
             WHERE engagement_id = ?1 AND status = 'queued' AND purpose NOT LIKE 'notice\\_%' ESCAPE '\\'",
            params![engagement, why, super::ts(now)],
        )?)
    }

    /// Takes back a mail still queued under this key (a notice that followed
    /// a reading the owner corrected): it is kept, marked failed with `why`.
    /// Whether there was one.
    pub fn withdraw_key(
        &self,
        idempotency_key: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.cached_exec(
            "UPDATE outbox SET status = 'failed', last_error = ?2, next_attempt_at = ?3
             WHERE idempotency_key = ?1 AND status = 'queued'",
            params![idempotency_key, why, super::ts(now)],
        )? > 0)
    }

    /// Whether a mail with this Message-ID was already looked at in `account`.
    pub fn inbound_message_seen(
        &self,
        account: &str,
        message_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .cached_row(
                "SELECT 1 FROM inbound_message WHERE account = ?1 AND message_id = ?2 LIMIT 1",
                [account, message_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

impl super::Store {
    pub fn latest_unanswered_question(
        &self,
        engagement: &str,
    ) -> Result<Option<String>, StoreError> {
        self.autocommit().latest_unanswered_question(engagement)
    }

    pub fn event_details_all(
        &self,
        kind: &str,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        self.autocommit().event_details_all(kind)
    }

    pub fn event_details(
        &self,
        kind: &str,
        engagement: &str,
        milestone: Option<&str>,
    ) -> Result<Vec<Option<String>>, StoreError> {
        self.autocommit().event_details(kind, engagement, milestone)
    }
}
