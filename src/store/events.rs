//! The event journal: what was sent, received and decided, in order.
//!
//! Rows are only ever added. `handoff log` reads them; later parts (evaluation
//! records, the digest) summarise them.

use super::{StoreError, Tx, parse_ts, ts};
use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

/// Which way an event crossed the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A mail received.
    In,
    /// A mail sent.
    Out,
    /// A decision or state change inside Handoff.
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Internal => "internal",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "in" => Ok(Direction::In),
            "out" => Ok(Direction::Out),
            "internal" => Ok(Direction::Internal),
            other => Err(StoreError::Corrupt {
                what: format!("event direction {other:?}"),
            }),
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event to journal.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub kind: String,
    pub direction: Option<Direction>,
    pub engagement: Option<String>,
    pub milestone: Option<String>,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub detail: Option<String>,
}

impl NewEvent {
    /// An internal event of `kind` with nothing else set yet.
    pub fn internal(kind: &str) -> Self {
        NewEvent {
            kind: kind.to_string(),
            direction: Some(Direction::Internal),
            ..Default::default()
        }
    }

    pub fn engagement(mut self, id: &str) -> Self {
        self.engagement = Some(id.to_string());
        self
    }

    pub fn milestone(mut self, id: &str) -> Self {
        self.milestone = Some(id.to_string());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// A journaled event, as `handoff log --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    /// The event's number in the journal: `handoff correct ID KIND` takes it.
    pub id: i64,
    /// RFC 3339, UTC.
    pub time: String,
    pub kind: String,
    pub direction: Direction,
    pub engagement: Option<String>,
    pub milestone: Option<String>,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub detail: Option<String>,
    /// For a `calendar_reply`: the attendee's answer ("accepted",
    /// "declined", "tentative"), as recorded in `detail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partstat: Option<String>,
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub engagement: Option<String>,
    /// Only the last N (still printed oldest first).
    pub limit: Option<usize>,
}

impl Tx<'_> {
    pub fn record_event(&self, e: &NewEvent, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.cached_exec(
            "INSERT INTO event (time, kind, direction, engagement_id, milestone_id, message_id, subject, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                ts(now),
                e.kind,
                e.direction.unwrap_or(Direction::Internal).as_str(),
                e.engagement,
                e.milestone,
                e.message_id,
                e.subject,
                e.detail
            ],
        )?;
        Ok(())
    }

    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, StoreError> {
        let limit = filter
            .limit
            .and_then(|l| i64::try_from(l).ok())
            .unwrap_or(-1);
        let mut stmt = self.conn.prepare_cached(
            "SELECT time, kind, direction, engagement_id, milestone_id, message_id, subject, detail, id
             FROM (SELECT * FROM event
                   WHERE ?1 IS NULL OR engagement_id = ?1
                   ORDER BY time DESC, id DESC LIMIT ?2)
             ORDER BY time, id",
        )?;
        let rows = stmt.query_map(params![filter.engagement, limit], row)?;
        read_rows(rows)
    }

    /// One event by its number.
    pub fn event(&self, id: i64) -> Result<Option<EventRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT time, kind, direction, engagement_id, milestone_id, message_id, subject, detail, id
             FROM event WHERE id = ?1",
        )?;
        let rows = stmt.query_map([id], row)?;
        Ok(read_rows(rows)?.pop())
    }

    /// The readings of one mail still standing: its `in` events that no
    /// later `reading_corrected` event supersedes, oldest first.
    pub fn readings_of(&self, message_id: &str) -> Result<Vec<EventRecord>, StoreError> {
        let sql = format!(
            "SELECT time, kind, direction, engagement_id, milestone_id, message_id, subject, detail, id
             FROM event e WHERE e.message_id = ?1 AND e.direction = 'in' AND {}
             ORDER BY e.id",
            standing("e")
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([message_id], row)?;
        read_rows(rows)
    }
}

/// The SQL test that an inbound event (`alias`) still stands: no owner's
/// correction of the same mail came after it. Readers of readings (the
/// questions waiting, the schedule's facts) use it, so a corrected reading
/// counts no more while the journal keeps it.
pub(crate) fn standing(alias: &str) -> String {
    format!(
        "({alias}.direction != 'in' OR {alias}.message_id IS NULL OR NOT EXISTS (
            SELECT 1 FROM event c WHERE c.message_id = {alias}.message_id
            AND c.kind = 'reading_corrected' AND c.id > {alias}.id))"
    )
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

