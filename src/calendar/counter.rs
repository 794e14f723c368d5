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
    Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, EventLike, Property,
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
            // COMMENT may repeat (RFC 5545 §3.8.1.4): the crate keeps it
            // among the multi-properties.
            comment: ev
                .property_value("COMMENT")
                .or_else(|| {
                    ev.multi_properties()
                        .get("COMMENT")
                        .and_then(|v| v.first())
                        .map(|p| p.value())
                })
                .map(|c| {
                    c.replace("\\,", ",")
                        .replace("\\;", ";")
                        .replace("\\n", "\n")
                })
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
/// its current `sequence`: the proposal is not taken, the event stands at
/// `span`. The event's own DTSTART/DTEND go with it: §3.2.8 does not ask for
/// them, but strict readers refuse an event without a start, and a client
/// can show the date that stands.
pub fn decline_counter(
    organizer: &Party,
    attendee: &Party,
    uid: &str,
    sequence: u32,
    span: super::Span,
    comment: &str,
    now: DateTime<Utc>,
) -> String {
    // As `build` writes a calendar: one PRODID (the crate's `new` adds its
    // own), folded after escaping.
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("PRODID", "-//Handoff//Handoff//EN"));
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.append_property(Property::new("METHOD", "DECLINECOUNTER"));
    let mut ev = icalendar::Event::new();
    ev.uid(uid).sequence(sequence).timestamp(now);
    match span {
        super::Span::Day(d) => {
            ev.starts(d).ends(d.succ_opt().unwrap_or(d));
        }
        super::Span::Between(a, b) => {
            ev.starts(a).ends(b);
        }
    }
    let mut org = Property::new("ORGANIZER", format!("mailto:{}", organizer.email));
    org.add_parameter("CN", &super::param_text(&organizer.name));
    ev.append_property(org);
    let mut att = Property::new("ATTENDEE", format!("mailto:{}", attendee.email));
    att.add_parameter("CN", &super::param_text(&attendee.name));
    ev.append_multi_property(att);
    ev.add_property("COMMENT", super::value_text(comment));
    cal.push(ev.done());
    let text = super::fold(&cal.done().to_string());
    #[cfg(test)]
    super::strict::assert_strict(&text);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(name: &str, email: &str) -> Party {
        Party {
            name: name.into(),
            email: email.parse().unwrap(),
        }
    }

    #[test]
    fn a_declinecounter_names_the_event_and_reads_strictly() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
            .unwrap()
            .to_utc();
        let ics = decline_counter(
            &party("Ada Lovelace", "ada@example.test"),
            &party("Dana Díaz", "dana@example.test"),
            "website-wireframes-1@handoff",
            2,
            super::super::Span::Day(chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()),
            "The date stays Sat 5 Dec 2026.",
            now,
        );
        assert!(ics.contains("METHOD:DECLINECOUNTER\r\n"), "{ics}");
        assert!(ics.contains("UID:website-wireframes-1@handoff\r\n"));
        assert!(ics.contains("SEQUENCE:2\r\n"));
        assert_eq!(ics.matches("PRODID").count(), 1);
        assert!(ics.contains("DTSTART;VALUE=DATE:20261205\r\n"), "{ics}");
    }

    #[test]
    fn outlook_and_google_counters_are_read() {
        let outlook = "BEGIN:VCALENDAR\r\nMETHOD:COUNTER\r\nPRODID:Microsoft Exchange Server 2010\r\n\
            VERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nEND:VTIMEZONE\r\n\
            BEGIN:VEVENT\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:Dana@Example.test\r\n\
            COMMENT;LANGUAGE=en-US:Could we do Thursday\\, please?\r\nUID:k1@handoff\r\n\
            DTSTART;TZID=W. Europe Standard Time:20261126T140000\r\n\
            DTEND;TZID=W. Europe Standard Time:20261126T143000\r\nDTSTAMP:20261124T120000Z\r\n\
            SEQUENCE:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let c = parse_counter(outlook).unwrap();
        assert_eq!(c[0].attendee, "dana@example.test");
        assert_eq!(c[0].sequence, 1);
        assert_eq!(
            c[0].comment.as_deref(),
            Some("Could we do Thursday, please?")
        );
        let berlin_14h = DateTime::parse_from_rfc3339("2026-11-26T13:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(c[0].start, Some(When::Instant(berlin_14h)));
        let refresh = "BEGIN:VCALENDAR\r\nMETHOD:REFRESH\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
            UID:k1@handoff\r\nATTENDEE:mailto:dana@example.test\r\nDTSTAMP:20261124T120000Z\r\n\
            END:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(parse_refresh(refresh).unwrap()[0].uid, "k1@handoff");
        assert!(matches!(
            parse_counter(refresh),
            Err(ReplyError::WrongMethod {
                expected: "COUNTER",
                ..
            })
        ));
    }
}
