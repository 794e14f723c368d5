//! The OAuth 2.0 side of the mail-server harness works: the stack's test
//! authorization server issues tokens by authorization code + PKCE and by
//! device code, Dovecot (IMAP, both ports) and Postfix (submission) take them
//! with XOAUTH2 and OAUTHBEARER beside passwords, refuse expired, forged and
//! foreign ones, and the server behaves as a provider does when a refresh
//! token is revoked or its token endpoint fails.
//!
//! Each test that changes settings or reads the record of token requests
//! uses a client of its own, so they share one stack.

mod common;

use common::imap::{self, Bearer};
use common::oauth::{self, DEVICE_GRANT, Fault, jwt_parts, unix_now};
use common::{MailStack, smtp, unique};
use common::{http, raw};
use lettre::AsyncTransport;
use serde_json::json;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
/// A refused login, once the client has answered the error challenge,
/// comes back in milliseconds (auth_failure_delay = 0); this bounds it.
const REFUSAL: Duration = Duration::from_secs(5);
/// How long a test listens for an answer that must not come: a refusal,
/// once due, comes within about 0.5 s (Dovecot's failure timer), so
/// silence three times as long means the server waits for the client.
const SILENCE: Duration = Duration::from_millis(1500);

#[tokio::test]
async fn a_token_from_the_code_flow_with_pkce_reads_imap_and_sends_mail() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    let client = oauth.new_client(json!({})).await;
    let tokens = oauth
        .sign_in(&client, &stack.owner.user)
        .await
        .expect("signed in");
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 3600);
    assert!(tokens.refresh_token.is_some(), "{tokens:?}");

    // A JWT as Dovecot wants it, for the owner, from this issuer.
    let (header, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "HS256");
    assert_eq!(claims["iss"], oauth.issuer.as_str());
    assert_eq!(claims["sub"], stack.owner.user.as_str());
    assert_eq!(claims["scope"], oauth.scope.as_str());
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert!(iat.abs_diff(unix_now()) <= 5, "iat {iat} is now");

    // IMAP, STARTTLS and implicit TLS.
    let mut session = imap::authenticate_starttls(
        stack,
        Bearer::XOAuth2,
        &stack.owner.user,
        &tokens.access_token,
    )
    .await
    .expect("AUTHENTICATE XOAUTH2 (STARTTLS)");
    session.select("INBOX").await.expect("SELECT INBOX");
    session.logout().await.expect("LOGOUT");
    let mut session = imap::authenticate_imaps(
        stack,
        Bearer::XOAuth2,
        &stack.owner.user,
        &tokens.access_token,
    )
    .await
    .expect("AUTHENTICATE XOAUTH2 (IMAPS)");
    session.select("INBOX").await.expect("SELECT INBOX");
    session.logout().await.expect("LOGOUT");

    // Submission: lettre's XOAUTH2, and the mail arrives.
    let subject = unique("Sent with a token");
    smtp::transport_xoauth2(stack, &stack.owner.user, &tokens.access_token)
        .send(smtp::message(
            &stack.owner.user,
            &stack.contractor.user,
            &subject,
            "Hi Dana.",
        ))
        .await
        .expect("submission with XOAUTH2 accepted");
    // Dana reads it with her password: password logins work beside tokens.
    imap::wait_for_text(stack, &stack.contractor, "INBOX", &subject, WAIT).await;
    // And the owner's password still opens the same mailbox.
    let mut session = imap::login_imaps(stack, &stack.owner)
        .await
        .expect("password LOGIN");
    session.select("INBOX").await.expect("SELECT INBOX");
    smtp::send(
        stack,
        &stack.owner,
        &stack.contractor.user,
        &unique("Password"),
        "x",
    )
    .await
    .expect("submission with a password");
}

