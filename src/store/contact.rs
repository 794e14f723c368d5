//! The silence clock's one truth: when each engagement's contractor last
//! wrote a genuine mail.
//!
//! What is genuine is the inbox's judgement (`Kind::is_genuine`: any mail the
//! contractor wrote themselves, a plain `message` included; not an
//! auto-reply, a bounce or a stranger). The inbox records the contact here in
//! the transaction that records the mail; the schedule reads it through
//! [`crate::store::JournalFacts::last_contact`] and never needs to know the
//! inbox's kinds, so the two cannot disagree.

use super::{StoreError, Tx, parse_ts, ts};
use chrono::{DateTime, Utc};
use rusqlite::params;
use std::collections::HashMap;

impl Tx<'_> {
    /// Records a genuine mail from the contractor of `engagement` at `at`
    /// (`kind` names what it was). An older contact never moves the clock
    /// back.
    pub fn record_contact(
        &self,
        engagement: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.cached_exec(
            "INSERT INTO contact (engagement_id, last_at, kind) VALUES (?1, ?2, ?3)
             ON CONFLICT (engagement_id) DO UPDATE SET last_at = excluded.last_at, kind = excluded.kind
             WHERE excluded.last_at > contact.last_at",
            params![engagement, ts(at), kind],
        )?;
        Ok(())
    }

    /// The last genuine contact of every engagement that had one.
    pub fn contacts(&self) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT engagement_id, last_at FROM contact")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = HashMap::new();
        for row in rows {
            let (e, t) = row?;
            out.insert(e, parse_ts(&t, "contact")?);
        }
        Ok(out)
    }
}

impl super::Store {
    /// [`Tx::record_contact`] on its own (one statement).
    pub fn record_contact(
        &self,
        engagement: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.autocommit().record_contact(engagement, kind, at)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Store, test_support::t};

    #[test]
    fn the_latest_genuine_contact_wins_and_an_older_one_never_moves_it_back() {
        let s = Store::open_in_memory().unwrap();
        s.record_contact("site", "message", t("2027-03-02T10:00:00Z"))
            .unwrap();
        s.record_contact("site", "status_report", t("2027-03-09T10:00:00Z"))
            .unwrap();
        s.record_contact("site", "question", t("2027-03-05T10:00:00Z"))
            .unwrap();
        let c = s.autocommit().contacts().unwrap();
        assert_eq!(c.get("site"), Some(&t("2027-03-09T10:00:00Z")));
        assert_eq!(c.get("other"), None);
    }
}
