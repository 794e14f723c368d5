//! What `handoff status` shows: each engagement and milestone with its state and
//! the next thing due, from the config joined with the store.
//!
//! The store is the truth for state; the config is the truth for what exists and
//! when it is due. A milestone the daemon has not yet seen shows the state it
//! will start in (`planned`; an engagement `awaiting_agreement` or `active`).
//! Milestones or engagements the store knows but the config no longer has are
//! shown too (cancelled, ended): history is kept. Building the report only reads.
//!
//! A view at the edge: it reads the model, the store and the daemon's health
//! report, changes nothing, and must not import the CLI.

use crate::lifecycle::{EngagementState, MilestoneState};
use crate::model::{Engagement, Model};
use crate::store::{EngagementRecord, Store, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    /// The instant the report describes (RFC 3339, UTC).
    pub now: String,
    /// Mails waiting in the outbox.
    pub outbox_depth: u64,
    /// Addresses whose mail is held after a bounce.
    pub paused: Vec<PausedAddress>,
    /// The IMAP watcher's mailboxes: last contact and last error.
    pub mailboxes: Vec<MailboxHealth>,
    /// The OAuth 2.0 sign-ins (`auth = "oauth2"`) and how they stand.
    pub sign_ins: Vec<SignInHealth>,
    pub engagements: Vec<EngagementStatus>,
    /// The daemon's health: running or not, last pass, IMAP contact,
    /// failures, next wake-up.
    pub daemon: crate::daemon::DaemonHealth,
}

/// How a watched mailbox stands.
#[derive(Debug, Serialize)]
pub struct MailboxHealth {
    /// "user@host/mailbox".
    pub mailbox: String,
    /// RFC 3339, UTC: the last time the server answered.
    pub last_contact: Option<String>,
    /// Set while the watcher cannot reach or use the server.
    pub error: Option<String>,
    pub last_uid: Option<u32>,
}

/// An OAuth 2.0 sign-in as `handoff status` shows it.
#[derive(Debug, Serialize)]
pub struct SignInHealth {
    /// The address signed in.
    pub account: String,
    pub token_file: String,
    /// "ok", "not signed in" or "sign-in needed".
    pub state: String,
    /// RFC 3339, UTC: since when it needs the owner.
    pub since: Option<String>,
    /// What the provider said.
    pub error: Option<String>,
    /// What to run to fix it.
    pub command: Option<String>,
}

/// An address Handoff stopped writing to after a bounce; a genuine mail from
/// it lets mail go again.
#[derive(Debug, Serialize)]
pub struct PausedAddress {
    pub address: String,
    /// What the bounce said.
    pub why: String,
}

#[derive(Debug, Serialize)]
pub struct EngagementStatus {
    pub id: String,
    pub title: String,
    pub contractor: String,
    pub state: String,
    /// False when the engagement is only in the store (removed from the config).
    pub in_config: bool,
    pub next: Option<NextItem>,
    /// Spent against agreed, when the engagement has a `budget`.
    pub budget: Option<BudgetStatus>,
    pub milestones: Vec<MilestoneStatus>,
}

/// Payments recorded against an engagement's budget.
#[derive(Debug, Serialize)]
pub struct BudgetStatus {
    /// "2000.00 EUR".
    pub agreed: String,
    /// "1200.00 EUR": the `owner_paid` amounts in the budget's currency.
    pub spent: String,
    pub currency: String,
    pub agreed_cents: i64,
    pub spent_cents: i64,
    /// Spent as a whole percentage of agreed (rounded down).
    pub percent: i64,
}

#[derive(Debug, Serialize)]
pub struct MilestoneStatus {
    pub id: String,
    pub title: String,
    /// RFC 3339, UTC.
    pub due: String,
    pub state: String,
    pub in_config: bool,
}

/// The earliest upcoming item of an engagement.
#[derive(Debug, Serialize, Clone)]
pub struct NextItem {
    /// "milestone", "kickoff", "status_report", "evaluation" or "payment".
    pub kind: String,
    pub what: String,
    /// RFC 3339, UTC.
    pub at: String,
}