fn row(r: &rusqlite::Row<'_>) -> Result<Row, rusqlite::Error> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn read_rows(
    rows: impl Iterator<Item = Result<Row, rusqlite::Error>>,
) -> Result<Vec<EventRecord>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        let (time, kind, direction, engagement, milestone, message_id, subject, detail, id) = row?;
        // Normalise to plain RFC 3339 for readers, after checking it parses.
        let time = parse_ts(&time, "event")?.to_rfc3339();
        let partstat = (kind == "calendar_reply")
            .then(|| detail.clone())
            .flatten()
            // "delegated to bob@example.test" is a delegation.
            .map(|d| d.split(' ').next().unwrap_or_default().to_string())
            .filter(|d| {
                matches!(
                    d.to_ascii_lowercase().as_str(),
                    "accepted" | "declined" | "tentative" | "needs-action" | "delegated"
                )
            });
        out.push(EventRecord {
            id,
            time,
            kind,
            direction: Direction::parse(&direction)?,
            engagement,
            milestone,
            message_id,
            subject,
            detail,
            partstat,
        });
    }
    Ok(out)
}

impl Tx<'_> {
    /// Every event of one of `kinds` that names an engagement, oldest first:
    /// what the contractors' records and the closing reviews are computed
    /// from ([`crate::record`]), in one query for all engagements. A reading
    /// the owner corrected counts no more ([`standing`]).
    pub fn events_of_kinds(&self, kinds: &[&str]) -> Result<Vec<EventRecord>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; kinds.len()].join(", ");
        let sql = format!(
            "SELECT time, kind, direction, engagement_id, milestone_id, message_id, subject, detail, id
             FROM event e WHERE e.engagement_id IS NOT NULL AND e.kind IN ({marks}) AND {}
             ORDER BY e.time, e.id",
            standing("e")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(kinds.iter()), row)?;
        read_rows(rows)
    }
}

impl super::Store {
    /// Journals one event (one statement, so no transaction of its own).
    pub fn record_event(&self, e: &NewEvent, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.autocommit().record_event(e, now)
    }

    /// Reads the journal, oldest first.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, StoreError> {
        self.autocommit().events(filter)
    }

    /// Every event of one of `kinds` that names an engagement, oldest first.
    pub fn events_of_kinds(&self, kinds: &[&str]) -> Result<Vec<EventRecord>, StoreError> {
        self.autocommit().events_of_kinds(kinds)
    }

    pub fn event(&self, id: i64) -> Result<Option<EventRecord>, StoreError> {
        self.autocommit().event(id)
    }

    pub fn readings_of(&self, message_id: &str) -> Result<Vec<EventRecord>, StoreError> {
        self.autocommit().readings_of(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Store, test_support::t};
    use super::*;

    #[test]
    fn events_filter_and_limit_keep_time_order() {
        let s = Store::open_in_memory().unwrap();
        for (i, eng) in ["a", "b", "a", "a"].iter().enumerate() {
            let e = NewEvent::internal(&format!("k{i}")).engagement(eng);
            s.record_event(&e, t(&format!("2026-11-24T09:0{i}:00Z")))
                .unwrap();
        }
        let all = s.events(&EventFilter::default()).unwrap();
        assert_eq!(
            all.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["k0", "k1", "k2", "k3"]
        );
        let a_last2 = s
            .events(&EventFilter {
                engagement: Some("a".into()),
                limit: Some(2),
            })
            .unwrap();
        assert_eq!(
            a_last2.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["k2", "k3"]
        );
        assert_eq!(a_last2[0].time, "2026-11-24T09:02:00+00:00");
        assert_eq!(a_last2[0].direction, Direction::Internal);
    }

    #[test]
    fn log_json_has_every_field_with_nulls_for_absent_ones() {
        let s = Store::open_in_memory().unwrap();
        s.record_event(
            &NewEvent::internal("note").engagement("website"),
            t("2026-11-24T09:00:00Z"),
        )
        .unwrap();
        let json = serde_json::to_value(&s.events(&EventFilter::default()).unwrap()[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": 1,
                "time": "2026-11-24T09:00:00+00:00",
                "kind": "note",
                "direction": "internal",
                "engagement": "website",
                "milestone": null,
                "message_id": null,
                "subject": null,
                "detail": null,
            })
        );
    }
}
