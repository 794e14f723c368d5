//! The owner's commands by reply: the first non-empty line of a reply to a
//! Handoff notice, read as one of
//!
//! ```text
//! accept [notes]          redo: <reason>          paid [AMOUNT]
//! answered                evaluated <1-5>: <notes>  end: <reason>
//! delivered               wrong: <what it is>     decline
//! ```
//!
//! `delivered` (to an overdue notice or an escalation) records a delivery
//! Handoff missed; `wrong: question`, `wrong: not delivered`, `wrong: not a
//! bounce` … (to a notice that followed a reading) corrects the reading;
//! `accept` and `decline` to a counter-proposal notice answer it (the
//! inbox tells which notice a reply cites).
//!
//! Each keyword also reads in the languages of the word lists
//! (`src/words/<lang>.toml`, `command_*`): "akzeptieren", "aceptar",
//! "accepter", "aceitar" work as "accept", "falsch: keine Frage" as
//! "wrong: not a question"; the English keywords work whatever the owner's
//! language. The keyword is case-insensitive and must stand alone (followed by the end
//! of the line, a space or a colon): "Accepted, thanks" is not a command.
//! Only the first line counts, so a signature or a quoted notice below it
//! never changes what is done. Whether the mail may act at all (from the
//! owner, citing a notice) is the inbox's test, not this module's.

use super::OwnerAction;
use crate::money::Money;
use crate::words::Words;

/// The command keywords, as written at the start of the line.
const KEYWORDS: &[&str] = &[
    "accept",
    "redo",
    "paid",
    "answered",
    "evaluated",
    "end",
    "delivered",
    "wrong",
    "decline",
];

/// The first non-empty line of what the owner wrote.
pub fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// Splits "keyword[:] rest" when the line starts with a command: the
/// English keyword, or its word in any language of the word lists
/// (`command_accept = ["akzeptieren", …]` in `src/words/de.toml`). The
/// word stands alone: letters only, then the end of the line, a space or
/// a colon ("Akzeptieren, danke" is not a command, as "Accepted, thanks"
/// is not).
fn split(line: &str) -> Option<(&'static str, &str)> {
    let line = line.trim();
    let end = line
        .find(|c: char| c == ':' || c.is_whitespace())
        .unwrap_or(line.len());
    let (head, rest) = line.split_at(end);
    if head.is_empty() || !head.chars().all(char::is_alphabetic) {
        return None;
    }
    let lex = crate::words::lexicon();
    let word = Words::new(head);
    let keyword = KEYWORDS
        .iter()
        .find(|k| head.eq_ignore_ascii_case(k))
        .or_else(|| {
            KEYWORDS
                .iter()
                .find(|k| lex.is_whole(&format!("command_{k}"), &word, &[]).is_some())
        })?;
    Some((keyword, rest.trim().trim_start_matches(':').trim()))
}

/// Whether the line starts with a command keyword (it may still be malformed).
pub fn looks_like_command(line: &str) -> bool {
    split(line).is_some()
}

