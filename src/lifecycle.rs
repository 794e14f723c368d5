//! The engagement and milestone state machines: pure transitions, no I/O.
//!
//! Transitions are the only way state changes. The store applies them (writing
//! the new state and an event row in one transaction); everything else asks for
//! an event (`Delivered`, `Accepted`, …) and gets either the next state or an
//! [`IllegalTransition`] that names both sides.
//!
//! ```text
//! engagement:  awaiting_agreement ─agreement_signed─▶ active ─all_milestones_accepted─▶ finished
//!                      └──────────────ended───────────────┴──▶ ended
//! milestone:   planned ─instructions_sent─▶ instructed ─acknowledged─▶ acknowledged
//!              instructed | acknowledged | redo ─delivered─▶ delivered
//!              delivered ─accepted─▶ accepted      delivered ─redo_requested─▶ redo
//!              any state but accepted/cancelled ─cancelled─▶ cancelled
//!              delivered ─delivery_retracted─▶ acknowledged (a misreading corrected)
//!              acknowledged ─acknowledgement_retracted─▶ instructed
//! ```
//!
//! Pure: it imports no other module of Handoff.

use std::fmt;
use std::str::FromStr;

/// A transition that the state machine does not allow.
///
/// It carries names rather than the enums so one type serves both machines;
/// the store adds which engagement or milestone it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply `{event}` to {subject} in state `{state}`")]
pub struct IllegalTransition {
    /// "an engagement" or "a milestone".
    pub subject: &'static str,
    /// The state it was in (its `as_str` name).
    pub state: &'static str,
    /// The event that was refused (its `as_str` name).
    pub event: &'static str,
}

/// A stored name that is not a known state or event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

/// Declares a snake_case-named enum with `as_str`, `Display` and `FromStr`, so
/// the names in the database, the journal and JSON are one list.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { what: $what, value: s.to_string() }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// Where an engagement stands.
    EngagementState, "engagement state" {
        AwaitingAgreement => "awaiting_agreement",
        Active => "active",
        Finished => "finished",
        Ended => "ended",
    }
);

named_enum!(
    /// What can happen to an engagement.
    EngagementEvent, "engagement event" {
        AgreementSigned => "agreement_signed",
        AllMilestonesAccepted => "all_milestones_accepted",
        Ended => "ended",
    }
);

named_enum!(
    /// Where a milestone stands.
    MilestoneState, "milestone state" {
        Planned => "planned",
        Instructed => "instructed",
        Acknowledged => "acknowledged",
        Delivered => "delivered",
        Accepted => "accepted",
        Redo => "redo",
        Cancelled => "cancelled",
    }
);

named_enum!(
    /// What can happen to a milestone.
    MilestoneEvent, "milestone event" {
        InstructionsSent => "instructions_sent",
        Acknowledged => "acknowledged",
        Delivered => "delivered",
        Accepted => "accepted",
        RedoRequested => "redo_requested",
        Cancelled => "cancelled",
        DeliveryRetracted => "delivery_retracted",
        AcknowledgementRetracted => "acknowledgement_retracted",
    }
);

impl EngagementState {
    /// The state after `event`, or why it cannot happen.
    pub fn apply(self, event: EngagementEvent) -> Result<EngagementState, IllegalTransition> {
        use EngagementEvent as E;
        use EngagementState as S;
        match (self, event) {
            (S::AwaitingAgreement, E::AgreementSigned) => Ok(S::Active),
            (S::Active, E::AllMilestonesAccepted) => Ok(S::Finished),
            (S::AwaitingAgreement | S::Active, E::Ended) => Ok(S::Ended),
            _ => Err(IllegalTransition {
                subject: "an engagement",
                state: self.as_str(),
                event: event.as_str(),
            }),
        }
    }

    /// Finished and ended engagements take no more events.
    pub fn is_terminal(self) -> bool {
        matches!(self, EngagementState::Finished | EngagementState::Ended)
    }
}

