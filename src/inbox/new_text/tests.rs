//! The new text of replies in the shapes clients write them.

use super::*;

const INSTRUCTIONS: &str = "Hi Dana,\n\nPlease deliver the wireframes for the five pages by \
Friday 4 December. The quality standard is valid HTML with no errors in the checker.\n\n\
Reply to this mail if anything is unclear.\n\nAda";

fn plain(text: &str) -> NewText {
    split(
        &Body {
            text: Some(text),
            ..Default::default()
        },
        &[],
    )
}

fn cited() -> Vec<Cited> {
    let mut c = Cited::from_text(INSTRUCTIONS);
    c.name = "instructions".into();
    vec![c]
}

#[test]
fn outlook_quotes_without_angle_brackets_under_its_header_block() {
    let reply = format!(
        "Thanks, received.\r\n\r\nFrom: Ada Lovelace <ada@example.test>\r\nSent: Tuesday, \
         November 24, 2026 2:00 PM\r\nTo: Dana Diaz <dana@example.test>\r\nSubject: Website \
         [site]\r\n\r\n{INSTRUCTIONS}"
    );
    let n = plain(&reply);
    assert_eq!(n.text, "Thanks, received.");
    assert!(n.quoted.contains("Please deliver"), "{n:?}");
    assert!(
        n.cuts[0].rule.contains("Outlook's header block"),
        "{:?}",
        n.cuts
    );
    assert_eq!(n.cuts[0].line, 3);
    // The same in German and French.
    let de = "Danke, erhalten.\n\nVon: Ada Lovelace <ada@example.test>\nGesendet: Dienstag, \
              24. November 2026 14:00\nAn: Jonas\nBetreff: Website\n\nBitte liefern Sie";
    assert_eq!(plain(de).text, "Danke, erhalten.");
    let fr = "Merci.\n\n*De :* Ada Lovelace <ada@example.test>\n*Envoyé :* mardi 24 novembre \
              2026 14:00\n*À :* Camille\n*Objet :* Site\n\nMerci de livrer";
    assert_eq!(plain(fr).text, "Merci.");
}

#[test]
fn on_wrote_lines_in_seven_languages_start_the_quote() {
    let headers = [
        "On Tue, 24 Nov 2026 at 14:00, Ada Lovelace <ada@example.test> wrote:",
        "Am Di., 24. Nov. 2026 um 14:00 Uhr schrieb Ada Lovelace <ada@example.test>:",
        "Le mar. 24 nov. 2026 à 14:00, Ada Lovelace <ada@example.test> a écrit :",
        "El mar, 24 nov 2026 a las 14:00, Ada Lovelace (<ada@example.test>) escribió:",
        "Em ter., 24 de nov. de 2026 às 14:00, Ada Lovelace <ada@example.test> escreveu:",
        "Il giorno mar 24 nov 2026 alle ore 14:00 Ada Lovelace <ada@example.test> ha scritto:",
        "Op di 24 nov 2026 om 14:00 schreef Ada Lovelace <ada@example.test>:",
    ];
    for h in headers {
        let n = plain(&format!("Got it.\n\n{h}\n\nPlease deliver the wireframes."));
        assert_eq!(n.text, "Got it.", "{h}");
        assert!(
            n.cuts[0].rule.starts_with("quote header"),
            "{h}: {:?}",
            n.cuts
        );
    }
    // Gmail wraps a long one over two lines.
    let n = plain(
        "Done.\n\nOn Tue, Nov 24, 2026 at 2:00 PM Ada Lovelace <\nada@example.test> wrote:\n> x",
    );
    assert_eq!(n.text, "Done.");
    // A sentence of the reply that ends "wrote:" is not a quote header.
    let n = plain("Here is what Ada wrote:\nthe pages need work.");
    assert!(n.cuts.is_empty(), "{n:?}");
}

#[test]
fn original_message_lines_and_the_underscore_rule_start_the_quote() {
    for sep in [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "________________________________",
    ] {
        let n = plain(&format!("OK\n{sep}\nFrom: Ada\nPlease deliver"));
        assert_eq!(n.text, "OK", "{sep}");
    }
}

