//! One account's access tokens at run time: read from the sign-in on disk,
//! refreshed ahead of their expiry, shared by the IMAP watcher and the
//! outbox (one source per sign-in in the process, so two connections never
//! refresh twice), and a refresh that fails held back with backoff.
//!
//! # When it refreshes
//! An access token is used until its *refresh point*: a fifth of its
//! lifetime before it expires, at most five minutes (a Google or Microsoft
//! token lives an hour: refreshed at 55 minutes). The IMAP watcher ends its
//! session at that point and reconnects, so a session never outlives its
//! token (Exchange Online ends sessions whose token expired); the SMTP
//! connection is dropped before it is reused past it. Every reconnect asks
//! [`TokenSource::bearer`], which refreshes when the point has passed.
//!
//! # When it fails
//! - The provider refuses the grant (`invalid_grant`: revoked, expired,
//!   Google's 7-day limit for a client in "Testing"): [`Health::SignInNeeded`].
//!   It is tried again after 1 min, 2, 4, … at most an hour apart (the
//!   provider may have had a bad moment), and at once when the sign-in on
//!   disk changes (the owner ran `handoff login`).
//! - The provider does not answer: [`Health::Trouble`], retried after 5 s,
//!   10, … at most 5 minutes apart; an access token still valid is used
//!   meanwhile.
//! - No sign-in stored at all: [`Health::SignInNeeded`], checked again on
//!   every use (a file read, no request).
//!
//! Between tries nothing goes to the provider: a dead sign-in costs a file
//! check per reconnect, not a request (and not a log line) per reconnect.
//!
//! Token times are the providers' real time (`Utc::now()`), not the
//! scheduling clock: `HANDOFF_NOW` must not make a live token look expired.
//! The decisions themselves take `now`, so unit tests move it.

use super::client::{self, GrantError, Granted};
use super::store::{self, Access, Tokens};
use super::{Bearer, SignInError};
use crate::model::{OAuthSettings, Secret};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{Mutex, watch};

/// How a sign-in stands, for the daemon (journal, notice, status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Tokens come as they should (or nothing has been asked yet).
    Ready,
    /// The provider did not answer; retried by itself.
    Trouble { error: String, since: DateTime<Utc> },
    /// Only the owner can fix this: `handoff login` again.
    SignInNeeded { error: String, since: DateTime<Utc> },
}

/// A failed refresh and when to try again.
#[derive(Debug, Clone)]
struct Failure {
    needs_owner: bool,
    error: String,
    since: DateTime<Utc>,
    attempts: u32,
    next_try: DateTime<Utc>,
}

/// A file's modified time and length, if it exists.
type FileStamp = Option<(SystemTime, u64)>;

#[derive(Debug, Default)]
struct State {
    /// The sign-in files as last read (modified time and length of the
    /// token file and the credential): a change is a new `handoff login`.
    stamp: Option<(FileStamp, FileStamp)>,
    tokens: Option<Tokens>,
    failure: Option<Failure>,
    /// A server refused the cached access token: refresh before using it.
    refused: bool,
    /// Fresh tokens refused in a row (reset when a server takes one).
    refusals: u32,
}

/// The access tokens of one sign-in.
#[derive(Debug)]
pub struct TokenSource {
    settings: Arc<OAuthSettings>,
    /// The SASL user (the account's address).
    user: String,
    state: Mutex<State>,
    health: watch::Sender<Health>,
}