/// The sign-ins of `model`, from the daemon's record (the store) and the
/// token files on disk. `config` names the file for the command to run.
pub fn sign_ins(
    model: &Model,
    store: &Store,
    config: &std::path::Path,
) -> Result<Vec<SignInHealth>, StoreError> {
    let mut out = Vec::new();
    for source in crate::oauth::sources_of(model) {
        let settings = source.settings();
        let needed = store.scheduler_get(&crate::daemon::signin::key(&source))?;
        let stored = settings.token_file.is_file()
            || settings.credential.as_ref().is_some_and(|c| c.is_file());
        let command = crate::daemon::signin::login_command(config);
        let (state, since, error) = match (&needed, stored) {
            (Some(v), _) => {
                let (since, error) = v.split_once('|').unwrap_or((v.as_str(), ""));
                (
                    "sign-in needed",
                    Some(since.to_string()),
                    Some(error.to_string()),
                )
            }
            (None, false) => ("not signed in", None, None),
            (None, true) => ("ok", None, None),
        };
        out.push(SignInHealth {
            account: source.user().to_string(),
            token_file: settings.token_file.display().to_string(),
            state: state.to_string(),
            since,
            error,
            command: (state != "ok").then_some(command),
        });
    }
    Ok(out)
}

pub fn build(model: &Model, store: &Store, now: DateTime<Utc>) -> Result<StatusReport, StoreError> {
    let stored = store.engagements()?;
    let mut engagements = Vec::new();
    for e in &model.engagements {
        let record = stored.iter().find(|r| r.id == e.id);
        let mut status = engagement_status(model, e, record, now);
        if let Some(b) = &e.budget {
            let spent = crate::actions::spent(store, &e.id, &b.currency)?;
            status.budget = Some(BudgetStatus {
                agreed: b.to_string(),
                spent: crate::money::Money {
                    cents: spent,
                    currency: b.currency.clone(),
                }
                .to_string(),
                currency: b.currency.clone(),
                agreed_cents: b.cents,
                spent_cents: spent,
                percent: crate::money::Money::percent_of(spent, b.cents),
            });
        }
        engagements.push(status);
    }
    for r in stored.iter().filter(|r| model.engagement(&r.id).is_none()) {
        engagements.push(EngagementStatus {
            id: r.id.clone(),
            title: r.title.clone(),
            contractor: r.contractor.clone(),
            state: r.state.to_string(),
            in_config: false,
            next: None,
            budget: None,
            milestones: r
                .milestones
                .iter()
                .map(|m| MilestoneStatus {
                    id: m.id.clone(),
                    title: m.title.clone(),
                    due: m.due.to_rfc3339(),
                    state: m.state.to_string(),
                    in_config: false,
                })
                .collect(),
        });
    }
    Ok(StatusReport {
        now: now.to_rfc3339(),
        outbox_depth: store.outbox_depth()?,
        paused: store
            .paused_recipients()?
            .into_iter()
            .map(|(address, why)| PausedAddress { address, why })
            .collect(),
        mailboxes: store
            .watcher_states()?
            .into_iter()
            .map(|(mailbox, w)| MailboxHealth {
                mailbox,
                last_contact: w.last_contact_at.map(|t| t.to_rfc3339()),
                error: w.last_error,
                last_uid: w.last_uid,
            })
            .collect(),
        sign_ins: Vec::new(),
        engagements,
        daemon: crate::daemon::report::health(model, store, now)?,
    })
}

fn engagement_status(
    model: &Model,
    e: &Engagement,
    record: Option<&EngagementRecord>,
    now: DateTime<Utc>,
) -> EngagementStatus {
    let state = record
        .map(|r| r.state)
        .unwrap_or(if e.agreement_signed.is_some() {
            EngagementState::Active
        } else {
            EngagementState::AwaitingAgreement
        });
    let mut milestones: Vec<MilestoneStatus> = e
        .milestones
        .iter()
        .map(|m| {
            let stored = record.and_then(|r| r.milestones.iter().find(|s| s.id == m.id));
            MilestoneStatus {
                id: m.id.clone(),
                title: m.title.clone(),
                // The store's date: the config's, or one agreed since (an
                // accepted counter-proposal).
                due: stored.map_or(m.due, |s| s.due).to_rfc3339(),
                state: stored
                    .map_or(MilestoneState::Planned, |s| s.state)
                    .to_string(),
                in_config: true,
            }
        })
        .collect();
    if let Some(r) = record {
        for s in r
            .milestones
            .iter()
            .filter(|s| !e.milestones.iter().any(|m| m.id == s.id))
        {
            milestones.push(MilestoneStatus {
                id: s.id.clone(),
                title: s.title.clone(),
                due: s.due.to_rfc3339(),
                state: s.state.to_string(),
                in_config: false,
            });
        }
    }
    let next = if matches!(state, EngagementState::Finished | EngagementState::Ended) {
        None
    } else {
        next_item(e, record, state, now)
    };
    EngagementStatus {
        id: e.id.clone(),
        title: e.title.clone(),
        contractor: model.contractor_of(e).id.clone(),
        state: state.to_string(),
        in_config: true,
        next,
        budget: None,
        milestones,
    }
}

