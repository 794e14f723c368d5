//! One contractor's record across all their engagements: `handoff
//! contractors`, the contractor's page, and the evaluation-due notice.

use super::{
    Audience, Engagement, Fact, History, counted, long, median, percentile, phrases, sums,
};
use crate::lifecycle::MilestoneState;
use crate::model::Model;
use crate::money::Money;
use crate::templates::lang::fill;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Everything Handoff knows of how a contractor has worked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContractorRecord {
    pub id: String,
    /// From the config; `None` for a contractor only the store remembers.
    pub name: Option<String>,
    /// Their engagements, in the store's order.
    pub engagements: Vec<String>,
    pub milestones: MilestoneTally,
    /// The owner's redo requests (`owner_redo`).
    pub redo_requests: u32,
    pub responses: ResponseTimes,
    pub status_requests: StatusShare,
    /// Oldest first.
    pub evaluations: Vec<Evaluation>,
    /// What was paid, per currency ("1200.00 EUR").
    pub paid: Vec<String>,
    /// Payments recorded without an amount.
    pub payments_without_amount: u32,
}

/// Milestones delivered on time and late (first delivery against the due time).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct MilestoneTally {
    pub on_time: u32,
    pub late: u32,
    /// Past due with no delivery yet.
    pub overdue: u32,
    /// Not due yet and not delivered.
    pub open: u32,
    /// The median lateness of the late ones, in seconds.
    pub median_late_secs: Option<i64>,
    /// Each delivered milestone: (engagement, milestone, title, seconds after
    /// the due time; negative = early).
    pub deliveries: Vec<Delivery>,
}

/// One delivered milestone, for the contractor page's chart.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Delivery {
    pub engagement: String,
    pub milestone: String,
    pub title: String,
    pub due: DateTime<Utc>,
    pub delivered: DateTime<Utc>,
    /// Seconds after the due time (negative: early).
    pub late_secs: i64,
}

/// How fast they answer Handoff's requests.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ResponseTimes {
    /// Requests answered (each is in the times).
    pub answered: u32,
    /// Requests not answered yet.
    pub waiting: u32,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
}

/// Status requests and how many got a status report before the next one.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct StatusShare {
    pub sent: u32,
    pub answered: u32,
    /// The latest, still within its time.
    pub waiting: u32,
    /// answered / (sent − waiting), whole percent; `None` with nothing due.
    pub percent: Option<u32>,
}

/// One evaluation the owner recorded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Evaluation {
    pub at: DateTime<Utc>,
    pub engagement: String,
    /// 1 to 5.
    pub score: u8,
    pub notes: Option<String>,
}

impl Evaluation {
    /// From an `owner_evaluated` event ("4: notes" or "4").
    pub(super) fn read(f: &Fact) -> Option<Evaluation> {
        let detail = f.detail.as_deref()?;
        let (score, notes) = match detail.split_once(':') {
            Some((s, n)) => (s, Some(n.trim().to_string()).filter(|n| !n.is_empty())),
            None => (detail, None),
        };
        let score: u8 = score.trim().parse().ok().filter(|s| (1..=5).contains(s))?;
        Some(Evaluation {
            at: f.at,
            engagement: f.engagement.clone(),
            score,
            notes,
        })
    }
}

/// Every contractor's record: those of the config in its order, then any
/// the store alone remembers (an engagement removed from the config).
pub fn contractors(model: &Model, history: &History, now: DateTime<Utc>) -> Vec<ContractorRecord> {
    let mut ids: Vec<String> = model.contractors.iter().map(|c| c.id.clone()).collect();
    for e in &history.engagements {
        if !ids.contains(&e.contractor) {
            ids.push(e.contractor.clone());
        }
    }
    ids.iter()
        .map(|id| contractor(model, history, id, now))
        .collect()
}

