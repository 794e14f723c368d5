//! The stack's OAuth 2.0 authorization server (`tests/mailstack/oauth_server.py`)
//! as a test uses it: the provider's endpoints, driven the way a native mail
//! client drives them, and the `/admin` switches a test flips.
//!
//! [`MailStack::oauth`] starts the server on first use (Dovecot and Postfix
//! take its tokens from the stack's start on). A test that changes settings,
//! injects faults or reads the record of token requests takes a client of its
//! own, [`OAuth::new_client`], so tests on the shared stack do not see each
//! other; [`OAuth::client`] is the client every stack registers.
//!
//! Flows, as Handoff will run them: [`OAuth::sign_in`] (authorization code +
//! PKCE through a loopback redirect, with [`browse`] playing the person's
//! browser), [`OAuth::device_authorization`] + [`OAuth::poll_device`] +
//! [`OAuth::approve_device`] (RFC 8628), [`OAuth::refresh`]. What the
//! provider can be made to do: [`OAuth::configure`] (token lifetime,
//! rotation, device interval, deny), [`OAuth::revoke_access`],
//! [`OAuth::fault`], [`OAuth::mint`] (tokens Dovecot must refuse), and
//! [`OAuth::token_requests`] (what a client asked, and when).

mod admin;
mod encoding;

// Re-exported for the tests (each binary uses its own subset).
#[allow(unused_imports)]
pub use admin::{Fault, TokenRequest};
#[allow(unused_imports)]
pub use encoding::{base64_decode, base64url, jwt_parts, pkce, random_token, sha256, unix_now};

use super::MailStack;
use super::http::{self, LoopbackRedirect, Response};
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// RFC 8628 section 3.4's grant type.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A client registered at the server (RFC 6749 section 2).
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// A successful token response (RFC 6749 section 5.1).
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    /// Absent on a refresh unless the client's refresh tokens rotate.
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// An error answer of the token or device endpoint (RFC 6749 section 5.2),
/// or, for a failure without OAuth's JSON (a 500 page, a dropped
/// connection, a timeout), `error` saying so.
#[derive(Debug, Clone)]
pub struct TokenError {
    /// 0 when there was no HTTP answer.
    pub status: u16,
    pub error: String,
    pub description: String,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HTTP {}: {}: {}",
            self.status, self.error, self.description
        )
    }
}

/// A device authorization response (RFC 8628 section 3.2).
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// The running authorization server of one stack.
#[derive(Debug, Clone)]
pub struct OAuth {
    /// The `iss` of its tokens, which Dovecot enforces.
    pub issuer: String,
    /// `http://127.0.0.1:<port>`; the endpoints below are under it.
    pub base_url: String,
    pub auth_url: String,
    pub token_url: String,
    pub device_url: String,
    pub revoke_url: String,
    pub admin_url: String,
    /// The scope tests ask for.
    pub scope: String,
    /// The client every stack registers (settings: the defaults).
    pub client: Client,
    /// One line per request, no token values.
    pub log: PathBuf,
}

impl MailStack {
    /// The stack's authorization server, started on first use.
    pub fn oauth(&self) -> &OAuth {
        self.oauth.get_or_init(|| {
            self.run("start-oauth");
            let env = super::read_env(&self.dir);
            let get = |k: &str| {
                env.get(k)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| panic!("{k} missing from {}/env", self.dir.display()))
                    .clone()
            };
            OAuth {
                issuer: get("OAUTH_ISSUER"),
                base_url: get("OAUTH_URL"),
                auth_url: get("OAUTH_AUTH_URL"),
                token_url: get("OAUTH_TOKEN_URL"),
                device_url: get("OAUTH_DEVICE_URL"),
                revoke_url: get("OAUTH_REVOKE_URL"),
                admin_url: get("OAUTH_ADMIN_URL"),
                scope: get("OAUTH_SCOPE"),
                client: Client {
                    id: get("OAUTH_CLIENT_ID"),
                    secret: get("OAUTH_CLIENT_SECRET"),
                },
                log: PathBuf::from(get("OAUTH_LOG")),
            }
        })
    }

    /// The authorization server down (port closed): a provider outage.
    /// Dovecot still takes the tokens already issued.
    pub fn stop_oauth(&self) {
        self.oauth();
        self.run("stop-oauth");
    }

    /// The authorization server back on the same port, with a fresh memory:
    /// earlier refresh tokens, device codes and clients made by
    /// [`OAuth::new_client`] are gone (the key, and so issued access tokens,
    /// stay good).
    pub fn start_oauth(&self) {
        self.oauth();
        self.run("start-oauth");
    }
}

/// A person's browser: GETs `url` and follows redirects (at most 5), to the
/// app's loopback listener for an authorization response. Returns the last
/// response and the URL it came from.
pub async fn browse(url: &str) -> Result<(String, Response), String> {
    let mut url = url.to_string();
    for _ in 0..5 {
        let resp = http::get(&url).await?;
        if !(300..400).contains(&resp.status) {
            return Ok((url, resp));
        }
        url = resp
            .header("location")
            .ok_or_else(|| format!("HTTP {} without Location", resp.status))?
            .to_string();
    }
    Err(format!("too many redirects, last to {url}"))
}

/// An authorization request's parameters beyond client, redirect and PKCE.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationRequest<'a> {
    pub state: &'a str,
    /// The mail user who signs in (`login_hint`); the stack's owner if
    /// `None`. An address that is no user of the stack is denied.
    pub login_hint: Option<&'a str>,
    /// The scope; the stack's [`OAuth::scope`] if `None`.
    pub scope: Option<&'a str>,
}

