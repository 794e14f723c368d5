//! The two transformations a body needs before its lines can be read: an
//! HTML reply cut at its quote container and turned into text, and a
//! `format=flowed` text part unwrapped (RFC 3676).

use mail_parser::decoders::html::html_to_text;

/// Where the HTML clients put what they quote (and the attribution line
/// above it): the earliest of these in a reply starts the quote.
const QUOTE_CONTAINERS: &[(&str, &str)] = &[
    ("class=\"gmail_quote", "Gmail's gmail_quote"),
    ("id=\"divrplyfwdmsg\"", "Outlook's divRplyFwdMsg"),
    ("id=\"appendonsend\"", "Outlook's appendonsend"),
    ("class=\"outlookmessageheader\"", "Outlook's message header"),
    ("border-top:solid #e1e1e1", "Outlook's header rule"),
    ("border-top:solid #b5c4df", "Outlook's header rule"),
    ("class=\"moz-cite-prefix\"", "Thunderbird's moz-cite-prefix"),
    ("class=\"yahoo_quoted\"", "Yahoo's yahoo_quoted"),
    ("id=\"yahoo_quoted_", "Yahoo's yahoo_quoted"),
    ("class=\"protonmail_quote\"", "Proton's protonmail_quote"),
    ("<blockquote", "a <blockquote>"),
];

/// The HTML before its quote, as text, and the rule that cut it (none when
/// nothing is quoted).
pub fn cut_quote(html: &str) -> (String, Option<String>) {
    // ASCII lower-casing keeps every byte offset where it was.
    let lower = html.to_ascii_lowercase();
    let found = QUOTE_CONTAINERS
        .iter()
        .filter_map(|(needle, rule)| lower.find(needle).map(|at| (at, *rule)))
        .min_by_key(|(at, _)| *at);
    match found {
        Some((at, rule)) => {
            // Cut at the start of the tag that holds the marker.
            let start = lower[..at].rfind('<').unwrap_or(at);
            let head = html.get(..start).unwrap_or(html);
            (html_to_text(head), Some(format!("HTML quote: {rule}")))
        }
        None => (html_to_text(html), None),
    }
}

/// A `format=flowed` text unwrapped: a line that ends in a space continues
/// on the next (with `delsp=yes` that space goes); quoted lines keep their
/// depth and space-stuffing is undone (RFC 3676 §4).
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<usize> = None; // quote depth of a paragraph still flowing
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = raw.chars().take_while(|c| *c == '>').count();
        let body = &raw[depth..];
        let body = body.strip_prefix(' ').unwrap_or(body);
        // The signature line "-- " is never flowed.
        let soft = body.ends_with(' ') && body != "-- ";
        match open {
            Some(d) if d == depth => {}
            Some(_) => {
                out.push('\n');
                push_depth(&mut out, depth);
            }
            None => push_depth(&mut out, depth),
        }
        if soft {
            let kept = if delsp { &body[..body.len() - 1] } else { body };
            out.push_str(kept);
            open = Some(depth);
        } else {
            out.push_str(body);
            out.push('\n');
            open = None;
        }
    }
    out
}

fn push_depth(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push('>');
    }
    if depth > 0 {
        out.push(' ');
    }
}
