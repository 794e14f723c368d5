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
    pub daemon: crate::heartbeat::DaemonHealth,
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
    /// The bounce's status and diagnostic, as a person reads it
    /// ("552 5.2.2 mailbox full"): the hold's reason.
    pub reason: String,
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

/// The earliest upcoming item of an engagement: what the schedule will do
/// next ([`crate::schedule::next_items`]). None for an engagement waiting
/// for its agreement, ended or finished.
#[derive(Debug, Serialize, Clone)]
pub struct NextItem {
    /// "starts" (work has not started), "milestone", "kickoff",
    /// "status_report", "evaluation", "payment", or the purpose of the next
    /// scheduled mail ("deadline_reminder", "notice_recheck", …).
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
        let needed = store.scheduler_get(&crate::heartbeat::signin::key(&source))?;
        let stored = settings.token_file.is_file()
            || settings.credential.as_ref().is_some_and(|c| c.is_file());
        let command = crate::heartbeat::signin::login_command(config);
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
    let next = crate::schedule::next_items(model, store, now)?;
    let mut engagements = Vec::new();
    for e in &model.engagements {
        let record = stored.iter().find(|r| r.id == e.id);
        let mut status = engagement_status(model, e, record, next.get(&e.id), now);
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
            .map(|(address, why)| PausedAddress {
                reason: hold_reason(&why),
                address,
                why,
            })
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
        daemon: crate::heartbeat::report::health(model, store, now)?,
    })
}

fn engagement_status(
    model: &Model,
    e: &Engagement,
    record: Option<&EngagementRecord>,
    scheduled: Option<&crate::schedule::NextItem>,
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
                // The store's date (the config's, or one agreed since: an
                // accepted counter-proposal), and after a redo the date it is
                // due again.
                due: stored.map_or(m.due, |s| s.deadline()).to_rfc3339(),
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
    let next = match (record, scheduled) {
        // The schedule's own answer, for an engagement the store knows.
        (Some(_), Some(n)) => Some(NextItem {
            kind: n.kind.clone(),
            what: n.what.clone(),
            at: n.at.to_rfc3339(),
        }),
        (Some(_), None) => None,
        // Not recorded yet (a fresh store): what the schedule will do once
        // it is, read from the config alone.
        (None, _) if state == EngagementState::Active => next_from_config(model, e, now),
        (None, _) => None,
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

/// The next item of an active engagement the store does not know yet:
/// its start, or its next milestone or kickoff once started.
fn next_from_config(model: &Model, e: &Engagement, now: DateTime<Utc>) -> Option<NextItem> {
    let start = crate::sendtime::start_instant(model, e);
    if now < start {
        return Some(NextItem {
            kind: "starts".into(),
            what: format!("work starts on {}", e.starts),
            at: start.to_rfc3339(),
        });
    }
    let milestones = e
        .milestones
        .iter()
        .filter(|m| m.due > now)
        .map(|m| (m.due, "milestone", format!("{} due", m.title)));
    let kickoff = e
        .kickoff
        .filter(|k| *k > now)
        .map(|k| (k, "kickoff", "kickoff call".to_string()));
    milestones
        .chain(kickoff)
        .min_by_key(|(at, _, _)| *at)
        .map(|(at, kind, what)| NextItem {
            kind: kind.to_string(),
            what,
            at: at.to_rfc3339(),
        })
}

/// The reason of a hold as a person reads it: the bounce's SMTP status and
/// diagnostic ("552 5.2.2 mailbox full") where the report carries one, else
/// its first line. The inbox records a hard bounce as the report's reading
/// of the recipient, "dana@example.test: failed 5.2.2 (552 5.2.2 mailbox
/// full)": then the diagnostic in the parentheses is what the server said.
pub fn hold_reason(why: &str) -> String {
    let diagnostic = why
        .lines()
        .map(str::trim)
        .find_map(|l| {
            let (_, rest) = l.split_once(" (")?;
            rest.strip_suffix(')')
        })
        .filter(|d| !d.is_empty());
    let why = diagnostic.unwrap_or(why);
    let lines = || why.lines().map(str::trim).filter(|l| !l.is_empty());
    for line in lines() {
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("diagnostic-code")
        {
            let v = value.trim();
            let v = v.split_once(';').map_or(v, |(_, rest)| rest.trim());
            return v.to_string();
        }
    }
    for line in lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        // An enhanced status code (RFC 3463: class.subject.detail), with the
        // reply code before it if there is one.
        let Some(i) = words.iter().position(|w| is_enhanced_status(w)) else {
            continue;
        };
        let from = if i > 0 && is_reply_code(words[i - 1]) {
            i - 1
        } else {
            i
        };
        return words[from..].join(" ");
    }
    lines()
        .next()
        .map(|l| l.chars().take(120).collect())
        .unwrap_or_default()
}

fn is_enhanced_status(w: &str) -> bool {
    let parts: Vec<&str> = w
        .trim_matches(|c: char| !c.is_ascii_digit())
        .split('.')
        .collect();
    parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
}

fn is_reply_code(w: &str) -> bool {
    w.len() == 3 && w.chars().all(|c| c.is_ascii_digit()) && matches!(&w[..1], "2" | "4" | "5")
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
        out += &render_engagement(e, tz);
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
        out += &format!(
            "paused: mail to {} is held after a bounce ({}); it goes again once they write\n",
            p.address, p.reason
        );
    }
    out += &crate::heartbeat::report::render(&report.daemon);
    out
}

/// One engagement's lines of the table (`handoff status ENGAGEMENT` prints
/// these alone).
pub fn render_engagement(e: &EngagementStatus, tz: Tz) -> String {
    let mut out = String::new();
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
    match (&e.next, e.state.as_str()) {
        (Some(n), _) => out += &format!("  next: {} at {}\n", n.what, local(&n.at, tz)),
        (None, "awaiting_agreement") => out += "  next: nothing until the agreement is signed\n",
        (None, "finished" | "ended") => out += &format!("  next: nothing ({})\n", e.state),
        (None, _) => out += "  next: nothing scheduled\n",
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
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_holds_reason_is_the_bounces_status_and_diagnostic() {
        assert_eq!(
            super::hold_reason(
                "<dana@example.test>: host mx.example.test said: 552 5.2.2 mailbox full"
            ),
            "552 5.2.2 mailbox full"
        );
        assert_eq!(
            super::hold_reason(
                "Reporting-MTA: dns; mx\nDiagnostic-Code: smtp; 550 5.1.1 user unknown"
            ),
            "550 5.1.1 user unknown"
        );
        assert_eq!(
            super::hold_reason("The mail could not be delivered.\nStatus: 4.2.2"),
            "4.2.2"
        );
        assert_eq!(super::hold_reason("\nno code here\n"), "no code here");
    }
}
