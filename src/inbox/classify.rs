//! The classification rules, as one table read top to bottom: the first rule
//! whose test holds names the mail's kind. `handoff ingest --explain` prints
//! the rule, its reason and the words it found; the README lists the same
//! table.
//!
//! Order matters: first whether the sender is clear, then machines
//! (delivery reports, receipts, calendars, auto-replies), then who (the
//! owner, a stranger), then what the contractor meant, read from the new
//! text only ([`super::meaning`]).

use super::meaning::{self, Reading};
use super::parse::Facts;
pub use crate::kinds::Kind;

/// What matching found out about the mail.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The engagement it belongs to, if any.
    pub engagement: Option<String>,
    /// The purpose of our mail it answers ("instructions", "status_request"…).
    pub answers: Option<String>,
    /// The sender is that engagement's contractor.
    pub from_contractor: bool,
    /// The sender is the owner (From compared case-insensitively).
    pub from_owner: bool,
    /// For a mail on the thread that is not from the contractor: what
    /// nonetheless points at them (their Reply-To, a look-alike domain).
    pub stranger_note: Option<String>,
}

impl Context {
    /// The mail cites a notice Handoff sent the owner. Its Message-ID carries
    /// 128 random bits, so citing it proves the writer received that notice:
    /// a forged From alone cannot.
    pub fn cites_owner_notice(&self) -> bool {
        self.engagement.is_some()
            && self
                .answers
                .as_deref()
                .and_then(crate::templates::Purpose::parse)
                .is_some_and(|p| p.is_owner_notice())
    }
}

fn owner_command_line(f: &Facts) -> bool {
    crate::actions::reply::looks_like_command(crate::actions::reply::first_line(&f.new_text))
}

/// What the test of a rule saw: `Some(words)` when it holds (the words or
/// fields that made it hold, for `--explain`; may be empty).
type Seen = Option<String>;

/// One rule: a kind, why, and the test.
pub struct Rule {
    pub kind: Kind,
    pub why: &'static str,
    pub test: fn(&Facts, &Context, &Reading) -> Seen,
}

fn calendar_method(f: &Facts, method: &str) -> Seen {
    let wanted = format!("METHOD:{method}");
    f.calendars
        .iter()
        .any(|c| c.lines().any(|l| l.trim().eq_ignore_ascii_case(&wanted)))
        .then(String::new)
}

fn when(test: bool, seen: impl FnOnce() -> String) -> Seen {
    test.then(seen)
}

/// A short answer: thanks in one this long acknowledges a first mail.
const SHORT: usize = 12;