impl OAuth {
    /// The authorization request URL (RFC 6749 section 4.1.1 with RFC 7636's
    /// S256 challenge): what a native app opens in the person's browser.
    pub fn authorization_url(
        &self,
        client: &Client,
        redirect_uri: &str,
        challenge: &str,
        req: &AuthorizationRequest<'_>,
    ) -> String {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", req.scope.unwrap_or(&self.scope)),
            ("state", req.state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        if let Some(hint) = req.login_hint {
            params.push(("login_hint", hint));
        }
        format!("{}?{}", self.auth_url, http::form_encode(&params))
    }

    /// The authorization code grant as a native app runs it (RFC 8252): a
    /// loopback listener, the browser sent to /authorize (approved at once),
    /// the code taken from the redirect (its `state` checked) and exchanged
    /// with the PKCE verifier. Signs in as `user` (`login_hint`).
    pub async fn sign_in(&self, client: &Client, user: &str) -> Result<Tokens, TokenError> {
        let (code, verifier, redirect_uri) = self.authorize(client, user).await?;
        self.exchange_code(client, &code, &verifier, &redirect_uri)
            .await
    }

    /// The front half of [`OAuth::sign_in`]: (code, verifier, redirect_uri),
    /// or the error the redirect carried.
    pub async fn authorize(
        &self,
        client: &Client,
        user: &str,
    ) -> Result<(String, String, String), TokenError> {
        let (verifier, challenge) = pkce();
        let state = random_token();
        let listener = LoopbackRedirect::bind().await;
        let redirect_uri = listener.redirect_uri.clone();
        let url = self.authorization_url(
            client,
            &redirect_uri,
            &challenge,
            &AuthorizationRequest {
                state: &state,
                login_hint: Some(user),
                scope: None,
            },
        );
        let (target, browsed) = tokio::join!(listener.accept(http::TIMEOUT), browse(&url));
        let target = target.map_err(|e| no_answer("redirect", e))?;
        browsed.map_err(|e| no_answer("browser", e))?;
        assert_eq!(
            http::query_param(&target, "state").as_deref(),
            Some(state.as_str()),
            "the redirect carries the request's state"
        );
        if let Some(error) = http::query_param(&target, "error") {
            return Err(TokenError {
                status: 302,
                error,
                description: http::query_param(&target, "error_description").unwrap_or_default(),
            });
        }
        let code = http::query_param(&target, "code").expect("a code in the redirect");
        Ok((code, verifier, redirect_uri))
    }

    /// POST /token with `form` plus the client's credentials in the body
    /// (`client_secret_post`).
    pub async fn token_request(
        &self,
        client: &Client,
        form: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Tokens, TokenError> {
        let mut form = form.to_vec();
        form.push(("client_id", &client.id));
        form.push(("client_secret", &client.secret));
        let resp = http::post_form(&self.token_url, &form, timeout)
            .await
            .map_err(|e| no_answer("token endpoint", e))?;
        parse_token_answer(resp)
    }

    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<Tokens, TokenError> {
        self.token_request(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", redirect_uri),
            ],
            http::TIMEOUT,
        )
        .await
    }

    /// The refresh token grant (RFC 6749 section 6).
    pub async fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
    ) -> Result<Tokens, TokenError> {
        self.refresh_within(client, refresh_token, http::TIMEOUT)
            .await
    }

    /// [`OAuth::refresh`], giving up after `timeout` (error `timeout`).
    pub async fn refresh_within(
        &self,
        client: &Client,
        refresh_token: &str,
        timeout: Duration,
    ) -> Result<Tokens, TokenError> {
        self.token_request(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            timeout,
        )
        .await
    }

    /// The device authorization request (RFC 8628 section 3.1).
    pub async fn device_authorization(
        &self,
        client: &Client,
    ) -> Result<DeviceAuthorization, TokenError> {
        let form = [
            ("client_id", client.id.as_str()),
            ("scope", self.scope.as_str()),
        ];
        let resp = http::post_form(&self.device_url, &form, http::TIMEOUT)
            .await
            .map_err(|e| no_answer("device endpoint", e))?;
        if resp.status != 200 {
            return Err(token_error(&resp));
        }
        Ok(serde_json::from_slice(&resp.body).expect("a device authorization response"))
    }

    /// One poll of the token endpoint for a device code (RFC 8628 section
    /// 3.4), as a public client (no secret, like a CLI on a device).
    pub async fn poll_device(
        &self,
        client: &Client,
        device_code: &str,
    ) -> Result<Tokens, TokenError> {
        let form = [
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client.id.as_str()),
        ];
        let resp = http::post_form(&self.token_url, &form, http::TIMEOUT)
            .await
            .map_err(|e| no_answer("token endpoint", e))?;
        parse_token_answer(resp)
    }
}

fn no_answer(what: &str, e: String) -> TokenError {
    TokenError {
        status: 0,
        error: if e.contains("no answer within") {
            "timeout".into()
        } else {
            "no_answer".into()
        },
        description: format!("{what}: {e}"),
    }
}

fn token_error(resp: &Response) -> TokenError {
    match serde_json::from_slice::<Value>(&resp.body) {
        Ok(v) if v["error"].is_string() => TokenError {
            status: resp.status,
            error: v["error"].as_str().unwrap_or_default().to_string(),
            description: v["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        },
        // Not OAuth's JSON: a front end's error page.
        _ => TokenError {
            status: resp.status,
            error: format!("http_{}", resp.status),
            description: resp.text(),
        },
    }
}

fn parse_token_answer(resp: Response) -> Result<Tokens, TokenError> {
    if resp.status != 200 {
        return Err(token_error(&resp));
    }
    assert_eq!(
        resp.header("cache-control"),
        Some("no-store"),
        "RFC 6749 section 5.1: a token response is not cached"
    );
    Ok(serde_json::from_slice(&resp.body).expect("a token response"))
}
