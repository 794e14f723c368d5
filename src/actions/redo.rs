//! `redo`: a delivered milestone goes back to the contractor with the
//! reason and a new date. Until that date passes, the schedule sends no
//! overdue notice and no escalation for it (it reads the date from the
//! store, [`crate::store::MilestoneRecord::deadline`]); the redo mail says
//! the date.

use super::{ActionError, Plan, request};
use crate::lifecycle::MilestoneEvent;
use crate::model::{Engagement, Model};
use crate::outbox::Composer;
use crate::store::{EngagementRecord, Store};
use crate::templates::{Purpose, local_time};
use chrono::{DateTime, NaiveTime, TimeZone, Utc};

/// The date a redo is due when the owner names none: `policy.redo_within`
/// from now, at the end of that day in the owner's zone (a date, as people
/// set one), or the milestone's own due date if that is still later.
pub fn default_due(model: &Model, own_due: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let tz = model.owner.timezone;
    let day = (now + model.policy.redo_within)
        .with_timezone(&tz)
        .date_naive();
    let end = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
    // The last second of a day never falls in a DST gap (changes happen at
    // or after midnight); the fallback keeps this total.
    let at = tz
        .from_local_datetime(&day.and_time(end))
        .earliest()
        .map_or(now + model.policy.redo_within, |t| t.with_timezone(&Utc));
    at.max(own_due)
}

/// Plans the redo of `milestone`: the transition, its new date and the mail;
/// returns the line for people.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    e: &Engagement,
    record: &EngagementRecord,
    milestone: &str,
    reason: String,
    due: Option<DateTime<Utc>>,
    plan: &mut Plan,
    now: DateTime<Utc>,
) -> Result<String, ActionError> {
    let own_due = record
        .milestones
        .iter()
        .find(|m| m.id == milestone)
        .map_or(now, |m| m.due);
    let due = match due {
        Some(d) if d <= now => {
            return Err(ActionError::PastDate {
                engagement: e.id.clone(),
                date: local_time(d, model.owner.timezone),
            });
        }
        Some(d) => d,
        None => default_due(model, own_due, now),
    };
    plan.event.milestone = Some(milestone.to_string());
    plan.event.detail = Some(reason.clone());
    plan.milestone_events
        .push((milestone.to_string(), MilestoneEvent::RedoRequested));
    plan.redo_due.push((milestone.to_string(), due));
    let n = store.transaction(|tx| {
        Ok(tx
            .event_details("owner_redo", &e.id, Some(milestone))?
            .len())
    })? + 1;
    let contractor = model.contractor_of(e);
    let mut req = request(e, Purpose::RedoRequest, Some(milestone));
    req.extra.insert("reason".into(), reason);
    req.extra.insert(
        "due".into(),
        contractor.reader().due(due, model.owner.timezone),
    );
    plan.mail(
        model,
        composer,
        store,
        format!("redo_request/{}/{milestone}/{n}", e.id),
        e,
        req,
        now,
    )?;
    Ok(format!(
        "{}/{milestone} sent back for another pass, due again {}; the reason and the date go to {}",
        e.id,
        local_time(due, model.owner.timezone),
        contractor.name
    ))
}
