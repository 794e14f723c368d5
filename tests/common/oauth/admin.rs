//! What a test does to the authorization server through its `/admin`
//! (`tests/mailstack/oauth_admin.py`): clients with their own settings, the
//! person's answer to a device code, revocation, faults of the token
//! endpoint, tokens minted to be refused, and the record of token requests.

use super::{Client, OAuth};
use crate::common::http;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One request the token endpoint received, from the server's record.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// When it arrived (the server's clock, which is this machine's).
    pub at: SystemTime,
    /// `authorization_code`, `refresh_token` or [`super::DEVICE_GRANT`].
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

fn unix(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(secs)
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
