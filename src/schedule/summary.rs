//! What the owner reads about an engagement's record: the record so far (in
//! the evaluation reminder) and the budget line (there and in the digest).
//! Both are written from the same facts the rules use, at the instant the
//! mail is due.

use super::rules::Subject;
use crate::lifecycle::MilestoneState;
use crate::templates::local_time;
use chrono::{DateTime, Utc};

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
                if m.deadline() < now {
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
