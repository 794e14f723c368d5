//! `handoff login`: getting the refresh token, from the owner's terminal.
//!
//! - **Authorization code with PKCE** (RFC 6749 §4.1, RFC 7636 S256), as a
//!   native app does it (RFC 8252 §7.3): a listener on 127.0.0.1 on a port
//!   the system picks, the authorization URL printed for the owner to open,
//!   the browser redirected back to the listener with the code, the code
//!   exchanged with the verifier. The `state` is checked; the listener
//!   answers only the redirect and stops once it came (or after
//!   [`WAIT_FOR_BROWSER`]). On a headless server the owner forwards the port
//!   over SSH (the README shows how). Microsoft registers loopback redirects
//!   as `http://localhost` (any port), so its redirect names `localhost`.
//! - **Device code** (RFC 8628), where the provider allows it for mail
//!   (Microsoft, a custom provider with a `device_url`; not Google): a code
//!   to enter on any device, and polling until the owner approves.
//!
//! Either way the sign-in is written to the token file (0600, atomic) with
//! the time of the sign-in, which makes it the newest. Nothing in the
//! daemon listens on a port: this runs only in `handoff login`.

use super::client::{self, GrantError, Granted};
use super::store::{self, Access, StoreError, Tokens};
use crate::model::{OAuthProvider, OAuthSettings};
use chrono::{TimeDelta, Utc};
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, RequestTokenError};
use oauth2::{DeviceCodeErrorResponseType, StandardDeviceAuthorizationResponse};
use oauth2::{Scope, TokenResponse};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long `handoff login` waits for the browser's redirect.
pub const WAIT_FOR_BROWSER: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on 127.0.0.1 for the browser's redirect: {0}")]
    Listen(#[source] std::io::Error),
    #[error("no answer from the browser within {} minutes; run `handoff login` again", WAIT_FOR_BROWSER.as_secs() / 60)]
    NoRedirect,
    #[error(
        "the redirect did not carry this sign-in's state (another sign-in's tab?); run `handoff login` again"
    )]
    WrongState,
    #[error("the sign-in was not approved: {0}")]
    Denied(String),
}

/// What the owner is asked to do, for the CLI to print.
#[derive(Debug, Clone)]
pub enum Prompt {
    /// Open this URL in a browser (the listener's port in it).
    OpenUrl { url: String, port: u16 },
    /// Open `verification_uri` and enter `user_code` (or open `complete`).
    EnterCode {
        verification_uri: String,
        user_code: String,
        complete: Option<String>,
        expires_in: Duration,
    },
}

/// Signs `account` in by the authorization code flow with PKCE; `prompt`
/// is called once with the URL to open. Writes the token file.
pub async fn by_code(
    settings: &OAuthSettings,
    account: &str,
    prompt: impl FnOnce(Prompt),
) -> Result<Tokens, LoginError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(LoginError::Listen)?;
    let port = listener.local_addr().map_err(LoginError::Listen)?.port();
    let host = match settings.provider {
        OAuthProvider::Microsoft => "localhost",
        _ => "127.0.0.1",
    };
    let redirect = format!("http://{host}:{port}/");
    let redirect_url = RedirectUrl::new(redirect.clone())
        .map_err(|e| GrantError::Setup(format!("redirect URL: {e}")))?;
    let client = client::code_client(settings)?.set_redirect_uri(redirect_url);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(settings.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .add_extra_param("login_hint", account.to_string());
    if settings.provider == OAuthProvider::Google {
        // A refresh token every time (Google gives one only on consent).
        request = request
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
    }
    let (url, state) = request.url();
    prompt(Prompt::OpenUrl {
        url: url.to_string(),
        port,
    });
    let answer = tokio::time::timeout(WAIT_FOR_BROWSER, redirect_answer(&listener))
        .await
        .map_err(|_| LoginError::NoRedirect)?
        .map_err(LoginError::Listen)?;
    drop(listener);
    let param = |k: &str| {
        answer
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if param("state").as_deref() != Some(state.secret().as_str()) {
        return Err(LoginError::WrongState);
    }
    if let Some(error) = param("error") {
        let description = param("error_description").unwrap_or_default();
        return Err(LoginError::Denied(
            format!("{error} {description}").trim().to_string(),
        ));
    }
    let code = param("code").ok_or_else(|| LoginError::Denied("no code in the redirect".into()))?;
    let http = client::http()?;
    let answer = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    let granted = client::granted(answer)?;
    keep(settings, account, granted)
}

/// Accepts connections on the listener until one is the redirect (a GET
/// with `code` or `error`): answers it with a short page and returns its
/// query. Anything else (a favicon request, a stray connection) gets a 404.
async fn redirect_answer(listener: &TcpListener) -> std::io::Result<Vec<(String, String)>> {
    loop {
        let (mut conn, _) = listener.accept().await?;
        let mut buf = vec![0u8; 8192];
        let mut len = 0;
        // The request line and headers; the redirect has no body.
        let head = loop {
            let n = match tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf[len..]))
                .await
            {
                Ok(Ok(n)) => n,
                _ => break None,
            };
            if n == 0 {
                break None;
            }
            len += n;
            if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") || len == buf.len() {
                break Some(String::from_utf8_lossy(&buf[..len]).into_owned());
            }
        };
        let query = head.as_deref().and_then(redirect_query);
        let (status, page) = match &query {
            Some(q) if q.iter().any(|(k, _)| k == "error") => (
                "200 OK",
                "Handoff was not signed in. You can close this tab; the terminal says what happened.",
            ),
            Some(_) => (
                "200 OK",
                "Handoff is signed in. You can close this tab and go back to the terminal.",
            ),
            None => ("404 Not Found", "Not found."),
        };
        let body =
            format!("<!doctype html><meta charset=utf-8><title>Handoff</title><p>{page}</p>\n");
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = conn.write_all(response.as_bytes()).await;
        let _ = conn.shutdown().await;
        if let Some(q) = query {
            return Ok(q);
        }
    }
}

