//! The record: what each contractor has done across all their engagements
//! ([`contractors`]), and the closing review of one engagement ([`review`]).
//!
//! The practice Handoff follows asks the owner to keep evaluating the work,
//! to stay with a contractor who proves good, and, when a relationship goes
//! wrong, to see what was spent and what went badly. Every fact needed is
//! already in the store's journal; this module puts them side by side.
//!
//! # How data moves
//! In: [`History`], read once from the store (the engagement records and the
//! journal events of the kinds in [`KINDS`], one query), the checked
//! [`Model`] for names, budgets and `silence_alert_after`, and `now`. Out:
//! plain values ([`ContractorRecord`], [`Review`]) that serialize for
//! `--json` and write themselves as text for a person, in the words of an
//! [`Audience`]: a mail's [`Reader`] (the owner's language, dates in their
//! zone, phrases from `templates::lang::record`), or English for the CLI.
//! Everything here is a pure function of those inputs: unit tests build a
//! store with a known history and check the figures.
//!
//! # What counts (the same words the README uses)
//! - **On time / late**: a milestone's *first* delivery (`milestone_delivered`)
//!   against its due time; a redo is counted apart, so work delivered on
//!   time and sent back is "on time, 1 redo". A milestone past due with no
//!   delivery is *overdue*; a cancelled one without delivery counts neither way.
//! - **Response time to Handoff's requests**: from each request that asks
//!   the contractor to answer (the instructions, a status request, a redo
//!   request, an overdue notice: `sent_<purpose>` events) to the first
//!   reply after it (an acknowledgement, status report, delivery or
//!   question; a calendar's automatic accept does not count). A request not
//!   answered yet is *waiting* and not in the times.
//! - **Status requests answered**: a status report at or after a request and
//!   before the next one, the rule the "status report missing" notice uses.
//! - **Silences**: gaps of more than `policy.silence_alert_after` with no
//!   mail from the contractor (calendar replies included) while work was
//!   outstanding: from the instructions to the last first delivery, or to the
//!   close (or now) while a milestone was never delivered.
//!
//! # Where it stands
//! Above the store and the send-time rules, below the schedule (whose
//! evaluation-due notice carries the record), the actions (which queue the
//! closing review with the act that closes an engagement) and the views. It
//! reads; it never writes.

mod contractor;
mod review;
#[cfg(test)]
mod tests;

pub use contractor::{
    ContractorRecord, Delivery, Evaluation, MilestoneTally, ResponseTimes, StatusShare, contractor,
    contractors,
};
pub use review::{Closing, MilestoneReview, Payment, QuestionReview, Review, Silence, review};

use crate::lifecycle::MilestoneState;
use crate::money::Money;
use crate::store::{EngagementRecord, EventRecord, Store, StoreError};
use crate::templates::lang::record::{self as words, RecordPhrases};
use crate::templates::lang::{Phrases, fill};
use crate::templates::{Base, Lang, Reader};
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::borrow::Cow;
use std::collections::HashMap;

/// Who the record's text is written for. A mail passes its [`Reader`] (the
/// owner's language and zone); the CLI and the owner's page, whose language
/// is English, may pass a bare zone, read as English in that zone.
pub trait Audience {
    fn reader(&self) -> Cow<'_, Reader>;
}

impl Audience for Reader {
    fn reader(&self) -> Cow<'_, Reader> {
        Cow::Borrowed(self)
    }
}

impl Audience for &Reader {
    fn reader(&self) -> Cow<'_, Reader> {
        Cow::Borrowed(*self)
    }
}

impl Audience for Tz {
    fn reader(&self) -> Cow<'_, Reader> {
        Cow::Owned(Reader::new(Lang::default(), *self))
    }
}

/// The record's phrases in the reader's language.
fn phrases(reader: &Reader) -> &'static RecordPhrases {
    words::of(reader.lang.base())
}

/// A count with its pattern, singular or plural as the language says.
fn counted(reader: &Reader, (one, many): (&str, &str), name: &str, n: u32) -> String {
    let singular = n == 1 || (n == 0 && reader.lang.phrases().zero_is_singular);
    fill(if singular { one } else { many }, &[(name, &n.to_string())])
}

/// The purposes of Handoff's mails that ask the contractor to answer.
pub const REQUESTS: &[&str] = &[
    "sent_instructions",
    "sent_status_request",
    "sent_redo_request",
    "sent_overdue_notice",
];

/// Inbound kinds that answer a request.
pub const REPLIES: &[&str] = &["acknowledgement", "status_report", "delivery", "question"];

/// Inbound kinds that show the contractor is in touch (the schedule's
/// silence rule reads the same list).
pub const GENUINE: &[&str] = &[
    "acknowledgement",
    "status_report",
    "delivery",
    "question",
    "calendar_reply",
];

/// Every journal kind the record reads.
pub const KINDS: &[&str] = &[
    "sent_instructions",
    "sent_status_request",
    "sent_redo_request",
    "sent_overdue_notice",
    "acknowledgement",
    "status_report",
    "delivery",
    "question",
    "calendar_reply",
    "milestone_delivered",
    "owner_redo",
    "owner_evaluated",
    "owner_paid",
    "owner_answered",
    "engagement_all_milestones_accepted",
    "engagement_ended",
];

