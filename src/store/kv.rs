//! Scheduler state: small named values (when a reminder last fired, the next
//! run of a schedule) that must survive restarts so nothing fires twice.

use super::{StoreError, Tx, ts};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl Tx<'_> {
    pub fn scheduler_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .cached_row(
                "SELECT value FROM scheduler_state WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn scheduler_set(
        &self,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.cached_exec(
            "INSERT INTO scheduler_state (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, value, ts(now)],
        )?;
        Ok(())
    }
}

impl Tx<'_> {
    /// Removes a scheduler-state key (absent is fine).
    pub fn delete_scheduler_key(&self, key: &str) -> Result<(), StoreError> {
        self.cached_exec("DELETE FROM scheduler_state WHERE key = ?1", [key])?;
        Ok(())
    }
}

impl super::Store {
    pub fn scheduler_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.autocommit().scheduler_get(key)
    }

    /// [`Tx::scheduler_set`] on its own (one statement).
    pub fn scheduler_set(
        &self,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.autocommit().scheduler_set(key, value, now)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Store, test_support::t};

    #[test]
    fn scheduler_values_overwrite_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let s = Store::open(&path).unwrap();
        assert_eq!(s.scheduler_get("k").unwrap(), None);
        s.scheduler_set("k", "1", t("2026-11-24T09:00:00Z"))
            .unwrap();
        s.scheduler_set("k", "2", t("2026-11-24T10:00:00Z"))
            .unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.scheduler_get("k").unwrap().as_deref(), Some("2"));
    }
}
