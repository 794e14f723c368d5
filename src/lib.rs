//! Handoff (module map is filled in as modules land).
#![deny(unsafe_code)]

pub mod clock;
pub mod config;
pub mod model;
