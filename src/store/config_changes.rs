//! Reconciliation: bringing the store in line with what the config defines.
//!
//! The config is the owner's statement of what *should* exist; the store is
//! what *has* happened. [`crate::planned::engagements`] turns the checked config into
//! a plain [`PlannedEngagement`] list (so this module never depends on the
//! config model), and [`Tx::reconcile`] records the difference in one
//! transaction:
//!
//! - new engagements start `awaiting_agreement` (then `active` at once if the
//!   agreement is signed); new milestones start `planned` with a fresh, stable
//!   calendar UID;
//! - a milestone whose title or due time changed is updated and its SEQUENCE
//!   bumped (RFC 5545 §3.8.7.4), so the calendar can send an update under the
//!   same UID;
//! - a milestone or engagement absent from the plan is cancelled or ended, and
//!   marked `removed_from_config`; nothing is deleted, so history and the UIDs
//!   needed to withdraw invites are kept.
//!
//! Every change journals an event, and a second run with the same plan finds
//! nothing to do and writes nothing: reconciling at every start is harmless.

use super::{MilestoneRecord, NewEvent, StoreError, Tx, ts};
use crate::lifecycle::{
    EngagementEvent, EngagementState, EngagementTransition, MilestoneEvent, MilestoneState,
};
use chrono::{DateTime, Utc};
use rusqlite::params;
use std::hash::{BuildHasher, Hasher};

/// An engagement as the config defines it (see [`crate::planned::engagements`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEngagement {
    pub id: String,
    pub title: String,
    /// The contractor's id in the config.
    pub contractor: String,
    /// The owner has recorded the agreement as signed.
    pub agreement_signed: bool,
    pub milestones: Vec<PlannedMilestone>,
}

/// A milestone as the config defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMilestone {
    pub id: String,
    pub title: String,
    pub due: DateTime<Utc>,
}

/// Names one milestone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneRef {
    pub engagement: String,
    pub milestone: String,
}

/// A milestone whose title or due time changed: calendar updates follow these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneChange {
    /// Which milestone.
    pub at: MilestoneRef,
    /// The new SEQUENCE for the calendar update.
    pub sequence: i64,
    /// What changed, for people ("title \"A\" → \"B\"; due … → …").
    pub detail: String,
}

/// What a reconciliation changed; empty when the store already matched. The
/// callers that send mail (calendar invites, updates, cancellations) act on
/// this rather than re-deriving the difference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Engagements seen for the first time.
    pub engagements_added: Vec<String>,
    /// Agreement signed, or ended because the engagement left the config.
    pub engagement_transitions: Vec<(String, EngagementTransition)>,
    pub milestones_added: Vec<MilestoneRef>,
    /// Title or due time changed; the SEQUENCE was bumped.
    pub milestones_changed: Vec<MilestoneChange>,
    /// Left the config (alone or with their engagement); SEQUENCE bumped for
    /// the calendar CANCEL.
    pub milestones_cancelled: Vec<MilestoneRef>,
}

impl ReconcileReport {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == ReconcileReport::default()
    }
}
/// A fresh calendar UID (RFC 5545 §3.8.4.7: globally unique, and the same
/// for the event's whole life, so updates and cancellations reach the invite
/// already in the contractor's calendar). It is generated once, at first
/// insert, and only ever read back after that.
///
/// The randomness comes from std's `RandomState`, which is keyed from the OS
/// random source (once per thread, then stepped for each new instance), so
/// two calls never share keys; hashing the ids and the time in as well costs
/// nothing. The column is UNIQUE besides, so a collision would fail loudly
/// rather than merge two milestones' invites.
fn new_calendar_uid(engagement: &str, milestone: &str, now: DateTime<Utc>) -> String {
    let state = std::collections::hash_map::RandomState::new();
    let mut h1 = state.build_hasher();
    h1.write(engagement.as_bytes());
    h1.write(milestone.as_bytes());
    h1.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
    let a = h1.finish();
    let mut h2 = state.build_hasher();
    h2.write_u64(a);
    let b = h2.finish();
    format!("{engagement}-{milestone}-{a:016x}{b:016x}@handoff")
}

