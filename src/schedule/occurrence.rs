//! When a crontab schedule fires, correct across daylight-saving changes.
//!
//! The cron crate iterates in the schedule's zone itself, and gets both
//! transition days wrong (measured: a daily 02:30 in Europe/Berlin is skipped
//! on 2027-03-28 and fires twice on 2027-10-31). So Handoff iterates the
//! schedule over *local wall-clock times* (naive times, carried in a UTC frame
//! where no time is skipped or repeated), and maps each local time to an
//! instant itself:
//!
//! - a local time that does not exist (the spring gap) fires at the next
//!   valid instant, the moment the clocks jump (02:30 → 03:00 local);
//! - a local time that exists twice (the autumn repeat) fires once, at the
//!   earlier instant.
//!
//! Mapped this way, later local times never give earlier instants, so the
//! instants stay in order and a duplicate (two gap times mapped to the same
//! instant) is simply dropped.

use crate::model::Schedule;
use crate::templates::Shape;
use chrono::{
    DateTime, LocalResult, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// The longest daylight-saving jump in the tz database is 2 hours (plus
/// historical oddities of 30 minutes): a gap is always shorter than this.
const LONGEST_GAP: i64 = 24 * 60;

/// The instant a local wall-clock time means in `tz`: the earlier one if it
/// happens twice, the next valid minute if it falls in a gap.
pub fn local_to_instant(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // Walk forward to the first local minute that exists: the moment
            // the clocks jumped. Gaps are at most a few hours, so this ends
            // quickly; the fallback only guards against a broken zone table.
            let start = local
                .with_second(0)
                .and_then(|l| l.with_nanosecond(0))
                .unwrap_or(local);
            for m in 1..=LONGEST_GAP {
                let probe = start + TimeDelta::minutes(m);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            local.and_utc()
        }
    }
}

/// Occurrences of `s` in `(after, until]`, in order, at most `limit` of them.
pub fn between(
    s: &Schedule,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    // Start an hour or so early in local terms: a local time just before
    // `after`'s local time can map to an instant after `after` (the gap), and
    // the repeated hour can put `after`'s local time ahead of a later instant.
    let from_local = after.with_timezone(&s.timezone).naive_local() - TimeDelta::hours(3);
    let mut last: Option<DateTime<Utc>> = None;
    for naive in s.cron.after(&from_local.and_utc()) {
        let at = local_to_instant(naive.naive_utc(), s.timezone);
        if at > until {
            break;
        }
        if at <= after || last.is_some_and(|l| at <= l) {
            continue;
        }
        out.push(at);
        last = Some(at);
        if out.len() >= limit {
            break;
        }
    }
    out
}

/// The first occurrence strictly after `t`.
pub fn next_after(s: &Schedule, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let from_local = t.with_timezone(&s.timezone).naive_local() - TimeDelta::hours(3);
    s.cron
        .after(&from_local.and_utc())
        .map(|naive| local_to_instant(naive.naive_utc(), s.timezone))
        .find(|at| *at > t)
}

/// What can be said of `s` in words (see [`crate::templates::Shape`]): one
/// time of day every day, on some weekdays, or on one day of the month;
/// anything else by its next three occurrences after `now`.
pub fn shape(s: &Schedule, now: DateTime<Utc>) -> Shape {
    use cron::TimeUnitSpec;
    let minutes: Vec<u32> = s.cron.minutes().iter().collect();
    let hours: Vec<u32> = s.cron.hours().iter().collect();
    let days_of_month: Vec<u32> = s.cron.days_of_month().iter().collect();
    // The cron crate numbers weekdays 1 (Sunday) to 7 (Saturday).
    let days_of_week: Vec<u32> = s.cron.days_of_week().iter().collect();
    let every_month = s.cron.months().iter().count() == 12;
    let time = match (minutes.as_slice(), hours.as_slice()) {
        ([m], [h]) => NaiveTime::from_hms_opt(*h, *m, 0),
        _ => None,
    };
    let all_days = days_of_month.len() == 31;
    let all_weekdays = days_of_week.len() == 7;
    let said = match time {
        Some(t) if every_month && all_days && all_weekdays => Some(Shape::Daily(t)),
        Some(t) if every_month && all_days => {
            let mut days: Vec<Weekday> = days_of_week
                .iter()
                .filter_map(|n| Weekday::try_from(u8::try_from((n + 5) % 7).ok()?).ok())
                .collect();
            days.sort_by_key(|d| d.num_days_from_monday());
            Some(Shape::Weekly(days, t))
        }
        // Past the 28th, "every month" would not be true of February.
        Some(t) if every_month && all_weekdays => match days_of_month.as_slice() {
            [d] if *d <= 28 => Some(Shape::Monthly(*d, t)),
            _ => None,
        },
        _ => None,
    };
    said.unwrap_or_else(|| {
        let mut next = Vec::new();
        let mut after = now;
        while next.len() < 3 {
            let Some(t) = next_after(s, after) else { break };
            next.push(t);
            after = t;
        }
        Shape::Next(next)
    })
}

