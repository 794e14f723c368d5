//! Mail out: every mail Handoff sends takes one path.
//!
//! ```text
//! a decision ──▶ compose (template → RFC 5322 bytes, Message-ID fixed)
//!            ──▶ store: outbox row, in the same transaction as the state change
//!            ──▶ sender: claim (queued → sending, dated now, committed) ──▶ transport
//!            ──▶ copy into the IMAP Sent folder (if an IMAP account is set;
//!                filed before sending, or queued when the folder does not answer)
//!            ──▶ store: sent (+ sent_message, + journal), or failed / retry later
//! ```
//!
//! # Never lost, never twice
//! A mail is a committed outbox row before anything is sent, under an
//! idempotency key that names the decision (`instructions/website`), so a
//! decision made twice queues one mail, and a crash before sending loses
//! nothing: the row is still queued at restart.
//!
//! The hard window is a crash after the server accepted a mail but before the
//! row was marked sent. The row is then `sending` at restart, and the sender
//! resolves it before sending anything else (or, when that takes a Sent
//! folder that does not answer, leaves it for later, see below):
//! - local mode: the `.eml` name comes from the row's Message-ID and the
//!   rename into `new/` is the send, so the file either is there (mark sent)
//!   or is not (queue it again);
//! - SMTP with an IMAP account: the copy for the Sent folder is filed
//!   *before* the mail goes out, marked with the keyword `$HandoffPending`,
//!   and the keyword is removed in the one round trip after the server's
//!   "250"; the bytes (hence the Message-ID) are fixed per row. At restart the
//!   sender looks the Message-ID up in Sent: a confirmed copy means sent; only
//!   a pending copy, or none, means it is sent again (a pending copy is
//!   removed first). What remains is that one round trip between the "250"
//!   and the confirmation: a crash exactly there yields a second copy
//!   carrying the same Message-ID, which most clients (Gmail among them) show
//!   once. (Filing the copy after the "250", as the first version did, left
//!   the whole APPEND in that window: 6 duplicates in a 200-kill crash loop.)
//! - SMTP with an IMAP account whose Sent folder does not answer (a timeout
//!   or a refusal while filing the copy first, or the folder already marked
//!   down by an earlier failure, see [`sent_copy`]): the mail does not wait
//!   for it. Before its first byte goes out the row is marked `unstaged` in
//!   the `sent_copy` table (committed); after the "250" the "sent" mark and
//!   the queued copy commit together, and the copy is filed later from the
//!   queue, outside the send path (looked up first, so never filed twice).
//!   The guarantee then becomes the one of SMTP without IMAP, for that mail
//!   only: a crash between the `unstaged` mark and the "sent" commit (the
//!   whole SMTP transaction, not one round trip) sends it again at restart,
//!   at least once, journaled as `resent_unconfirmed` ("sent without a Sent
//!   copy") so a second copy is still always explained. Only the mails that
//!   went while the folder did not answer are in that wider window; the
//!   first mail after the folder answers again is staged as before.
//! - A crash-interrupted mail whose copy *was* staged is resolved only by
//!   looking in Sent: while the folder does not answer it stays `sending`
//!   (not sent twice, not lost: it waits) and is resolved once the folder
//!   answers; the rest of the outbox goes on meanwhile.
//! - SMTP without IMAP: nothing can tell, so the mail is sent again (at least
//!   once rather than at most once: a lost instruction is worse than a double).
//!
//! # Bounded waits
//! Every step on a server (connect, TLS, greeting, AUTH, each SMTP command,
//! each IMAP command and APPEND, LOGOUT) is bounded by
//! [`crate::timeouts::step`]; a step that times out drops its connection
//! without QUIT or LOGOUT. A hung SMTP server costs a delivery at most one
//! NOOP and one greeting timeout before the mail is deferred
//! (`smtp_unreachable`, retried every few seconds); a hung IMAP server costs
//! the first mail one timeout, and no mail after it anything.
//!
//! # The Date a mail is sent
//! A mail may wait in the queue for hours (quiet hours, the reminder cap, an
//! outage), so its Date header is set when it goes out, not when it was
//! composed: the claim runs [`compose::finalize`] on the row's bytes (the
//! Date line replaced, nothing else, the Message-ID kept) and writes the
//! result in the same statement that marks the row `sending`. That is
//! before the Sent copy is filed and before the first byte goes to the
//! server or into `tmp/`, so everything above still holds: while a row is
//! `sending` its bytes are exactly what is, or was being, sent, and recovery
//! finds it by its unchanged Message-ID. Only a row back in `queued` (a
//! 4xx, an unreachable server, recovery that found no copy) is dated again,
//! at its next claim: the earlier bytes either never left, or left only in
//! the one window above, and the second copy then carries the same
//! Message-ID and a later Date. The rest of the text never depends on
//! the moment of sending: templates name dates ("due Sat 5 Dec"), never
//! times counted from the writing ("in 3 days"). Re-rendering at claim time
//! instead would make the sent mail depend on the config and the
//! attachments on disk at that moment, and could fail there, after the
//! decision was committed.
//!
//! # Failures
//! 4xx replies and connection errors are retried with exponential backoff and
//! jitter ([`RetryPolicy`]); a 5xx, or too many temporary failures, marks the
//! mail failed, journals it, and (unless the failed mail was itself an owner
//! notice) queues an owner notice in the same transaction.
//!
//! # Where it stands
//! After the schedule (which decides) and before the invitations, the acts,
//! the inbox and the pass (which call it): it must not import any of those.

pub mod check;
pub mod compose;
pub mod headers;
pub mod sender;
pub mod sent_copy;
mod smtp_steps;
pub mod transport;

pub use compose::{CalendarPart, ComposeError, Composed, Composer, MailRequest};
pub use sender::{DeliveryReport, OutboxError, RetryPolicy, deliver_due};
pub use transport::{SendFailure, Transport, TransportError};