#[test]
fn angle_bracket_quotes_are_dropped_wherever_they_stand() {
    let n = plain("> Can you start Monday?\n\nYes, Monday works.\n\n> And the copy?\nNext week.");
    assert_eq!(n.text, "Yes, Monday works.\n\nNext week.");
    assert!(n.quoted.contains("Can you start Monday?"));
}

#[test]
fn signatures_are_set_apart() {
    let n = plain("The site is live.\n\n-- \nDana Diaz\nDesigner, +1 555 0100");
    assert_eq!(n.text, "The site is live.");
    assert_eq!(n.signature, "--\nDana Diaz\nDesigner, +1 555 0100");
    for sig in [
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Inviato da iPhone",
        "Verzonden vanaf mijn iPhone",
        "Get Outlook for Android",
    ] {
        let n = plain(&format!("Thanks!\n\n{sig}"));
        assert_eq!(n.text, "Thanks!", "{sig}");
        assert_eq!(n.signature, sig);
    }
}

#[test]
fn the_cited_mail_is_subtracted_even_without_any_marker() {
    // A client that pastes the mail it answers below the reply, re-wrapped,
    // without `>` or a header.
    let reply = "Thanks, received. I will start on Monday.\n\nHi Dana,\n\nPlease deliver the \
                 wireframes for the\nfive pages by Friday 4 December. The quality standard is \
                 valid\nHTML with no errors in the checker.\n\nReply to this mail if anything \
                 is unclear.\n\nAda";
    let n = split(
        &Body {
            text: Some(reply),
            ..Default::default()
        },
        &cited().iter().collect::<Vec<_>>(),
    );
    // "Hi Dana," opens the pasted mail and cannot be told from the reply; it
    // says nothing the rules read.
    assert_eq!(
        n.text,
        "Thanks, received. I will start on Monday.\n\nHi Dana,"
    );
    assert!(!n.text.contains("deliver"));
    assert!(
        n.quoted.ends_with("Ada"),
        "a short line that continues the quote"
    );
    assert!(n.cuts[0].rule.contains("instructions"), "{:?}", n.cuts);
    // The writer's own short lines are theirs, even where our mail has the
    // same word.
    let n = split(
        &Body {
            text: Some("Ada\n\nThe wireframes are done."),
            ..Default::default()
        },
        &cited().iter().collect::<Vec<_>>(),
    );
    assert_eq!(n.text, "Ada\n\nThe wireframes are done.");
}

#[test]
fn an_html_only_reply_is_cut_at_its_quote_container() {
    let html = "<div dir=\"ltr\">Pushed, here is the branch: <a href=\"https://git.example.test/b\">\
                link</a></div><br><div class=\"gmail_quote\"><div dir=\"ltr\" \
                class=\"gmail_attr\">On Tue, Ada wrote:<br></div><blockquote>Please deliver\
                </blockquote></div>";
    let n = split(
        &Body {
            html: Some(html),
            ..Default::default()
        },
        &[],
    );
    assert!(n.text.starts_with("Pushed, here is the branch"), "{n:?}");
    assert!(!n.text.contains("deliver"));
    assert_eq!(n.cuts[0].rule, "HTML quote: Gmail's gmail_quote");
    let outlook = "<div>Thanks</div><hr style=\"display:inline-block\"><div id=\"divRplyFwdMsg\">\
                   <b>From:</b> Ada</div><div>Please deliver</div>";
    let n = split(
        &Body {
            html: Some(outlook),
            ..Default::default()
        },
        &[],
    );
    assert_eq!(n.text, "Thanks");
}

#[test]
fn format_flowed_is_unwrapped_before_it_is_read() {
    let flowed = "This is one long line that the client \r\nwrapped at the edge.\r\n> quoted \r\n> \
                  line\r\n-- \r\nDana\r\n";
    assert_eq!(
        html::unflow(flowed, false),
        "This is one long line that the client wrapped at the edge.\n> quoted line\n-- \nDana\n\n"
    );
    assert_eq!(html::unflow("ab \r\ncd\r\n", true), "abcd\n\n");
    let n = split(
        &Body {
            text: Some(flowed),
            flowed: true,
            delsp: false,
            html: None,
            names: &[],
        },
        &[],
    );
    assert_eq!(
        n.text,
        "This is one long line that the client wrapped at the edge."
    );
}
