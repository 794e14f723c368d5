//! The person's checks over a year of mail ([`super::year`]): for every mail,
//! would the one receiving it at that moment call it wrong, stale or noise?
//! Each check reads the mails as they went out (the `.eml` files), joined to
//! what Handoff recorded of them, and the journal's account of the work.

use super::year::{DOWN, SILENT, UP, t};
use crate::model::Model;
use crate::schedule::occurrence;
use crate::store::{EventFilter, Store};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use std::collections::{BTreeMap, HashMap};

/// One mail as its recipient got it.
#[derive(Debug, Clone)]
pub(super) struct Mail {
    /// When it went out (the pass that delivered it).
    pub at: DateTime<Utc>,
    pub to: String,
    pub subject: String,
    /// The plain-text body, as the recipient reads it.
    pub text: String,
    pub message_id: String,
    pub purpose: String,
    pub engagement: String,
    pub milestone: Option<String>,
}

impl Mail {
    /// Reads an `.eml` from `outgoing/new`; what Handoff sent it as comes
    /// from its Message-ID (the record replies are matched by).
    pub fn read(store: &Store, raw: &[u8], at: DateTime<Utc>) -> Mail {
        let m = mail_parser::MessageParser::default().parse(raw).unwrap();
        let message_id = format!("<{}>", m.message_id().unwrap());
        let r = store.sent_ref(&message_id).unwrap().unwrap();
        Mail {
            at,
            to: m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap()
                .to_string(),
            subject: m.subject().unwrap_or_default().to_string(),
            text: m.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
            message_id,
            purpose: r.purpose,
            engagement: r.engagement.unwrap_or_default(),
            milestone: r.milestone,
        }
    }
}

/// (time, event kind), in order.
type Timeline = Vec<(DateTime<Utc>, String)>;

/// When things happened to the work, from the journal.
struct History {
    /// (engagement, milestone) → what happened to it.
    milestone: HashMap<(String, String), Timeline>,
    /// engagement → when it finished or ended.
    closed: HashMap<String, DateTime<Utc>>,
}

impl History {
    fn read(store: &Store) -> History {
        let mut h = History {
            milestone: HashMap::new(),
            closed: HashMap::new(),
        };
        for e in store.events(&EventFilter::default()).unwrap() {
            let at = t(&e.time);
            let Some(eng) = e.engagement.clone() else {
                continue;
            };
            if matches!(
                e.kind.as_str(),
                "engagement_all_milestones_accepted" | "engagement_ended"
            ) {
                h.closed.entry(eng.clone()).or_insert(at);
            }
            if let Some(m) = e.milestone.clone()
                && e.kind.starts_with("milestone_")
            {
                h.milestone.entry((eng, m)).or_default().push((at, e.kind));
            }
        }
        h
    }

    /// Whether the milestone awaited delivery at `at`.
    fn open(&self, e: &str, m: &str, at: DateTime<Utc>) -> bool {
        let last = self
            .milestone
            .get(&(e.to_string(), m.to_string()))
            .and_then(|v| v.iter().rev().find(|(t, _)| *t <= at))
            .map(|(_, k)| k.as_str());
        !matches!(
            last,
            Some("milestone_delivered" | "milestone_accepted" | "milestone_cancelled")
        )
    }

    /// When the owner last sent it back before `at`.
    fn redo_before(&self, e: &str, m: &str, at: DateTime<Utc>) -> bool {
        self.milestone
            .get(&(e.to_string(), m.to_string()))
            .is_some_and(|v| {
                v.iter()
                    .any(|(t, k)| *t <= at && k == "milestone_redo_requested")
            })
    }
}

const REMINDERS: &[&str] = &["deadline_reminder", "overdue_notice", "status_request"];

