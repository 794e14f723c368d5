//! The record and the closing review against a store with a known history:
//! a punctual-but-redone first engagement that finished, a second one gone
//! quiet and overdue, and a contractor with nothing yet.

use super::*;
use crate::config;
use crate::lifecycle::{EngagementEvent, MilestoneEvent};
use crate::model::Model;
use crate::store::{Direction, NewEvent};
use std::path::Path;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const CONFIG: &str = r#"
[owner]
name = "Ada Lovelace"
email = "ada@example.test"
timezone = "Europe/Berlin"

[policy]
silence_alert_after = "8d"

[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "dana@example.test"

[[contractor]]
id = "eve"
name = "Eve Example"
email = "eve@example.test"

[[engagement]]
id = "site"
contractor = "dana"
title = "Website"
agreement_signed = 2027-02-10
starts = 2027-03-01
deliverables = "Pages"
quality_standard = "Valid HTML"
performance_standard = "On time"
budget = "2000 EUR"

[[engagement.milestone]]
id = "draft"
title = "Draft"
due = 2027-03-20

[[engagement.milestone]]
id = "final"
title = "Final site"
due = 2027-04-10

[[engagement]]
id = "logo"
contractor = "dana"
title = "Logo"
agreement_signed = 2027-04-01
starts = 2027-04-20
deliverables = "A logo"
quality_standard = "Crisp"
performance_standard = "On time"

[[engagement.milestone]]
id = "sketch"
title = "Sketch"
due = 2027-05-01
"#;

const NOW: &str = "2027-05-03T12:00:00Z";

fn model() -> Model {
    config::parse(Path::new("test.toml"), CONFIG, Path::new("/tmp"), None)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .model
}

fn event(store: &Store, at: &str, kind: &str, dir: Direction, engagement: &str) -> NewEvent {
    let e = NewEvent {
        kind: kind.to_string(),
        direction: Some(dir),
        engagement: Some(engagement.to_string()),
        ..Default::default()
    };
    store.record_event(&e, t(at)).unwrap();
    e
}

fn with(store: &Store, at: &str, e: NewEvent) {
    store.record_event(&e, t(at)).unwrap();
}

fn milestone(store: &mut Store, at: &str, engagement: &str, m: &str, ev: MilestoneEvent) {
    store.apply_milestone(engagement, m, ev, t(at)).unwrap();
}

/// The history described in the module doc, in time order.
fn store(model: &Model) -> Store {
    use Direction::{In, Out};
    let mut s = Store::open_in_memory().unwrap();
    s.reconcile(
        &crate::planned::engagements(model),
        t("2027-02-20T00:00:00Z"),
    )
    .unwrap();
    let site = "site";
    event(&s, "2027-03-01T09:00:00Z", "sent_instructions", Out, site);
    milestone(
        &mut s,
        "2027-03-01T09:00:00Z",
        site,
        "draft",
        MilestoneEvent::InstructionsSent,
    );
    milestone(
        &mut s,
        "2027-03-01T09:00:00Z",
        site,
        "final",
        MilestoneEvent::InstructionsSent,
    );
    event(&s, "2027-03-01T15:00:00Z", "acknowledgement", In, site);
    // A calendar's automatic accept is contact, not an answer.
    event(&s, "2027-03-01T09:00:30Z", "calendar_reply", In, site);
    event(&s, "2027-03-08T14:00:00Z", "sent_status_request", Out, site);
    event(&s, "2027-03-09T14:00:00Z", "status_report", In, site);
    event(&s, "2027-03-15T14:00:00Z", "sent_status_request", Out, site);
    event(&s, "2027-03-19T14:00:00Z", "delivery", In, site);
    milestone(
        &mut s,
        "2027-03-19T14:00:00Z",
        site,
        "draft",
        MilestoneEvent::Delivered,
    );
    let mut redo = NewEvent::internal("owner_redo")
        .engagement(site)
        .milestone("draft");
    redo.detail = Some("the menu overlaps".into());
    with(&s, "2027-03-20T10:00:00Z", redo);
    milestone(
        &mut s,
        "2027-03-20T10:00:00Z",
        site,
        "draft",
        MilestoneEvent::RedoRequested,
    );
    event(&s, "2027-03-20T10:05:00Z", "sent_redo_request", Out, site);
    event(&s, "2027-03-21T10:05:00Z", "delivery", In, site);
    milestone(
        &mut s,
        "2027-03-21T10:05:00Z",
        site,
        "draft",
        MilestoneEvent::Delivered,
    );
    event(&s, "2027-03-22T14:00:00Z", "sent_status_request", Out, site);
    event(&s, "2027-03-22T18:00:00Z", "status_report", In, site);
    let q = |id: &str| NewEvent {
        kind: "question".into(),
        direction: Some(In),
        engagement: Some(site.into()),
        message_id: Some(id.into()),
        detail: Some(format!("question {id}: which   fonts?")),
        ..Default::default()
    };
    with(&s, "2027-03-25T12:00:00Z", q("<q1@x>"));
    let mut answered = NewEvent::internal("owner_answered").engagement(site);
    answered.message_id = Some("<q1@x>".into());
    with(&s, "2027-03-25T16:00:00Z", answered);
    with(
        &s,
        "2027-04-01T09:00:00Z",
        NewEvent::internal("owner_evaluated")
            .engagement(site)
            .detail("4: good work"),
    );
    with(&s, "2027-04-01T12:00:00Z", q("<q2@x>"));
    with(
        &s,
        "2027-04-02T09:00:00Z",
        NewEvent::internal("owner_paid")
            .engagement(site)
            .detail("1000.00 EUR"),
    );
    // Final due 2027-04-10, end of day in Berlin (CEST): 21:59:59Z.
    event(&s, "2027-04-12T21:59:59Z", "delivery", In, site);
    milestone(
        &mut s,
        "2027-04-12T21:59:59Z",
        site,
        "final",
        MilestoneEvent::Delivered,
    );
    milestone(
        &mut s,
        "2027-04-13T08:00:00Z",
        site,
        "draft",
        MilestoneEvent::Accepted,
    );
    milestone(
        &mut s,
        "2027-04-13T08:00:00Z",
        site,
        "final",
        MilestoneEvent::Accepted,
    );
    s.apply_engagement(
        site,
        EngagementEvent::AllMilestonesAccepted,
        t("2027-04-13T08:00:00Z"),
    )
    .unwrap();
    with(
        &s,
        "2027-04-14T09:00:00Z",
        NewEvent::internal("owner_paid")
            .engagement(site)
            .detail("500.00 EUR"),
    );
    // The second engagement: instructions, then nothing.
    event(&s, "2027-04-20T09:00:00Z", "sent_instructions", Out, "logo");
    milestone(
        &mut s,
        "2027-04-20T09:00:00Z",
        "logo",
        "sketch",
        MilestoneEvent::InstructionsSent,
    );
    // An event of another engagement's kind the record ignores.
    event(
        &s,
        "2027-04-21T09:00:00Z",
        "sent_deadline_reminder",
        Out,
        "logo",
    );
    s
}

const H: i64 = 3_600;
const D: i64 = 86_400;

#[test]
fn a_contractors_record_spans_every_engagement_of_theirs() {
    let model = model();
    let history = History::load(&store(&model)).unwrap();
    let all = contractors(&model, &history, t(NOW));
    assert_eq!(
        all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["dana", "eve"]
    );
    let dana = &all[0];
    assert_eq!(dana.name.as_deref(), Some("Dana Díaz"));
    assert_eq!(dana.engagements, ["logo", "site"]);
    // Draft first delivered a day early (then redone), final 2 days late,
    // the sketch overdue since 1 May.
    let m = &dana.milestones;
    assert_eq!((m.on_time, m.late, m.overdue, m.open), (1, 1, 1, 0));
    assert_eq!(m.median_late_secs, Some(2 * D));
    assert_eq!(dana.redo_requests, 1);
    // Instructions 6 h, status 1 d, status 4 d (answered by the delivery),
    // redo 1 d, status 4 h; the logo's instructions still wait.
    let r = &dana.responses;
    assert_eq!((r.answered, r.waiting), (5, 1));
    assert_eq!(r.median_secs, Some(D));
    assert_eq!(r.p90_secs, Some(4 * D));
    let s = &dana.status_requests;
    assert_eq!(
        (s.sent, s.answered, s.waiting, s.percent),
        (3, 2, 0, Some(66))
    );
    assert_eq!(dana.evaluations.len(), 1);
    assert_eq!(dana.evaluations[0].score, 4);
    assert_eq!(dana.evaluations[0].notes.as_deref(), Some("good work"));
    assert_eq!(dana.paid, ["1500.00 EUR"]);

    let lines = dana.lines(chrono_tz::Europe::Berlin);
    assert_eq!(
        lines,
        [
            "milestones: 1 on time, 1 late (median 2 days late), 1 overdue, 0 open",
            "redo requests: 1",
            "replies to Handoff's requests: median 1 day, 90 % within 4 days (5 answered, 1 waiting)",
            "status requests answered: 2 of 3 (66 %)",
            "evaluations: 4/5 on Thursday, April 1, 2027 (site)",
            "paid: 1500.00 EUR",
        ]
    );

    let eve = &all[1];
    assert!(eve.engagements.is_empty());
    assert_eq!(eve.responses, ResponseTimes::default());
    assert_eq!(
        eve.lines(chrono_tz::UTC)[2],
        "replies to Handoff's requests: none answered yet"
    );
}

#[test]
fn the_closing_review_lists_spend_lateness_redos_silences_questions_and_evaluations() {
    let model = model();
    let history = History::load(&store(&model)).unwrap();
    let r = review(&model, &history, "site", t(NOW), None).unwrap();
    assert_eq!(r.closed, Some(Closing::Finished));
    assert_eq!(r.closed_at, Some(t("2027-04-13T08:00:00Z")));
    assert_eq!(r.budget.as_deref(), Some("2000.00 EUR"));
    assert_eq!(r.budget_percent, Some(75));
    assert_eq!(
        r.late().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["final"]
    );
    assert_eq!(
        r.redone().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["draft"]
    );
    // With silence_alert_after = 8d: 9 → 19 March (10 days) and 1 → 12
    // April; the 7-day gaps do not count, nor anything after the last
    // delivery.
    assert_eq!(
        r.silences
            .iter()
            .map(|s| (s.from, s.until))
            .collect::<Vec<_>>(),
        [
            (t("2027-03-09T14:00:00Z"), t("2027-03-19T14:00:00Z")),
            (t("2027-04-01T12:00:00Z"), t("2027-04-12T21:59:59Z")),
        ]
    );
    assert_eq!(r.unanswered().count(), 1);
    let tz = chrono_tz::Europe::Berlin;
    assert_eq!(
        r.heading(tz),
        "Closing review of site (finished, Tuesday, April 13, 2027)"
    );
    assert_eq!(
        r.lines(tz),
        [
            "- Spent: 1500.00 EUR of the 2000.00 EUR budget (75 %)",
            "- Late milestones: Final site (2 days late)",
            "- Redone: Draft (once)",
            "- Silences: 10 days from Tuesday, March 9, 2027, 11 days 9 hours from Thursday, April 1, 2027",
            "- Status requests answered: 2 of 3",
            "- Questions: 2 asked, 1 never answered: \"question <q2@x>: which fonts?\" (Thursday, April 1, 2027)",
            "- Evaluations: 4/5 on Thursday, April 1, 2027 (\"good work\")",
        ]
    );
}

#[test]
fn a_review_written_as_the_engagement_ends_counts_open_work_as_never_delivered() {
    let model = model();
    let history = History::load(&store(&model)).unwrap();
    let so_far = review(&model, &history, "logo", t(NOW), None).unwrap();
    assert_eq!(so_far.closed, None);
    assert_eq!(so_far.heading(chrono_tz::UTC), "Review of logo so far");
    let r = review(&model, &history, "logo", t(NOW), Some(Closing::Ended)).unwrap();
    assert_eq!(r.closed, Some(Closing::Ended));
    assert_eq!(r.closed_at, Some(t(NOW)));
    assert_eq!(r.milestones[0].state, "cancelled");
    assert_eq!(r.undelivered().count(), 1);
    // Quiet from the instructions to the end: 13 days 3 hours.
    assert_eq!(r.silences.len(), 1);
    assert_eq!(r.silences[0].secs, 13 * D + 3 * H);
    let lines = r.lines(chrono_tz::UTC);
    assert!(
        lines.contains(&"- Never delivered: Sketch".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"- Spent: nothing recorded (no budget set)".to_string()));
    assert!(review(&model, &history, "nope", t(NOW), None).is_none());
}

#[test]
fn percentiles_and_durations_read_as_people_expect() {
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[5]), Some(5));
    assert_eq!(median(&[1, 3]), Some(2));
    assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
    assert_eq!(percentile(&[7], 90), Some(7));
    assert_eq!(human(40 * 60), "40 minutes");
    assert_eq!(human(5 * H), "5 hours");
    assert_eq!(human(H + 60), "1 hour 1 minute");
    assert_eq!(human(D + 2 * H + 59), "1 day 2 hours");
    assert_eq!(human(2 * D + 30), "2 days");
}

