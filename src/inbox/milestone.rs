//! Which milestone a reply is about, in this order:
//! 1. the one whose invitation, reminder or notice the reply cites;
//! 2. else the one the new text names (its title as a phrase, or its id as
//!    a word), the first named if several;
//! 3. else, for a delivery, a question or a status report, the earliest
//!    one still open (thanks or a message is about the engagement).
//!
//! For a delivery only a milestone still open for delivery (instructed,
//! acknowledged, sent back for a redo) can be chosen; any other reading may
//! name one already delivered. `--explain` says which rule chose.

use crate::kinds::Kind;
use crate::lifecycle::MilestoneState;
use crate::store::{EngagementRecord, MilestoneRecord};
use crate::templates::lang::fill;
use crate::templates::lang::seen::english;
use crate::words::Words;

/// The milestone chosen, and by which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub id: String,
    /// "cited", "named", "earliest open".
    pub rule: &'static str,
    /// For people: "the reply cites its deadline reminder".
    pub why: String,
}

/// Open for delivery.
pub fn open(state: MilestoneState) -> bool {
    state.awaits_delivery()
}

/// Where in `words` the phrase stands, if it does (whole words).
pub fn names(words: &Words, phrase: &str) -> Option<usize> {
    let p = Words::new(phrase);
    if p.is_empty() || p.len() > words.len() {
        return None;
    }
    words
        .tokens
        .windows(p.len())
        .position(|w| w == p.tokens.as_slice())
}

/// Chooses the milestone a reading of `kind` is about. `cited` is the
/// milestone of the mail the reply cites (with the purpose of that mail).
pub fn choose(
    kind: Kind,
    record: &EngagementRecord,
    cited: Option<(&str, &str)>,
    new_text: &str,
) -> Option<Chosen> {
    let candidates: Vec<&MilestoneRecord> = record
        .milestones
        .iter()
        .filter(|m| !m.removed_from_config && m.state != MilestoneState::Cancelled)
        .filter(|m| kind != Kind::Delivery || open(m.state))
        .collect();
    if let Some((id, purpose)) = cited
        && let Some(m) = candidates.iter().find(|m| m.id == id)
    {
        return Some(Chosen {
            id: m.id.clone(),
            rule: "cited",
            why: fill(english().cited, &[("mail", &purpose.replace('_', " "))]),
        });
    }
    let words = Words::new(new_text);
    let named = candidates
        .iter()
        .filter_map(|m| {
            let at = names(&words, &m.title).or_else(|| names(&words, &m.id))?;
            Some((at, *m))
        })
        .min_by_key(|(at, _)| *at);
    if let Some((_, m)) = named {
        return Some(Chosen {
            id: m.id.clone(),
            rule: "named",
            why: fill(english().named, &[("title", &m.title)]),
        });
    }
    // Thanks or a message is about the engagement, not one milestone.
    if !matches!(kind, Kind::Delivery | Kind::Question | Kind::StatusReport) {
        return None;
    }
    // Milestones come ordered by due date.
    candidates.iter().find(|m| open(m.state)).map(|m| Chosen {
        id: m.id.clone(),
        rule: "earliest open",
        why: english().earliest.into(),
    })
}
