//! The reading goals, held on the labelled corpus (`tests/fixtures/replies`,
//! read as `cargo bench --bench classify` reads it): every kind that changes
//! state is right at least 98 times in 100 when Handoff says it, and no read
//! receipt or delivery delay is ever taken for a bounce. The benchmark prints
//! the full figures (recall, the confusion matrix, per language and client);
//! this test fails the build when a change to the rules or the word lists
//! breaks the goals.

#[path = "common/corpus.rs"]
mod corpus;

/// Kinds whose reading changes state: a milestone, a hold, a notice.
const STATE_CHANGING: &[&str] = &[
    "acknowledgement",
    "delivery",
    "status_report",
    "question",
    "bounce",
    "calendar_reply",
    "calendar_counter",
];

#[test]
fn every_state_changing_reading_is_right_98_times_in_100_and_no_receipt_is_a_bounce() {
    let scenario = corpus::Scenario::build();
    let labels = corpus::labels();
    let replies: Vec<Vec<u8>> = labels
        .iter()
        .map(|l| scenario.reply(&l.file).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let verdicts = corpus::judge(&scenario, &replies);
    let rows: Vec<_> = labels.iter().zip(&verdicts).collect();
    let mut problems = Vec::new();
    for kind in STATE_CHANGING {
        let said: Vec<_> = rows.iter().filter(|(_, v)| v.kind == *kind).collect();
        let wrong: Vec<String> = said
            .iter()
            .filter(|(l, _)| l.kind != *kind)
            .map(|(l, v)| format!("{} (labelled {}; {})", l.file, l.kind, v.why))
            .collect();
        assert!(!said.is_empty(), "the corpus never has Handoff say {kind}");
        let precision = 1.0 - wrong.len() as f64 / said.len() as f64;
        if precision < 0.98 {
            problems.push(format!(
                "{kind}: precision {precision:.2}, wrongly said for:\n  {}",
                wrong.join("\n  ")
            ));
        }
    }
    for (l, v) in &rows {
        if matches!(l.kind.as_str(), "read_receipt" | "delivery_delayed") && v.kind == "bounce" {
            problems.push(format!("{} ({}) was read as a bounce", l.file, l.kind));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
