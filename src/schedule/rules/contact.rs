//! The rules about hearing from the contractor: status requests, the owner's
//! notice when one went unanswered, silence, and a question the owner has
//! not answered.
//!
//! # Silence, measured against the agreement
//! The clock starts when the instructions reached the contractor and is
//! reset by every genuine mail from them (the inbox's judgement, `message`
//! included). It alerts after the longer of `silence_alert_after` and the
//! agreed reporting cadence plus [`GRACE`]: a contractor who reports as
//! agreed is never called silent, however far apart the reports are agreed
//! to be; and with a reporting schedule, only once a request has reached
//! them since they last wrote, [`GRACE`] after it at the earliest. While
//! their address is held after a bounce, the bounce notice has said what
//! there is to say.

use super::{Subject, recurring, recurring_catch_up};
use crate::schedule::occurrence;
use crate::schedule::{Item, Window};
use crate::templates::Purpose;
use chrono::{DateTime, TimeDelta, Utc};

/// How long past the agreed reporting cadence a contractor may be quiet
/// before the owner hears of it: three days covers a request answered after
/// a weekend (a Friday request, a Monday reply) and a reply written the day
/// after, the two ordinary ways a punctual contractor is late.
pub(crate) const GRACE: TimeDelta = TimeDelta::days(3);

/// The longest gap between two consecutive status requests around `t` (a
/// "MON,THU" schedule has gaps of 3 and 4 days: 4).
fn cadence(s: &Subject<'_>, t: DateTime<Utc>) -> Option<TimeDelta> {
    let sched = s.e.status_reports.as_ref()?;
    let a = occurrence::latest_at_or_before(sched, t).unwrap_or(t);
    let b = occurrence::next_after(sched, a)?;
    let c = occurrence::next_after(sched, b)?;
    Some((b - a).max(c - b))
}

/// The silence clock: since when the contractor has been quiet, and the
/// instant that quiet becomes silence; `None` while nothing has reached them
/// or the rule does not apply (no open work, the address held after a
/// bounce, or, with a reporting schedule, no request has reached them since
/// they last wrote: a contractor who reports when asked is not silent while
/// nobody asked, as after Handoff's own downtime).
pub(crate) fn silence_since(s: &Subject<'_>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if !s.running() || s.held || s.open().next().is_none() {
        return None;
    }
    let reached = s.reached()?;
    let since = s.last_heard().map_or(reached, |t| t.max(reached));
    let Some(cadence) = cadence(s, since) else {
        return Some((since, since + s.model.policy.silence_alert_after));
    };
    let asked = s.facts.status_sent(&s.e.id).map(|(_, at)| *at)?;
    if asked < since || bounced(s, asked) {
        return None;
    }
    let after = s.model.policy.silence_alert_after.max(cadence + GRACE);
    Some((since, (since + after).max(asked + GRACE)))
}

/// How long the contractor has the instructions before the first status
/// request: a day. "How is it going?" an hour after "here is the work" is
/// noise; a weekly Monday request on the Monday work starts waits for the
/// next Monday, a daily one for the next working day.
pub(crate) const FIRST_REQUEST_AFTER: TimeDelta = TimeDelta::days(1);

/// The earliest a status request may be scheduled: [`FIRST_REQUEST_AFTER`]
/// past the instructions reaching the contractor, or, before they have,
/// past the moment they go (the start, or this pass when the start is
/// behind us).
fn first_request(s: &Subject<'_>, w: &Window) -> DateTime<Utc> {
    let now = if w.mode == crate::schedule::Mode::Due {
        w.until
    } else {
        w.after
    };
    let reached = s.reached().unwrap_or_else(|| s.start.max(now));
    reached.max(s.start) + FIRST_REQUEST_AFTER
}

/// The status request owed at `now` (its scheduled instant): the latest
/// occurrence, unless downtime left it closer to the next one (then none,
/// the next one goes on its own date). Queued requests other than this one
/// are superseded ([`crate::schedule::review`]).
pub(crate) fn status_owed(s: &Subject<'_>, w: &Window) -> Option<DateTime<Utc>> {
    let sched = s.e.status_reports.as_ref()?;
    if !s.running() || s.open().next().is_none() {
        return None;
    }
    let from = first_request(s, w);
    recurring_catch_up(sched, w)
        .into_iter()
        .find(|at| *at >= from)
}

/// Whether the latest request that reached the contractor (delivered at
/// `at`) came back as a bounce: then it did not reach them after all.
fn bounced(s: &Subject<'_>, at: DateTime<Utc>) -> bool {
    s.facts.latest(&s.e.id, "bounce").is_some_and(|b| b >= at)
}

