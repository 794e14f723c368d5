//! The frame of the acts that write their own transaction ([`super::counter`],
//! [`super::delivered`], [`super::correct`]): what each is given, and the
//! outcome it returns. The other acts gather a [`super::Plan`] instead.

use super::{ActionError, ActionOutcome, Origin, OwnerAction, refused_verb};
use crate::model::{Engagement, Model};
use crate::outbox::Composer;
use crate::store::{EngagementRecord, NewEvent, StoreError, Tx};
use chrono::{DateTime, Utc};

/// What an act of its own kind ([`counter`], [`delivered`], [`correct`])
/// is given: the engagement as configured and as stored, how the act came,
/// its journal event begun (kind, direction, engagement, Message-ID).
pub(crate) struct Act<'a> {
    pub model: &'a Model,
    pub composer: &'a Composer<'a>,
    pub e: &'a Engagement,
    pub record: EngagementRecord,
    pub origin: Origin,
    pub event: NewEvent,
    pub now: DateTime<Utc>,
}

/// Work an act runs inside its transaction (the inbox records the reply).
pub(crate) type Also<'a> = Box<dyn FnOnce(&Tx<'_>) -> Result<(), StoreError> + 'a>;

impl Act<'_> {
    /// The milestone the reply's cited notice was about, if any.
    pub fn cited_milestone(&self) -> Option<String> {
        match &self.origin {
            Origin::Reply { milestone, .. } => milestone.clone(),
            Origin::Command => None,
        }
    }

    /// A milestone the owner named, checked to exist.
    pub fn known(&self, m: String) -> Result<String, ActionError> {
        if self.record.milestones.iter().any(|r| r.id == m) {
            return Ok(m);
        }
        Err(ActionError::UnknownMilestone {
            engagement: self.e.id.clone(),
            milestone: m,
            known: self
                .record
                .milestones
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The outcome, once the act's transaction committed.
    pub fn done(
        &self,
        milestone: Option<String>,
        queued: Vec<String>,
        summary: String,
    ) -> ActionOutcome {
        tracing::info!(engagement = %self.e.id, kind = %self.event.kind, "owner act recorded");
        ActionOutcome {
            kind: OwnerAction::kind_name(&self.event.kind),
            engagement: self.e.id.clone(),
            milestone,
            queued,
            summary,
        }
    }
}

/// Refusals of a transition become the act's refusal.
pub(crate) fn refused(err: StoreError) -> ActionError {
    match err {
        StoreError::IllegalTransition { what, source } => ActionError::Refused(format!(
            "{what} is `{}`: cannot {}",
            source.state,
            refused_verb(source.event)
        )),
        other => ActionError::Store(other),
    }
}
