//! Dates as mail clients write them in their quote headers ("Am Di., 24.
//! Nov. 2026 um 14:00 Uhr schrieb …"): strftime with the day and month names
//! of seven languages.

use chrono::{DateTime, Datelike};
use chrono_tz::Tz;

/// Day and month names as the clients write them, per language
/// (abbreviations without their dot: the format string adds it where the
/// client does).
struct Names {
    days: [&'static str; 7],
    days_abbr: [&'static str; 7],
    months: [&'static str; 12],
    months_abbr: [&'static str; 12],
}

fn names(lang: &str) -> Option<Names> {
    Some(match lang {
        "en" => Names {
            days: [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ],
            days_abbr: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            months: [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ],
            months_abbr: [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ],
        },
        "de" => Names {
            days: [
                "Montag",
                "Dienstag",
                "Mittwoch",
                "Donnerstag",
                "Freitag",
                "Samstag",
                "Sonntag",
            ],
            days_abbr: ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"],
            months: [
                "Januar",
                "Februar",
                "März",
                "April",
                "Mai",
                "Juni",
                "Juli",
                "August",
                "September",
                "Oktober",
                "November",
                "Dezember",
            ],
            months_abbr: [
                "Jan", "Feb", "März", "Apr", "Mai", "Juni", "Juli", "Aug", "Sept", "Okt", "Nov",
                "Dez",
            ],
        },
        "fr" => Names {
            days: [
                "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
            ],
            days_abbr: ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"],
            months: [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ],
            months_abbr: [
                "janv", "févr", "mars", "avr", "mai", "juin", "juil", "août", "sept", "oct", "nov",
                "déc",
            ],
        },
        "es" => Names {
            days: [
                "lunes",
                "martes",
                "miércoles",
                "jueves",
                "viernes",
                "sábado",
                "domingo",
            ],
            days_abbr: ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
            months: [
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ],
            months_abbr: [
                "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
            ],
        },
        "pt" => Names {
            days: [
                "segunda-feira",
                "terça-feira",
                "quarta-feira",
                "quinta-feira",
                "sexta-feira",
                "sábado",
                "domingo",
            ],
            days_abbr: ["seg", "ter", "qua", "qui", "sex", "sáb", "dom"],
            months: [
                "janeiro",
                "fevereiro",
                "março",
                "abril",
                "maio",
                "junho",
                "julho",
                "agosto",
                "setembro",
                "outubro",
                "novembro",
                "dezembro",
            ],
            months_abbr: [
                "jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez",
            ],
        },
        "it" => Names {
            days: [
                "lunedì",
                "martedì",
                "mercoledì",
                "giovedì",
                "venerdì",
                "sabato",
                "domenica",
            ],
            days_abbr: ["lun", "mar", "mer", "gio", "ven", "sab", "dom"],
            months: [
                "gennaio",
                "febbraio",
                "marzo",
                "aprile",
                "maggio",
                "giugno",
                "luglio",
                "agosto",
                "settembre",
                "ottobre",
                "novembre",
                "dicembre",
            ],
            months_abbr: [
                "gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic",
            ],
        },
        "nl" => Names {
            days: [
                "maandag",
                "dinsdag",
                "woensdag",
                "donderdag",
                "vrijdag",
                "zaterdag",
                "zondag",
            ],
            days_abbr: ["ma", "di", "wo", "do", "vr", "za", "zo"],
            months: [
                "januari",
                "februari",
                "maart",
                "april",
                "mei",
                "juni",
                "juli",
                "augustus",
                "september",
                "oktober",
                "november",
                "december",
            ],
            months_abbr: [
                "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
            ],
        },
        _ => return None,
    })
}

pub(super) fn format_date(t: DateTime<Tz>, lang: &str, format: &str) -> Result<String, String> {
    use std::fmt::Write as _;
    let n = names(lang).ok_or_else(|| format!("no day and month names for {lang:?}"))?;
    let weekday = t.weekday().num_days_from_monday() as usize;
    let month = t.month0() as usize;
    let mut spec = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            spec.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('A') => spec.push_str(n.days[weekday]),
            Some('a') => spec.push_str(n.days_abbr[weekday]),
            Some('B') => spec.push_str(n.months[month]),
            Some('b') => spec.push_str(n.months_abbr[month]),
            Some('o') => {
                let d = t.day();
                let suffix = match (d % 10, d % 100) {
                    (_, 11..=13) => "th",
                    (1, _) => "st",
                    (2, _) => "nd",
                    (3, _) => "rd",
                    _ => "th",
                };
                spec.push_str(&format!("{d}{suffix}"));
            }
            Some('%') => spec.push_str("%%"),
            _ => {
                spec.push('%');
                continue;
            }
        }
        chars.next();
    }
    let mut out = String::new();
    write!(out, "{}", t.format(&spec)).map_err(|_| format!("bad date format {format:?}"))?;
    Ok(out)
}