/// Reads a command line. A bare `paid` amount takes `currency` (the
/// engagement's budget currency). The error says what was expected.
pub fn parse(line: &str, currency: Option<&str>) -> Result<OwnerAction, String> {
    let Some((keyword, rest)) = split(line) else {
        return Err(format!(
            "the first line {:?} is not a command; expected one of: accept [notes], redo: <reason>, paid [AMOUNT], answered, evaluated <1-5>: <notes>, end: <reason>, delivered, wrong: <what it is>, decline (or the same word in your language: akzeptieren, aceptar, accepter, aceitar …)",
            truncate(line)
        ));
    };
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match keyword {
        "accept" => Ok(OwnerAction::Accept {
            milestone: None,
            notes: some(rest),
        }),
        "redo" => match some(rest) {
            Some(reason) => Ok(OwnerAction::Redo {
                milestone: None,
                reason,
                due: None,
            }),
            None => Err("`redo` needs a reason: redo: <what needs fixing>".into()),
        },
        "paid" => Ok(OwnerAction::Paid {
            amount: match some(rest) {
                None => None,
                Some(text) => Some(Money::parse_or(&text, currency).map_err(|e| e.to_string())?),
            },
        }),
        "answered" if rest.is_empty() => Ok(OwnerAction::Answered),
        "answered" => Err("`answered` takes nothing after it".into()),
        "evaluated" => {
            let (score, notes) = match rest.split_once(':') {
                Some((s, n)) => (s.trim(), n.trim()),
                None => (rest, ""),
            };
            match score.parse::<u8>() {
                Ok(score @ 1..=5) => Ok(OwnerAction::Evaluate {
                    score,
                    notes: some(notes),
                }),
                _ => Err(format!(
                    "`evaluated` needs a score from 1 to 5: evaluated <1-5>: <notes> (got {:?})",
                    truncate(score)
                )),
            }
        }
        "end" => match some(rest) {
            Some(reason) => Ok(OwnerAction::End {
                reason: Some(reason),
            }),
            None => Err("`end` needs a reason: end: <why the engagement ends>".into()),
        },
        "delivered" if rest.is_empty() => Ok(OwnerAction::Delivered { milestone: None }),
        "delivered" => Err("`delivered` takes nothing after it".into()),
        "wrong" => match some(rest) {
            Some(what) => Ok(OwnerAction::Correct {
                reading: None,
                to: super::Correction::parse(&what)?,
                milestone: None,
            }),
            None => Err(
                "`wrong` needs what the mail is: wrong: question, wrong: not delivered, …".into(),
            ),
        },
        "decline" => Ok(OwnerAction::Counter {
            milestone: None,
            accept: false,
        }),
        // KEYWORDS and the arms above are the same list.
        other => Err(format!("unknown command {other}")),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(cents: i64) -> Money {
        Money {
            cents,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn each_command_reads() {
        let p = |l: &str| parse(l, Some("EUR"));
        assert_eq!(
            p("accept"),
            Ok(OwnerAction::Accept {
                milestone: None,
                notes: None
            })
        );
        assert_eq!(
            p("Accept: crisp work, thanks"),
            Ok(OwnerAction::Accept {
                milestone: None,
                notes: Some("crisp work, thanks".into())
            })
        );
        assert_eq!(
            p("redo: the header overlaps the logo"),
            Ok(OwnerAction::Redo {
                milestone: None,
                reason: "the header overlaps the logo".into(),
                due: None,
            })
        );
        assert_eq!(p("paid"), Ok(OwnerAction::Paid { amount: None }));
        assert_eq!(
            p("paid 1200.50"),
            Ok(OwnerAction::Paid {
                amount: Some(eur(120_050))
            })
        );
        assert_eq!(
            p("PAID 300 EUR"),
            Ok(OwnerAction::Paid {
                amount: Some(eur(30_000))
            })
        );
        assert_eq!(p("answered"), Ok(OwnerAction::Answered));
        assert_eq!(
            p("evaluated 4: reliable, slow to answer"),
            Ok(OwnerAction::Evaluate {
                score: 4,
                notes: Some("reliable, slow to answer".into())
            })
        );
        assert_eq!(
            p("end: budget cut"),
            Ok(OwnerAction::End {
                reason: Some("budget cut".into())
            })
        );
        assert_eq!(
            p("delivered"),
            Ok(OwnerAction::Delivered { milestone: None })
        );
        assert_eq!(
            p("wrong: not delivered"),
            Ok(OwnerAction::Correct {
                reading: None,
                to: super::super::Correction::Not(crate::kinds::Kind::Delivery),
                milestone: None
            })
        );
        assert_eq!(
            p("Wrong: question"),
            Ok(OwnerAction::Correct {
                reading: None,
                to: super::super::Correction::Is(crate::kinds::Kind::Question),
                milestone: None
            })
        );
        assert_eq!(
            p("decline"),
            Ok(OwnerAction::Counter {
                milestone: None,
                accept: false
            })
        );
    }

    #[test]
    fn near_misses_are_refused_with_what_was_expected() {
        let p = |l: &str| parse(l, None);
        for bad in [
            "Accepted, thanks",
            "thanks!",
            "",
            "redo",
            "redo:",
            "end",
            "evaluated 6: great",
            "evaluated: great",
            "evaluated four",
            "answered yes",
            "paid lots",
            "paid 300",
            "endless",
            "wrong",
            "wrong: banana",
            "delivered, thanks",
            "delivered everything",
            "Wrongly",
        ] {
            assert!(p(bad).is_err(), "{bad:?} was read as a command");
        }
        assert!(p("paid 300").unwrap_err().contains("no currency"));
        assert!(p("redo").unwrap_err().contains("needs a reason"));
        assert!(p("hello").unwrap_err().contains("not a command"));
    }

    #[test]
    fn each_command_reads_in_the_owners_language_and_english_always_works() {
        let p = |l: &str| parse(l, Some("EUR"));
        let accept = |notes: Option<&str>| {
            Ok(OwnerAction::Accept {
                milestone: None,
                notes: notes.map(str::to_string),
            })
        };
        assert_eq!(p("Akzeptieren"), accept(None));
        assert_eq!(p("aceptar: muy bien"), accept(Some("muy bien")));
        assert_eq!(p("Accepter : très bien"), accept(Some("très bien")));
        assert_eq!(p("aceitar"), accept(None));
        assert_eq!(p("accept"), accept(None));
        assert_eq!(
            p("nacharbeiten: der Kopf ist zu groß"),
            Ok(OwnerAction::Redo {
                milestone: None,
                reason: "der Kopf ist zu groß".into(),
                due: None,
            })
        );
        assert_eq!(
            p("payé 300"),
            Ok(OwnerAction::Paid {
                amount: Some(eur(30_000))
            })
        );
        assert_eq!(p("beantwortet"), Ok(OwnerAction::Answered));
        assert_eq!(p("respondido"), Ok(OwnerAction::Answered));
        assert_eq!(
            p("bewertet 4: zuverlässig"),
            Ok(OwnerAction::Evaluate {
                score: 4,
                notes: Some("zuverlässig".into())
            })
        );
        assert_eq!(p("livré"), Ok(OwnerAction::Delivered { milestone: None }));
        assert_eq!(
            p("falsch: keine Frage"),
            Ok(OwnerAction::Correct {
                reading: None,
                to: super::super::Correction::Not(crate::kinds::Kind::Question),
                milestone: None,
            })
        );
        assert_eq!(
            p("erreur : pas livré"),
            Ok(OwnerAction::Correct {
                reading: None,
                to: super::super::Correction::Not(crate::kinds::Kind::Delivery),
                milestone: None,
            })
        );
        assert_eq!(
            p("rechazar"),
            Ok(OwnerAction::Counter {
                milestone: None,
                accept: false
            })
        );
        for bad in ["Akzeptieren, danke", "akzeptiert", "Danke!", "rehacer"] {
            assert!(p(bad).is_err(), "{bad:?} was read as a command");
        }
        assert!(p("nacharbeiten").unwrap_err().contains("needs a reason"));
    }

    #[test]
    fn only_the_first_non_empty_line_counts() {
        assert_eq!(first_line("\n\n  accept  \nend: no\n"), "accept");
        assert_eq!(first_line(""), "");
        assert!(looks_like_command("end: done"));
        assert!(!looks_like_command("endless"));
    }
}
