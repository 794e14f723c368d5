//! German phrases: the polite "Sie", short and plain.

use super::{Phrases, Report, Seen};

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
    sign_in_stops: [
        "Antworten werden nicht gelesen, und keine Mail geht hinaus",
        "Antworten Ihrer Auftragnehmer werden nicht gelesen",
        "keine Mail geht hinaus",
        "nichts nutzt diese Anmeldung",
    ],
    sample_feedback: "Saubere Arbeit und gute Notizen. Sagen Sie mir beim nächsten Mal bitte früher, wenn sich ein Termin verschiebt.",
    sample_notes: "Die Farben stimmen jetzt. Bitte bewahren Sie die Quelldateien auf.",
    sample_reason: "Der Kopfbereich ist auf dem Telefon zu groß. Bitte machen Sie ihn kleiner.",
    sample_question: "Soll die Kontaktseite eine Karte haben?",
    sample_delivery: "Hier sind die Entwürfe, als PDF im Anhang.",
    report: REPORT,
    overdue_item: "{title} (fällig am {due})",
    date_unreadable: "(ein Datum, das Handoff nicht lesen konnte)",
    date_stays: "Der Termin bleibt: {due}.",
    seen: Seen {
        question_mark: "ein Fragezeichen im Text",
        question_opening: "ein Satz, der wie eine Frage beginnt ({words})",
        asks: "der Text sagt, dass er fragt ({words})",
        attachment: "ein Anhang ({name})",
        link_with: "ein Link ({link}) mit {words}",
        percentage: "eine Prozentangabe ({p})",
        subject_status: "der Betreff sagt es ({words})",
        status_words: "Wörter eines Statusberichts ({words})",
        answers_request: "die Antwort auf eine Statusanfrage",
        cited: "die Antwort zitiert Handoffs Mail dazu",
        named: "der neue Text nennt ihn („{title}“)",
        earliest: "es ist der früheste noch offene Meilenstein",
    },
    kickoff_length: "(30 Minuten)",
};

/// "1.", "15.".
fn ordinal(n: u32) -> String {
    format!("{n}.")
}

const REPORT: Report = Report {
    headline,
    engagement: "{title} ({id}, {contractor}): {state}",
    active: "läuft",
    finished: "abgeschlossen",
    ended: "beendet",
    awaiting: "wartet auf die Vereinbarung",
    starts: "beginnt am {date}",
    due_this_week: "  - fällig diese Woche: {title} ({due})",
    line_due: "- {title}: fällig am {due}",
    line_delivered: "- {title}: geliefert am {when}",
    need_agreement: "- {id}: Die Vereinbarung ist noch nicht unterschrieben",
    need_overdue: "- {id}: {title} ist überfällig (fällig am {due})",
    need_check: "- {id}: Lieferung von {title} prüfen",
    need_check_delivered: "- {id}: Lieferung von {title} prüfen (geliefert {when})",
    need_payment: "- {id}: Eine Zahlung an {name} ist fällig (seit {when})",
    need_evaluation: "- {id}: Die Bewertung von {name} ist fällig (seit {when})",
    need_question: "- {id}: Die Frage von {name} vom {when} ist nicht beantwortet",
    need_held: "- {id}: Mail an {email} wird nach einer Unzustellbarkeit zurückgehalten",
    need_silent: "- {id}: keine Nachricht von {name} seit {when}",
    budget: "Budget: {spent} von {budget} ausgegeben ({percent} %)",
    record_milestones: "- Meilensteine: {on_time} pünktlich geliefert, {late} verspätet, {open} offen ({overdue} überfällig)",
    record_ack: "- Letzte Bestätigung: {when}",
    record_no_ack: "- Keine Bestätigung erhalten",
    record_heard: "- Zuletzt von ihnen gehört: {when}",
    record_not_heard: "- Noch nichts von ihnen gehört",
    record_answered: "- Letzte Frage: {when}, beantwortet",
    record_unanswered: "- Letzte Frage: {when}, noch nicht beantwortet",
};

/// "2 Aufträge, 1 Punkt braucht Sie".
fn headline(engagements: usize, needs: usize) -> String {
    let e = if engagements == 1 {
        "Auftrag"
    } else {
        "Aufträge"
    };
    let n = match needs {
        0 => "nichts braucht Sie".to_string(),
        1 => "1 Punkt braucht Sie".to_string(),
        k => format!("{k} Punkte brauchen Sie"),
    };
    format!("{engagements} {e}, {n}")
}
