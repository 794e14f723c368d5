//! From raw bytes to the facts the rules need. mail-parser does the MIME work
//! (any charset, RFC 2047 words, quoted-printable, base64, nested multiparts);
//! this keeps only what classification and matching look at, so a hostile mail
//! cannot smuggle anything further in.
//!
//! The sender is checked here, once: [`Facts::from`] is set only when the
//! From field holds exactly one well-formed address (parsed by lettre's
//! address parser); otherwise [`Facts::from_problem`] says why, and the rule
//! table records the mail as `unparseable` without changing anything.

use super::machine::{self, Report};
use super::new_text::{self, Body, NewText};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};

/// Mails larger than this are not parsed: recorded as too large and skipped.
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;

/// The body as the parser found it, owned.
#[derive(Debug, Clone, Default)]
pub struct OwnedBody {
    /// The text/plain part (not a conversion of the HTML).
    pub text: Option<String>,
    pub html: Option<String>,
    pub flowed: bool,
    pub delsp: bool,
    /// The writer's names, from the From's display name.
    pub names: Vec<String>,
}

impl OwnedBody {
    pub fn as_body(&self) -> Body<'_> {
        Body {
            text: self.text.as_deref(),
            html: self.html.as_deref(),
            flowed: self.flowed,
            delsp: self.delsp,
            names: &self.names,
        }
    }
}

/// What a mail says, as far as Handoff cares.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub message_id: Option<String>,
    /// The From address, lower-cased: set only when From holds exactly one
    /// well-formed address.
    pub from: Option<String>,
    /// Why From is not exactly one well-formed address (then `from` is none).
    pub from_problem: Option<String>,
    /// The Sender and Reply-To addresses, lower-cased (they never make a
    /// mail the contractor's; the rules only say so).
    pub sender: Option<String>,
    pub reply_to: Vec<String>,
    pub subject: String,
    /// In-Reply-To and References, without angle brackets, newest first;
    /// for a report, the Message-IDs of the mail it reports on.
    pub refs: Vec<String>,
    /// The header that marks the mail as sent by a machine on its own
    /// ("Auto-Submitted: auto-replied"), if any.
    pub auto_header: Option<String>,
    /// A delivery report or read receipt, read per recipient.
    pub report: Option<Report>,
    /// The text/calendar parts, decoded.
    pub calendars: Vec<String>,
    /// The attachments that are files: not calendars, not reports, not
    /// images shown inline (a signature's logo). Their names.
    pub files: Vec<String>,
    pub body: OwnedBody,
    /// What the writer wrote (see [`new_text`]); the pipeline cuts it again
    /// once it knows the mail the reply cites.
    pub new_text: String,
    /// How [`Facts::new_text`] was cut.
    pub split: NewText,
}

impl Facts {
    /// Cuts the new text, with the text of the mails the reply cites.
    pub fn subtract(&mut self, cited: &[std::rc::Rc<new_text::Cited>]) {
        let cited: Vec<&new_text::Cited> = cited.iter().map(|c| c.as_ref()).collect();
        self.split = new_text::split(&self.body.as_body(), &cited);
        self.new_text = self.split.text.clone();
    }
}

/// The one address a header holds, lower-cased, or why it does not.
fn one_address(a: Option<&Address<'_>>) -> Result<String, String> {
    let Some(a) = a else {
        return Err("it has no From".into());
    };
    let all: Vec<_> = match a {
        Address::List(list) => list.iter().collect(),
        Address::Group(groups) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
    };
    match all.as_slice() {
        [] => Err("its From names no address".into()),
        [one] => {
            let addr = one.address().map(str::trim).unwrap_or_default();
            match addr.parse::<lettre::Address>() {
                Ok(ok) => Ok(ok.to_string().to_ascii_lowercase()),
                Err(_) if addr.is_empty() => Err("its From names no address".into()),
                // Debug-quoted: a control character in it is shown escaped,
                // never sent raw to a terminal or a log.
                Err(_) => Err(format!(
                    "its From address {:?} is not well-formed",
                    addr.chars().take(80).collect::<String>()
                )),
            }
        }
        many => Err(format!("its From names {} addresses", many.len())),
    }
}

fn addresses(a: Option<&Address<'_>>) -> Vec<String> {
    let Some(a) = a else { return Vec::new() };
    let all: Vec<_> = match a {
        Address::List(list) => list.iter().collect(),
        Address::Group(groups) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
    };
    all.iter()
        .filter_map(|x| x.address())
        .map(|x| x.trim().to_ascii_lowercase())
        .collect()
}