/// One contractor's record (empty figures for one with no engagement yet).
pub fn contractor(
    model: &Model,
    history: &History,
    id: &str,
    now: DateTime<Utc>,
) -> ContractorRecord {
    let name = model
        .contractors
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.name.clone());
    let theirs: Vec<Engagement<'_>> = history
        .engagements
        .iter()
        .filter(|e| e.contractor == id)
        .map(|e| Engagement::read(e, history.facts_of(&e.id)))
        .collect();
    let mut tally = MilestoneTally::default();
    let mut late = Vec::new();
    let mut times = Vec::new();
    let mut responses = ResponseTimes::default();
    let mut status = StatusShare::default();
    let mut evaluations = Vec::new();
    let mut paid = Vec::new();
    let mut without_amount = 0;
    let mut redos = 0;
    for e in &theirs {
        for m in &e.milestones {
            redos += m.redos;
            match m.first_delivery {
                Some(d) => {
                    let by = (d - m.due).num_seconds();
                    if by > 0 {
                        tally.late += 1;
                        late.push(by);
                    } else {
                        tally.on_time += 1;
                    }
                    tally.deliveries.push(Delivery {
                        engagement: e.record.id.clone(),
                        milestone: m.id.clone(),
                        title: m.title.clone(),
                        due: m.due,
                        delivered: d,
                        late_secs: by,
                    });
                }
                None if m.state == MilestoneState::Cancelled => {}
                None if m.due < now => tally.overdue += 1,
                None => tally.open += 1,
            }
        }
        for t in e.response_times() {
            match t {
                Some(t) => {
                    responses.answered += 1;
                    times.push(t.num_seconds());
                }
                None => responses.waiting += 1,
            }
        }
        let (answered, waiting) = e.status_share();
        status.sent += e.status_requests.len() as u32;
        status.answered += answered;
        status.waiting += waiting;
        evaluations.extend(e.evaluations.iter().cloned());
        for (_, amount) in &e.payments {
            match amount {
                Some(m) => paid.push(m.clone()),
                None => without_amount += 1,
            }
        }
    }
    late.sort_unstable();
    times.sort_unstable();
    tally.median_late_secs = median(&late);
    tally.deliveries.sort_by_key(|d| d.delivered);
    responses.median_secs = median(&times);
    responses.p90_secs = percentile(&times, 90);
    let due = status.sent - status.waiting;
    status.percent = (due > 0).then(|| status.answered * 100 / due);
    evaluations.sort_by_key(|e: &Evaluation| e.at);
    ContractorRecord {
        id: id.to_string(),
        name,
        engagements: theirs.iter().map(|e| e.record.id.clone()).collect(),
        milestones: tally,
        redo_requests: redos,
        responses,
        status_requests: status,
        evaluations,
        paid: sums(paid.into_iter())
            .iter()
            .map(Money::to_string)
            .collect(),
        payments_without_amount: without_amount,
    }
}

impl ContractorRecord {
    /// The figures, one per line ("milestones: …"; the caller puts "- "
    /// before each), for the evaluation-due notice and the closing review
    /// (in the owner's language: pass `model.owner.reader()`) and `handoff
    /// contractors` (English: pass the owner's zone).
    pub fn lines(&self, to: impl Audience) -> Vec<String> {
        let reader = to.reader();
        let reader = reader.as_ref();
        let w = phrases(reader);
        let m = &self.milestones;
        let mut lines = Vec::new();
        let mut ms = fill(
            w.milestones,
            &[
                ("on_time", &m.on_time.to_string()),
                ("late", &m.late.to_string()),
            ],
        );
        if let Some(l) = m.median_late_secs {
            ms += &fill(w.median_late, &[("late", &long(reader, l))]);
        }
        if m.overdue > 0 {
            ms += &counted(reader, w.overdue, "overdue", m.overdue);
        }
        ms += &counted(reader, w.open, "open", m.open);
        lines.push(ms);
        lines.push(fill(
            w.redo_requests,
            &[("count", &self.redo_requests.to_string())],
        ));
        let waiting = |n: u32| {
            if n == 0 {
                String::new()
            } else {
                counted(reader, w.waiting, "count", n)
            }
        };
        let r = &self.responses;
        lines.push(match (r.median_secs, r.p90_secs) {
            (Some(med), Some(p90)) => fill(
                w.replies,
                &[
                    ("median", &long(reader, med)),
                    ("p90", &long(reader, p90)),
                    ("answered", &r.answered.to_string()),
                    ("waiting", &waiting(r.waiting)),
                ],
            ),
            _ => fill(w.replies_none, &[("waiting", &waiting(r.waiting))]),
        });
        let s = &self.status_requests;
        lines.push(match s.percent {
            Some(p) => fill(
                w.status,
                &[
                    ("answered", &s.answered.to_string()),
                    ("due", &(s.sent - s.waiting).to_string()),
                    ("percent", &p.to_string()),
                    ("waiting", &waiting(s.waiting)),
                ],
            ),
            None if s.sent == 0 => w.status_none_sent.to_string(),
            None => fill(w.status_none_due, &[("waiting", &waiting(s.waiting))]),
        });
        let evaluations: Vec<String> = self
            .evaluations
            .iter()
            .map(|e| {
                fill(
                    w.record_evaluation_item,
                    &[
                        ("score", &e.score.to_string()),
                        ("date", &reader.day(e.at)),
                        ("engagement", &e.engagement),
                    ],
                )
            })
            .collect();
        lines.push(if evaluations.is_empty() {
            w.record_evaluations_none.to_string()
        } else {
            fill(w.record_evaluations, &[("list", &evaluations.join(", "))])
        });
        let mut paid = if self.paid.is_empty() {
            w.paid_nothing.to_string()
        } else {
            fill(w.paid, &[("amounts", &self.paid.join(", "))])
        };
        if self.payments_without_amount > 0 {
            paid += &(w.without_amount)(self.payments_without_amount as usize);
        }
        lines.push(paid);
        lines
    }

    /// The heading of these lines in the evaluation-due notice, in the
    /// reader's language: "Dana Díaz across all 2 engagements with you:".
    pub fn across(&self, to: impl Audience) -> String {
        let reader = to.reader();
        let pattern = (phrases(&reader).across)(self.engagements.len());
        fill(&pattern, &[("name", self.display_name())])
    }

    /// The name for people: the config's, else the id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}
