//! The page's charts as numbers: where each mark of an inline SVG goes.
//!
//! The templates draw them (`<svg>` with a `<title>` per mark, escaped like
//! every other text); this module only turns instants, scores and
//! lateness into coordinates, rounded to a tenth of a pixel. No script, no
//! image requests: the charts are part of the page.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// Width of the engagement timeline, in SVG user units.
pub const TIMELINE_WIDTH: f64 = 720.0;
const MARGIN: f64 = 24.0;

/// One engagement's timeline: milestones at their due dates, each first
/// delivery joined to its due date, payments below the axis, and now.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Timeline {
    pub ticks: Vec<Tick>,
    pub now_x: Option<f64>,
    pub start_x: Option<f64>,
    pub milestones: Vec<Mark>,
    pub deliveries: Vec<Stretch>,
    pub payments: Vec<Mark>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub x: f64,
    pub label: String,
}

/// A point mark: its class names its state (`accepted`, `overdue`, …); the
/// label is its tooltip.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    pub x: f64,
    pub class: String,
    pub label: String,
}

/// From a due date to its first delivery: `late` or `early`.
#[derive(Debug, Clone, Serialize)]
pub struct Stretch {
    pub x1: f64,
    pub x2: f64,
    pub class: String,
    pub label: String,
}

/// What goes on one timeline.
pub struct TimelineInput<'a> {
    pub start: Option<DateTime<Utc>>,
    /// (due, class, label).
    pub milestones: &'a [(DateTime<Utc>, String, String)],
    /// (due, first delivery, label).
    pub deliveries: &'a [(DateTime<Utc>, DateTime<Utc>, String)],
    /// (when, label).
    pub payments: &'a [(DateTime<Utc>, String)],
    /// Shown while the engagement runs.
    pub now: Option<DateTime<Utc>>,
    pub tz: Tz,
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Lays out a timeline over the span of everything on it.
pub fn timeline(i: &TimelineInput<'_>) -> Timeline {
    let times: Vec<DateTime<Utc>> = i
        .start
        .iter()
        .copied()
        .chain(i.milestones.iter().map(|m| m.0))
        .chain(i.deliveries.iter().flat_map(|d| [d.0, d.1]))
        .chain(i.payments.iter().map(|p| p.0))
        .chain(i.now)
        .collect();
    let (Some(&lo), Some(&hi)) = (times.iter().min(), times.iter().max()) else {
        return Timeline::default();
    };
    let span = (hi - lo).max(TimeDelta::days(1));
    let pad = span / 20;
    let (t0, t1) = (lo - pad, hi + pad);
    let total = (t1 - t0).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| {
        round(MARGIN + (t - t0).num_seconds() as f64 / total * (TIMELINE_WIDTH - 2.0 * MARGIN))
    };
    Timeline {
        ticks: ticks(t0, t1, i.tz)
            .into_iter()
            .map(|(t, label)| Tick { x: x(t), label })
            .collect(),
        now_x: i.now.map(x),
        start_x: i.start.map(x),
        milestones: i
            .milestones
            .iter()
            .map(|(t, class, label)| Mark {
                x: x(*t),
                class: class.clone(),
                label: label.clone(),
            })
            .collect(),
        deliveries: i
            .deliveries
            .iter()
            .map(|(due, at, label)| Stretch {
                x1: x(*due),
                x2: x(*at),
                class: if at > due { "late" } else { "early" }.to_string(),
                label: label.clone(),
            })
            .collect(),
        payments: i
            .payments
            .iter()
            .map(|(t, label)| Mark {
                x: x(*t),
                class: "payment".to_string(),
                label: label.clone(),
            })
            .collect(),
    }
}

/// Month starts over a long span, Mondays over a short one (at most about
/// a dozen), in the owner's zone.
fn ticks(t0: DateTime<Utc>, t1: DateTime<Utc>, tz: Tz) -> Vec<(DateTime<Utc>, String)> {
    let first = t0.with_timezone(&tz).date_naive();
    let last = t1.with_timezone(&tz).date_naive();
    let days = (last - first).num_days();
    let midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let mut out = Vec::new();
    if days > 70 {
        let step = (days / 30 / 12 + 1) as u32;
        let mut d = NaiveDate::from_ymd_opt(first.year(), first.month(), 1).unwrap_or(first);
        while d <= last && out.len() < 40 {
            if d >= first
                && let Some(t) = midnight(d)
            {
                out.push((t, d.format("%b %Y").to_string()));
            }
            d = match d.checked_add_months(Months::new(step)) {
                Some(n) => n,
                None => break,
            };
        }
    } else {
        let step = days / 7 / 10 + 1;
        let mut d =
            first + TimeDelta::days((7 - i64::from(first.weekday().num_days_from_monday())) % 7);
        while d <= last && out.len() < 40 {
            if let Some(t) = midnight(d) {
                out.push((t, d.format("%-d %b").to_string()));
            }
            d += TimeDelta::days(7 * step);
        }
    }
    out
}

