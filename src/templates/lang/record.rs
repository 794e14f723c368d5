//! The lines Rust writes for the record ([`crate::record`]): the closing
//! review of one engagement and a contractor's record across all their
//! engagements, as the owner reads them in the closing review, the
//! evaluation-due notice and `handoff status` / `handoff contractors`.
//!
//! One [`RecordPhrases`] per shipped language, for the same reason as
//! [`super::Phrases`]: a language missing a line does not build. The record
//! fills in what it knows: amounts as `Money` writes them ("1500.00 EUR"),
//! dates, times and durations already in the reader's words, titles and
//! the contractor's own words as written. Lists are joined with ", ".
//! Where a count decides the grammar, a field is a pair (singular, plural)
//! or a function of the count, as [`super::Report`]'s headline is.

use super::Base;

/// The phrases of the record. `{name}` marks a value filled in.
pub struct RecordPhrases {
    /// The review's heading once the engagement closed ({closed} is the
    /// report's "finished" or "ended", {when} an instant with its zone):
    /// "Closing review of {engagement} ({closed}, {when})".
    pub heading_closed: &'static str,
    /// While it runs: "Review of {engagement} so far".
    pub heading_so_far: &'static str,
    /// "- Spent: {spent} of the {budget} budget ({percent} %)".
    pub spent_of_budget: &'static str,
    /// Appended to it: "; also paid in other currencies: {amounts}".
    pub also_paid: &'static str,
    /// "- Spent: nothing recorded (no budget set)".
    pub spent_nothing: &'static str,
    /// "- Spent: {amounts} (no budget set)".
    pub spent_no_budget: &'static str,
    /// "- Late milestones: none".
    pub late_none: &'static str,
    /// "- Late milestones: {list}".
    pub late: &'static str,
    /// One of them, {late} a duration: "{title} ({late} late)".
    pub late_item: &'static str,
    /// "- Redone: nothing".
    pub redone_none: &'static str,
    /// "- Redone: {list}".
    pub redone: &'static str,
    /// "{title} (once)".
    pub redone_once: &'static str,
    /// Two times or more: "{title} ({count} times)".
    pub redone_times: &'static str,
    /// A closed engagement's milestones without delivery: "- Never
    /// delivered: {list}".
    pub never_delivered: &'static str,
    /// The same while it runs: "- Not delivered yet: {list}".
    pub not_delivered_yet: &'static str,
    /// "- Silences: none".
    pub silences_none: &'static str,
    /// "- Silences: {list}".
    pub silences: &'static str,
    /// One of them, {long} a duration: "{long} from {date}".
    pub silence_item: &'static str,
    /// "- Status requests answered: {answered} of {sent}".
    pub status_answered: &'static str,
    /// "- Questions: none asked".
    pub questions_none: &'static str,
    /// From the number asked, all answered: "- Questions: 2 asked, all
    /// answered".
    pub questions_answered: fn(usize) -> String,
    /// From the numbers asked and never answered, with "{list}" left in:
    /// "- Questions: 2 asked, 1 never answered: {list}".
    pub questions_open: fn(usize, usize) -> String,
    /// One unanswered question ({quote} is in `quoted`): "{quote} ({date})".
    pub question_item: &'static str,
    /// "- Evaluations: none recorded".
    pub evaluations_none: &'static str,
    /// "- Evaluations: {list}".
    pub evaluations: &'static str,
    /// "{score}/5 on {date}".
    pub evaluation_item: &'static str,
    /// With the owner's notes in `quoted`: "{score}/5 on {date} ({notes})".
    pub evaluation_noted: &'static str,
    /// Someone's own words, quoted the language's way: "\"{text}\"".
    pub quoted: &'static str,

