//! `[policy]` and `[log]`: how often, how quietly, how loudly.

use super::schedules::schedule;
use super::*;

pub(super) const POLICY_KEYS: &[&str] = &[
    "quiet_hours",
    "max_reminders_per_day",
    "silence_alert_after",
    "escalate_after",
    "payment_followup_after",
    "answer_within",
    "digest",
    "catch_up_horizon",
    "owner_notices",
    "redo_within",
];

pub(super) const LOG_KEYS: &[&str] = &["level"];

/// The owner's digest when the config names none: Mondays at 08:00.
pub(super) const DEFAULT_DIGEST: &str = "0 8 * * MON";

pub(super) fn read_policy(
    d: &mut Diagnostics<'_>,
    s: Option<Section<'_, '_>>,
    owner_tz: Tz,
) -> Option<Policy> {
    let default_quiet = QuietHours {
        start: NaiveTime::from_hms_opt(20, 0, 0).unwrap_or_default(),
        end: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
    };
    // The default digest line is a constant that parses (a unit test checks
    // it); were it ever broken, the digest would be off rather than the load
    // failing.
    let default_digest = || crate::config::schedule(DEFAULT_DIGEST, owner_tz).ok();
    let Some(mut s) = s else {
        return Some(Policy {
            quiet_hours: Some(default_quiet),
            max_reminders_per_day: 1,
            silence_alert_after: TimeDelta::days(5),
            escalate_after: TimeDelta::days(3),
            payment_followup_after: TimeDelta::days(7),
            answer_within: TimeDelta::hours(24),
            digest: default_digest(),
            catch_up_horizon: TimeDelta::days(7),
            owner_notices: OwnerNotices::Immediate,
            redo_within: TimeDelta::days(7),
        });
    };
    let quiet_hours = match s.str(d, "quiet_hours") {
        None => Some(Some(default_quiet)),
        Some(v) => check(d, &v, "`quiet_hours` in [policy]", values::quiet_hours)
            .map(|(start, end)| (start != end).then_some(QuietHours { start, end })),
    };
    let max = match s.integer(d, "max_reminders_per_day") {
        None => Some(1),
        Some(v) => match u32::try_from(*v.get_ref()) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                d.error(v.span(), format!("`max_reminders_per_day` in [policy] is {}; expected a number of at least 1", v.get_ref()));
                None
            }
        },
    };
    let silence = period_or(
        d,
        &mut s,
        "silence_alert_after",
        "[policy]",
        TimeDelta::days(5),
    );
    let escalate = period_or(d, &mut s, "escalate_after", "[policy]", TimeDelta::days(3));
    let followup = period_or(
        d,
        &mut s,
        "payment_followup_after",
        "[policy]",
        TimeDelta::days(7),
    );
    let answer = period_or(d, &mut s, "answer_within", "[policy]", TimeDelta::hours(24));
    let horizon = period_or(
        d,
        &mut s,
        "catch_up_horizon",
        "[policy]",
        TimeDelta::days(7),
    );
    let redo = period_or(d, &mut s, "redo_within", "[policy]", TimeDelta::days(7));
    let digest = match s.str(d, "digest") {
        None => Some(default_digest()),
        // "off" (or an empty line) switches the digest off.
        Some(v) if v.get_ref().trim().is_empty() || v.get_ref().trim() == "off" => Some(None),
        Some(v) => {
            // Any fixed day works for "does it ever fire": the 5 fields
            // carry no year.
            let reference = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
            schedule(d, &v, "`digest` in [policy]", owner_tz, reference).map(Some)
        }
    };
    let notices_value = s.str(d, "owner_notices");
    let owner_notices = choice(
        d,
        notices_value.as_ref(),
        "owner_notices",
        "[policy]",
        &[
            ("immediate", OwnerNotices::Immediate),
            ("digest", OwnerNotices::Digest),
        ],
        OwnerNotices::Immediate,
    );
    s.finish(d);
    Some(Policy {
        quiet_hours: quiet_hours?,
        max_reminders_per_day: max?,
        silence_alert_after: silence?,
        escalate_after: escalate?,
        payment_followup_after: followup?,
        answer_within: answer?,
        digest: digest?,
        catch_up_horizon: horizon?,
        owner_notices: owner_notices?,
        redo_within: redo?,
    })
}

/// `[log]`: the daemon's log level (`RUST_LOG`, when set, wins).
pub(super) fn read_log(d: &mut Diagnostics<'_>, s: Option<Section<'_, '_>>) -> Option<LogSettings> {
    let Some(mut s) = s else {
        return Some(LogSettings::default());
    };
    let v = s.str(d, "level");
    let levels = [
        ("error", "error"),
        ("warn", "warn"),
        ("info", "info"),
        ("debug", "debug"),
        ("trace", "trace"),
    ];
    let level = choice(d, v.as_ref(), "level", "[log]", &levels, "info");
    s.finish(d);
    Some(LogSettings {
        level: v.and(level).map(str::to_string),
    })
}
