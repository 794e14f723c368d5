//! The default templates, compiled into the binary so an installed Handoff
//! needs no checkout: every `templates/<lang>/NAME.txt|html`, listed by
//! `build.rs` (a translation ships by adding its file).

/// The defaults, compiled in: (path under `templates/`, such as
/// "de/kickoff.txt", source).
pub(super) const DEFAULTS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/defaults.rs"));
