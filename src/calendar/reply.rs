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
    /// The attendee passed the invitation on (RFC 5545 §3.2.12), to
    /// [`Reply::delegated_to`].
    Delegated,
    /// Anything else (NEEDS-ACTION, an x-name): recorded as said.
    Other(String),
}

impl PartStat {
    fn parse(s: &str) -> PartStat {
        match s.to_ascii_uppercase().as_str() {
            "ACCEPTED" => PartStat::Accepted,
            "DECLINED" => PartStat::Declined,
            "TENTATIVE" => PartStat::Tentative,
            "DELEGATED" => PartStat::Delegated,
            other => PartStat::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            PartStat::Accepted => "accepted",
            PartStat::Declined => "declined",
            PartStat::Tentative => "tentative",
            PartStat::Delegated => "delegated",
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
    /// For [`PartStat::Delegated`]: to whom (DELEGATED-TO, lower-cased,
    /// without `mailto:`).
    pub delegated_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("not an iCalendar object: {0}")]
    Parse(String),
    #[error("the calendar's METHOD is {0:?}, not REPLY")]
    NotAReply(Option<String>),
    #[error("the calendar's METHOD is {found:?}, not {expected}")]
    WrongMethod {
        expected: &'static str,
        found: Option<String>,
    },
    #[error("the {0} has no event with a UID and an attendee")]
    Empty(&'static str),
}

/// A calendar, parsed, whose METHOD is `expected`.
pub(super) fn calendar_with(text: &str, expected: &'static str) -> Result<Calendar, ReplyError> {
    // The crate's parser wants folded lines joined first.
    let unfolded = icalendar::parser::unfold(text);
    let cal: Calendar = unfolded.parse().map_err(ReplyError::Parse)?;
    let method = cal
        .property_value("METHOD")
        .map(|m| m.trim().to_ascii_uppercase());
    if method.as_deref() != Some(expected) {
        return Err(if expected == "REPLY" {
            ReplyError::NotAReply(method)
        } else {
            ReplyError::WrongMethod {
                expected,
                found: method,
            }
        });
    }
    Ok(cal)
}

/// `mailto:Dana@Example.test` → `dana@example.test`.
pub(super) fn address(value: &str) -> String {
    let value = value.trim();
    value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map_or(value, |_| &value[7..])
        .trim_matches('"')
        .to_ascii_lowercase()
}

/// The answers in a REPLY calendar.
pub fn parse_reply(text: &str) -> Result<Vec<Reply>, ReplyError> {
    let cal = calendar_with(text, "REPLY")?;
    let mut out = Vec::new();
    for c in &cal.components {
        let CalendarComponent::Event(ev) = c else {
            continue;
        };
        let Some(uid) = ev.get_uid() else { continue };
        let attendees = ev.multi_properties().get("ATTENDEE").into_iter().flatten();
        for a in attendees {
            let partstat = a
                .params()
                .get("PARTSTAT")
                .map(|p| PartStat::parse(p.value()))
                .unwrap_or(PartStat::Other("NEEDS-ACTION".into()));
            let delegated_to = a.params().get("DELEGATED-TO").map(|p| address(p.value()));
            out.push(Reply {
                uid: uid.to_string(),
                attendee: address(a.value()),
                partstat,
                delegated_to,
            });
        }
    }
    if out.is_empty() {
        return Err(ReplyError::Empty("REPLY"));
    }
    Ok(out)
}
