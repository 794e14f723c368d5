//! German phrases: the polite "Sie", short and plain.

use super::Phrases;

pub(super) const PHRASES: Phrases = Phrases {
    zone: "Ortszeit {city}",
    zone_vowel: None,
    with_zone: "{when} ({zone})",
    end_of_day: "{date}, Tagesende",
    end_of_day_there: "{date}, Tagesende in {city} (bei Ihnen: {local})",
    at: "um {time}",
    at_one: None,
    daily: "jeden Tag {at}",
    weekly: "jeden {days} {at}",
    workdays: "montags bis freitags {at}",
    monthly: "am {nth} jedes Monats {at}",
    ordinal,
    next_few: "nach festem Plan, als Nächstes am {list} ({zone})",
    and: " und ",
    day: ("Tag", "Tage"),
    hour: ("Stunde", "Stunden"),
    minute: ("Minute", "Minuten"),
    zero_is_singular: false,
    event_due: "Fällig: {title}",
    event_kickoff: "Auftaktgespräch: {title}",
    kickoff_call: "Auftaktgespräch zu {title}",
    kickoff_length: "(30 Minuten)",
};

/// "1.", "15.".
fn ordinal(n: u32) -> String {
    format!("{n}.")
}
