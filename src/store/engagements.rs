//! Engagement and milestone lifecycle state: the typed reads `handoff status`
//! shows, and the transitions that are the only way that state changes.
//!
//! [`Tx::apply_engagement`] and [`Tx::apply_milestone`] read the current state,
//! ask [`crate::lifecycle`] for the next one, and write it together with a
//! journal event (`engagement_<event>`, `milestone_<event>`, detail
//! "from → to"), so the state and its history never disagree. A refused
//! transition writes nothing. Rows are created (and retired, never deleted) by
//! [`super::config_changes`].

use super::{NewEvent, StoreError, Tx, parse_ts, ts};
use crate::lifecycle::{
    EngagementEvent, EngagementState, EngagementTransition, MilestoneEvent, MilestoneState,
    MilestoneTransition, Transition,
};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// An engagement as stored, with its milestones (due order): what
/// `handoff status --json` prints, states as their snake_case names.
#[derive(Debug, Clone, Serialize)]
pub struct EngagementRecord {
    pub id: String,
    pub title: String,
    pub contractor: String,
    pub state: EngagementState,
    /// No longer in the config (the row is kept for history).
    pub removed_from_config: bool,
    pub milestones: Vec<MilestoneRecord>,
    /// The UID of the kickoff meeting (RFC 5545 §3.8.4.7), fixed at first
    /// insert: its invitation and the owner's feed both use it. Not part of
    /// what `status --json` shows.
    #[serde(skip)]
    pub kickoff_uid: String,
}

/// A milestone as stored.
#[derive(Debug, Clone, Serialize)]
pub struct MilestoneRecord {
    pub id: String,
    pub title: String,
    /// When it is due: the config's date, or the date agreed since (an
    /// accepted counter-proposal, [`MilestoneRecord::due_override`]).
    /// Serialized as RFC 3339 UTC.
    pub due: DateTime<Utc>,
    /// The config's date, as last reconciled.
    #[serde(skip)]
    pub configured_due: DateTime<Utc>,
    /// The date agreed after the config was written, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_override: Option<DateTime<Utc>>,
    pub state: MilestoneState,
    /// The iCalendar UID (RFC 5545 §3.8.4.7), fixed at first insert.
    pub calendar_uid: String,
    /// The iCalendar SEQUENCE (RFC 5545 §3.8.7.4): bumped on every change
    /// the contractor's calendar must pick up.
    pub sequence: i64,
    pub removed_from_config: bool,
    /// The date it is due again after the owner sent it back
    /// ([`Tx::set_redo_due`]); only meaningful while it is in `redo`.
    pub redo_due: Option<DateTime<Utc>>,
}

impl MilestoneRecord {
    /// The deadline that holds now: the redo's date while the work is back
    /// with the contractor, else the due date.
    pub fn deadline(&self) -> DateTime<Utc> {
        match (self.state, self.redo_due) {
            (MilestoneState::Redo, Some(d)) => d,
            _ => self.due,
        }
    }
}

