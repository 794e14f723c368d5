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

use super::MailStack;
use super::http::{self, LoopbackRedirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// One request the token endpoint received, from the server's record.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// When it arrived (the server's clock, which is this machine's).
    pub at: SystemTime,
    /// `authorization_code`, `refresh_token` or [`DEVICE_GRANT`].
    pub grant_type: String,
    /// 200, 400, 401, 500, 503; 0 for a dropped connection; `None` while a
    /// hung request is still held.
    pub status: Option<u16>,
    /// OAuth's error code (`invalid_grant`, ...), if any.
    pub error: Option<String>,
    /// The injected fault it met (`hang`, `500`, `503`, `close`), if any.
    pub fault: Option<String>,
    /// The `exp` of the access token it was given, if it got one.
    pub expires_at: Option<SystemTime>,
}

/// A failure of the token endpoint, injected with [`OAuth::fault`].
#[derive(Debug, Clone)]
pub struct Fault {
    mode: String,
    count: Option<u32>,
    seconds: Option<f64>,
    retry_after: Option<u32>,
}

impl Fault {
    /// Requests are held unanswered until the fault is cleared or over
    /// (then served: a slow provider), or the client gives up.
    pub fn hang() -> Fault {
        Fault::mode("hang")
    }
    /// 500 or 503 with an HTML page (what a provider's front end sends).
    pub fn status(status: u16) -> Fault {
        assert!(status == 500 || status == 503, "500 or 503");
        Fault::mode(&status.to_string())
    }
    /// The connection is dropped without an answer.
    pub fn close() -> Fault {
        Fault::mode("close")
    }
    fn mode(mode: &str) -> Fault {
        Fault {
            mode: mode.to_string(),
            count: None,
            seconds: None,
            retry_after: None,
        }
    }
    /// Only for the next `n` requests.
    pub fn times(mut self, n: u32) -> Fault {
        self.count = Some(n);
        self
    }
    /// Only for `d` from now.
    pub fn lasting(mut self, d: Duration) -> Fault {
        self.seconds = Some(d.as_secs_f64());
        self
    }
    /// With a `Retry-After` header (503).
    pub fn retry_after(mut self, seconds: u32) -> Fault {
        self.retry_after = Some(seconds);
        self
    }
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

/// A PKCE pair (RFC 7636 section 4.1-4.2): a random `code_verifier` of 43
/// characters and its `S256` `code_challenge`.
pub fn pkce() -> (String, String) {
    let verifier = random_token();
    let challenge = base64url(&sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// 32 random bytes, base64url: 43 characters.
pub fn random_token() -> String {
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).expect("random bytes");
    base64url(&raw)
}

/// SHA-256, from the ring provider rustls already carries (no crate of its
/// own for the tests).
pub fn sha256(data: &[u8]) -> Vec<u8> {
    use tokio_rustls::rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256;
    let suite = TLS13_AES_128_GCM_SHA256.tls13().expect("a TLS 1.3 suite");
    suite.common.hash_provider.hash(data).as_ref().to_vec()
}

/// Base64url without padding (RFC 4648 section 5), as JWTs and PKCE use it.
pub fn base64url(data: &[u8]) -> String {
    super::base64(data)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// Base64 (RFC 4648), standard or URL alphabet, padding optional; `None`
/// for any other character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A JWT's (header, claims), decoded without checking the signature (that
/// is Dovecot's job).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut next = || -> Value {
        let part = parts.next().expect("a JWT has three parts");
        let raw = base64_decode(part).expect("base64url");
        serde_json::from_slice(&raw).expect("JSON in a JWT part")
    };
    let header = next();
    let claims = next();
    (header, claims)
}

fn unix(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(secs)
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
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
    fn admin(&self, path: &str) -> String {
        format!("{}/{path}", self.admin_url)
    }

    async fn admin_post(&self, path: &str, body: Value) -> Value {
        let resp = http::post_json(&self.admin(path), &body)
            .await
            .unwrap_or_else(|e| panic!("admin {path}: {e}"));
        assert_eq!(resp.status, 200, "admin {path} {body}: {}", resp.text());
        resp.json()
    }

    /// A new client, its settings the defaults changed by `settings` (keys:
    /// `access_token_lifetime`, `rotate_refresh_tokens`, `code_lifetime`,
    /// `authorize` ("approve"/"deny"), `device_expires_in`,
    /// `device_interval`, `slow_down_step`; see oauth_server.py).
    pub async fn new_client(&self, settings: Value) -> Client {
        let out = self
            .admin_post("clients", json!({ "settings": settings }))
            .await;
        Client {
            id: out["client_id"].as_str().expect("client_id").to_string(),
            secret: out["client_secret"]
                .as_str()
                .expect("client_secret")
                .to_string(),
        }
    }

    /// Changes settings of `client` from the next request on.
    pub async fn configure(&self, client: &Client, settings: Value) {
        self.admin_post(&format!("clients/{}", client.id), settings)
            .await;
    }

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

    /// The person at the verification page enters `user_code` and approves,
    /// signed in as `user`.
    pub async fn approve_device(&self, user_code: &str, user: &str) {
        self.device_action(user_code, "approve", Some(user)).await;
    }
    /// ... or refuses.
    pub async fn deny_device(&self, user_code: &str) {
        self.device_action(user_code, "deny", None).await;
    }
    /// The device code runs out (as after `expires_in`), now.
    pub async fn expire_device(&self, user_code: &str) {
        self.device_action(user_code, "expire", None).await;
    }

    async fn device_action(&self, user_code: &str, action: &str, user: Option<&str>) {
        let mut body = json!({ "user_code": user_code, "action": action });
        if let Some(user) = user {
            body["user"] = json!(user);
        }
        self.admin_post("device", body).await;
    }

    /// Every refresh token `client` holds for `user` revoked, as when the
    /// owner removes the app's access in the provider's account settings.
    /// Returns how many were live.
    pub async fn revoke_access(&self, client: &Client, user: &str) -> u64 {
        let out = self
            .admin_post("revoke", json!({ "user": user, "client_id": client.id }))
            .await;
        out["revoked"].as_u64().expect("a count")
    }

    /// One refresh token revoked.
    pub async fn revoke(&self, refresh_token: &str) {
        self.admin_post("revoke", json!({ "refresh_token": refresh_token }))
            .await;
    }

    /// The token endpoint fails, for `client` only (or every client when
    /// `None`), as `fault` says; replaces an earlier fault of that scope.
    pub async fn fault(&self, client: Option<&Client>, fault: Fault) {
        let mut body = json!({ "mode": fault.mode });
        if let Some(c) = client {
            body["client_id"] = json!(c.id);
        }
        if let Some(n) = fault.count {
            body["count"] = json!(n);
        }
        if let Some(s) = fault.seconds {
            body["seconds"] = json!(s);
        }
        if let Some(r) = fault.retry_after {
            body["retry_after"] = json!(r);
        }
        self.admin_post("fault", body).await;
    }

    /// No more faults for `client` (or for every client); hung requests are
    /// released and served.
    pub async fn clear_fault(&self, client: Option<&Client>) {
        let mut body = json!({ "mode": "none" });
        if let Some(c) = client {
            body["client_id"] = json!(c.id);
        }
        self.admin_post("fault", body).await;
    }

    /// An access token as the server issues them (for the owner, an hour,
    /// the stack's key), changed by `spec`: `lifetime` (seconds, negative:
    /// expired), `key: "wrong"`, `sub`, `alg`, `typ`, `kid`, and `claims`
    /// (set; null removes).
    pub async fn mint(&self, spec: Value) -> String {
        let out = self.admin_post("mint", spec).await;
        out["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// Every request the token endpoint got from `client`, in arrival order.
    pub async fn token_requests(&self, client: &Client) -> Vec<TokenRequest> {
        let url = format!(
            "{}?{}",
            self.admin("stats"),
            http::form_encode(&[("client_id", &client.id)])
        );
        let resp = http::get(&url).await.expect("admin stats");
        assert_eq!(resp.status, 200, "admin stats: {}", resp.text());
        let stats = resp.json();
        let text = |v: &Value| v.as_str().map(str::to_string);
        stats["token_requests"]
            .as_array()
            .expect("token_requests")
            .iter()
            .map(|e| TokenRequest {
                at: unix(e["at"].as_f64().expect("at")),
                grant_type: text(&e["grant_type"]).unwrap_or_default(),
                status: e["status"].as_u64().map(|s| s as u16),
                error: text(&e["error"]),
                fault: text(&e["fault"]),
                expires_at: e["expires_at"].as_f64().map(unix),
            })
            .collect()
    }

    /// [`OAuth::token_requests`] once none is held any more: a request
    /// released from a hang is served on the server's own thread, after the
    /// clear that released it has returned. Polls (the server tells no one)
    /// for at most `within`.
    pub async fn settled_token_requests(
        &self,
        client: &Client,
        within: Duration,
    ) -> Vec<TokenRequest> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let record = self.token_requests(client).await;
            if record.iter().all(|r| r.status.is_some()) {
                return record;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "a token request still held after {within:?}: {record:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many token requests of `grant_type` `client` made.
    pub async fn count(&self, client: &Client, grant_type: &str) -> usize {
        self.token_requests(client)
            .await
            .iter()
            .filter(|r| r.grant_type == grant_type)
            .count()
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
