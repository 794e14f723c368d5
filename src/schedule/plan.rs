//! `handoff plan`: the schedule's items of the next days as a timeline, with
//! the sends the pass itself makes (agreement request, instructions) that are
//! still to come, each at the instant it will really go (quiet hours applied).

use super::{Facts, Item, LAST_WAKE, Mode, Window, due_items, items};
use crate::lifecycle::EngagementState;
use crate::model::Model;
use crate::sendtime;
use crate::store::{Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One line of `handoff plan`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanEntry {
    /// When it goes (RFC 3339, UTC): quiet hours already applied.
    pub at: DateTime<Utc>,
    /// The same instant in the recipient's zone.
    pub local: String,
    pub to: String,
    pub purpose: String,
    pub engagement: String,
    pub milestone: Option<String>,
    pub rule: String,
}

/// The timeline of the next `days` days: what is due now and not yet queued
/// (it goes on the next pass), then every future item, assuming nothing
/// changes meanwhile (no reply, no delivery, no owner command).
pub fn plan(
    model: &Model,
    store: &Store,
    now: DateTime<Utc>,
    days: u32,
) -> Result<Vec<PlanEntry>, StoreError> {
    let facts = Facts::load(store)?;
    let last_wake = store
        .scheduler_get(LAST_WAKE)?
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|t| t.with_timezone(&Utc));
    let mut all: Vec<Item> = Vec::new();
    for it in due_items(model, &facts, now, last_wake) {
        if !store.autocommit().outbox_has(&it.key)? {
            all.push(it);
        }
    }
    let w = Window {
        after: now,
        until: now + TimeDelta::days(i64::from(days)),
        mode: Mode::All,
        once_after: now,
        recurring_after: now,
    };
    all.extend(items(model, &facts, &w));
    let mut out = Vec::new();
    for e in &model.engagements {
        let Some(r) = facts.records.get(&e.id) else {
            continue;
        };
        let start = sendtime::start_instant(model, e);
        let (key, purpose, at, rule) = match r.state {
            EngagementState::AwaitingAgreement => (
                format!("agreement_request/{}", e.id),
                Purpose::AgreementRequest,
                now,
                "agreement not signed: the agreement request",
            ),
            EngagementState::Active => (
                format!("instructions/{}", e.id),
                Purpose::Instructions,
                start.max(now),
                "work starts: instructions, then the invitations",
            ),
            _ => continue,
        };
        if at <= w.until && !store.autocommit().outbox_has(&key)? {
            all.push(Item {
                at,
                to: model.contractor_of(e).email.to_string(),
                purpose,
                engagement: e.id.clone(),
                milestone: None,
                rule,
                key,
                series: String::new(),
                once: true,
                extra: BTreeMap::new(),
            });
        }
    }
    // By id: a plan has items for thousands of engagements.
    let by_id: HashMap<&str, &crate::model::Engagement> = model
        .engagements
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    for it in all {
        let Some(e) = by_id.get(it.engagement.as_str()).copied() else {
            continue;
        };
        let (at, tz) = if it.purpose.is_owner_notice() {
            (it.at.max(now), model.owner.timezone)
        } else {
            let c = model.contractor_of(e);
            (
                sendtime::not_before(model, e, it.purpose, it.at.max(now)),
                c.timezone,
            )
        };
        // Mail to an address held after a bounce waits for the hold: the
        // plan says so rather than promise a time.
        let rule = if !it.purpose.is_owner_notice() && facts.held.contains(&it.to.to_lowercase()) {
            format!(
                "{} (held: the address bounced; goes once they write again)",
                it.rule
            )
        } else {
            it.rule.to_string()
        };
        out.push(PlanEntry {
            at,
            local: tz
                .from_utc_datetime(&at.naive_utc())
                .format("%Y-%m-%d %H:%M %Z")
                .to_string(),
            to: it.to,
            purpose: it.purpose.to_string(),
            engagement: it.engagement,
            milestone: it.milestone,
            rule,
        });
    }
    out.sort_by(|a, b| (a.at, &a.engagement, &a.purpose).cmp(&(b.at, &b.engagement, &b.purpose)));
    Ok(out)
}