    /// The contractor's record, one figure a line (the caller puts "- "
    /// before each): "milestones: {on_time} on time, {late} late".
    pub milestones: &'static str,
    /// Appended, {late} a duration: " (median {late} late)".
    pub median_late: &'static str,
    /// Appended when some are: ", {overdue} overdue" (singular, plural).
    pub overdue: (&'static str, &'static str),
    /// Appended: ", {open} open" (singular, plural).
    pub open: (&'static str, &'static str),
    /// "redo requests: {count}".
    pub redo_requests: &'static str,
    /// {median} and {p90} durations, {waiting} the `waiting` part or
    /// nothing: "replies to Handoff's requests: median {median}, 90 % within
    /// {p90} ({answered} answered{waiting})".
    pub replies: &'static str,
    /// "replies to Handoff's requests: none answered yet{waiting}".
    pub replies_none: &'static str,
    /// ", {count} waiting" (singular, plural).
    pub waiting: (&'static str, &'static str),
    /// "status requests answered: {answered} of {due} ({percent} %){waiting}".
    pub status: &'static str,
    /// "status requests answered: none sent yet".
    pub status_none_sent: &'static str,
    /// "status requests answered: none due yet{waiting}".
    pub status_none_due: &'static str,
    /// "evaluations: none yet".
    pub record_evaluations_none: &'static str,
    /// "evaluations: {list}".
    pub record_evaluations: &'static str,
    /// "{score}/5 on {date} ({engagement})".
    pub record_evaluation_item: &'static str,
    /// "paid: {amounts}".
    pub paid: &'static str,
    /// "paid: nothing recorded".
    pub paid_nothing: &'static str,
    /// Appended, from the count: " (and 2 payments recorded without an
    /// amount)".
    pub without_amount: fn(usize) -> String,
    /// The heading of the record in the evaluation-due notice, from the
    /// number of engagements, with "{name}" left in: "{name} across all 2
    /// engagements with you:".
    pub across: fn(usize) -> String,
}

/// The record's phrases in `base`.
pub fn of(base: Base) -> &'static RecordPhrases {
    match base {
        Base::En => &EN,
        Base::De => &DE,
        Base::Es => &ES,
        Base::Fr => &FR,
        Base::Pt => &PT,
    }
}

const EN: RecordPhrases = RecordPhrases {
    heading_closed: "Closing review of {engagement} ({closed}, {when})",
    heading_so_far: "Review of {engagement} so far",
    spent_of_budget: "- Spent: {spent} of the {budget} budget ({percent} %)",
    also_paid: "; also paid in other currencies: {amounts}",
    spent_nothing: "- Spent: nothing recorded (no budget set)",
    spent_no_budget: "- Spent: {amounts} (no budget set)",
    late_none: "- Late milestones: none",
    late: "- Late milestones: {list}",
    late_item: "{title} ({late} late)",
    redone_none: "- Redone: nothing",
    redone: "- Redone: {list}",
    redone_once: "{title} (once)",
    redone_times: "{title} ({count} times)",
    never_delivered: "- Never delivered: {list}",
    not_delivered_yet: "- Not delivered yet: {list}",
    silences_none: "- Silences: none",
    silences: "- Silences: {list}",
    silence_item: "{long} from {date}",
    status_answered: "- Status requests answered: {answered} of {sent}",
    questions_none: "- Questions: none asked",
    questions_answered: |n| match n {
        1 => "- Questions: 1 asked, answered".to_string(),
        n => format!("- Questions: {n} asked, all answered"),
    },
    questions_open: |n, u| format!("- Questions: {n} asked, {u} never answered: {{list}}"),
    question_item: "{quote} ({date})",
    evaluations_none: "- Evaluations: none recorded",
    evaluations: "- Evaluations: {list}",
    evaluation_item: "{score}/5 on {date}",
    evaluation_noted: "{score}/5 on {date} ({notes})",
    quoted: "\"{text}\"",
    milestones: "milestones: {on_time} on time, {late} late",
    median_late: " (median {late} late)",
    overdue: (", {overdue} overdue", ", {overdue} overdue"),
    open: (", {open} open", ", {open} open"),
    redo_requests: "redo requests: {count}",
    replies: "replies to Handoff's requests: median {median}, 90 % within {p90} ({answered} answered{waiting})",
    replies_none: "replies to Handoff's requests: none answered yet{waiting}",
    waiting: (", {count} waiting", ", {count} waiting"),
    status: "status requests answered: {answered} of {due} ({percent} %){waiting}",
    status_none_sent: "status requests answered: none sent yet",
    status_none_due: "status requests answered: none due yet{waiting}",
    record_evaluations_none: "evaluations: none yet",
    record_evaluations: "evaluations: {list}",
    record_evaluation_item: "{score}/5 on {date} ({engagement})",
    paid: "paid: {amounts}",
    paid_nothing: "paid: nothing recorded",
    without_amount: |n| match n {
        1 => " (and 1 payment recorded without an amount)".to_string(),
        n => format!(" (and {n} payments recorded without an amount)"),
    },
    across: |n| match n {
        1 => "{name} in their one engagement with you:".to_string(),
        n => format!("{{name}} across all {n} engagements with you:"),
    },
};