/// Parses a mail, its new text cut by the client markers alone; `None` if
/// it is not a mail at all.
pub fn parse(raw: &[u8]) -> Option<Facts> {
    let mut f = read(raw)?;
    f.subtract(&[]);
    Some(f)
}

/// [`parse`] without cutting the new text: the pipeline cuts it once, when
/// it knows the mails the reply cites ([`Facts::subtract`]).
pub(super) fn read(raw: &[u8]) -> Option<Facts> {
    let m = MessageParser::default().parse(raw)?;
    // A mail with no header the parser recognised is garbage, not a mail.
    if m.from().is_none() && m.message_id().is_none() && m.subject().is_none() {
        return None;
    }
    let ids = |v: &HeaderValue<'_>| -> Vec<String> {
        v.as_text_list()
            .map(|l| {
                l.iter()
                    .map(|s| s.trim_matches(['<', '>', ' ']).to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut refs = ids(m.in_reply_to());
    let mut older = ids(m.references());
    older.reverse();
    refs.extend(older);
    let (from, from_problem) = match one_address(m.from()) {
        Ok(a) => (Some(a), None),
        Err(why) => (None, Some(why)),
    };
    // A report names the mail it is about in its own parts (a bounce does
    // not thread; a receipt may not): those ids are ours to match.
    let report = machine::report(&m, from.as_deref());
    if report.is_some() {
        for id in machine::reported_ids(&m) {
            if !refs.contains(&id) {
                refs.push(id);
            }
        }
    }
    let mut calendars = Vec::new();
    let mut files = Vec::new();
    for part in m.attachments() {
        let ct = part.content_type();
        let is = |t: &str, s: &str| {
            ct.is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case(t)
                    && ct.subtype().is_some_and(|x| x.eq_ignore_ascii_case(s))
            })
        };
        if is("text", "calendar") || is("application", "ics") {
            // Clients put the same calendar inline and as invite.ics: once.
            if let Some(t) = part
                .text_contents()
                .filter(|t| !calendars.iter().any(|c| c == t))
            {
                calendars.push(t.to_string());
            }
            continue;
        }
        // A report's parts, and any mail carried inside this one (a
        // forward), are not files delivered.
        let report_part = ct.is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                || (ct.ctype().eq_ignore_ascii_case("text")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers")))
        });
        let vcard = ct.is_some_and(|ct| {
            ct.subtype().is_some_and(|s| {
                s.eq_ignore_ascii_case("vcard") || s.eq_ignore_ascii_case("x-vcard")
            })
        });
        // An image with a Content-ID is shown inline (a logo in a
        // signature): not something delivered.
        let inline_image = ct.is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("image"))
            && part.content_id().is_some();
        if report_part || inline_image || vcard {
            continue;
        }
        files.push(
            part.attachment_name()
                .map(str::to_string)
                .unwrap_or_else(|| "(unnamed attachment)".into()),
        );
    }
    let mut body = OwnedBody::default();
    if let Some(name) = m
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name())
        .map(|n| n.trim().trim_matches('"').to_string())
        .filter(|n| !n.is_empty() && !n.contains('@'))
    {
        if let Some(first) = name
            .split_whitespace()
            .next()
            .filter(|f| f.chars().count() >= 2)
        {
            body.names.push(first.to_string());
        }
        body.names.push(name);
    }
    if let Some(part) = m.text_part(0).filter(|p| !p.is_text_html()) {
        body.text = part.text_contents().map(str::to_string);
        if let Some(ct) = part.content_type() {
            body.flowed = ct
                .attribute("format")
                .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
            body.delsp = ct
                .attribute("delsp")
                .is_some_and(|f| f.eq_ignore_ascii_case("yes"));
        }
    }
    if let Some(part) = m.html_part(0).filter(|p| p.is_text_html()) {
        body.html = part.text_contents().map(str::to_string);
    }
    Some(Facts {
        message_id: m.message_id().map(str::to_string),
        from,
        from_problem,
        sender: addresses(m.sender()).into_iter().next(),
        reply_to: addresses(m.reply_to()),
        subject: m.subject().unwrap_or_default().to_string(),
        refs,
        auto_header: machine::auto_header(&m),
        report,
        calendars,
        files,
        new_text: String::new(),
        split: NewText::default(),
        body,
    })
}
