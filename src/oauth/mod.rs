//! Signing in to the owner's mail servers: the password, or OAuth 2.0
//! (Gmail, Microsoft 365, any provider that speaks SASL XOAUTH2).
//!
//! ```text
//!  handoff login ──▶ login: code + PKCE (loopback redirect) or device code
//!                      │
//!                      ▼
//!                  store: token file, 0600, atomic ◀── systemd credential `oauth`
//!                      │
//!                      ▼
//!  imap_conn / outbox ─▶ SignIn::credential ─▶ source: refresh ahead, backoff, health
//!  (the AUTH step)                               │
//!                                                ▼
//!                                  daemon: journal, owner notice, status
//! ```
//!
//! [`SignIn`] is the one seam the connect code calls in its AUTH step
//! ("how this account signs in"): [`SignIn::for_server`] once per
//! connection (or per transport), [`SignIn::credential`] for what to send.
//! A password is read from its file; an OAuth 2.0 account gets an access
//! token from its [`TokenSource`], one per sign-in in the process
//! ([`source_for`]), so the IMAP watcher and the outbox share a refresh.
//!
//! What goes on the wire is SASL XOAUTH2 (Google's "OAuth 2.0 Mechanism",
//! which Microsoft follows): `user=<addr>^Aauth=Bearer <token>^A^A`. A
//! server that refuses the token answers a continuation carrying JSON
//! first, which the client must answer (an empty response) before the NO
//! comes ([`Xoauth2`] does; see `shared/notes/oauth-on-dovecot.md`).
//!
//! Tokens never print: they travel as [`Secret`], whose `Debug` and
//! `Display` say `[redacted]`, and no error here carries one.
//!
//! # Where it stands
//! Below the IMAP connection and the outbox, which call it, above the
//! model and the store: it must not import either caller, nor the daemon.

pub mod client;
pub mod login;
pub mod source;
pub mod store;

pub use source::{Health, TokenSource};

use crate::model::{OAuthSettings, Secret, ServerAuth, ServerSettings};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("cannot read the {kind} password file: {source}")]
    Password {
        kind: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("no OAuth 2.0 sign-in stored ({} does not exist); run `handoff login`", path.display())]
    NotSignedIn { path: PathBuf },
    #[error("the OAuth 2.0 sign-in no longer works ({error}); run `handoff login` again (next try {})", retry_at.to_rfc3339())]
    Refused {
        error: String,
        retry_at: DateTime<Utc>,
    },
    #[error("cannot get an access token ({error}); trying again at {}", retry_at.to_rfc3339())]
    Unavailable {
        error: String,
        retry_at: DateTime<Utc>,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl SignInError {
    /// When signing in is worth another try (`None`: as soon as asked,
    /// e.g. a password file that may be fixed any moment).
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        match self {
            SignInError::Refused { retry_at, .. } | SignInError::Unavailable { retry_at, .. } => {
                Some(*retry_at)
            }
            _ => None,
        }
    }

    /// Whether only the owner can fix it (sign in again, fix a file).
    pub fn needs_owner(&self) -> bool {
        !matches!(self, SignInError::Unavailable { .. })
    }
}

/// An access token for one connection.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub user: String,
    pub token: Secret,
    /// When a session signed in with it should end: its refresh point.
    pub refresh_at: DateTime<Utc>,
}

/// What the AUTH step sends.
#[derive(Debug, Clone)]
pub enum Credential {
    /// LOGIN / AUTH PLAIN with the account's password.
    Password { user: String, password: Secret },
    /// AUTHENTICATE XOAUTH2 / AUTH XOAUTH2 with an access token.
    Bearer(Bearer),
}

impl Credential {
    /// When a session signed in with this should be renewed (`None`: never).
    pub fn renew_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Credential::Password { .. } => None,
            Credential::Bearer(b) => Some(b.refresh_at),
        }
    }
}

/// How one account signs in: the seam of the connect code's AUTH step.
#[derive(Debug, Clone)]
pub enum SignIn {
    Password { user: String, password: Secret },
    OAuth2(Arc<TokenSource>),
}

impl SignIn {
    /// For the server `s` (`kind` is "imap" or "smtp", for messages): reads
    /// the password file, or finds the account's token source.
    pub fn for_server(s: &ServerSettings, kind: &'static str) -> Result<SignIn, SignInError> {
        match &s.auth {
            ServerAuth::Password => {
                let password = s
                    .read_password()
                    .map_err(|source| SignInError::Password { kind, source })?;
                Ok(SignIn::Password {
                    user: s.username.clone(),
                    password,
                })
            }
            ServerAuth::OAuth2(o) => Ok(SignIn::OAuth2(source_for(o, &s.username))),
        }
    }