const DE: RecordPhrases = RecordPhrases {
    heading_closed: "Abschlussbericht zu {engagement} ({closed}, {when})",
    heading_so_far: "Bericht zu {engagement} bis jetzt",
    spent_of_budget: "- Ausgegeben: {spent} von {budget} Budget ({percent} %)",
    also_paid: "; außerdem in anderen Währungen gezahlt: {amounts}",
    spent_nothing: "- Ausgegeben: nichts erfasst (kein Budget festgelegt)",
    spent_no_budget: "- Ausgegeben: {amounts} (kein Budget festgelegt)",
    late_none: "- Verspätete Meilensteine: keine",
    late: "- Verspätete Meilensteine: {list}",
    late_item: "{title} ({late} zu spät)",
    redone_none: "- Nachgebessert: nichts",
    redone: "- Nachgebessert: {list}",
    redone_once: "{title} (einmal)",
    redone_times: "{title} ({count}-mal)",
    never_delivered: "- Nie geliefert: {list}",
    not_delivered_yet: "- Noch nicht geliefert: {list}",
    silences_none: "- Zeiten ohne Nachricht: keine",
    silences: "- Zeiten ohne Nachricht: {list}",
    silence_item: "{long} ab {date}",
    status_answered: "- Statusanfragen beantwortet: {answered} von {sent}",
    questions_none: "- Fragen: keine gestellt",
    questions_answered: |n| match n {
        1 => "- Fragen: 1 gestellt, beantwortet".to_string(),
        n => format!("- Fragen: {n} gestellt, alle beantwortet"),
    },
    questions_open: |n, u| format!("- Fragen: {n} gestellt, {u} nie beantwortet: {{list}}"),
    question_item: "{quote} ({date})",
    evaluations_none: "- Bewertungen: keine erfasst",
    evaluations: "- Bewertungen: {list}",
    evaluation_item: "{score}/5 am {date}",
    evaluation_noted: "{score}/5 am {date} ({notes})",
    quoted: "„{text}“",
    milestones: "Meilensteine: {on_time} pünktlich, {late} verspätet",
    median_late: " (im Median {late} zu spät)",
    overdue: (", {overdue} überfällig", ", {overdue} überfällig"),
    open: (", {open} offen", ", {open} offen"),
    redo_requests: "Nachbesserungen angefordert: {count}",
    // "Median {median}", "höchstens {p90}": a duration after a preposition
    // would need the dative ("nach 2 Tagen"), the units are nominative.
    replies: "Antwortzeit auf Anfragen von Handoff: Median {median}, bei 90 % höchstens {p90} ({answered} beantwortet{waiting})",
    replies_none: "Antwortzeit auf Anfragen von Handoff: noch keine beantwortet{waiting}",
    waiting: (", {count} ausstehend", ", {count} ausstehend"),
    status: "Statusanfragen beantwortet: {answered} von {due} ({percent} %){waiting}",
    status_none_sent: "Statusanfragen beantwortet: noch keine gesendet",
    status_none_due: "Statusanfragen beantwortet: noch keine fällig{waiting}",
    record_evaluations_none: "Bewertungen: noch keine",
    record_evaluations: "Bewertungen: {list}",
    record_evaluation_item: "{score}/5 am {date} ({engagement})",
    paid: "Gezahlt: {amounts}",
    paid_nothing: "Gezahlt: nichts erfasst",
    without_amount: |n| match n {
        1 => " (und 1 Zahlung ohne Betrag erfasst)".to_string(),
        n => format!(" (und {n} Zahlungen ohne Betrag erfasst)"),
    },
    across: |n| match n {
        1 => "{name} im bisher einzigen Auftrag mit Ihnen:".to_string(),
        n => format!("{{name}} in allen {n} Aufträgen mit Ihnen:"),
    },
};

