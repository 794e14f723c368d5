//! Spanish phrases: "usted", short and plain, understood on both sides of
//! the Atlantic.

use super::Phrases;

pub(super) const PHRASES: Phrases = Phrases {
    zone: "hora de {city}",
    zone_vowel: None,
    with_zone: "{when} ({zone})",
    end_of_day: "{date}, al final del día",
    end_of_day_there: "{date}, al final del día en {city} (en su hora: {local})",
    at: "a las {time}",
    at_one: Some("a la {time}"),
    daily: "todos los días {at}",
    weekly: "cada {days} {at}",
    workdays: "de lunes a viernes {at}",
    monthly: "el día {nth} de cada mes {at}",
    ordinal,
    next_few: "según un calendario fijo; próximas fechas: {list} ({zone})",
    and: " y ",
    day: ("día", "días"),
    hour: ("hora", "horas"),
    minute: ("minuto", "minutos"),
    zero_is_singular: false,
    event_due: "Entrega: {title}",
    event_kickoff: "Reunión inicial: {title}",
    kickoff_call: "Reunión inicial de {title}",
    kickoff_length: "(30 minutos)",
};

/// "el día 1", "el día 15": the plain number.
fn ordinal(n: u32) -> String {
    n.to_string()
}
