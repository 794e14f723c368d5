//! French phrases: "vous", short and plain.

use super::{Phrases, Report, Seen};

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
    sign_in_stops: [
        "les réponses ne sont pas lues et aucun message ne part",
        "les réponses de vos prestataires ne sont pas lues",
        "aucun message ne part",
        "rien n'utilise cette connexion",
    ],
    sample_feedback: "Un travail clair et de bonnes notes. La prochaine fois, dites-moi plus tôt si une date ne peut pas être tenue.",
    sample_notes: "Les couleurs sont bonnes maintenant. Merci de garder les fichiers sources.",
    sample_reason: "L'en-tête est trop grand sur un téléphone. Merci de le réduire.",
    sample_question: "La page de contact doit-elle avoir une carte ?",
    sample_delivery: "Voici les maquettes, en PDF joint.",
    report: REPORT,
    overdue_item: "{title} (à rendre le {due})",
    date_unreadable: "(une date que Handoff n’a pas pu lire)",
    date_stays: "La date reste : {due}.",
    seen: Seen {
        question_mark: "un point d’interrogation dans son message",
        question_opening: "une phrase qui commence comme une question ({words})",
        asks: "le message dit qu’il pose une question ({words})",
        attachment: "une pièce jointe ({name})",
        link_with: "un lien ({link}) avec {words}",
        percentage: "un pourcentage ({p})",
        subject_status: "l’objet le dit ({words})",
        status_words: "des mots d’un point d’avancement ({words})",
        answers_request: "il répond à une demande de point d’avancement",
        cited: "la réponse cite le message de Handoff à son sujet",
        named: "le nouveau texte la nomme (\u{ab}\u{a0}{title}\u{a0}\u{bb})",
        earliest: "c’est la première étape encore ouverte",
    },
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

const REPORT: Report = Report {
    headline,
    engagement: "{title} ({id}, {contractor}) : {state}",
    active: "en cours",
    finished: "terminée",
    ended: "arrêtée",
    awaiting: "en attente du contrat",
    starts: "commence le {date}",
    due_this_week: "  - à rendre cette semaine : {title} ({due})",
    line_due: "- {title} : à rendre le {due}",
    line_delivered: "- {title} : livré le {when}",
    need_agreement: "- {id} : le contrat n'est pas encore signé",
    need_overdue: "- {id} : {title} est en retard (à rendre le {due})",
    need_check: "- {id} : vérifier la livraison de {title}",
    need_check_delivered: "- {id} : vérifier la livraison de {title} (livré le {when})",
    need_payment: "- {id} : un paiement à {name} est dû (depuis le {when})",
    need_evaluation: "- {id} : l'évaluation de {name} est à faire (depuis le {when})",
    need_question: "- {id} : la question de {name} du {when} n'a pas de réponse",
    need_held: "- {id} : les messages à {email} sont retenus après un retour d'erreur",
    need_silent: "- {id} : aucune nouvelle de {name} depuis le {when}",
    budget: "budget : {spent} dépensés sur {budget} ({percent} %)",
    record_milestones: "- Étapes : {on_time} livrées à temps, {late} en retard, {open} ouvertes ({overdue} dépassées)",
    record_ack: "- Dernier accusé de réception : {when}",
    record_no_ack: "- Aucun accusé de réception",
    record_heard: "- Dernières nouvelles : {when}",
    record_not_heard: "- Aucune nouvelle pour le moment",
    record_answered: "- Dernière question : {when}, répondue",
    record_unanswered: "- Dernière question : {when}, pas encore de réponse",
};

/// "2 missions, 1 point demande votre attention".
fn headline(engagements: usize, needs: usize) -> String {
    let e = if engagements <= 1 {
        "mission"
    } else {
        "missions"
    };
    let n = match needs {
        0 => "rien ne demande votre attention".to_string(),
        1 => "1 point demande votre attention".to_string(),
        k => format!("{k} points demandent votre attention"),
    };
    format!("{engagements} {e}, {n}")
}