/// The test history for an owner who reads `language` in `zone`.
fn model_in(language: &str, zone: &str) -> Model {
    let config = CONFIG.replace(
        "timezone = \"Europe/Berlin\"",
        &format!("timezone = \"{zone}\"\nlanguage = \"{language}\""),
    );
    config::parse(Path::new("test.toml"), &config, Path::new("/tmp"), None)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .model
}

/// Words of the English record that must not reach a mail in another
/// language, nor a zone by its IANA name or as "UTC".
const ENGLISH: &[&str] = &[
    "Spent",
    "budget (",
    "ilestone",
    "late",
    "Redone",
    "never",
    "answered",
    "Evaluations",
    "evaluations:",
    "paid:",
    "across",
    "Tuesday",
    "Thursday",
    "UTC",
    "Europe/",
    "CEST",
];

fn assert_not_english(lines: &[String]) {
    for line in lines {
        for word in ENGLISH {
            assert!(!line.contains(word), "{word:?} in {line:?}");
        }
    }
}

/// The site's review, the logo's review as it ends, and Dana's record, as
/// the owner of `model` reads them.
fn written(model: &Model) -> (Review, Review, ContractorRecord) {
    let history = History::load(&store(model)).unwrap();
    let site = review(model, &history, "site", t(NOW), None).unwrap();
    let logo = review(model, &history, "logo", t(NOW), Some(Closing::Ended)).unwrap();
    let dana = contractor(model, &history, "dana", t(NOW));
    (site, logo, dana)
}

