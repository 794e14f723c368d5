//! Engagement and milestone lifecycle state, and reconciliation with the config.
//!
//! State only changes through [`crate::lifecycle`] transitions, and every
//! transition is journaled in the same transaction. Nothing is deleted: a
//! milestone removed from the config is cancelled and an engagement removed
//! from it is ended, so history (and the calendar UIDs needed to cancel
//! invites) is kept.

use super::{NewEvent, StoreError, Tx, parse_ts, ts};
use crate::lifecycle::{
    EngagementEvent, EngagementState, MilestoneEvent, MilestoneState, Transition,
};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::hash::{BuildHasher, Hasher};

/// An engagement as the config defines it (see [`crate::reconcile::plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEngagement {
    pub id: String,
    pub title: String,
    pub contractor: String,
    pub agreement_signed: bool,
    pub milestones: Vec<PlannedMilestone>,
}

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
    pub at: MilestoneRef,
    /// The new SEQUENCE for the calendar update.
    pub sequence: i64,
    pub detail: String,
}

/// What a reconciliation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub engagements_added: Vec<String>,
    pub engagement_transitions: Vec<(String, Transition<EngagementState, EngagementEvent>)>,
    pub milestones_added: Vec<MilestoneRef>,
    pub milestones_changed: Vec<MilestoneChange>,
    pub milestones_cancelled: Vec<MilestoneRef>,
}

impl ReconcileReport {
    pub fn is_empty(&self) -> bool {
        *self == ReconcileReport::default()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EngagementRecord {
    pub id: String,
    pub title: String,
    pub contractor: String,
    pub state: EngagementState,
    pub removed_from_config: bool,
    pub milestones: Vec<MilestoneRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MilestoneRecord {
    pub id: String,
    pub title: String,
    pub due: DateTime<Utc>,
    pub state: MilestoneState,
    pub calendar_uid: String,
    pub sequence: i64,
    pub removed_from_config: bool,
}

/// A fresh calendar UID: unique, stable once stored, and telling nothing
/// beyond the ids it names. `RandomState` is seeded from the OS per process;
/// mixing in the time and the ids makes two UIDs from one seed differ too.
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
    format!("{engagement}.{milestone}.{a:016x}{b:016x}@handoff")
}

impl Tx<'_> {
    fn engagement_state(&self, id: &str) -> Result<Option<EngagementState>, StoreError> {
        let s: Option<String> = self
            .conn
            .query_row("SELECT state FROM engagement WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        s.map(|s| {
            s.parse().map_err(|_| StoreError::Corrupt {
                what: format!("state {s:?} of engagement {id}"),
            })
        })
        .transpose()
    }