    /// What to send now: the password, or a fresh access token.
    pub async fn credential(&self) -> Result<Credential, SignInError> {
        match self {
            SignIn::Password { user, password } => Ok(Credential::Password {
                user: user.clone(),
                password: password.clone(),
            }),
            SignIn::OAuth2(source) => Ok(Credential::Bearer(source.bearer().await?)),
        }
    }

    /// The server refused `credential`: a refused token is not offered
    /// again (the next one is refreshed first).
    pub async fn refused(&self, credential: &Credential) {
        if let (SignIn::OAuth2(source), Credential::Bearer(b)) = (self, credential) {
            source.refused(&b.token).await;
        }
    }

    /// The server took the credential.
    pub async fn accepted(&self) {
        if let SignIn::OAuth2(source) = self {
            source.accepted().await;
        }
    }
}

/// Resolves when the sign-in of `s` changes health (a new `handoff login`
/// took, or a refresh failed); never for a password account. For waits
/// that should end early when signing in may work again.
pub async fn changed(s: &ServerSettings) {
    match &s.auth {
        ServerAuth::OAuth2(o) => {
            let mut rx = source_for(o, &s.username).subscribe();
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        ServerAuth::Password => std::future::pending::<()>().await,
    }
}

/// The SASL XOAUTH2 initial response (before base64).
pub fn xoauth2(user: &str, token: &Secret) -> String {
    format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose())
}

/// async-imap's side of `AUTHENTICATE XOAUTH2`: the initial response to the
/// server's first (empty) continuation, an empty answer to any further one
/// (the JSON error a refused token gets; without the answer Dovecot and
/// Gmail wait instead of saying NO). `refused` records that one came.
pub struct Xoauth2<'a> {
    pub user: &'a str,
    pub token: &'a Secret,
    pub answered: bool,
    pub refused: bool,
}

impl async_imap::Authenticator for &mut Xoauth2<'_> {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        if self.answered {
            self.refused = true;
            return Vec::new();
        }
        self.answered = true;
        xoauth2(self.user, self.token).into_bytes()
    }
}

/// The process's token sources, one per sign-in (token file, credential,
/// client and account): the IMAP watcher, the outbox and a reload share
/// one, so a token is refreshed once and a failure backs off once.
type Key = (PathBuf, Option<PathBuf>, String, String, String);

fn registry() -> &'static Mutex<HashMap<Key, Arc<TokenSource>>> {
    static SOURCES: OnceLock<Mutex<HashMap<Key, Arc<TokenSource>>>> = OnceLock::new();
    SOURCES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The token source of the sign-in `settings` for the account `user`.
pub fn source_for(settings: &Arc<OAuthSettings>, user: &str) -> Arc<TokenSource> {
    let key = (
        settings.token_file.clone(),
        settings.credential.clone(),
        settings.client_id.clone(),
        settings.token_url.clone(),
        user.to_string(),
    );
    // A poisoned lock only means a panic while holding a plain map.
    let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
    map.entry(key)
        .or_insert_with(|| Arc::new(TokenSource::new(settings.clone(), user.to_string())))
        .clone()
}

/// The token sources of the accounts a config signs in to with OAuth 2.0
/// (IMAP's and SMTP's, once each when they share a sign-in).
pub fn sources_of(model: &crate::model::Model) -> Vec<Arc<TokenSource>> {
    let servers = model
        .imap
        .as_ref()
        .map(|i| &i.server)
        .into_iter()
        .chain(model.smtp.as_ref());
    let mut out: Vec<Arc<TokenSource>> = Vec::new();
    for s in servers {
        if let ServerAuth::OAuth2(o) = &s.auth {
            let src = source_for(o, &s.username);
            if !out.iter().any(|x| Arc::ptr_eq(x, &src)) {
                out.push(src);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoauth2_answers_the_error_continuation_with_an_empty_response() {
        use async_imap::Authenticator;
        let token = Secret::new("tok".into());
        let mut a = Xoauth2 {
            user: "ada@example.test",
            token: &token,
            answered: false,
            refused: false,
        };
        let mut a = &mut a;
        assert_eq!(
            a.process(b""),
            b"user=ada@example.test\x01auth=Bearer tok\x01\x01".to_vec()
        );
        assert!(!a.refused);
        assert_eq!(a.process(br#"{"status":"401"}"#), Vec::<u8>::new());
        assert!(a.refused);
    }
}