/// Evaluation scores over time: a point per score (1 at the bottom, 5 at
/// the top) and the line through them.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Scores {
    pub points: Vec<ScorePoint>,
    /// The polyline's `points` attribute (numbers only).
    pub line: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScorePoint {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

pub const SCORES_WIDTH: f64 = 480.0;
pub const SCORES_HEIGHT: f64 = 160.0;

/// y of a score in the scores chart.
pub fn score_y(score: u8) -> f64 {
    round(SCORES_HEIGHT - 20.0 - f64::from(score.clamp(1, 5) - 1) * 30.0)
}

/// Lays out (when, score, label) points, oldest first.
pub fn scores(points: &[(DateTime<Utc>, u8, String)]) -> Scores {
    let (Some(lo), Some(hi)) = (
        points.iter().map(|p| p.0).min(),
        points.iter().map(|p| p.0).max(),
    ) else {
        return Scores::default();
    };
    let total = (hi - lo).num_seconds().max(1) as f64;
    let left = 40.0;
    let width = SCORES_WIDTH - left - 20.0;
    let pts: Vec<ScorePoint> = points
        .iter()
        .map(|(t, s, label)| ScorePoint {
            x: if points.len() == 1 {
                round(left + width / 2.0)
            } else {
                round(left + (*t - lo).num_seconds() as f64 / total * width)
            },
            y: score_y(*s),
            label: label.clone(),
        })
        .collect();
    Scores {
        line: pts
            .iter()
            .map(|p| format!("{},{}", p.x, p.y))
            .collect::<Vec<_>>()
            .join(" "),
        points: pts,
    }
}

/// Lateness of each delivery as a bar up (late) or down (early) from a
/// zero line, clamped at 30 days either way.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub height: f64,
    pub class: String,
    pub label: String,
}

pub const LATENESS_HEIGHT: f64 = 160.0;

/// One bar per (seconds late, label).
pub fn lateness(items: &[(i64, String)]) -> Vec<Bar> {
    let zero = LATENESS_HEIGHT / 2.0;
    let per_day = (zero - 10.0) / 30.0;
    let width = 28.0;
    items
        .iter()
        .enumerate()
        .map(|(n, (secs, label))| {
            let days = (*secs as f64 / 86_400.0).clamp(-30.0, 30.0);
            let h = round((days.abs() * per_day).max(1.0));
            Bar {
                x: round(40.0 + n as f64 * (width + 8.0)),
                y: if days > 0.0 { round(zero - h) } else { zero },
                height: h,
                class: if *secs > 0 { "late" } else { "early" }.to_string(),
                label: label.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn a_timeline_spans_its_marks_in_order_inside_the_margins() {
        let ms = [
            (
                t("2026-12-05T22:59:59Z"),
                "open".to_string(),
                "Wireframes".to_string(),
            ),
            (
                t("2027-01-15T11:00:00Z"),
                "overdue".to_string(),
                "Launch".to_string(),
            ),
        ];
        let deliveries = [(
            ms[0].0,
            t("2026-12-07T10:00:00Z"),
            "2 days late".to_string(),
        )];
        let tl = timeline(&TimelineInput {
            start: Some(t("2026-11-23T23:00:00Z")),
            milestones: &ms,
            deliveries: &deliveries,
            payments: &[(t("2026-12-10T09:00:00Z"), "1200.00 EUR".into())],
            now: Some(t("2026-11-25T15:00:00Z")),
            tz: chrono_tz::Europe::Berlin,
        });
        let xs: Vec<f64> = tl.milestones.iter().map(|m| m.x).collect();
        assert!(xs[0] < xs[1]);
        for x in xs.iter().chain(tl.now_x.iter()).chain(tl.start_x.iter()) {
            assert!((MARGIN..=TIMELINE_WIDTH - MARGIN).contains(x), "{x}");
        }
        assert!(tl.start_x < tl.now_x);
        assert_eq!(tl.deliveries[0].class, "late");
        assert!(tl.deliveries[0].x2 > tl.deliveries[0].x1);
        // Seven weeks: Mondays, labelled by day.
        assert!(tl.ticks.len() >= 6, "{:?}", tl.ticks);
        assert!(tl.ticks.windows(2).all(|w| w[0].x < w[1].x));
        assert!(
            timeline(&TimelineInput {
                start: None,
                milestones: &[],
                deliveries: &[],
                payments: &[],
                now: None,
                tz: chrono_tz::UTC
            })
            .milestones
            .is_empty()
        );
    }

    #[test]
    fn scores_and_lateness_stay_inside_their_charts() {
        let s = scores(&[
            (t("2027-01-01T10:00:00Z"), 2, "2/5".into()),
            (t("2027-07-01T10:00:00Z"), 5, "5/5".into()),
        ]);
        assert_eq!(s.points[0].y, score_y(2));
        assert!(s.points[1].y < s.points[0].y, "5 is above 2");
        assert_eq!(s.line.split(' ').count(), 2);
        let bars = lateness(&[
            (2 * 86_400, "late".into()),
            (-86_400, "early".into()),
            (400 * 86_400, "very".into()),
        ]);
        assert_eq!(bars[0].class, "late");
        assert!(bars[0].y < LATENESS_HEIGHT / 2.0);
        assert_eq!(bars[1].y, LATENESS_HEIGHT / 2.0);
        assert!(bars[2].y >= 0.0, "clamped");
    }
}
