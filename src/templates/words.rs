//! Instants, dates, zones, periods and schedules as a person reads them in a
//! mail, in their language.
//!
//! Templates get their times already written out: the model and the schedule
//! hand over instants in UTC, and the text a person reads is made here, for
//! one [`Reader`] (a language and a zone). Weekday and month names and the
//! order of a date come from ICU4X's CLDR data for the reader's locale
//! ("Samstag, 5. Dezember 2026 um 17:59"); a zone is named by its city in
//! that language ("Ortszeit Wien", "hora de Nueva York"), never by its IANA
//! name, which only the calendar needs.
//!
//! [`local_time`] and [`local_date`] stay for logs, the journal and the CLI,
//! where an exact IANA zone helps and English is the tool's language.

use super::lang::{Lang, fill};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use icu_calendar::{Date, Gregorian};
use icu_datetime::fieldsets::{self, zone};
use icu_datetime::input::{DateTime as IcuDateTime, Time};
use icu_datetime::{FixedCalendarDateTimeFormatter, NoCalendarFormatter};
use icu_time::TimeZone;
use icu_time::zone::IanaParser;

/// "Sat 5 Dec 2026, 17:59 EST (America/New_York)": for logs and the CLI.
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    format!(
        "{} ({})",
        t.with_timezone(&tz).format("%a %-d %b %Y, %H:%M %Z"),
        tz.name()
    )
}

/// "Sat 5 Dec 2026": for logs and the CLI.
pub fn local_date(d: NaiveDate) -> String {
    d.format("%a %-d %b %Y").to_string()
}

/// A recurring schedule reduced to what can be said of it in words (the
/// schedule module reads it off a crontab line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Every day at one time.
    Daily(NaiveTime),
    /// Some weekdays (Monday first) at one time.
    Weekly(Vec<chrono::Weekday>, NaiveTime),
    /// One day of every month at one time.
    Monthly(u32, NaiveTime),
    /// No short phrase: its next occurrences.
    Next(Vec<DateTime<Utc>>),
}

/// Who reads a mail: their language and their zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub lang: Lang,
    pub tz: Tz,
}

impl Reader {
    pub fn new(lang: Lang, tz: Tz) -> Reader {
        Reader { lang, tz }
    }

