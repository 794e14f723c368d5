//! The word lists read, and match whole words the way a person reads them.

use super::*;

fn en() -> Lexicon {
    Lexicon::load(FILES).unwrap()
}

#[test]
fn every_language_file_reads_and_has_every_category_english_has() {
    let lex = en();
    let english: Vec<&str> = lex.language("en").unwrap().category_names().collect();
    assert!(english.len() > 15, "{english:?}");
    for lang in lex.languages() {
        for c in &english {
            assert!(
                lang.category(c).is_some_and(|c| !c.phrases.is_empty()),
                "{}.toml has no {c}",
                lang.code
            );
        }
        for c in lang.category_names() {
            assert!(
                english.contains(&c),
                "{}.toml: {c} is not in en.toml",
                lang.code
            );
        }
    }
    assert_eq!(lex.languages().len(), 7);
}

#[test]
fn a_word_matches_whole_never_inside_another() {
    let lex = en();
    let hit = |text: &str| lex.find("delivery", &Words::new(text), &["en"]);
    assert!(hit("I delivered them yesterday").is_some());
    assert!(hit("A question about the deliverable").is_none());
    assert!(hit("Undelivered mail").is_none());
    let done = |text: &str| lex.find("completion", &Words::new(text), &["en"]);
    assert!(done("all DONE.").is_some());
    assert!(done("the donemark").is_none());
}

#[test]
fn case_accents_and_apostrophes_fold() {
    let lex = en();
    let w = Words::new("C’est TERMINE, voilà");
    assert_eq!(w.tokens, ["c'est", "termine", "voila"]);
    assert!(lex.find("completion", &w, &["fr"]).is_some());
    assert!(lex.find("delivery", &w, &["fr"]).is_some());
    assert_eq!(fold("Grüße"), "grusse");
    assert_eq!(fold("Straße"), "strasse");
    // "ci-joint" in the list is the two words the text cuts it into.
    assert!(
        lex.find("delivery", &Words::new("Ci-joint le fichier"), &["fr"])
            .is_some()
    );
}

#[test]
fn stems_and_wildcards() {
    let lex = Lexicon::load(&[(
        "xx",
        "name = \"test\"\n[words]\nstem = [\"finish*\"]\nline = [\"on * wrote\"]\n",
    )])
    .unwrap();
    let stem = |t: &str| lex.find("stem", &Words::new(t), &[]).is_some();
    assert!(stem("finishing touches"));
    assert!(stem("Finished"));
    assert!(!stem("fin"));
    let line = |t: &str| lex.is_whole("line", &Words::new(t), &[]).is_some();
    assert!(line(
        "On Tue, 24 Nov 2026 at 14:00, Ada <ada@example.test> wrote:"
    ));
    assert!(!line("On wrote"), "* takes at least one word");
    assert!(!line("On Monday I wrote the copy"));
}

#[test]
fn the_language_of_a_text_is_told_by_its_common_words() {
    let lex = en();
    let d = |t: &str| lex.detect(&Words::new(t)).to_string();
    assert_eq!(
        d("Hallo Ada, die Entwürfe sind fertig, hier ist der Link."),
        "de"
    );
    assert_eq!(d("Bonjour, voici les maquettes, c'est terminé."), "fr");
    assert_eq!(d("Hola, aquí están los bocetos, ya está listo."), "es");
    assert_eq!(d("Olá, segue o link, já está pronto. Obrigado!"), "pt");
    assert_eq!(d("Ciao, ecco il link, è tutto pronto. Grazie!"), "it");
    assert_eq!(d("Hoi, hier is de link, het is klaar. Groeten"), "nl");
    assert_eq!(d("Hi Ada, here is the link, it's done."), "en");
    assert_eq!(d("https://example.test"), "en");
}
