//! The closing review of one engagement: what was spent against the budget,
//! which milestones came late or were redone, the silences and the
//! questions left unanswered, and the evaluations. Mailed to the owner once
//! when the engagement is finished or ended (`notice_closing_review`), shown
//! by `handoff status ENGAGEMENT` and on the owner's page; while the
//! engagement runs the same review reads as "so far".

use super::{Audience, Engagement, Evaluation, History, long, phrases, sums};
use crate::lifecycle::MilestoneState;
use crate::model::Model;
use crate::money::Money;
use crate::templates::lang::fill;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How an engagement closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Closing {
    /// Every milestone accepted.
    Finished,
    /// Ended by the owner (or removed from the config).
    Ended,
}

impl Closing {
    pub fn as_str(self) -> &'static str {
        match self {
            Closing::Finished => "finished",
            Closing::Ended => "ended",
        }
    }
}

/// The review.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Review {
    pub engagement: String,
    pub title: String,
    pub contractor: String,
    /// `None` while the engagement runs: the review so far.
    pub closed: Option<Closing>,
    pub closed_at: Option<DateTime<Utc>>,
    /// "2000.00 EUR", when the engagement has a budget.
    pub budget: Option<String>,
    /// Paid per currency ("1200.00 EUR").
    pub paid: Vec<String>,
    /// Each payment recorded: when, and the amount if one was given.
    pub payments: Vec<Payment>,
    /// Paid in the budget's currency as a whole percent of it.
    pub budget_percent: Option<i64>,
    pub milestones: Vec<MilestoneReview>,
    pub silences: Vec<Silence>,
    pub questions: Vec<QuestionReview>,
    /// Status requests sent, and answered by a report before the next one.
    pub status_requests: (u32, u32),
    pub evaluations: Vec<Evaluation>,
}

/// One milestone in the review.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MilestoneReview {
    pub id: String,
    pub title: String,
    pub due: DateTime<Utc>,
    pub state: String,
    pub delivered: Option<DateTime<Utc>>,
    /// Seconds after the due time (first delivery); negative: early.
    pub late_secs: Option<i64>,
    pub redos: u32,
}

/// A stretch with no mail from the contractor while work was outstanding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Silence {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub secs: i64,
}

/// One payment the owner recorded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Payment {
    pub at: DateTime<Utc>,
    /// "1200.00 EUR"; `None` for a payment recorded without an amount.
    pub amount: Option<String>,
}

/// A contractor question and whether the owner answered it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuestionReview {
    pub at: DateTime<Utc>,
    pub text: String,
    pub answered: Option<DateTime<Utc>>,
}

