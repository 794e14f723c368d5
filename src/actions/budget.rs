//! The budget side of `paid`: what has been spent against an engagement's
//! `budget`, and the owner notices at 80 % and 100 % (each once, marked in
//! scheduler state `budget/<engagement>/<percent>` in the act's transaction).

use super::{ActionError, Plan, request};
use crate::model::{Engagement, Model};
use crate::money::Money;
use crate::outbox::Composer;
use crate::store::{Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, Utc};

/// What has been paid against an engagement's budget: the sum of the
/// `owner_paid` amounts in the budget's currency.
pub fn spent(store: &Store, engagement: &str, currency: &str) -> Result<i64, StoreError> {
    Ok(store
        .event_details("owner_paid", engagement, None)?
        .iter()
        .flatten()
        .filter_map(|d| Money::parse(d).ok())
        .filter(|m| m.currency == currency)
        .fold(0i64, |sum, m| sum.saturating_add(m.cents)))
}

/// The budget thresholds that earn an owner notice, in percent.
const BUDGET_THRESHOLDS: [i64; 2] = [80, 100];

/// A payment: checked against the budget's currency, and the budget notice
/// for the highest threshold it newly crosses (each threshold once: a
/// payment that jumps past both sends only the 100 % notice).
pub(super) fn paid(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    e: &Engagement,
    amount: Option<&Money>,
    plan: &mut Plan,
    now: DateTime<Utc>,
) -> Result<String, ActionError> {
    let Some(amount) = amount else {
        return Ok(format!("{}: payment recorded (no amount)", e.id));
    };
    let Some(budget) = &e.budget else {
        return Ok(format!("{}: payment of {amount} recorded", e.id));
    };
    if amount.currency != budget.currency {
        return Err(ActionError::CurrencyMismatch {
            engagement: e.id.clone(),
            paid: amount.to_string(),
            budget: budget.currency.clone(),
        });
    }
    let before = spent(store, &e.id, &budget.currency)?;
    let after = before.saturating_add(amount.cents);
    let percent = Money::percent_of(after, budget.cents);
    let mut crossed = None;
    for t in BUDGET_THRESHOLDS {
        let mark = format!("budget/{}/{t}", e.id);
        if percent >= t && store.scheduler_get(&mark)?.is_none() {
            plan.scheduler_marks.push(mark);
            crossed = Some(t);
        }
    }
    let spent_text = Money {
        cents: after,
        currency: budget.currency.clone(),
    }
    .to_string();
    if let Some(t) = crossed {
        let mut req = request(e, Purpose::NoticeBudget, None);
        req.extra.insert("percent".into(), t.to_string());
        req.extra.insert("spent".into(), spent_text.clone());
        req.extra.insert("budget".into(), budget.to_string());
        plan.mail(
            model,
            composer,
            store,
            format!("notice_budget/{}/{t}", e.id),
            e,
            req,
            now,
        )?;
    }
    Ok(format!(
        "{}: payment of {amount} recorded; {spent_text} of {budget} spent ({percent} %)",
        e.id
    ))
}
