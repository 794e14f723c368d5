//! Handoff (module map is filled in as modules land).
#![deny(unsafe_code)]
