//! Spanish phrases: "usted", short and plain, understood on both sides of
//! the Atlantic.

use super::{Phrases, Report, Seen};

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
    sign_in_stops: [
        "las respuestas no se leen y no sale ningún correo",
        "las respuestas de sus colaboradores no se leen",
        "no sale ningún correo",
        "nada usa este inicio de sesión",
    ],
    sample_feedback: "Un trabajo claro y buenas notas. La próxima vez, avíseme antes si una fecha se retrasa.",
    sample_notes: "Los colores ya están bien. Por favor, guarde los archivos fuente.",
    sample_reason: "La cabecera es demasiado grande en el teléfono. Por favor, hágala más pequeña.",
    sample_question: "¿La página de contacto debe tener un mapa?",
    sample_delivery: "Aquí están los bocetos, en un PDF adjunto.",
    report: REPORT,
    overdue_item: "{title} (para el {due})",
    date_unreadable: "(una fecha que Handoff no pudo leer)",
    date_stays: "La fecha se mantiene: {due}.",
    seen: Seen {
        question_mark: "un signo de interrogación en lo que escribió",
        question_opening: "una frase que empieza como una pregunta ({words})",
        asks: "dice que pregunta ({words})",
        attachment: "un archivo adjunto ({name})",
        link_with: "un enlace ({link}) con {words}",
        percentage: "un porcentaje ({p})",
        subject_status: "lo dice el asunto ({words})",
        status_words: "palabras de un informe de estado ({words})",
        answers_request: "responde a una solicitud de estado",
        cited: "la respuesta cita el correo de Handoff sobre él",
        named: "el texto nuevo lo nombra («{title}»)",
        earliest: "es el hito abierto más próximo",
    },
    kickoff_length: "(30 minutos)",
};

/// "el día 1", "el día 15": the plain number.
fn ordinal(n: u32) -> String {
    n.to_string()
}

const REPORT: Report = Report {
    headline,
    engagement: "{title} ({id}, {contractor}): {state}",
    active: "en curso",
    finished: "terminado",
    ended: "cerrado",
    awaiting: "esperando el contrato",
    starts: "empieza el {date}",
    due_this_week: "  - entrega esta semana: {title} ({due})",
    line_due: "- {title}: para el {due}",
    line_delivered: "- {title}: entregado el {when}",
    need_agreement: "- {id}: el contrato aún no está firmado",
    need_overdue: "- {id}: {title} está retrasado (entrega el {due})",
    need_check: "- {id}: revisar la entrega de {title}",
    need_check_delivered: "- {id}: revisar la entrega de {title} (entregado el {when})",
    need_payment: "- {id}: hay un pago pendiente a {name} (desde el {when})",
    need_evaluation: "- {id}: toca evaluar a {name} (desde el {when})",
    need_question: "- {id}: la pregunta de {name} del {when} no tiene respuesta",
    need_held: "- {id}: el correo a {email} está retenido tras una devolución",
    need_silent: "- {id}: sin noticias de {name} desde el {when}",
    budget: "presupuesto: {spent} gastados de {budget} ({percent} %)",
    record_milestones: "- Hitos: {on_time} entregados a tiempo, {late} tarde, {open} abiertos ({overdue} vencidos)",
    record_ack: "- Última confirmación: {when}",
    record_no_ack: "- Ninguna confirmación registrada",
    record_heard: "- Última noticia: {when}",
    record_not_heard: "- Todavía ninguna noticia",
    record_answered: "- Última pregunta: {when}, respondida",
    record_unanswered: "- Última pregunta: {when}, sin respuesta todavía",
};

/// "2 proyectos, 1 tema requiere su atención".
fn headline(engagements: usize, needs: usize) -> String {
    let e = if engagements == 1 {
        "proyecto"
    } else {
        "proyectos"
    };
    let n = match needs {
        0 => "nada requiere su atención".to_string(),
        1 => "1 tema requiere su atención".to_string(),
        k => format!("{k} temas requieren su atención"),
    };
    format!("{engagements} {e}, {n}")
}