/// Status-report requests, and the owner notice when one that reached the
/// contractor got no report within a cadence of its delivery.
pub(super) fn status(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let Some(sched) = &s.e.status_reports else {
        return;
    };
    if s.open().next().is_none() {
        return;
    }
    let id = &s.e.id;
    let next = s.next_open().map(|m| m.id.clone());
    let requests: Vec<DateTime<Utc>> = if w.mode == crate::schedule::Mode::Due {
        status_owed(s, w).into_iter().collect()
    } else {
        let from = first_request(s, w);
        recurring(sched, w)
            .into_iter()
            .filter(|at| *at >= from)
            .collect()
    };
    for at in requests {
        out.push(s.item(
            at,
            Purpose::StatusRequest,
            next.as_deref(),
            "status_reports schedule (contractor's zone)",
            format!("status_request/{id}/{}", at.to_rfc3339()),
            format!("status_request/{id}"),
        ));
    }
    missing(s, sched, w, next.as_deref(), out);
}

/// The latest request that reached the contractor, unanswered a cadence
/// after it arrived: one owner notice, counted from the delivery (a request
/// delivered late after downtime gets its full time). Not when the silence
/// alert of the same silence comes first (it says more), nor while the
/// address is held after a bounce.
fn missing(
    s: &Subject<'_>,
    sched: &crate::model::Schedule,
    w: &Window,
    next: Option<&str>,
    out: &mut Vec<Item>,
) {
    let id = &s.e.id;
    // While their address is held after a bounce, the last request may
    // well be the mail that bounced: it did not reach them.
    if s.held {
        return;
    }
    let Some((key, delivered)) = s.facts.status_sent(id) else {
        return;
    };
    if bounced(s, *delivered) {
        return;
    }
    let Some(asked) = key
        .rsplit('/')
        .next()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
    else {
        return;
    };
    let Some(following) = occurrence::next_after(sched, asked) else {
        return;
    };
    let at = *delivered + (following - asked);
    if !w.contains(at) || at < s.start {
        return;
    }
    let answered = ["status_report", "delivery"]
        .iter()
        .filter_map(|k| s.facts.latest(id, k))
        .any(|t| t >= *delivered);
    if answered {
        return;
    }
    if silence_since(s).is_some_and(|(_, silent)| silent <= at) {
        return;
    }
    let mut it = s.item(
        at,
        Purpose::NoticeStatusMissing,
        next,
        "a status request that reached the contractor got no report within a cadence",
        format!("status_missing/{id}/{}", asked.to_rfc3339()),
        format!("status_missing/{id}"),
    );
    if w.writes() {
        it.extra
            .insert("requested".into(), s.owner().time(*delivered));
    }
    out.push(it);
}

/// No genuine mail from the contractor for the silence threshold while work
/// is outstanding: one alert per silence.
pub(super) fn silence(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let Some((since, at)) = silence_since(s) else {
        return;
    };
    if !w.contains(at) {
        return;
    }
    let mut it = s.item(
        at,
        Purpose::NoticeSilence,
        s.next_open().map(|m| m.id.as_str()),
        "no genuine contractor mail for the longer of silence_alert_after and the reporting cadence plus 3 days",
        format!("silence/{}/{}", s.e.id, since.to_rfc3339()),
        format!("silence/{}", s.e.id),
    );
    if w.writes() {
        it.extra
            .insert("quiet_for".into(), s.owner().rough(at - since));
        it.extra.insert("last_heard".into(), s.owner().time(since));
    }
    out.push(it);
}

/// A question the owner has not answered within `answer_within`: one
/// reminder quoting it.
pub(super) fn unanswered(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let Some((asked, text)) = s.facts.last_question(&s.e.id) else {
        return;
    };
    if s.facts
        .latest(&s.e.id, "owner_answered")
        .is_some_and(|t| t >= *asked)
    {
        return;
    }
    let at = *asked + s.model.policy.answer_within;
    if !w.contains(at) {
        return;
    }
    let mut it = s.item(
        at,
        Purpose::NoticeUnanswered,
        None,
        "contractor question unanswered after answer_within",
        format!("unanswered/{}/{}", s.e.id, asked.to_rfc3339()),
        format!("unanswered/{}", s.e.id),
    );
    if w.writes() {
        it.extra.insert("asked".into(), s.owner().time(*asked));
        it.extra.insert("excerpt".into(), text.clone());
    }
    out.push(it);
}