#[test]
fn a_german_owner_reads_the_closing_review_and_the_record_in_german() {
    let model = model_in("de", "Europe/Berlin");
    let reader = model.owner.reader();
    let (site, logo, dana) = written(&model);
    assert_eq!(
        site.heading(&reader),
        "Abschlussbericht zu site (abgeschlossen, Dienstag, 13. April 2027)"
    );
    let review = site.lines(&reader);
    assert_eq!(
        review,
        [
            "- Ausgegeben: 1500.00 EUR von 2000.00 EUR Budget (75 %)",
            "- Verspätete Meilensteine: Final site (2 Tage zu spät)",
            "- Nachgebessert: Draft (einmal)",
            "- Zeiten ohne Nachricht: 10 Tage ab Dienstag, 9. März 2027, 11 Tage 9 Stunden ab Donnerstag, 1. April 2027",
            "- Statusanfragen beantwortet: 2 von 3",
            "- Fragen: 2 gestellt, 1 nie beantwortet: „question <q2@x>: which fonts?“ (Donnerstag, 1. April 2027)",
            "- Bewertungen: 4/5 am Donnerstag, 1. April 2027 („good work“)",
        ]
    );
    let ended = logo.lines(&reader);
    assert!(
        ended.contains(&"- Nie geliefert: Sketch".to_string()),
        "{ended:?}"
    );
    assert!(ended.contains(&"- Ausgegeben: nichts erfasst (kein Budget festgelegt)".to_string()));
    let record = dana.lines(&reader);
    assert_eq!(
        record,
        [
            "Meilensteine: 1 pünktlich, 1 verspätet (im Median 2 Tage zu spät), 1 überfällig, 0 offen",
            "Nachbesserungen angefordert: 1",
            "Antwortzeit auf Anfragen von Handoff: Median 1 Tag, bei 90 % höchstens 4 Tage (5 beantwortet, 1 ausstehend)",
            "Statusanfragen beantwortet: 2 von 3 (66 %)",
            "Bewertungen: 4/5 am Donnerstag, 1. April 2027 (site)",
            "Gezahlt: 1500.00 EUR",
        ]
    );
    assert_eq!(
        dana.across(&reader),
        "Dana Díaz in allen 2 Aufträgen mit Ihnen:"
    );
    for lines in [
        &review,
        &ended,
        &record,
        &vec![site.heading(&reader), logo.heading(&reader)],
    ] {
        assert_not_english(lines);
    }
}

