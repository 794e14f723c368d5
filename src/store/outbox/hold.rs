//! Holds after a bounce: mail to an address that bounced waits, queued,
//! until the hold is lifted (the contractor writes again, or the owner says
//! so), and each hold and release is journaled.

use super::super::{StoreError, Tx};
use chrono::{DateTime, Utc};

impl Tx<'_> {
    /// Holds every mail to `address` (after a bounce) until
    /// [`Tx::resume_recipient`]; journals `recipient_paused` the first time.
    pub fn pause_recipient(
        &self,
        address: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = format!("paused/{}", address.to_lowercase());
        if self.scheduler_get(&key)?.is_some() {
            return Ok(());
        }
        self.scheduler_set(&key, why, now)?;
        self.record_event(
            &super::NewEvent::internal("recipient_paused")
                .detail(format!("mail to {address} held after a bounce")),
            now,
        )
    }

    /// Lets mail to `address` go again; journals `recipient_resumed` if it
    /// was paused.
    pub fn resume_recipient(&self, address: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let n = self.cached_exec(
            "DELETE FROM scheduler_state WHERE key = ?1",
            [format!("paused/{}", address.to_lowercase())],
        )?;
        if n > 0 {
            self.record_event(
                &super::NewEvent::internal("recipient_resumed")
                    .detail(format!("mail to {address} goes out again")),
                now,
            )?;
        }
        Ok(())
    }

    /// Addresses whose mail is held, with why.
    pub fn paused_recipients(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT substr(key, 8), value FROM scheduler_state WHERE key LIKE 'paused/%' ORDER BY key",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl super::super::Store {
    pub fn paused_recipients(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.autocommit().paused_recipients()
    }

    /// [`Tx::resume_recipient`] in a transaction of its own.
    pub fn resume_recipient(
        &mut self,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| tx.resume_recipient(address, now))
    }
}
