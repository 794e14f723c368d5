//! The owner corrects a misreading: `handoff correct ID KIND` (ID the
//! Message-ID or the event number `handoff log` shows), or a reply "wrong:
//! question", "wrong: not delivered", "wrong: not a bounce" … to the notice
//! that followed the reading.
//!
//! In one transaction: the effects of what the mail was read as are undone
//! (a delivery retracted, a hold after a "bounce" lifted, an
//! acknowledgement taken back, the notices it queued and that have not gone
//! yet withdrawn), the effects of what the owner says it is are applied,
//! and the journal gets `owner_corrected` (the act), `reading_corrected`
//! (naming the mail: every reading of it before this one no longer counts,
//! see [`crate::store::events`]) and the new reading(s) under the mail's
//! Message-ID and arrival time. Nothing goes to the contractor.
//!
//! "wrong: not X" leaves the mail's other readings standing; with none
//! left it is a plain `message` (a delivery report that is "not a bounce"
//! is `delivery_delayed`).

use super::act::{Act, Also, refused};
use super::{ActionError, ActionOutcome, Origin};
use crate::kinds::Kind;
use crate::lifecycle::{MilestoneEvent, MilestoneState};
use crate::store::{EventRecord, NewEvent, Store, StoreError};
use crate::words::Words;

/// What the owner says a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// It is this (and nothing else).
    Is(Kind),
    /// It is not this.
    Not(Kind),
}

/// The kinds a correction names, by their word-list category
/// (`spoken_question = ["frage"]` in `src/words/de.toml`), beside the
/// journal's own names.
const SPOKEN: &[(&str, Kind)] = &[
    ("spoken_delivery", Kind::Delivery),
    ("spoken_question", Kind::Question),
    ("spoken_status_report", Kind::StatusReport),
    ("spoken_acknowledgement", Kind::Acknowledgement),
    ("spoken_message", Kind::Message),
    ("spoken_bounce", Kind::Bounce),
    ("spoken_auto_reply", Kind::AutoReply),
    ("spoken_read_receipt", Kind::ReadReceipt),
    ("spoken_delivery_delayed", Kind::DeliveryDelayed),
];

impl Correction {
    /// Reads "question", "status_report", "not delivered", "not-a-bounce",
    /// "not a question", and the same in the languages of the word lists
    /// ("keine Frage", "pas livré", "no es una pregunta"); the error says
    /// what was expected.
    pub fn parse(text: &str) -> Result<Correction, String> {
        let norm = text
            .trim()
            .trim_end_matches(['.', '!'])
            .replace(['_', '-'], " ");
        let lex = crate::words::lexicon();
        let mut words = Words::new(&norm);
        let kind_of = |words: &Words| {
            SPOKEN
                .iter()
                .find(|(category, _)| lex.is_whole(category, words, &[]).is_some())
                .map(|(_, k)| *k)
                .or_else(|| Kind::parse(&words.tokens.join("_")).filter(|k| k.is_reading()))
        };
        // The longest negation or article the words start with, each
        // taken off ("not a", "ce n'est pas une"), a kind left after it;
        // a kind's own words are never taken for one ("non distribué" is
        // a bounce, though "non" negates in Italian).
        let mut negated = false;
        while kind_of(&words).is_none() {
            let longest = |category: &str| {
                lex.find_all(category, &words, &[])
                    .into_iter()
                    .find(|h| h.start == 0 && h.end < words.tokens.len())
            };
            let (hit, negation) = match longest("spoken_not") {
                Some(h) => (h, true),
                None => match longest("spoken_article") {
                    Some(h) => (h, false),
                    None => break,
                },
            };
            negated |= negation;
            words = Words::new(&words.tokens[hit.end..].join(" "));
        }
        match kind_of(&words) {
            Some(k) if negated => Ok(Correction::Not(k)),
            Some(k) => Ok(Correction::Is(k)),
            None => Err(format!(
                "{:?} is not a kind of mail; expected one of: delivery, question, status report, \
                 acknowledgement, message, bounce, auto reply, read receipt, delivery delayed \
                 (or \"not\" and one of them; or the same in your language)",
                text.trim().chars().take(40).collect::<String>()
            )),
        }
    }

