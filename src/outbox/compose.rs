//! From the model to a finished RFC 5322 message: the template context, the
//! rendered parts, and the headers that make threading and replies work.
//!
//! - Message-ID: `<128 random bits in hex.purpose@owner's domain>`, fixed when
//!   the mail is queued. It is unguessable, so a reply citing it proves the
//!   writer saw our mail, and replies are matched by it later.
//! - Date: when the mail goes out, not when it was queued ([`finalize`], at
//!   the sender's claim): a mail held by quiet hours is not dated in the
//!   contractor's night. So the text never says a time relative to when it
//!   was written ("in 3 days"): it names dates, which stay true however long
//!   the mail waits.
//! - Threading: every mail of one engagement to one person cites the first one
//!   in In-Reply-To and References (RFC 5322 §3.6.4), and contractor mail keeps
//!   one subject per engagement (Gmail threads by subject too).
//! - Reply-To is the owner; owner notices carry `Auto-Submitted:
//!   auto-generated` (RFC 3834) so auto-responders stay quiet.
//! - Times are written in the recipient's zone, with the zone named.

use super::headers;
use crate::model::{Engagement, Milestone, Model};
use crate::templates::{Purpose, Rendered, TemplateError, Templates, local_date, local_time};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Attachment, Body, Mailbox, MultiPart};
use lettre::{Address, Message};
use minijinja::Value;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to send: a purpose, about an engagement (and maybe a milestone), with
/// the values particular to this one mail.
#[derive(Debug, Clone)]
pub struct MailRequest {
    pub purpose: Purpose,
    pub engagement: String,
    pub milestone: Option<String>,
    pub extra: BTreeMap<String, String>,
    /// An iMIP calendar to carry (invitations and cancellations).
    pub calendar: Option<CalendarPart>,
}

/// A calendar to put in a mail (iMIP, RFC 6047), twice, as Google Calendar's
/// own invitations and CalConnect's iMIP best practices have it:
///
/// - `text/calendar; method=…` inside the alternative, next to the text and
///   HTML: the one iMIP part. Gmail, Outlook, Apple Mail and Thunderbird put
///   their accept/decline buttons on it.
/// - `application/ics` as the attachment `invite.ics` (base64): for the
///   clients and webmails that only offer attachments to import. It is not
///   `text/calendar`, because a client treats every `text/calendar` part as
///   an invitation: Thunderbird showed a second invitation block for the
///   attachment when it was one. The test suite holds every mail to exactly
///   one `text/calendar` part (`tests/common/ical.rs`).
#[derive(Debug, Clone)]
pub struct CalendarPart {
    pub method: crate::calendar::Method,
    pub ics: String,
}

/// A finished mail.
#[derive(Debug, Clone)]
pub struct Composed {
    pub recipient: Address,
    pub subject: String,
    pub message_id: String,
    pub rendered: Rendered,
    /// The whole message, CRLF line ends, ready for SMTP or a .eml file.
    pub bytes: Vec<u8>,
}

impl Composed {
    /// The outbox row that sends this mail under `key`. The row's engagement,
    /// milestone and purpose are the request's; `not_before` holds it back
    /// (quiet hours).
    pub fn into_outbox(
        self,
        key: String,
        req: &MailRequest,
        not_before: DateTime<Utc>,
    ) -> crate::store::NewOutboxMail {
        crate::store::NewOutboxMail {
            idempotency_key: key,
            engagement: Some(req.engagement.clone()),
            milestone: req.milestone.clone(),
            purpose: req.purpose.to_string(),
            recipient: self.recipient.to_string(),
            subject: self.subject,
            message_id: self.message_id,
            message: self.bytes,
            not_before,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("no engagement `{0}` in the config")]
    UnknownEngagement(String),
    #[error("engagement `{engagement}` has no milestone `{milestone}`")]
    UnknownMilestone {
        engagement: String,
        milestone: String,
    },
    #[error("{purpose} mail for `{engagement}` needs a milestone")]
    NeedsMilestone {
        purpose: Purpose,
        engagement: String,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot read attachment {}: {source}", path.display())]
    Attachment {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("the message's envelope: {0}")]
    Envelope(#[from] lettre::address::AddressError),
}

/// `Auto-Submitted: auto-generated` (RFC 3834 §5).
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_string())
    }
}

/// Composes mails for one model with one set of templates.
pub struct Composer<'a> {
    pub model: &'a Model,
    pub templates: &'a Templates,
}