impl MilestoneState {
    /// The state after `event`, or why it cannot happen.
    pub fn apply(self, event: MilestoneEvent) -> Result<MilestoneState, IllegalTransition> {
        use MilestoneEvent as E;
        use MilestoneState as S;
        match (self, event) {
            (S::Planned, E::InstructionsSent) => Ok(S::Instructed),
            (S::Instructed, E::Acknowledged) => Ok(S::Acknowledged),
            // A contractor may deliver without acknowledging first; a redo is
            // delivered again.
            (S::Instructed | S::Acknowledged | S::Redo, E::Delivered) => Ok(S::Delivered),
            (S::Delivered, E::Accepted) => Ok(S::Accepted),
            (S::Delivered, E::RedoRequested) => Ok(S::Redo),
            // The owner corrects a misreading: what Handoff took for a
            // delivery was not one (the milestone is open again), what it
            // took for an acknowledgement was not one.
            (S::Delivered, E::DeliveryRetracted) => Ok(S::Acknowledged),
            (S::Acknowledged, E::AcknowledgementRetracted) => Ok(S::Instructed),
            (s, E::Cancelled) if !s.is_terminal() => Ok(S::Cancelled),
            _ => Err(IllegalTransition {
                subject: "a milestone",
                state: self.as_str(),
                event: event.as_str(),
            }),
        }
    }

    /// Accepted and cancelled milestones take no more events.
    pub fn is_terminal(self) -> bool {
        matches!(self, MilestoneState::Accepted | MilestoneState::Cancelled)
    }

    /// Open for a delivery: instructed, acknowledged, or sent back for a redo.
    pub fn awaits_delivery(self) -> bool {
        matches!(
            self,
            MilestoneState::Instructed | MilestoneState::Acknowledged | MilestoneState::Redo
        )
    }
}

/// One applied transition, as the store journals it (and returns it, so the
/// caller can react to where the state went, e.g. queue the mail it causes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition<S, E> {
    pub from: S,
    pub event: E,
    pub to: S,
}

/// An applied engagement transition.
pub type EngagementTransition = Transition<EngagementState, EngagementEvent>;

/// An applied milestone transition.
pub type MilestoneTransition = Transition<MilestoneState, MilestoneEvent>;

#[cfg(test)]
mod tests {
    use super::*;
    use EngagementEvent as EE;
    use EngagementState as ES;
    use MilestoneEvent as ME;
    use MilestoneState as MS;

    #[test]
    fn engagement_legal_transitions() {
        assert_eq!(
            ES::AwaitingAgreement.apply(EE::AgreementSigned),
            Ok(ES::Active)
        );
        assert_eq!(
            ES::Active.apply(EE::AllMilestonesAccepted),
            Ok(ES::Finished)
        );
        assert_eq!(ES::AwaitingAgreement.apply(EE::Ended), Ok(ES::Ended));
        assert_eq!(ES::Active.apply(EE::Ended), Ok(ES::Ended));
    }

