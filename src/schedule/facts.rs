//! The store's view the rules work from, read once per call for all
//! engagements: their records, a summary of the journal, the payments
//! recorded, and the addresses held after a bounce.

use super::rules;
use crate::store::{EngagementRecord, JournalFacts, Store, StoreError};
use std::collections::{HashMap, HashSet};

pub(super) struct Facts {
    pub records: HashMap<String, EngagementRecord>,
    pub journal: HashMap<String, JournalFacts>,
    pub empty: JournalFacts,
    /// Payments recorded (`owner_paid` details, "1200.00 EUR"), by engagement.
    pub paid: HashMap<String, Vec<String>>,
    /// Addresses whose mail is held after a bounce, lower-cased.
    pub held: HashSet<String>,
}

impl Facts {
    pub fn load(store: &Store) -> Result<Facts, StoreError> {
        let records = store
            .engagements()?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        Self::with_records(store, records)
    }

    /// With the engagement records the caller has read already.
    pub fn with_records(
        store: &Store,
        records: HashMap<String, EngagementRecord>,
    ) -> Result<Facts, StoreError> {
        let journal = store.journal_facts(rules::KINDS)?.by_engagement();
        let mut paid: HashMap<String, Vec<String>> = HashMap::new();
        for (engagement, detail) in store.event_details_all("owner_paid")? {
            if let Some(d) = detail {
                paid.entry(engagement).or_default().push(d);
            }
        }
        let held = store
            .paused_recipients()?
            .into_iter()
            .map(|(a, _)| a.to_lowercase())
            .collect();
        Ok(Facts {
            records,
            journal,
            empty: JournalFacts::default(),
            paid,
            held,
        })
    }
}