#[tokio::test]
async fn a_token_from_the_device_flow_logs_in_with_oauthbearer() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    // Interval 0: the test may poll back to back without slow_down.
    let client = oauth.new_client(json!({ "device_interval": 0 })).await;
    let device = oauth
        .device_authorization(&client)
        .await
        .expect("device code");
    assert!(
        device.verification_uri.starts_with(&oauth.base_url),
        "{device:?}"
    );
    assert!(
        device.verification_uri_complete.contains(&device.user_code),
        "{device:?}"
    );
    assert_eq!(device.user_code.len(), 9, "XXXX-XXXX: {device:?}");
    assert_eq!((device.expires_in, device.interval), (600, 0));

    // Before the person approves: pending (RFC 8628 section 3.5).
    let err = oauth
        .poll_device(&client, &device.device_code)
        .await
        .expect_err("pending");
    assert_eq!(
        (err.status, err.error.as_str()),
        (400, "authorization_pending"),
        "{err}"
    );

    oauth
        .approve_device(&device.user_code, &stack.owner.user)
        .await;
    let tokens = oauth
        .poll_device(&client, &device.device_code)
        .await
        .expect("tokens");
    assert!(tokens.refresh_token.is_some());
    assert_eq!(
        jwt_parts(&tokens.access_token).1["sub"],
        stack.owner.user.as_str()
    );
    // A device code gives tokens once.
    let err = oauth
        .poll_device(&client, &device.device_code)
        .await
        .expect_err("used");
    assert_eq!(err.error, "invalid_grant", "{err}");

    let mut session = imap::authenticate_imaps(
        stack,
        Bearer::OAuthBearer,
        &stack.owner.user,
        &tokens.access_token,
    )
    .await
    .expect("AUTHENTICATE OAUTHBEARER");
    session.select("INBOX").await.expect("SELECT INBOX");
    session.logout().await.expect("LOGOUT");
    assert_eq!(oauth.count(&client, DEVICE_GRANT).await, 3);
}

#[tokio::test]
async fn device_polling_gets_slow_down_access_denied_and_expired_token() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    // A long interval, so two polls back to back are surely too fast.
    let client = oauth
        .new_client(json!({ "device_interval": 30, "slow_down_step": 5 }))
        .await;

    let device = oauth
        .device_authorization(&client)
        .await
        .expect("device code");
    let err = oauth
        .poll_device(&client, &device.device_code)
        .await
        .expect_err("pending");
    assert_eq!(err.error, "authorization_pending", "{err}");
    let err = oauth
        .poll_device(&client, &device.device_code)
        .await
        .expect_err("too fast");
    assert_eq!(
        (err.status, err.error.as_str()),
        (400, "slow_down"),
        "{err}"
    );
    assert!(
        err.description.contains("35"),
        "the interval grew by 5 s: {err}"
    );

    let denied = oauth
        .device_authorization(&client)
        .await
        .expect("device code");
    oauth.deny_device(&denied.user_code).await;
    let err = oauth
        .poll_device(&client, &denied.device_code)
        .await
        .expect_err("denied");
    assert_eq!(
        (err.status, err.error.as_str()),
        (400, "access_denied"),
        "{err}"
    );

    let expired = oauth
        .device_authorization(&client)
        .await
        .expect("device code");
    oauth.expire_device(&expired.user_code).await;
    let err = oauth
        .poll_device(&client, &expired.device_code)
        .await
        .expect_err("expired");
    assert_eq!(
        (err.status, err.error.as_str()),
        (400, "expired_token"),
        "{err}"
    );
}

/// Tokens Dovecot must refuse, each with the user it is presented for.
async fn refused_tokens(stack: &MailStack) -> Vec<(&'static str, String, String)> {
    let oauth = stack.oauth();
    let owner = stack.owner.user.clone();
    vec![
        (
            "expired",
            oauth.mint(json!({ "lifetime": -60 })).await,
            owner.clone(),
        ),
        (
            "signed with another key",
            oauth.mint(json!({ "key": "wrong" })).await,
            owner.clone(),
        ),
        (
            "from another issuer",
            oauth
                .mint(json!({ "claims": { "iss": "https://accounts.example.test" } }))
                .await,
            owner.clone(),
        ),
        (
            "Dana's, presented as the owner's",
            oauth.mint(json!({ "sub": stack.contractor.user })).await,
            owner.clone(),
        ),
        // RFC 9068's access-token type: Dovecot 2.3 wants exactly "JWT".
        (
            "typed at+jwt",
            oauth.mint(json!({ "typ": "at+jwt" })).await,
            owner.clone(),
        ),
    ]
}

