//! The new date of work sent back for a redo (`handoff redo … --due`, or
//! `policy.redo_within` after the request). While a milestone is in `redo`
//! the schedule reads its deadline from here, so neither an overdue notice
//! nor an escalation goes before that date passes. It reaches readers as
//! [`crate::store::MilestoneRecord::redo_due`].

use super::{StoreError, Tx, ts};
use chrono::{DateTime, Utc};
use rusqlite::params;

impl Tx<'_> {
    /// Sets the date a milestone sent back is due again (the latest redo's
    /// date replaces an earlier one).
    pub fn set_redo_due(
        &self,
        engagement: &str,
        milestone: &str,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.cached_exec(
            "INSERT INTO redo (engagement_id, milestone_id, due, requested_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (engagement_id, milestone_id)
             DO UPDATE SET due = excluded.due, requested_at = excluded.requested_at",
            params![engagement, milestone, ts(due), ts(now)],
        )?;
        Ok(())
    }
}
