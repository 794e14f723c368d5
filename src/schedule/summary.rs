//! What the owner reads about an engagement: the record so far (in the
//! evaluation reminder) and its lines in the digest. Both are written from the
//! same facts the rules use, at the instant the mail is due.

use super::rules::Subject;
use crate::lifecycle::{EngagementState, MilestoneState};
use crate::templates::local_time;
use chrono::{DateTime, TimeDelta, Utc};

/// The record so far, one fact per line, for the evaluation reminder.
pub(crate) fn record(s: &Subject<'_>, now: DateTime<Utc>) -> String {
    let (mut on_time, mut late, mut open, mut overdue) = (0, 0, 0, 0);
    for m in s
        .record
        .milestones
        .iter()
        .filter(|m| !m.removed_from_config)
    {
        match m.state {
            MilestoneState::Delivered | MilestoneState::Accepted => {
                match s.facts.latest_for(&s.e.id, &m.id, "milestone_delivered") {
                    Some(t) if t > m.due => late += 1,
                    _ => on_time += 1,
                }
            }
            MilestoneState::Cancelled => {}
            _ => {
                open += 1;
                if m.due < now {
                    overdue += 1;
                }
            }
        }
    }
    let tz = s.owner_tz();
    let mut lines = vec![format!(
        "- Milestones: {on_time} delivered on time, {late} late, {open} open ({overdue} overdue)"
    )];
    let ack = s.facts.latest(&s.e.id, "acknowledgement");
    lines.push(match ack {
        Some(t) => format!("- Last acknowledgement: {}", local_time(t, tz)),
        None => "- No acknowledgement recorded".to_string(),
    });
    lines.push(match s.last_heard() {
        Some(t) => format!("- Last heard from them: {}", local_time(t, tz)),
        None => "- Nothing heard from them yet".to_string(),
    });
    if let Some((asked, _)) = s.facts.last_question(&s.e.id) {
        let answered = s
            .facts
            .latest(&s.e.id, "owner_answered")
            .is_some_and(|t| t >= *asked);
        lines.push(format!(
            "- Last question: {}{}",
            local_time(*asked, tz),
            if answered {
                " (answered)"
            } else {
                " (not answered yet)"
            }
        ));
    }
    if let Some(budget) = &s.e.budget {
        lines.push(format!("- {}", budget_line(budget, s.paid)));
    }
    lines.join("\n")
}

/// One engagement's lines in the owner's digest at `now`.
pub(crate) fn digest_lines(s: &Subject<'_>, now: DateTime<Utc>) -> (String, bool) {
    let tz = s.owner_tz();
    let week = now + TimeDelta::days(7);
    let mut lines = vec![format!(
        "{} ({}, {}): {}",
        s.e.title,
        s.e.id,
        s.model.contractor_of(s.e).name,
        s.record.state
    )];
    let mut needs_owner = false;
    if s.record.state == EngagementState::AwaitingAgreement {
        lines.push("  - waiting for the agreement to be signed".into());
        needs_owner = true;
    }
    for m in s.open() {
        if m.due < now {
            lines.push(format!(
                "  - late: {} (due {})",
                m.title,
                local_time(m.due, tz)
            ));
        } else if m.due <= week {
            lines.push(format!(
                "  - due this week: {} ({})",
                m.title,
                local_time(m.due, tz)
            ));
        }
    }
    for m in s.record.milestones.iter() {
        if m.state == MilestoneState::Delivered && !m.removed_from_config {
            lines.push(format!(
                "  - waiting on you: check the delivery of {}",
                m.title
            ));
            needs_owner = true;
        }
    }
    if let Some((asked, _)) = s.facts.last_question(&s.e.id)
        && s.facts
            .latest(&s.e.id, "owner_answered")
            .is_none_or(|t| t < *asked)
    {
        lines.push(format!(
            "  - waiting on you: a question asked {}",
            local_time(*asked, tz)
        ));
        needs_owner = true;
    }
    if s.record.state == EngagementState::Active && s.open().next().is_some() {
        let since = s.last_heard().map_or(s.start, |t| t.max(s.start));
        if now >= s.start && now - since >= s.model.policy.silence_alert_after {
            lines.push(format!("  - silent since {}", local_time(since, tz)));
        }
    }
    (lines.join("\n"), needs_owner)
}

/// The budget line of the digest and the record: what the recorded payments (`owner_paid`
/// details) in the budget's currency add up to, against the budget.
pub(crate) fn budget_line(budget: &crate::money::Money, paid: &[String]) -> String {
    let spent = paid
        .iter()
        .filter_map(|d| crate::money::Money::parse(d).ok())
        .filter(|m| m.currency == budget.currency)
        .fold(0i64, |sum, m| sum.saturating_add(m.cents));
    let percent = if budget.cents > 0 {
        spent.saturating_mul(100) / budget.cents
    } else {
        0
    };
    let spent = crate::money::Money {
        cents: spent,
        currency: budget.currency.clone(),
    };
    format!("budget: {spent} of {budget} spent ({percent} %)")
}

#[cfg(test)]
mod tests {
    use crate::money::Money;

    #[test]
    fn the_budget_line_adds_payments_in_the_budgets_currency() {
        let budget = Money {
            cents: 200_000,
            currency: "EUR".into(),
        };
        let paid = [
            "500.00 EUR".to_string(),
            "1100.50 EUR".to_string(),
            "999.00 USD".to_string(),
            "not an amount".to_string(),
        ];
        assert_eq!(
            super::budget_line(&budget, &paid),
            "budget: 1600.50 EUR of 2000.00 EUR spent (80 %)"
        );
        assert_eq!(
            super::budget_line(&budget, &[]),
            "budget: 0.00 EUR of 2000.00 EUR spent (0 %)"
        );
    }
}