#[tokio::test]
async fn refused_tokens_get_no_once_the_client_answers_the_error_challenge() {
    let stack = MailStack::shared();
    let tokens = refused_tokens(stack).await;
    // All at once: Dovecot sends each NO about 0.5 s after the failure (its
    // failure queue is flushed on a 500 ms timer, auth_failure_delay = 0 or
    // not), and one after another they would add up.
    let attempts = tokens.iter().flat_map(|(what, token, user)| {
        [Bearer::XOAuth2, Bearer::OAuthBearer].map(|mechanism| async move {
            // The authenticator answers Dovecot's JSON challenge, so the NO
            // comes; the bound turns a hang into a failure.
            let started = Instant::now();
            let result = tokio::time::timeout(
                REFUSAL,
                imap::authenticate_imaps(stack, mechanism, user, token),
            )
            .await
            .unwrap_or_else(|_| {
                panic!("{what}, {}: no answer within {REFUSAL:?}", mechanism.name())
            });
            (what, mechanism, result.err(), started.elapsed())
        })
    });
    for (what, mechanism, err, took) in futures::future::join_all(attempts).await {
        let err = err.unwrap_or_else(|| panic!("a token {what} was taken ({})", mechanism.name()));
        let expected = match mechanism {
            Bearer::XOAuth2 => r#"{"status":"401","schemes":"bearer","scope":"mail"}"#,
            Bearer::OAuthBearer => r#"{"status":"invalid_token"}"#,
        };
        assert!(err.contains(expected), "{what}: {err}");
        assert!(err.contains("Authentication failed"), "{what}: {err}");
        println!("{what}, {}: refused in {took:?}: {err}", mechanism.name());
    }
    // The reasons are in Dovecot's log only (auth_verbose).
    let log = std::fs::read_to_string(stack.dir.join("dovecot.log")).expect("dovecot.log");
    for reason in [
        "Token has expired",
        "Incorrect JWT signature",
        "is not allowed",
        "Cannot find 'typ' field",
    ] {
        assert!(log.contains(reason), "{reason:?} in dovecot.log");
    }
}

/// Dovecot's trap: a refused token gets a continuation carrying JSON, and
/// the tagged NO only after the client answers it. A client that just
/// waits for NO waits until some timeout of its own.
#[tokio::test]
async fn imap_holds_back_the_no_until_the_error_challenge_is_answered() {
    let stack = MailStack::shared();
    let expired = stack.oauth().mint(json!({ "lifetime": -60 })).await;
    tokio::join!(
        imap_refusal(stack, Bearer::XOAuth2, &expired),
        imap_refusal(stack, Bearer::OAuthBearer, &expired),
    );
}

async fn imap_refusal(stack: &MailStack, mechanism: Bearer, token: &str) {
    let name = mechanism.name();
    let mut raw = raw::imaps(stack).await;
    let ir = mechanism.initial_response(&stack.owner.user, token, "localhost", stack.imaps_port);
    // SASL-IR (RFC 4959): the token on the command line, as most clients
    // send it.
    let ir = common::base64(ir.as_bytes());
    raw.send(&format!("a1 AUTHENTICATE {name} {ir}")).await;
    let challenge = raw.line(WAIT).await.expect("a continuation");
    let json = raw::decode_challenge(&challenge, "+ ");
    assert!(json.starts_with("{\"status\":"), "{json}");
    // No NO without an answer...
    assert_eq!(
        raw.line(SILENCE).await,
        None,
        "{name}: Dovecot waits for the client"
    );
    // ...and the NO with one: "" (XOAUTH2) or "AQ==" (OAUTHBEARER).
    raw.send(&common::base64(mechanism.error_ack())).await;
    let answer = raw.line(REFUSAL).await.expect("the tagged answer");
    assert!(
        answer.starts_with("a1 NO [AUTHENTICATIONFAILED]"),
        "{name}: {answer}"
    );
    // The connection is still good for another try.
    raw.send("a2 NOOP").await;
    assert!(raw.line(WAIT).await.expect("NOOP").starts_with("a2 OK"));
}

