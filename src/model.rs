//! The owner's world as typed, checked values.
//!
//! Everything here is built once by [`crate::config`] from a config that passed
//! every check; nothing downstream sees raw TOML or re-validates. Instants are UTC
//! (`DateTime<Utc>`), zones travel beside them (`chrono_tz::Tz`) and are applied
//! only where a person reads a time: templates, calendar, cron.
//!
//! It must not import anything but [`crate::money`]: the model is what
//! everything downstream reads, so it reads nothing downstream.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use lettre::Address;
use std::path::PathBuf;

/// The whole checked configuration.
#[derive(Debug, Clone)]
pub struct Model {
    pub owner: Owner,
    pub mail: MailSettings,
    /// Present when the config has an `[smtp]` section (checked even if unused).
    pub smtp: Option<ServerSettings>,
    /// Present when the config has an `[imap]` section.
    pub imap: Option<ImapSettings>,
    pub policy: Policy,
    pub log: LogSettings,
    pub contractors: Vec<Contractor>,
    pub engagements: Vec<Engagement>,
}

impl Model {
    /// The contractor an engagement works with.
    pub fn contractor_of(&self, engagement: &Engagement) -> &Contractor {
        // The config loader only builds an Engagement after resolving its contractor
        // id to an index into this same Vec, and the Vec is never shrunk afterwards,
        // so the index is always in bounds.
        &self.contractors[engagement.contractor_index]
    }

    pub fn engagement(&self, id: &str) -> Option<&Engagement> {
        self.engagements.iter().find(|e| e.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub name: String,
    pub email: Address,
    pub timezone: Tz,
}

/// Where mail goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing {
    /// Submission over SMTP (`[smtp]`).
    Smtp,
    /// Each mail written as an `.eml` file under `<maildir>/outgoing` (local mode).
    Maildir,
}

/// Where replies come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// IMAP IDLE on `[imap]`.
    Imap,
    /// A local Maildir at `<maildir>/inbox` (local mode).
    Maildir,
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub outgoing: Outgoing,
    pub incoming: Incoming,
    /// Root of the local-mode mail folders (absolute).
    pub maildir: PathBuf,
    /// The SQLite store (absolute).
    pub state: PathBuf,
    /// The owner's template overrides, if any (absolute).
    pub templates_dir: Option<PathBuf>,
}

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (SMTPS 465, IMAPS 993).
    Tls,
    /// Plain connect, then STARTTLS before anything else is said.
    Starttls,
    /// No TLS: only to loopback, or with `allow_plaintext = true`.
    None,
}

/// One server account: `[smtp]` or the server part of `[imap]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    /// The file holding the password (never the password itself: see
    /// [`Secret`]). `None` only for a section the current mode does not use and
    /// that names no file (the config check requires one where it is used).
    pub password_file: Option<PathBuf>,
    /// An extra CA to trust besides the public roots; verification is on either way.
    pub ca_file: Option<PathBuf>,
    pub allow_plaintext: bool,
    /// How Handoff signs in (`auth`): with the password file, or with an
    /// OAuth 2.0 access token.
    pub auth: ServerAuth,
}

/// `auth` in `[smtp]` and `[imap]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ServerAuth {
    /// `auth = "password"`: `password_file` (or the systemd credential).
    #[default]
    Password,
    /// `auth = "oauth2"`: SASL XOAUTH2 with an access token from the
    /// sign-in `handoff login` stored (see [`crate::oauth`]).
    OAuth2(std::sync::Arc<OAuthSettings>),
}

/// Who issues Handoff's OAuth 2.0 tokens (`provider` in `[oauth]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthProvider {
    Google,
    Microsoft,
    Custom,
}

impl OAuthProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthProvider::Google => "google",
            OAuthProvider::Microsoft => "microsoft",
            OAuthProvider::Custom => "custom",
        }
    }
}

/// `[oauth]`: the app registered at the provider, and where the sign-in is
/// kept. Endpoints are filled in for Google and Microsoft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    pub provider: OAuthProvider,
    pub client_id: String,
    /// A file holding the client secret (Google's desktop clients have one;
    /// it is not secret in the sense a password is, but it stays out of the
    /// config all the same).
    pub client_secret_file: Option<PathBuf>,
    /// The authorization endpoint (RFC 6749 §3.1).
    pub auth_url: String,
    /// The token endpoint (RFC 6749 §3.2).
    pub token_url: String,
    /// The device authorization endpoint (RFC 8628 §3.1), where the provider
    /// allows the device flow for mail.
    pub device_url: Option<String>,
    pub scopes: Vec<String>,
    /// Where the sign-in is kept and refreshed (mode 0600): by default
    /// `oauth-token.json` beside the store.
    pub token_file: PathBuf,
    /// The systemd credential `oauth` (`$CREDENTIALS_DIRECTORY/oauth`), when
    /// the config was read with one: a sign-in handed over read-only, newer
    /// than the token file's when the owner signed in again.
    pub credential: Option<PathBuf>,
}

impl ServerSettings {
    /// Reads the password file. Trailing line breaks are dropped (editors add one).
    pub fn read_password(&self) -> std::io::Result<Secret> {
        let Some(path) = &self.password_file else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no password_file configured",
            ));
        };
        let text = std::fs::read_to_string(path)?;
        Ok(Secret(text.trim_end_matches(['\r', '\n']).to_string()))
    }
}

