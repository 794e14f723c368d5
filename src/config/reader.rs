//! Reading a TOML table key by key, recording every problem.
//!
//! serde's derive stops at the first unknown or missing key; owners fixing a
//! config want every problem in one run. So the config is first parsed into
//! toml's spanned document tree (`DeTable`), and each section is read through a
//! [`Section`] that knows which keys it was asked for: whatever is left at
//! [`Section::finish`] is an unknown key (a typo such as `emial` is never
//! silently ignored).

use super::diag::Diagnostics;
use std::collections::BTreeSet;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A value with the span it came from.
pub(crate) type Sp<T> = Spanned<T>;

pub(crate) struct Section<'a, 'i> {
    table: &'a DeTable<'i>,
    /// The section header (or inline table) span: where "missing key" points.
    pub(crate) span: Range<usize>,
    /// How the owner would name this section in a message: `[owner]`,
    /// `[[engagement]] "website"`.
    pub(crate) name: String,
    /// Keys this section reads; anything else is unknown.
    allowed: &'static [&'static str],
    seen: BTreeSet<&'static str>,
}

impl<'a, 'i> Section<'a, 'i> {
    pub(crate) fn new(
        table: &'a DeTable<'i>,
        span: Range<usize>,
        name: impl Into<String>,
        allowed: &'static [&'static str],
    ) -> Self {
        Section {
            table,
            span,
            name: name.into(),
            allowed,
            seen: BTreeSet::new(),
        }
    }

    /// Renames the section once its id is known, for clearer messages.
    pub(crate) fn rename(&mut self, name: String) {
        self.name = name;
    }

    fn raw(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'i>>> {
        debug_assert!(self.allowed.contains(&key), "{key} not in allowed list");
        self.seen.insert(key);
        self.table.get(key)
    }

    /// Whether the key is written at all.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.get(key).is_some()
    }

    /// The span of a key's value, if written.
    pub(crate) fn value_span(&self, key: &str) -> Option<Range<usize>> {
        self.table.get(key).map(|v| v.span())
    }

    fn missing(&self, d: &mut Diagnostics<'_>, key: &str, expected: &str) {
        d.error(
            self.span.clone(),
            format!("{} is missing `{key}`; expected {expected}", self.name),
        );
    }

    fn wrong_type(
        &self,
        d: &mut Diagnostics<'_>,
        key: &str,
        v: &Spanned<DeValue<'_>>,
        expected: &str,
    ) {
        d.error(
            v.span(),
            format!(
                "`{key}` in {} is a {}; expected {expected}",
                self.name,
                v.get_ref().type_str()
            ),
        );
    }

    /// An optional string value.
    pub(crate) fn str(
        &mut self,
        d: &mut Diagnostics<'_>,
        key: &'static str,
    ) -> Option<Sp<&'a str>> {
        let v = self.raw(key)?;
        match v.get_ref().as_str() {
            Some(s) => Some(Spanned::new(v.span(), s)),
            None => {
                self.wrong_type(d, key, v, "a string in quotes");
                None
            }
        }
    }

    /// A required string value; `expected` describes a good one for the message.
    pub(crate) fn req_str(
        &mut self,
        d: &mut Diagnostics<'_>,
        key: &'static str,
        expected: &str,
    ) -> Option<Sp<&'a str>> {
        if !self.has(key) {
            self.seen.insert(key);
            self.missing(d, key, expected);
            return None;
        }
        self.str(d, key)
    }

    pub(crate) fn integer(
        &mut self,
        d: &mut Diagnostics<'_>,
        key: &'static str,
    ) -> Option<Sp<i64>> {
        let v = self.raw(key)?;
        let parsed = v
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok());
        match parsed {
            Some(n) => Some(Spanned::new(v.span(), n)),
            None => {
                self.wrong_type(d, key, v, "a whole number");
                None
            }
        }
    }

    pub(crate) fn bool(&mut self, d: &mut Diagnostics<'_>, key: &'static str) -> Option<Sp<bool>> {
        let v = self.raw(key)?;
        match v.get_ref().as_bool() {
            Some(b) => Some(Spanned::new(v.span(), b)),
            None => {
                self.wrong_type(d, key, v, "true or false");
                None
            }
        }
    }

    /// A date or date-time, written as a TOML datetime or as a string; returned
    /// as text ("2026-11-24", "2026-11-25T15:00:00") for the caller to interpret.
    pub(crate) fn datetime_text(
        &mut self,
        d: &mut Diagnostics<'_>,
        key: &'static str,
    ) -> Option<Sp<String>> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::Datetime(dt) => Some(Spanned::new(v.span(), dt.to_string())),
            DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
            _ => {
                self.wrong_type(d, key, v, "a date such as 2026-12-05");
                None
            }
        }
    }

    /// An array of strings (each with its own span).
    pub(crate) fn str_array(
        &mut self,
        d: &mut Diagnostics<'_>,
        key: &'static str,
        expected: &str,
    ) -> Option<Vec<Sp<&'a str>>> {
        let v = self.raw(key)?;
        let Some(items) = v.get_ref().as_array() else {
            self.wrong_type(d, key, v, expected);
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref().as_str() {
                Some(s) => out.push(Spanned::new(item.span(), s)),
                None => d.error(
                    item.span(),
                    format!(
                        "an item of `{key}` in {} is a {}; expected {expected}",
                        self.name,
                        item.get_ref().type_str()
                    ),
                ),
            }
        }
        Some(out)
    }

    /// A sub-table (`[owner]`), if written.
    pub(crate) fn table(
        &mut self,
        d: &mut Diagnostics<'_>,
        key: &'static str,
        allowed: &'static [&'static str],
    ) -> Option<Section<'a, 'i>> {
        let v = self.raw(key)?;
        match v.get_ref().as_table() {
            Some(t) => Some(Section::new(t, v.span(), format!("[{key}]"), allowed)),
            None => {
                self.wrong_type(d, key, v, &format!("a [{key}] section"));
                None
            }
        }
    }

    /// An array of tables (`[[contractor]]`); empty when absent.
    pub(crate) fn tables(
        &mut self,
        d: &mut Diagnostics<'_>,
        key: &'static str,
        allowed: &'static [&'static str],
    ) -> Vec<Section<'a, 'i>> {
        let Some(v) = self.raw(key) else {
            return Vec::new();
        };
        let Some(items) = v.get_ref().as_array() else {
            self.wrong_type(d, key, v, &format!("[[{key}]] sections"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref().as_table() {
                Some(t) => out.push(Section::new(
                    t,
                    item.span(),
                    format!("[[{key}]] #{}", i + 1),
                    allowed,
                )),
                None => d.error(
                    item.span(),
                    format!(
                        "an item of `{key}` is a {}; expected a table",
                        item.get_ref().type_str()
                    ),
                ),
            }
        }
        out
    }

    /// Reports every key that was never asked for.
    pub(crate) fn finish(self, d: &mut Diagnostics<'_>) {
        for (key, _) in self.table.iter() {
            let name: &str = key.get_ref();
            if self.seen.contains(name) || self.allowed.contains(&name) {
                continue;
            }
            let hint = match super::values::nearest(name, self.allowed.iter().copied()) {
                Some(near) => format!("did you mean `{near}`? "),
                None => String::new(),
            };
            d.error(
                key.span(),
                format!(
                    "unknown key `{name}` in {}; {hint}expected one of: {}",
                    self.name,
                    self.allowed.join(", ")
                ),
            );
        }
    }
}
