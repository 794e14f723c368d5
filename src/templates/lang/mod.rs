//! The languages Handoff writes mail in: a person's `language` (a BCP 47
//! tag) as a checked [`Lang`], and the short phrases Rust code writes into a
//! mail (a zone, a schedule, "end of day"), one file per language.
//!
//! # What it owns
//! - which languages ship ([`SHIPPED`]): each has a folder of templates under
//!   `templates/<lang>/` and a [`Phrases`] file here;
//! - how a tag maps to them: `pt-BR` writes Portuguese templates with
//!   Brazilian dates, `en-GB` English ones with British dates; the region
//!   only reaches the date and time formatting (ICU4X's CLDR data).
//!
//! # Why phrases live in code
//! The phrases are data a translator reads top to bottom, but as a `const`
//! of one struct per language the compiler proves every language has every
//! phrase: a language missing one does not build. Placeholders are `{name}`;
//! [`fill`] replaces them.
//!
//! Adding a language: a folder `templates/<code>/` with the files to
//! translate (any file left out falls back to English), a file here with its
//! [`Phrases`], and its code in [`SHIPPED`] and [`Base`].

mod de;
mod en;
mod es;
mod fr;
mod pt;
pub mod record;
pub mod seen;

use icu_locale_core::Locale;
pub use seen::Seen;

/// The languages whose templates and phrases ship, English first (it is the
/// fallback of every file).
pub const SHIPPED: &[&str] = &["en", "de", "es", "fr", "pt"];

/// A shipped language: which templates and phrases a tag uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Base {
    En,
    De,
    Es,
    Fr,
    Pt,
}

impl Base {
    pub const ALL: &'static [Base] = &[Base::En, Base::De, Base::Es, Base::Fr, Base::Pt];

    /// The folder under `templates/`: "de".
    pub fn code(self) -> &'static str {
        match self {
            Base::En => "en",
            Base::De => "de",
            Base::Es => "es",
            Base::Fr => "fr",
            Base::Pt => "pt",
        }
    }

    fn from_code(code: &str) -> Option<Base> {
        Base::ALL.iter().copied().find(|b| b.code() == code)
    }

    pub fn phrases(self) -> &'static Phrases {
        match self {
            Base::En => &en::PHRASES,
            Base::De => &de::PHRASES,
            Base::Es => &es::PHRASES,
            Base::Fr => &fr::PHRASES,
            Base::Pt => &pt::PHRASES,
        }
    }
}

/// A person's language: the tag as written (canonical case) and what it
/// writes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lang {
    tag: String,
    base: Base,
    locale: Locale,
}

impl Default for Lang {
    fn default() -> Lang {
        Lang::of(Base::En)
    }
}

impl Lang {
    /// The plain language of a shipped base ("de").
    pub fn of(base: Base) -> Lang {
        Lang {
            tag: base.code().to_string(),
            base,
            // A shipped code is a valid language tag; the fallback keeps
            // this total.
            locale: Locale::try_from_str(base.code()).unwrap_or(Locale::UNKNOWN),
        }
    }

    /// Reads a BCP 47 tag: "de", "pt-BR", "en-GB". A language Handoff does
    /// not ship is an error naming the ones it does.
    pub fn parse(text: &str) -> Result<Lang, String> {
        let shipped = SHIPPED.join(", ");
        let locale = Locale::try_from_str(text.trim()).map_err(|_| {
            format!(
                "`{text}` is not a language tag; expected one of {shipped} (BCP 47, a region such as \"pt-BR\" may follow)"
            )
        })?;
        let code = locale.id.language.as_str().to_string();
        let base = Base::from_code(&code).ok_or_else(|| {
            format!(
                "Handoff has no mail in `{text}`; expected one of {shipped} (a region such as \"pt-BR\" may follow; see templates/README.md to add a language)"
            )
        })?;
        Ok(Lang {
            tag: locale.to_string(),
            base,
            locale,
        })
    }

    /// The tag, canonical: "pt-BR".
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn base(&self) -> Base {
        self.base
    }

    /// The template folder: "pt" for "pt-BR".
    pub fn code(&self) -> &'static str {
        self.base.code()
    }

    pub(crate) fn locale(&self) -> &Locale {
        &self.locale
    }

    pub fn phrases(&self) -> &'static Phrases {
        self.base.phrases()
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.tag)
    }
}

