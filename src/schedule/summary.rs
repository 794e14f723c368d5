//! What the owner reads about an engagement's record: the record so far (in
//! the evaluation reminder) and the budget line (there and in the digest).
//! Both are written from the same facts the rules use, at the instant the
//! mail is due.

use super::rules::Subject;
use crate::lifecycle::MilestoneState;
use crate::model::{Engagement, Model};
use crate::templates::Reader;
use crate::templates::lang::{Report, fill};
use chrono::{DateTime, TimeDelta, Utc};

/// The record so far, one fact per line, for the evaluation reminder, in
/// the owner's words.
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
    let question = s.facts.last_question(&s.e.id).map(|(asked, _)| {
        let answered = s
            .facts
            .latest(&s.e.id, "owner_answered")
            .is_some_and(|t| t >= *asked);
        (*asked, answered)
    });
    RecordFacts {
        counts: [on_time, late, open, overdue],
        acknowledged: s.facts.latest(&s.e.id, "acknowledgement"),
        heard: s.last_heard(),
        question,
        budget: s
            .e
            .budget
            .as_ref()
            .map(|b| budget_line(&s.owner(), b, s.paid)),
    }
    .lines(&s.owner())
}

/// What the record says, before it is written in words.
struct RecordFacts {
    /// Delivered on time, late, open, overdue.
    counts: [usize; 4],
    acknowledged: Option<DateTime<Utc>>,
    heard: Option<DateTime<Utc>>,
    /// The last question and whether it was answered.
    question: Option<(DateTime<Utc>, bool)>,
    budget: Option<String>,
}

impl RecordFacts {
    fn lines(&self, owner: &Reader) -> String {
        let r = report(owner);
        let [on_time, late, open, overdue] = self.counts.map(|n| n.to_string());
        let mut lines = vec![fill(
            r.record_milestones,
            &[
                ("on_time", &on_time),
                ("late", &late),
                ("open", &open),
                ("overdue", &overdue),
            ],
        )];
        lines.push(match self.acknowledged {
            Some(t) => fill(r.record_ack, &[("when", &owner.time(t))]),
            None => r.record_no_ack.to_string(),
        });
        lines.push(match self.heard {
            Some(t) => fill(r.record_heard, &[("when", &owner.time(t))]),
            None => r.record_not_heard.to_string(),
        });
        if let Some((asked, answered)) = self.question {
            let pattern = if answered {
                r.record_answered
            } else {
                r.record_unanswered
            };
            lines.push(fill(pattern, &[("when", &owner.time(asked))]));
        }
        if let Some(b) = &self.budget {
            lines.push(format!("- {b}"));
        }
        lines.join("\n")
    }
}

/// The digest's and the record's phrases in `reader`'s language.
pub(crate) fn report(reader: &Reader) -> &'static Report {
    &reader.lang.phrases().report
}

/// A record as `check` and `preview` show it in the evaluation reminder.
pub fn sample_record(owner: &Reader, now: DateTime<Utc>) -> String {
    RecordFacts {
        counts: [1, 0, 2, 0],
        acknowledged: Some(now - TimeDelta::days(20)),
        heard: Some(now - TimeDelta::days(2)),
        question: Some((now - TimeDelta::days(9), true)),
        budget: None,
    }
    .lines(owner)
}

/// A digest's headline, what needs the owner and the summary, as `check`
/// and `preview` show them: engagement `e` with its first milestone
/// delivered and waiting for the owner's check.
pub fn sample_digest(
    model: &Model,
    e: &Engagement,
    owner: &Reader,
    now: DateTime<Utc>,
) -> (String, String, String) {
    let r = report(owner);
    let name = model.contractor_of(e).name.as_str();
    let line = fill(
        r.engagement,
        &[
            ("title", &e.title),
            ("id", &e.id),
            ("contractor", name),
            ("state", r.active),
        ],
    );
    let needs = e.milestones.first().map_or_else(String::new, |m| {
        fill(
            r.need_check_delivered,
            &[
                ("id", &e.id),
                ("title", &m.title),
                ("when", &owner.day(now - TimeDelta::days(1))),
            ],
        )
    });
    let count = usize::from(!needs.is_empty());
    ((r.headline)(1, count), needs, line)
}

/// The budget line of the digest and the record: what the recorded payments
/// (`owner_paid` details) in the budget's currency add up to, against the
/// budget, in `reader`'s words.
pub(crate) fn budget_line(
    reader: &Reader,
    budget: &crate::money::Money,
    paid: &[String],
) -> String {
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
    fill(
        report(reader).budget,
        &[
            ("spent", &spent.to_string()),
            ("budget", &budget.to_string()),
            ("percent", &percent.to_string()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::money::Money;
    use crate::templates::{Lang, Reader};

    fn en() -> Reader {
        Reader::new(Lang::default(), chrono_tz::UTC)
    }

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
            super::budget_line(&en(), &budget, &paid),
            "budget: 1600.50 EUR of 2000.00 EUR spent (80 %)"
        );
        assert_eq!(
            super::budget_line(&en(), &budget, &[]),
            "budget: 0.00 EUR of 2000.00 EUR spent (0 %)"
        );
    }
}
