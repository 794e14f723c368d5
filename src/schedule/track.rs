//! The evaluation-due notice carries the contractor's record across all
//! their engagements ([`crate::record`]), below the record of this one
//! that the rules write (`summary::record`).
//!
//! Read only when an evaluation is due at this wake: the whole journal's
//! facts are one query, not worth making on every wake.

use super::Item;
use crate::model::Model;
use crate::record::{self, History};
use crate::store::{Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, Utc};

/// Appends the contractor's record to each due evaluation notice's `record`.
pub(super) fn add_contractor_records(
    model: &Model,
    store: &Store,
    items: &mut [Item],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !items
        .iter()
        .any(|i| i.purpose == Purpose::NoticeEvaluationDue)
    {
        return Ok(());
    }
    let history = History::load(store)?;
    // The owner reads the notice: their language, dates in their zone.
    let reader = model.owner.reader();
    for it in items
        .iter_mut()
        .filter(|i| i.purpose == Purpose::NoticeEvaluationDue)
    {
        let Some(e) = model.engagement(&it.engagement) else {
            continue;
        };
        let c = model.contractor_of(e);
        let r = record::contractor(model, &history, &c.id, now);
        let lines: Vec<String> = r.lines(&reader).iter().map(|l| format!("- {l}")).collect();
        let across = format!("\n\n{}\n{}", r.across(&reader), lines.join("\n"));
        it.extra
            .entry("record".to_string())
            .or_default()
            .push_str(&across);
    }
    Ok(())
}
