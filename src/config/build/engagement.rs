//! `[[engagement]]` and its `[[engagement.milestone]]`s: the work, its
//! standards, its dates and its schedules.

use super::schedules::{check_yearly, optional_schedule, schedule};
use super::*;

pub(super) const ENGAGEMENT_KEYS: &[&str] = &[
    "id",
    "contractor",
    "title",
    "agreement_signed",
    "agreement_file",
    "starts",
    "kickoff",
    "deliverables",
    "quality_standard",
    "performance_standard",
    "payment_terms",
    "status_reports",
    "evaluation",
    "recheck_after_delivery",
    "recheck_every",
    "payment",
    "budget",
    "attachments",
    "milestone",
];

pub(super) const MILESTONE_KEYS: &[&str] = &["id", "title", "due", "remind_before", "attachments"];

/// Evaluations default to once a year, on 10 January at 10:00 in the owner's zone.
pub(super) const DEFAULT_EVALUATION: &str = "0 10 10 1 *";

/// A kickoff call already over when `check` runs gets no invitation (the
/// instructions still mention it): worth a warning, from the moment the
/// 30-minute call ends.
fn kickoff_over(
    d: &mut Diagnostics<'_>,
    span: std::ops::Range<usize>,
    name: &str,
    start: chrono::DateTime<chrono::Utc>,
) {
    d.warn_once_past(
        span,
        start + TimeDelta::minutes(30),
        format!("the kickoff of {name} is in the past; no invitation goes out for it (the instructions still mention it); expected a kickoff still ahead, or none"),
    );
}

/// Attachments above this size in all get a warning: many servers refuse them.
pub(super) const ATTACHMENT_WARN_BYTES: u64 = 10 * 1024 * 1024;

/// What engagements are checked against.
pub(super) struct Known<'k> {
    pub(super) contractors: &'k [Option<Contractor>],
    pub(super) contractor_ids: &'k [String],
    pub(super) owner_tz: Tz,
    pub(super) base: &'k Path,
}

pub(super) fn read_engagements(
    d: &mut Diagnostics<'_>,
    sections: Vec<Section<'_, '_>>,
    known: &Known<'_>,
) -> Option<Vec<Engagement>> {
    let mut seen = HashMap::new();
    let mut out = Some(Vec::new());
    for s in sections {
        let e = read_engagement(d, s, &mut seen, known);
        match (e, out.as_mut()) {
            (Some(e), Some(list)) => list.push(e),
            _ => out = None,
        }
    }
    out
}

