//! Turning the owner's text into typed values: periods ("3d"), crontab lines,
//! zones, addresses, dates, ids and header-safe text.
//!
//! Each function returns `Err(message)` phrased as "what is wrong; what was
//! expected", and the caller attaches the span.

use chrono::{
    DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;
use lettre::Address;
use std::str::FromStr;

use super::text::{describe, hidden};
pub(crate) use super::text::{header_text, name};

/// "3d", "12h", "30m", "2w", "1d12h": a positive period.
pub(crate) fn period(text: &str) -> Result<TimeDelta, String> {
    let expected = "expected a period such as \"3d\", \"12h\", \"30m\", \"2w\" or \"1d12h\"";
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("empty period; {expected}"));
    }
    let mut total = TimeDelta::zero();
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("`{text}` has an unknown unit `{c}`; {expected}")),
        };
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("`{text}` has a unit without a number; {expected}"))?;
        digits.clear();
        let add = n
            .checked_mul(unit)
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(|| format!("`{text}` is too long; {expected}"))?;
        total += add;
    }
    if !digits.is_empty() {
        return Err(format!("`{text}` has a number without a unit; {expected}"));
    }
    if total <= TimeDelta::zero() {
        return Err(format!("`{text}` is zero; {expected}"));
    }
    Ok(total)
}

/// An IANA zone name such as "Europe/Berlin".
pub(crate) fn timezone(text: &str) -> Result<Tz, String> {
    Tz::from_str(text.trim()).map_err(|_| {
        let near = nearest_zone(text);
        format!(
            "unknown time zone `{text}`; expected an IANA zone name such as \"Europe/Berlin\"{}",
            near.map(|z| format!(" (did you mean \"{z}\"?)"))
                .unwrap_or_default()
        )
    })
}

fn nearest_zone(text: &str) -> Option<&'static str> {
    nearest(text, chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()))
}

/// An addr-spec such as "dana@example.test".
pub(crate) fn address(text: &str) -> Result<Address, String> {
    if let Some(c) = text.chars().find(|c| hidden(*c)) {
        return Err(format!(
            "`{}` contains {}; expected an address such as \"dana@example.test\"",
            text.escape_debug(),
            describe(c)
        ));
    }
    Address::from_str(text.trim()).map_err(|e| {
        format!("`{}` is not an e-mail address ({e}); expected an address such as \"dana@example.test\"", text.escape_debug())
    })
}

/// Free text for mail bodies: line breaks and tabs are fine, other control
/// characters are not (they garble or smuggle content).
pub(crate) fn body_text(text: &str) -> Result<(), String> {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(format!(
            "contains the control character U+{:04X}; expected plain text (line breaks and tabs are fine)",
            c as u32
        ));
    }
    if text.trim().is_empty() {
        return Err(
            "is empty; expected a description (be explicit: the contractor works from it)"
                .to_string(),
        );
    }
    Ok(())
}

/// Ids travel in subject tags, calendar UIDs and file names: keep them plain.
pub(crate) fn id(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a usable id; expected 1 to 64 letters, digits, '-' or '_'",
            text.escape_debug()
        ))
    }
}

/// A calendar date: "2026-11-24". Rejects dates that do not exist.
pub(crate) fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        format!("`{text}` is not a date that exists; expected YYYY-MM-DD such as 2026-12-05")
    })
}

/// A date, or a local date-time, or a date-time with an offset.
pub(crate) enum When {
    Date(NaiveDate),
    Local(NaiveDateTime),
    Instant(DateTime<Utc>),
}

pub(crate) fn when(text: &str) -> Result<When, String> {
    let t = text.trim();
    let expected = "expected a date (2026-12-05) or a local date-time (2026-12-05T15:00:00)";
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(When::Date(d));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(When::Instant(dt.with_timezone(&Utc)));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(When::Local(dt));
        }
    }
    Err(format!(
        "`{text}` is not a date or time that exists; {expected}"
    ))
}

/// A local date-time in a zone, as an instant. A time inside a DST gap does not
/// exist there and is an error; an ambiguous one (the repeated hour) takes the
/// earlier instant.
pub(crate) fn local_instant(dt: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, String> {
    match tz.from_local_datetime(&dt) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{dt} does not exist in {} (the clocks skip it for daylight saving); expected a time outside the gap",
            tz.name()
        )),
    }
}

/// The end of a day in a zone (23:59:59 local), as an instant.
pub(crate) fn end_of_day(d: NaiveDate, tz: Tz) -> Result<DateTime<Utc>, String> {
    // 23:59:59 never falls in a DST gap in any zone chrono-tz knows (changes
    // happen at or after midnight, never at the last second of a day).
    local_instant(
        d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default()),
        tz,
    )
}

