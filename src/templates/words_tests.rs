//! Dates, zones, deadlines, periods and schedules as each language writes
//! them: what a reader sees, checked against ICU4X's CLDR output.

use super::*;
use chrono::Weekday::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn reader(tag: &str, tz: Tz) -> Reader {
    Reader::new(Lang::parse(tag).unwrap(), tz)
}

fn nine() -> NaiveTime {
    NaiveTime::from_hms_opt(9, 0, 0).unwrap()
}

#[test]
fn a_time_reads_in_the_readers_language_and_zone() {
    let t = at("2026-12-05T22:59:00Z");
    let ny = chrono_tz::America::New_York;
    assert_eq!(
        reader("en", ny).time(t),
        "Saturday, December 5, 2026 at 5:59\u{a0}PM (New York time)"
    );
    assert_eq!(
        reader("en-GB", ny).time(t),
        "Saturday, 5 December 2026 at 17:59 (New York time)"
    );
    assert_eq!(
        reader("de", chrono_tz::Europe::Vienna).time(t),
        "Samstag, 5. Dezember 2026 um 23:59 (Ortszeit Wien)"
    );
    assert_eq!(
        reader("fr", chrono_tz::Europe::Paris).time(t),
        "samedi 5 décembre 2026 à 23:59 (heure de Paris)"
    );
    assert_eq!(
        reader("fr", chrono_tz::Europe::Amsterdam).zone(),
        "heure d’Amsterdam"
    );
    assert_eq!(reader("es", ny).zone(), "hora de Nueva York");
    assert_eq!(reader("pt-PT", ny).zone(), "horário de Nova Iorque");
    assert_eq!(reader("pt", ny).zone(), "horário de Nova York");
}

#[test]
fn a_zone_without_a_city_is_named_by_its_offset() {
    assert_eq!(reader("de", chrono_tz::UTC).zone(), "UTC");
    assert_eq!(reader("en", chrono_tz::Etc::GMTPlus5).zone(), "UTC−05:00");
}

#[test]
fn a_date_only_deadline_is_the_end_of_the_owners_day_in_the_readers_time_too() {
    let berlin = chrono_tz::Europe::Berlin;
    // 5 December, 23:59:59 in Berlin.
    let due = at("2026-12-05T22:59:59Z");
    assert_eq!(
        reader("en-GB", berlin).due(due, berlin),
        "Saturday, 5 December 2026, end of day"
    );
    assert_eq!(
        reader("en-GB", chrono_tz::America::New_York).due(due, berlin),
        "Saturday, 5 December 2026, end of day in Berlin: 17:59 your time"
    );
    // In Manila the owner's end of day is the next morning.
    assert_eq!(
        reader("de", chrono_tz::Asia::Manila).due(due, berlin),
        "Samstag, 5. Dezember 2026, Tagesende in Berlin (bei Ihnen: Sonntag, 6. Dezember um 06:59)"
    );
    // A due time is just that time, in the reader's zone.
    let timed = at("2026-12-05T16:00:00Z");
    assert_eq!(
        reader("es", chrono_tz::America::New_York).due(timed, berlin),
        "sábado, 5 de diciembre de 2026 a las 11:00 (hora de Nueva York)"
    );
}

#[test]
fn schedules_are_said_in_words() {
    let ny = chrono_tz::America::New_York;
    let en = reader("en-GB", ny);
    assert_eq!(
        en.schedule(&Shape::Weekly(vec![Mon], nine()), ny),
        "every Monday at 09:00 (New York time)"
    );
    assert_eq!(
        en.schedule(&Shape::Monthly(1, nine()), ny),
        "on the 1st of every month at 09:00 (New York time)"
    );
    assert_eq!(
        reader("de", ny).schedule(&Shape::Weekly(vec![Mon, Thu], nine()), ny),
        "jeden Montag und Donnerstag um 09:00 (Ortszeit New York)"
    );
    assert_eq!(
        reader("fr", ny).schedule(&Shape::Weekly(vec![Mon, Tue, Wed, Thu, Fri], nine()), ny),
        "du lundi au vendredi à 09:00 (heure de New York)"
    );
    let one = NaiveTime::from_hms_opt(1, 30, 0).unwrap();
    assert_eq!(
        reader("es", ny).schedule(&Shape::Daily(one), ny),
        "todos los días a la 01:30 (hora de Nueva York)"
    );
    assert_eq!(
        reader("pt", ny).schedule(&Shape::Monthly(15, nine()), ny),
        "no dia 15 de cada mês às 09:00 (horário de Nova York)"
    );
    let next = Shape::Next(vec![
        at("2026-12-01T14:00:00Z"),
        at("2027-03-01T14:00:00Z"),
        at("2027-06-01T13:00:00Z"),
    ]);
    assert_eq!(
        en.schedule(&next, ny),
        "on a set schedule, next on Tuesday, 1 December 2026 at 09:00, Monday, 1 March 2027 at 09:00 and Tuesday, 1 June 2027 at 09:00 (New York time)"
    );
}

#[test]
fn periods_are_counted_in_the_readers_words() {
    let ny = chrono_tz::America::New_York;
    assert_eq!(reader("en", ny).period(TimeDelta::days(3)), "3 days");
    assert_eq!(
        reader("en", ny).period(TimeDelta::hours(36)),
        "1 day and 12 hours"
    );
    let list = ["Draft".to_string(), "Final".to_string(), "Copy".to_string()];
    assert_eq!(reader("de", ny).list(&list), "Draft, Final und Copy");
    assert_eq!(reader("de", ny).period(TimeDelta::days(1)), "1 Tag");
    assert_eq!(reader("fr", ny).period(TimeDelta::zero()), "0 minute");
    assert_eq!(reader("es", ny).rough(TimeDelta::hours(80)), "3 días");
    assert_eq!(
        reader("pt", ny).rough(TimeDelta::hours(30)),
        "1 dia e 6 horas"
    );
}
