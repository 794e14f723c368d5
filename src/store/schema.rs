//! Versioned schema migrations. Append a new `M::up` to change the schema;
//! never edit one that has shipped (stores in the field already ran it).

use rusqlite_migration::{M, Migrations};

/// The schema version after the last migration this Handoff knows.
pub(super) fn latest(
    conn: &rusqlite::Connection,
    found: usize,
) -> Result<usize, rusqlite_migration::Error> {
    // `Migrations` says how many are pending on a database (negative when it
    // is ahead), not how many it holds.
    let pending = migrations().pending_migrations(conn)?;
    Ok(usize::try_from(found as i64 + i64::from(pending)).unwrap_or(0))
}

pub(super) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2_SCHEDULE_INDEXES),
        M::up(V3_KICKOFF_UID),
        M::up(V4_SENT_COPY_QUEUE),
        M::up(V5_CONTACT_AND_REDO),
        M::up(V6_DUE_OVERRIDE),
    ])
}

const V1: &str = r#"
CREATE TABLE engagement (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    contractor  TEXT NOT NULL,
    state       TEXT NOT NULL,
    removed_from_config INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE milestone (
    engagement_id TEXT NOT NULL REFERENCES engagement(id),
    id            TEXT NOT NULL,
    title         TEXT NOT NULL,
    due           TEXT NOT NULL,
    state         TEXT NOT NULL,
    -- Stable per milestone for its whole life: calendar updates and
    -- cancellations must carry the UID of the first invite.
    calendar_uid  TEXT NOT NULL UNIQUE,
    sequence      INTEGER NOT NULL DEFAULT 0,
    removed_from_config INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (engagement_id, id)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    -- What makes a mail the same mail across restarts and replays.
    idempotency_key TEXT NOT NULL UNIQUE,
    engagement_id   TEXT,
    milestone_id    TEXT,
    purpose         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         BLOB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    message_id      TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE sent_message (
    message_id    TEXT PRIMARY KEY,
    outbox_id     INTEGER REFERENCES outbox(id),
    engagement_id TEXT,
    milestone_id  TEXT,
    purpose       TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    sent_at       TEXT NOT NULL
);

CREATE TABLE inbound_message (
    id           INTEGER PRIMARY KEY,
    account      TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    message_id   TEXT,
    sender       TEXT,
    subject      TEXT,
    outcome      TEXT NOT NULL,
    detail       TEXT,
    received_at  TEXT NOT NULL,
    UNIQUE (account, uid_validity, uid)
);
CREATE INDEX inbound_message_id ON inbound_message (message_id);

CREATE TABLE event (
    id            INTEGER PRIMARY KEY,
    time          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    direction     TEXT NOT NULL CHECK (direction IN ('in', 'out', 'internal')),
    engagement_id TEXT,
    milestone_id  TEXT,
    message_id    TEXT,
    subject       TEXT,
    detail        TEXT
);
CREATE INDEX event_engagement ON event (engagement_id, time);

CREATE TABLE scheduler_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE watcher_state (
    account         TEXT PRIMARY KEY,
    uid_validity    INTEGER,
    last_uid        INTEGER,
    last_contact_at TEXT,
    last_error      TEXT
);
"#;

/// Indexes for the schedule's reads, so a wake costs what is due rather than
/// a scan of everything ever queued or journaled: the reminder cap counts one
/// recipient's mail per day, threading finds an engagement's first mail to a
/// recipient, and the journal summary reads only the kinds it needs.
const V2_SCHEDULE_INDEXES: &str = r#"
CREATE INDEX outbox_recipient ON outbox (recipient, next_attempt_at);
CREATE INDEX outbox_thread ON outbox (engagement_id, recipient);
CREATE INDEX event_kind ON event (kind, engagement_id, milestone_id, time);
"#;

/// Each engagement's kickoff UID, fixed when the engagement is first
/// recorded (as a milestone's `calendar_uid` is), so the owner's feed names
/// the kickoff with the UID its invitation will carry before that is sent: a
/// calendar holding both shows the meeting once. Random, so a later
/// engagement of the same id is never taken for an old one.
const V3_KICKOFF_UID: &str = r#"
ALTER TABLE engagement ADD COLUMN kickoff_uid TEXT;
UPDATE engagement SET kickoff_uid = id || '.kickoff.' || lower(hex(randomblob(16))) || '@handoff';
"#;

/// The Sent copies still to be filed (see `src/outbox/sent_copy.rs`): a mail
/// that went out while the IMAP server did not answer gets its copy later,
/// from this queue, not in the send path.
const V4_SENT_COPY_QUEUE: &str = r#"
CREATE TABLE sent_copy (
    outbox_id       INTEGER PRIMARY KEY REFERENCES outbox(id),
    -- 'unstaged': going out without a copy filed first (marked before the
    -- first byte, so a crash mid-send is known to have had none);
    -- 'queued': it went out, and its copy is still to be filed.
    state           TEXT NOT NULL CHECK (state IN ('unstaged', 'queued')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX sent_copy_due ON sent_copy (state, next_attempt_at);
"#;

/// What the schedule needs to judge each mail's moment (issue 17):
///
/// - `contact`: the last genuine mail from each engagement's contractor, as
///   the inbox judged it (`Kind::is_genuine`, any kind, `message` included):
///   the silence clock. Filled from the journal for stores that predate it.
/// - `redo`: the date a milestone sent back for a redo is due again.
/// - an index for "the latest status request that reached the contractor",
///   read on every wake.
const V5_CONTACT_AND_REDO: &str = r#"
CREATE TABLE contact (
    engagement_id TEXT PRIMARY KEY,
    last_at       TEXT NOT NULL,
    kind          TEXT NOT NULL
);
INSERT INTO contact (engagement_id, last_at, kind)
SELECT engagement_id, MAX(time), kind FROM event
WHERE direction = 'in' AND engagement_id IS NOT NULL
  AND kind IN ('acknowledgement', 'status_report', 'delivery', 'question',
               'calendar_reply', 'message')
GROUP BY engagement_id;

CREATE TABLE redo (
    engagement_id TEXT NOT NULL,
    milestone_id  TEXT NOT NULL,
    due           TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    PRIMARY KEY (engagement_id, milestone_id)
);

CREATE INDEX outbox_purpose_sent ON outbox (purpose, engagement_id, sent_at);
"#;

/// A milestone's due date as agreed with the contractor after the config
/// was written (the owner accepted a counter-proposal): it overrides the
/// config's `due` until the config's date itself changes. And an index on
/// the journal's Message-IDs, so a correction finds the reading it undoes
/// (and the readers that skip corrected readings stay cheap).
const V6_DUE_OVERRIDE: &str = r#"
ALTER TABLE milestone ADD COLUMN due_override TEXT;
CREATE INDEX event_message ON event (message_id);
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
