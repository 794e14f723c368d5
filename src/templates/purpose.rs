//! The kinds of mail Handoff sends, and what each one is: for whom, how
//! urgent, whether it concerns a milestone.

/// The kinds of mail Handoff sends. The name is the template file's stem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    AgreementRequest,
    Instructions,
    Kickoff,
    MilestoneInvite,
    InviteCancel,
    DeadlineReminder,
    OverdueNotice,
    StatusRequest,
    EvaluationFeedback,
    NoticeDelivery,
    NoticeRecheck,
    NoticeQuestion,
    NoticeBounce,
    NoticeSilence,
    NoticeEvaluationDue,
    NoticePaymentDue,
    NoticeSendFailed,
    NoticeDeclined,
    DeliveryAccepted,
    RedoRequest,
    NoticeBudget,
    NoticeConfigError,
    NoticeInboxDown,
    NoticeSignIn,
    Digest,
    AgreementReminder,
    Escalation,
    NoticeUnanswered,
    NoticeOverdue,
    NoticeStatusMissing,
    NoticeOverdueAtStart,
    ClosingNote,
    NoticeClosingReview,
    NoticeCounter,
    NoticeDelegated,
    CounterDeclined,
}

impl Purpose {
    pub const ALL: &'static [Purpose] = &[
        Purpose::AgreementRequest,
        Purpose::Instructions,
        Purpose::Kickoff,
        Purpose::MilestoneInvite,
        Purpose::InviteCancel,
        Purpose::DeadlineReminder,
        Purpose::OverdueNotice,
        Purpose::StatusRequest,
        Purpose::EvaluationFeedback,
        Purpose::NoticeDelivery,
        Purpose::NoticeRecheck,
        Purpose::NoticeQuestion,
        Purpose::NoticeBounce,
        Purpose::NoticeSilence,
        Purpose::NoticeEvaluationDue,
        Purpose::NoticePaymentDue,
        Purpose::NoticeSendFailed,
        Purpose::NoticeDeclined,
        Purpose::DeliveryAccepted,
        Purpose::RedoRequest,
        Purpose::NoticeBudget,
        Purpose::NoticeConfigError,
        Purpose::NoticeInboxDown,
        Purpose::NoticeSignIn,
        Purpose::Digest,
        Purpose::AgreementReminder,
        Purpose::Escalation,
        Purpose::NoticeUnanswered,
        Purpose::NoticeOverdue,
        Purpose::NoticeStatusMissing,
        Purpose::NoticeOverdueAtStart,
        Purpose::ClosingNote,
        Purpose::NoticeClosingReview,
        Purpose::NoticeCounter,
        Purpose::NoticeDelegated,
        Purpose::CounterDeclined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::AgreementRequest => "agreement_request",
            Purpose::Instructions => "instructions",
            Purpose::Kickoff => "kickoff",
            Purpose::MilestoneInvite => "milestone_invite",
            Purpose::InviteCancel => "invite_cancel",
            Purpose::DeadlineReminder => "deadline_reminder",
            Purpose::OverdueNotice => "overdue_notice",
            Purpose::StatusRequest => "status_request",
            Purpose::EvaluationFeedback => "evaluation_feedback",
            Purpose::NoticeDelivery => "notice_delivery",
            Purpose::NoticeRecheck => "notice_recheck",
            Purpose::NoticeQuestion => "notice_question",
            Purpose::NoticeBounce => "notice_bounce",
            Purpose::NoticeSilence => "notice_silence",
            Purpose::NoticeEvaluationDue => "notice_evaluation_due",
            Purpose::NoticePaymentDue => "notice_payment_due",
            Purpose::NoticeSendFailed => "notice_send_failed",
            Purpose::NoticeDeclined => "notice_declined",
            Purpose::DeliveryAccepted => "delivery_accepted",
            Purpose::RedoRequest => "redo_request",
            Purpose::NoticeBudget => "notice_budget",
            Purpose::NoticeConfigError => "notice_config_error",
            Purpose::NoticeInboxDown => "notice_inbox_down",
            Purpose::NoticeSignIn => "notice_sign_in",
            Purpose::Digest => "digest",
            Purpose::AgreementReminder => "agreement_reminder",
            Purpose::Escalation => "escalation",
            Purpose::NoticeUnanswered => "notice_unanswered",
            Purpose::NoticeOverdue => "notice_overdue",
            Purpose::NoticeStatusMissing => "notice_status_missing",
            Purpose::NoticeOverdueAtStart => "notice_overdue_at_start",
            Purpose::ClosingNote => "closing_note",
            Purpose::NoticeClosingReview => "notice_closing_review",
            Purpose::NoticeCounter => "notice_counter",
            Purpose::NoticeDelegated => "notice_delegated",
            Purpose::CounterDeclined => "counter_declined",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        Purpose::ALL.iter().copied().find(|p| p.as_str() == s)
    }

    /// Owner notices go to the owner (marked `Auto-Submitted`); the rest go to
    /// the contractor.
    pub fn is_owner_notice(self) -> bool {
        self.as_str().starts_with("notice_")
            || matches!(
                self,
                Purpose::Digest | Purpose::AgreementReminder | Purpose::Escalation
            )
    }

    /// Owner notices that cannot wait for a digest: something only the owner
    /// can answer or fix (with `policy.owner_notices = "digest"`, the rest
    /// wait for the digest).
    pub fn is_urgent(self) -> bool {
        matches!(
            self,
            Purpose::NoticeQuestion
                | Purpose::NoticeBounce
                | Purpose::NoticeDeclined
                | Purpose::NoticeCounter
                | Purpose::NoticeDelegated
                | Purpose::NoticeSendFailed
                | Purpose::NoticeConfigError
                | Purpose::NoticeInboxDown
                | Purpose::NoticeSignIn
        )
    }

    /// Whether the mail is about one milestone (and needs one in its context).
    pub fn needs_milestone(self) -> bool {
        matches!(
            self,
            Purpose::DeadlineReminder
                | Purpose::MilestoneInvite
                | Purpose::OverdueNotice
                | Purpose::NoticeDelivery
                | Purpose::DeliveryAccepted
                | Purpose::RedoRequest
                | Purpose::Escalation
                | Purpose::NoticeOverdue
                | Purpose::CounterDeclined
        )
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
