//! Reading a calendar REPLY (RFC 5546 §3.2.3): which event, who, and what
//! they answered. Google Calendar and Outlook both send one VEVENT with the
//! UID, the replying ATTENDEE and its PARTSTAT; Outlook base64-encodes the
//! part, which the mail parser undoes before this sees it.

use icalendar::{Calendar, CalendarComponent, Component};

/// An attendee's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartStat {
    Accepted,
    Declined,
    Tentative,
    /// Anything else (NEEDS-ACTION, DELEGATED, an x-name): recorded as said.
    Other(String),
}

impl PartStat {
    fn parse(s: &str) -> PartStat {
        match s.to_ascii_uppercase().as_str() {
            "ACCEPTED" => PartStat::Accepted,
            "DECLINED" => PartStat::Declined,
            "TENTATIVE" => PartStat::Tentative,
            other => PartStat::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            PartStat::Accepted => "accepted",
            PartStat::Declined => "declined",
            PartStat::Tentative => "tentative",
            PartStat::Other(s) => s,
        }
    }
}

/// One answer found in a REPLY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub uid: String,
    /// The attendee's address, lower-cased, without `mailto:`.
    pub attendee: String,
    pub partstat: PartStat,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("not an iCalendar object: {0}")]
    Parse(String),
    #[error("the calendar's METHOD is {0:?}, not REPLY")]
    NotAReply(Option<String>),
    #[error("the REPLY has no event with a UID and an attendee")]
    Empty,
}

/// The answers in a REPLY calendar.
pub fn parse_reply(text: &str) -> Result<Vec<Reply>, ReplyError> {
    // The crate's parser wants folded lines joined first.
    let unfolded = icalendar::parser::unfold(text);
    let cal: Calendar = unfolded.parse().map_err(ReplyError::Parse)?;
    let method = cal
        .property_value("METHOD")
        .map(|m| m.trim().to_ascii_uppercase());
    if method.as_deref() != Some("REPLY") {
        return Err(ReplyError::NotAReply(method));
    }
    let mut out = Vec::new();
    for c in &cal.components {
        let CalendarComponent::Event(ev) = c else {
            continue;
        };
        let Some(uid) = ev.get_uid() else { continue };
        let attendees = ev.multi_properties().get("ATTENDEE").into_iter().flatten();
        for a in attendees {
            let address = a.value().trim();
            let address = address
                .strip_prefix("mailto:")
                .or_else(|| address.strip_prefix("MAILTO:"))
                .unwrap_or(address)
                .to_ascii_lowercase();
            let partstat = a
                .params()
                .get("PARTSTAT")
                .map(|p| PartStat::parse(p.value()))
                .unwrap_or(PartStat::Other("NEEDS-ACTION".into()));
            out.push(Reply {
                uid: uid.to_string(),
                attendee: address,
                partstat,
            });
        }
    }
    if out.is_empty() {
        return Err(ReplyError::Empty);
    }
    Ok(out)
}
