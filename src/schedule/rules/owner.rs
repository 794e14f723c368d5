//! The rules about the owner's own duties: the weekly agreement reminder,
//! evaluations, payments and the one payment follow-up.

use super::{Subject, periodic, recurring};
use crate::schedule::occurrence;
use crate::schedule::{Item, Window};
use crate::templates::Purpose;
use chrono::{DateTime, TimeDelta, Utc};

/// Weekly: the owner is told work has not started for want of a signature.
pub(super) fn agreement(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let since = s
        .facts
        .latest(&s.e.id, "engagement_planned")
        .unwrap_or(s.start);
    let week = TimeDelta::days(7);
    for at in periodic(since + week, week, w) {
        let mut it = s.item(
            at,
            Purpose::AgreementReminder,
            None,
            "agreement not signed: weekly owner reminder",
            format!("agreement_reminder/{}/{}", s.e.id, at.to_rfc3339()),
            format!("agreement_reminder/{}", s.e.id),
        );
        if w.writes() {
            it.extra
                .insert("waiting_since".into(), s.owner().time(since));
        }
        out.push(it);
    }
}

/// Whether an occurrence of an owner's schedule at `at` is one Handoff could
/// have told the owner of: after work started and after Handoff first
/// recorded the engagement. One before install was never reminded of, so
/// it is neither followed up nor listed as waiting (the owner may well have
/// paid or evaluated it already).
fn known(s: &Subject<'_>, at: DateTime<Utc>) -> bool {
    at >= s.start
        && s.facts
            .latest(&s.e.id, "engagement_planned")
            .is_none_or(|k| at >= k)
}

/// The evaluation that fell due at or before `now` and has not been recorded
/// since (`handoff evaluate`), if any: what the digest counts as waiting.
pub(crate) fn evaluation_due(s: &Subject<'_>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let at = occurrence::latest_at_or_before(&s.e.evaluation, now).filter(|at| known(s, *at))?;
    let done = s.facts.latest(&s.e.id, "owner_evaluated");
    done.is_none_or(|t| t < at).then_some(at)
}

/// The payment that fell due at or before `now` with no payment recorded
/// since (`handoff paid`), if any.
pub(crate) fn payment_due(s: &Subject<'_>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let pay = s.e.payment.as_ref()?;
    let at = occurrence::latest_at_or_before(pay, now).filter(|at| known(s, *at))?;
    let paid = s.facts.latest(&s.e.id, "owner_paid");
    paid.is_none_or(|t| t < at).then_some(at)
}

/// Evaluation and payment reminders to the owner, and the payment follow-up.
pub(super) fn owner_schedules(s: &Subject<'_>, w: &Window, out: &mut Vec<Item>) {
    let id = &s.e.id;
    for at in recurring(&s.e.evaluation, w)
        .into_iter()
        .filter(|at| *at >= s.start)
    {
        let mut it = s.item(
            at,
            Purpose::NoticeEvaluationDue,
            None,
            "evaluation schedule (owner's zone)",
            format!("evaluation/{id}/{}", at.to_rfc3339()),
            format!("evaluation/{id}"),
        );
        // The record is for the mail itself: not worth writing for the plan.
        if w.writes() {
            it.extra
                .insert("record".into(), crate::schedule::summary::record(s, at));
        }
        out.push(it);
    }
    let Some(pay) = &s.e.payment else {
        return;
    };
    for at in recurring(pay, w).into_iter().filter(|at| *at >= s.start) {
        let mut it = s.item(
            at,
            Purpose::NoticePaymentDue,
            None,
            "payment schedule (owner's zone)",
            format!("payment/{id}/{}", at.to_rfc3339()),
            format!("payment/{id}"),
        );
        if w.writes() {
            it.extra.insert("due_on".into(), s.owner().day(at));
            it.extra.insert("followup".into(), String::new());
        }
        out.push(it);
    }
    // The follow-up of a payment due at p falls at p + delay: the window of
    // payments whose follow-up falls in `w` is `w` shifted back by the delay.
    let delay = s.model.policy.payment_followup_after;
    let shifted = w.shifted(-delay);
    let paid = s.facts.latest(id, "owner_paid");
    for p in recurring(pay, &shifted)
        .into_iter()
        .filter(|p| known(s, *p) && paid.is_none_or(|t| t < *p))
    {
        let mut it = s.item(
            p + delay,
            Purpose::NoticePaymentDue,
            None,
            "payment not recorded after payment_followup_after: one more reminder",
            format!("payment_followup/{id}/{}", p.to_rfc3339()),
            format!("payment_followup/{id}"),
        );
        if w.writes() {
            it.extra.insert("due_on".into(), s.owner().time(p));
            it.extra.insert("followup".into(), "yes".into());
        }
        out.push(it);
    }
}