/// Every problem found, and the count of mails by purpose.
pub(super) fn check(
    model: &Model,
    store: &Store,
    mails: &[Mail],
) -> (Vec<String>, BTreeMap<String, usize>) {
    let h = History::read(store);
    let mut p = Vec::new();
    let mut counts = BTreeMap::new();
    for m in mails {
        *counts.entry(m.purpose.clone()).or_insert(0) += 1;
    }
    let say = |m: &Mail, what: &str| {
        format!(
            "{} {} to {} ({}): {what}",
            m.at, m.purpose, m.to, m.engagement
        )
    };
    let owner = model.owner.email.to_string();
    let of = |purpose: &'static str| mails.iter().filter(move |m| m.purpose == purpose);

    // Silence: never for a contractor who reports as agreed; once for the
    // real three weeks of silence.
    for m in of("notice_silence") {
        let in_silence =
            m.engagement == "app" && m.at >= t(SILENT.0) && m.at <= t(SILENT.1) + Duration::days(7);
        if !in_silence {
            p.push(say(m, "a silence alert outside the one real silence"));
        }
    }
    if of("notice_silence")
        .filter(|m| m.engagement == "app")
        .count()
        != 1
    {
        p.push("the three weeks of silence did not get exactly one alert".into());
    }
    for m in mails {
        let Some(e) = model.engagement(&m.engagement) else {
            continue;
        };
        let contractor = model.contractor_of(e);
        let to_contractor = m.to != owner;
        let ms = m.milestone.as_deref();
        let cfg = ms.and_then(|id| e.milestones.iter().find(|c| c.id == id));
        // Nothing reaches a contractor in their quiet hours.
        if to_contractor {
            let local = m.at.with_timezone(&contractor.timezone).time();
            let (from, until) = (
                NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
                NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            );
            if local < from || local >= until {
                p.push(say(
                    m,
                    &format!("in the contractor's quiet hours ({local})"),
                ));
            }
        }
        // No invitation to an event that is over.
        if m.purpose == "milestone_invite" && cfg.is_some_and(|c| c.due <= m.at) {
            p.push(say(m, "an invitation to a milestone already past"));
        }
        if m.purpose == "kickoff" && e.kickoff.is_some_and(|k| k <= m.at) {
            p.push(say(m, "an invitation to a kickoff already held"));
        }
        // No reminder about work that is done, or of a deadline passed.
        if matches!(m.purpose.as_str(), "deadline_reminder" | "overdue_notice")
            && let Some(id) = ms
        {
            if !h.open(&e.id, id, m.at) {
                p.push(say(m, "about work already delivered"));
            }
            if m.purpose == "deadline_reminder"
                && cfg.is_some_and(|c| c.due <= m.at)
                && !h.redo_before(&e.id, id, m.at)
            {
                p.push(say(m, "a reminder of a deadline already past"));
            }
        }
        if m.purpose == "status_request" && !e.milestones.iter().any(|c| h.open(&e.id, &c.id, m.at))
        {
            p.push(say(m, "a status request with no work open"));
        }
        // Nothing after the engagement finished or ended, but the goodbye.
        if let Some(closed) = h.closed.get(&e.id)
            && m.at > *closed
            && !matches!(
                m.purpose.as_str(),
                "invite_cancel" | "closing_note" | "delivery_accepted" | "digest"
            )
        {
            p.push(say(m, "after the engagement was closed"));
        }
        // Before the start, only the agreement request goes to them.
        if to_contractor
            && m.at < crate::sendtime::start_instant(model, e)
            && m.purpose != "agreement_request"
        {
            p.push(say(m, "to the contractor before work started"));
        }
    }
    // The daily cap, per contractor and day of their calendar.
    let mut per_day: HashMap<(String, chrono::NaiveDate), usize> = HashMap::new();
    for m in mails
        .iter()
        .filter(|m| REMINDERS.contains(&m.purpose.as_str()))
    {
        let tz = model
            .contractors
            .iter()
            .find(|c| c.email.to_string() == m.to)
            .map_or(model.owner.timezone, |c| c.timezone);
        *per_day
            .entry((m.to.clone(), m.at.with_timezone(&tz).date_naive()))
            .or_insert(0) += 1;
    }
    for ((to, day), n) in per_day {
        if n > model.policy.max_reminders_per_day as usize {
            p.push(format!("{n} reminders to {to} on {day}"));
        }
    }
    // The escalation never beside the overdue notice: escalate_after after
    // the contractor was told (the overdue notice, or the instructions).
    for m in of("escalation") {
        let told = mails
            .iter()
            .filter(|o| o.engagement == m.engagement && o.at <= m.at)
            .filter(|o| {
                (o.purpose == "overdue_notice" && o.milestone == m.milestone)
                    || o.purpose == "instructions"
            })
            .map(|o| o.at)
            .max();
        if told.is_none_or(|at| m.at < at + model.policy.escalate_after) {
            p.push(say(
                m,
                "an escalation less than escalate_after after the contractor was told",
            ));
        }
    }
    // One digest per period.
    if let Some(d) = &model.policy.digest {
        let at: Vec<DateTime<Utc>> = of("digest").map(|m| m.at).collect();
        for w in at.windows(2) {
            if occurrence::next_after(d, w[0]).is_none_or(|n| n > w[1]) {
                p.push(format!("two digests in one period: {} and {}", w[0], w[1]));
            }
        }
    }
    // A missing report only a cadence after a request that reached them.
    for m in of("notice_status_missing") {
        let asked = mails
            .iter()
            .filter(|o| {
                o.purpose == "status_request" && o.engagement == m.engagement && o.at < m.at
            })
            .map(|o| o.at)
            .max();
        if asked.is_none_or(|a| m.at - a < Duration::days(6)) {
            p.push(say(
                m,
                "a missing-report notice citing a request that had just arrived",
            ));
        }
    }
    // A follow-up follows a reminder the owner had.
    for m in of("notice_payment_due").filter(|m| m.subject.contains("still not recorded")) {
        let reminded = of("notice_payment_due").any(|o| {
            o.engagement == m.engagement
                && !o.subject.contains("still not recorded")
                && o.at < m.at
                && m.at - o.at <= model.policy.payment_followup_after + Duration::days(1)
        });
        if !reminded {
            p.push(say(
                m,
                "a payment follow-up without the reminder it follows",
            ));
        }
    }
    // A request that bounced did not reach anyone: no "missing report".
    let bounces: Vec<(String, DateTime<Utc>)> = store
        .events(&EventFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "bounce")
        .map(|e| (e.engagement.unwrap_or_default(), t(&e.time)))
        .collect();
    for m in of("notice_status_missing") {
        let asked = of("status_request")
            .filter(|o| o.engagement == m.engagement && o.at < m.at)
            .map(|o| o.at)
            .max();
        if let Some(a) = asked
            && bounces
                .iter()
                .any(|(e, b)| *e == m.engagement && *b >= a && *b <= m.at)
        {
            p.push(say(m, "a missing-report notice for a request that bounced"));
        }
    }
    // A held address gets nothing until its hold ends.
    let bounce = store
        .events(&EventFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "recipient_paused")
        .map(|e| t(&e.time))
        .collect::<Vec<_>>();
    let resumed = store
        .events(&EventFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "recipient_resumed")
        .map(|e| t(&e.time))
        .collect::<Vec<_>>();
    if bounce.len() != 1 || resumed.len() != 1 {
        p.push(format!(
            "expected one hold and one release: {bounce:?} {resumed:?}"
        ));
    } else {
        for m in mails.iter().filter(|m| m.to == "bea@example.test") {
            if m.at > bounce[0] && m.at < resumed[0] {
                p.push(say(m, "reached a held address"));
            }
        }
    }
    // After the outage: one catch-up, not a burst.
    let first_day = |m: &&Mail| m.at >= t(UP) && m.at < t(UP) + Duration::days(1);
    if of("digest").filter(first_day).count() > 1 {
        p.push("more than one digest on the day after the outage".into());
    }
    for e in &model.engagements {
        let n = of("status_request")
            .filter(first_day)
            .filter(|m| m.engagement == e.id)
            .count();
        if n > 1 {
            p.push(format!(
                "{n} status requests to {} the day after the outage",
                e.id
            ));
        }
    }
    if mails.iter().any(|m| m.at >= t(DOWN) && m.at < t(UP)) {
        p.push("mail went out while Handoff was down".into());
    }
    // Each engagement was instructed once, at or after its start.
    for e in &model.engagements {
        let n = of("instructions").filter(|m| m.engagement == e.id).count();
        if n != 1 {
            p.push(format!("{} got {n} instructions", e.id));
        }
    }
    // Every mail the outbox says it sent is a file a recipient got.
    let sent = store
        .outbox_all()
        .unwrap()
        .into_iter()
        .filter(|(_, s, _)| s == "sent")
        .count();
    if sent != mails.len() {
        p.push(format!(
            "{sent} mails marked sent, {} files written",
            mails.len()
        ));
    }
    (p, counts)
}
