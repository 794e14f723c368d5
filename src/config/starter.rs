//! The starter config `handoff init` writes: the shipped example
//! ([`super::EXAMPLE`], the reference the tests pin their clock to) with its
//! dates moved so that work starts today, in the owner's zone.
//!
//! A first run of the example as shipped would invite the contractor to a
//! kickoff and deadlines already behind us once its dates have passed; the
//! starter keeps the example's shape (signed three weeks ago, the kickoff
//! the next day, the milestones 11 and 52 days on) counted from today, with
//! the kickoff and the milestones on working days. Only the values of
//! `agreement_signed`, `starts`, `kickoff` and `due` change, in place, so
//! the comments stay where they are.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Utc, Weekday};

/// The example with its dates counted from `now`'s date in the example
/// owner's zone.
pub fn starter(now: DateTime<Utc>) -> String {
    let example = super::EXAMPLE;
    let tz: chrono_tz::Tz = owner_zone(example)
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let today = now.with_timezone(&tz).date_naive();
    // The example's own `starts` is day 0 of its timeline.
    let Some(day0) = example
        .lines()
        .find_map(|l| value_of(l, "starts"))
        .and_then(|(_, v, _)| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
    else {
        return example.to_string();
    };
    let shift = |d: NaiveDate, working_day: bool| {
        let moved = today + (d - day0);
        if working_day {
            next_working_day(moved)
        } else {
            moved
        }
    };
    let mut out = format!(
        "# Written by `handoff init` on {today}: the example config, its dates counted from today.\n"
    );
    for line in example.lines() {
        let moved = ["agreement_signed", "starts", "kickoff", "due"]
            .iter()
            .find_map(|key| {
                let (head, value, tail) = value_of(line, key)?;
                let working_day = matches!(*key, "kickoff" | "due");
                let new = if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                    shift(d, working_day).format("%Y-%m-%d").to_string()
                } else {
                    let t = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").ok()?;
                    shift(t.date(), working_day)
                        .and_time(t.time())
                        .format("%Y-%m-%dT%H:%M:%S")
                        .to_string()
                };
                Some(format!("{head}{new}{tail}"))
            });
        out.push_str(moved.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// `key = VALUE rest` on a line that is not a comment: (everything up to the
/// value, the value, the rest of the line).
fn value_of<'a>(line: &'a str, key: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let body = line.trim_start();
    let after_key = body.strip_prefix(key)?;
    let after_eq = after_key.trim_start().strip_prefix('=')?;
    let value_start = line.len() - after_eq.trim_start().len();
    let rest = &line[value_start..];
    let value_len = rest
        .find(|c: char| c.is_whitespace() || c == '#')
        .unwrap_or(rest.len());
    Some((&line[..value_start], &rest[..value_len], &rest[value_len..]))
}

/// The `timezone` of the `[owner]` table.
fn owner_zone(example: &str) -> Option<&str> {
    let mut in_owner = false;
    for line in example.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_owner = t == "[owner]";
            continue;
        }
        if in_owner && let Some((_, v, _)) = value_of(line, "timezone") {
            return Some(v.trim_matches('"'));
        }
    }
    None
}

fn next_working_day(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d + TimeDelta::days(2),
        Weekday::Sun => d + TimeDelta::days(1),
        _ => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EXAMPLE, parse};
    use std::path::Path;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn the_starter_starts_today_and_every_event_is_ahead_on_a_working_day() {
        // A Tuesday, a Friday evening, a Sunday, New Year's Eve late in
        // Berlin (already the 1st there), a leap day, and today.
        let today = Utc::now().to_rfc3339();
        for now in [
            "2026-11-24T09:00:00Z",
            "2027-03-26T19:30:00Z",
            "2027-10-31T12:00:00Z",
            "2031-12-31T23:30:00Z",
            "2032-02-29T06:00:00Z",
            today.as_str(),
        ] {
            let now = t(now);
            let text = starter(now);
            let loaded = parse(Path::new("handoff.toml"), &text, Path::new("/tmp"), None)
                .unwrap_or_else(|e| panic!("{now}: {e:?}\n{text}"));
            // `handoff check` clean: not even a warning.
            assert!(loaded.warnings.is_empty(), "{now}: {:?}", loaded.warnings);
            let m = &loaded.model;
            let tz = m.owner.timezone;
            let e = &m.engagements[0];
            let local_today = now.with_timezone(&tz).date_naive();
            assert_eq!(e.starts, local_today, "{now}: work starts today");
            assert!(
                e.agreement_signed.is_some_and(|s| s < e.starts),
                "{now}: signed before it starts"
            );
            let kickoff = e.kickoff.expect("a kickoff");
            assert!(kickoff > now, "{now}: the kickoff {kickoff} is ahead");
            let mut events = vec![kickoff];
            events.extend(e.milestones.iter().map(|m| m.due));
            for at in events {
                assert!(at > now, "{now}: {at} is ahead");
                let wd = at.with_timezone(&tz).weekday();
                assert!(
                    !matches!(wd, Weekday::Sat | Weekday::Sun),
                    "{now}: {at} falls on a {wd}"
                );
            }
        }
    }

    #[test]
    fn only_the_dates_differ_from_the_example() {
        let text = starter(t("2031-07-14T10:00:00Z"));
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("# Written by `handoff init` on 2031-07-14")
        );
        let changed: Vec<(&str, &str)> =
            EXAMPLE.lines().zip(lines).filter(|(a, b)| a != b).collect();
        assert_eq!(
            changed,
            [
                (
                    "agreement_signed = 2026-11-02          # absent = not signed: only the agreement request goes out",
                    "agreement_signed = 2031-06-22          # absent = not signed: only the agreement request goes out"
                ),
                ("starts = 2026-11-24", "starts = 2031-07-14"),
                (
                    "kickoff = 2026-11-25T15:00:00          # owner's zone; a 30-minute call",
                    "kickoff = 2031-07-15T15:00:00          # owner's zone; a 30-minute call"
                ),
                (
                    "due = 2026-12-05                       # a date (end of that day, owner's zone) or a local date-time",
                    "due = 2031-07-25                       # a date (end of that day, owner's zone) or a local date-time"
                ),
                ("due = 2027-01-15T12:00:00", "due = 2031-09-04T12:00:00"),
            ]
        );
    }
}
