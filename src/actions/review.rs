//! The closing review an act queues when it closes an engagement: the last
//! milestone accepted (finished) or `end` (ended). One owner mail,
//! `notice_closing_review`, under the key `closing_review/<engagement>`, in
//! the same transaction as the transition, so an engagement closes with its
//! review or not at all, and a replay queues nothing twice.

use super::{ActionError, Plan, request};
use crate::lifecycle::EngagementEvent;
use crate::model::{Engagement, Model};
use crate::outbox::Composer;
use crate::record::{self, Closing, History};
use crate::store::Store;
use crate::templates::Purpose;
use chrono::{DateTime, Utc};

/// How a transition closes an engagement, if it does.
pub(super) fn closing(event: Option<EngagementEvent>) -> Option<Closing> {
    match event? {
        EngagementEvent::AllMilestonesAccepted => Some(Closing::Finished),
        EngagementEvent::Ended => Some(Closing::Ended),
        EngagementEvent::AgreementSigned => None,
    }
}

/// Plans the review mail of `e`, closing as `closing` now.
pub(super) fn closing_review(
    model: &Model,
    composer: &Composer<'_>,
    store: &mut Store,
    e: &Engagement,
    closing: Closing,
    plan: &mut Plan,
    now: DateTime<Utc>,
) -> Result<(), ActionError> {
    let history = History::load(store)?;
    let Some(review) = record::review(model, &history, &e.id, now, Some(closing)) else {
        return Ok(());
    };
    // The owner reads it: their language, dates in their zone.
    let reader = model.owner.reader();
    let contractor = record::contractor(model, &history, &model.contractor_of(e).id, now);
    let mut req = request(e, Purpose::NoticeClosingReview, None);
    let words = &model.owner.language.phrases().report;
    let closed = match closing {
        Closing::Finished => words.finished,
        Closing::Ended => words.ended,
    };
    req.extra.insert("closed".into(), closed.into());
    req.extra
        .insert("review".into(), review.lines(&reader).join("\n"));
    req.extra.insert(
        "record".into(),
        contractor
            .lines(&reader)
            .iter()
            .map(|l| format!("- {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let key = format!("closing_review/{}", e.id);
    plan.mail(model, composer, store, key, e, req, now)
}
