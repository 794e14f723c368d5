//! What `handoff status` shows as each engagement's next item, read from the
//! schedule's own items so that status says only what the schedule will do:
//! an engagement not started yet shows when it starts, an unsigned, ended or
//! finished one has nothing next, and a running one shows the earliest of
//! its next scheduled mail, its next open milestone's deadline and a kickoff
//! still ahead.

use super::{Facts, Mode, Window, items};
use crate::lifecycle::EngagementState;
use crate::model::Model;
use crate::sendtime;
use crate::store::{Store, StoreError};
use crate::templates::Purpose;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// The next thing that happens in an engagement.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct NextItem {
    /// "starts", "milestone", "kickoff", "status_report", "evaluation",
    /// "payment", or the purpose of the scheduled mail ("deadline_reminder",
    /// "notice_recheck", …).
    pub kind: String,
    pub what: String,
    pub at: DateTime<Utc>,
}

/// The next item of every engagement that has one, by engagement id.
pub fn next_items(
    model: &Model,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<HashMap<String, NextItem>, StoreError> {
    let facts = Facts::load(store)?;
    let w = Window {
        after: now,
        until: now + TimeDelta::days(400),
        mode: Mode::First,
        once_after: now,
        recurring_after: now,
    };
    let mut out: HashMap<String, NextItem> = HashMap::new();
    let mut offer = |engagement: &str, candidate: NextItem| match out.get(engagement) {
        Some(have) if have.at <= candidate.at => {}
        _ => {
            out.insert(engagement.to_string(), candidate);
        }
    };
    // Only a running engagement has scheduled mail to show.
    let mut running = std::collections::HashSet::new();
    for e in &model.engagements {
        let Some(record) = facts.records.get(&e.id) else {
            continue;
        };
        if record.state != EngagementState::Active {
            continue;
        }
        let start = sendtime::start_instant(model, e);
        if now < start {
            offer(
                &e.id,
                NextItem {
                    kind: "starts".into(),
                    what: format!("work starts on {}", e.starts),
                    at: start,
                },
            );
            continue;
        }
        running.insert(e.id.as_str());
        let open = record.milestones.iter().filter(|m| {
            !m.removed_from_config
                && !m.state.is_terminal()
                && m.state != crate::lifecycle::MilestoneState::Delivered
        });
        for m in open.filter(|m| m.deadline() > now) {
            offer(
                &e.id,
                NextItem {
                    kind: "milestone".into(),
                    what: format!("{} due", m.title),
                    at: m.deadline(),
                },
            );
        }
        if let Some(k) = e.kickoff.filter(|k| *k > now) {
            offer(
                &e.id,
                NextItem {
                    kind: "kickoff".into(),
                    what: "kickoff call".into(),
                    at: k,
                },
            );
        }
    }
    for it in items(model, &facts, &w) {
        // The digest is about every engagement, not the one it rides on.
        if it.purpose == Purpose::Digest || !running.contains(it.engagement.as_str()) {
            continue;
        }
        let (kind, what) = match it.purpose {
            Purpose::StatusRequest => ("status_report", "status report request".to_string()),
            Purpose::NoticeEvaluationDue => ("evaluation", "evaluation".to_string()),
            Purpose::NoticePaymentDue => ("payment", "payment reminder".to_string()),
            p => (p.as_str(), p.as_str().replace('_', " ")),
        };
        offer(
            &it.engagement.clone(),
            NextItem {
                kind: kind.to_string(),
                what,
                at: it.at,
            },
        );
    }
    Ok(out)
}
