//! Handoff keeps a small-business owner's outsourced work on track by email
//! and calendar.
//!
//! # The flow
//!
//! Data moves left to right, and no module reaches backwards around it:
//!
//! ```text
//! config ──▶ model ──▶ reconcile ──▶ store ◀──────────────┐
//!                          │                               │
//!                 pass: decide what is due ──▶ outbox ──▶ SMTP / .eml
//!                          ▲                               │
//!                 inbox: parse, match, classify, record ◀─ replies
//! ```
//!
//! - [`config`] reads the owner's one file into a checked [`model::Model`],
//!   reporting every problem as `FILE:LINE:COL`. Nothing downstream sees TOML.
//! - [`lifecycle`] is the pure state machine of engagements and milestones:
//!   transitions are the only way state changes.
//! - [`store`] is the only place with SQL: lifecycle state, the outbox, sent and
//!   inbound messages, the event journal, scheduler and watcher state. Every
//!   decision that must survive a restart is a committed row before its side
//!   effect counts as done.
//! - [`reconcile`] states what the config defines in the store's terms; the
//!   store records new, changed and removed items (never deleting history).
//! - [`pass`] is one pass of work: reconcile, decide which mails are due (each
//!   queued with the state change that causes it), deliver the outbox.
//! - [`schedule`] is what is due when: deadline reminders, overdue notices,
//!   status requests, re-checks, evaluations, payments, silence, unanswered
//!   questions and the digest, DST-correct, coalesced after downtime, capped
//!   per contractor per day. The pass queues what is due; the daemon sleeps
//!   until [`schedule::next_due`]; `handoff plan` lists the timeline.
//! - [`templates`] renders mail from `templates/`; [`outbox`] composes,
//!   queues and delivers it (crash-safe and retried; after a crash a second
//!   copy only in one journaled window, see the outbox's doc); [`calendar`]
//!   builds iMIP invitations and reads replies.
//! - [`inbox`] turns incoming mail into recorded events, from the local
//!   Maildir, `handoff ingest`, or the IMAP IDLE watcher
//!   ([`inbox::imap_watch`]); it never sends, it queues owner notices for the
//!   outbox.
//! - [`actions`] are the owner's acts (sign, accept, redo, evaluate, paid,
//!   answered, end), by command or by reply: each one event, its transition
//!   and its mail in one transaction. [`money`] reads budgets and payments.
//! - [`status`] joins config and store for `handoff status`.
//! - [`daemon`] is `handoff run`: the pass on every wake-up, the inbox and
//!   config watchers, signals, reload, shutdown, systemd's notify protocol.
//! - [`clock`] is injectable time: tests and `HANDOFF_NOW` move it.
//! - [`cli`] is the edge: subcommands, messages for people, exit codes.
#![deny(unsafe_code)]

pub mod actions;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod failpoint;
pub mod imap_conn;
pub mod inbox;
pub mod invite;
pub mod lifecycle;
pub mod model;
pub mod money;
pub mod outbox;
pub mod pass;
pub mod planned;
pub mod schedule;
pub mod sendtime;
pub mod status;
pub mod store;
pub mod templates;
