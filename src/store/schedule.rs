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
/// text of each engagement's latest question.
#[derive(Debug, Clone, Default)]
pub struct JournalFacts {
    /// (engagement, milestone or "", kind) → the latest time.
    latest: HashMap<(String, String, String), DateTime<Utc>>,
    /// engagement → (time, the question as written) of its latest question.
    questions: HashMap<String, (DateTime<Utc>, String)>,
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
            "SELECT COUNT(*) FROM outbox WHERE recipient = ? AND next_attempt_at >= ?
             AND next_attempt_at < ? AND purpose IN ({marks})"
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

impl super::Store {
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