/// The table.
pub const RULES: &[Rule] = &[
    Rule {
        kind: Kind::Unparseable,
        why: "its From is not exactly one well-formed address: changes nothing",
        test: |f, _, _| {
            f.from
                .is_none()
                .then(|| f.from_problem.clone().unwrap_or_default())
        },
    },
    Rule {
        kind: Kind::Bounce,
        why: "a delivery report (RFC 3464): a recipient failed with a 5.x.x status",
        test: |f, _, _| {
            f.report
                .as_ref()
                .and_then(|r| r.hard_failure())
                .map(|r| r.describe())
        },
    },
    Rule {
        kind: Kind::ReadReceipt,
        why: "a read receipt (RFC 8098) or a delivery receipt: not a bounce, not an acknowledgement",
        test: |f, _, r| match &f.report {
            Some(rep @ crate::inbox::machine::Report::Receipt { .. }) => Some(rep.describe()),
            Some(crate::inbox::machine::Report::Delivery { recipients, .. })
                if !recipients.is_empty()
                    && recipients.iter().all(|x| {
                        matches!(
                            x.action,
                            crate::inbox::machine::Action::Delivered
                                | crate::inbox::machine::Action::Relayed
                                | crate::inbox::machine::Action::Expanded
                        )
                    }) =>
            {
                f.report.as_ref().map(|x| x.describe())
            }
            Some(_) => None,
            None => r.receipt.clone(),
        },
    },
    Rule {
        kind: Kind::DeliveryDelayed,
        why: "a delivery report that is not a permanent failure (delayed, 4.x.x): holds nothing",
        test: |f, _, _| f.report.as_ref().map(|r| r.describe()),
    },
    Rule {
        kind: Kind::CalendarCounter,
        why: "carries a text/calendar part with METHOD:COUNTER: a proposed new date",
        test: |f, _, _| calendar_method(f, "COUNTER"),
    },
    Rule {
        kind: Kind::CalendarRefresh,
        why: "carries a text/calendar part with METHOD:REFRESH: the invitation is asked for again",
        test: |f, _, _| calendar_method(f, "REFRESH"),
    },
    Rule {
        kind: Kind::CalendarReply,
        why: "carries a text/calendar part with METHOD:REPLY",
        test: |f, _, _| calendar_method(f, "REPLY"),
    },
    Rule {
        kind: Kind::AutoReply,
        why: "an auto-reply: a header that says so, or out-of-office wording",
        // Only on an engagement's thread (or to the owner): a newsletter from
        // a stranger is simply not ours (`unmatched` below).
        test: |f, c, r| {
            if c.engagement.is_none() && !c.from_owner {
                return None;
            }
            f.auto_header.clone().or_else(|| r.auto_reply.clone())
        },
    },
    Rule {
        kind: Kind::OwnerCommand,
        why: "from the owner, cites a notice Handoff sent the owner, and its first line is a command: the act is performed",
        test: |f, c, _| {
            when(
                c.from_owner && c.cites_owner_notice() && owner_command_line(f),
                String::new,
            )
        },
    },
    Rule {
        kind: Kind::OwnerCommandRejected,
        why: "from the owner and reads as a command or answers a notice, but does not pass both tests: changes nothing",
        test: |f, c, _| {
            when(
                c.from_owner && (c.cites_owner_notice() || owner_command_line(f)),
                String::new,
            )
        },
    },
    Rule {
        kind: Kind::Unmatched,
        why: "cites no mail Handoff sent and carries no engagement tag from its contractor",
        test: |_, c, _| when(c.engagement.is_none(), String::new),
    },
    Rule {
        kind: Kind::IgnoredSender,
        why: "on an engagement's thread, but its From is not the contractor's address: changes nothing",
        test: |f, c, _| {
            when(!c.from_contractor, || {
                let from = f.from.as_deref().unwrap_or("?");
                match &c.stranger_note {
                    Some(n) => format!("from {from}; {n}"),
                    None => format!("from {from}"),
                }
            })
        },
    },
    Rule {
        kind: Kind::Delivery,
        why: "delivers: an attachment, or a link with a completion word or a delivery phrase (a question does not outrank this)",
        test: |_, _, r| r.strong_delivery.clone(),
    },
    Rule {
        kind: Kind::StatusReport,
        why: "a status report: answers a status request, or has a report's shape (a percentage, status words)",
        test: |_, c, r| {
            r.status.clone().or_else(|| {
                when(
                    c.answers.as_deref() == Some("status_request")
                        && r.question.is_none()
                        && r.report_announced.is_none(),
                    || {
                        crate::templates::lang::seen::english()
                            .answers_request
                            .into()
                    },
                )
            })
        },
    },
    Rule {
        kind: Kind::Question,
        why: "asks something (a question mark in what they wrote, or a question's opening); outranks delivery words",
        test: |_, _, r| r.question.clone(),
    },
    Rule {
        kind: Kind::Delivery,
        why: "says it delivers (a delivery phrase, no question)",
        test: |_, _, r| r.weak_delivery.clone(),
    },
    Rule {
        kind: Kind::Acknowledgement,
        why: "acknowledges: says received, noted, agreed; or thanks in a short answer to the instructions, the agreement request or an invitation",
        test: |_, c, r| {
            let first_mail = matches!(
                c.answers.as_deref(),
                Some("instructions" | "agreement_request" | "milestone_invite" | "kickoff")
            );
            r.acknowledgement
                .clone()
                .or_else(|| r.thanks.clone().filter(|_| first_mail && r.words <= SHORT))
        },
    },
    Rule {
        kind: Kind::Message,
        why: "any other mail from the contractor on the engagement",
        test: |_, _, _| Some(String::new()),
    },
];

/// What the table decided for one mail.
#[derive(Debug, Clone)]
pub struct Decision {
    pub kind: Kind,
    /// The rule's reason.
    pub why: &'static str,
    /// What its test saw (the words, the header, the report), if anything.
    pub seen: String,
    /// A second thing the same mail is: a delivery or a status report that
    /// also asks something is a question too.
    pub also: Vec<Kind>,
    pub reading: Reading,
}

impl Decision {
    /// The reason with what was seen: "…: “pushed”, a link (https://…)".
    pub fn explained(&self) -> String {
        if self.seen.is_empty() {
            self.why.to_string()
        } else {
            format!("{}: {}", self.why, self.seen)
        }
    }
}

/// The first rule that holds, and what else the mail is.
pub fn classify(f: &Facts, c: &Context) -> Decision {
    let reading = meaning::read(f, c);
    // The last rule always holds, so the search always finds one; the
    // fallback only keeps this total without a panic.
    let (rule, seen) = RULES
        .iter()
        .find_map(|r| (r.test)(f, c, &reading).map(|seen| (r, seen)))
        .unwrap_or((&RULES[RULES.len() - 1], String::new()));
    // A calendar answer may carry a question in its comment ("declined:
    // could we do Thursday instead?"); a counter-proposal's comment asks
    // what the proposal asks, and the owner answers that.
    let also = match rule.kind {
        Kind::Delivery | Kind::StatusReport | Kind::CalendarReply
            if reading.question.is_some() && c.from_contractor =>
        {
            vec![Kind::Question]
        }
        _ => Vec::new(),
    };
    Decision {
        kind: rule.kind,
        why: rule.why,
        seen,
        also,
        reading,
    }
}