impl Composer<'_> {
    /// Renders and builds the mail. `thread_root` is the Message-ID of the
    /// first mail of this thread, if there was one.
    pub fn compose(
        &self,
        req: &MailRequest,
        thread_root: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Composed, ComposeError> {
        let (engagement, milestone) = self.find(req)?;
        let contractor = self.model.contractor_of(engagement);
        let owner = &self.model.owner;
        let to_owner = req.purpose.is_owner_notice();
        let (recipient, recipient_tz) = if to_owner {
            (
                Mailbox::new(Some(owner.name.clone()), owner.email.clone()),
                owner.timezone,
            )
        } else {
            (
                Mailbox::new(Some(contractor.name.clone()), contractor.email.clone()),
                contractor.timezone,
            )
        };
        let ctx = self.context(engagement, milestone, &req.extra, recipient_tz, now);
        let mut rendered = self.templates.render(req.purpose, &ctx)?;
        rendered.subject =
            self.subject(req, engagement, milestone, recipient_tz, now, &rendered)?;
        let message_id = new_message_id(req.purpose, &owner.email);
        let owner_box = Mailbox::new(Some(owner.name.clone()), owner.email.clone());
        // The fields with people's text are folded at 78 (see `headers`);
        // the envelope is set here since lettre no longer sees its own To.
        let envelope = lettre::address::Envelope::new(
            Some(owner.email.clone()),
            vec![recipient.email.clone()],
        )?;
        let mut builder = Message::builder()
            .header(headers::From(owner_box.clone()))
            .header(headers::ReplyTo(owner_box))
            .header(headers::To(recipient.clone()))
            .header(headers::Subject(rendered.subject.clone()))
            .envelope(envelope)
            .date(now.into())
            .message_id(Some(message_id.clone()));
        if let Some(root) = thread_root {
            builder = builder
                .in_reply_to(root.to_string())
                .references(root.to_string());
        }
        if to_owner {
            builder = builder.header(AutoSubmitted);
        }
        let mut alternative =
            MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone());
        let calendar_type = req.calendar.as_ref().map(|c| {
            // A fixed, valid MIME type with a method token from a closed set.
            ContentType::parse(&format!(
                "text/calendar; method={}; charset=UTF-8",
                c.method.as_str()
            ))
            .unwrap_or(ContentType::TEXT_PLAIN)
        });
        if let (Some(c), Some(ct)) = (&req.calendar, &calendar_type) {
            alternative = alternative.singlepart(
                lettre::message::SinglePart::builder()
                    .header(ct.clone())
                    .body(c.ics.clone()),
            );
        }
        let files = attachments(req.purpose, engagement, milestone);
        let message = if files.is_empty() && req.calendar.is_none() {
            builder.multipart(alternative)?
        } else {
            let mut mixed = MultiPart::mixed().multipart(alternative);
            if let Some(c) = &req.calendar {
                // Base64 always (see CalendarPart): lettre would pick 7bit for
                // an ASCII calendar, and a store that keeps mail with LF line
                // ends (Dovecot's Maildir) would then change its bytes. A
                // fixed, valid MIME type.
                let ics = ContentType::parse("application/ics; name=\"invite.ics\"")
                    .unwrap_or(ContentType::TEXT_PLAIN);
                let body = Body::new_with_encoding(
                    c.ics.clone().into_bytes(),
                    ContentTransferEncoding::Base64,
                )
                // Base64 takes any bytes; the fallback keeps this total.
                .unwrap_or_else(Body::new);
                mixed = mixed.singlepart(Attachment::new("invite.ics".to_string()).body(body, ics));
            }
            for path in files {
                let body = std::fs::read(path).map_err(|source| ComposeError::Attachment {
                    path: path.to_path_buf(),
                    source,
                })?;
                let name = file_name(path);
                mixed = mixed.singlepart(Attachment::new(name).body(body, content_type(path)));
            }
            builder.multipart(mixed)?
        };
        Ok(Composed {
            recipient: recipient.email,
            subject: rendered.subject.clone(),
            message_id,
            rendered,
            bytes: message.formatted(),
        })
    }

    /// The Subject: rendered again with very long titles shortened (the
    /// body keeps them whole), then held to [`headers::MAX_SUBJECT`] and
    /// cleaned of invisible characters ([`headers::subject`]).
    fn subject(
        &self,
        req: &MailRequest,
        e: &Engagement,
        milestone: Option<&Milestone>,
        tz: Tz,
        now: DateTime<Utc>,
        rendered: &Rendered,
    ) -> Result<String, ComposeError> {
        let long = |t: &str| t.chars().count() > headers::TITLE_IN_SUBJECT;
        let tag = subject_tag(&e.id);
        if !long(&e.title) && !e.milestones.iter().any(|m| long(&m.title)) {
            return Ok(headers::subject(&rendered.subject, &tag));
        }
        let mut short = e.clone();
        short.title = headers::shorten(&e.title, headers::TITLE_IN_SUBJECT);
        for m in &mut short.milestones {
            m.title = headers::shorten(&m.title, headers::TITLE_IN_SUBJECT);
        }
        let short_milestone =
            milestone.and_then(|m| short.milestones.iter().find(|s| s.id == m.id));
        let ctx = self.context(&short, short_milestone, &req.extra, tz, now);
        let again = self.templates.render(req.purpose, &ctx)?;
        Ok(headers::subject(&again.subject, &tag))
    }

    /// A notice to the owner about Handoff itself rather than an engagement
    /// (a config that does not load, a mailbox that cannot be reached), queued
    /// under `key`. Templates are rendered in an engagement's context, so the
    /// first engagement lends its context (these templates use none of it)
    /// and the row belongs to no engagement. With no engagement at all there
    /// is nothing to keep on track and nobody to tell: `None`, and the log
    /// says it.
    pub fn compose_system(
        &self,
        purpose: crate::templates::Purpose,
        key: String,
        extra: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::store::NewOutboxMail>, ComposeError> {
        let Some(e) = self.model.engagements.first() else {
            return Ok(None);
        };
        let req = MailRequest {
            purpose,
            engagement: e.id.clone(),
            milestone: None,
            extra,
            calendar: None,
        };
        let mut mail = self.compose(&req, None, now)?.into_outbox(key, &req, now);
        mail.engagement = None;
        Ok(Some(mail))
    }

    fn find(&self, req: &MailRequest) -> Result<(&Engagement, Option<&Milestone>), ComposeError> {
        let engagement = self
            .model
            .engagement(&req.engagement)
            .ok_or_else(|| ComposeError::UnknownEngagement(req.engagement.clone()))?;
        let milestone = match &req.milestone {
            Some(id) => Some(
                engagement
                    .milestones
                    .iter()
                    .find(|m| &m.id == id)
                    .ok_or_else(|| ComposeError::UnknownMilestone {
                        engagement: engagement.id.clone(),
                        milestone: id.clone(),
                    })?,
            ),
            None => None,
        };
        if req.purpose.needs_milestone() && milestone.is_none() {
            return Err(ComposeError::NeedsMilestone {
                purpose: req.purpose,
                engagement: engagement.id.clone(),
            });
        }
        Ok((engagement, milestone))
    }

    /// The template context (see templates/README.md for the variables).
    pub fn context(
        &self,
        e: &Engagement,
        milestone: Option<&Milestone>,
        extra: &BTreeMap<String, String>,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Value {
        let c = self.model.contractor_of(e);
        let owner = &self.model.owner;
        let ms = |m: &Milestone| MilestoneCtx {
            id: m.id.clone(),
            title: m.title.clone(),
            due: local_time(m.due, tz),
        };
        let ctx = Ctx {
            owner: PersonCtx {
                name: owner.name.clone(),
                first_name: first_name(&owner.name),
                email: owner.email.to_string(),
                timezone: owner.timezone.name().to_string(),
            },
            contractor: PersonCtx {
                name: c.name.clone(),
                first_name: first_name(&c.name),
                email: c.email.to_string(),
                timezone: c.timezone.name().to_string(),
            },
            engagement: EngagementCtx {
                id: e.id.clone(),
                tag: subject_tag(&e.id),
                title: e.title.clone(),
                deliverables: e.deliverables.clone(),
                quality_standard: e.quality_standard.clone(),
                performance_standard: e.performance_standard.clone(),
                payment_terms: e.payment_terms.clone(),
                starts: local_date(e.starts),
                kickoff: e.kickoff.map(|k| local_time(k, tz)),
                status_reports: e.status_reports.as_ref().map(|s| {
                    let next = crate::schedule::occurrence::next_after(s, now)
                        .map(|n| format!(", the next on {}", local_time(n, s.timezone)))
                        .unwrap_or_default();
                    format!(
                        "on the schedule \"{}\" ({} time){next}",
                        s.crontab,
                        s.timezone.name()
                    )
                }),
                milestones: e.milestones.iter().map(ms).collect(),
                attachments: e.attachments.iter().map(|p| file_name(p)).collect(),
            },
            milestone: milestone.map(ms),
            extra: extra.clone(),
        };
        Value::from(minijinja::value::Serde(ctx))
    }
}

#[derive(Serialize)]
struct Ctx {
    owner: PersonCtx,
    contractor: PersonCtx,
    engagement: EngagementCtx,
    milestone: Option<MilestoneCtx>,
    extra: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct PersonCtx {
    name: String,
    first_name: String,
    email: String,
    timezone: String,
}

#[derive(Serialize)]
struct EngagementCtx {
    id: String,
    tag: String,
    title: String,
    deliverables: String,
    quality_standard: String,
    performance_standard: String,
    payment_terms: Option<String>,
    starts: String,
    kickoff: Option<String>,
    status_reports: Option<String>,
    milestones: Vec<MilestoneCtx>,
    attachments: Vec<String>,
}

#[derive(Serialize)]
struct MilestoneCtx {
    id: String,
    title: String,
    due: String,
}

/// The files a mail carries: the agreement with its request, the engagement's
/// attachments with the instructions, a milestone's with its reminders.
fn attachments<'m>(
    purpose: Purpose,
    e: &'m Engagement,
    milestone: Option<&'m Milestone>,
) -> Vec<&'m Path> {
    match purpose {
        Purpose::AgreementRequest => e
            .agreement_file
            .iter()
            .filter(|p| p.is_file())
            .map(PathBuf::as_path)
            .collect(),
        Purpose::Instructions => e.attachments.iter().map(PathBuf::as_path).collect(),
        Purpose::DeadlineReminder => milestone
            .map(|m| m.attachments.iter().map(PathBuf::as_path).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The message as it goes out at `now`: the same bytes with the Date header
/// (RFC 5322 §3.6.1, "the date and time at which the creator of the message
/// indicated that the message was complete and ready to enter the mail
/// delivery system") set to `now`. The Message-ID and everything else stay as
/// queued. The sender calls it when it claims a row and commits the result
/// in the same transaction, before the first byte leaves (see
/// [`crate::outbox`]). A message without a header section is left alone.
pub fn finalize(message: &[u8], now: DateTime<Utc>) -> Vec<u8> {
    let Some(end) = message.windows(4).position(|w| w == b"\r\n\r\n") else {
        return message.to_vec();
    };
    let (head, body) = message.split_at(end + 2);
    let date = format!("Date: {}\r\n", now.format("%a, %d %b %Y %H:%M:%S +0000"));
    let mut out = Vec::with_capacity(message.len() + 8);
    let mut replaced = false;
    let mut in_date = false;
    for line in head.split_inclusive(|b| *b == b'\n') {
        // A folded header goes on with lines that start with white space.
        if in_date && line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            continue;
        }
        in_date = line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"date:");
        if in_date {
            if !replaced {
                out.extend_from_slice(date.as_bytes());
                replaced = true;
            }
            continue;
        }
        out.extend_from_slice(line);
    }
    if !replaced {
        let mut with = date.into_bytes();
        with.extend_from_slice(&out);
        out = with;
    }
    out.extend_from_slice(body);
    out
}

/// The tag that keeps an engagement's subject stable and recognisable, also
/// for clients that drop In-Reply-To.
pub fn subject_tag(engagement: &str) -> String {
    format!("[{engagement}]")
}

fn first_name(name: &str) -> String {
    name.split_whitespace().next().unwrap_or(name).to_string()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_string())
}

fn content_type(p: &Path) -> ContentType {
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mime = match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    };
    // Every literal above is a valid MIME type; the fallback keeps this total.
    ContentType::parse(mime).unwrap_or(ContentType::TEXT_PLAIN)
}

/// A fresh Message-ID: 128 bits from the OS's random source, so nobody can
/// guess the ID a reply must cite.
pub fn new_message_id(purpose: Purpose, owner: &Address) -> String {
    format!("<{}.{purpose}@{}>", new_token(), owner.domain())
}

/// 128 random bits in hex, for identifiers nobody should guess.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        // The OS source failing is extraordinary; fall back to a per-process
        // random hasher over the time so IDs stay unique, if less secret.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or_default());
        bytes[..8].copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "compose_tests.rs"]
mod tests;
