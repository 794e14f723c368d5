//! English phrases (the fallback of every template file, and the language
//! of a person with no `language`).

use super::{Phrases, Report, Seen};

pub(super) const PHRASES: Phrases = Phrases {
    zone: "{city} time",
    zone_vowel: None,
    with_zone: "{when} ({zone})",
    end_of_day: "{date}, end of day",
    end_of_day_there: "{date}, end of day in {city}: {local} your time",
    at: "at {time}",
    at_one: None,
    daily: "every day {at}",
    weekly: "every {days} {at}",
    workdays: "Monday to Friday {at}",
    monthly: "on the {nth} of every month {at}",
    ordinal,
    next_few: "on a set schedule, next on {list} ({zone})",
    and: " and ",
    day: ("day", "days"),
    hour: ("hour", "hours"),
    minute: ("minute", "minutes"),
    zero_is_singular: false,
    event_due: "Due: {title}",
    event_kickoff: "Kickoff: {title}",
    kickoff_call: "Kickoff call for {title}",
    sign_in_stops: [
        "replies are not read and no mail goes out",
        "replies from your contractors are not read",
        "no mail goes out",
        "nothing uses it",
    ],
    sample_feedback: "Clear work and good notes. Next time, please tell me earlier when a date slips.",
    sample_notes: "The colours are right now. Please keep the source files.",
    sample_reason: "The header is too large on a phone. Please make it smaller.",
    sample_question: "Should the contact page have a map?",
    sample_delivery: "Here are the wireframes, as a PDF attached.",
    report: REPORT,
    overdue_item: "{title} (due {due})",
    date_unreadable: "(a date Handoff could not read)",
    date_stays: "The date stays {due}.",
    seen: Seen {
        question_mark: "a question mark in what they wrote",
        question_opening: "a sentence that opens like a question ({words})",
        asks: "it says it asks ({words})",
        attachment: "an attachment ({name})",
        link_with: "a link ({link}) with {words}",
        percentage: "a percentage ({p})",
        subject_status: "the subject says so ({words})",
        status_words: "status words ({words})",
        answers_request: "it answers a status request",
        cited: "the reply cites its {mail} mail",
        named: "the new text names it (\u{201c}{title}\u{201d})",
        earliest: "the earliest milestone still open",
    },
    kickoff_length: "(30 minutes)",
};

/// 1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st.
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

const REPORT: Report = Report {
    headline,
    engagement: "{title} ({id}, {contractor}): {state}",
    active: "under way",
    finished: "finished",
    ended: "ended",
    awaiting: "waiting for the agreement",
    starts: "starts {date}",
    due_this_week: "  - due this week: {title} ({due})",
    line_due: "- {title}: due {due}",
    line_delivered: "- {title}: delivered {when}",
    need_agreement: "- {id}: the agreement is not signed yet",
    need_overdue: "- {id}: {title} is overdue (due {due})",
    need_check: "- {id}: check the delivery of {title}",
    need_check_delivered: "- {id}: check the delivery of {title} (delivered {when})",
    need_payment: "- {id}: a payment to {name} is due (since {when})",
    need_evaluation: "- {id}: the evaluation of {name} is due (since {when})",
    need_question: "- {id}: {name}'s question of {when} is not answered",
    need_held: "- {id}: mail to {email} is held after a bounce",
    need_silent: "- {id}: {name} silent since {when}",
    budget: "budget: {spent} of {budget} spent ({percent} %)",
    record_milestones: "- Milestones: {on_time} delivered on time, {late} late, {open} open ({overdue} overdue)",
    record_ack: "- Last acknowledgement: {when}",
    record_no_ack: "- No acknowledgement recorded",
    record_heard: "- Last heard from them: {when}",
    record_not_heard: "- Nothing heard from them yet",
    record_answered: "- Last question: {when}, answered",
    record_unanswered: "- Last question: {when}, not answered yet",
};

/// "2 engagements, 1 thing needs you".
fn headline(engagements: usize, needs: usize) -> String {
    let e = if engagements == 1 {
        "engagement"
    } else {
        "engagements"
    };
    let n = match needs {
        0 => "nothing needs you".to_string(),
        1 => "1 thing needs you".to_string(),
        k => format!("{k} things need you"),
    };
    format!("{engagements} {e}, {n}")
}