    fn milestone_state(
        &self,
        engagement: &str,
        id: &str,
    ) -> Result<Option<MilestoneState>, StoreError> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT state FROM milestone WHERE engagement_id = ?1 AND id = ?2",
                [engagement, id],
                |r| r.get(0),
            )
            .optional()?;
        s.map(|s| {
            s.parse().map_err(|_| StoreError::Corrupt {
                what: format!("state {s:?} of milestone {engagement}/{id}"),
            })
        })
        .transpose()
    }

    /// Applies an engagement transition and journals it.
    pub fn apply_engagement(
        &self,
        id: &str,
        event: EngagementEvent,
        now: DateTime<Utc>,
    ) -> Result<Transition<EngagementState, EngagementEvent>, StoreError> {
        let from = self
            .engagement_state(id)?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("engagement {id}"),
            })?;
        let to = from
            .apply(event)
            .map_err(|source| StoreError::IllegalTransition {
                what: format!("engagement {id}"),
                source,
            })?;
        self.conn.execute(
            "UPDATE engagement SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, to.as_str(), ts(now)],
        )?;
        self.record_event(
            &NewEvent::internal(&format!("engagement_{event}"))
                .engagement(id)
                .detail(format!("{from} → {to}")),
            now,
        )?;
        Ok(Transition { from, event, to })
    }

    /// Applies a milestone transition and journals it.
    pub fn apply_milestone(
        &self,
        engagement: &str,
        id: &str,
        event: MilestoneEvent,
        now: DateTime<Utc>,
    ) -> Result<Transition<MilestoneState, MilestoneEvent>, StoreError> {
        let from = self
            .milestone_state(engagement, id)?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("milestone {engagement}/{id}"),
            })?;
        let to = from
            .apply(event)
            .map_err(|source| StoreError::IllegalTransition {
                what: format!("milestone {engagement}/{id}"),
                source,
            })?;
        self.conn.execute(
            "UPDATE milestone SET state = ?3, updated_at = ?4 WHERE engagement_id = ?1 AND id = ?2",
            params![engagement, id, to.as_str(), ts(now)],
        )?;
        self.record_event(
            &NewEvent::internal(&format!("milestone_{event}"))
                .engagement(engagement)
                .milestone(id)
                .detail(format!("{from} → {to}")),
            now,
        )?;
        Ok(Transition { from, event, to })
    }

    /// Every engagement the store knows, with its milestones, in id order.
    pub fn engagements(&self) -> Result<Vec<EngagementRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, title, contractor, state, removed_from_config FROM engagement ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, contractor, state, removed) = row?;
            let state = state.parse().map_err(|_| StoreError::Corrupt {
                what: format!("state {state:?} of engagement {id}"),
            })?;
            let milestones = self.milestones(&id)?;
            out.push(EngagementRecord {
                id,
                title,
                contractor,
                state,
                removed_from_config: removed,
                milestones,
            });
        }
        Ok(out)
    }

    fn milestones(&self, engagement: &str) -> Result<Vec<MilestoneRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, title, due, state, calendar_uid, sequence, removed_from_config
             FROM milestone WHERE engagement_id = ?1 ORDER BY due, id",
        )?;
        let rows = stmt.query_map([engagement], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, due, state, calendar_uid, sequence, removed) = row?;
            out.push(MilestoneRecord {
                due: parse_ts(&due, "milestone due")?,
                state: state.parse().map_err(|_| StoreError::Corrupt {
                    what: format!("state {state:?} of milestone {engagement}/{id}"),
                })?,
                id,
                title,
                calendar_uid,
                sequence,
                removed_from_config: removed,
            });
        }
        Ok(out)
    }

    /// Brings the store in line with the config: new engagements and milestones
    /// are recorded, changed milestones re-sequenced, removed ones cancelled or
    /// ended. Running it again with the same plan changes nothing.
    pub fn reconcile(
        &self,
        plan: &[PlannedEngagement],
        now: DateTime<Utc>,
    ) -> Result<ReconcileReport, StoreError> {
        let mut report = ReconcileReport::default();
        let stored = self.engagements()?;
        for p in plan {
            let existing = stored.iter().find(|e| e.id == p.id);
            let state = match existing {
                Some(e) => {
                    if e.title != p.title || e.contractor != p.contractor || e.removed_from_config {
                        self.conn.execute(
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
                    self.conn.execute(
                        "INSERT INTO engagement (id, title, contractor, state, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
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
        for e in stored.iter().filter(|e| !plan.iter().any(|p| p.id == e.id)) {
            if e.removed_from_config {
                continue;
            }
            self.conn.execute(
                "UPDATE engagement SET removed_from_config = 1, updated_at = ?2 WHERE id = ?1",
                params![e.id, ts(now)],
            )?;
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
                    self.conn.execute(
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
                Some(s) if s.title != m.title || s.due != m.due => {
                    let mut changes = Vec::new();
                    if s.title != m.title {
                        changes.push(format!("title {:?} → {:?}", s.title, m.title));
                    }
                    if s.due != m.due {
                        changes.push(format!("due {} → {}", ts(s.due), ts(m.due)));
                    }
                    let detail = changes.join("; ");
                    let sequence = s.sequence + 1;
                    self.conn.execute(
                        "UPDATE milestone SET title = ?3, due = ?4, sequence = ?5, updated_at = ?6
                         WHERE engagement_id = ?1 AND id = ?2",
                        params![p.id, m.id, m.title, ts(m.due), sequence, ts(now)],
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
                continue;
            }
            self.cancel_removed(&p.id, &s.id, now)?;
            report.milestones_cancelled.push(at(&s.id));
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
        self.conn.execute(
            "UPDATE milestone SET removed_from_config = 1, sequence = sequence + 1
             WHERE engagement_id = ?1 AND id = ?2",
            params![engagement, id],
        )?;
        self.apply_milestone(engagement, id, MilestoneEvent::Cancelled, now)?;
        Ok(())
    }
}

impl super::Store {
    pub fn engagements(&self) -> Result<Vec<EngagementRecord>, StoreError> {
        self.read().engagements()
    }

    pub fn reconcile(
        &mut self,
        plan: &[PlannedEngagement],
        now: DateTime<Utc>,
    ) -> Result<ReconcileReport, StoreError> {
        self.transaction(|tx| tx.reconcile(plan, now))
    }

    pub fn apply_engagement(
        &mut self,
        id: &str,
        event: EngagementEvent,
        now: DateTime<Utc>,
    ) -> Result<Transition<EngagementState, EngagementEvent>, StoreError> {
        self.transaction(|tx| tx.apply_engagement(id, event, now))
    }

    pub fn apply_milestone(
        &mut self,
        engagement: &str,
        id: &str,
        event: MilestoneEvent,
        now: DateTime<Utc>,
    ) -> Result<Transition<MilestoneState, MilestoneEvent>, StoreError> {
        self.transaction(|tx| tx.apply_milestone(engagement, id, event, now))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EventFilter, Store, test_support::t};
    use super::*;

    fn plan(milestones: &[(&str, &str, &str)], signed: bool) -> Vec<PlannedEngagement> {
        vec![PlannedEngagement {
            id: "website".into(),
            title: "Website".into(),
            contractor: "dana".into(),
            agreement_signed: signed,
            milestones: milestones
                .iter()
                .map(|(id, title, due)| PlannedMilestone {
                    id: id.to_string(),
                    title: title.to_string(),
                    due: t(due),
                })
                .collect(),
        }]
    }

    fn kinds(s: &Store) -> Vec<String> {
        s.events(&EventFilter::default())
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

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
    fn transitions_through_the_store_journal_or_refuse() {
        let mut s = Store::open_in_memory().unwrap();
        s.reconcile(
            &plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], true),
            t("2026-11-24T09:00:00Z"),
        )
        .unwrap();
        let before = kinds(&s).len();
        let err = s
            .apply_milestone(
                "website",
                "wf",
                MilestoneEvent::Delivered,
                t("2026-11-24T10:00:00Z"),
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::IllegalTransition { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "milestone website/wf: cannot apply `delivered` to a milestone in state `planned`"
        );
        assert_eq!(
            kinds(&s).len(),
            before,
            "a refused transition writes nothing"
        );

        s.apply_milestone(
            "website",
            "wf",
            MilestoneEvent::InstructionsSent,
            t("2026-11-24T10:00:00Z"),
        )
        .unwrap();
        let tr = s
            .apply_milestone(
                "website",
                "wf",
                MilestoneEvent::Delivered,
                t("2026-11-24T11:00:00Z"),
            )
            .unwrap();
        assert_eq!(
            (tr.from, tr.to),
            (MilestoneState::Instructed, MilestoneState::Delivered)
        );
        let last = s.events(&EventFilter::default()).unwrap().pop().unwrap();
        assert_eq!(last.kind, "milestone_delivered");
        assert_eq!(last.detail.as_deref(), Some("instructed → delivered"));

        let err = s
            .apply_milestone(
                "website",
                "nope",
                MilestoneEvent::Delivered,
                t("2026-11-24T11:00:00Z"),
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }));
    }
}
