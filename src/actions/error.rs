//! Why an act was refused, one variant per kind of reason; the CLI turns
//! each into one line and an exit code.

use crate::outbox::ComposeError;
use crate::store::StoreError;

/// Why an act was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no engagement `{engagement}` in the config; expected one of: {known}")]
    UnknownEngagement { engagement: String, known: String },
    #[error("{engagement} has no milestone `{milestone}`; expected one of: {known}")]
    UnknownMilestone {
        engagement: String,
        milestone: String,
        known: String,
    },
    #[error("{engagement} has {count} delivered milestones ({list}): name one")]
    AmbiguousMilestone {
        engagement: String,
        count: String,
        list: String,
    },
    #[error("{engagement} has no delivered milestone to {verb}")]
    NothingDelivered {
        engagement: String,
        verb: &'static str,
    },
    #[error("{0}")]
    Refused(String),
    #[error("the score must be 1 to 5, not {0}")]
    BadScore(u8),
    #[error("{engagement}'s budget is in {budget}; a payment of {paid} cannot count against it")]
    CurrencyMismatch {
        engagement: String,
        paid: String,
        budget: String,
    },
    #[error("{0} has no unanswered question")]
    NoQuestion(String),
    #[error("{engagement}: the new date {date} is not in the future; expected a date still ahead")]
    PastDate { engagement: String, date: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("composing the mail: {0}")]
    Compose(#[from] ComposeError),
}

impl ActionError {
    /// Whether the request itself was wrong (exit 2), as opposed to the
    /// state not allowing it or a failure (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ActionError::UnknownEngagement { .. }
                | ActionError::PastDate { .. }
                | ActionError::UnknownMilestone { .. }
                | ActionError::AmbiguousMilestone { .. }
                | ActionError::BadScore(_)
                | ActionError::CurrencyMismatch { .. }
        )
    }
}