/// The latest occurrence at or before `t`: what a schedule "owes" at `t`
/// (after downtime, only this one fires).
pub fn latest_at_or_before(s: &Schedule, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Iterate backwards from a little after `t`'s local time (the repeated
    // hour can make a later local time still be ≤ t), and take the first that
    // maps to an instant ≤ t.
    let from_local = t.with_timezone(&s.timezone).naive_local() + TimeDelta::hours(3);
    s.cron
        .after(&from_local.and_utc())
        .rev()
        .map(|naive| local_to_instant(naive.naive_utc(), s.timezone))
        .find(|at| *at <= t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(line: &str, tz: Tz) -> Schedule {
        crate::config::schedule(line, tz).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn local(at: DateTime<Utc>, tz: Tz) -> String {
        at.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// Occurrences on one local day.
    fn on_day(s: &Schedule, day: &str) -> Vec<String> {
        let from = t(&format!("{day}T00:00:00Z")) - TimeDelta::days(1);
        between(s, from, from + TimeDelta::days(3), 100)
            .into_iter()
            .map(|at| local(at, s.timezone))
            .filter(|l| l.starts_with(day))
            .collect()
    }

    #[test]
    fn berlin_spring_gap_fires_once_at_the_jump() {
        let s = schedule("30 2 * * *", chrono_tz::Europe::Berlin);
        assert_eq!(on_day(&s, "2027-03-28"), ["2027-03-28 03:00 CEST"]);
        assert_eq!(on_day(&s, "2027-03-29"), ["2027-03-29 02:30 CEST"]);
        assert_eq!(on_day(&s, "2027-03-27"), ["2027-03-27 02:30 CET"]);
    }

    #[test]
    fn berlin_autumn_repeat_fires_once_the_earlier() {
        let s = schedule("30 2 * * *", chrono_tz::Europe::Berlin);
        assert_eq!(on_day(&s, "2027-10-31"), ["2027-10-31 02:30 CEST"]);
        assert_eq!(
            between(&s, t("2027-10-30T12:00:00Z"), t("2027-11-01T12:00:00Z"), 10),
            [t("2027-10-31T00:30:00Z"), t("2027-11-01T01:30:00Z")]
        );
    }

    #[test]
    fn new_york_both_transitions() {
        let s = schedule("30 2 * * *", chrono_tz::America::New_York);
        assert_eq!(on_day(&s, "2027-03-14"), ["2027-03-14 03:00 EDT"]);
        assert_eq!(on_day(&s, "2027-11-07"), ["2027-11-07 02:30 EST"]);
        // 01:30 happens twice in New York on 2027-11-07: once, the earlier.
        let s = schedule("30 1 * * *", chrono_tz::America::New_York);
        assert_eq!(on_day(&s, "2027-11-07"), ["2027-11-07 01:30 EDT"]);
    }

    #[test]
    fn the_cron_crate_alone_gets_the_transitions_wrong() {
        // The reason this module exists: keep it honest.
        let s = schedule("30 2 * * *", chrono_tz::Europe::Berlin);
        let tz = chrono_tz::Europe::Berlin;
        let from = t("2027-03-27T12:00:00Z").with_timezone(&tz);
        let crate_says: Vec<_> = s.cron.after(&from).take(2).collect();
        assert_eq!(crate_says[0].format("%d %H:%M").to_string(), "29 02:30");
    }

    #[test]
    fn next_and_latest_agree_with_between() {
        let s = schedule("0 9 * * MON", chrono_tz::Europe::Berlin);
        let now = t("2027-03-31T12:00:00Z");
        assert_eq!(
            latest_at_or_before(&s, now),
            Some(t("2027-03-29T07:00:00Z"))
        );
        assert_eq!(next_after(&s, now), Some(t("2027-04-05T07:00:00Z")));
        // Exactly at an occurrence: it is the latest, and not the next.
        let at = t("2027-04-05T07:00:00Z");
        assert_eq!(latest_at_or_before(&s, at), Some(at));
        assert_eq!(next_after(&s, at), Some(t("2027-04-12T07:00:00Z")));
        // Across the autumn repeat, the latest is the one (earlier) firing.
        let d = schedule("30 2 * * *", chrono_tz::Europe::Berlin);
        assert_eq!(
            latest_at_or_before(&d, t("2027-10-31T01:45:00Z")),
            Some(t("2027-10-31T00:30:00Z"))
        );
        assert_eq!(
            latest_at_or_before(&d, t("2027-03-28T01:10:00Z")),
            Some(t("2027-03-28T01:00:00Z"))
        );
    }

    #[test]
    fn a_schedule_is_said_by_its_shape_or_its_next_three_times() {
        use chrono::Weekday::*;
        let ny = chrono_tz::America::New_York;
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let now = t("2026-11-24T12:00:00Z");
        let of = |line: &str| shape(&schedule(line, ny), now);
        assert_eq!(of("0 9 * * MON"), Shape::Weekly(vec![Mon], nine));
        assert_eq!(of("0 9 * * 0,1"), Shape::Weekly(vec![Mon, Sun], nine));
        assert_eq!(
            of("0 9 * * 1-5"),
            Shape::Weekly(vec![Mon, Tue, Wed, Thu, Fri], nine)
        );
        assert_eq!(of("0 9 * * *"), Shape::Daily(nine));
        assert_eq!(of("0 9 1 * *"), Shape::Monthly(1, nine));
        let Shape::Next(times) = of("0 9 1 */3 *") else {
            panic!("a quarterly schedule has no short phrase")
        };
        assert_eq!(
            times,
            [
                t("2027-01-01T14:00:00Z"),
                t("2027-04-01T13:00:00Z"),
                t("2027-07-01T13:00:00Z")
            ]
        );
        assert!(matches!(of("*/30 9-17 * * *"), Shape::Next(v) if v.len() == 3));
        assert!(matches!(of("0 9 31 * *"), Shape::Next(_)));
    }
}
