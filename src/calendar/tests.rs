//! The iCalendar text Handoff builds, and the replies it parses, checked
//! line by line.

use super::*;
use chrono::TimeZone;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn ada() -> Party {
    Party {
        name: "Ada Lovelace".into(),
        email: "ada@example.test".parse().unwrap(),
    }
}

fn meeting(uid: &str, seq: u32, start: DateTime<Utc>) -> CalEvent {
    CalEvent {
        uid: uid.into(),
        sequence: seq,
        summary: "Kickoff: Website".into(),
        description: "30 minutes".into(),
        span: Span::Between(start, start + TimeDelta::minutes(30)),
        attendee: Some(Party {
            name: "Dana Díaz".into(),
            email: "dana@example.test".parse().unwrap(),
        }),
        alarm_before: Some(TimeDelta::minutes(15)),
        tentative: false,
    }
}

/// Unfolded content lines of the component named `name`.
fn lines(ics: &str) -> Vec<String> {
    icalendar::parser::unfold(ics)
        .split("\r\n")
        .map(str::to_string)
        .collect()
}

#[test]
fn a_request_carries_what_clients_need_for_accept_and_decline() {
    let ics = build(
        Method::Request,
        &ada(),
        &[meeting("k1@handoff", 0, t("2026-11-25T14:00:00Z"))],
        t("2026-11-24T09:00:00Z"),
    );
    let l = lines(&ics);
    assert!(
        ics.ends_with("\r\n") && !ics.replace("\r\n", "").contains('\n'),
        "CRLF only"
    );
    for want in [
        "METHOD:REQUEST",
        "UID:k1@handoff",
        "SEQUENCE:0",
        "DTSTAMP:20261124T090000Z",
        "DTSTART:20261125T140000Z",
        "DTEND:20261125T143000Z",
        "STATUS:CONFIRMED",
    ] {
        assert!(l.iter().any(|x| x == want), "{want} missing in\n{ics}");
    }
    let attendee = l
        .iter()
        .find(|x| x.starts_with("ATTENDEE"))
        .expect("attendee");
    for p in [
        "ROLE=REQ-PARTICIPANT",
        "PARTSTAT=NEEDS-ACTION",
        "RSVP=TRUE",
        "CN=Dana Díaz",
    ] {
        assert!(attendee.contains(p), "{p} missing: {attendee}");
    }
    assert!(attendee.ends_with(":mailto:dana@example.test"));
    let organizer = l.iter().find(|x| x.starts_with("ORGANIZER")).unwrap();
    assert_eq!(
        organizer,
        "ORGANIZER;CN=Ada Lovelace:mailto:ada@example.test"
    );
}

#[test]
fn alarms_carry_no_dtstamp_or_uid() {
    let ics = build(
        Method::Request,
        &ada(),
        &[meeting("k1@handoff", 0, t("2026-11-25T14:00:00Z"))],
        t("2026-11-24T09:00:00Z"),
    );
    let l = lines(&ics);
    let begin = l
        .iter()
        .position(|x| x == "BEGIN:VALARM")
        .expect("an alarm");
    let end = l.iter().position(|x| x == "END:VALARM").unwrap();
    let alarm = &l[begin..end];
    assert!(alarm.iter().any(|x| x == "ACTION:DISPLAY"));
    assert!(
        alarm
            .iter()
            .any(|x| x.starts_with("TRIGGER") && x.ends_with(":-PT900S")),
        "{alarm:?}"
    );
    assert!(
        !alarm
            .iter()
            .any(|x| x.starts_with("DTSTAMP") || x.starts_with("UID")),
        "{alarm:?}"
    );
    assert_eq!(l.iter().filter(|x| x.starts_with("UID:")).count(), 1);
}

#[test]
fn a_cancel_keeps_the_uid_raises_the_sequence_and_says_cancelled() {
    let ics = build(
        Method::Cancel,
        &ada(),
        &[meeting("k1@handoff", 2, t("2026-11-25T14:00:00Z"))],
        t("2026-11-26T09:00:00Z"),
    );
    let l = lines(&ics);
    for want in [
        "METHOD:CANCEL",
        "UID:k1@handoff",
        "SEQUENCE:2",
        "STATUS:CANCELLED",
    ] {
        assert!(l.iter().any(|x| x == want), "{want} missing in\n{ics}");
    }
    // It names whom it concerns and asks nothing of them (RFC 5546 §3.2.5).
    let attendee = l.iter().find(|x| x.starts_with("ATTENDEE")).unwrap();
    assert!(
        !attendee.contains("RSVP") && !attendee.contains("PARTSTAT"),
        "{attendee}"
    );
    assert!(attendee.ends_with(":mailto:dana@example.test"));
    assert!(
        !ics.contains("BEGIN:VALARM"),
        "no alarm for a withdrawn event"
    );
}