/// One journaled fact, as the record reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub engagement: String,
    pub milestone: Option<String>,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub detail: Option<String>,
}

impl Fact {
    fn from_event(e: EventRecord) -> Option<Fact> {
        Some(Fact {
            at: DateTime::parse_from_rfc3339(&e.time)
                .ok()?
                .with_timezone(&Utc),
            kind: e.kind,
            engagement: e.engagement?,
            milestone: e.milestone,
            message_id: e.message_id,
            subject: e.subject,
            detail: e.detail,
        })
    }
}

/// What the record is computed from: every engagement the store knows and
/// the facts about them, oldest first.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub engagements: Vec<EngagementRecord>,
    facts: HashMap<String, Vec<Fact>>,
}

impl History {
    /// Reads the engagements and the journal's facts (one query each).
    pub fn load(store: &Store) -> Result<History, StoreError> {
        let facts = store
            .events_of_kinds(KINDS)?
            .into_iter()
            .filter_map(Fact::from_event)
            .collect();
        Ok(History::new(store.engagements()?, facts))
    }

    /// From parts (the facts in any order).
    pub fn new(engagements: Vec<EngagementRecord>, facts: Vec<Fact>) -> History {
        let mut by: HashMap<String, Vec<Fact>> = HashMap::new();
        for f in facts {
            by.entry(f.engagement.clone()).or_default().push(f);
        }
        for list in by.values_mut() {
            list.sort_by_key(|f| f.at);
        }
        History {
            engagements,
            facts: by,
        }
    }

    fn facts_of(&self, engagement: &str) -> &[Fact] {
        self.facts.get(engagement).map_or(&[], Vec::as_slice)
    }

    pub fn engagement(&self, id: &str) -> Option<&EngagementRecord> {
        self.engagements.iter().find(|e| e.id == id)
    }
}

/// One milestone's outcome so far.
#[derive(Debug, Clone)]
struct MilestoneOutcome {
    id: String,
    title: String,
    due: DateTime<Utc>,
    state: MilestoneState,
    first_delivery: Option<DateTime<Utc>>,
    redos: u32,
}

/// A contractor question and the owner's answer, if any.
#[derive(Debug, Clone)]
struct Question {
    at: DateTime<Utc>,
    text: String,
    answered: Option<DateTime<Utc>>,
}

/// One engagement's facts, sorted into what the figures need.
#[derive(Debug, Clone)]
struct Engagement<'a> {
    record: &'a EngagementRecord,
    milestones: Vec<MilestoneOutcome>,
    requests: Vec<DateTime<Utc>>,
    replies: Vec<DateTime<Utc>>,
    genuine: Vec<DateTime<Utc>>,
    status_requests: Vec<DateTime<Utc>>,
    status_reports: Vec<DateTime<Utc>>,
    questions: Vec<Question>,
    evaluations: Vec<Evaluation>,
    payments: Vec<(DateTime<Utc>, Option<Money>)>,
    /// When the instructions went out: work began for the contractor.
    started: Option<DateTime<Utc>>,
    /// When and how it closed.
    closed: Option<(DateTime<Utc>, Closing)>,
}