impl Tx<'_> {
    fn engagement_state(&self, id: &str) -> Result<Option<EngagementState>, StoreError> {
        let s: Option<String> = self
            .cached_row("SELECT state FROM engagement WHERE id = ?1", [id], |r| {
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
            .cached_row(
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
    ) -> Result<EngagementTransition, StoreError> {
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
        self.cached_exec(
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
    ) -> Result<MilestoneTransition, StoreError> {
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
        self.cached_exec(
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

    /// The (engagement, milestone) whose calendar UID this is.
    pub fn milestone_by_uid(&self, uid: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .cached_row(
                "SELECT engagement_id, id FROM milestone WHERE calendar_uid = ?1",
                [uid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// One engagement with its milestones, if the store knows it.
    pub fn engagement(&self, id: &str) -> Result<Option<EngagementRecord>, StoreError> {
        let row: Option<(String, String, String, bool, String)> = self
            .cached_row(
                "SELECT title, contractor, state, removed_from_config, coalesce(kickoff_uid, '')
                 FROM engagement WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((title, contractor, state, removed, kickoff_uid)) = row else {
            return Ok(None);
        };
        Ok(Some(EngagementRecord {
            id: id.to_string(),
            title,
            contractor,
            state: state.parse().map_err(|_| StoreError::Corrupt {
                what: format!("state {state:?} of engagement {id}"),
            })?,
            removed_from_config: removed,
            kickoff_uid,
            milestones: self.milestones(id)?,
        }))
    }

    /// Overrides a milestone's due date with one agreed since the config was
    /// written, raising its SEQUENCE for the calendar update; returns the
    /// new SEQUENCE. The config's date is kept as written.
    pub fn set_due_override(
        &self,
        engagement: &str,
        milestone: &str,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let n = self.cached_exec(
            "UPDATE milestone SET due_override = ?3, sequence = sequence + 1, updated_at = ?4
             WHERE engagement_id = ?1 AND id = ?2",
            params![engagement, milestone, ts(due), ts(now)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("milestone {engagement}/{milestone}"),
            });
        }
        Ok(self.cached_row(
            "SELECT sequence FROM milestone WHERE engagement_id = ?1 AND id = ?2",
            [engagement, milestone],
            |r| r.get(0),
        )?)
    }

    /// Every due date agreed since the config was written: (engagement,
    /// milestone, due). Usually none; one scan of the milestones.
    pub fn due_overrides(&self) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT engagement_id, id, due_override FROM milestone WHERE due_override IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (e, m, due) = row?;
            out.push((e, m, parse_ts(&due, "milestone due override")?));
        }
        Ok(out)
    }

    /// Every engagement the store knows, with its milestones, in id order.
    pub fn engagements(&self) -> Result<Vec<EngagementRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, title, contractor, state, removed_from_config, coalesce(kickoff_uid, '')
             FROM engagement ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, contractor, state, removed, kickoff_uid) = row?;
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
                kickoff_uid,
            });
        }
        Ok(out)
    }

    fn milestones(&self, engagement: &str) -> Result<Vec<MilestoneRecord>, StoreError> {
        // Cached: `engagements` runs this once per engagement.
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.title, m.due, m.state, m.calendar_uid, m.sequence,
                    m.removed_from_config, m.due_override, r.due
             FROM milestone m
             LEFT JOIN redo r ON r.engagement_id = m.engagement_id AND r.milestone_id = m.id
             WHERE m.engagement_id = ?1 ORDER BY COALESCE(m.due_override, m.due), m.id",
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
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, due, state, calendar_uid, sequence, removed, over, redo) = row?;
            let configured_due = parse_ts(&due, "milestone due")?;
            let due_override = over
                .map(|o| parse_ts(&o, "milestone due override"))
                .transpose()?;
            out.push(MilestoneRecord {
                due: due_override.unwrap_or(configured_due),
                configured_due,
                due_override,
                state: state.parse().map_err(|_| StoreError::Corrupt {
                    what: format!("state {state:?} of milestone {engagement}/{id}"),
                })?,
                id,
                title,
                calendar_uid,
                sequence,
                removed_from_config: removed,
                redo_due: redo.map(|r| parse_ts(&r, "redo due")).transpose()?,
            });
        }
        Ok(out)
    }
}

impl super::Store {
    pub fn engagement(&self, id: &str) -> Result<Option<EngagementRecord>, StoreError> {
        self.autocommit().engagement(id)
    }

