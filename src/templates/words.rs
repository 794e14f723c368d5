//! Instants and dates as people read them in a mail.
//!
//! Templates get their times already written out: the model and the schedule
//! hand over instants in UTC, and the text a person reads is made here, in
//! the reader's zone.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// "Sat 5 Dec 2026, 17:59 EST (America/New_York)".
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    format!(
        "{} ({})",
        t.with_timezone(&tz).format("%a %-d %b %Y, %H:%M %Z"),
        tz.name()
    )
}

pub fn local_date(d: NaiveDate) -> String {
    d.format("%a %-d %b %Y").to_string()
}