/// "20:00-08:00": a daily window of local time.
pub(crate) fn quiet_hours(text: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let expected = "expected HH:MM-HH:MM such as \"20:00-08:00\"";
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}` is not a time window; {expected}"))?;
    let parse = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M");
    match (parse(a), parse(b)) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        _ => Err(format!("`{text}` is not a time window; {expected}")),
    }
}

/// A parsed crontab line, in the cron crate's form.
pub(crate) struct Crontab {
    pub(crate) schedule: cron::Schedule,
    /// Set when day-of-month and day-of-week are both restricted: classic cron
    /// fires when either matches, the cron crate only when both do.
    pub(crate) both_days_restricted: bool,
}

const CRON_EXPECTED: &str = "expected 5 crontab fields (minute hour day-of-month month day-of-week) such as \"0 9 * * MON\"";

/// Translates the owner's 5-field crontab line into the cron crate's syntax.
///
/// The cron crate wants a seconds field first, and numbers weekdays 1–7 from
/// Sunday, where crontab uses 0–7 with both 0 and 7 meaning Sunday. Rather than
/// rewriting numbers in place (where ranges such as `5-7` would wrap), the
/// day-of-week field is expanded to the set of days it means and written back
/// as the cron crate's numbers.
pub(crate) fn crontab(text: &str) -> Result<Crontab, String> {
    let t = text.trim();
    let expanded = match t.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *".to_string(),
        "@monthly" => "0 0 1 * *".to_string(),
        "@weekly" => "0 0 * * 0".to_string(),
        "@daily" | "@midnight" => "0 0 * * *".to_string(),
        "@hourly" => "0 * * * *".to_string(),
        _ => t.to_string(),
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{text}` has {} field{}; {CRON_EXPECTED}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        ));
    }
    let dow = weekdays(fields[4]).map_err(|e| {
        format!(
            "day-of-week `{}` in `{text}` {e}; {CRON_EXPECTED}",
            fields[4]
        )
    })?;
    let cron_text = format!(
        "0 {} {} {} {} {}",
        fields[0], fields[1], fields[2], fields[3], dow
    );
    let schedule = cron::Schedule::from_str(&cron_text)
        .map_err(|e| format!("`{text}` is not a valid crontab line ({e}); {CRON_EXPECTED}"))?;
    Ok(Crontab {
        schedule,
        both_days_restricted: fields[2] != "*" && dow != "*",
    })
}

/// Expands a crontab day-of-week field into the cron crate's numbering.
fn weekdays(field: &str) -> Result<String, String> {
    const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let day = |s: &str| -> Result<u32, String> {
        let l = s.to_ascii_lowercase();
        if let Some(i) = NAMES.iter().position(|n| *n == l) {
            return Ok(i as u32);
        }
        match l.parse::<u32>() {
            Ok(n) if n <= 7 => Ok(n % 7),
            _ => Err(format!("has `{s}`, which is not a day (0-7 or SUN-SAT)")),
        }
    };
    if field == "*" {
        return Ok("*".to_string());
    }
    // Days as crontab numbers, 0 = Sunday … 6 = Saturday.
    let mut set = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("has the step `{s}`, which is not a positive number"))?,
            ),
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            // 7 stands for Sunday, but as the end of a range ("5-7") it means
            // "through Sunday", so keep it as 7 for the range walk.
            let lo = day(a)?;
            let hi = if b == "7" { 7 } else { day(b)? };
            if lo > hi {
                return Err(format!("has the range `{range}`, which runs backwards"));
            }
            (lo, hi)
        } else {
            let d = day(range)?;
            // "MON/2" in crontab means from Monday to the end of the week.
            if item.contains('/') { (d, 6) } else { (d, d) }
        };
        let mut d = lo;
        while d <= hi {
            set[(d % 7) as usize] = true;
            d += step;
        }
    }
    if set.iter().all(|b| *b) {
        return Ok("*".to_string());
    }
    // The cron crate numbers Sunday = 1 … Saturday = 7.
    let days: Vec<String> = (0..7)
        .filter(|d| set[*d])
        .map(|d| (d + 1).to_string())
        .collect();
    Ok(days.join(","))
}

