//! English phrases (the fallback of every template file, and the language
//! of a person with no `language`).

use super::Phrases;

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
