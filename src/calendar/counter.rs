//! The attendee's other iTIP messages (RFC 5546): a COUNTER (§3.2.7, "propose
//! new time" in Outlook, "propose a new time" in Google Calendar) with the
//! dates it proposes, a REFRESH (§3.2.6, "send me the invitation again"),
//! and the organizer's answer to a counter it turns down, DECLINECOUNTER
//! (§3.2.8).
//!
//! Pure parse and build, like the rest of [`crate::calendar`]: whether a
//! proposal is accepted is the owner's decision, taken elsewhere.

use super::reply::{address, calendar_with};
use super::{Party, ReplyError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use icalendar::{
    Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, Property,
};

/// A date or time a calendar proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A whole day (`VALUE=DATE`).
    Date(NaiveDate),
    /// An instant (UTC, or a local time in a zone it names that we know).
    Instant(DateTime<Utc>),
    /// A local time in no zone we can read (the reader's own zone applies).
    Floating(NaiveDateTime),
}

/// Outlook names zones by their Windows names; the ones Handoff's owners
/// and contractors are likeliest to live in, as IANA zones.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Mountain Standard Time", "America/Denver"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("UTC", "UTC"),
];

fn zone(tzid: &str) -> Option<chrono_tz::Tz> {
    let tzid = tzid.trim().trim_matches('"');
    tzid.parse::<chrono_tz::Tz>().ok().or_else(|| {
        WINDOWS_ZONES
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(tzid))
            .and_then(|(_, iana)| iana.parse().ok())
    })
}

fn when(d: DatePerhapsTime) -> When {
    match d {
        DatePerhapsTime::Date(d) => When::Date(d),
        DatePerhapsTime::DateTime(CalendarDateTime::Utc(t)) => When::Instant(t),
        DatePerhapsTime::DateTime(CalendarDateTime::Floating(t)) => When::Floating(t),
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid }) => {
            match zone(&tzid).and_then(|z| z.from_local_datetime(&date_time).earliest()) {
                Some(t) => When::Instant(t.with_timezone(&Utc)),
                None => When::Floating(date_time),
            }
        }
    }
}

/// One proposal in a COUNTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub uid: String,
    /// Who proposes (the ATTENDEE), lower-cased, without `mailto:`.
    pub attendee: String,
    /// The proposed start and end (DTSTART, DTEND).
    pub start: Option<When>,
    pub end: Option<When>,
    /// What they wrote with it (COMMENT), if anything.
    pub comment: Option<String>,
    /// The SEQUENCE the proposal was made against.
    pub sequence: u32,
}

/// One REFRESH: the attendee's calendar asks for the event again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refresh {
    pub uid: String,
    pub attendee: String,
}

fn events(cal: &Calendar) -> impl Iterator<Item = &icalendar::Event> {
    cal.components.iter().filter_map(|c| match c {
        CalendarComponent::Event(e) => Some(e),
        _ => None,
    })
}

fn attendees(ev: &icalendar::Event) -> Vec<String> {
    ev.multi_properties()
        .get("ATTENDEE")
        .into_iter()
        .flatten()
        .map(|a| address(a.value()))
        .collect()
}

/// The proposals in a COUNTER calendar.
pub fn parse_counter(text: &str) -> Result<Vec<Counter>, ReplyError> {
    let cal = calendar_with(text, "COUNTER")?;
    let mut out = Vec::new();
    for ev in events(&cal) {
        let Some(uid) = ev.get_uid() else { continue };
        // A counter names the proposer as its attendee; Google names only
        // them, Outlook may repeat the whole list: the first one proposes.
        let Some(attendee) = attendees(ev).into_iter().next() else {
            continue;
        };
        out.push(Counter {
            uid: uid.to_string(),
            attendee,
            start: ev.get_start().map(when),
            end: ev.get_end().map(when),
            comment: ev
                .property_value("COMMENT")
                .map(|c| c.replace("\\,", ",").replace("\\n", "\n"))
                .filter(|c| !c.trim().is_empty()),
            sequence: ev.get_sequence().unwrap_or(0),
        });
    }
    if out.is_empty() {
        return Err(ReplyError::Empty("COUNTER"));
    }
    Ok(out)
}

/// The events a REFRESH asks for again.
pub fn parse_refresh(text: &str) -> Result<Vec<Refresh>, ReplyError> {
    let cal = calendar_with(text, "REFRESH")?;
    let mut out = Vec::new();
    for ev in events(&cal) {
        let Some(uid) = ev.get_uid() else { continue };
        let Some(attendee) = attendees(ev).into_iter().next() else {
            continue;
        };
        out.push(Refresh {
            uid: uid.to_string(),
            attendee,
        });
    }
    if out.is_empty() {
        return Err(ReplyError::Empty("REFRESH"));
    }
    Ok(out)
}

/// The organizer's DECLINECOUNTER (RFC 5546 §3.2.8) for the event `uid` at
/// its current `sequence`: the proposal is not taken, the event stands.
pub fn decline_counter(
    organizer: &Party,
    attendee: &Party,
    uid: &str,
    sequence: u32,
    comment: &str,
    now: DateTime<Utc>,
) -> String {
    let mut cal = Calendar::new();
    cal.append_property(Property::new("METHOD", "DECLINECOUNTER"));
    cal.append_property(Property::new("PRODID", "-//Handoff//Handoff//EN"));
    let mut ev = icalendar::Event::new();
    ev.uid(uid).sequence(sequence).timestamp(now);
    let mut org = Property::new("ORGANIZER", format!("mailto:{}", organizer.email));
    org.add_parameter("CN", &organizer.name.replace('"', ""));
    ev.append_property(org);
    let mut att = Property::new("ATTENDEE", format!("mailto:{}", attendee.email));
    att.add_parameter("CN", &attendee.name.replace('"', ""));
    ev.append_multi_property(att);
    ev.add_property("COMMENT", comment);
    cal.push(ev.done());
    cal.done().to_string()
}