    #[test]
    fn engagement_illegal_transitions() {
        assert!(ES::Active.apply(EE::AgreementSigned).is_err());
        assert!(
            ES::AwaitingAgreement
                .apply(EE::AllMilestonesAccepted)
                .is_err()
        );
        for terminal in [ES::Finished, ES::Ended] {
            for e in EE::ALL {
                assert!(terminal.apply(*e).is_err(), "{terminal} took {e}");
            }
        }
        let err = ES::Ended.apply(EE::AgreementSigned).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot apply `agreement_signed` to an engagement in state `ended`"
        );
    }

    #[test]
    fn milestone_happy_path_and_redo_loop() {
        let mut s = MS::Planned;
        for (e, want) in [
            (ME::InstructionsSent, MS::Instructed),
            (ME::Acknowledged, MS::Acknowledged),
            (ME::Delivered, MS::Delivered),
            (ME::RedoRequested, MS::Redo),
            (ME::Delivered, MS::Delivered),
            (ME::Accepted, MS::Accepted),
        ] {
            s = s.apply(e).unwrap();
            assert_eq!(s, want);
        }
    }

    #[test]
    fn milestone_delivery_without_acknowledgement_is_legal() {
        assert_eq!(MS::Instructed.apply(ME::Delivered), Ok(MS::Delivered));
    }

    #[test]
    fn milestone_illegal_transitions() {
        assert!(MS::Planned.apply(ME::Delivered).is_err());
        assert!(MS::Planned.apply(ME::Acknowledged).is_err());
        assert!(MS::Instructed.apply(ME::Accepted).is_err());
        assert!(MS::Acknowledged.apply(ME::RedoRequested).is_err());
        assert!(MS::Delivered.apply(ME::InstructionsSent).is_err());
        for terminal in [MS::Accepted, MS::Cancelled] {
            for e in ME::ALL {
                assert!(terminal.apply(*e).is_err(), "{terminal} took {e}");
            }
        }
        let err = MS::Planned.apply(ME::Delivered).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot apply `delivered` to a milestone in state `planned`"
        );
    }

    #[test]
    fn every_non_terminal_milestone_can_be_cancelled() {
        for s in MS::ALL.iter().filter(|s| !s.is_terminal()) {
            assert_eq!(s.apply(ME::Cancelled), Ok(MS::Cancelled), "{s}");
        }
    }

    /// The whole table: exactly these (state, event) pairs are legal, with
    /// these results; every other pair of the 12 engagement and 56 milestone
    /// pairs is refused and names its state and event.
    #[test]
    fn the_transition_tables_are_exactly_these() {
        let engagement = [
            (ES::AwaitingAgreement, EE::AgreementSigned, ES::Active),
            (ES::Active, EE::AllMilestonesAccepted, ES::Finished),
            (ES::AwaitingAgreement, EE::Ended, ES::Ended),
            (ES::Active, EE::Ended, ES::Ended),
        ];
        for s in ES::ALL {
            for e in EE::ALL {
                let legal = engagement
                    .iter()
                    .find(|(from, ev, _)| from == s && ev == e)
                    .map(|(_, _, to)| *to);
                match (s.apply(*e), legal) {
                    (Ok(got), Some(want)) => assert_eq!(got, want, "{s} -{e}->"),
                    (Err(err), None) => {
                        assert_eq!((err.state, err.event), (s.as_str(), e.as_str()))
                    }
                    (got, want) => panic!("{s} -{e}-> {got:?}, expected {want:?}"),
                }
            }
        }

        let milestone = [
            (MS::Planned, ME::InstructionsSent, MS::Instructed),
            (MS::Instructed, ME::Acknowledged, MS::Acknowledged),
            (MS::Instructed, ME::Delivered, MS::Delivered),
            (MS::Acknowledged, ME::Delivered, MS::Delivered),
            (MS::Redo, ME::Delivered, MS::Delivered),
            (MS::Delivered, ME::Accepted, MS::Accepted),
            (MS::Delivered, ME::RedoRequested, MS::Redo),
            (MS::Planned, ME::Cancelled, MS::Cancelled),
            (MS::Instructed, ME::Cancelled, MS::Cancelled),
            (MS::Acknowledged, ME::Cancelled, MS::Cancelled),
            (MS::Delivered, ME::Cancelled, MS::Cancelled),
            (MS::Redo, ME::Cancelled, MS::Cancelled),
            (MS::Delivered, ME::DeliveryRetracted, MS::Acknowledged),
            (
                MS::Acknowledged,
                ME::AcknowledgementRetracted,
                MS::Instructed,
            ),
        ];
        for s in MS::ALL {
            for e in ME::ALL {
                let legal = milestone
                    .iter()
                    .find(|(from, ev, _)| from == s && ev == e)
                    .map(|(_, _, to)| *to);
                match (s.apply(*e), legal) {
                    (Ok(got), Some(want)) => assert_eq!(got, want, "{s} -{e}->"),
                    (Err(err), None) => {
                        assert_eq!((err.state, err.event), (s.as_str(), e.as_str()))
                    }
                    (got, want) => panic!("{s} -{e}-> {got:?}, expected {want:?}"),
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in ES::ALL {
            assert_eq!(s.as_str().parse::<ES>(), Ok(*s));
        }
        for e in EE::ALL {
            assert_eq!(e.as_str().parse::<EE>(), Ok(*e));
        }
        for s in MS::ALL {
            assert_eq!(s.as_str().parse::<MS>(), Ok(*s));
        }
        for e in ME::ALL {
            assert_eq!(e.as_str().parse::<ME>(), Ok(*e));
        }
        assert!("done".parse::<MS>().is_err());
    }
}
