//! The page and the contractor pages: what they show, gathered from the
//! views the CLI prints, then rendered by the templates beside this file.
//!
//! Nothing here decides anything: the engagements, their state, the next
//! item, the budget, the outbox and the daemon's health are
//! [`crate::status::build`]'s; what comes next is [`crate::schedule::plan`]'s;
//! deliveries, payments, questions and the reviews are [`crate::record`]'s;
//! the journal is the store's. This module joins them for the eye: what
//! needs the owner now, each engagement as a timeline, the outbox and the
//! mailboxes, the journal, and each contractor's record.

use super::charts::{self, TimelineInput};
use crate::lifecycle::MilestoneState;
use crate::model::Model;
use crate::record::{self, History, Review};
use crate::status::{self, EngagementStatus, StatusReport};
use crate::store::{EventFilter, Store, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Serialize;

/// Journal rows on the page.
const JOURNAL_ROWS: usize = 200;

/// Days of the plan on the page.
const PLAN_DAYS: u32 = 14;

/// Why a page could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
    #[error("rendering the page: {0}")]
    Render(#[from] minijinja::Error),
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    // Auto-escape is on for `.html` names: every value from the config or
    // from mail is escaped where it is written.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("page.html", include_str!("templates/page.html")),
        ("contractor.html", include_str!("templates/contractor.html")),
        ("timeline.html", include_str!("templates/timeline.html")),
    ] {
        // The templates are part of the binary and a unit test renders
        // each: a broken one fails the build's tests, not a request.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "web: a built-in template does not parse");
        }
    }
    env
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// For table cells: "Mon 30 Nov 15:00" (the zone is the owner's, said once
/// at the top of the page).
fn short(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %-d %b %Y %H:%M")
        .to_string()
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc())
}

/// Something waiting on the owner.
#[derive(Debug, Serialize)]
struct Need {
    engagement: String,
    what: String,
    /// The command that settles it, if one does.
    command: String,
}

#[derive(Debug, Serialize)]
struct MilestoneView {
    id: String,
    title: String,
    due: String,
    state: String,
    overdue: bool,
    delivered: Option<String>,
    /// "2 days late", "on time".
    timing: String,
    redos: u32,
}

#[derive(Debug, Serialize)]
struct EngagementView {
    id: String,
    title: String,
    contractor: String,
    contractor_name: String,
    state: String,
    in_config: bool,
    next: Option<String>,
    budget: Option<status::BudgetStatus>,
    /// Spent as a share of the bar (0–100).
    budget_bar: i64,
    milestones: Vec<MilestoneView>,
    timeline: charts::Timeline,
    review_heading: Option<String>,
    review: Vec<String>,
}

/// The page: everything, or one engagement's part (`only`). `None` when
/// `only` names no engagement.
pub fn overview(
    model: &Model,
    now: DateTime<Utc>,
    only: Option<&str>,
    feed_url: &str,
) -> Result<Option<String>, PageError> {
    let store = Store::open(&model.mail.state)?;
    let report = status::build(model, &store, now)?;
    if only.is_some_and(|id| !report.engagements.iter().any(|e| e.id == id)) {
        return Ok(None);
    }
    let history = History::load(&store)?;
    let tz = model.owner.timezone;
    let chosen = |id: &str| only.is_none_or(|o| o == id);
    let mut needs = Vec::new();
    let mut engagements = Vec::new();
    for e in report.engagements.iter().filter(|e| chosen(&e.id)) {
        let review = record::review(model, &history, &e.id, now, None);
        needs.extend(needs_of(e, review.as_ref(), now, tz));
        engagements.push(engagement_view(model, e, review, only.is_some(), now));
    }
    needs.extend(health_needs(&report, only.is_none()));
    let upcoming: Vec<_> = crate::schedule::plan(model, &store, now, PLAN_DAYS)?
        .into_iter()
        .filter(|p| chosen(&p.engagement))
        .take(100)
        .map(|p| {
            context! {
                at => short(p.at, tz), recipient_time => p.local, to => p.to,
                purpose => p.purpose, engagement => p.engagement,
                milestone => p.milestone, rule => p.rule,
            }
        })
        .collect();
    let journal: Vec<_> = store
        .events(&EventFilter {
            engagement: only.map(str::to_string),
            limit: Some(JOURNAL_ROWS),
        })?
        .into_iter()
        .rev()
        .map(|e| {
            context! {
                time => parse(&e.time).map_or(e.time.clone(), |t| short(t, tz)),
                direction => e.direction.as_str(), kind => e.kind,
                engagement => e.engagement, milestone => e.milestone,
                subject => e.subject, detail => e.detail,
            }
        })
        .collect();
    let contractors: Vec<_> = record::contractors(model, &history, now)
        .into_iter()
        .map(|c| context! { id => c.id.clone(), name => c.display_name().to_string(), engagements => c.engagements })
        .collect();
    let all_ids: Vec<String> = report.engagements.iter().map(|e| e.id.clone()).collect();
    let daemon: Vec<String> = crate::heartbeat::report::render(&report.daemon)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    let text = env().get_template("page.html")?.render(context! {
        owner => model.owner.name.clone(), now => local(now, tz), only => only,
        feed_url => feed_url, needs => Value::from(Serde(&needs)),
        engagements => Value::from(Serde(&engagements)),
        upcoming => upcoming, plan_days => PLAN_DAYS, journal => journal,
        journal_rows => JOURNAL_ROWS, engagement_ids => all_ids,
        contractors => contractors, outbox => report.outbox_depth,
        failed => report.daemon.outbox_failed, paused => Value::from(Serde(&report.paused)),
        mailboxes => Value::from(Serde(&report.mailboxes)),
        daemon => daemon,
    })?;
    Ok(Some(text))
}

