//! Builds the [`Model`] from the spanned document, one section at a time.
//!
//! Each `read_*` function reads every key of its section (so all problems are
//! reported), returns `None` when something it needs was wrong, and finishes the
//! section so unknown keys are caught. One file per section (`people`, `mail`,
//! `policy`, `engagement`, `oauth` with the provider `presets`, and
//! `schedules` for crontab lines); this file holds
//! the walk over the root and the small readers every section shares, which
//! the section files take in with `use super::*`.

use super::diag::Diagnostics;
use super::reader::{Section, Sp};
use super::values::{self, When};
use crate::model::*;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::de::DeTable;

mod engagement;
mod mail;
mod oauth;
mod people;
mod policy;
mod presets;
mod schedules;

use engagement::{ENGAGEMENT_KEYS, Known, read_engagements};
use mail::read_mail_sections;
use people::{CONTRACTOR_KEYS, OWNER_KEYS, read_contractors, read_owner};
use policy::{LOG_KEYS, POLICY_KEYS, read_log, read_policy};

const ROOT_KEYS: &[&str] = &[
    "owner",
    "mail",
    "smtp",
    "imap",
    "oauth",
    "policy",
    "log",
    "contractor",
    "engagement",
];

pub(super) fn build(
    d: &mut Diagnostics<'_>,
    doc: &DeTable<'_>,
    base: &Path,
    credentials: Option<&Path>,
) -> Option<Model> {
    let mut root = Section::new(doc, 0..0, "the config", ROOT_KEYS);
    let owner = match root.table(d, "owner", OWNER_KEYS) {
        Some(s) => read_owner(d, s),
        None => {
            if !root.has("owner") {
                d.error(0..0, "the config has no [owner] section; expected [owner] with name, email and timezone");
            }
            None
        }
    };
    let owner_tz = owner
        .as_ref()
        .map_or(chrono_tz::UTC, |o: &Owner| o.timezone);

    let owner_email = owner.as_ref().map(|o: &Owner| o.email.to_string());
    let (mail, smtp, imap) =
        read_mail_sections(d, &mut root, base, credentials, owner_email.as_deref());
    let policy_section = root.table(d, "policy", POLICY_KEYS);
    let policy = read_policy(d, policy_section, owner_tz);
    let log_section = root.table(d, "log", LOG_KEYS);
    let log = read_log(d, log_section);

    let contractor_sections = root.tables(d, "contractor", CONTRACTOR_KEYS);
    let (contractors, contractor_ids) = read_contractors(d, contractor_sections, owner_tz);
    let engagement_sections = root.tables(d, "engagement", ENGAGEMENT_KEYS);
    let known = Known {
        contractors: &contractors,
        contractor_ids: &contractor_ids,
        owner_tz,
        base,
    };
    let engagements = read_engagements(d, engagement_sections, &known);
    root.finish(d);

    let contractors: Option<Vec<Contractor>> = contractors.into_iter().collect();
    Some(Model {
        owner: owner?,
        mail: mail?,
        smtp: smtp.flatten(),
        imap: imap.flatten(),
        policy: policy?,
        log: log?,
        contractors: contractors?,
        engagements: engagements?,
    })
}

/// A key whose value is one of a few words (`default` when absent); any other
/// word is reported with the list of the allowed ones.
fn choice<T: Copy>(
    d: &mut Diagnostics<'_>,
    v: Option<&Sp<&str>>,
    key: &str,
    section: &str,
    options: &[(&str, T)],
    default: T,
) -> Option<T> {
    let Some(v) = v else {
        return Some(default);
    };
    if let Some((_, t)) = options.iter().find(|(word, _)| word == v.get_ref()) {
        return Some(*t);
    }
    let quoted: Vec<String> = options.iter().map(|(w, _)| format!("\"{w}\"")).collect();
    let expected = match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    };
    d.error(
        v.span(),
        format!(
            "`{key}` in {section} is \"{}\"; expected {expected}",
            v.get_ref().escape_debug()
        ),
    );
    None
}

/// Checks a string with `f`, reporting failure at the value's span.
fn check<T>(
    d: &mut Diagnostics<'_>,
    v: &Sp<&str>,
    what: &str,
    f: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    match f(v.get_ref()) {
        Ok(t) => Some(t),
        Err(e) => {
            d.error(v.span(), format!("{what}: {e}"));
            None
        }
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    base.join(p)
}

/// Reads an id and checks it is unique among `seen`.
fn read_id(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    what: &str,
    seen: &mut HashMap<String, usize>,
) -> Option<String> {
    let v = s.req_str(d, "id", &format!("id = \"a-short-name\" for this {what}"))?;
    let id = check(d, &v, &format!("`id` in {}", s.name), values::id)
        .map(|_| v.get_ref().to_string())?;
    s.rename(format!("{what} \"{id}\""));
    if let Some(first) = seen.get(&id) {
        let line = d.line_of(*first);
        d.error(v.span(), format!("duplicate {what} id `{id}` (first defined at line {line}); expected each {what} to have its own id"));
        return None;
    }
    seen.insert(id.clone(), v.span().start);
    Some(id)
}

fn check_date(d: &mut Diagnostics<'_>, v: &Sp<String>, what: &str) -> Option<NaiveDate> {
    match values::date(v.get_ref()) {
        Ok(day) => Some(day),
        Err(e) => {
            d.error(v.span(), format!("{what}: {e}"));
            None
        }
    }
}

fn period_or(
    d: &mut Diagnostics<'_>,
    s: &mut Section<'_, '_>,
    key: &'static str,
    name: &str,
    default: TimeDelta,
) -> Option<TimeDelta> {
    match s.str(d, key) {
        None => Some(default),
        Some(v) => check(d, &v, &format!("`{key}` in {name}"), values::period),
    }
}