#[test]
fn a_meeting_keeps_its_local_time_across_dst() {
    // 15:00 in New York on either side of the 14 March 2027 change.
    let ny = chrono_tz::America::New_York;
    let before = ny.with_ymd_and_hms(2027, 3, 10, 15, 0, 0).unwrap().to_utc();
    let after = ny.with_ymd_and_hms(2027, 3, 17, 15, 0, 0).unwrap().to_utc();
    let ics = build(
        Method::Request,
        &ada(),
        &[
            meeting("a@handoff", 0, before),
            meeting("b@handoff", 0, after),
        ],
        t("2027-03-01T00:00:00Z"),
    );
    assert!(
        ics.contains("DTSTART:20270310T200000Z"),
        "EST is UTC-5:\n{ics}"
    );
    assert!(
        ics.contains("DTSTART:20270317T190000Z"),
        "EDT is UTC-4:\n{ics}"
    );
}

#[test]
fn a_milestone_on_a_date_is_an_all_day_event_ending_the_next_day() {
    let mut e = meeting("m@handoff", 0, t("2026-12-05T22:59:59Z"));
    e.span = Span::Day(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap());
    let ics = build(Method::Publish, &ada(), &[e], t("2026-11-24T09:00:00Z"));
    let l = lines(&ics);
    assert!(
        l.iter().any(|x| x == "DTSTART;VALUE=DATE:20261205"),
        "{ics}"
    );
    // DTEND is exclusive (RFC 5545 §3.6.1): equal to DTSTART, Thunderbird
    // shows "December 5 – 4".
    assert!(l.iter().any(|x| x == "DTEND;VALUE=DATE:20261206"), "{ics}");
    assert!(ics.contains("METHOD:PUBLISH"));
}

#[test]
fn a_due_date_is_the_owners_date_wherever_the_reader_is() {
    // The end of 5 December in Los Angeles is already 6 December in UTC
    // (and in Manila): the event stays on the owner's 5 December.
    let la = chrono_tz::America::Los_Angeles;
    let due = la
        .with_ymd_and_hms(2026, 12, 5, 23, 59, 59)
        .unwrap()
        .to_utc();
    assert_eq!(due, t("2026-12-06T07:59:59Z"));
    assert_eq!(
        Span::of_due(due, la),
        Span::Day(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap())
    );
    // A due time is the half-hour ending then.
    let noon = t("2027-01-15T11:00:00Z");
    assert_eq!(
        Span::of_due(noon, chrono_tz::Europe::Berlin),
        Span::Between(noon - TimeDelta::minutes(30), noon)
    );
}

#[test]
fn every_calendar_names_one_product() {
    let ics = build(
        Method::Request,
        &ada(),
        &[meeting("k1@handoff", 0, t("2026-11-25T14:00:00Z"))],
        t("2026-11-24T09:00:00Z"),
    );
    let prodids: Vec<String> = lines(&ics)
        .into_iter()
        .filter(|x| x.starts_with("PRODID"))
        .collect();
    assert_eq!(prodids, ["PRODID:-//Handoff//Handoff//EN"], "{ics}");
    assert!(lines(&ics).iter().any(|x| x == "VERSION:2.0"));
}

#[test]
fn a_tentative_event_says_so() {
    let mut e = meeting("k1@handoff", 0, t("2026-11-25T14:00:00Z"));
    e.tentative = true;
    e.attendee = None;
    let ics = build(Method::Publish, &ada(), &[e], t("2026-11-24T09:00:00Z"));
    assert!(lines(&ics).iter().any(|x| x == "STATUS:TENTATIVE"), "{ics}");
}

#[test]
fn the_strict_reading_refuses_what_clients_would() {
    let good = build(
        Method::Publish,
        &ada(),
        &[meeting("k1@handoff", 0, t("2026-11-25T14:00:00Z"))],
        t("2026-11-24T09:00:00Z"),
    );
    assert_eq!(strict::check(&good), Ok(()));
    // What Handoff wrote before: the crate's PRODID and its own.
    let two = good.replacen(
        "PRODID:-//Handoff//Handoff//EN\r\n",
        "PRODID:ICALENDAR-RS\r\nPRODID:-//Handoff//Handoff//EN\r\n",
        1,
    );
    assert!(strict::check(&two).unwrap_err().contains("PRODID"));
    let ends_at_start = good.replacen("DTEND:20261125T143000Z", "DTEND:20261125T140000Z", 1);
    assert!(strict::check(&ends_at_start).unwrap_err().contains("DTEND"));
    let bare_cr = good.replacen("SUMMARY:Kickoff", "SUMMARY:Kick\roff", 1);
    assert!(strict::check(&bare_cr).is_err());
}

