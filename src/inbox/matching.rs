//! Which engagement a mail belongs to, who sent it, and which of our mails
//! it cites (with their text, for [`super::new_text`]).
//!
//! By the mails it cites first (In-Reply-To/References, a report's returned
//! Message-ID), else by the engagement tag `[id]` in the subject from that
//! engagement's contractor. Only the From counts as the sender: a Reply-To,
//! a Sender or a look-alike domain that names the contractor is noted for
//! the explanation and changes nothing.

use super::Inbox;
use super::classify::Context;
use super::new_text::Cited;
use super::parse::Facts;
use crate::store::{SentRef, Store, StoreError};
use std::cell::RefCell;
use std::rc::Rc;

/// How many of the mails a reply cites are read for their text: the one it
/// answers and the thread's first (References lists both).
const CITED_MAX: usize = 3;

/// The cited mails' text, by Message-ID, kept while the process runs.
///
/// Sound because a Message-ID names one mail for good: Handoff fixes the
/// bytes of a mail when it queues it, with 128 random bits in its
/// Message-ID, and never changes them. Kept small (the mails of a backlog
/// mostly answer the same few), it saves reading and parsing the same sent
/// mail for every reply to it.
const CACHE: usize = 64;

thread_local! {
    static CITED: RefCell<Vec<(String, Rc<Cited>)>> = const { RefCell::new(Vec::new()) };
}

fn cited_text(store: &Store, message_id: &str) -> Result<Option<Rc<Cited>>, StoreError> {
    if let Some(hit) = CITED.with(|c| {
        c.borrow()
            .iter()
            .find(|(id, _)| id == message_id)
            .map(|(_, t)| t.clone())
    }) {
        return Ok(Some(hit));
    }
    let Some((purpose, bytes)) = store.sent_message_bytes(message_id)? else {
        return Ok(None);
    };
    let text = Rc::new(Cited::from_mail(&bytes, &purpose.replace('_', " ")));
    CITED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE {
            c.remove(0);
        }
        c.push((message_id.to_string(), text.clone()));
    });
    Ok(Some(text))
}

/// What matching found.
pub(super) struct Matched {
    pub ctx: Context,
    /// The milestone of the cited mail, with that mail's purpose.
    pub cited_milestone: Option<(String, String)>,
    /// The text of the cited mails.
    pub cited: Vec<Rc<Cited>>,
}

impl Inbox<'_> {
    /// Finds the engagement: by the mails it cites, else by tag and sender.
    pub(super) fn matching(&self, store: &Store, f: &Facts) -> Result<Matched, StoreError> {
        let mut found: Option<(SentRef, String)> = None;
        let mut cited = Vec::new();
        for id in &f.refs {
            let id = format!("<{id}>");
            let Some(r) = store.sent_ref(&id)? else {
                continue;
            };
            if cited.len() < CITED_MAX
                && let Some(text) = cited_text(store, &id)?
            {
                cited.push(text);
            }
            if found.is_none() && r.engagement.is_some() {
                found = Some((r, id));
            }
        }
        if let Some((r, _)) = found {
            let engagement = r.engagement.unwrap_or_default();
            let from_contractor = self.is_contractor_of(&engagement, f.from.as_deref());
            let stranger_note = (!from_contractor)
                .then(|| self.stranger_note(&engagement, f))
                .flatten();
            return Ok(Matched {
                ctx: Context {
                    engagement: Some(engagement),
                    answers: Some(r.purpose.clone()),
                    from_contractor,
                    from_owner: false,
                    stranger_note,
                },
                cited_milestone: r.milestone.map(|m| (m, r.purpose)),
                cited,
            });
        }
        for e in &self.model.engagements {
            let tag = crate::outbox::compose::subject_tag(&e.id);
            if f.subject.contains(&tag) && self.is_contractor_of(&e.id, f.from.as_deref()) {
                return Ok(Matched {
                    ctx: Context {
                        engagement: Some(e.id.clone()),
                        answers: None,
                        from_contractor: true,
                        from_owner: false,
                        stranger_note: None,
                    },
                    cited_milestone: None,
                    cited,
                });
            }
        }
        Ok(Matched {
            ctx: Context::default(),
            cited_milestone: None,
            cited,
        })
    }

    pub(super) fn contractor_address(&self, engagement: &str) -> Option<String> {
        let e = self.model.engagement(engagement)?;
        Some(
            self.model
                .contractor_of(e)
                .email
                .to_string()
                .to_ascii_lowercase(),
        )
    }

    pub(super) fn is_contractor_of(&self, engagement: &str, from: Option<&str>) -> bool {
        from.is_some() && self.contractor_address(engagement).as_deref() == from
    }

    /// What points at the contractor in a mail that is not from them.
    fn stranger_note(&self, engagement: &str, f: &Facts) -> Option<String> {
        let contractor = self.contractor_address(engagement)?;
        if f.reply_to.contains(&contractor) {
            return Some(format!("only its Reply-To is {contractor}"));
        }
        if f.sender.as_deref() == Some(contractor.as_str()) {
            return Some(format!("only its Sender is {contractor}"));
        }
        let from = f.from.as_deref()?;
        let (local, domain) = from.split_once('@')?;
        let (c_local, c_domain) = contractor.split_once('@')?;
        if domain != c_domain && (local == c_local || looks_alike(domain, c_domain)) {
            return Some(format!(
                "{from} only looks like the contractor's {contractor}"
            ));
        }
        None
    }
}

/// Two domains a reader could take for each other: at most two letters
/// apart, or the same once look-alike characters are read alike.
fn looks_alike(a: &str, b: &str) -> bool {
    let plain = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                '0' => 'o',
                '1' | 'l' | 'I' => 'i',
                c => c,
            })
            .collect()
    };
    plain(a) == plain(b) || distance(a, b) <= 2
}

/// Levenshtein distance, for short strings (domains).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_domains_are_told() {
        assert!(looks_alike("examp1e.test", "example.test"));
        assert!(looks_alike("exarnple.test", "example.test"));
        assert!(!looks_alike("gmail.com", "example.test"));
    }
}