    /// An instant with the reader's zone: "Saturday, December 5, 2026 at
    /// 5:59 PM (New York time)".
    pub fn time(&self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&self.tz).naive_local();
        fill(
            self.lang.phrases().with_zone,
            &[
                ("when", &date_time(&self.lang, local)),
                ("zone", &self.zone_at(t)),
            ],
        )
    }

    /// The reader's day of an instant: "Saturday, December 5, 2026". For
    /// when something happened or fell due, where the hour adds nothing
    /// (and a time's zone in parentheses would nest inside the sentence's).
    pub fn day(&self, t: DateTime<Utc>) -> String {
        self.date(t.with_timezone(&self.tz).date_naive())
    }

    /// A date: "Saturday, December 5, 2026".
    pub fn date(&self, d: NaiveDate) -> String {
        date(&self.lang, d)
    }

    /// The reader's zone as people say it: "New York time".
    pub fn zone(&self) -> String {
        zone_name(&self.lang, self.tz, Utc::now())
    }

    fn zone_at(&self, t: DateTime<Utc>) -> String {
        zone_name(&self.lang, self.tz, t)
    }

    /// A milestone's deadline. One due *on a date* is the end of that day in
    /// the owner's zone (the calendar shows it on that date): "Saturday,
    /// December 5, 2026, end of day", and for a reader in another zone also
    /// their own time of that moment ("…, end of day in Berlin: 5:59 PM your
    /// time"). A due *time* is that instant in the reader's zone.
    pub fn due(&self, due: DateTime<Utc>, owner_tz: Tz) -> String {
        let owners = due.with_timezone(&owner_tz);
        if owners.time() != end_of_day() {
            return self.time(due);
        }
        let day = date(&self.lang, owners.date_naive());
        let p = self.lang.phrases();
        if self.tz == owner_tz {
            return fill(p.end_of_day, &[("date", &day)]);
        }
        let mine = due.with_timezone(&self.tz).naive_local();
        let local = if mine.date() == owners.date_naive() {
            time_of_day(&self.lang, mine.time())
        } else {
            date_time_short(&self.lang, mine)
        };
        let city = city(&self.lang, owner_tz).unwrap_or_else(|| offset_name(owner_tz, due));
        fill(
            p.end_of_day_there,
            &[("date", &day), ("city", &city), ("local", &local)],
        )
    }

    /// A period: "3 days", "1 day and 12 hours", "30 minutes".
    pub fn period(&self, d: TimeDelta) -> String {
        let p = self.lang.phrases();
        let days = d.num_days();
        let hours = d.num_hours() - days * 24;
        let minutes = d.num_minutes() - d.num_hours() * 60;
        let unit = |n: i64, (one, many): (&str, &str)| {
            let singular = n == 1 || (n == 0 && p.zero_is_singular);
            format!("{n} {}", if singular { one } else { many })
        };
        let mut parts = Vec::new();
        if days > 0 {
            parts.push(unit(days, p.day));
        }
        if hours > 0 {
            parts.push(unit(hours, p.hour));
        }
        if minutes > 0 || parts.is_empty() {
            parts.push(unit(minutes, p.minute));
        }
        self.list(&parts)
    }

    /// "3 days" for whole stretches of days, finer only under two days: how
    /// long, as a person says it of a lateness or a silence.
    pub fn rough(&self, d: TimeDelta) -> String {
        if d >= TimeDelta::days(2) {
            self.period(TimeDelta::days(d.num_days()))
        } else {
            self.period(d)
        }
    }

    /// "A, B and C".
    pub fn list(&self, items: &[String]) -> String {
        match items {
            [] => String::new(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{}{}{last}", rest.join(", "), self.lang.phrases().and),
        }
    }

    /// A schedule that runs in `zone`, in words: "every Monday at 9:00 AM
    /// (New York time)"; one with no short phrase by its next occurrences.
    pub fn schedule(&self, shape: &Shape, zone: Tz) -> String {
        let p = self.lang.phrases();
        let at = |t: NaiveTime| {
            let pattern = match p.at_one {
                Some(one) if t.hour() == 1 => one,
                _ => p.at,
            };
            fill(pattern, &[("time", &time_of_day(&self.lang, t))])
        };
        let zone_words = zone_name(&self.lang, zone, Utc::now());
        let phrase = match shape {
            Shape::Daily(t) => fill(p.daily, &[("at", &at(*t))]),
            Shape::Weekly(days, t) if is_workdays(days) => fill(p.workdays, &[("at", &at(*t))]),
            Shape::Weekly(days, t) => {
                let names: Vec<String> = days.iter().map(|d| weekday(&self.lang, *d)).collect();
                fill(p.weekly, &[("days", &self.list(&names)), ("at", &at(*t))])
            }
            Shape::Monthly(day, t) => {
                fill(p.monthly, &[("nth", &(p.ordinal)(*day)), ("at", &at(*t))])
            }
            Shape::Next(times) => {
                let list: Vec<String> = times
                    .iter()
                    .map(|t| date_time(&self.lang, t.with_timezone(&zone).naive_local()))
                    .collect();
                return fill(
                    p.next_few,
                    &[("list", &self.list(&list)), ("zone", &zone_words)],
                );
            }
        };
        fill(p.with_zone, &[("when", &phrase), ("zone", &zone_words)])
    }
}

/// CLDR puts a narrow no-break space (U+202F) in some patterns ("5:59 PM");
/// it is not in Latin-1 or Windows-1252, so a reply from a client that
/// writes those charsets could not quote the mail. A no-break space keeps
/// the words together and is in both.
fn latin(s: String) -> String {
    s.replace('\u{202f}', "\u{a0}")
}

/// The local time a date-only deadline stands for.
fn end_of_day() -> NaiveTime {
    NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN)
}

fn is_workdays(days: &[chrono::Weekday]) -> bool {
    use chrono::Weekday::*;
    days == [Mon, Tue, Wed, Thu, Fri]
}

fn icu_date(d: NaiveDate) -> Option<Date<Gregorian>> {
    let month = u8::try_from(d.month()).ok()?;
    let day = u8::try_from(d.day()).ok()?;
    Date::try_new_gregorian(d.year(), month, day).ok()
}

fn icu_time(t: NaiveTime) -> Option<Time> {
    let hour = u8::try_from(t.hour()).ok()?;
    let minute = u8::try_from(t.minute()).ok()?;
    Time::try_new(hour, minute, 0, 0).ok()
}

// Each formatter below is made for the one call: with compiled data that is
// a few lookups in static tables, and nothing stays on the heap of an idle
// daemon. A formatter that cannot be made (data missing for a locale) falls
// back to ISO order rather than failing a mail.