const ES: RecordPhrases = RecordPhrases {
    heading_closed: "Balance final de {engagement} ({closed}, {when})",
    heading_so_far: "Balance de {engagement} hasta ahora",
    spent_of_budget: "- Gastado: {spent} de un presupuesto de {budget} ({percent} %)",
    also_paid: "; también pagado en otras monedas: {amounts}",
    spent_nothing: "- Gastado: nada registrado (sin presupuesto)",
    spent_no_budget: "- Gastado: {amounts} (sin presupuesto)",
    late_none: "- Hitos con retraso: ninguno",
    late: "- Hitos con retraso: {list}",
    late_item: "{title} ({late} de retraso)",
    redone_none: "- Rehecho: nada",
    redone: "- Rehecho: {list}",
    redone_once: "{title} (una vez)",
    redone_times: "{title} ({count} veces)",
    never_delivered: "- Nunca entregado: {list}",
    not_delivered_yet: "- Aún no entregado: {list}",
    silences_none: "- Silencios: ninguno",
    silences: "- Silencios: {list}",
    silence_item: "{long} desde el {date}",
    status_answered: "- Solicitudes de estado respondidas: {answered} de {sent}",
    questions_none: "- Preguntas: ninguna",
    questions_answered: |n| match n {
        1 => "- Preguntas: 1 recibida, respondida".to_string(),
        n => format!("- Preguntas: {n} recibidas, todas respondidas"),
    },
    questions_open: |n, u| {
        let got = if n == 1 { "recibida" } else { "recibidas" };
        format!("- Preguntas: {n} {got}, {u} sin respuesta: {{list}}")
    },
    question_item: "{quote} ({date})",
    evaluations_none: "- Evaluaciones: ninguna registrada",
    evaluations: "- Evaluaciones: {list}",
    evaluation_item: "{score}/5 el {date}",
    evaluation_noted: "{score}/5 el {date} ({notes})",
    quoted: "«{text}»",
    milestones: "hitos: {on_time} a tiempo, {late} con retraso",
    median_late: " (retraso mediano: {late})",
    overdue: (", {overdue} vencido", ", {overdue} vencidos"),
    open: (", {open} abierto", ", {open} abiertos"),
    redo_requests: "correcciones pedidas: {count}",
    replies: "respuestas a las solicitudes de Handoff: mediana {median}, el 90 % en menos de {p90} ({answered} respondidas{waiting})",
    replies_none: "respuestas a las solicitudes de Handoff: ninguna todavía{waiting}",
    waiting: (", {count} pendiente", ", {count} pendientes"),
    status: "solicitudes de estado respondidas: {answered} de {due} ({percent} %){waiting}",
    status_none_sent: "solicitudes de estado respondidas: ninguna enviada todavía",
    status_none_due: "solicitudes de estado respondidas: ninguna vencida todavía{waiting}",
    record_evaluations_none: "evaluaciones: ninguna todavía",
    record_evaluations: "evaluaciones: {list}",
    record_evaluation_item: "{score}/5 el {date} ({engagement})",
    paid: "pagado: {amounts}",
    paid_nothing: "pagado: nada registrado",
    without_amount: |n| match n {
        1 => " (y 1 pago registrado sin importe)".to_string(),
        n => format!(" (y {n} pagos registrados sin importe)"),
    },
    across: |n| match n {
        1 => "{name} en su único proyecto con usted:".to_string(),
        n => format!("{{name}} en sus {n} proyectos con usted:"),
    },
};

const FR: RecordPhrases = RecordPhrases {
    heading_closed: "Bilan de fin de {engagement} ({closed}, {when})",
    heading_so_far: "Bilan de {engagement} jusqu’ici",
    spent_of_budget: "- Dépensé : {spent} sur un budget de {budget} ({percent} %)",
    also_paid: " ; payé aussi dans d’autres devises : {amounts}",
    spent_nothing: "- Dépensé : rien d’enregistré (pas de budget fixé)",
    spent_no_budget: "- Dépensé : {amounts} (pas de budget fixé)",
    late_none: "- Étapes en retard : aucune",
    late: "- Étapes en retard : {list}",
    late_item: "{title} ({late} de retard)",
    redone_none: "- Reprises demandées : aucune",
    redone: "- Reprises demandées : {list}",
    redone_once: "{title} (une fois)",
    redone_times: "{title} ({count} fois)",
    never_delivered: "- Étapes jamais livrées : {list}",
    not_delivered_yet: "- Étapes pas encore livrées : {list}",
    silences_none: "- Silences : aucun",
    silences: "- Silences : {list}",
    silence_item: "{long} à partir du {date}",
    status_answered: "- Demandes de point d’avancement avec réponse : {answered} sur {sent}",
    questions_none: "- Questions : aucune posée",
    questions_answered: |n| match n {
        1 => "- Questions : 1 posée, avec réponse".to_string(),
        n => format!("- Questions : {n} posées, toutes avec réponse"),
    },
    questions_open: |n, u| {
        let asked = if n == 1 { "posée" } else { "posées" };
        format!("- Questions : {n} {asked}, {u} sans réponse : {{list}}")
    },
    question_item: "{quote} ({date})",
    evaluations_none: "- Évaluations : aucune enregistrée",
    evaluations: "- Évaluations : {list}",
    evaluation_item: "{score}/5 le {date}",
    evaluation_noted: "{score}/5 le {date} ({notes})",
    quoted: "«\u{a0}{text}\u{a0}»",
    milestones: "étapes : {on_time} à temps, {late} en retard",
    median_late: " (retard médian : {late})",
    overdue: (", {overdue} dépassée", ", {overdue} dépassées"),
    open: (", {open} ouverte", ", {open} ouvertes"),
    redo_requests: "reprises demandées : {count}",
    replies: "réponses aux demandes de Handoff : médiane {median}, 90 % en moins de {p90} ({answered} avec réponse{waiting})",
    replies_none: "réponses aux demandes de Handoff : aucune pour le moment{waiting}",
    waiting: (", {count} en attente", ", {count} en attente"),
    status: "points d’avancement reçus : {answered} sur {due} demandés ({percent} %){waiting}",
    status_none_sent: "points d’avancement : aucune demande envoyée pour le moment",
    status_none_due: "points d’avancement : aucune réponse encore attendue{waiting}",
    record_evaluations_none: "évaluations : aucune pour le moment",
    record_evaluations: "évaluations : {list}",
    record_evaluation_item: "{score}/5 le {date} ({engagement})",
    paid: "payé : {amounts}",
    paid_nothing: "payé : rien d’enregistré",
    without_amount: |n| match n {
        0 | 1 => format!(" (et {n} paiement enregistré sans montant)"),
        n => format!(" (et {n} paiements enregistrés sans montant)"),
    },
    across: |n| match n {
        1 => "{name} sur son unique mission avec vous :".to_string(),
        n => format!("{{name}} sur ses {n} missions avec vous :"),
    },
};