/// The refresh point of an access token: a fifth of its lifetime before
/// expiry, at most 5 minutes.
pub fn refresh_point(obtained_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> DateTime<Utc> {
    let lifetime = expires_at - obtained_at;
    let margin = (lifetime / 5).min(TimeDelta::minutes(5));
    expires_at - margin.max(TimeDelta::zero())
}

/// Whether the access token may still be used at `now` (up to its refresh
/// point, with a second of slack so a reconnect right at the point
/// refreshes rather than racing it).
fn fresh(access: &Access, now: DateTime<Utc>) -> bool {
    now + TimeDelta::seconds(1) < refresh_point(access.obtained_at, access.expires_at)
}

/// Whether the access token is still valid at all (a refresh ahead that
/// failed may still use it).
fn valid(access: &Access, now: DateTime<Utc>) -> bool {
    now + TimeDelta::seconds(5) < access.expires_at
}

/// When to try a failed refresh again.
fn next_try(needs_owner: bool, attempts: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let (base, cap) = if needs_owner { (60, 3600) } else { (5, 300) };
    let secs = base
        * 2i64
            .saturating_pow(attempts.saturating_sub(1).min(12))
            .min(i64::from(u32::MAX));
    now + TimeDelta::seconds(secs.min(cap))
}

fn stamp_of(path: Option<&std::path::Path>) -> FileStamp {
    let m = std::fs::metadata(path?).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl TokenSource {
    pub(super) fn new(settings: Arc<OAuthSettings>, user: String) -> TokenSource {
        TokenSource {
            settings,
            user,
            state: Mutex::new(State::default()),
            health: watch::Sender::new(Health::Ready),
        }
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// How the sign-in stands now.
    pub fn health(&self) -> Health {
        self.health.borrow().clone()
    }

    /// Changes of [`TokenSource::health`].
    pub fn subscribe(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    fn set_health(&self, h: Health) {
        self.health.send_if_modified(|old| {
            if *old == h {
                return false;
            }
            *old = h;
            true
        });
    }

    /// An access token for a connection, refreshed first when its refresh
    /// point has passed (or a server refused it).
    pub async fn bearer(&self) -> Result<Bearer, SignInError> {
        let mut state = self.state.lock().await;
        self.reload_if_changed(&mut state)?;
        let now = Utc::now();
        if let Some(b) = self.usable(&state, now, fresh) {
            if state.failure.is_none() {
                // A new sign-in read from disk works: say so.
                self.set_health(Health::Ready);
            }
            return Ok(b);
        }
        if state.tokens.is_none() {
            let error = format!(
                "no sign-in stored: {} does not exist",
                self.settings.token_file.display()
            );
            self.fail_for_owner(&mut state, &error, now, true);
            return Err(SignInError::NotSignedIn {
                path: self.settings.token_file.clone(),
            });
        }
        if let Some(f) = state.failure.clone()
            && now < f.next_try
        {
            // Between tries: a token still valid carries on.
            if !f.needs_owner
                && let Some(b) = self.usable(&state, now, valid)
            {
                return Ok(b);
            }
            return Err(waiting(&f));
        }
        self.refresh(&mut state, now).await
    }

    /// A server refused `token` (it was revoked, or its scope is wrong):
    /// the next [`TokenSource::bearer`] refreshes instead of offering it
    /// again.
    ///
    /// A token refused within a minute of being obtained is not stale: the
    /// account does not let this app in (IMAP or SMTP AUTH switched off,
    /// the wrong scopes). That only the owner can fix, so it backs off like
    /// a refused refresh instead of refreshing at every reconnect.
    pub async fn refused(&self, token: &Secret) {
        let mut state = self.state.lock().await;
        let now = Utc::now();
        let obtained = state
            .tokens
            .as_ref()
            .and_then(|t| t.access.as_ref())
            .filter(|a| a.token.expose() == token.expose())
            .map(|a| a.obtained_at);
        let Some(obtained) = obtained else {
            return;
        };
        state.refused = true;
        if now - obtained < TimeDelta::minutes(1) {
            state.refusals += 1;
            let error = "the mail server refused a fresh access token (is IMAP or SMTP access allowed for this account, and are the scopes right?)";
            let since = state
                .failure
                .as_ref()
                .filter(|f| f.needs_owner)
                .map_or(now, |f| f.since);
            let f = Failure {
                needs_owner: true,
                error: error.to_string(),
                since,
                attempts: state.refusals,
                next_try: next_try(true, state.refusals, now),
            };
            if state.refusals == 1 {
                tracing::warn!(account = %self.user, retry_at = %f.next_try, "the mail server refuses fresh access tokens");
            }
            state.failure = Some(f);
            self.set_health(Health::SignInNeeded {
                error: error.to_string(),
                since,
            });
        }
    }

    /// A server took `token`: refusals before it were passing.
    pub async fn accepted(&self) {
        self.state.lock().await.refusals = 0;
    }

    /// The cached access token if `ok` says it may be used at `now`.
    fn usable(
        &self,
        state: &State,
        now: DateTime<Utc>,
        ok: fn(&Access, DateTime<Utc>) -> bool,
    ) -> Option<Bearer> {
        if state.refused {
            return None;
        }
        let access = state.tokens.as_ref()?.access.as_ref()?;
        let point = refresh_point(access.obtained_at, access.expires_at);
        ok(access, now).then(|| Bearer {
            user: self.user.clone(),
            token: access.token.clone(),
            // A token past its refresh point (the refresh failed, it is
            // still valid) serves until it expires, not one reconnect a
            // moment.
            refresh_at: if now < point {
                point
            } else {
                access.expires_at - TimeDelta::seconds(5)
            },
        })
    }

    /// Reads the sign-in again if its files changed since the last read. A
    /// changed file after a failure is a new sign-in: it is tried at once.
    fn reload_if_changed(&self, state: &mut State) -> Result<(), SignInError> {
        let s = &self.settings;
        let stamp = (
            stamp_of(Some(&s.token_file)),
            stamp_of(s.credential.as_deref()),
        );
        if state.stamp == Some(stamp) {
            return Ok(());
        }
        let read = store::read_newest(&s.token_file, s.credential.as_deref())?;
        state.stamp = Some(stamp);
        if read.is_some() {
            let before = state
                .tokens
                .as_ref()
                .map(|t| (t.signed_in_at, t.refresh_token.expose().to_string()));
            let after = read
                .as_ref()
                .map(|t| (t.signed_in_at, t.refresh_token.expose().to_string()));
            if before != after {
                // Another sign-in (or another process rotated the refresh
                // token): whatever failed before may work now.
                state.failure = None;
                state.refused = false;
            }
        }
        state.tokens = read;
        Ok(())
    }

    async fn refresh(&self, state: &mut State, now: DateTime<Utc>) -> Result<Bearer, SignInError> {
        // Another Handoff process may be refreshing the same sign-in: wait
        // for it, then read what it wrote before asking the provider.
        let _lock = store::lock(&self.settings.token_file, client::REQUEST_TIMEOUT).await?;
        state.stamp = None;
        self.reload_if_changed(state)?;
        if let Some(b) = self.usable(state, Utc::now(), fresh) {
            return Ok(b);
        }
        let Some(tokens) = state.tokens.clone() else {
            return Err(SignInError::NotSignedIn {
                path: self.settings.token_file.clone(),
            });
        };
        match client::refresh(&self.settings, &tokens.refresh_token).await {
            Ok(granted) => self.keep(state, tokens, granted),
            Err(GrantError::Refused { error, description }) => {
                let text = if description.is_empty() {
                    error.clone()
                } else {
                    format!("{error}: {description}")
                };
                let f = self.fail_for_owner(state, &text, now, false);
                // The daemon tells of the change of health once; each later
                // refusal (an hour apart at most) is only a debug line.
                if f.attempts == 1 {
                    tracing::warn!(account = %self.user, error = %text, retry_at = %f.next_try,
                        "the provider refused the sign-in");
                } else {
                    tracing::debug!(account = %self.user, error = %text, attempts = f.attempts,
                        retry_at = %f.next_try, "the provider still refuses the sign-in");
                }
                Err(SignInError::Refused {
                    error,
                    retry_at: f.next_try,
                })
            }
            Err(GrantError::Unavailable(e) | GrantError::Setup(e)) => {
                let attempts = state
                    .failure
                    .as_ref()
                    .filter(|f| !f.needs_owner)
                    .map_or(1, |f| f.attempts + 1);
                let since = state
                    .failure
                    .as_ref()
                    .filter(|f| !f.needs_owner)
                    .map_or(now, |f| f.since);
                let f = Failure {
                    needs_owner: false,
                    error: e.clone(),
                    since,
                    attempts,
                    next_try: next_try(false, attempts, now),
                };
                if attempts == 1 {
                    tracing::warn!(account = %self.user, error = %e, "cannot refresh the access token; trying again");
                } else {
                    tracing::debug!(account = %self.user, error = %e, attempts, "still cannot refresh the access token");
                }
                state.failure = Some(f.clone());
                self.set_health(Health::Trouble {
                    error: e.clone(),
                    since,
                });
                if let Some(b) = self.usable(state, now, valid) {
                    return Ok(b);
                }
                Err(SignInError::Unavailable {
                    error: e,
                    retry_at: f.next_try,
                })
            }
        }
    }

    /// Records a failure only the owner can fix; returns it.
    fn fail_for_owner(
        &self,
        state: &mut State,
        error: &str,
        now: DateTime<Utc>,
        quiet: bool,
    ) -> Failure {
        let previous = state.failure.as_ref().filter(|f| f.needs_owner);
        let attempts = previous.map_or(1, |f| f.attempts + 1);
        let f = Failure {
            needs_owner: true,
            error: error.to_string(),
            since: previous.map_or(now, |f| f.since),
            attempts,
            // No file at all: nothing to ask the provider, so nothing to
            // wait for but the file (checked on every use).
            next_try: if quiet {
                now
            } else {
                next_try(true, attempts, now)
            },
        };
        state.failure = Some(f.clone());
        self.set_health(Health::SignInNeeded {
            error: error.to_string(),
            since: f.since,
        });
        f
    }

    /// Stores what a refresh gave: in memory and in the token file.
    fn keep(
        &self,
        state: &mut State,
        mut tokens: Tokens,
        granted: Granted,
    ) -> Result<Bearer, SignInError> {
        let obtained_at = Utc::now();
        let expires_at =
            obtained_at + TimeDelta::from_std(granted.expires_in).unwrap_or(TimeDelta::hours(1));
        if let Some(r) = granted.refresh_token {
            tokens.refresh_token = r;
        }
        if let Some(s) = granted.scopes {
            tokens.scopes = s;
        }
        tokens.access = Some(Access {
            token: granted.access_token,
            obtained_at,
            expires_at,
        });
        // Written before it is used: a rotated refresh token lost in a
        // crash would sign the owner out.
        store::write(&self.settings.token_file, &tokens)?;
        state.stamp = Some((
            stamp_of(Some(&self.settings.token_file)),
            stamp_of(self.settings.credential.as_deref()),
        ));
        let bearer = Bearer {
            user: self.user.clone(),
            token: tokens
                .access
                .as_ref()
                .map(|a| a.token.clone())
                .unwrap_or_else(|| Secret::new(String::new())),
            refresh_at: refresh_point(obtained_at, expires_at),
        };
        tracing::debug!(account = %self.user, expires_at = %expires_at, "access token refreshed");
        state.tokens = Some(tokens);
        state.refused = false;
        // A refresh that works clears a refused grant; refused tokens stay
        // counted until a server takes one (see `refused`).
        if state.refusals == 0 {
            state.failure = None;
            self.set_health(Health::Ready);
        }
        Ok(bearer)
    }

    /// Reads the sign-in on disk again now (the daemon calls this when the
    /// token file or the credential changed): a new sign-in clears a
    /// failure, and health says so.
    pub async fn reload(&self) {
        let mut state = self.state.lock().await;
        let had_failure = state.failure.is_some();
        match self.reload_if_changed(&mut state) {
            Ok(()) if had_failure && state.failure.is_none() => {
                tracing::info!(account = %self.user, "a new sign-in was stored; trying it");
                drop(state);
                // Try it now, so health says whether it works.
                if let Err(e) = self.bearer().await {
                    tracing::warn!(account = %self.user, error = %e, "the new sign-in does not work yet");
                }
            }
            Ok(()) => {}
            Err(e) => tracing::warn!(account = %self.user, error = %e, "cannot read the sign-in"),
        }
    }

    /// How long until the next try, while a refresh is held back.
    pub async fn retry_in(&self) -> Option<Duration> {
        let state = self.state.lock().await;
        let f = state.failure.as_ref()?;
        Some((f.next_try - Utc::now()).to_std().unwrap_or(Duration::ZERO))
    }
}

fn waiting(f: &Failure) -> SignInError {
    if f.needs_owner {
        SignInError::Refused {
            error: f.error.clone(),
            retry_at: f.next_try,
        }
    } else {
        SignInError::Unavailable {
            error: f.error.clone(),
            retry_at: f.next_try,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_token_is_refreshed_a_fifth_of_its_life_ahead_at_most_five_minutes() {
        let at = t("2026-11-24T10:00:00Z");
        assert_eq!(
            refresh_point(at, at + TimeDelta::hours(1)),
            t("2026-11-24T10:55:00Z")
        );
        assert_eq!(
            refresh_point(at, at + TimeDelta::seconds(20)),
            t("2026-11-24T10:00:16Z")
        );
        let access = Access {
            token: Secret::new("x".into()),
            obtained_at: at,
            expires_at: at + TimeDelta::hours(1),
        };
        assert!(fresh(&access, t("2026-11-24T10:54:00Z")));
        assert!(!fresh(&access, t("2026-11-24T10:54:59.5Z")));
        assert!(valid(&access, t("2026-11-24T10:59:00Z")));
        assert!(!valid(&access, t("2026-11-24T10:59:56Z")));
    }

    #[test]
    fn failed_refreshes_back_off_to_an_hour_or_five_minutes() {
        let now = t("2026-11-24T10:00:00Z");
        let wait = |owner, n| (next_try(owner, n, now) - now).num_seconds();
        assert_eq!(
            [1, 2, 3, 7, 8, 100].map(|n| wait(true, n)),
            [60, 120, 240, 3600, 3600, 3600]
        );
        assert_eq!(
            [1, 2, 3, 6, 7, 100].map(|n| wait(false, n)),
            [5, 10, 20, 160, 300, 300]
        );
    }
}
