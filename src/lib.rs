//! Handoff keeps a small-business owner's outsourced work on track by email
//! and calendar.
//!
//! # The flow
//!
//! Data moves one way, and no module reaches back up it:
//!
//! ```text
//!  config ──▶ model ──▶ planned ──▶ store ◀───────────────────────────────────┐
//!                                     │  (SQLite: the only truth)              │
//!                                     ▼                                        │
//!           schedule: what is due when, read from the store                    │
//!           (sendtime: when a mail may go)                                     │
//!                                     │                                        │
//!                                     ▼                                        │
//!           pass: queue what is due ──▶ outbox: compose, queue, deliver ──▶ SMTP / .eml
//!           (invite: the calendar mail of milestones and meetings)             │
//!                                                                              │
//!           inbox: parse, match, classify, record ◀──── replies (IMAP, Maildir) │
//!           actions: the owner's acts, by command or by reply ─────────────────┘
//!
//!  edge: heartbeat (the daemon's health, readable from outside), status
//!        (views), web (the owner's page and feed), daemon (tasks, signals,
//!        reload), cli (commands)
//! ```
//!
//! The inbox and the owner's acts never send: they record an event and queue
//! what it causes, in one transaction, and the outbox delivers it. The
//! schedule never queues: it says what is due, and the pass queues it.
//!
//! # The layers
//!
//! Each module may use only modules named before it on this line (the
//! `layout` test reads it, so this line is the rule):
//!
//! layers: clock timeouts failpoint money lifecycle kinds words calendar templates model
//! config schedule::occurrence store oauth imap_conn planned record sendtime schedule
//! outbox invite actions inbox pass heartbeat status web daemon cli
//!
//! `schedule::occurrence` (when a crontab line fires, DST-correct) is pure
//! arithmetic over [`model::Schedule`] and stands low, so the send-time rules
//! can ask when the next digest is; the rest of [`schedule`] reads the store
//! and stands above them. Unit tests may drive a module through its callers.
//!
//! # The modules
//!
//! - [`config`] reads the owner's one file into a checked [`model::Model`],
//!   reporting every problem as `FILE:LINE:COL`, one file per section.
//!   Nothing downstream sees TOML.
//! - [`lifecycle`] is the pure state machine of engagements and milestones:
//!   transitions are the only way state changes.
//! - [`store`] is the only place with SQL: lifecycle state, the outbox, sent and
//!   inbound messages, the event journal, scheduler and watcher state. Every
//!   decision that must survive a restart is a committed row before its side
//!   effect counts as done.
//! - [`planned`] states what the config defines in the store's terms; the
//!   store records new, changed and removed items (never deleting history).
//! - [`record`] puts the journal's facts side by side: each contractor's
//!   record across engagements (on time or late, redos, response times,
//!   status reports, evaluations, money paid) and the closing review of an
//!   engagement. Pure over what the store holds.
//! - [`sendtime`] says when a mail may go: quiet hours, the start of work,
//!   the digest fold. Everything that queues mail asks it.
//! - [`schedule`] is what is due when: deadline reminders, overdue notices,
//!   status requests, re-checks, evaluations, payments, silence, unanswered
//!   questions and the digest, DST-correct, coalesced after downtime, each
//!   judged against what reached the contractor (the outbox's sent times)
//!   and the contact the inbox recorded; queued mail that waited is judged
//!   again before it goes ([`schedule::review`]); the daemon sleeps until
//!   [`schedule::next_due`]; `handoff plan` lists the timeline and `status`
//!   shows its next items; [`schedule::feed`] is the owner's calendar of it.
//! - [`pass`] is one pass of work: reconcile, read local replies, decide
//!   (the agreement request, the instructions, the invitations, and what the
//!   schedule says is due), deliver the outbox.
//! - [`templates`] renders mail from `templates/` and writes times as people
//!   read them; [`outbox`] composes, queues and delivers it (crash-safe and
//!   retried; after a crash a second copy only in one journaled window, see
//!   the outbox's doc); [`invite`] builds the iMIP mails of milestones and
//!   meetings; [`calendar`] is pure iCalendar build and parse.
//! - [`inbox`] turns incoming mail into recorded events, from the local
//!   Maildir, `handoff ingest`, or the IMAP IDLE watcher
//!   ([`inbox::imap_watch`]): it cuts a reply down to what its writer wrote
//!   ([`inbox::new_text`], the mail it cites subtracted), reads machine mail
//!   by RFC ([`inbox::machine`]) and the rest in words ([`inbox::meaning`]),
//!   classifies ([`inbox::classify`]) and chooses the milestone; it never
//!   sends, it queues owner notices for the outbox. [`imap_conn`] is the one
//!   way to an IMAP server; [`oauth`] is how
//!   Handoff signs in to it and to SMTP (the password, or OAuth 2.0 tokens
//!   from `handoff login`, refreshed ahead of expiry).
//! - [`actions`] are the owner's acts (sign, accept, redo, evaluate, paid,
//!   answered, end, delivered, correct, counter), by command or by reply:
//!   each one event, its transition and its mail in one transaction. [`money`] reads budgets and payments.
//! - [`daemon`] is `handoff run`: the pass on every wake-up, the inbox and
//!   config watchers, signals, reload, shutdown, systemd's notify protocol.
//! - [`heartbeat`] is what the daemon records about itself (its keys in the
//!   store, its lock, the health report), below both the views that show it
//!   and the daemon that writes it.
//! - [`status`] joins config and store for `handoff status`.
//! - [`web`] is the owner's page and calendar feed over HTTP (`[web]`),
//!   run by the daemon: read-only, built from the same views as the CLI.
//! - [`cli`] is the edge: subcommands, messages for people, exit codes.
//! - [`kinds`] is the vocabulary of what a mail can be (`delivery`,
//!   `bounce`, `read_receipt`, …) and which kinds the contractor wrote
//!   themselves.
//! - [`words`] holds the word lists, one file per language, and the
//!   whole-word matcher the inbox reads replies with.
//! - [`clock`] is injectable time: tests and `HANDOFF_NOW` move it;
//!   [`failpoint`] lets the crash tests stop the process at one chosen line;
//!   [`timeouts`] bounds every wait on a mail server (`HANDOFF_NET_TIMEOUT`).
#![deny(unsafe_code)]

pub mod actions;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod failpoint;
pub mod heartbeat;
pub mod imap_conn;
pub mod inbox;
pub mod invite;
pub mod kinds;
pub mod lifecycle;
pub mod model;
pub mod money;
pub mod oauth;
pub mod outbox;
pub mod pass;
pub mod planned;
pub mod record;
pub mod schedule;
pub mod sendtime;
pub mod status;
pub mod store;
pub mod templates;
pub mod timeouts;
pub mod web;
pub mod words;
