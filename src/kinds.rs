//! What an incoming mail is: the one vocabulary the journal, `handoff
//! ingest`, `handoff correct` and the reply corpus's labels share.
//!
//! Pure, and low in the flow, so the store's readers and the schedule can
//! ask [`Kind::is_genuine`] ("did the contractor write this themselves?")
//! of a journal kind without reaching into the inbox, which decides the
//! kind ([`crate::inbox::classify`]).

/// What a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A delivery report with a recipient `failed` and a 5.x.x status: mail
    /// to the contractor is held.
    Bounce,
    /// A delivery report that is not a hard failure (`delayed`, 4.x.x): it
    /// holds nothing and tells the owner nothing.
    DeliveryDelayed,
    /// A read receipt (RFC 8098), or a delivery receipt: not a bounce, not
    /// an acknowledgement.
    ReadReceipt,
    AutoReply,
    CalendarReply,
    /// `METHOD:COUNTER`: the contractor proposes another date.
    CalendarCounter,
    /// `METHOD:REFRESH`: the contractor's calendar asks for the invitation again.
    CalendarRefresh,
    OwnerCommand,
    OwnerCommandRejected,
    Unmatched,
    IgnoredSender,
    /// The From is not exactly one well-formed address.
    Unparseable,
    Delivery,
    StatusReport,
    Question,
    Acknowledgement,
    Message,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Bounce,
        Kind::DeliveryDelayed,
        Kind::ReadReceipt,
        Kind::AutoReply,
        Kind::CalendarReply,
        Kind::CalendarCounter,
        Kind::CalendarRefresh,
        Kind::OwnerCommand,
        Kind::OwnerCommandRejected,
        Kind::Unmatched,
        Kind::IgnoredSender,
        Kind::Unparseable,
        Kind::Delivery,
        Kind::StatusReport,
        Kind::Question,
        Kind::Acknowledgement,
        Kind::Message,
    ];

    /// A mail the contractor wrote themselves: a sign of life. A calendar
    /// answer, counter-proposal or refresh is theirs (a person clicked);
    /// auto-replies, receipts, delivery reports, strangers and mail without
    /// a clear sender are not.
    pub fn is_genuine(self) -> bool {
        matches!(
            self,
            Kind::CalendarReply
                | Kind::CalendarCounter
                | Kind::CalendarRefresh
                | Kind::Delivery
                | Kind::StatusReport
                | Kind::Question
                | Kind::Acknowledgement
                | Kind::Message
        )
    }

    /// The journal names of the genuine kinds.
    pub fn genuine_names() -> impl Iterator<Item = &'static str> {
        Kind::ALL
            .iter()
            .filter(|k| k.is_genuine())
            .map(|k| k.as_str())
    }

    /// A kind the owner may say a mail was instead (`handoff correct`):
    /// what a contractor's or a machine's mail can be read as.
    pub fn is_reading(self) -> bool {
        !matches!(
            self,
            Kind::OwnerCommand | Kind::OwnerCommandRejected | Kind::Unmatched | Kind::Unparseable
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bounce => "bounce",
            Kind::DeliveryDelayed => "delivery_delayed",
            Kind::ReadReceipt => "read_receipt",
            Kind::AutoReply => "auto_reply",
            Kind::CalendarReply => "calendar_reply",
            Kind::CalendarCounter => "calendar_counter",
            Kind::CalendarRefresh => "calendar_refresh",
            Kind::OwnerCommand => "owner_command",
            Kind::OwnerCommandRejected => "owner_command_rejected",
            Kind::Unmatched => "unmatched",
            Kind::IgnoredSender => "ignored_sender",
            Kind::Unparseable => "unparseable",
            Kind::Delivery => "delivery",
            Kind::StatusReport => "status_report",
            Kind::Question => "question",
            Kind::Acknowledgement => "acknowledgement",
            Kind::Message => "message",
        }
    }

    /// The kind with this journal name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name_and_reads_back() {
        let mut names = std::collections::BTreeSet::new();
        for k in Kind::ALL {
            assert!(names.insert(k.as_str()), "{k} twice");
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Kind::parse("nope"), None);
    }

    #[test]
    fn only_what_the_contractor_wrote_is_genuine() {
        let genuine: Vec<&str> = Kind::genuine_names().collect();
        for k in [
            "calendar_counter",
            "calendar_refresh",
            "message",
            "delivery",
        ] {
            assert!(genuine.contains(&k), "{k}");
        }
        for k in [
            "read_receipt",
            "delivery_delayed",
            "bounce",
            "auto_reply",
            "unparseable",
        ] {
            assert!(!genuine.contains(&k), "{k}");
        }
    }
}
