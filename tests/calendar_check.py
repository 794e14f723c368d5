#!/usr/bin/env python3
"""Independent check of a Handoff invitation mail, with Python's own parsers.

    calendar_check.py MAIL.eml METHOD

Parses the mail with `email`, finds the inline text/calendar part (and the
invite.ics attachment), parses the calendar with the `icalendar` package, and
checks what iMIP clients need. Prints {"uid":..., "sequence":..., "status":...}
as JSON; exits 1 with the reason on the first failed check.
"""
import email
import email.policy
import json
import sys

import icalendar


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main():
    path, method = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    if msg.get_content_type() != "multipart/mixed":
        fail(f"top level is {msg.get_content_type()}, expected multipart/mixed")
    alternative = [p for p in msg.iter_parts() if p.get_content_type() == "multipart/alternative"]
    if len(alternative) != 1:
        fail("expected one multipart/alternative")
    inline = [p for p in alternative[0].iter_parts() if p.get_content_type() == "text/calendar"]
    if len(inline) != 1:
        fail("expected one inline text/calendar part in the alternative")
    part = inline[0]
    if part.get_param("method") != method:
        fail(f"Content-Type method is {part.get_param('method')!r}, expected {method!r}")
    if (part.get_content_charset() or "").lower() != "utf-8":
        fail("the calendar part must say charset=UTF-8")
    attached = [p for p in msg.iter_parts() if p.get_filename() == "invite.ics"]
    if len(attached) != 1:
        fail("expected the calendar attached as invite.ics too")
    cal = icalendar.Calendar.from_ical(part.get_content())
    if str(cal.get("METHOD")) != method:
        fail(f"METHOD is {cal.get('METHOD')!r}")
    if icalendar.Calendar.from_ical(attached[0].get_content()).to_ical() != cal.to_ical():
        fail("the attachment differs from the inline calendar")
    events = list(cal.walk("VEVENT"))
    if len(events) != 1:
        fail(f"expected one VEVENT, found {len(events)}")
    ev = events[0]
    for prop in ("UID", "DTSTAMP", "SEQUENCE", "ORGANIZER", "DTSTART", "SUMMARY"):
        if prop not in ev:
            fail(f"VEVENT lacks {prop}")
    attendees = ev.get("ATTENDEE")
    if attendees is None:
        fail("VEVENT lacks ATTENDEE")
    if not isinstance(attendees, list):
        attendees = [attendees]
    for a in attendees:
        for param, want in (("RSVP", "TRUE"), ("PARTSTAT", "NEEDS-ACTION"), ("ROLE", "REQ-PARTICIPANT")):
            if str(a.params.get(param)) != want:
                fail(f"ATTENDEE {a} has {param}={a.params.get(param)!r}, expected {want}")
    for alarm in ev.walk("VALARM"):
        for prop in ("DTSTAMP", "UID"):
            if prop in alarm:
                fail(f"VALARM carries {prop}, which RFC 5545 does not allow there")
    print(json.dumps({
        "uid": str(ev["UID"]),
        "sequence": int(ev["SEQUENCE"]),
        "status": str(ev.get("STATUS", "")),
        "organizer": str(ev["ORGANIZER"]),
        "attendees": [str(a) for a in attendees],
    }))


main()
