//! Problems found in a config, with the place they were found.
//!
//! Every problem carries the byte span of the offending TOML (key, value or
//! section header); [`Diagnostics`] turns spans into 1-based line and column so
//! the owner sees `FILE:LINE:COL: what is wrong; what was expected`, the form
//! editors and CI logs jump to.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters (not bytes), as editors count.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        write!(
            f,
            "{}:{}:{}: {tag}{}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Collects problems while the config is read, so one run reports them all.
pub(crate) struct Diagnostics<'s> {
    source: &'s str,
    file: PathBuf,
    items: Vec<(usize, Diagnostic)>,
}

impl<'s> Diagnostics<'s> {
    pub(crate) fn new(file: &Path, source: &'s str) -> Self {
        Diagnostics {
            source,
            file: file.to_path_buf(),
            items: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(Severity::Error, span, message.into());
    }

    pub(crate) fn warn(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(Severity::Warning, span, message.into());
    }

    /// The config file, as named in messages.
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.items
            .iter()
            .any(|(_, d)| d.severity == Severity::Error)
    }

    /// 1-based line of a byte offset (for "first defined at line N").
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        position(self.source, offset).0
    }

    fn push(&mut self, severity: Severity, span: Range<usize>, message: String) {
        let (line, column) = position(self.source, span.start);
        self.items.push((
            span.start,
            Diagnostic {
                severity,
                file: self.file.clone(),
                line,
                column,
                message,
            },
        ));
    }

    /// All problems in file order (errors before warnings at the same place).
    pub(crate) fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|(offset, d)| (*offset, d.severity));
        self.items.into_iter().map(|(_, d)| d).collect()
    }
}

/// 1-based (line, column) of a byte offset; column counts characters.
fn position(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    // A span may start inside a multi-byte character only if the parser is
    // wrong; step back to a boundary rather than panic on slicing.
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let src = "a = 1\nname = \"Díaz\" x";
        assert_eq!(position(src, 0), (1, 1));
        assert_eq!(position(src, 6), (2, 1));
        // The byte after "Díaz\"" is column 15 in characters, 16 in bytes.
        let x = src.find(" x").unwrap() + 1;
        assert_eq!(position(src, x), (2, 15));
    }
}