    /// What the mail is, once corrected, given what it was read as.
    fn resolve(self, old: &[Kind]) -> Vec<Kind> {
        match self {
            Correction::Is(k) => vec![k],
            Correction::Not(k) => {
                let rest: Vec<Kind> = old.iter().copied().filter(|o| *o != k).collect();
                match (rest.is_empty(), k) {
                    (false, _) => rest,
                    (true, Kind::Bounce | Kind::DeliveryDelayed) => vec![Kind::DeliveryDelayed],
                    (true, _) => vec![Kind::Message],
                }
            }
        }
    }
}

impl std::fmt::Display for Correction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Correction::Is(k) => write!(f, "{k}"),
            Correction::Not(k) => write!(f, "not {k}"),
        }
    }
}

/// The Message-ID (with angle brackets) an ID names, and the readings of it
/// still standing.
fn find(store: &Store, id: &str) -> Result<(String, Vec<EventRecord>), ActionError> {
    let id = id.trim();
    let message_id = match id.parse::<i64>() {
        Ok(n) => {
            let event = store.event(n)?.ok_or_else(|| {
                ActionError::Refused(format!("there is no event {n} in the journal"))
            })?;
            event.message_id.ok_or_else(|| {
                ActionError::Refused(format!(
                    "event {n} ({}) names no mail: nothing to correct",
                    event.kind
                ))
            })?
        }
        Err(_) => format!("<{}>", id.trim_matches(['<', '>'])),
    };
    let readings: Vec<EventRecord> = store
        .readings_of(&message_id)?
        .into_iter()
        .filter(|e| Kind::parse(&e.kind).is_some_and(|k| k.is_reading()))
        .collect();
    if readings.is_empty() {
        return Err(ActionError::Refused(format!(
            "no reading of the mail {message_id} to correct (see `handoff log`)"
        )));
    }
    Ok((message_id, readings))
}

/// The engagement the mail an ID names was read for (the CLI needs it
/// before the act).
pub fn reading_engagement(store: &Store, id: &str) -> Result<Option<String>, ActionError> {
    let (_, readings) = find(store, id)?;
    Ok(readings.into_iter().find_map(|e| e.engagement))
}

