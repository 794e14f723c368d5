//! Config text → parse and validate (`handoff::config::parse`): never a
//! panic; a text that does not load yields diagnostics, each at a line and
//! column that exist in the text. The same property runs bounded in CI as
//! tests/fuzz.rs. Seed the corpus with config/handoff.toml.
#![no_main]

use handoff::config::{self, ConfigError, Severity};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where relative paths resolve: an empty directory, so `attachments` and
/// password files are missing (diagnostics), never someone's real files.
fn base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("handoff-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    // The config is read as UTF-8 text; other bytes never reach the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::parse(Path::new("fuzz.toml"), text, base(), None) {
        Ok(_) => {}
        Err(ConfigError::Read { .. }) => panic!("parse never reads a file"),
        Err(ConfigError::Invalid { diagnostics, .. }) => {
            assert!(diagnostics.iter().any(|d| d.severity == Severity::Error));
            let lines: Vec<&str> = text.split('\n').collect();
            for d in &diagnostics {
                assert!(d.line >= 1 && d.line <= lines.len(), "{d}");
                let width = lines[d.line - 1].chars().count();
                assert!(d.column >= 1 && d.column <= width + 1, "{d}");
            }
        }
    }
});