/// The review of `engagement` as of `now`; `closing` names a close the
/// journal does not hold yet (the act that closes it is being recorded).
/// `None` for an engagement the store does not know.
pub fn review(
    model: &Model,
    history: &History,
    engagement: &str,
    now: DateTime<Utc>,
    closing: Option<Closing>,
) -> Option<Review> {
    let record = history.engagement(engagement)?;
    let mut e = Engagement::read(record, history.facts_of(engagement));
    if let Some(c) = closing {
        e.closed.get_or_insert((now, c));
    }
    let cfg = model.engagement(engagement);
    let budget = cfg.and_then(|c| c.budget.as_ref());
    let paid = sums(e.payments.iter().filter_map(|(_, m)| m.clone()));
    let budget_percent = budget.map(|b| {
        let spent = paid
            .iter()
            .find(|p| p.currency == b.currency)
            .map_or(0, |p| p.cents);
        Money::percent_of(spent, b.cents)
    });
    let (answered, _) = e.status_share();
    let silences = e
        .silences(model.policy.silence_alert_after, now)
        .into_iter()
        .map(|(from, until)| Silence {
            from,
            until,
            secs: (until - from).num_seconds(),
        })
        .collect();
    Some(Review {
        engagement: record.id.clone(),
        title: record.title.clone(),
        contractor: model
            .contractors
            .iter()
            .find(|c| c.id == record.contractor)
            .map_or_else(|| record.contractor.clone(), |c| c.name.clone()),
        closed: e.closed.map(|(_, c)| c),
        closed_at: e.closed.map(|(t, _)| t),
        budget: budget.map(Money::to_string),
        paid: paid.iter().map(Money::to_string).collect(),
        payments: e
            .payments
            .iter()
            .map(|(at, m)| Payment {
                at: *at,
                amount: m.as_ref().map(Money::to_string),
            })
            .collect(),
        budget_percent,
        milestones: e
            .milestones
            .iter()
            .map(|m| MilestoneReview {
                id: m.id.clone(),
                title: m.title.clone(),
                due: m.due,
                state: if closing == Some(Closing::Ended) && !m.state.is_terminal() {
                    MilestoneState::Cancelled.to_string()
                } else {
                    m.state.to_string()
                },
                delivered: m.first_delivery,
                late_secs: m.first_delivery.map(|d| (d - m.due).num_seconds()),
                redos: m.redos,
            })
            .collect(),
        silences,
        questions: e
            .questions
            .iter()
            .map(|q| QuestionReview {
                at: q.at,
                text: q.text.clone(),
                answered: q.answered,
            })
            .collect(),
        status_requests: (e.status_requests.len() as u32, answered),
        evaluations: e.evaluations.clone(),
    })
}

impl Review {
    /// Milestones delivered late (first delivery after the due time).
    pub fn late(&self) -> impl Iterator<Item = &MilestoneReview> {
        self.milestones
            .iter()
            .filter(|m| m.late_secs.is_some_and(|s| s > 0))
    }

    /// Milestones sent back at least once.
    pub fn redone(&self) -> impl Iterator<Item = &MilestoneReview> {
        self.milestones.iter().filter(|m| m.redos > 0)
    }

    /// Milestones never delivered.
    pub fn undelivered(&self) -> impl Iterator<Item = &MilestoneReview> {
        self.milestones.iter().filter(|m| m.delivered.is_none())
    }

    /// Questions the owner never answered.
    pub fn unanswered(&self) -> impl Iterator<Item = &QuestionReview> {
        self.questions.iter().filter(|q| q.answered.is_none())
    }

    /// The heading: "Closing review of site (finished, …)" or "Review of
    /// site so far", in the reader's language.
    pub fn heading(&self, to: impl Audience) -> String {
        let reader = to.reader();
        let w = phrases(&reader);
        match (self.closed, self.closed_at) {
            (Some(c), Some(at)) => {
                let report = &reader.lang.phrases().report;
                let closed = match c {
                    Closing::Finished => report.finished,
                    Closing::Ended => report.ended,
                };
                fill(
                    w.heading_closed,
                    &[
                        ("closed", closed),
                        ("when", &reader.day(at)),
                        ("engagement", &self.engagement),
                    ],
                )
            }
            _ => fill(w.heading_so_far, &[("engagement", &self.engagement)]),
        }
    }

