//! The page and the contractor page rendered from a real store: what the
//! owner reads is there, and what came from the config or from mail is
//! escaped, never markup.

use super::page;
use crate::config;
use crate::lifecycle::MilestoneEvent;
use crate::store::{Direction, NewEvent, Store};
use chrono::{DateTime, Utc};
use std::path::Path;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

const HOSTILE: &str = "<script>alert(1)</script>";

fn world(dir: &Path) -> crate::model::Model {
    let text = config::EXAMPLE
        .replacen(
            "title = \"Company website redesign\"",
            &format!("title = \"Site {HOSTILE} & more\""),
            1,
        )
        .replacen("name = \"Dana Díaz\"", "name = \"Dana <b>Díaz</b>\"", 1);
    let loaded = config::parse(Path::new("handoff.toml"), &text, dir, None)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let model = loaded.model;
    let mut store = Store::open(&model.mail.state).unwrap();
    store
        .reconcile(
            &crate::planned::engagements(&model),
            t("2026-11-24T08:00:00Z"),
        )
        .unwrap();
    for m in ["wireframes", "launch"] {
        store
            .apply_milestone(
                "website",
                m,
                MilestoneEvent::InstructionsSent,
                t("2026-11-24T13:00:00Z"),
            )
            .unwrap();
    }
    store
        .record_event(
            &NewEvent {
                kind: "sent_instructions".into(),
                direction: Some(Direction::Out),
                engagement: Some("website".into()),
                ..Default::default()
            },
            t("2026-11-24T13:00:00Z"),
        )
        .unwrap();
    store
        .record_event(
            &NewEvent {
                kind: "delivery".into(),
                direction: Some(Direction::In),
                engagement: Some("website".into()),
                milestone: Some("wireframes".into()),
                subject: Some(format!("Re: {HOSTILE}")),
                ..Default::default()
            },
            t("2026-12-07T10:00:00Z"),
        )
        .unwrap();
    store
        .apply_milestone(
            "website",
            "wireframes",
            MilestoneEvent::Delivered,
            t("2026-12-07T10:00:00Z"),
        )
        .unwrap();
    store
        .record_event(
            &NewEvent::internal("owner_evaluated")
                .engagement("website")
                .detail(format!("3: {HOSTILE}")),
            t("2026-12-08T10:00:00Z"),
        )
        .unwrap();
    model
}

#[test]
fn the_page_shows_engagements_milestones_and_needs_with_everything_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let model = world(dir.path());
    let now = t("2026-12-08T12:00:00Z");
    let html = page::overview(&model, now, None, "webcal://h/feed/x.ics")
        .unwrap()
        .unwrap();
    assert!(
        !html.contains(HOSTILE),
        "raw markup from the config or mail"
    );
    assert!(!html.contains("<b>Díaz</b>"));
    assert!(html.contains("Site &lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; more"));
    assert!(html.contains("Dana &lt;b&gt;Díaz&lt;&#x2f;b&gt;"));
    assert!(html.contains("id=\"milestone-website-wireframes\""));
    assert!(
        html.contains("check the delivery of Wireframes"),
        "needs you"
    );
    assert!(html.contains("<svg class=\"timeline\""));
    assert!(
        html.contains("class=\"delivery late\""),
        "delivered 2 days late"
    );
    assert!(!html.contains("<script"), "no script at all");
    // One engagement's view carries its review; an unknown one is None.
    let one = page::overview(&model, now, Some("website"), "x")
        .unwrap()
        .unwrap();
    assert!(one.contains("Review of website so far"));
    assert!(
        page::overview(&model, now, Some("nope"), "x")
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_contractor_page_shows_the_record_with_notes_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let model = world(dir.path());
    let now = t("2026-12-08T12:00:00Z");
    let html = page::contractor(&model, now, "dana").unwrap().unwrap();
    assert!(!html.contains(HOSTILE));
    assert!(
        html.contains("<dd id=\"late\">1 (median 1 day 11 hours late)</dd>"),
        "{html}"
    );
    assert!(html.contains("<dd id=\"on-time\">0</dd>"));
    assert!(html.contains("class=\"score\""), "the scores chart");
    assert!(html.contains("<td class=\"score\">3/5</td>"));
    assert!(page::contractor(&model, now, "nobody").unwrap().is_none());
}