/// The phrases one language needs around what ICU4X formats. `{name}` marks
/// a value filled in.
pub struct Phrases {
    /// A zone named by its city: "{city} time".
    pub zone: &'static str,
    /// The same for a city whose name starts with a vowel, where the
    /// language elides ("heure d’Amsterdam"); `None` where it does not.
    pub zone_vowel: Option<&'static str>,
    /// An instant with its zone: "{when} ({zone})".
    pub with_zone: &'static str,
    /// A date-only deadline read in the owner's zone: "{date}, end of day".
    pub end_of_day: &'static str,
    /// The same read elsewhere, with the reader's own time of that moment
    /// ("{local}" is a time, or a date and time when the reader's date is
    /// another): "{date}, end of day in {city}: {local} your time".
    pub end_of_day_there: &'static str,
    /// A time of day in a schedule: "at {time}".
    pub at: &'static str,
    /// The same for the hour 1 where the language says so ("a la 1:00").
    pub at_one: Option<&'static str>,
    /// "every day {at}".
    pub daily: &'static str,
    /// On some weekdays ("{days}" joined with `and`): "every {days} {at}".
    pub weekly: &'static str,
    /// Monday to Friday: "Monday to Friday {at}".
    pub workdays: &'static str,
    /// One day of the month: "on the {nth} of every month {at}".
    pub monthly: &'static str,
    /// The day of the month as the language writes it in `monthly`.
    pub ordinal: fn(u32) -> String,
    /// A schedule with no short phrase, by its next occurrences:
    /// "on a set schedule, next on {list} ({zone})".
    pub next_few: &'static str,
    /// The last joint of a list: " and ".
    pub and: &'static str,
    /// Units of a period, singular and plural.
    pub day: (&'static str, &'static str),
    pub hour: (&'static str, &'static str),
    pub minute: (&'static str, &'static str),
    /// Whether 0 takes the singular (French).
    pub zero_is_singular: bool,
    /// The calendar: a milestone's SUMMARY, "Due: {title}".
    pub event_due: &'static str,
    /// The kickoff's SUMMARY, "Kickoff: {title}".
    pub event_kickoff: &'static str,
    /// The kickoff's DESCRIPTION and its name in a cancellation:
    /// "Kickoff call for {title}".
    pub kickoff_call: &'static str,
    /// What a sign-in that stopped working stops, for the notice: replies
    /// unread and no mail out; replies unread; no mail out; nothing.
    pub sign_in_stops: [&'static str; 4],
    /// What `handoff check` and `preview` put where a person's own words go
    /// (an owner's feedback, notes, what to redo; a contractor's question
    /// and delivery), so a preview reads like the mail.
    pub sample_feedback: &'static str,
    pub sample_notes: &'static str,
    pub sample_reason: &'static str,
    pub sample_question: &'static str,
    pub sample_delivery: &'static str,
    /// The lines Rust writes into the digest and the evaluation reminder.
    pub report: Report,
    /// A milestone already past due when the instructions go, in a list:
    /// "{title} (due {due})".
    pub overdue_item: &'static str,
    /// "(30 minutes)" after it in the DESCRIPTION.
    pub kickoff_length: &'static str,
    /// A declined counter-proposal's comment in the calendar: "The date
    /// stays {due}."
    pub date_stays: &'static str,
    /// A date in a calendar answer that could not be read.
    pub date_unreadable: &'static str,
    /// Why a reply was read as it was, for the owner's notices.
    pub seen: Seen,
}

/// What the owner reads about engagements: the digest's lines and the
/// record in the evaluation reminder.
pub struct Report {
    /// The digest's headline from the counts of engagements and of things
    /// that need the owner: "2 engagements, 1 thing needs you".
    pub headline: fn(usize, usize) -> String,
    /// "{title} ({id}, {contractor}): {state}".
    pub engagement: &'static str,
    /// The state in that line.
    pub active: &'static str,
    pub finished: &'static str,
    pub ended: &'static str,
    pub awaiting: &'static str,
    /// Not started yet: "starts {date}".
    pub starts: &'static str,
    /// "  - due this week: {title} ({due})".
    pub due_this_week: &'static str,
    /// A milestone in a notice's list: "- {title}: due {due}", "- {title}:
    /// delivered {when}".
    pub line_due: &'static str,
    pub line_delivered: &'static str,
    /// Things that need the owner, one line each.
    pub need_agreement: &'static str,
    pub need_overdue: &'static str,
    pub need_check: &'static str,
    pub need_check_delivered: &'static str,
    pub need_payment: &'static str,
    pub need_evaluation: &'static str,
    pub need_question: &'static str,
    pub need_held: &'static str,
    pub need_silent: &'static str,
    /// "budget: {spent} of {budget} spent ({percent} %)".
    pub budget: &'static str,
    /// The record so far.
    pub record_milestones: &'static str,
    pub record_ack: &'static str,
    pub record_no_ack: &'static str,
    pub record_heard: &'static str,
    pub record_not_heard: &'static str,
    pub record_answered: &'static str,
    pub record_unanswered: &'static str,
}

/// Replaces each `{name}` in `pattern` with its value.
pub fn fill(pattern: &str, values: &[(&str, &str)]) -> String {
    let mut out = pattern.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_keeps_its_dates_and_uses_the_languages_templates() {
        let l = Lang::parse("pt-br").unwrap();
        assert_eq!(l.tag(), "pt-BR");
        assert_eq!(l.code(), "pt");
        assert_eq!(Lang::parse("de").unwrap().base(), Base::De);
    }

    #[test]
    fn an_unshipped_language_names_the_shipped_ones() {
        let err = Lang::parse("it").unwrap_err();
        assert!(err.contains("en, de, es, fr, pt"), "{err}");
        let err = Lang::parse("not a tag").unwrap_err();
        assert!(err.contains("not a language tag"), "{err}");
    }

    #[test]
    fn every_shipped_code_has_a_base() {
        for code in SHIPPED {
            assert_eq!(Lang::parse(code).unwrap().code(), *code);
        }
        assert_eq!(SHIPPED.len(), Base::ALL.len());
    }
}
