//! French phrases: "vous", short and plain.

use super::Phrases;

pub(super) const PHRASES: Phrases = Phrases {
    zone: "heure de {city}",
    zone_vowel: Some("heure d’{city}"),
    with_zone: "{when} ({zone})",
    end_of_day: "{date}, en fin de journée",
    end_of_day_there: "{date}, en fin de journée à {city} (chez vous : {local})",
    at: "à {time}",
    at_one: None,
    daily: "chaque jour {at}",
    weekly: "chaque {days} {at}",
    workdays: "du lundi au vendredi {at}",
    monthly: "le {nth} de chaque mois {at}",
    ordinal,
    next_few: "selon un calendrier fixe, prochaines dates : {list} ({zone})",
    and: " et ",
    day: ("jour", "jours"),
    hour: ("heure", "heures"),
    minute: ("minute", "minutes"),
    zero_is_singular: true,
    event_due: "À rendre : {title}",
    event_kickoff: "Réunion de lancement : {title}",
    kickoff_call: "Réunion de lancement pour {title}",
    kickoff_length: "(30 minutes)",
};

/// "le 1er", "le 15".
fn ordinal(n: u32) -> String {
    if n == 1 {
        "1er".to_string()
    } else {
        n.to_string()
    }
}