impl Tx<'_> {
    /// Brings the store in line with the config: new engagements and milestones
    /// are recorded, changed milestones re-sequenced, removed ones cancelled or
    /// ended. Running it again with the same plan changes nothing.
    pub fn reconcile(
        &self,
        plan: &[PlannedEngagement],
        now: DateTime<Utc>,
    ) -> Result<ReconcileReport, StoreError> {
        let mut report = ReconcileReport::default();
        // Everything at once: a small business has tens of rows, and one
        // snapshot makes "in the store but not in the plan" a plain lookup.
        let stored = self.engagements()?;
        // By id: with thousands of engagements a scan per lookup is what
        // made reconciling slow (quadratic).
        let by_id: std::collections::HashMap<&str, &super::EngagementRecord> =
            stored.iter().map(|e| (e.id.as_str(), e)).collect();
        let planned: std::collections::HashSet<&str> = plan.iter().map(|p| p.id.as_str()).collect();
        for p in plan {
            let existing = by_id.get(p.id.as_str()).copied();
            let state = match existing {
                // An engagement that returns to the config after being ended
                // is configured again but stays ended (its invites were
                // withdrawn): a new piece of work takes a new id.
                Some(e) => {
                    if e.title != p.title || e.contractor != p.contractor || e.removed_from_config {
                        self.cached_exec(
                            "UPDATE engagement SET title = ?2, contractor = ?3, removed_from_config = 0, updated_at = ?4
                             WHERE id = ?1",
                            params![p.id, p.title, p.contractor, ts(now)],
                        )?;
                        if e.title != p.title || e.contractor != p.contractor {
                            self.record_event(
                                &NewEvent::internal("engagement_changed")
                                    .engagement(&p.id)
                                    .detail(format!(
                                        "title {:?}, contractor {}",
                                        p.title, p.contractor
                                    )),
                                now,
                            )?;
                        }
                    }
                    e.state
                }
                None => {
                    self.cached_exec(
                        // The kickoff UID: 128 random bits, as the migration
                        // that added the column gives existing rows.
                        "INSERT INTO engagement (id, title, contractor, state, created_at, updated_at, kickoff_uid)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5,
                                 ?1 || '.kickoff.' || lower(hex(randomblob(16))) || '@handoff')",
                        params![p.id, p.title, p.contractor, EngagementState::AwaitingAgreement.as_str(), ts(now)],
                    )?;
                    self.record_event(
                        &NewEvent::internal("engagement_planned")
                            .engagement(&p.id)
                            .detail(p.title.clone()),
                        now,
                    )?;
                    report.engagements_added.push(p.id.clone());
                    EngagementState::AwaitingAgreement
                }
            };
            if p.agreement_signed && state == EngagementState::AwaitingAgreement {
                let t = self.apply_engagement(&p.id, EngagementEvent::AgreementSigned, now)?;
                report.engagement_transitions.push((p.id.clone(), t));
            }
            let stored_milestones = existing
                .map(|e| e.milestones.as_slice())
                .unwrap_or_default();
            self.reconcile_milestones(p, stored_milestones, now, &mut report)?;
        }
        for e in stored.iter().filter(|e| !planned.contains(e.id.as_str())) {
            if e.removed_from_config {
                continue;
            }
            self.cached_exec(
                "UPDATE engagement SET removed_from_config = 1, updated_at = ?2 WHERE id = ?1",
                params![e.id, ts(now)],
            )?;
            for m in e.milestones.iter().filter(|m| m.state.is_terminal()) {
                self.mark_removed(&e.id, m, now)?;
            }
            for m in e.milestones.iter().filter(|m| !m.state.is_terminal()) {
                self.cancel_removed(&e.id, &m.id, now)?;
                report.milestones_cancelled.push(MilestoneRef {
                    engagement: e.id.clone(),
                    milestone: m.id.clone(),
                });
            }
            if !e.state.is_terminal() {
                let t = self.apply_engagement(&e.id, EngagementEvent::Ended, now)?;
                report.engagement_transitions.push((e.id.clone(), t));
            }
        }
        Ok(report)
    }

    fn reconcile_milestones(
        &self,
        p: &PlannedEngagement,
        stored: &[MilestoneRecord],
        now: DateTime<Utc>,
        report: &mut ReconcileReport,
    ) -> Result<(), StoreError> {
        let at = |m: &str| MilestoneRef {
            engagement: p.id.clone(),
            milestone: m.to_string(),
        };
        for m in &p.milestones {
            match stored.iter().find(|s| s.id == m.id) {
                None => {
                    self.cached_exec(
                        "INSERT INTO milestone (engagement_id, id, title, due, state, calendar_uid, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                        params![
                            p.id,
                            m.id,
                            m.title,
                            ts(m.due),
                            MilestoneState::Planned.as_str(),
                            new_calendar_uid(&p.id, &m.id, now),
                            ts(now)
                        ],
                    )?;
                    self.record_event(
                        &NewEvent::internal("milestone_planned")
                            .engagement(&p.id)
                            .milestone(&m.id)
                            .detail(format!("{:?} due {}", m.title, ts(m.due))),
                        now,
                    )?;
                    report.milestones_added.push(at(&m.id));
                }
                // A cancelled milestone stays cancelled (its invite was
                // withdrawn); give a returning milestone a new id.
                Some(s) if s.state == MilestoneState::Cancelled => {}
                // The config's own date is compared, not one agreed since
                // (an accepted counter-proposal): an unchanged config leaves
                // that agreement standing. A new date in the config is the
                // owner's latest word and replaces it.
                Some(s) if s.title != m.title || s.configured_due != m.due => {
                    let mut changes = Vec::new();
                    if s.title != m.title {
                        changes.push(format!("title {:?} → {:?}", s.title, m.title));
                    }
                    if s.configured_due != m.due {
                        changes.push(format!("due {} → {}", ts(s.due), ts(m.due)));
                    }
                    let detail = changes.join("; ");
                    let sequence = s.sequence + 1;
                    let override_kept = (s.configured_due == m.due)
                        .then_some(s.due_override)
                        .flatten()
                        .map(ts);
                    self.cached_exec(
                        "UPDATE milestone SET title = ?3, due = ?4, sequence = ?5, updated_at = ?6,
                                due_override = ?7
                         WHERE engagement_id = ?1 AND id = ?2",
                        params![
                            p.id,
                            m.id,
                            m.title,
                            ts(m.due),
                            sequence,
                            ts(now),
                            override_kept
                        ],
                    )?;
                    self.record_event(
                        &NewEvent::internal("milestone_changed")
                            .engagement(&p.id)
                            .milestone(&m.id)
                            .detail(detail.clone()),
                        now,
                    )?;
                    report.milestones_changed.push(MilestoneChange {
                        at: at(&m.id),
                        sequence,
                        detail,
                    });
                }
                Some(_) => {}
            }
        }
        for s in stored
            .iter()
            .filter(|s| !p.milestones.iter().any(|m| m.id == s.id))
        {
            if s.state.is_terminal() {
                // Its outcome stands (an accepted milestone is not undone by
                // editing the config); it is only no longer configured.
                self.mark_removed(&p.id, s, now)?;
                continue;
            }
            self.cancel_removed(&p.id, &s.id, now)?;
            report.milestones_cancelled.push(at(&s.id));
        }
        Ok(())
    }

    /// Flags a finished milestone that left the config, once: no event, and
    /// nothing for the calendar to do.
    fn mark_removed(
        &self,
        engagement: &str,
        m: &MilestoneRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !m.removed_from_config {
            self.cached_exec(
                "UPDATE milestone SET removed_from_config = 1, updated_at = ?3
                 WHERE engagement_id = ?1 AND id = ?2",
                params![engagement, m.id, ts(now)],
            )?;
        }
        Ok(())
    }

    /// Cancels a milestone that left the config; the new SEQUENCE is for the
    /// calendar CANCEL.
    fn cancel_removed(
        &self,
        engagement: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.cached_exec(
            "UPDATE milestone SET removed_from_config = 1, sequence = sequence + 1
             WHERE engagement_id = ?1 AND id = ?2",
            params![engagement, id],
        )?;
        self.apply_milestone(engagement, id, MilestoneEvent::Cancelled, now)?;
        Ok(())
    }
}