/// "Saturday, December 5, 2026".
fn date(lang: &Lang, d: NaiveDate) -> String {
    let formatted = icu_date(d).and_then(|date| {
        FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(
            lang.locale().clone().into(),
            fieldsets::YMDE::long(),
        )
        .ok()
        .map(|f| f.format(&date).to_string())
        .map(latin)
    });
    formatted.unwrap_or_else(|| d.format("%Y-%m-%d").to_string())
}

/// "Saturday, December 5, 2026 at 5:59 PM".
fn date_time(lang: &Lang, t: NaiveDateTime) -> String {
    let formatted = icu_date(t.date())
        .zip(icu_time(t.time()))
        .and_then(|(date, time)| {
            FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(
                lang.locale().clone().into(),
                fieldsets::YMDE::long().with_time_hm(),
            )
            .ok()
            .map(|f| f.format(&IcuDateTime { date, time }).to_string())
            .map(latin)
        });
    formatted.unwrap_or_else(|| t.format("%Y-%m-%d %H:%M").to_string())
}

/// "Sunday, December 6 at 6:59 AM": near a date that carries the year.
fn date_time_short(lang: &Lang, t: NaiveDateTime) -> String {
    let formatted = icu_date(t.date())
        .zip(icu_time(t.time()))
        .and_then(|(date, time)| {
            FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(
                lang.locale().clone().into(),
                fieldsets::MDE::long().with_time_hm(),
            )
            .ok()
            .map(|f| f.format(&IcuDateTime { date, time }).to_string())
            .map(latin)
        });
    formatted.unwrap_or_else(|| t.format("%m-%d %H:%M").to_string())
}

/// "5:59 PM", "17:59".
fn time_of_day(lang: &Lang, t: NaiveTime) -> String {
    let formatted = icu_time(t).and_then(|time| {
        NoCalendarFormatter::try_new(lang.locale().clone().into(), fieldsets::T::hm())
            .ok()
            .map(|f| f.format(&time).to_string())
            .map(latin)
    });
    formatted.unwrap_or_else(|| t.format("%H:%M").to_string())
}

/// "Monday", "lundi".
fn weekday(lang: &Lang, d: chrono::Weekday) -> String {
    // 2024-01-01 was a Monday.
    let day = NaiveDate::from_ymd_opt(2024, 1, 1)
        .map(|monday| monday + TimeDelta::days(i64::from(d.num_days_from_monday())));
    let formatted = day.and_then(icu_date).and_then(|date| {
        FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(
            lang.locale().clone().into(),
            fieldsets::E::long(),
        )
        .ok()
        .map(|f| f.format(&date).to_string())
        .map(latin)
    });
    formatted.unwrap_or_else(|| d.to_string())
}

/// The zone's city in the reader's language ("Wien", "Nueva York"), or
/// `None` for a zone that has none (UTC, Etc/GMT+5).
fn city(lang: &Lang, tz: Tz) -> Option<String> {
    let id = IanaParser::new().parse(tz.name());
    if id == TimeZone::UNKNOWN || tz.name().starts_with("Etc/") {
        return None;
    }
    let f = NoCalendarFormatter::try_new(lang.locale().clone().into(), zone::ExemplarCity).ok()?;
    let name = f.format(&id.without_offset()).to_string();
    let unknown = f.format(&TimeZone::UNKNOWN.without_offset()).to_string();
    (name != unknown).then_some(name)
}

/// "UTC", "UTC−05:00": a zone with no city, by its offset at `t`.
fn offset_name(tz: Tz, t: DateTime<Utc>) -> String {
    use chrono::Offset;
    let secs = t.with_timezone(&tz).offset().fix().local_minus_utc();
    if secs == 0 {
        return "UTC".to_string();
    }
    let sign = if secs < 0 { '−' } else { '+' };
    let secs = secs.abs();
    format!("UTC{sign}{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// The zone as people say it, in the reader's language: "New York time",
/// "heure de Paris", "heure d’Amsterdam".
fn zone_name(lang: &Lang, tz: Tz, t: DateTime<Utc>) -> String {
    let Some(city) = city(lang, tz) else {
        return offset_name(tz, t);
    };
    let p = lang.phrases();
    let pattern = match p.zone_vowel {
        Some(v) if starts_with_vowel(&city) => v,
        _ => p.zone,
    };
    fill(pattern, &[("city", &city)])
}

fn starts_with_vowel(s: &str) -> bool {
    s.chars()
        .next()
        .and_then(|c| c.to_lowercase().next())
        .is_some_and(|c| "aeiouyàâäéèêëîïôöùûüœæ".contains(c))
}

#[cfg(test)]
#[path = "words_tests.rs"]
mod tests;