    /// The review as text, one fact per line ("- Spent: …"), for the owner's
    /// mail (in their language: pass `model.owner.reader()`) and `handoff
    /// status ENGAGEMENT` (English: pass the owner's zone).
    ///
    /// Values are filled in before anyone's own words (a title, a note, a
    /// question), so a `{date}` someone wrote stays as written.
    pub fn lines(&self, to: impl Audience) -> Vec<String> {
        let reader = to.reader();
        let reader = reader.as_ref();
        let w = phrases(reader);
        let mut out = Vec::new();
        out.push(match (&self.budget, self.budget_percent) {
            (Some(b), Some(p)) => {
                let currency = b.rsplit(' ').next().unwrap_or_default();
                let spent = self
                    .paid
                    .iter()
                    .find(|s| s.ends_with(currency))
                    .cloned()
                    .unwrap_or_else(|| format!("0.00 {currency}"));
                let others: Vec<&str> = self
                    .paid
                    .iter()
                    .filter(|s| !s.ends_with(currency))
                    .map(String::as_str)
                    .collect();
                let mut line = fill(
                    w.spent_of_budget,
                    &[
                        ("spent", &spent),
                        ("budget", b),
                        ("percent", &p.to_string()),
                    ],
                );
                if !others.is_empty() {
                    line += &fill(w.also_paid, &[("amounts", &others.join(", "))]);
                }
                line
            }
            _ if self.paid.is_empty() => w.spent_nothing.to_string(),
            _ => fill(w.spent_no_budget, &[("amounts", &self.paid.join(", "))]),
        });
        let late: Vec<String> = self
            .late()
            .map(|m| {
                fill(
                    w.late_item,
                    &[
                        ("late", &long(reader, m.late_secs.unwrap_or(0))),
                        ("title", &m.title),
                    ],
                )
            })
            .collect();
        out.push(listed(w.late, w.late_none, &late));
        let redone: Vec<String> = self
            .redone()
            .map(|m| {
                if m.redos == 1 {
                    fill(w.redone_once, &[("title", &m.title)])
                } else {
                    fill(
                        w.redone_times,
                        &[("count", &m.redos.to_string()), ("title", &m.title)],
                    )
                }
            })
            .collect();
        out.push(listed(w.redone, w.redone_none, &redone));
        let undelivered: Vec<String> = self.undelivered().map(|m| m.title.clone()).collect();
        if !undelivered.is_empty() {
            let how = if self.closed.is_some() {
                w.never_delivered
            } else {
                w.not_delivered_yet
            };
            out.push(fill(how, &[("list", &undelivered.join(", "))]));
        }
        let silences: Vec<String> = self
            .silences
            .iter()
            .map(|s| {
                fill(
                    w.silence_item,
                    &[
                        ("long", &long(reader, s.secs)),
                        ("date", &reader.day(s.from)),
                    ],
                )
            })
            .collect();
        out.push(listed(w.silences, w.silences_none, &silences));
        let (sent, answered) = self.status_requests;
        if sent > 0 {
            out.push(fill(
                w.status_answered,
                &[
                    ("answered", &answered.to_string()),
                    ("sent", &sent.to_string()),
                ],
            ));
        }
        let unanswered: Vec<&QuestionReview> = self.unanswered().collect();
        out.push(match (self.questions.len(), unanswered.len()) {
            (0, _) => w.questions_none.to_string(),
            (n, 0) => (w.questions_answered)(n),
            (n, u) => {
                let list: Vec<String> = unanswered
                    .iter()
                    .map(|q| {
                        let quote = fill(w.quoted, &[("text", &excerpt(&q.text))]);
                        fill(
                            w.question_item,
                            &[("date", &reader.day(q.at)), ("quote", &quote)],
                        )
                    })
                    .collect();
                fill(&(w.questions_open)(n, u), &[("list", &list.join(", "))])
            }
        });
        let evaluations: Vec<String> = self
            .evaluations
            .iter()
            .map(|e| {
                let score = e.score.to_string();
                let date = reader.day(e.at);
                match &e.notes {
                    Some(n) => fill(
                        w.evaluation_noted,
                        &[
                            ("score", &score),
                            ("date", &date),
                            ("notes", &fill(w.quoted, &[("text", &excerpt(n))])),
                        ],
                    ),
                    None => fill(w.evaluation_item, &[("score", &score), ("date", &date)]),
                }
            })
            .collect();
        out.push(listed(w.evaluations, w.evaluations_none, &evaluations));
        out
    }
}

/// `pattern` with its "{list}", or `none` for an empty list.
fn listed(pattern: &str, none: &str, items: &[String]) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        fill(pattern, &[("list", &items.join(", "))])
    }
}

/// A question or note cut to one line of at most 80 characters.
fn excerpt(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 80 {
        line
    } else {
        format!("{}…", line.chars().take(79).collect::<String>())
    }
}