pub(super) fn read_engagement(
    d: &mut Diagnostics<'_>,
    mut s: Section<'_, '_>,
    seen: &mut HashMap<String, usize>,
    known: &Known<'_>,
) -> Option<Engagement> {
    let (contractors, owner_tz, base) = (known.contractors, known.owner_tz, known.base);
    let id = read_id(d, &mut s, "engagement", seen);
    let name = s.name.clone();
    let header = s.span.clone();

    let contractor = s.req_str(
        d,
        "contractor",
        "contractor = \"the id of a [[contractor]]\"",
    );
    let contractor_index = contractor.as_ref().and_then(|v| {
        let wanted = *v.get_ref();
        if let Some(i) = contractors.iter().position(|c| c.as_ref().is_some_and(|c| c.id == wanted)) {
            return Some(i);
        }
        if !known.contractor_ids.iter().any(|k| k == wanted) {
            let hint = values::nearest(wanted, known.contractor_ids.iter().map(String::as_str))
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            d.error(
                v.span(),
                format!("{name} names contractor `{wanted}`, which is not defined; expected the id of a [[contractor]]{hint}"),
            );
        }
        None
    });
    let contractor_tz = contractor_index
        .and_then(|i| contractors.get(i).cloned().flatten())
        .map_or(owner_tz, |c| c.timezone);

    let title = s
        .req_str(d, "title", "title = \"what the work is\"")
        .and_then(|v| {
            check(d, &v, &format!("`title` in {name}"), values::header_text)
                .map(|_| v.get_ref().to_string())
        });
    let agreement_signed = match s.datetime_text(d, "agreement_signed") {
        None => Some(None),
        Some(v) => check_date(d, &v, &format!("`agreement_signed` in {name}")).map(Some),
    };
    let agreement_file = s.str(d, "agreement_file").map(|v| {
        let p = resolve(base, v.get_ref());
        if !p.is_file() {
            d.warn(v.span(), format!("the agreement file {} does not exist; the agreement request will go out without it", p.display()));
        }
        p
    });
    let starts = match s.datetime_text(d, "starts") {
        Some(v) => check_date(d, &v, &format!("`starts` in {name}")),
        None => {
            if !s.has("starts") {
                d.error(header.clone(), format!("{name} is missing `starts`; expected starts = 2026-12-01 (the first day of work)"));
            }
            None
        }
    };
    let kickoff = match s.datetime_text(d, "kickoff") {
        None => Some(None),
        Some(v) => {
            let what = format!("`kickoff` in {name}");
            match values::when(v.get_ref()) {
                Ok(When::Local(dt)) => values::local_instant(dt, owner_tz)
                    .map_err(|e| d.error(v.span(), format!("{what}: {e}")))
                    .ok()
                    .map(|t| {
                        kickoff_over(d, v.span(), &name, t);
                        Some(t)
                    }),
                Ok(When::Instant(t)) => {
                    kickoff_over(d, v.span(), &name, t);
                    Some(Some(t))
                }
                Ok(When::Date(_)) => {
                    d.error(v.span(), format!("{what} is a date without a time; expected a local date-time such as 2026-11-25T15:00:00 (owner's zone)"));
                    None
                }
                Err(e) => {
                    d.error(v.span(), format!("{what}: {e}"));
                    None
                }
            }
        }
    };
    let mut text = |s: &mut Section<'_, '_>, key: &'static str, expected: &str| {
        s.req_str(d, key, expected).and_then(|v| {
            check(d, &v, &format!("`{key}` in {name}"), values::body_text)
                .map(|_| v.get_ref().to_string())
        })
    };
    let deliverables = text(
        &mut s,
        "deliverables",
        "deliverables = \"\"\"what exactly is to be delivered\"\"\"",
    );
    let quality = text(
        &mut s,
        "quality_standard",
        "quality_standard = \"\"\"how the work will be judged\"\"\"",
    );
    let performance = text(
        &mut s,
        "performance_standard",
        "performance_standard = \"\"\"when and how to deliver, how often to report status\"\"\"",
    );
    let payment_terms = match s.str(d, "payment_terms") {
        None => Some(None),
        Some(v) => check(
            d,
            &v,
            &format!("`payment_terms` in {name}"),
            values::body_text,
        )
        .map(|_| Some(v.get_ref().to_string())),
    };
    let reference = starts.unwrap_or_default();
    let status_reports =
        optional_schedule(d, &mut s, "status_reports", &name, contractor_tz, reference);
    let evaluation = match s.str(d, "evaluation") {
        None => {
            let c = values::crontab(DEFAULT_EVALUATION).ok()?;
            Some(Schedule {
                crontab: DEFAULT_EVALUATION.to_string(),
                cron: c.schedule,
                timezone: owner_tz,
            })
        }
        Some(v) => {
            let sched = schedule(
                d,
                &v,
                &format!("`evaluation` in {name}"),
                owner_tz,
                reference,
            );
            if let Some(sc) = &sched {
                check_yearly(d, &v, sc, &name, reference);
            }
            sched
        }
    };
    let payment = optional_schedule(d, &mut s, "payment", &name, owner_tz, reference);
    let budget = match s.str(d, "budget") {
        None => Some(None),
        Some(v) => check(d, &v, &format!("`budget` in {name}"), |t| {
            crate::money::Money::parse(t).map_err(|e| e.to_string())
        })
        .map(Some),
    };
    let recheck_after = period_or(
        d,
        &mut s,
        "recheck_after_delivery",
        &name,
        TimeDelta::days(7),
    );
    let recheck_every = period_or(d, &mut s, "recheck_every", &name, TimeDelta::days(90));
    let attachments = read_attachments(d, &mut s, &name, base);

    let mut milestone_ids = HashMap::new();
    let mut milestones = Some(Vec::new());
    let milestone_sections = s.tables(d, "milestone", MILESTONE_KEYS);
    if milestone_sections.is_empty() {
        d.warn(header.clone(), format!("{name} has no milestones; expected at least one [[engagement.milestone]] with a due date (explicit deadlines keep work on track)"));
    }
    for m in milestone_sections {
        let m = read_milestone(d, m, &mut milestone_ids, &name, owner_tz, starts, base);
        match (m, milestones.as_mut()) {
            (Some(m), Some(list)) => list.push(m),
            _ => milestones = None,
        }
    }
    let attachments_total: u64 = attachments
        .iter()
        .flatten()
        .chain(
            milestones
                .iter()
                .flatten()
                .flat_map(|m| m.attachments.iter()),
        )
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if attachments_total > ATTACHMENT_WARN_BYTES {
        d.warn(
            header,
            format!(
                "{name} has {:.1} MB of attachments in all; expected at most 10 MB (many mail servers refuse larger mails)",
                attachments_total as f64 / 1_048_576.0
            ),
        );
    }
    s.finish(d);
    Some(Engagement {
        id: id?,
        contractor: contractor?.get_ref().to_string(),
        contractor_index: contractor_index?,
        title: title?,
        agreement_signed: agreement_signed?,
        agreement_file,
        starts: starts?,
        kickoff: kickoff?,
        deliverables: deliverables?,
        quality_standard: quality?,
        performance_standard: performance?,
        payment_terms: payment_terms?,
        status_reports: status_reports?,
        evaluation: evaluation?,
        recheck_after_delivery: recheck_after?,
        recheck_every: recheck_every?,
        payment: payment?,
        budget: budget?,
        attachments: attachments?,
        milestones: milestones?,
    })
}

