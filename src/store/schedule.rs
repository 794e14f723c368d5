//! What the schedule reads from the journal and the outbox, in a few grouped
//! queries for all engagements at once.
//!
//! The scheduler wakes often and the store may hold thousands of engagements:
//! one statement per engagement per wake would make every wake cost the
//! whole store. Instead [`Tx::journal_facts`] answers "when did each kind of
//! event last happen, per engagement and milestone" in one pass, and the
//! scheduler works from that map in memory.

use super::{StoreError, Tx, parse_ts, ts};
use chrono::{DateTime, Utc};
use rusqlite::params_from_iter;
use std::collections::HashMap;

/// The latest event of each kind, per engagement (and milestone), plus the
/// text of each engagement's latest question, the contractor's last genuine
/// contact and the latest status request that reached them.
#[derive(Debug, Clone, Default)]
pub struct JournalFacts {
    /// (engagement, milestone or "", kind) → the latest time.
    latest: HashMap<(String, String, String), DateTime<Utc>>,
    /// engagement → (time, the question as written) of its latest question.
    questions: HashMap<String, (DateTime<Utc>, String)>,
    /// engagement → the contractor's last genuine mail (see `contact`).
    contact: HashMap<String, DateTime<Utc>>,
    /// engagement → (idempotency key, sent at) of the latest status request
    /// that reached the contractor.
    status_sent: HashMap<String, (String, DateTime<Utc>)>,
}

impl JournalFacts {
    /// The latest `kind` event of an engagement about no milestone in
    /// particular, or about any of its milestones.
    pub fn latest(&self, engagement: &str, kind: &str) -> Option<DateTime<Utc>> {
        self.latest
            .iter()
            .filter(|((e, _, k), _)| e == engagement && k == kind)
            .map(|(_, t)| *t)
            .max()
    }

    /// The latest `kind` event about one milestone.
    pub fn latest_for(
        &self,
        engagement: &str,
        milestone: &str,
        kind: &str,
    ) -> Option<DateTime<Utc>> {
        self.latest
            .get(&(
                engagement.to_string(),
                milestone.to_string(),
                kind.to_string(),
            ))
            .copied()
    }

    /// The latest question of an engagement: when, and what it said.
    pub fn last_question(&self, engagement: &str) -> Option<&(DateTime<Utc>, String)> {
        self.questions.get(engagement)
    }

    /// When the contractor of `engagement` last wrote a genuine mail (the
    /// inbox's judgement, recorded with the mail).
    pub fn last_contact(&self, engagement: &str) -> Option<DateTime<Utc>> {
        self.contact.get(engagement).copied()
    }

    /// The latest status request that reached the contractor: its
    /// idempotency key and when it was sent.
    pub fn status_sent(&self, engagement: &str) -> Option<&(String, DateTime<Utc>)> {
        self.status_sent.get(engagement)
    }

    /// Adds one fact (tests and benchmarks build facts without a journal).
    pub fn insert(
        &mut self,
        engagement: &str,
        milestone: Option<&str>,
        kind: &str,
        t: DateTime<Utc>,
    ) {
        let key = (
            engagement.to_string(),
            milestone.unwrap_or_default().to_string(),
            kind.to_string(),
        );
        let slot = self.latest.entry(key).or_insert(t);
        if *slot < t {
            *slot = t;
        }
    }

    /// Groups the facts by engagement, so that a lookup per engagement does
    /// not scan every fact.
    pub fn by_engagement(self) -> HashMap<String, JournalFacts> {
        let mut out: HashMap<String, JournalFacts> = HashMap::new();
        for (key, t) in self.latest {
            out.entry(key.0.clone()).or_default().latest.insert(key, t);
        }
        for (e, q) in self.questions {
            out.entry(e.clone()).or_default().questions.insert(e, q);
        }
        for (e, t) in self.contact {
            out.entry(e.clone()).or_default().contact.insert(e, t);
        }
        for (e, s) in self.status_sent {
            out.entry(e.clone()).or_default().status_sent.insert(e, s);
        }
        out
    }
}

