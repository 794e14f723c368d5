//! The owner's one interface: `handoff.toml`, read into a checked [`Model`].
//!
//! Reading happens in two steps. toml's recoverable parser turns the text into a
//! spanned document tree (all syntax errors at once); then `build` walks that
//! tree section by section through a `reader::Section`, which records every
//! problem (unknown and missing keys, wrong types, bad addresses, zones, crontab
//! lines, periods, dates, duplicate or dangling ids, header-unsafe text) with its
//! span instead of stopping at the first. Only a config with no errors becomes a
//! [`Model`]; warnings travel beside it.
//!
//! Relative paths in the config (`maildir`, `state`, `password_file`,
//! `agreement_file`, `attachments`, …) are resolved against the directory that
//! holds the config file, in every command and under systemd alike.
//!
//! Passwords never appear in the config: `password_file` names a file, or the
//! systemd credential named after the section (`smtp`, `imap`) is used from
//! `$CREDENTIALS_DIRECTORY`. The password is read only when a connection is made
//! ([`crate::model::ServerSettings::read_password`]).
//!
//! It builds the model and must not import anything downstream of it: its
//! checks use the model's own types (and the cron crate) only.

mod build;
mod diag;
mod reader;
mod starter;
mod text;
mod values;

pub use diag::{Diagnostic, Severity};
pub use starter::starter;
pub(crate) use text::hidden;

use crate::model::Model;
use std::path::{Path, PathBuf};

/// The commented example config: the reference (tests pin their clock to
/// its dates); `handoff init` writes it with its dates moved to today
/// ([`starter`]).
pub const EXAMPLE: &str = include_str!("../../config/handoff.toml");

/// Where the config is looked for when `--config` is not given.
pub const DEFAULT_PATH: &str = "config/handoff.toml";

/// A config that passed every check.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub model: Model,
    /// Problems worth a look that do not stop Handoff (e.g. evaluation less
    /// often than yearly).
    pub warnings: Vec<Diagnostic>,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The config has errors; `diagnostics` holds them (and any warnings), in
    /// file order.
    #[error("{} has {} error(s)", path.display(), diagnostics.iter().filter(|d| d.severity == Severity::Error).count())]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

/// Reads and checks the config at `path`.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let base = base_dir(path);
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    parse(path, &source, &base, credentials.as_deref())
}

/// The directory relative paths are resolved against: the config file's own.
pub fn base_dir(config_path: &Path) -> PathBuf {
    let dir = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Checks config text; `path` names it in messages, `base` resolves relative
/// paths, `credentials` is systemd's `$CREDENTIALS_DIRECTORY` if any.
pub fn parse(
    path: &Path,
    source: &str,
    base: &Path,
    credentials: Option<&Path>,
) -> Result<Loaded, ConfigError> {
    let mut d = diag::Diagnostics::new(path, source);
    let (doc, syntax) = toml::de::DeTable::parse_recoverable(source);
    for e in &syntax {
        d.error(
            e.span().unwrap_or(0..0),
            format!("{}; expected valid TOML", e.message().trim_end()),
        );
    }
    // A broken document tree would only produce confusing follow-on errors
    // ("missing key" for a key the owner did write), so stop at syntax.
    let model = if syntax.is_empty() {
        build::build(&mut d, doc.get_ref(), base, credentials)
    } else {
        None
    };
    let failed = d.has_errors();
    let diagnostics = d.into_sorted();
    match model {
        Some(model) if !failed => Ok(Loaded {
            model,
            warnings: diagnostics,
            path: path.to_path_buf(),
        }),
        _ => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
        }),
    }
}

/// A crontab line (the owner's 5-field form) as a schedule in `tz`, for
/// callers that build models without a config file (tests, benchmarks).
pub fn schedule(crontab: &str, tz: chrono_tz::Tz) -> Result<crate::model::Schedule, String> {
    Ok(crate::model::Schedule {
        crontab: crontab.trim().to_string(),
        cron: values::crontab(crontab)?.schedule,
        timezone: tz,
    })
}

#[cfg(test)]
mod tests;
