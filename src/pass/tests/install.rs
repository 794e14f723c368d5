//! Installed with work under way: `starts` and `kickoff` in the past, one
//! milestone already overdue, one ahead. The first day's mail, all of it.

use super::*;
use chrono::TimeDelta;

const UNDER_WAY: &str = r#"
kickoff = 2027-03-02T15:00:00

[[engagement.milestone]]
id = "draft"
title = "Draft"
due = 2027-03-10

[[engagement.milestone]]
id = "final"
title = "Final"
due = 2027-05-20
"#;

#[test]
fn installed_with_work_under_way_the_first_day_is_instructions_an_invitation_and_one_owner_notice()
{
    let mut w = World::new(load(true, "", UNDER_WAY));
    // `check` warns of the kickoff once it is over, not before.
    let kickoff_warned = |now: &str| {
        w.loaded
            .warnings_at(t(now))
            .iter()
            .any(|d| d.message.contains("kickoff") && d.message.contains("in the past"))
    };
    assert!(!kickoff_warned("2027-02-20T12:00:00Z"));
    assert!(kickoff_warned("2027-04-05T10:00:00Z"));
    // Monday 5 April, 06:00 in New York: installed, then a pass every hour
    // for the first day.
    let mut day = Vec::new();
    let mut now = t("2027-04-05T10:00:00Z");
    while now < t("2027-04-06T10:00:00Z") {
        day.extend(w.pass(&now.to_rfc3339()));
        now += TimeDelta::hours(1);
    }
    assert_eq!(
        day,
        [
            // 08:00 in New York, the end of Dana's quiet hours.
            sent(
                "instructions/site",
                "instructions",
                DANA,
                "2027-04-05T12:00:00Z"
            ),
            // Only the milestone still ahead is invited: no invitation to a
            // day that is over, none to the kickoff call five weeks ago.
            sent(
                "invite/site/final/0",
                "milestone_invite",
                DANA,
                "2027-04-05T12:00:00Z"
            ),
            // One notice lists what was overdue before anyone told Dana.
            sent(
                "overdue_at_start/site",
                "notice_overdue_at_start",
                ADA,
                "2027-04-05T10:00:00Z"
            ),
            // No weekly status request at 09:00, an hour after the
            // instructions: the first is next Monday's.
        ]
    );
    let instructions = w.text("instructions");
    // The instructions still list both milestones and the kickoff, and say
    // what is already late.
    assert!(instructions.contains("- Draft: due"), "{instructions}");
    assert!(instructions.contains("- Final: due"), "{instructions}");
    assert!(
        instructions
            .contains("Already past due as this starts: Draft (due Wednesday, March 10, 2027"),
        "{instructions}"
    );
    assert!(
        instructions.contains("It is already past, so there is no invitation."),
        "{instructions}"
    );
    let notice = w.text("notice_overdue_at_start");
    assert!(
        notice.contains("- Draft: due Wednesday, March 10, 2027"),
        "{notice}"
    );
    assert!(!notice.contains("Final"), "{notice}");
    // Later: no overdue notice for the draft ever (the instructions said
    // it), and one escalation three days after the instructions reached
    // her, on its own.
    let mut later = Vec::new();
    while now < t("2027-04-12T14:00:00Z") {
        later.extend(w.pass(&now.to_rfc3339()).into_iter().map(|s| (now, s)));
        now += TimeDelta::hours(1);
    }
    assert!(
        later
            .iter()
            .all(|(_, s)| s.purpose != "overdue_notice" && s.purpose != "notice_overdue"),
        "{later:?}"
    );
    let escalations: Vec<_> = later
        .iter()
        .filter(|(_, s)| s.purpose == "escalation")
        .collect();
    assert_eq!(escalations.len(), 1, "{later:?}");
    assert_eq!(escalations[0].0, t("2027-04-08T12:00:00Z"));
    assert!(
        later
            .iter()
            .filter(|(at, _)| *at == escalations[0].0)
            .count()
            == 1,
        "nothing else in the escalation's pass: {later:?}"
    );
    // The first status request: the next Monday, 09:00 in New York.
    let requests: Vec<_> = later
        .iter()
        .filter(|(_, s)| s.purpose == "status_request")
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(requests, [t("2027-04-12T13:00:00Z")], "{later:?}");
}