#[tokio::test]
async fn submission_takes_both_mechanisms_and_answers_535_after_the_error_challenge() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    let good = oauth.mint(json!({})).await;
    let expired = oauth.mint(json!({ "lifetime": -60 })).await;

    let (_, ehlo) = raw::submission(stack).await;
    assert!(
        ehlo.contains("AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER"),
        "{ehlo}"
    );
    tokio::join!(
        smtp_auth(stack, Bearer::XOAuth2, &good, None),
        smtp_auth(stack, Bearer::OAuthBearer, &good, None),
        smtp_auth(
            stack,
            Bearer::XOAuth2,
            &expired,
            Some(Bearer::XOAuth2.error_ack())
        ),
        smtp_auth(
            stack,
            Bearer::OAuthBearer,
            &expired,
            Some(Bearer::OAuthBearer.error_ack())
        ),
        // "*" (RFC 4954's cancel) is no way out either: 501, not the 535.
        smtp_auth(stack, Bearer::XOAuth2, &expired, Some(b"*")),
    );
}

/// `AUTH` with `token` on a fresh submission connection: 235 if `ack` is
/// `None`; else a 334 error challenge, silence, and after `ack` the 535
/// (or the 501 for `*`).
async fn smtp_auth(stack: &MailStack, mechanism: Bearer, token: &str, ack: Option<&[u8]>) {
    let name = mechanism.name();
    let (mut raw, _) = raw::submission(stack).await;
    let ir = mechanism.initial_response(&stack.owner.user, token, "localhost", stack.smtp_port);
    raw.send(&format!("AUTH {name} {}", common::base64(ir.as_bytes())))
        .await;
    let Some(ack) = ack else {
        let reply = raw.reply(REFUSAL).await.expect("AUTH reply");
        assert!(reply.starts_with("235"), "{name}: {reply}");
        return;
    };
    let challenge = raw.reply(WAIT).await.expect("a 334");
    let json = raw::decode_challenge(challenge.trim_end(), "334 ");
    assert!(json.starts_with("{\"status\":"), "{json}");
    assert_eq!(
        raw.reply(SILENCE).await,
        None,
        "{name}: no 535 before the answer"
    );
    let (line, want) = if ack == b"*" {
        ("*".to_string(), "501 5.7.0")
    } else {
        (common::base64(ack), "535 5.7.8")
    };
    raw.send(&line).await;
    let reply = raw.reply(REFUSAL).await.expect("the final reply");
    assert!(reply.starts_with(want), "{name}, {line:?}: {reply}");
}

/// What Handoff will see from lettre when a token is refused: lettre does
/// not answer the challenge and ends at once with a client error (no 535,
/// no hang).
#[tokio::test]
async fn lettre_reports_a_refused_xoauth2_token_as_a_client_error() {
    let stack = MailStack::shared();
    let expired = stack.oauth().mint(json!({ "lifetime": -60 })).await;
    let transport = smtp::transport_xoauth2(stack, &stack.owner.user, &expired);
    let msg = smtp::message(&stack.owner.user, &stack.contractor.user, "x", "x");
    let err = tokio::time::timeout(REFUSAL, transport.send(msg))
        .await
        .expect("lettre gives up at once")
        .expect_err("refused");
    assert!(
        !err.is_permanent() && !err.is_transient(),
        "neither 5xx nor 4xx: {err:?}"
    );
    assert!(
        err.to_string().contains("does not expect a challenge"),
        "{err}"
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_gets_invalid_grant() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    let client = oauth.new_client(json!({})).await;
    let first = oauth
        .sign_in(&client, &stack.owner.user)
        .await
        .expect("signed in");
    let refresh_token = first.refresh_token.clone().expect("a refresh token");

    // A refresh gives a new access token that works; the refresh token
    // stays (no rotation by default, as Google).
    let second = oauth
        .refresh(&client, &refresh_token)
        .await
        .expect("refreshed");
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.refresh_token, None);
    imap::authenticate_imaps(
        stack,
        Bearer::XOAuth2,
        &stack.owner.user,
        &second.access_token,
    )
    .await
    .expect("the refreshed token logs in");

    // The owner removes the app's access.
    assert_eq!(oauth.revoke_access(&client, &stack.owner.user).await, 1);
    let err = oauth
        .refresh(&client, &refresh_token)
        .await
        .expect_err("revoked");
    assert_eq!(
        (err.status, err.error.as_str()),
        (400, "invalid_grant"),
        "{err}"
    );
    assert_eq!(err.description, "Token has been expired or revoked.");
    // An access token already issued stays good until its exp: Dovecot
    // validates it locally and never asks the server.
    imap::authenticate_imaps(
        stack,
        Bearer::XOAuth2,
        &stack.owner.user,
        &second.access_token,
    )
    .await
    .expect("still good until exp");

    let record = oauth.token_requests(&client).await;
    let grants: Vec<_> = record
        .iter()
        .map(|r| (r.grant_type.as_str(), r.status, r.error.as_deref()))
        .collect();
    assert_eq!(
        grants,
        [
            ("authorization_code", Some(200), None),
            ("refresh_token", Some(200), None),
            ("refresh_token", Some(400), Some("invalid_grant")),
        ]
    );
    assert!(
        record.windows(2).all(|w| w[0].at <= w[1].at),
        "in arrival order"
    );
    assert!(record[1].expires_at.expect("exp") > record[1].at);
}