#[test]
fn a_french_owner_reads_the_closing_review_and_the_record_in_french() {
    let model = model_in("fr", "Europe/Paris");
    let reader = model.owner.reader();
    let (site, logo, dana) = written(&model);
    assert_eq!(
        site.heading(&reader),
        "Bilan de fin de site (terminée, mardi 13 avril 2027)"
    );
    assert_eq!(
        logo.heading(&reader),
        "Bilan de fin de logo (arrêtée, lundi 3 mai 2027)"
    );
    let review = site.lines(&reader);
    assert_eq!(
        review,
        [
            "- Dépensé : 1500.00 EUR sur un budget de 2000.00 EUR (75 %)",
            "- Étapes en retard : Final site (2 jours de retard)",
            "- Reprises demandées : Draft (une fois)",
            "- Silences : 10 jours à partir du mardi 9 mars 2027, 11 jours 9 heures à partir du jeudi 1 avril 2027",
            "- Demandes de point d’avancement avec réponse : 2 sur 3",
            "- Questions : 2 posées, 1 sans réponse : «\u{a0}question <q2@x>: which fonts?\u{a0}» (jeudi 1 avril 2027)",
            "- Évaluations : 4/5 le jeudi 1 avril 2027 («\u{a0}good work\u{a0}»)",
        ]
    );
    let ended = logo.lines(&reader);
    assert!(
        ended.contains(&"- Étapes jamais livrées : Sketch".to_string()),
        "{ended:?}"
    );
    let record = dana.lines(&reader);
    assert_eq!(
        record,
        [
            "étapes : 1 à temps, 1 en retard (retard médian : 2 jours), 1 dépassée, 0 ouverte",
            "reprises demandées : 1",
            "réponses aux demandes de Handoff : médiane 1 jour, 90 % en moins de 4 jours (5 avec réponse, 1 en attente)",
            "points d’avancement reçus : 2 sur 3 demandés (66 %)",
            "évaluations : 4/5 le jeudi 1 avril 2027 (site)",
            "payé : 1500.00 EUR",
        ]
    );
    assert_eq!(
        dana.across(&reader),
        "Dana Díaz sur ses 2 missions avec vous :"
    );
    let mut one = dana.clone();
    one.engagements.truncate(1);
    assert_eq!(
        one.across(&reader),
        "Dana Díaz sur son unique mission avec vous :"
    );
    for lines in [
        &review,
        &ended,
        &record,
        &vec![site.heading(&reader), logo.heading(&reader)],
    ] {
        assert_not_english(lines);
    }
}