#[test]
fn hostile_text_cannot_add_a_property() {
    let mut e = meeting("m@handoff", 0, t("2026-11-25T14:00:00Z"));
    e.summary = "Wireframes\r\nATTENDEE:mailto:eve@example.test".into();
    e.description = "line\nORGANIZER:mailto:eve@example.test".into();
    let mut evil = ada();
    evil.name = "Ada\";X-EVIL=1:mailto:eve@example.test".into();
    let ics = build(Method::Request, &evil, &[e], t("2026-11-24T09:00:00Z"));
    let l = lines(&ics);
    assert_eq!(
        l.iter().filter(|x| x.starts_with("ATTENDEE")).count(),
        1,
        "{ics}"
    );
    assert_eq!(
        l.iter().filter(|x| x.starts_with("ORGANIZER")).count(),
        1,
        "{ics}"
    );
    assert!(
        !l.iter()
            .any(|x| x.contains("eve@example.test") && x.starts_with("ATTENDEE"))
    );
    let org = l.iter().find(|x| x.starts_with("ORGANIZER")).unwrap();
    assert!(org.ends_with(":mailto:ada@example.test"), "{org}");
}

const GOOGLE_REPLY: &str = "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\nCALSCALE:GREGORIAN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nDTSTART:20261125T140000Z\r\nDTEND:20261125T143000Z\r\nDTSTAMP:20261124T100000Z\r\nORGANIZER;CN=Ada Lovelace:mailto:ada@example.test\r\nUID:website.kickoff.0123456789abcdef@handoff\r\nATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Dana D\r\n ïaz;X-NUM-GUESTS=0:mailto:Dana@Example.test\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\nSUMMARY:Kickoff: Website\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

const OUTLOOK_REPLY: &str = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT=DECLINED:MAILTO:dana@example.test\r\nCOMMENT;LANGUAGE=en-US:Sorry\\, travelling.\r\nUID:website.wireframes.0123456789abcdef@handoff\r\nSUMMARY;LANGUAGE=en-US:Declined: Wireframes\r\nDTSTART;VALUE=DATE:20261205\r\nDTEND;VALUE=DATE:20261206\r\nCLASS:PUBLIC\r\nPRIORITY:5\r\nDTSTAMP:20261124T101010Z\r\nTRANSP:TRANSPARENT\r\nSEQUENCE:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn google_and_outlook_replies_are_read() {
    let g = parse_reply(GOOGLE_REPLY).unwrap();
    assert_eq!(
        g,
        [Reply {
            uid: "website.kickoff.0123456789abcdef@handoff".into(),
            attendee: "dana@example.test".into(),
            partstat: PartStat::Accepted,
            delegated_to: None,
        }]
    );
    let o = parse_reply(OUTLOOK_REPLY).unwrap();
    assert_eq!(o[0].partstat, PartStat::Declined);
    assert_eq!(o[0].attendee, "dana@example.test");
    assert_eq!(o[0].uid, "website.wireframes.0123456789abcdef@handoff");
}

#[test]
fn what_is_not_a_reply_is_refused() {
    let request = build(
        Method::Request,
        &ada(),
        &[meeting("k1@handoff", 0, t("2026-11-25T14:00:00Z"))],
        t("2026-11-24T09:00:00Z"),
    );
    assert_eq!(
        parse_reply(&request),
        Err(ReplyError::NotAReply(Some("REQUEST".into())))
    );
    assert!(matches!(
        parse_reply("not a calendar"),
        Err(ReplyError::Parse(_) | ReplyError::NotAReply(_))
    ));
    let empty = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n";
    assert_eq!(parse_reply(empty), Err(ReplyError::Empty("REPLY")));
}

#[test]
fn long_lines_fold_at_75_octets_and_unfold_to_the_same_text() {
    let mut e = meeting("k1@handoff", 0, t("2026-11-25T14:00:00Z"));
    // Escaping (`\;`, `\,`, `\n`) and two-octet characters both lengthen a
    // line after the crate has folded it.
    e.summary = "Réunion; café, crème\n".repeat(12);
    let ics = build(
        Method::Request,
        &ada(),
        &[e.clone()],
        t("2026-11-24T09:00:00Z"),
    );
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    let parsed: icalendar::Calendar = ics.parse().unwrap();
    let ev = parsed.components[0].as_event().unwrap();
    assert_eq!(ev.get_summary(), Some(e.summary.as_str()));
}