#[tokio::test]
async fn lifetime_and_rotation_are_set_per_client() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    let client = oauth
        .new_client(json!({ "access_token_lifetime": 5, "rotate_refresh_tokens": true }))
        .await;
    let first = oauth
        .sign_in(&client, &stack.owner.user)
        .await
        .expect("signed in");
    assert_eq!(first.expires_in, 5);
    let claims = jwt_parts(&first.access_token).1;
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        5
    );

    // Rotation (as Microsoft): each refresh answers a new refresh token and
    // the used one is dead.
    let rt1 = first.refresh_token.expect("rt1");
    let second = oauth.refresh(&client, &rt1).await.expect("refreshed");
    let rt2 = second.refresh_token.expect("a rotated refresh token");
    assert_ne!(rt1, rt2);
    let err = oauth
        .refresh(&client, &rt1)
        .await
        .expect_err("rt1 is used up");
    assert_eq!(err.error, "invalid_grant", "{err}");
    let third = oauth.refresh(&client, &rt2).await.expect("rt2 works");

    // A change applies from the next token on.
    oauth
        .configure(&client, json!({ "access_token_lifetime": 60 }))
        .await;
    let rt3 = third.refresh_token.expect("rt3");
    let fourth = oauth.refresh(&client, &rt3).await.expect("refreshed");
    assert_eq!(fourth.expires_in, 60);
}

#[tokio::test]
async fn the_token_endpoint_fails_as_the_test_says() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    let client = oauth.new_client(json!({})).await;
    let rt = oauth
        .sign_in(&client, &stack.owner.user)
        .await
        .expect("signed in")
        .refresh_token
        .expect("rt");

    // Two 500s (an HTML page, not OAuth JSON), then service again.
    oauth
        .fault(Some(&client), Fault::status(500).times(2))
        .await;
    for _ in 0..2 {
        let err = oauth.refresh(&client, &rt).await.expect_err("500");
        assert_eq!((err.status, err.error.as_str()), (500, "http_500"), "{err}");
        assert!(err.description.contains("<html>"), "{err}");
    }
    oauth
        .refresh(&client, &rt)
        .await
        .expect("served after two 500s");

    // A hang: the client's own timeout is all that ends the wait.
    oauth.fault(Some(&client), Fault::hang()).await;
    let err = oauth
        .refresh_within(&client, &rt, Duration::from_millis(300))
        .await
        .expect_err("hung");
    assert_eq!(err.error, "timeout", "{err}");
    oauth.clear_fault(Some(&client)).await;
    oauth
        .refresh(&client, &rt)
        .await
        .expect("served once cleared");

    // A dropped connection; a 503 for a while.
    oauth.fault(Some(&client), Fault::close().times(1)).await;
    let err = oauth.refresh(&client, &rt).await.expect_err("dropped");
    assert_eq!((err.status, err.error.as_str()), (0, "no_answer"), "{err}");
    oauth
        .fault(
            Some(&client),
            Fault::status(503)
                .retry_after(7)
                .lasting(Duration::from_secs(60)),
        )
        .await;
    let err = oauth.refresh(&client, &rt).await.expect_err("503");
    assert_eq!(err.status, 503, "{err}");
    oauth.clear_fault(Some(&client)).await;

    // Faults are per client: the stack's own client was never touched.
    oauth
        .sign_in(&oauth.client, &stack.owner.user)
        .await
        .expect("other clients are served");

    let faults: Vec<_> = oauth
        .settled_token_requests(&client, WAIT)
        .await
        .iter()
        .map(|r| (r.fault.clone(), r.status))
        .collect();
    let f = |s: &str| Some(s.to_string());
    assert_eq!(
        faults,
        [
            (None, Some(200)), // the code exchange
            (f("500"), Some(500)),
            (f("500"), Some(500)),
            (None, Some(200)),
            (f("hang"), Some(200)), // served after the clear, to a client long gone
            (None, Some(200)),
            (f("close"), Some(0)),
            (f("503"), Some(503)),
        ]
    );
}

