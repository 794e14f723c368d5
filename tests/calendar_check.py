#!/usr/bin/env python3
"""Independent check of a Handoff invitation mail, with Python's own parsers.

    calendar_check.py MAIL.eml METHOD

Parses the mail with `email`, finds the one text/calendar part (in the
alternative) and the invite.ics attachment, reads the calendar strictly
(calendar_strict.py: icalendar, ical, vobject, and the RFC rules clients rely
on), and checks what iMIP clients need. Prints {"uid":..., "sequence":...,
"status":..., "dtstart":..., "dtend":...} as JSON; exits 1 with the reason on
the first failed check.
"""
import email
import email.policy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calendar_strict  # noqa: E402
import icalendar  # noqa: E402


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main():
    path, method = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    if msg.get_content_type() != "multipart/mixed":
        fail(f"top level is {msg.get_content_type()}, expected multipart/mixed")
    # Every text/calendar part is an invitation to a client (Thunderbird
    # shows one block per part): there must be exactly one, in the alternative.
    calendars = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    if len(calendars) != 1:
        fail(f"{len(calendars)} text/calendar parts; clients would show each as an invitation")
    alternative = [p for p in msg.iter_parts() if p.get_content_type() == "multipart/alternative"]
    if len(alternative) != 1:
        fail("expected one multipart/alternative")
    inline = [p for p in alternative[0].iter_parts() if p.get_content_type() == "text/calendar"]
    if len(inline) != 1:
        fail("expected the text/calendar part in the alternative")
    part = inline[0]
    if part.get_param("method") != method:
        fail(f"Content-Type method is {part.get_param('method')!r}, expected {method!r}")
    if (part.get_content_charset() or "").lower() != "utf-8":
        fail("the calendar part must say charset=UTF-8")
    attached = [p for p in msg.iter_parts() if p.get_filename() == "invite.ics"]
    if len(attached) != 1:
        fail("expected the calendar attached as invite.ics too")
    if attached[0].get_content_type() != "application/ics":
        fail(f"invite.ics is {attached[0].get_content_type()}, expected application/ics")
    if attached[0].get("Content-Transfer-Encoding", "").lower() != "base64":
        fail("invite.ics must be base64, so no store or relay changes its line ends")
    # A text part's line breaks are CRLF in canonical form (RFC 2046 §4.1.1),
    # whatever the transfer encoding's decoder gives back.
    text = part.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    try:
        calendar_strict.check(text)
    except calendar_strict.Refused as e:
        fail(f"strict reading: {e}")
    cal = icalendar.Calendar.from_ical(text)
    if str(cal.get("METHOD")) != method:
        fail(f"METHOD is {cal.get('METHOD')!r}")
    if attached[0].get_content().decode("utf-8") != text:
        fail("the attachment differs from the inline calendar")
    events = list(cal.walk("VEVENT"))
    if len(events) != 1:
        fail(f"expected one VEVENT, found {len(events)}")
    ev = events[0]
    for prop in ("UID", "DTSTAMP", "SEQUENCE", "ORGANIZER", "DTSTART", "DTEND", "SUMMARY"):
        if prop not in ev:
            fail(f"VEVENT lacks {prop}")
    attendees = ev.get("ATTENDEE")
    if attendees is None:
        fail("VEVENT lacks ATTENDEE")
    if not isinstance(attendees, list):
        attendees = [attendees]
    want = {"ROLE": "REQ-PARTICIPANT"}
    if method == "REQUEST":
        want.update({"RSVP": "TRUE", "PARTSTAT": "NEEDS-ACTION"})
    for a in attendees:
        for param, value in want.items():
            if str(a.params.get(param)) != value:
                fail(f"ATTENDEE {a} has {param}={a.params.get(param)!r}, expected {value}")
        if method == "CANCEL" and "RSVP" in a.params:
            fail(f"a CANCEL asks {a} for an RSVP")
    print(json.dumps({
        "uid": str(ev["UID"]),
        "sequence": int(ev["SEQUENCE"]),
        "status": str(ev.get("STATUS", "")),
        "organizer": str(ev["ORGANIZER"]),
        "attendees": [str(a) for a in attendees],
        "dtstart": ev["DTSTART"].to_ical().decode(),
        "dtend": ev["DTEND"].to_ical().decode(),
    }))


main()