fn next_item(
    e: &Engagement,
    record: Option<&EngagementRecord>,
    state: EngagementState,
    now: DateTime<Utc>,
) -> Option<NextItem> {
    let mut candidates: Vec<(DateTime<Utc>, &str, String)> = Vec::new();
    for m in &e.milestones {
        let stored = record.and_then(|r| r.milestones.iter().find(|s| s.id == m.id));
        let done = stored.is_some_and(|s| {
            matches!(
                s.state,
                MilestoneState::Accepted | MilestoneState::Cancelled
            )
        });
        let due = stored.map_or(m.due, |s| s.due);
        if !done && due > now {
            candidates.push((due, "milestone", format!("{} due", m.title)));
        }
    }
    if let Some(k) = e.kickoff.filter(|k| *k > now) {
        candidates.push((k, "kickoff", "kickoff call".to_string()));
    }
    // Recurring items only run once work has started.
    if state == EngagementState::Active {
        let recurring = [
            (
                e.status_reports.as_ref(),
                "status_report",
                "status report request",
            ),
            (Some(&e.evaluation), "evaluation", "evaluation"),
            (e.payment.as_ref(), "payment", "payment reminder"),
        ];
        for (sched, kind, what) in recurring {
            if let Some(at) = sched.and_then(|s| crate::schedule::occurrence::next_after(s, now)) {
                candidates.push((at, kind, what.to_string()));
            }
        }
    }
    candidates
        .into_iter()
        .min_by_key(|(at, _, _)| *at)
        .map(|(at, kind, what)| NextItem {
            kind: kind.to_string(),
            what,
            at: at.to_rfc3339(),
        })
}

/// A time as the owner reads it: "2026-12-05 23:59 CET".
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

fn local(rfc3339: &str, tz: Tz) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| local_time(t.with_timezone(&Utc), tz))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The table for people.
pub fn render(report: &StatusReport, tz: Tz) -> String {
    let mut out = String::new();
    if report.engagements.is_empty() {
        out += "no engagements\n";
    }
    for e in &report.engagements {
        out += &format!(
            "{}  {}  [{}]  contractor: {}{}\n",
            e.id,
            e.title,
            e.state,
            e.contractor,
            if e.in_config {
                ""
            } else {
                "  (removed from config)"
            }
        );
        match &e.next {
            Some(n) => out += &format!("  next: {} at {}\n", n.what, local(&n.at, tz)),
            None => out += "  next: nothing scheduled\n",
        }
        if let Some(b) = &e.budget {
            out += &format!(
                "  budget: {} of {} spent ({} %)\n",
                b.spent, b.agreed, b.percent
            );
        }
        for m in &e.milestones {
            out += &format!(
                "  - {:<16} {:<14} due {}  {}{}\n",
                m.id,
                m.state,
                local(&m.due, tz),
                m.title,
                if m.in_config {
                    ""
                } else {
                    "  (removed from config)"
                }
            );
        }
    }
    out += &format!("outbox: {} waiting\n", report.outbox_depth);
    for m in &report.mailboxes {
        let contact = m
            .last_contact
            .as_deref()
            .map_or("never".to_string(), |t| local(t, tz));
        match &m.error {
            Some(e) => {
                out += &format!(
                    "mailbox {}: NOT REACHABLE ({e}); last contact {contact}\n",
                    m.mailbox
                )
            }
            None => out += &format!("mailbox {}: ok, last contact {contact}\n", m.mailbox),
        }
    }
    for s in &report.sign_ins {
        match (s.state.as_str(), &s.command) {
            ("ok", _) | (_, None) => out += &format!("sign-in {}: ok\n", s.account),
            (state, Some(cmd)) => {
                let since = s
                    .since
                    .as_deref()
                    .map_or(String::new(), |t| format!(" since {}", local(t, tz)));
                let why = s
                    .error
                    .as_deref()
                    .filter(|e| !e.is_empty())
                    .map_or(String::new(), |e| format!(" ({e})"));
                out += &format!(
                    "sign-in {}: {}{since}{why}; run `{cmd}`\n",
                    s.account,
                    state.to_uppercase()
                );
            }
        }
    }
    for p in &report.paused {
        let why = p.why.lines().next().unwrap_or_default();
        out += &format!(
            "paused: mail to {} is held after a bounce ({why}); it goes again once they write\n",
            p.address
        );
    }
    out += &crate::daemon::report::render(&report.daemon);
    out
}