impl<'a> Engagement<'a> {
    fn read(record: &'a EngagementRecord, facts: &[Fact]) -> Engagement<'a> {
        let mut milestones: Vec<MilestoneOutcome> = record
            .milestones
            .iter()
            .map(|m| MilestoneOutcome {
                id: m.id.clone(),
                title: m.title.clone(),
                due: m.due,
                state: m.state,
                first_delivery: None,
                redos: 0,
            })
            .collect();
        let mut e = Engagement {
            record,
            milestones: Vec::new(),
            requests: Vec::new(),
            replies: Vec::new(),
            genuine: Vec::new(),
            status_requests: Vec::new(),
            status_reports: Vec::new(),
            questions: Vec::new(),
            evaluations: Vec::new(),
            payments: Vec::new(),
            started: None,
            closed: None,
        };
        let mut answers: Vec<(DateTime<Utc>, String)> = Vec::new();
        let mut questions: Vec<(DateTime<Utc>, Option<String>, String)> = Vec::new();
        for f in facts {
            let k = f.kind.as_str();
            if REQUESTS.contains(&k) {
                e.requests.push(f.at);
            }
            if REPLIES.contains(&k) {
                e.replies.push(f.at);
            }
            if GENUINE.contains(&k) {
                e.genuine.push(f.at);
            }
            match k {
                "sent_instructions" => {
                    e.started.get_or_insert(f.at);
                }
                "sent_status_request" => e.status_requests.push(f.at),
                "status_report" => e.status_reports.push(f.at),
                "question" => questions.push((
                    f.at,
                    f.message_id.clone(),
                    f.detail
                        .clone()
                        .or_else(|| f.subject.clone())
                        .unwrap_or_default(),
                )),
                "owner_answered" => {
                    if let Some(id) = &f.message_id {
                        answers.push((f.at, id.clone()));
                    }
                }
                "milestone_delivered" => {
                    if let Some(m) = milestones
                        .iter_mut()
                        .find(|m| Some(&m.id) == f.milestone.as_ref())
                    {
                        m.first_delivery.get_or_insert(f.at);
                    }
                }
                "owner_redo" => {
                    if let Some(m) = milestones
                        .iter_mut()
                        .find(|m| Some(&m.id) == f.milestone.as_ref())
                    {
                        m.redos += 1;
                    }
                }
                "owner_evaluated" => {
                    if let Some(ev) = Evaluation::read(f) {
                        e.evaluations.push(ev);
                    }
                }
                "owner_paid" => e
                    .payments
                    .push((f.at, f.detail.as_deref().and_then(|d| Money::parse(d).ok()))),
                "engagement_all_milestones_accepted" => {
                    e.closed.get_or_insert((f.at, Closing::Finished));
                }
                "engagement_ended" => {
                    e.closed.get_or_insert((f.at, Closing::Ended));
                }
                _ => {}
            }
        }
        e.questions = questions
            .into_iter()
            .map(|(at, id, text)| Question {
                at,
                answered: id.and_then(|id| answers.iter().find(|(_, a)| *a == id).map(|(t, _)| *t)),
                text,
            })
            .collect();
        e.milestones = milestones;
        e
    }

    /// For each request, how long until the first reply after it; `None`
    /// for a request still waiting.
    fn response_times(&self) -> Vec<Option<TimeDelta>> {
        self.requests
            .iter()
            .map(|r| self.replies.iter().find(|t| *t >= r).map(|t| *t - *r))
            .collect()
    }

    /// (answered, waiting) status requests: answered by a report at or
    /// after the request and before the next; the latest is waiting while
    /// the engagement is open and no report has come.
    fn status_share(&self) -> (u32, u32) {
        let mut answered = 0;
        let mut waiting = 0;
        for (i, at) in self.status_requests.iter().enumerate() {
            let next = self.status_requests.get(i + 1);
            let got = self
                .status_reports
                .iter()
                .any(|r| r >= at && next.is_none_or(|n| r < n));
            if got {
                answered += 1;
            } else if next.is_none() && self.closed.is_none() {
                waiting += 1;
            }
        }
        (answered, waiting)
    }

    /// Gaps longer than `limit` with no genuine mail while work was
    /// outstanding, up to `now`.
    fn silences(
        &self,
        limit: TimeDelta,
        now: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let Some(start) = self.started else {
            return Vec::new();
        };
        let ended = matches!(self.closed, Some((_, Closing::Ended)));
        // A milestone never delivered kept work outstanding to the close (or
        // now); one cancelled along the way did not, unless the end
        // cancelled it.
        let undelivered = self
            .milestones
            .iter()
            .any(|m| m.first_delivery.is_none() && (m.state != MilestoneState::Cancelled || ended));
        let end = if undelivered {
            self.closed.map_or(now, |(t, _)| t).min(now)
        } else {
            self.milestones
                .iter()
                .filter_map(|m| m.first_delivery)
                .max()
                .unwrap_or(start)
        };
        let mut marks: Vec<DateTime<Utc>> = std::iter::once(start)
            .chain(
                self.genuine
                    .iter()
                    .copied()
                    .filter(|t| *t > start && *t < end),
            )
            .collect();
        marks.push(end);
        marks
            .windows(2)
            .filter(|w| w[1] - w[0] > limit)
            .map(|w| (w[0], w[1]))
            .collect()
    }
}

/// The median of sorted values (the mean of the middle two for an even
/// count); `None` when empty.
fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// "2 days 3 hours", "5 hours", "40 minutes": how long, for a person, to the
/// two largest units, in English (the CLI's and the owner's page's words).
pub fn human(secs: i64) -> String {
    spoken(Base::En.phrases(), secs)
}

/// The same in the reader's language: "2 Tage 3 Stunden", "5 heures".
/// Not [`Reader::period`], which joins every unit with "and" down to the
/// minute: a figure in a list reads better cut to its two largest units.
fn long(reader: &Reader, secs: i64) -> String {
    spoken(reader.lang.phrases(), secs)
}

fn spoken(p: &Phrases, secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    let unit = |n: i64, (one, many): (&str, &str)| {
        let singular = n == 1 || (n == 0 && p.zero_is_singular);
        format!("{n} {}", if singular { one } else { many })
    };
    match (d, h, m) {
        (0, 0, m) => unit(m, p.minute),
        (0, h, 0) => unit(h, p.hour),
        (0, h, m) => format!("{} {}", unit(h, p.hour), unit(m, p.minute)),
        (d, 0, _) => unit(d, p.day),
        (d, h, _) => format!("{} {}", unit(d, p.day), unit(h, p.hour)),
    }
}

/// Sums of amounts per currency, in the order the currencies first appear.
fn sums(amounts: impl Iterator<Item = Money>) -> Vec<Money> {
    let mut out: Vec<Money> = Vec::new();
    for m in amounts {
        match out.iter_mut().find(|s| s.currency == m.currency) {
            Some(s) => s.cents = s.cents.saturating_add(m.cents),
            None => out.push(m),
        }
    }
    out
}
