//! iCalendar out and in, and nothing else: the text of invitations (iMIP,
//! RFC 6047) for milestones and meetings, their updates and cancellations,
//! the owner's feed, the parsing of the contractor's replies,
//! counter-proposals and refresh requests, and the organizer's
//! DECLINECOUNTER.
//!
//! Pure build and parse: this module reads no store, queues no mail and
//! decides nothing. Which events exist is decided upstream ([`crate::invite`]
//! for invitations, [`crate::schedule`] for the feed); what a reply means for
//! an engagement is the inbox's business. It must not import the store, the
//! outbox, the schedule or the inbox.
//!
//! Built with the `icalendar` crate. Times go out in UTC (`…Z`): every client
//! shows them in the reader's zone, and since Handoff turns a local time into
//! an instant with the zone's rules for that very date, a 15:00 meeting in
//! New York stays 15:00 there on both sides of a DST change, without a
//! VTIMEZONE (which the crate cannot build). A milestone due "on a date" (the
//! end of that day in the owner's zone) is an all-day event on that date, the
//! owner's date, whatever the reader's zone ([`Span::of_due`]); it ends the
//! next day, since DTEND is exclusive (RFC 5545 §3.6.1).
//!
//! What the crate emits is checked, not trusted: `Calendar::new()` adds a
//! PRODID of its own (a second one makes strict parsers refuse the whole
//! calendar), so [`build`] starts from an empty calendar; and the crate adds a
//! DTSTAMP and a random UID to every component lacking one, VALARM included,
//! where RFC 5545 §3.6.6 allows neither, so [`build`] removes them from
//! alarms. In the test suite every calendar [`build`] returns is read by
//! strict parsers too (`strict`).

mod counter;
mod reply;
#[cfg(test)]
pub(crate) mod strict;

pub use counter::{Counter, Refresh, When, decline_counter, parse_counter, parse_refresh};
pub use reply::{PartStat, Reply, ReplyError, parse_reply};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, EventStatus, Property, Trigger};
use lettre::Address;

/// The iTIP method (RFC 5546 §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An invitation, or an update of one (same UID, higher SEQUENCE).
    Request,
    /// The event is withdrawn.
    Cancel,
    /// A plain feed, nobody invited (the owner's .ics).
    Publish,
    /// An attendee's answer (RFC 5546 §3.2.3).
    Reply,
    /// An attendee proposes a change (§3.2.7).
    Counter,
    /// The organizer turns a proposal down (§3.2.8).
    DeclineCounter,
    /// An attendee asks for the latest version of the event (§3.2.6).
    Refresh,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
            Method::Publish => "PUBLISH",
            Method::Reply => "REPLY",
            Method::Counter => "COUNTER",
            Method::DeclineCounter => "DECLINECOUNTER",
            Method::Refresh => "REFRESH",
        }
    }
}

/// When an event happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// A whole day (a milestone due on a date).
    Day(NaiveDate),
    /// From one instant to another (a meeting, a milestone due at a time).
    Between(DateTime<Utc>, DateTime<Utc>),
}

impl Span {
    /// The event of something due at `due`: a due *date* is read as the end
    /// of that day (23:59:59) in the owner's zone `tz`, and is an all-day
    /// event on the owner's date, even where the reader's date is already
    /// the next one; a due *time* is the half-hour ending then.
    pub fn of_due(due: DateTime<Utc>, tz: chrono_tz::Tz) -> Span {
        let local = due.with_timezone(&tz);
        if local.time() == NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN) {
            Span::Day(local.date_naive())
        } else {
            Span::Between(due - TimeDelta::minutes(30), due)
        }
    }
}

/// A person in a calendar: name and address.
#[derive(Debug, Clone)]
pub struct Party {
    pub name: String,
    pub email: Address,
}

/// One event to emit.
#[derive(Debug, Clone)]
pub struct CalEvent {
    /// Stable for the event's whole life (kept in the store).
    pub uid: String,
    /// Raised by every change (RFC 5545 §3.8.7.4).
    pub sequence: u32,
    pub summary: String,
    pub description: String,
    pub span: Span,
    /// Invited (RSVP requested); `None` in the owner's feed.
    pub attendee: Option<Party>,
    /// A display alarm this long before the start.
    pub alarm_before: Option<TimeDelta>,
    /// Planned but not certain (`STATUS:TENTATIVE`): in the owner's feed,
    /// the events of an engagement whose agreement is not signed yet.
    pub tentative: bool,
}