const PT: RecordPhrases = RecordPhrases {
    heading_closed: "Balanço final de {engagement} ({closed}, {when})",
    heading_so_far: "Balanço de {engagement} até agora",
    spent_of_budget: "- Gasto: {spent} de um orçamento de {budget} ({percent} %)",
    also_paid: "; pago também em outras moedas: {amounts}",
    spent_nothing: "- Gasto: nada registrado (sem orçamento)",
    spent_no_budget: "- Gasto: {amounts} (sem orçamento)",
    late_none: "- Etapas com atraso: nenhuma",
    late: "- Etapas com atraso: {list}",
    late_item: "{title} ({late} de atraso)",
    redone_none: "- Refeito: nada",
    redone: "- Refeito: {list}",
    redone_once: "{title} (uma vez)",
    redone_times: "{title} ({count} vezes)",
    never_delivered: "- Nunca entregue: {list}",
    not_delivered_yet: "- Ainda não entregue: {list}",
    silences_none: "- Silêncios: nenhum",
    silences: "- Silêncios: {list}",
    silence_item: "{long} a partir de {date}",
    status_answered: "- Pedidos de status respondidos: {answered} de {sent}",
    questions_none: "- Perguntas: nenhuma",
    questions_answered: |n| match n {
        1 => "- Perguntas: 1 recebida, respondida".to_string(),
        n => format!("- Perguntas: {n} recebidas, todas respondidas"),
    },
    questions_open: |n, u| {
        let got = if n == 1 { "recebida" } else { "recebidas" };
        format!("- Perguntas: {n} {got}, {u} sem resposta: {{list}}")
    },
    question_item: "{quote} ({date})",
    evaluations_none: "- Avaliações: nenhuma registrada",
    evaluations: "- Avaliações: {list}",
    evaluation_item: "{score}/5 ({date})",
    evaluation_noted: "{score}/5 ({date}, {notes})",
    quoted: "“{text}”",
    milestones: "etapas: {on_time} no prazo, {late} com atraso",
    median_late: " (atraso mediano: {late})",
    overdue: (", {overdue} vencida", ", {overdue} vencidas"),
    open: (", {open} em aberto", ", {open} em aberto"),
    redo_requests: "pedidos de correção: {count}",
    replies: "respostas aos pedidos do Handoff: mediana {median}, 90 % em até {p90} ({answered} respondidos{waiting})",
    replies_none: "respostas aos pedidos do Handoff: nenhuma ainda{waiting}",
    waiting: (", {count} aguardando", ", {count} aguardando"),
    status: "pedidos de status respondidos: {answered} de {due} ({percent} %){waiting}",
    status_none_sent: "pedidos de status respondidos: nenhum enviado ainda",
    status_none_due: "pedidos de status respondidos: nenhum vencido ainda{waiting}",
    record_evaluations_none: "avaliações: nenhuma ainda",
    record_evaluations: "avaliações: {list}",
    record_evaluation_item: "{score}/5 ({date}, {engagement})",
    paid: "pago: {amounts}",
    paid_nothing: "pago: nada registrado",
    without_amount: |n| match n {
        1 => " (e 1 pagamento registrado sem valor)".to_string(),
        n => format!(" (e {n} pagamentos registrados sem valor)"),
    },
    across: |n| match n {
        1 => "{name} no único projeto com você:".to_string(),
        n => format!("{{name}} nos {n} projetos com você:"),
    },
};