impl super::Store {
    /// [`Tx::reconcile`] in a transaction of its own.
    pub fn reconcile(
        &mut self,
        plan: &[PlannedEngagement],
        now: DateTime<Utc>,
    ) -> Result<ReconcileReport, StoreError> {
        self.transaction(|tx| tx.reconcile(plan, now))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::super::test_support::{kinds, plan, t};
    use super::*;
    use crate::lifecycle::MilestoneState;

    #[test]
    fn reconcile_adds_then_is_idempotent() {
        let mut s = Store::open_in_memory().unwrap();
        let p = plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], true);
        let r = s.reconcile(&p, t("2026-11-24T09:00:00Z")).unwrap();
        assert_eq!(r.engagements_added, ["website"]);
        assert_eq!(r.milestones_added.len(), 1);
        assert_eq!(
            kinds(&s),
            [
                "engagement_planned",
                "engagement_agreement_signed",
                "milestone_planned"
            ]
        );
        let e = &s.engagements().unwrap()[0];
        assert_eq!(e.state, EngagementState::Active);
        assert_eq!(e.milestones[0].state, MilestoneState::Planned);
        let uid = e.milestones[0].calendar_uid.clone();

        let r = s.reconcile(&p, t("2026-11-24T10:00:00Z")).unwrap();
        assert!(r.is_empty(), "{r:?}");
        assert_eq!(kinds(&s).len(), 3, "a second run writes no events");
        assert_eq!(s.engagements().unwrap()[0].milestones[0].calendar_uid, uid);
    }

    #[test]
    fn reconcile_changes_bump_the_sequence_and_keep_the_uid() {
        let mut s = Store::open_in_memory().unwrap();
        s.reconcile(
            &plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], true),
            t("2026-11-24T09:00:00Z"),
        )
        .unwrap();
        let uid = s.engagements().unwrap()[0].milestones[0]
            .calendar_uid
            .clone();
        let r = s
            .reconcile(
                &plan(&[("wf", "Wireframes v2", "2026-12-07T22:59:59Z")], true),
                t("2026-11-25T09:00:00Z"),
            )
            .unwrap();
        assert_eq!(r.milestones_changed.len(), 1);
        assert_eq!(r.milestones_changed[0].sequence, 1);
        assert!(
            r.milestones_changed[0]
                .detail
                .contains("due 2026-12-05T22:59:59.000Z → 2026-12-07T22:59:59.000Z")
        );
        let m = &s.engagements().unwrap()[0].milestones[0];
        assert_eq!(
            (m.sequence, m.calendar_uid.as_str(), m.title.as_str()),
            (1, uid.as_str(), "Wireframes v2")
        );
    }

    #[test]
    fn a_removed_milestone_is_cancelled_not_deleted() {
        let mut s = Store::open_in_memory().unwrap();
        let two = plan(
            &[
                ("wf", "Wireframes", "2026-12-05T22:59:59Z"),
                ("launch", "Launch", "2027-01-15T11:00:00Z"),
            ],
            true,
        );
        s.reconcile(&two, t("2026-11-24T09:00:00Z")).unwrap();
        let r = s
            .reconcile(
                &plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], true),
                t("2026-11-25T09:00:00Z"),
            )
            .unwrap();
        assert_eq!(
            r.milestones_cancelled,
            [MilestoneRef {
                engagement: "website".into(),
                milestone: "launch".into()
            }]
        );
        let ms = &s.engagements().unwrap()[0].milestones;
        let launch = ms.iter().find(|m| m.id == "launch").expect("history kept");
        assert_eq!(launch.state, MilestoneState::Cancelled);
        assert!(launch.removed_from_config);
        assert_eq!(launch.sequence, 1);
        assert_eq!(
            kinds(&s).last().map(String::as_str),
            Some("milestone_cancelled")
        );
    }

    #[test]
    fn a_removed_engagement_is_ended_with_its_open_milestones_cancelled() {
        let mut s = Store::open_in_memory().unwrap();
        s.reconcile(
            &plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], false),
            t("2026-11-24T09:00:00Z"),
        )
        .unwrap();
        let r = s.reconcile(&[], t("2026-11-25T09:00:00Z")).unwrap();
        assert_eq!(r.engagement_transitions.len(), 1);
        let e = &s.engagements().unwrap()[0];
        assert_eq!(e.state, EngagementState::Ended);
        assert_eq!(e.milestones[0].state, MilestoneState::Cancelled);
        let again = s.reconcile(&[], t("2026-11-26T09:00:00Z")).unwrap();
        assert!(again.is_empty());
    }

    #[test]
    fn signing_later_activates_the_engagement() {
        let mut s = Store::open_in_memory().unwrap();
        s.reconcile(&plan(&[], false), t("2026-11-24T09:00:00Z"))
            .unwrap();
        assert_eq!(
            s.engagements().unwrap()[0].state,
            EngagementState::AwaitingAgreement
        );
        let r = s
            .reconcile(&plan(&[], true), t("2026-11-25T09:00:00Z"))
            .unwrap();
        assert_eq!(r.engagement_transitions[0].1.to, EngagementState::Active);
    }

    #[test]
    fn calendar_uids_are_unique_and_name_their_milestone() {
        let mut s = Store::open_in_memory().unwrap();
        s.reconcile(
            &plan(
                &[
                    ("wf", "Wireframes", "2026-12-05T22:59:59Z"),
                    ("launch", "Launch", "2027-01-15T11:00:00Z"),
                ],
                true,
            ),
            t("2026-11-24T09:00:00Z"),
        )
        .unwrap();
        let ms = &s.engagements().unwrap()[0].milestones;
        let (a, b) = (&ms[0].calendar_uid, &ms[1].calendar_uid);
        assert_ne!(a, b);
        assert!(
            a.starts_with("website-wf-") && a.ends_with("@handoff"),
            "{a}"
        );
        let hex = &a["website-wf-".len()..a.len() - "@handoff".len()];
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    }

    #[test]
    fn the_kickoff_uid_is_random_fixed_at_first_record_and_kept() {
        let mut s = Store::open_in_memory().unwrap();
        s.reconcile(&plan(&[], true), t("2026-11-24T09:00:00Z"))
            .unwrap();
        let uid = s.engagements().unwrap()[0].kickoff_uid.clone();
        let hex = uid
            .strip_prefix("website.kickoff.")
            .and_then(|u| u.strip_suffix("@handoff"))
            .unwrap_or_else(|| panic!("{uid}"));
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()), "{uid}");
        s.reconcile(&plan(&[], true), t("2026-11-25T09:00:00Z"))
            .unwrap();
        assert_eq!(s.engagements().unwrap()[0].kickoff_uid, uid);
        let mut other = Store::open_in_memory().unwrap();
        other
            .reconcile(&plan(&[], true), t("2026-11-24T09:00:00Z"))
            .unwrap();
        assert_ne!(other.engagements().unwrap()[0].kickoff_uid, uid);
    }

    #[test]
    fn a_change_is_reported_once() {
        let mut s = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T09:00:00Z");
        s.reconcile(
            &plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], true),
            now,
        )
        .unwrap();
        let moved = plan(&[("wf", "Wireframes", "2026-12-07T22:59:59Z")], true);
        assert_eq!(
            s.reconcile(&moved, now).unwrap().milestones_changed.len(),
            1
        );
        let events = kinds(&s);
        assert!(s.reconcile(&moved, now).unwrap().is_empty());
        assert_eq!(kinds(&s), events);
        assert_eq!(s.engagements().unwrap()[0].milestones[0].sequence, 1);
    }

    #[test]
    fn an_accepted_milestone_leaving_the_config_keeps_its_outcome() {
        use crate::lifecycle::MilestoneEvent as E;
        let mut s = Store::open_in_memory().unwrap();
        let now = t("2026-11-24T09:00:00Z");
        s.reconcile(
            &plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], true),
            now,
        )
        .unwrap();
        for e in [E::InstructionsSent, E::Delivered, E::Accepted] {
            s.apply_milestone("website", "wf", e, now).unwrap();
        }
        let r = s.reconcile(&plan(&[], true), now).unwrap();
        assert!(r.milestones_cancelled.is_empty(), "{r:?}");
        let m = &s.engagements().unwrap()[0].milestones[0];
        assert_eq!(m.state, MilestoneState::Accepted);
        assert!(m.removed_from_config);
        let events = kinds(&s);
        assert!(s.reconcile(&plan(&[], true), now).unwrap().is_empty());
        assert_eq!(kinds(&s), events);
    }
}