/// Whether another mail than `message_id` still stands as an
/// acknowledgement of the engagement.
fn other_acknowledgement(
    store: &Store,
    engagement: &str,
    message_id: &str,
) -> Result<bool, StoreError> {
    let filter = crate::store::EventFilter {
        engagement: Some(engagement.to_string()),
        limit: None,
    };
    for e in store.events(&filter)? {
        if e.kind != "acknowledgement" {
            continue;
        }
        let Some(id) = e.message_id.as_deref().filter(|id| *id != message_id) else {
            continue;
        };
        if store
            .readings_of(id)?
            .iter()
            .any(|r| r.kind == "acknowledgement")
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Corrects the reading; see the module doc.
pub(super) fn apply(
    act: &Act<'_>,
    store: &mut Store,
    reading: Option<String>,
    to: Correction,
    milestone: Option<String>,
    also: Also<'_>,
) -> Result<ActionOutcome, ActionError> {
    let e = &act.e.id;
    let id = reading
        .or_else(|| match &act.origin {
            Origin::Reply { reading, .. } => reading.clone(),
            Origin::Command => None,
        })
        .ok_or_else(|| {
            ActionError::Refused(
                "name the mail to correct: its Message-ID or its event number in `handoff log`"
                    .into(),
            )
        })?;
    let (message_id, readings) = find(store, &id)?;
    if let Some(other) = readings
        .iter()
        .find_map(|r| r.engagement.as_deref())
        .filter(|x| x != e)
    {
        return Err(ActionError::Refused(format!(
            "the mail {message_id} was read for {other}, not {e}"
        )));
    }
    let mut old: Vec<Kind> = Vec::new();
    for r in &readings {
        if let Some(k) = Kind::parse(&r.kind).filter(|k| !old.contains(k)) {
            old.push(k);
        }
    }
    let new = to.resolve(&old);
    let names = |ks: &[Kind]| ks.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
    if new == old {
        return Err(ActionError::Refused(format!(
            "the mail {message_id} is read as {} already",
            names(&old)
        )));
    }
    let arrived = chrono::DateTime::parse_from_rfc3339(&readings[0].time)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(act.now);
    let read_for = readings.iter().find_map(|r| r.milestone.clone());
    let state = |m: &str| {
        act.record
            .milestones
            .iter()
            .find(|r| r.id == m)
            .map(|r| r.state)
    };
    let bare = message_id.trim_matches(['<', '>']).to_string();
    let contractor = act.model.contractor_of(act.e).email.to_string();
    let mut transitions: Vec<(String, MilestoneEvent)> = Vec::new();
    let mut withdraw: Vec<String> = Vec::new();
    let (mut pause, mut resume) = (false, false);
    let mut lines = Vec::new();
    for k in old.iter().filter(|k| !new.contains(k)) {
        match k {
            Kind::Delivery => {
                withdraw.push(format!("notice_delivery/{e}/{bare}"));
                if let Some(m) = &read_for {
                    match state(m) {
                        Some(MilestoneState::Delivered) => {
                            transitions.push((m.clone(), MilestoneEvent::DeliveryRetracted));
                            lines.push(format!("{m} is open for delivery again"));
                        }
                        Some(MilestoneState::Accepted) => {
                            return Err(ActionError::Refused(format!(
                                "{e}/{m} is accepted already: a correction cannot take that back"
                            )));
                        }
                        _ => {}
                    }
                }
            }
            Kind::Acknowledgement if !other_acknowledgement(store, e, &message_id)? => {
                for m in act
                    .record
                    .milestones
                    .iter()
                    .filter(|m| m.state == MilestoneState::Acknowledged)
                {
                    transitions.push((m.id.clone(), MilestoneEvent::AcknowledgementRetracted));
                }
            }
            Kind::Bounce => {
                withdraw.push(format!("notice_bounce/{e}/{bare}"));
                resume = true;
                lines.push(format!("mail to {contractor} goes out again"));
            }
            Kind::Question => withdraw.push(format!("notice_question/{e}/{bare}")),
            _ => {}
        }
    }
    let mut delivered_to = None;
    for k in new.iter().filter(|k| !old.contains(k)) {
        match k {
            Kind::Delivery => {
                let open = |m: &str| state(m).is_some_and(|s| s.awaits_delivery());
                let m = match milestone.clone() {
                    Some(m) => act.known(m)?,
                    None => read_for
                        .clone()
                        .filter(|m| open(m) || transitions.iter().any(|(t, _)| t == m))
                        .or_else(|| act.cited_milestone().filter(|m| open(m)))
                        .or_else(|| {
                            act.record
                                .milestones
                                .iter()
                                .find(|m| !m.removed_from_config && m.state.awaits_delivery())
                                .map(|m| m.id.clone())
                        })
                        .ok_or_else(|| {
                            ActionError::Refused(format!(
                                "{e} has no milestone waiting for a delivery"
                            ))
                        })?,
                };
                transitions.push((m.clone(), MilestoneEvent::Delivered));
                lines.push(format!("{m} is delivered"));
                delivered_to = Some(m);
            }
            Kind::Acknowledgement => {
                for m in act
                    .record
                    .milestones
                    .iter()
                    .filter(|m| m.state == MilestoneState::Instructed)
                {
                    transitions.push((m.id.clone(), MilestoneEvent::Acknowledged));
                }
            }
            Kind::Bounce => {
                pause = true;
                lines.push(format!("mail to {contractor} is held"));
            }
            _ => {}
        }
    }
    let change = format!("{} → {}", names(&old), names(&new));
    let mut event = act.event.clone();
    event.milestone = delivered_to.clone().or_else(|| read_for.clone());
    event.detail = Some(format!("{message_id}: {change}"));
    let subject = readings[0].subject.clone();
    let first_detail = readings[0].detail.clone().unwrap_or_default();
    let now = act.now;
    store
        .transaction(|tx| {
            tx.record_event(&event, now)?;
            tx.record_event(
                &NewEvent {
                    kind: "reading_corrected".into(),
                    engagement: Some(e.clone()),
                    milestone: event.milestone.clone(),
                    message_id: Some(message_id.clone()),
                    subject: subject.clone(),
                    detail: Some(format!("{change} (by the owner)")),
                    ..NewEvent::internal("reading_corrected")
                },
                now,
            )?;
            for k in &new {
                // Recorded at the time the mail came: the owner only says
                // what it was, not when.
                tx.record_event(
                    &NewEvent {
                        kind: k.as_str().to_string(),
                        direction: Some(crate::store::Direction::In),
                        engagement: Some(e.clone()),
                        milestone: if *k == Kind::Delivery {
                            delivered_to.clone()
                        } else {
                            read_for.clone()
                        },
                        message_id: Some(message_id.clone()),
                        subject: subject.clone(),
                        detail: Some(first_detail.clone()),
                    },
                    arrived,
                )?;
            }
            for (m, ev) in &transitions {
                tx.apply_milestone(e, m, *ev, now)?;
            }
            for key in &withdraw {
                tx.withdraw_key(
                    key,
                    "withdrawn: the owner corrected the reading it followed",
                    now,
                )?;
            }
            if resume {
                tx.resume_recipient(&contractor, now)?;
            }
            if pause {
                tx.pause_recipient(&contractor, "the owner says mail to it bounced", now)?;
            }
            also(tx)
        })
        .map_err(refused)?;
    let mut summary = format!(
        "{message_id} is now read as {} (was {})",
        names(&new),
        names(&old)
    );
    for l in lines {
        summary.push_str("; ");
        summary.push_str(&l);
    }
    summary.push_str("; nothing was sent to the contractor");
    Ok(act.done(event.milestone.clone(), Vec::new(), summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_read_as_the_owner_writes_them() {
        let p = |t: &str| Correction::parse(t);
        assert_eq!(p("question"), Ok(Correction::Is(Kind::Question)));
        assert_eq!(p("not delivered"), Ok(Correction::Not(Kind::Delivery)));
        assert_eq!(p("Not a bounce."), Ok(Correction::Not(Kind::Bounce)));
        assert_eq!(p("status_report"), Ok(Correction::Is(Kind::StatusReport)));
        assert_eq!(p("status report"), Ok(Correction::Is(Kind::StatusReport)));
        assert_eq!(p("not-a-question"), Ok(Correction::Not(Kind::Question)));
        assert!(p("owner_command").is_err());
        assert!(p("banana").unwrap_err().contains("expected one of"));
    }

    #[test]
    fn corrections_read_in_the_owners_language_as_the_notices_write_them() {
        let p = |t: &str| Correction::parse(t);
        let not = |k| Ok(Correction::Not(k));
        let is = |k| Ok(Correction::Is(k));
        // The words each translated notice offers (templates/<lang>/notice_*.txt).
        assert_eq!(p("nicht geliefert"), not(Kind::Delivery));
        assert_eq!(p("keine Frage"), not(Kind::Question));
        assert_eq!(p("keine Unzustellbarkeit"), not(Kind::Bounce));
        assert_eq!(p("Statusbericht"), is(Kind::StatusReport));
        assert_eq!(p("no entregado"), not(Kind::Delivery));
        assert_eq!(p("no es una pregunta"), not(Kind::Question));
        assert_eq!(p("no es un rebote"), not(Kind::Bounce));
        assert_eq!(p("informe de estado"), is(Kind::StatusReport));
        assert_eq!(p("pas livré"), not(Kind::Delivery));
        assert_eq!(p("pas une question"), not(Kind::Question));
        assert_eq!(p("ce n’est pas un rejet"), not(Kind::Bounce));
        assert_eq!(p("rapport d’avancement"), is(Kind::StatusReport));
        assert_eq!(p("não entregue"), not(Kind::Delivery));
        assert_eq!(p("não é uma pergunta"), not(Kind::Question));
        assert_eq!(p("não é uma devolução"), not(Kind::Bounce));
        assert_eq!(p("relatório de status"), is(Kind::StatusReport));
        assert_eq!(p("non distribué"), is(Kind::Bounce));
        assert_eq!(p("pas non distribué"), not(Kind::Bounce));
        assert_eq!(p("no entregado"), not(Kind::Delivery));
        // A negation alone names nothing.
        assert!(p("nicht").is_err());
        assert!(p("keine Ahnung").is_err());
    }

    #[test]
    fn not_x_keeps_the_other_readings() {
        let old = [Kind::Delivery, Kind::Question];
        assert_eq!(
            Correction::Not(Kind::Delivery).resolve(&old),
            [Kind::Question]
        );
        assert_eq!(
            Correction::Not(Kind::Delivery).resolve(&[Kind::Delivery]),
            [Kind::Message]
        );
        assert_eq!(
            Correction::Not(Kind::Bounce).resolve(&[Kind::Bounce]),
            [Kind::DeliveryDelayed]
        );
        assert_eq!(
            Correction::Is(Kind::Question).resolve(&old),
            [Kind::Question]
        );
    }
}