impl Tx<'_> {
    /// The latest event of each of `kinds` per (engagement, milestone), and
    /// the latest question of each engagement with its text.
    pub fn journal_facts(&self, kinds: &[&str]) -> Result<JournalFacts, StoreError> {
        let mut facts = JournalFacts::default();
        if !kinds.is_empty() {
            let marks = vec!["?"; kinds.len()].join(", ");
            // A reading the owner corrected counts no more (see
            // `events::standing`).
            let sql = format!(
                "SELECT engagement_id, COALESCE(milestone_id, ''), kind, MAX(time) FROM event e
                 WHERE engagement_id IS NOT NULL AND kind IN ({marks}) AND {}
                 GROUP BY engagement_id, milestone_id, kind",
                super::events::standing("e")
            );
            let mut stmt = self.conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(kinds.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            for row in rows {
                let (e, m, k, t) = row?;
                let t = parse_ts(&t, "event")?;
                facts.insert(&e, Some(&m), &k, t);
            }
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT engagement_id, time, COALESCE(detail, subject, '') FROM event
             WHERE id IN (SELECT MAX(id) FROM event e
                          WHERE kind = 'question' AND engagement_id IS NOT NULL AND {}
                          GROUP BY engagement_id)",
            super::events::standing("e")
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (e, t, text) = row?;
            facts.questions.insert(e, (parse_ts(&t, "question")?, text));
        }
        facts.contact = self.contacts()?;
        // SQLite returns the other columns of the row holding the MAX.
        let mut stmt = self.conn.prepare_cached(
            "SELECT engagement_id, idempotency_key, MAX(sent_at) FROM outbox
             WHERE purpose = 'status_request' AND status = 'sent' AND engagement_id IS NOT NULL
             GROUP BY engagement_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (e, key, t) = row?;
            facts
                .status_sent
                .insert(e, (key, parse_ts(&t, "status request sent")?));
        }
        Ok(facts)
    }

    /// How many mails of `purposes` to `recipient` are queued or sent to go
    /// out in `[from, to)`: the reminder cap counts these.
    pub fn outbox_count_between(
        &self,
        recipient: &str,
        purposes: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let marks = vec!["?"; purposes.len()].join(", ");
        let sql = format!(
            // A mail taken back (or given up) never reached anyone: it
            // leaves room under the cap.
            "SELECT COUNT(*) FROM outbox WHERE recipient = ? AND next_attempt_at >= ?
             AND next_attempt_at < ? AND status != 'failed' AND purpose IN ({marks})"
        );
        let mut args = vec![recipient.to_string(), ts(from), ts(to)];
        args.extend(purposes.iter().map(|p| p.to_string()));
        let n: i64 = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

/// A queued mail the schedule looks at again before it goes
/// ([`crate::schedule::review`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: i64,
    pub key: String,
    pub engagement: Option<String>,
    pub milestone: Option<String>,
    pub purpose: String,
    pub recipient: String,
    pub not_before: DateTime<Utc>,
    /// Its recipient is held after a bounce.
    pub held: bool,
}

impl Tx<'_> {
    /// Queued mails of `purposes` whose time has come by `until` (held ones
    /// included), in the order they would go.
    pub fn queued_due(
        &self,
        purposes: &[&str],
        until: DateTime<Utc>,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let marks = vec!["?"; purposes.len()].join(", ");
        let sql = format!(
            "SELECT id, idempotency_key, engagement_id, milestone_id, purpose, recipient,
                    next_attempt_at,
                    EXISTS (SELECT 1 FROM scheduler_state p WHERE p.key = 'paused/' || lower(outbox.recipient))
             FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? AND purpose IN ({marks})
             ORDER BY next_attempt_at, id"
        );
        let mut args = vec![ts(until)];
        args.extend(purposes.iter().map(|p| p.to_string()));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok((
                QueuedMail {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    engagement: r.get(2)?,
                    milestone: r.get(3)?,
                    purpose: r.get(4)?,
                    recipient: r.get(5)?,
                    not_before: DateTime::<Utc>::MIN_UTC,
                    held: r.get(7)?,
                },
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut m, at) = row?;
            m.not_before = parse_ts(&at, "outbox next attempt")?;
            out.push(m);
        }
        Ok(out)
    }

    /// Moves a queued mail to go at `at` instead (the reminder cap, applied
    /// again to mail released after a hold).
    pub fn retime(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.cached_exec(
            "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1 AND status = 'queued'",
            rusqlite::params![id, ts(at)],
        )?;
        Ok(())
    }
}

impl super::Store {
    pub fn queued_due(
        &self,
        purposes: &[&str],
        until: DateTime<Utc>,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        self.autocommit().queued_due(purposes, until)
    }

    pub fn journal_facts(&self, kinds: &[&str]) -> Result<JournalFacts, StoreError> {
        self.autocommit().journal_facts(kinds)
    }

    pub fn outbox_count_between(
        &self,
        recipient: &str,
        purposes: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.autocommit()
            .outbox_count_between(recipient, purposes, from, to)
    }
}