#[test]
fn every_shipped_language_writes_the_record_in_its_own_words_and_quotes() {
    for (language, zone, quote) in [
        ("es", "Europe/Madrid", "«good work»"),
        ("pt", "America/Sao_Paulo", "“good work”"),
    ] {
        let model = model_in(language, zone);
        let reader = model.owner.reader();
        let (site, logo, dana) = written(&model);
        let mut lines = site.lines(&reader);
        lines.extend(logo.lines(&reader));
        lines.extend(dana.lines(&reader));
        lines.extend([
            site.heading(&reader),
            logo.heading(&reader),
            dana.across(&reader),
        ]);
        assert_not_english(&lines);
        assert!(
            lines.iter().any(|l| l.contains(quote)),
            "{language}: {lines:?}"
        );
        // Each language's own: the review's spend and the record's payments.
        let (spent, paid) = match language {
            "es" => (
                "- Gastado: 1500.00 EUR de un presupuesto de 2000.00 EUR (75 %)",
                "pagado: 1500.00 EUR",
            ),
            _ => (
                "- Gasto: 1500.00 EUR de um orçamento de 2000.00 EUR (75 %)",
                "pago: 1500.00 EUR",
            ),
        };
        assert!(lines.contains(&spent.to_string()), "{language}: {lines:?}");
        assert!(lines.contains(&paid.to_string()), "{language}: {lines:?}");
    }
}
