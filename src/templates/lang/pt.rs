//! Portuguese phrases: "você", short and plain, readable in Brazil
//! and in Portugal (the region of `pt-BR` / `pt-PT` changes only dates and
//! city names).

use super::Phrases;

pub(super) const PHRASES: Phrases = Phrases {
    zone: "horário de {city}",
    zone_vowel: None,
    with_zone: "{when} ({zone})",
    end_of_day: "{date}, fim do dia",
    end_of_day_there: "{date}, fim do dia em {city} (no seu horário: {local})",
    at: "às {time}",
    at_one: Some("à {time}"),
    daily: "todos os dias {at}",
    weekly: "cada {days} {at}",
    workdays: "de segunda a sexta-feira {at}",
    monthly: "no dia {nth} de cada mês {at}",
    ordinal,
    next_few: "segundo um calendário fixo; próximas datas: {list} ({zone})",
    and: " e ",
    day: ("dia", "dias"),
    hour: ("hora", "horas"),
    minute: ("minuto", "minutos"),
    zero_is_singular: false,
    event_due: "Entrega: {title}",
    event_kickoff: "Reunião inicial: {title}",
    kickoff_call: "Reunião inicial de {title}",
    kickoff_length: "(30 minutos)",
};

/// "no dia 1", "no dia 15": the plain number.
fn ordinal(n: u32) -> String {
    n.to_string()
}