/// The iCalendar text (CRLF line ends) for `events` under `method`.
pub fn build(method: Method, organizer: &Party, events: &[CalEvent], now: DateTime<Utc>) -> String {
    // Empty, not `Calendar::new()`: that one carries the crate's own PRODID,
    // and RFC 5545 §3.6 allows one.
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("PRODID", "-//Handoff//Handoff//EN"));
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.append_property(Property::new("METHOD", method.as_str()));
    for e in events {
        let summary = value_text(&e.summary);
        let mut ev = Event::new();
        ev.uid(&e.uid)
            .sequence(e.sequence)
            .timestamp(now)
            .summary(&summary)
            .description(&value_text(&e.description));
        match e.span {
            Span::Day(d) => {
                // DTEND is exclusive (RFC 5545 §3.6.1): a one-day event ends
                // the next day. (The crate's `all_day` writes DTEND = DTSTART,
                // which Thunderbird shows as "December 5 – 4".)
                ev.starts(d).ends(d.succ_opt().unwrap_or(d));
            }
            Span::Between(a, b) => {
                ev.starts(a).ends(b);
            }
        }
        let mut organizer_prop = Property::new("ORGANIZER", format!("mailto:{}", organizer.email));
        organizer_prop.add_parameter("CN", &param_text(&organizer.name));
        ev.append_property(organizer_prop);
        if let Some(a) = &e.attendee {
            let mut p = Property::new("ATTENDEE", format!("mailto:{}", a.email));
            p.add_parameter("CN", &param_text(&a.name));
            p.add_parameter("ROLE", "REQ-PARTICIPANT");
            // A cancellation names whom it concerns and asks nothing of them
            // (RFC 5546 §3.2.5): no PARTSTAT to set, no RSVP to send.
            if method != Method::Cancel {
                p.add_parameter("PARTSTAT", "NEEDS-ACTION");
                p.add_parameter("RSVP", "TRUE");
            }
            ev.append_multi_property(p);
        }
        match method {
            Method::Cancel => {
                ev.status(EventStatus::Cancelled);
            }
            _ => {
                ev.status(if e.tentative {
                    EventStatus::Tentative
                } else {
                    EventStatus::Confirmed
                });
                if let Some(before) = e.alarm_before {
                    let trigger = Trigger::before_start(
                        chrono::Duration::try_seconds(before.num_seconds()).unwrap_or_default(),
                    );
                    ev.alarm(Alarm::display(&summary, trigger));
                }
            }
        }
        cal.push(ev.done());
    }
    let text = fold(&strip_alarm_extras(&cal.done().to_string()));
    #[cfg(test)]
    strict::assert_strict(&text);
    text
}

/// A TEXT value as RFC 5545 §3.3.11 allows it: no control characters but
/// the line break (which the crate escapes as `\n`) and the tab. The crate
/// escapes `\n` but writes a CR as it is, which would end the content line
/// early: every line break becomes one `\n`.
pub(super) fn value_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// Parameter values are quoted by the crate; a `"` cannot be quoted in
/// iCalendar at all (RFC 5545 §3.2), so it is dropped.
pub(super) fn param_text(s: &str) -> String {
    s.chars().filter(|c| *c != '"' && !c.is_control()).collect()
}

/// Folds every content line to at most 75 octets (RFC 5545 §3.1), on
/// character boundaries. The crate folds before it escapes, so a value with
/// `;`, `,` or line breaks comes out with lines a few octets too long, which
/// strict readers refuse: its folding is undone and done again here.
pub(super) fn fold(ics: &str) -> String {
    let unfolded = icalendar::parser::unfold(ics);
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 64);
    for line in unfolded.split_terminator("\r\n") {
        let mut room = 75;
        for c in line.chars() {
            if c.len_utf8() > room {
                out.push_str("\r\n ");
                room = 74;
            }
            out.push(c);
            room -= c.len_utf8();
        }
        out.push_str("\r\n");
    }
    out
}

/// Removes the DTSTAMP and UID lines the crate adds inside VALARM.
fn strip_alarm_extras(ics: &str) -> String {
    let mut out = String::with_capacity(ics.len());
    let mut in_alarm = false;
    for line in ics.split_inclusive("\r\n") {
        let bare = line.trim_end_matches("\r\n");
        match bare {
            "BEGIN:VALARM" => in_alarm = true,
            "END:VALARM" => in_alarm = false,
            _ if in_alarm && (bare.starts_with("DTSTAMP:") || bare.starts_with("UID:")) => continue,
            _ => {}
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests;
