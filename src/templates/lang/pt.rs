//! Portuguese phrases: "você", short and plain, readable in Brazil
//! and in Portugal (the region of `pt-BR` / `pt-PT` changes only dates and
//! city names).

use super::{Phrases, Report, Seen};

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
    sign_in_stops: [
        "as respostas não são lidas e nenhum e-mail sai",
        "as respostas dos seus prestadores não são lidas",
        "nenhum e-mail sai",
        "nada usa esta sessão",
    ],
    sample_feedback: "Um trabalho claro e boas notas. Da próxima vez, avise mais cedo quando uma data atrasar.",
    sample_notes: "As cores agora estão certas. Por favor, guarde os arquivos de origem.",
    sample_reason: "O cabeçalho está grande demais no telefone. Por favor, deixe-o menor.",
    sample_question: "A página de contato deve ter um mapa?",
    sample_delivery: "Aqui estão os esboços, em PDF anexo.",
    report: REPORT,
    overdue_item: "{title} (entrega até {due})",
    date_unreadable: "(uma data que o Handoff não conseguiu ler)",
    date_stays: "A data fica: {due}.",
    seen: Seen {
        question_mark: "um ponto de interrogação no que escreveu",
        question_opening: "uma frase que começa como uma pergunta ({words})",
        asks: "diz que pergunta ({words})",
        attachment: "um anexo ({name})",
        link_with: "um link ({link}) com {words}",
        percentage: "uma percentagem ({p})",
        subject_status: "o assunto diz isso ({words})",
        status_words: "palavras de um relatório de status ({words})",
        answers_request: "responde a um pedido de status",
        cited: "a resposta cita o e-mail do Handoff sobre ela",
        named: "o texto novo a nomeia (“{title}”)",
        earliest: "é a etapa aberta mais próxima",
    },
    kickoff_length: "(30 minutos)",
};

/// "no dia 1", "no dia 15": the plain number.
fn ordinal(n: u32) -> String {
    n.to_string()
}

const REPORT: Report = Report {
    headline,
    engagement: "{title} ({id}, {contractor}): {state}",
    active: "em andamento",
    finished: "concluído",
    ended: "encerrado",
    awaiting: "aguardando o contrato",
    starts: "começa em {date}",
    due_this_week: "  - entrega nesta semana: {title} ({due})",
    line_due: "- {title}: entrega até {due}",
    line_delivered: "- {title}: entregue em {when}",
    need_agreement: "- {id}: o contrato ainda não foi assinado",
    need_overdue: "- {id}: {title} está atrasado (entrega até {due})",
    need_check: "- {id}: verificar a entrega de {title}",
    need_check_delivered: "- {id}: verificar a entrega de {title} (entregue {when})",
    need_payment: "- {id}: há um pagamento a {name} a fazer (desde {when})",
    need_evaluation: "- {id}: hora de avaliar {name} (desde {when})",
    need_question: "- {id}: a pergunta de {name} ({when}) não foi respondida",
    need_held: "- {id}: os e-mails para {email} estão retidos após uma devolução",
    need_silent: "- {id}: nenhuma notícia de {name} desde {when}",
    budget: "orçamento: {spent} gastos de {budget} ({percent} %)",
    record_milestones: "- Etapas: {on_time} entregues no prazo, {late} com atraso, {open} em aberto ({overdue} vencidas)",
    record_ack: "- Última confirmação: {when}",
    record_no_ack: "- Nenhuma confirmação registrada",
    record_heard: "- Última notícia: {when}",
    record_not_heard: "- Nenhuma notícia ainda",
    record_answered: "- Última pergunta: {when}, respondida",
    record_unanswered: "- Última pergunta: {when}, ainda sem resposta",
};

/// "2 projetos, 1 item precisa de você".
fn headline(engagements: usize, needs: usize) -> String {
    let e = if engagements == 1 {
        "projeto"
    } else {
        "projetos"
    };
    let n = match needs {
        0 => "nada precisa de você".to_string(),
        1 => "1 item precisa de você".to_string(),
        k => format!("{k} itens precisam de você"),
    };
    format!("{engagements} {e}, {n}")
}