    pub fn due_overrides(&self) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
        self.autocommit().due_overrides()
    }

    pub fn milestone_by_uid(&self, uid: &str) -> Result<Option<(String, String)>, StoreError> {
        self.autocommit().milestone_by_uid(uid)
    }

    pub fn engagements(&self) -> Result<Vec<EngagementRecord>, StoreError> {
        self.autocommit().engagements()
    }

    pub fn apply_engagement(
        &mut self,
        id: &str,
        event: EngagementEvent,
        now: DateTime<Utc>,
    ) -> Result<EngagementTransition, StoreError> {
        self.transaction(|tx| tx.apply_engagement(id, event, now))
    }

    pub fn apply_milestone(
        &mut self,
        engagement: &str,
        id: &str,
        event: MilestoneEvent,
        now: DateTime<Utc>,
    ) -> Result<MilestoneTransition, StoreError> {
        self.transaction(|tx| tx.apply_milestone(engagement, id, event, now))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{kinds, plan, t};
    use super::super::{EventFilter, Store};
    use super::*;

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

    #[test]
    fn engagement_transitions_through_the_store_journal_or_refuse() {
        let mut s = Store::open_in_memory().unwrap();
        s.reconcile(&plan(&[], true), t("2026-11-24T09:00:00Z"))
            .unwrap();
        let tr = s
            .apply_engagement("website", EngagementEvent::Ended, t("2026-11-25T09:00:00Z"))
            .unwrap();
        assert_eq!(
            (tr.from, tr.to),
            (EngagementState::Active, EngagementState::Ended)
        );
        let last = s.events(&EventFilter::default()).unwrap().pop().unwrap();
        assert_eq!(
            (
                last.kind.as_str(),
                last.engagement.as_deref(),
                last.time.as_str()
            ),
            (
                "engagement_ended",
                Some("website"),
                "2026-11-25T09:00:00+00:00"
            )
        );

        let before = kinds(&s);
        let err = s
            .apply_engagement("website", EngagementEvent::Ended, t("2026-11-26T09:00:00Z"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "engagement website: cannot apply `ended` to an engagement in state `ended`"
        );
        assert_eq!(kinds(&s), before, "a refused transition writes nothing");
        assert_eq!(s.engagements().unwrap()[0].state, EngagementState::Ended);

        let err = s
            .apply_engagement("nope", EngagementEvent::Ended, t("2026-11-26T09:00:00Z"))
            .unwrap_err();
        assert_eq!(err.to_string(), "engagement nope not found");
    }

    #[test]
    fn status_json_names_states_and_times_plainly() {
        let mut s = Store::open_in_memory().unwrap();
        s.reconcile(
            &plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], false),
            t("2026-11-24T09:00:00Z"),
        )
        .unwrap();
        let json = serde_json::to_value(s.engagements().unwrap()).unwrap();
        let e = &json[0];
        assert_eq!(e["id"], "website");
        assert_eq!(e["state"], "awaiting_agreement");
        assert_eq!(e["removed_from_config"], false);
        let m = &e["milestones"][0];
        assert_eq!(m["id"], "wf");
        assert_eq!(m["state"], "planned");
        assert_eq!(m["due"], "2026-12-05T22:59:59Z");
        assert_eq!(m["sequence"], 0);
        assert!(m["calendar_uid"].as_str().unwrap().ends_with("@handoff"));
    }

    #[test]
    fn an_agreed_due_date_survives_reconciling_the_config_until_the_config_changes_it() {
        let mut s = Store::open_in_memory().unwrap();
        let p = plan(&[("wf", "Wireframes", "2026-12-05T22:59:59Z")], true);
        s.reconcile(&p, t("2026-11-24T09:00:00Z")).unwrap();
        let seq = s
            .transaction(|tx| {
                tx.set_due_override(
                    "website",
                    "wf",
                    t("2026-12-10T22:59:59Z"),
                    t("2026-11-25T09:00:00Z"),
                )
            })
            .unwrap();
        assert_eq!(seq, 1);
        let m = |s: &Store| s.engagements().unwrap()[0].milestones[0].clone();
        assert_eq!(m(&s).due, t("2026-12-10T22:59:59Z"));
        assert_eq!(m(&s).configured_due, t("2026-12-05T22:59:59Z"));
        // The unchanged config changes nothing.
        let report = s.reconcile(&p, t("2026-11-26T09:00:00Z")).unwrap();
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(m(&s).due, t("2026-12-10T22:59:59Z"));
        assert_eq!(m(&s).sequence, 1);
        // A new date in the config is the owner's latest word.
        let moved = plan(&[("wf", "Wireframes", "2026-12-12T22:59:59Z")], true);
        let report = s.reconcile(&moved, t("2026-11-27T09:00:00Z")).unwrap();
        assert_eq!(report.milestones_changed.len(), 1);
        assert_eq!(m(&s).due, t("2026-12-12T22:59:59Z"));
        assert_eq!(m(&s).due_override, None);
        assert_eq!(m(&s).sequence, 2);
    }
}