pub(super) fn read_milestone(
    d: &mut Diagnostics<'_>,
    mut s: Section<'_, '_>,
    seen: &mut HashMap<String, usize>,
    engagement: &str,
    owner_tz: Tz,
    starts: Option<NaiveDate>,
    base: &Path,
) -> Option<Milestone> {
    let id = read_id(d, &mut s, "milestone", seen);
    let name = format!("{} of {engagement}", s.name);
    s.rename(name.clone());
    let title = s
        .req_str(d, "title", "title = \"what is due\"")
        .and_then(|v| {
            check(d, &v, &format!("`title` in {name}"), values::header_text)
                .map(|_| v.get_ref().to_string())
        });
    let due = match s.datetime_text(d, "due") {
        None => {
            if !s.has("due") {
                d.error(
                    s.span.clone(),
                    format!(
                        "{name} is missing `due`; expected due = 2026-12-05 or a local date-time"
                    ),
                );
            }
            None
        }
        Some(v) => {
            let what = format!("`due` in {name}");
            let t = match values::when(v.get_ref()) {
                Ok(When::Date(day)) => values::end_of_day(day, owner_tz),
                Ok(When::Local(dt)) => values::local_instant(dt, owner_tz),
                Ok(When::Instant(t)) => Ok(t),
                Err(e) => Err(e),
            };
            match t {
                Ok(t) => {
                    let start = starts.and_then(|s| {
                        values::local_instant(s.and_time(NaiveTime::MIN), owner_tz).ok()
                    });
                    if start.is_some_and(|start| t < start) {
                        d.warn(v.span(), format!("{name} is due before the engagement starts; expected a due date on or after `starts`"));
                    }
                    Some(t)
                }
                Err(e) => {
                    d.error(v.span(), format!("{what}: {e}"));
                    None
                }
            }
        }
    };
    let remind_before = match s.str_array(d, "remind_before", "periods such as [\"3d\", \"1d\"]") {
        None => Some(vec![TimeDelta::days(1)]),
        Some(items) => {
            let parsed: Vec<Option<TimeDelta>> = items
                .iter()
                .map(|v| check(d, v, &format!("`remind_before` in {name}"), values::period))
                .collect();
            parsed.into_iter().collect::<Option<Vec<_>>>().map(|mut v| {
                v.sort_by(|a, b| b.cmp(a));
                v.dedup();
                v
            })
        }
    };
    let attachments = read_attachments(d, &mut s, &name, base);
    s.finish(d);
    Some(Milestone {
        id: id?,
        title: title?,
        due: due?,
        remind_before: remind_before?,
        attachments: attachments?,
    })
}

pub(super) fn read_attachments(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    name: &str,
    base: &Path,
) -> Option<Vec<PathBuf>> {
    let Some(items) = s.str_array(
        d,
        "attachments",
        "file paths such as [\"briefs/brief.pdf\"]",
    ) else {
        return Some(Vec::new());
    };
    let mut ok = true;
    let mut out = Vec::new();
    for v in items {
        let p = resolve(base, v.get_ref());
        if !p.is_file() {
            ok = false;
            d.error(
                v.span(),
                format!(
                    "the attachment {} of {name} does not exist; expected a readable file",
                    p.display()
                ),
            );
        }
        out.push(p);
    }
    ok.then_some(out)
}
