//! Crontab lines as schedules: parsed, checked to fire at all, and (for
//! evaluations) at least once a year.

use super::*;

/// Parses a crontab line into a schedule in `tz`, and checks it ever fires.
pub(super) fn schedule(
    d: &mut Diagnostics<'_>,
    v: &Sp<&str>,
    what: &str,
    tz: Tz,
    reference: NaiveDate,
) -> Option<Schedule> {
    let c = check(d, v, what, values::crontab)?;
    if c.both_days_restricted {
        d.warn(
            v.span(),
            format!("{what}: `{}` restricts both day-of-month and day-of-week; Handoff fires only when both match (classic cron fires when either does)", v.get_ref()),
        );
    }
    let sched = Schedule {
        crontab: v.get_ref().trim().to_string(),
        cron: c.schedule,
        timezone: tz,
    };
    if next_local(&sched, start_of(reference)).is_none() {
        d.error(
            v.span(),
            format!(
                "{what}: `{}` never fires; expected a schedule with at least one date",
                v.get_ref()
            ),
        );
        return None;
    }
    Some(sched)
}

pub(super) fn optional_schedule(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    key: &'static str,
    name: &str,
    tz: Tz,
    reference: NaiveDate,
) -> Option<Option<Schedule>> {
    match s.str(d, key) {
        None => Some(None),
        Some(v) => schedule(d, &v, &format!("`{key}` in {name}"), tz, reference).map(Some),
    }
}

pub(super) fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The schedule's next local wall-clock time after `t`, carried in a UTC
/// frame. Whether a line ever fires, and how often, is a question about the
/// wall clock, so these checks need no zone rules; the DST-correct instants
/// are the schedule's business ([`crate::schedule::occurrence`]).
pub(super) fn next_local(sched: &Schedule, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    sched.cron.after(&t).next()
}

/// Warns when evaluations come less often than once a year.
pub(super) fn check_yearly(
    d: &mut Diagnostics<'_>,
    v: &Sp<&str>,
    sched: &Schedule,
    name: &str,
    reference: NaiveDate,
) {
    let year = TimeDelta::days(366);
    let mut prev = start_of(reference);
    // Five occurrences cover every repeating pattern a 5-field line can express
    // within a few years (the longest, 29 February, repeats every 4 years).
    for _ in 0..5 {
        match next_local(sched, prev) {
            Some(next) if next - prev <= year => prev = next,
            _ => {
                d.warn(
                    v.span(),
                    format!("`evaluation` in {name} (`{}`) comes less often than once a year; expected at least one evaluation a year", v.get_ref()),
                );
                return;
            }
        }
    }
}