#[tokio::test]
async fn the_authorization_endpoint_answers_as_a_provider_does() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    let client = oauth.new_client(json!({})).await;
    let owner = &stack.owner.user;

    // The person refuses; or is no user of this mail service.
    let denying = oauth.new_client(json!({ "authorize": "deny" })).await;
    let err = oauth.authorize(&denying, owner).await.expect_err("denied");
    assert_eq!(
        (err.status, err.error.as_str()),
        (302, "access_denied"),
        "{err}"
    );
    let err = oauth
        .authorize(&client, "nobody@example.test")
        .await
        .expect_err("no such user");
    assert_eq!(err.error, "access_denied", "{err}");

    // Without PKCE: an error redirect (not followed here).
    let url = format!(
        "{}?{}",
        oauth.auth_url,
        http::form_encode(&[
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("scope", &oauth.scope),
            ("state", "s1"),
        ])
    );
    let resp = http::get(&url).await.expect("GET /authorize");
    assert_eq!(resp.status, 302);
    let location = resp.header("location").expect("Location");
    assert!(location.starts_with("http://127.0.0.1:9/cb?"), "{location}");
    assert_eq!(
        http::query_param(location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(http::query_param(location, "state").as_deref(), Some("s1"));

    // A redirect that is not loopback http, or an unknown client: an error
    // page, never a redirect (RFC 6749 section 4.1.2.1).
    let (_, challenge) = oauth::pkce();
    let req = oauth::AuthorizationRequest {
        state: "s2",
        ..Default::default()
    };
    for (who, uri) in [
        (&client, "https://app.example.test/cb"),
        (&client, "http://localhost:9/cb"),
    ] {
        let resp = http::get(&oauth.authorization_url(who, uri, &challenge, &req))
            .await
            .expect("GET");
        assert_eq!(resp.status, 400, "{uri}");
        assert!(resp.header("location").is_none());
    }
    let stranger = oauth::Client {
        id: "no-such-client".into(),
        secret: String::new(),
    };
    let resp =
        http::get(&oauth.authorization_url(&stranger, "http://127.0.0.1:9/cb", &challenge, &req))
            .await
            .expect("GET");
    assert_eq!(resp.status, 400);

    // The code exchange checks the verifier, the redirect, the client...
    let (code, verifier, redirect_uri) = oauth.authorize(&client, owner).await.expect("a code");
    let (other_verifier, _) = oauth::pkce();
    let refused = [
        (
            "a wrong verifier",
            oauth
                .exchange_code(&client, &code, &other_verifier, &redirect_uri)
                .await,
        ),
        (
            "another redirect",
            oauth
                .exchange_code(&client, &code, &verifier, "http://127.0.0.1:9/x")
                .await,
        ),
        (
            "another client",
            oauth
                .exchange_code(&oauth.client, &code, &verifier, &redirect_uri)
                .await,
        ),
    ];
    for (what, result) in refused {
        let err = result.expect_err(what);
        assert_eq!(
            (err.status, err.error.as_str()),
            (400, "invalid_grant"),
            "{what}: {err}"
        );
    }
    let wrong_secret = oauth::Client {
        id: client.id.clone(),
        secret: "guess".into(),
    };
    let err = oauth
        .exchange_code(&wrong_secret, &code, &verifier, &redirect_uri)
        .await
        .expect_err("wrong secret");
    assert_eq!(
        (err.status, err.error.as_str()),
        (401, "invalid_client"),
        "{err}"
    );
    // ...and a code is good once; a second use revokes what the first gave.
    let tokens = oauth
        .exchange_code(&client, &code, &verifier, &redirect_uri)
        .await
        .expect("tokens");
    let err = oauth
        .exchange_code(&client, &code, &verifier, &redirect_uri)
        .await
        .expect_err("used twice");
    assert_eq!(err.error, "invalid_grant", "{err}");
    let err = oauth
        .refresh(&client, &tokens.refresh_token.expect("rt"))
        .await
        .expect_err("revoked with its code");
    assert_eq!(err.error, "invalid_grant", "{err}");
}

#[tokio::test]
async fn the_servers_log_names_each_request_but_no_secret() {
    let stack = MailStack::shared();
    let oauth = stack.oauth();
    let client = oauth.new_client(json!({})).await;
    let (code, verifier, redirect_uri) = oauth
        .authorize(&client, &stack.owner.user)
        .await
        .expect("a code");
    let tokens = oauth
        .exchange_code(&client, &code, &verifier, &redirect_uri)
        .await
        .expect("tokens");
    let rt = tokens.refresh_token.clone().expect("rt");
    oauth.refresh(&client, &rt).await.expect("refreshed");
    let log = std::fs::read_to_string(&oauth.log).expect("the OAuth log");
    assert!(
        log.contains(&format!(
            "POST /token 200 client={} grant=authorization_code",
            client.id
        )),
        "{log}"
    );
    assert!(log.contains(&format!(
        "POST /token 200 client={} grant=refresh_token",
        client.id
    )));
    assert!(log.contains(&format!("GET /authorize 302 client={}", client.id)));
    for secret in [&code, &verifier, &tokens.access_token, &rt, &client.secret] {
        assert!(!log.contains(secret.as_str()), "a secret in the log");
    }
}

#[tokio::test]
async fn the_authorization_server_stops_and_comes_back_and_goes_with_the_stack() {
    let stack = MailStack::start();
    let started = Instant::now();
    let oauth = stack.oauth().clone();
    println!(
        "mailstack start-oauth: {:?} (stack start {:?})",
        started.elapsed(),
        stack.start_time
    );
    let tokens = oauth
        .sign_in(&oauth.client, &stack.owner.user)
        .await
        .expect("signed in");

    // A provider outage: no token endpoint, but Dovecot still takes an
    // issued token (it never asks the server).
    stack.stop_oauth();
    let err = oauth
        .refresh(&oauth.client, tokens.refresh_token.as_deref().expect("rt"))
        .await
        .expect_err("down");
    assert_eq!(err.error, "no_answer", "{err}");
    imap::authenticate_imaps(
        &stack,
        Bearer::XOAuth2,
        &stack.owner.user,
        &tokens.access_token,
    )
    .await
    .expect("an issued token logs in with the server down");

    // Back on the same port, with a fresh memory but the same key.
    stack.start_oauth();
    let err = oauth
        .refresh(&oauth.client, tokens.refresh_token.as_deref().expect("rt"))
        .await
        .expect_err("forgotten");
    assert_eq!(err.error, "invalid_grant", "{err}");
    let again = oauth
        .sign_in(&oauth.client, &stack.owner.user)
        .await
        .expect("signed in again");
    imap::authenticate_starttls(
        &stack,
        Bearer::OAuthBearer,
        &stack.owner.user,
        &again.access_token,
    )
    .await
    .expect("a new token logs in");

    // `stop` (here: the drop) ends the server with the rest.
    let env = std::fs::read_to_string(stack.dir.join("env")).expect("env");
    let pid = env
        .lines()
        .find_map(|l| l.strip_prefix("OAUTH_PID="))
        .expect("OAUTH_PID")
        .to_string();
    assert!(!pid.is_empty());
    let port = oauth.base_url.rsplit(':').next().unwrap().to_string();
    drop(stack);
    // Gone, or a zombie until init reaps it.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(") ").next().and_then(|r| r.split(' ').next());
    assert!(
        matches!(state, None | Some("Z") | Some("X")),
        "the server is gone: {stat}"
    );
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "its port is closed"
    );
}
