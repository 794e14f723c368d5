#!/usr/bin/env python3
"""The strict reading of every calendar Handoff writes in the test suite.

    calendar_strict.py FILE.ics...     check files; exit 1 with the reason on the first refusal
    calendar_strict.py --serve         check calendars sent on stdin, one verdict line each

Three independent parsers read each calendar, and all must accept it:
- `icalendar` (lenient: what most Python tools use),
- `ical` (strict, pydantic-validated RFC 5545: refuses e.g. a second PRODID),
- `vobject` with `validate(raiseException=True)` (counts every property against
  RFC 5545's cardinalities).
Then the rules no parser enforces but every client relies on:
- CRLF line ends, no content line over 75 octets (RFC 5545 §3.1);
- one PRODID and VERSION:2.0 (§3.6);
- DTEND later than DTSTART, and of the same value type (§3.6.1: an all-day
  event ends the next day; DTEND equal to DTSTART makes Thunderbird show
  "December 5 - 4");
- no VALARM with a UID or DTSTAMP (§3.6.6 allows neither);
- a CANCEL asks nobody to answer (no RSVP=TRUE; RFC 5546 §3.2.5).

`--serve` protocol (the Rust helper in src/calendar/strict.rs speaks it): the
client writes a decimal byte count, a newline, then that many bytes of UTF-8
calendar text; the server answers one line of JSON, {"ok": true} or
{"ok": false, "error": "..."}. EOF on stdin ends the server, so it never
outlives the test process that started it.
"""
import datetime
import io
import json
import sys

try:
    import icalendar
    import vobject
    from ical.calendar_stream import IcsCalendarStream
except ImportError as e:  # pragma: no cover - a setup problem, said plainly
    print(json.dumps({"ok": False, "error": f"{e}: run tests/run, which installs icalendar, ical and vobject"}))
    sys.exit(2)


class Refused(Exception):
    pass


def unfolded(text):
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")


def check_lines(text):
    if not text.endswith("\r\n"):
        raise Refused("the calendar must end with CRLF")
    if "\n" in text.replace("\r\n", "") or "\r" in text.replace("\r\n", ""):
        raise Refused("a bare CR or LF: content lines end with CRLF (RFC 5545 §3.1)")
    for line in text.split("\r\n"):
        if len(line.encode("utf-8")) > 75:
            raise Refused(f"a content line over 75 octets is not folded (RFC 5545 §3.1): {line!r}")
    lines = unfolded(text)
    depth = 0
    top = []
    for line in lines:
        if line.startswith("BEGIN:"):
            depth += 1
        elif line.startswith("END:"):
            depth -= 1
        elif depth == 1:
            top.append(line.split(":", 1)[0].split(";", 1)[0].upper())
    if top.count("PRODID") != 1:
        raise Refused(f"{top.count('PRODID')} PRODID properties; RFC 5545 §3.6 wants exactly one")
    if top.count("VERSION") != 1:
        raise Refused("exactly one VERSION is required (RFC 5545 §3.6)")


def as_instant(value):
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.combine(value, datetime.time(), tzinfo=datetime.timezone.utc)


def check_semantics(cal):
    if str(cal.get("VERSION")) != "2.0":
        raise Refused(f"VERSION is {cal.get('VERSION')!r}, expected 2.0")
    method = str(cal.get("METHOD", ""))
    for ev in cal.walk("VEVENT"):
        uid = str(ev.get("UID", ""))
        for prop in ("UID", "DTSTAMP", "DTSTART"):
            if prop not in ev:
                raise Refused(f"VEVENT {uid!r} lacks {prop}")
        start = ev.decoded("DTSTART")
        if "DTEND" in ev:
            end = ev.decoded("DTEND")
            if isinstance(start, datetime.datetime) != isinstance(end, datetime.datetime):
                raise Refused(f"VEVENT {uid!r}: DTSTART and DTEND differ in value type")
            if as_instant(end) <= as_instant(start):
                raise Refused(f"VEVENT {uid!r}: DTEND {end} is not later than DTSTART {start} (RFC 5545 §3.6.1)")
        for alarm in ev.walk("VALARM"):
            for prop in ("DTSTAMP", "UID"):
                if prop in alarm:
                    raise Refused(f"VEVENT {uid!r}: a VALARM carries {prop} (RFC 5545 §3.6.6)")
        if method == "CANCEL":
            attendees = ev.get("ATTENDEE", [])
            if not isinstance(attendees, list):
                attendees = [attendees]
            for a in attendees:
                if str(a.params.get("RSVP", "")).upper() == "TRUE":
                    raise Refused(f"VEVENT {uid!r}: a CANCEL asks {a} for an RSVP")


def check(text):
    check_lines(text)
    try:
        cal = icalendar.Calendar.from_ical(text)
    except Exception as e:
        raise Refused(f"icalendar: {e}")
    try:
        IcsCalendarStream.calendar_from_ics(text)
    except Exception as e:
        raise Refused(f"ical (strict): {e}")
    try:
        vobject.readOne(io.StringIO(text)).validate(raiseException=True)
    except Exception as e:
        raise Refused(f"vobject (validated): {e}")
    check_semantics(cal)


def serve():
    stdin = sys.stdin.buffer
    while True:
        header = stdin.readline()
        if not header:
            return
        n = int(header.strip())
        text = stdin.read(n).decode("utf-8")
        try:
            check(text)
            verdict = {"ok": True}
        except Refused as e:
            verdict = {"ok": False, "error": str(e)}
        except Exception as e:  # a checker bug must not look like a pass
            verdict = {"ok": False, "error": f"checker failed: {type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(verdict) + "\n")
        sys.stdout.flush()


def main():
    if sys.argv[1:] == ["--serve"]:
        serve()
        return
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        try:
            check(text)
        except Refused as e:
            print(f"{path}: {e}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