/// The query of a `GET /?…` request carrying `code` or `error`.
fn redirect_query(head: &str) -> Option<Vec<(String, String)>> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    if method != "GET" || !target.starts_with("/?") {
        return None;
    }
    let url = url::Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs
        .iter()
        .any(|(k, _)| k == "code" || k == "error")
        .then_some(pairs)
}

/// Signs `account` in by the device flow; `prompt` is called once with the
/// code to enter. Polls at the provider's interval until the owner approves
/// (or refuses, or the code runs out). Writes the token file.
pub async fn by_device(
    settings: &OAuthSettings,
    account: &str,
    prompt: impl FnOnce(Prompt),
) -> Result<Tokens, LoginError> {
    let client = client::device_client(settings)?;
    let http = client::http()?;
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(settings.scopes.iter().cloned().map(Scope::new))
        .request_async(&http)
        .await
        .map_err(|e| device_error(&e))?;
    prompt(Prompt::EnterCode {
        verification_uri: details.verification_uri().to_string(),
        user_code: details.user_code().secret().clone(),
        complete: details
            .verification_uri_complete()
            .map(|c| c.secret().clone()),
        expires_in: details.expires_in(),
    });
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, None)
        .await
        .map_err(|e| device_error(&e))?;
    keep(settings, account, granted_of(&token))
}

fn granted_of<T: TokenResponse>(t: &T) -> Granted {
    client::from_response(t)
}

/// A device flow error, sorted like the others: the owner's refusal and an
/// expired code are answers, not outages.
fn device_error<RE, T>(e: &RequestTokenError<RE, T>) -> LoginError
where
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponse + 'static + DeviceError,
{
    match e {
        RequestTokenError::ServerResponse(r) => match r.code() {
            Some(DeviceCodeErrorResponseType::AccessDenied) => {
                LoginError::Denied("the sign-in was refused on the verification page".into())
            }
            Some(DeviceCodeErrorResponseType::ExpiredToken) => LoginError::Denied(
                "the code ran out before it was entered; run `handoff login --device` again".into(),
            ),
            _ => LoginError::Grant(GrantError::Refused {
                error: r.code_text(),
                description: r.description(),
            }),
        },
        other => LoginError::Grant(GrantError::Unavailable(client::describe(other))),
    }
}

/// The two error responses of the device flow, read alike.
pub trait DeviceError {
    fn code(&self) -> Option<DeviceCodeErrorResponseType>;
    fn code_text(&self) -> String;
    fn description(&self) -> String;
}

impl DeviceError for oauth2::DeviceCodeErrorResponse {
    fn code(&self) -> Option<DeviceCodeErrorResponseType> {
        Some(self.error().clone())
    }
    fn code_text(&self) -> String {
        self.error().as_ref().to_string()
    }
    fn description(&self) -> String {
        self.error_description().cloned().unwrap_or_default()
    }
}

impl DeviceError for oauth2::basic::BasicErrorResponse {
    fn code(&self) -> Option<DeviceCodeErrorResponseType> {
        None
    }
    fn code_text(&self) -> String {
        self.error().as_ref().to_string()
    }
    fn description(&self) -> String {
        self.error_description().cloned().unwrap_or_default()
    }
}

/// Writes a new sign-in: the refresh token is required (without it Handoff
/// could sign in for an hour only).
fn keep(settings: &OAuthSettings, account: &str, granted: Granted) -> Result<Tokens, LoginError> {
    let Some(refresh_token) = granted.refresh_token else {
        return Err(LoginError::Denied(
            "the provider gave no refresh token (for Microsoft, the scope offline_access is needed)"
                .into(),
        ));
    };
    let now = Utc::now();
    let tokens = Tokens {
        provider: settings.provider.as_str().to_string(),
        client_id: settings.client_id.clone(),
        account: account.to_string(),
        scopes: granted.scopes.unwrap_or_else(|| settings.scopes.clone()),
        signed_in_at: now,
        refresh_token,
        access: Some(Access {
            token: granted.access_token,
            obtained_at: now,
            expires_at: now
                + TimeDelta::from_std(granted.expires_in).unwrap_or(TimeDelta::hours(1)),
        }),
    };
    store::write(&settings.token_file, &tokens)?;
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_redirect_with_a_code_or_an_error_is_taken() {
        let q = redirect_query("GET /?code=abc&state=s%20t HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert!(q.contains(&("code".into(), "abc".into())));
        assert!(q.contains(&("state".into(), "s t".into())));
        assert!(redirect_query("GET /?error=access_denied&state=s HTTP/1.1\r\n").is_some());
        assert!(redirect_query("GET /favicon.ico HTTP/1.1\r\n").is_none());
        assert!(redirect_query("POST /?code=abc HTTP/1.1\r\n").is_none());
        assert!(redirect_query("GET /?state=s HTTP/1.1\r\n").is_none());
    }
}
