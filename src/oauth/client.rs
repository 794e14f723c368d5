//! Talking to the provider's endpoints, through the `oauth2` crate over
//! reqwest (rustls): the refresh grant (RFC 6749 §6), the authorization
//! code exchange with PKCE (RFC 7636) and the device grant (RFC 8628).
//!
//! Every answer is sorted into what the callers act on: a grant the
//! provider refused for good (`invalid_grant`: revoked, expired, the 7-day
//! limit of a Google client left in "Testing"; `invalid_client`: the app's
//! registration changed), which only the owner can fix, or a provider that
//! did not answer usefully (no connection, a timeout, a 5xx page), which
//! passes.

use crate::model::{OAuthSettings, Secret};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl, RefreshToken, RequestTokenError,
    TokenResponse, TokenUrl,
};
use std::time::Duration;

/// How long one request to the provider may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a grant gave no tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The provider answered no, and will again: the owner must sign in
    /// again (or fix the app's registration). `error` is OAuth's code.
    #[error("the provider refused: {error}{}", if description.is_empty() { String::new() } else { format!(" ({description})") })]
    Refused { error: String, description: String },
    /// No useful answer (network, timeout, a server error page): try later.
    #[error("the provider did not answer: {0}")]
    Unavailable(String),
    /// The config cannot make a request (a bad URL, an unreadable secret).
    #[error("{0}")]
    Setup(String),
}

/// Tokens a grant gave.
#[derive(Debug)]
pub struct Granted {
    pub access_token: Secret,
    /// `expires_in` (RFC 6749 §5.1); an hour when the provider says nothing.
    pub expires_in: Duration,
    /// A new refresh token (always from the code and device grants; on a
    /// refresh only where refresh tokens rotate, as Microsoft's do).
    pub refresh_token: Option<Secret>,
    /// The scopes granted, when the provider says.
    pub scopes: Option<Vec<String>>,
}

/// The HTTP client: no redirects (a token endpoint that redirects is not
/// followed, per the oauth2 crate's advice against SSRF), bounded.
pub fn http() -> Result<reqwest::Client, GrantError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| GrantError::Setup(format!("HTTP client: {e}")))
}

fn client_secret(settings: &OAuthSettings) -> Result<Option<ClientSecret>, GrantError> {
    let Some(path) = &settings.client_secret_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        GrantError::Setup(format!(
            "cannot read the client secret file {}: {e}",
            path.display()
        ))
    })?;
    Ok(Some(ClientSecret::new(
        text.trim_end_matches(['\r', '\n']).to_string(),
    )))
}

fn setup<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> GrantError + '_ {
    move |e| GrantError::Setup(format!("{what}: {e}"))
}

/// The client with its token endpoint (what the refresh needs).
pub(super) fn token_client(
    settings: &OAuthSettings,
) -> Result<
    BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    GrantError,
> {
    let mut c = BasicClient::new(ClientId::new(settings.client_id.clone()))
        .set_token_uri(TokenUrl::new(settings.token_url.clone()).map_err(setup("token_url"))?);
    if let Some(secret) = client_secret(settings)? {
        c = c.set_client_secret(secret);
    }
    Ok(c)
}

/// The client with its authorization and token endpoints (the code flow).
pub(super) fn code_client(
    settings: &OAuthSettings,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    GrantError,
> {
    Ok(token_client(settings)?
        .set_auth_uri(AuthUrl::new(settings.auth_url.clone()).map_err(setup("auth_url"))?))
}

/// The client with its device and token endpoints (the device flow), or
/// why there is none.
pub(super) fn device_client(
    settings: &OAuthSettings,
) -> Result<
    BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    GrantError,
> {
    let Some(url) = &settings.device_url else {
        return Err(GrantError::Setup(format!(
            "provider \"{}\" has no device flow for mail{}",
            settings.provider.as_str(),
            if settings.provider == crate::model::OAuthProvider::Google {
                " (Google refuses the device code flow for the mail scope https://mail.google.com/): run `handoff login` without --device, and forward the port over SSH if the browser is elsewhere"
            } else {
                " (no device_url in [oauth])"
            }
        )));
    };
    Ok(token_client(settings)?.set_device_authorization_url(
        DeviceAuthorizationUrl::new(url.clone()).map_err(setup("device_url"))?,
    ))
}

/// The refresh token grant.
pub async fn refresh(
    settings: &OAuthSettings,
    refresh_token: &Secret,
) -> Result<Granted, GrantError> {
    let client = token_client(settings)?;
    let http = http()?;
    let token = RefreshToken::new(refresh_token.expose().to_string());
    let answer = client
        .exchange_refresh_token(&token)
        .request_async(&http)
        .await;
    granted(answer)
}

/// Turns a token answer into [`Granted`] or a sorted [`GrantError`].
pub(super) fn granted<RE, TR>(
    answer: Result<TR, RequestTokenError<RE, oauth2::basic::BasicErrorResponse>>,
) -> Result<Granted, GrantError>
where
    RE: std::error::Error + 'static,
    TR: TokenResponse,
{
    match answer {
        Ok(t) => Ok(from_response(&t)),
        Err(RequestTokenError::ServerResponse(r)) => {
            let error = r.error().as_ref().to_string();
            let description = r.error_description().cloned().unwrap_or_default();
            Err(match r.error() {
                // RFC 6749 §5.2's errors all mean "this request will not
                // work"; an extension may say "later" (temporarily_unavailable
                // comes from §4.1.2.1).
                BasicErrorResponseType::Extension(e) if e == "temporarily_unavailable" => {
                    GrantError::Unavailable(format!("{error}: {description}"))
                }
                _ => GrantError::Refused { error, description },
            })
        }
        Err(e) => Err(GrantError::Unavailable(describe(&e))),
    }
}

pub(super) fn from_response<TR: TokenResponse>(t: &TR) -> Granted {
    Granted {
        access_token: Secret::new(t.access_token().secret().clone()),
        expires_in: t.expires_in().unwrap_or(Duration::from_secs(3600)),
        refresh_token: t.refresh_token().map(|r| Secret::new(r.secret().clone())),
        scopes: t
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str().to_string()).collect()),
    }
}

/// One line for a failed request: the error and its causes (never a token:
/// these come from the HTTP client and the parser, not from the request).
pub(super) fn describe<E: std::error::Error>(e: &E) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