/// The candidate closest to `word` by edit distance, if it is close enough to be
/// a plausible typo.
pub(crate) fn nearest<'c>(
    word: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (the optimal
/// string alignment distance): `emial` is one typo away from `email`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut m = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in m.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in m[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (m[i - 1][j] + 1)
                .min(m[i][j - 1] + 1)
                .min(m[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(m[i - 2][j - 2] + 1);
            }
            m[i][j] = best;
        }
    }
    m[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next_local(expr: &str, tz: Tz, after: &str) -> DateTime<Tz> {
        let c = crontab(expr).unwrap();
        c.schedule
            .after(&utc(after).with_timezone(&tz))
            .next()
            .unwrap()
    }

    #[test]
    fn periods_parse_and_reject() {
        assert_eq!(period("3d").unwrap(), TimeDelta::days(3));
        assert_eq!(period("12h").unwrap(), TimeDelta::hours(12));
        assert_eq!(period("1d12h").unwrap(), TimeDelta::hours(36));
        assert_eq!(period("2w").unwrap(), TimeDelta::days(14));
        for bad in ["", "3", "d", "3x", "0d", "3 days"] {
            assert!(period(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn crontab_monday_is_monday() {
        // 2026-11-24 is a Tuesday.
        for expr in ["0 9 * * MON", "0 9 * * 1", "0 9 * * mon"] {
            let n = next_local(expr, chrono_tz::America::New_York, "2026-11-24T12:00:00Z");
            assert_eq!(n.weekday(), Weekday::Mon, "{expr}");
            assert_eq!((n.day(), n.hour()), (30, 9), "{expr}");
        }
    }

    #[test]
    fn crontab_sunday_is_zero_and_seven() {
        for expr in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN"] {
            let n = next_local(expr, chrono_tz::UTC, "2026-11-24T12:00:00Z");
            assert_eq!(n.weekday(), Weekday::Sun, "{expr}");
        }
    }

    #[test]
    fn crontab_weekday_ranges_translate_faithfully() {
        // Mon-Fri: from a Saturday the next run is Monday.
        let n = next_local("0 9 * * 1-5", chrono_tz::UTC, "2026-11-28T12:00:00Z");
        assert_eq!(n.weekday(), Weekday::Mon);
        // Fri-Sun (5-7) wraps over the week end: Saturday noon → Sunday 09:00.
        let n = next_local("0 9 * * 5-7", chrono_tz::UTC, "2026-11-28T12:00:00Z");
        assert_eq!(n.weekday(), Weekday::Sun);
        // Saturday (6) is the cron crate's 7.
        let n = next_local("0 9 * * 6", chrono_tz::UTC, "2026-11-24T12:00:00Z");
        assert_eq!(n.weekday(), Weekday::Sat);
        // */2 in crontab: Sun, Tue, Thu, Sat.
        assert_eq!(weekdays("*/2").unwrap(), "1,3,5,7");
        assert_eq!(weekdays("0-6").unwrap(), "*");
        assert_eq!(weekdays("1,3").unwrap(), "2,4");
    }

    #[test]
    fn crontab_runs_in_its_zone() {
        let n = next_local(
            "0 9 * * MON",
            chrono_tz::America::New_York,
            "2026-11-24T12:00:00Z",
        );
        assert_eq!(n.with_timezone(&Utc), utc("2026-11-30T14:00:00Z"));
    }

    #[test]
    fn crontab_rejects_bad_lines() {
        for bad in [
            "0 9 * *",
            "0 0 9 * * MON",
            "0 25 * * *",
            "0 9 * * 8",
            "0 9 * * FOO",
            "0 9 * * 5-1",
            "nonsense",
        ] {
            assert!(crontab(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(crontab("@weekly").is_ok());
        assert!(crontab("0 10 1 */6 *").is_ok());
    }

    #[test]
    fn dates_that_do_not_exist_are_rejected() {
        assert!(date("2026-02-30").is_err());
        assert!(date("2028-02-29").is_ok());
        assert!(when("2026-02-30").is_err());
        assert!(when("2026-12-05T25:00:00").is_err());
    }

    #[test]
    fn local_times_in_a_dst_gap_do_not_exist() {
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert!(local_instant(gap, chrono_tz::Europe::Berlin).is_err());
        let fine = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(3, 30, 0)
            .unwrap();
        assert_eq!(
            local_instant(fine, chrono_tz::Europe::Berlin).unwrap(),
            utc("2026-03-29T01:30:00Z")
        );
    }

    #[test]
    fn header_text_refuses_line_breaks() {
        assert!(header_text("Dana Díaz").is_ok());
        assert!(header_text("Dana\r\nBcc: eve@example.test").is_err());
        assert!(header_text("tab\there").is_err());
        assert!(body_text("line one\nline two\ttab").is_ok());
        assert!(body_text("bell\u{7}").is_err());
    }

    #[test]
    fn nearest_suggests_plausible_typos_only() {
        let keys = ["name", "email", "timezone"];
        assert_eq!(nearest("emial", keys.iter().copied()), Some("email"));
        assert_eq!(nearest("zzzzzz", keys.iter().copied()), None);
        assert_eq!(
            nearest(
                "Europe/Berln",
                chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
            ),
            Some("Europe/Berlin")
        );
    }
}