/// A password or token that never prints: `Debug` and `Display` show `[redacted]`, so a
/// stray `{:?}` in a log line cannot leak it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret read or received (a password, a token).
    pub fn new(text: String) -> Secret {
        Secret(text)
    }

    /// The password itself, for the one place that hands it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapSettings {
    pub server: ServerSettings,
    pub mailbox: String,
    pub sent_mailbox: String,
    /// Whether the provider files what is submitted over SMTP in
    /// `sent_mailbox` by itself (Gmail, Microsoft): then Handoff files no
    /// copy of its own; the Sent-folder search after a crash still finds
    /// the provider's.
    pub server_files_sent: bool,
    /// How often to look for new mail when the server offers no IDLE; with
    /// IDLE, how often the Sent mailbox is looked at while nothing arrives.
    pub poll_every: TimeDelta,
}

/// `[log]`: how much the daemon writes to its log.
#[derive(Debug, Clone, Default)]
pub struct LogSettings {
    /// `error`, `warn`, `info`, `debug` or `trace`; `None` means `info`
    /// (and `RUST_LOG`, when set, overrides either).
    pub level: Option<String>,
}

/// The owner's rules against micromanaging.
#[derive(Debug, Clone)]
pub struct Policy {
    /// In the contractor's zone: nothing goes to them inside this window.
    pub quiet_hours: Option<QuietHours>,
    pub max_reminders_per_day: u32,
    pub silence_alert_after: TimeDelta,
    /// After an overdue notice, one escalation to the owner this much later.
    pub escalate_after: TimeDelta,
    /// A payment still not recorded this long after it was due: one more
    /// reminder.
    pub payment_followup_after: TimeDelta,
    /// A contractor's question the owner has not answered within this: one
    /// owner reminder.
    pub answer_within: TimeDelta,
    /// The owner's digest, in the owner's zone; `None` when switched off.
    pub digest: Option<Schedule>,
    /// After downtime, scheduled items older than this are logged and
    /// skipped (an overdue notice still goes out once).
    pub catch_up_horizon: TimeDelta,
    /// Whether owner notices that can wait go out at once or are folded
    /// into the next digest.
    pub owner_notices: OwnerNotices,
}

/// `policy.owner_notices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OwnerNotices {
    /// Every owner notice goes out when it is due.
    #[default]
    Immediate,
    /// Notices that can wait are listed in the next digest instead; what
    /// cannot wait (a question, a bounce, a decline, a failed send, Handoff's
    /// own trouble) still goes at once.
    Digest,
}

/// A daily window of local time, possibly crossing midnight ("20:00-08:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether a local time of day falls inside the window (start inclusive,
    /// end exclusive).
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

#[derive(Debug, Clone)]
pub struct Contractor {
    pub id: String,
    pub name: String,
    pub email: Address,
    pub timezone: Tz,
}

#[derive(Debug, Clone)]
pub struct Engagement {
    pub id: String,
    /// The contractor's id, as written.
    pub contractor: String,
    /// Index of that contractor in [`Model::contractors`].
    pub(crate) contractor_index: usize,
    pub title: String,
    /// `None`: not signed, so only the agreement request goes out.
    pub agreement_signed: Option<NaiveDate>,
    pub agreement_file: Option<PathBuf>,
    pub starts: NaiveDate,
    /// The kickoff call (30 minutes), as an instant.
    pub kickoff: Option<DateTime<Utc>>,
    pub deliverables: String,
    pub quality_standard: String,
    pub performance_standard: String,
    pub payment_terms: Option<String>,
    /// Status-report requests, in the contractor's zone.
    pub status_reports: Option<Schedule>,
    /// Evaluation reminders to the owner, in the owner's zone.
    pub evaluation: Schedule,
    pub recheck_after_delivery: TimeDelta,
    pub recheck_every: TimeDelta,
    /// Payment-due reminders to the owner, in the owner's zone.
    pub payment: Option<Schedule>,
    /// What the owner agreed to spend (`budget = "2000 EUR"`); payments count
    /// against it.
    pub budget: Option<crate::money::Money>,
    pub attachments: Vec<PathBuf>,
    pub milestones: Vec<Milestone>,
}

#[derive(Debug, Clone)]
pub struct Milestone {
    pub id: String,
    pub title: String,
    /// The due instant: a date means the end of that day in the owner's zone.
    pub due: DateTime<Utc>,
    /// Reminder offsets before `due`, largest first.
    pub remind_before: Vec<TimeDelta>,
    pub attachments: Vec<PathBuf>,
}

/// A recurring schedule: the owner's crontab text, the parsed form, and the zone
/// it runs in. When it fires is computed by [`crate::schedule::occurrence`].
#[derive(Debug, Clone)]
pub struct Schedule {
    /// As the owner wrote it (5-field crontab), for messages and display.
    pub crontab: String,
    pub(crate) cron: cron::Schedule,
    pub timezone: Tz,
}

/// Formats a span of time the way owners write it: "3d", "12h", "1d12h".
pub fn format_period(d: TimeDelta) -> String {
    let mut secs = d.num_seconds();
    if secs == 0 {
        return "0m".to_string();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = -secs;
    }
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= len {
            out.push_str(&format!("{}{unit}", secs / len));
            secs %= len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_cross_midnight() {
        let q = QuietHours {
            start: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        };
        assert!(q.contains(NaiveTime::from_hms_opt(23, 0, 0).unwrap()));
        assert!(q.contains(NaiveTime::from_hms_opt(7, 59, 0).unwrap()));
        assert!(!q.contains(NaiveTime::from_hms_opt(8, 0, 0).unwrap()));
        assert!(!q.contains(NaiveTime::from_hms_opt(12, 0, 0).unwrap()));
    }

    #[test]
    fn periods_print_as_owners_write_them() {
        assert_eq!(format_period(TimeDelta::days(3)), "3d");
        assert_eq!(format_period(TimeDelta::hours(36)), "1d12h");
        assert_eq!(format_period(TimeDelta::minutes(90)), "1h30m");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret("hunter2".into());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
