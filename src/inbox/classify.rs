//! The classification rules, as one table read top to bottom: the first rule
//! whose test holds names the mail's kind. `handoff ingest --explain` prints
//! the rule and its reason; the README lists the same table.

use super::parse::Facts;

/// What a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bounce,
    AutoReply,
    CalendarReply,
    OwnerCommand,
    OwnerCommandRejected,
    Unmatched,
    IgnoredSender,
    Delivery,
    StatusReport,
    Question,
    Acknowledgement,
    Message,
}

impl Kind {
    /// A mail the contractor wrote themselves: a sign of life (resets the
    /// silence timer). Auto-replies, bounces and strangers are not.
    pub fn is_genuine(self) -> bool {
        matches!(
            self,
            Kind::CalendarReply
                | Kind::Delivery
                | Kind::StatusReport
                | Kind::Question
                | Kind::Acknowledgement
                | Kind::Message
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bounce => "bounce",
            Kind::AutoReply => "auto_reply",
            Kind::CalendarReply => "calendar_reply",
            Kind::OwnerCommand => "owner_command",
            Kind::OwnerCommandRejected => "owner_command_rejected",
            Kind::Unmatched => "unmatched",
            Kind::IgnoredSender => "ignored_sender",
            Kind::Delivery => "delivery",
            Kind::StatusReport => "status_report",
            Kind::Question => "question",
            Kind::Acknowledgement => "acknowledgement",
            Kind::Message => "message",
        }
    }
}

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
                .is_some_and(|p| p.starts_with("notice_"))
    }
}

fn owner_command_line(f: &Facts) -> bool {
    crate::actions::reply::looks_like_command(crate::actions::reply::first_line(&f.new_text))
}

/// One rule: a kind, why, and the test.
pub struct Rule {
    pub kind: Kind,
    pub why: &'static str,
    pub test: fn(&Facts, &Context) -> bool,
}

/// The table. Order matters: machines first (bounces, auto-replies), then who
/// and what, then what the contractor meant.
pub const RULES: &[Rule] = &[
    Rule {
        kind: Kind::Bounce,
        why: "a delivery status report (multipart/report) or a mail from a mailer daemon",
        test: |f, _| f.delivery_report,
    },
    Rule {
        kind: Kind::AutoReply,
        why: "Auto-Submitted, X-Autoreply or Precedence bulk/auto_reply, or out-of-office wording",
        test: |f, _| f.auto_headers || out_of_office(&f.subject),
    },
    Rule {
        kind: Kind::CalendarReply,
        why: "carries a text/calendar part with METHOD:REPLY",
        test: |f, _| {
            f.calendars
                .iter()
                .any(|c| c.to_ascii_uppercase().contains("METHOD:REPLY"))
        },
    },
    Rule {
        kind: Kind::OwnerCommand,
        why: "from the owner, cites a notice Handoff sent the owner, and its first line is a command: the act is performed",
        test: |f, c| c.from_owner && c.cites_owner_notice() && owner_command_line(f),
    },
    Rule {
        kind: Kind::OwnerCommandRejected,
        why: "from the owner and reads as a command or answers a notice, but does not pass both tests: changes nothing",
        test: |f, c| c.from_owner && (c.cites_owner_notice() || owner_command_line(f)),
    },
    Rule {
        kind: Kind::Unmatched,
        why: "cites no mail Handoff sent and carries no engagement tag from its contractor",
        test: |_, c| c.engagement.is_none(),
    },
    Rule {
        kind: Kind::IgnoredSender,
        why: "on an engagement's thread, but not from its contractor",
        test: |_, c| !c.from_contractor,
    },
    Rule {
        kind: Kind::Delivery,
        why: "has attachments, or says it delivers",
        test: |f, _| {
            f.files > 0
                || says(
                    &f.new_text,
                    &["deliver", "attached", "here is the", "here are the"],
                )
        },
    },
    Rule {
        kind: Kind::StatusReport,
        why: "answers a status request, or says it is a status report",
        test: |f, c| {
            c.answers.as_deref() == Some("status_request") || says(&f.subject, &["status"])
        },
    },
    Rule {
        kind: Kind::Question,
        why: "asks something (a question mark in what they wrote)",
        test: |f, _| f.new_text.contains('?'),
    },
    Rule {
        kind: Kind::Acknowledgement,
        why: "answers the instructions, the agreement request or an invitation",
        test: |_, c| {
            matches!(
                c.answers.as_deref(),
                Some("instructions" | "agreement_request" | "milestone_invite" | "kickoff")
            )
        },
    },
    Rule {
        kind: Kind::Message,
        why: "any other mail from the contractor on the engagement",
        test: |_, _| true,
    },
];

/// The first rule that holds.
pub fn classify(f: &Facts, c: &Context) -> &'static Rule {
    // The last rule always holds, so the search always finds one; the
    // fallback only keeps this total without a panic.
    RULES
        .iter()
        .find(|r| (r.test)(f, c))
        .unwrap_or(&RULES[RULES.len() - 1])
}

fn says(text: &str, words: &[&str]) -> bool {
    let t = text.to_lowercase();
    words.iter().any(|w| t.contains(w))
}

fn out_of_office(subject: &str) -> bool {
    says(
        subject,
        &[
            "out of office",
            "automatic reply",
            "autoreply",
            "abwesenheit",
            "auto:",
        ],
    )
}