fn needs_of(
    e: &EngagementStatus,
    review: Option<&Review>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<Need> {
    let mut out = Vec::new();
    let need = |what: String, command: String| Need {
        engagement: e.id.clone(),
        what,
        command,
    };
    if e.state == "awaiting_agreement" {
        out.push(need(
            format!("{}: the agreement is not signed yet", e.title),
            format!("handoff sign {}", e.id),
        ));
    }
    for m in &e.milestones {
        if m.state == MilestoneState::Delivered.to_string() {
            out.push(need(
                format!("{}: check the delivery of {}", e.title, m.title),
                format!("handoff accept {} {} (or redo)", e.id, m.id),
            ));
        } else if is_open(&m.state) && parse(&m.due).is_some_and(|d| d < now) && e.in_config {
            out.push(need(
                format!(
                    "{}: {} is overdue (due {})",
                    e.title,
                    m.title,
                    parse(&m.due).map_or(m.due.clone(), |d| local(d, tz))
                ),
                String::new(),
            ));
        }
    }
    if let Some(r) = review {
        for q in r.unanswered() {
            out.push(need(
                format!(
                    "{}: a question asked {}: \u{201c}{}\u{201d}",
                    e.title,
                    local(q.at, tz),
                    q.text
                ),
                format!("handoff answered {}", e.id),
            ));
        }
    }
    out
}

fn health_needs(report: &StatusReport, all: bool) -> Vec<Need> {
    let mut out = Vec::new();
    if !all {
        return out;
    }
    let need = |what: String| Need {
        engagement: String::new(),
        what,
        command: String::new(),
    };
    if report.daemon.outbox_failed > 0 {
        out.push(need(format!(
            "{} mail(s) could not be sent (handoff log shows why)",
            report.daemon.outbox_failed
        )));
    }
    for m in report.mailboxes.iter().filter(|m| m.error.is_some()) {
        out.push(need(format!("the mailbox {} cannot be reached", m.mailbox)));
    }
    for p in &report.paused {
        out.push(need(format!(
            "mail to {} is held after a bounce",
            p.address
        )));
    }
    out
}

fn is_open(state: &str) -> bool {
    ["planned", "instructed", "acknowledged", "redo"].contains(&state)
}

fn engagement_view(
    model: &Model,
    e: &EngagementStatus,
    review: Option<Review>,
    with_review: bool,
    now: DateTime<Utc>,
) -> EngagementView {
    let tz = model.owner.timezone;
    let mut milestones = Vec::new();
    let mut marks = Vec::new();
    let mut deliveries = Vec::new();
    for m in &e.milestones {
        let due = parse(&m.due);
        let r = review
            .as_ref()
            .and_then(|r| r.milestones.iter().find(|x| x.id == m.id));
        let overdue = is_open(&m.state) && due.is_some_and(|d| d < now);
        let delivered = r.and_then(|r| r.delivered);
        let timing = match r.and_then(|r| r.late_secs) {
            Some(s) if s > 0 => format!("{} late", record::human(s)),
            Some(_) => "on time".to_string(),
            None if overdue => "overdue".to_string(),
            None => String::new(),
        };
        if let Some(d) = due {
            let class = if overdue { "overdue" } else { m.state.as_str() };
            marks.push((
                d,
                class.to_string(),
                format!("{}: due {} ({})", m.title, local(d, tz), m.state),
            ));
            if let Some(at) = delivered {
                deliveries.push((
                    d,
                    at,
                    format!(
                        "{}: delivered {} ({})",
                        m.title,
                        local(at, tz),
                        if timing.is_empty() {
                            "on time"
                        } else {
                            &timing
                        }
                    ),
                ));
            }
        }
        milestones.push(MilestoneView {
            id: m.id.clone(),
            title: m.title.clone(),
            due: due.map_or(m.due.clone(), |d| local(d, tz)),
            state: m.state.clone(),
            overdue,
            delivered: delivered.map(|d| local(d, tz)),
            timing,
            redos: r.map_or(0, |r| r.redos),
        });
    }
    let payments: Vec<(DateTime<Utc>, String)> = review
        .as_ref()
        .map(|r| {
            r.payments
                .iter()
                .map(|p| {
                    (
                        p.at,
                        format!(
                            "paid {} on {}",
                            p.amount.as_deref().unwrap_or("(no amount)"),
                            local(p.at, tz)
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let cfg = model.engagement(&e.id);
    let closed = matches!(e.state.as_str(), "finished" | "ended");
    let timeline = charts::timeline(&TimelineInput {
        start: cfg.map(|c| crate::sendtime::start_instant(model, c)),
        milestones: &marks,
        deliveries: &deliveries,
        payments: &payments,
        now: (!closed).then_some(now),
        tz,
    });
    let show_review = closed || with_review;
    let (review_heading, review_lines) = match review.filter(|_| show_review) {
        Some(r) => (Some(r.heading(tz)), r.lines(tz)),
        None => (None, Vec::new()),
    };
    EngagementView {
        id: e.id.clone(),
        title: e.title.clone(),
        contractor: e.contractor.clone(),
        contractor_name: model
            .contractors
            .iter()
            .find(|c| c.id == e.contractor)
            .map_or_else(|| e.contractor.clone(), |c| c.name.clone()),
        state: e.state.clone(),
        in_config: e.in_config,
        next: e.next.as_ref().map(|n| {
            format!(
                "{} at {}",
                n.what,
                parse(&n.at).map_or(n.at.clone(), |t| local(t, tz))
            )
        }),
        budget_bar: e.budget.as_ref().map_or(0, |b| b.percent.clamp(0, 100)),
        budget: e.budget.as_ref().map(|b| status::BudgetStatus {
            agreed: b.agreed.clone(),
            spent: b.spent.clone(),
            currency: b.currency.clone(),
            agreed_cents: b.agreed_cents,
            spent_cents: b.spent_cents,
            percent: b.percent,
        }),
        milestones,
        timeline,
        review_heading,
        review: review_lines,
    }
}

/// One contractor's page; `None` for an id neither the config nor the
/// store knows.
pub fn contractor(
    model: &Model,
    now: DateTime<Utc>,
    id: &str,
) -> Result<Option<String>, PageError> {
    let store = Store::open(&model.mail.state)?;
    let history = History::load(&store)?;
    let known = model.contractors.iter().any(|c| c.id == id)
        || history.engagements.iter().any(|e| e.contractor == id);
    if !known {
        return Ok(None);
    }
    let tz = model.owner.timezone;
    let c = record::contractor(model, &history, id, now);
    let scores = charts::scores(
        &c.evaluations
            .iter()
            .map(|e| {
                (
                    e.at,
                    e.score,
                    format!("{}/5 on {} ({})", e.score, local(e.at, tz), e.engagement),
                )
            })
            .collect::<Vec<_>>(),
    );
    let bars = charts::lateness(
        &c.milestones
            .deliveries
            .iter()
            .map(|d| {
                let how = if d.late_secs > 0 {
                    format!("{} late", record::human(d.late_secs))
                } else {
                    format!("{} early", record::human(-d.late_secs))
                };
                (
                    d.late_secs,
                    format!("{} ({}): {how}", d.title, d.engagement),
                )
            })
            .collect::<Vec<_>>(),
    );
    let deliveries: Vec<_> = c
        .milestones
        .deliveries
        .iter()
        .map(|d| {
            context! {
                engagement => d.engagement.clone(), title => d.title.clone(), due => local(d.due, tz),
                delivered => local(d.delivered, tz),
                timing => if d.late_secs > 0 { format!("{} late", record::human(d.late_secs)) } else { "on time".to_string() },
            }
        })
        .collect();
    let evaluations: Vec<_> = c
        .evaluations
        .iter()
        .map(|e| context! { at => local(e.at, tz), engagement => e.engagement.clone(), score => e.score, notes => e.notes.clone() })
        .collect();
    let text = env().get_template("contractor.html")?.render(context! {
        owner => model.owner.name.clone(), now => local(now, tz), c => Value::from(Serde(&c)),
        name => c.display_name(),
        lines => c.lines(tz), median_late => c.milestones.median_late_secs.map(record::human),
        median_reply => c.responses.median_secs.map(record::human),
        p90_reply => c.responses.p90_secs.map(record::human),
        scores => Value::from(Serde(&scores)), bars => Value::from(Serde(&bars)), deliveries => deliveries, evaluations => evaluations,
        scores_width => charts::SCORES_WIDTH, scores_height => charts::SCORES_HEIGHT,
        lateness_height => charts::LATENESS_HEIGHT,
        lateness_width => (80.0 + c.milestones.deliveries.len() as f64 * 36.0).max(240.0),
        score_ys => (1..=5u8).map(|s| context! { s => s, y => charts::score_y(s) }).collect::<Vec<_>>(),
    })?;
    Ok(Some(text))
}
