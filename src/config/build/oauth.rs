//! `[oauth]` (and `[imap.oauth]` / `[smtp.oauth]`): the app registered at
//! the provider and where the sign-in is kept, for `auth = "oauth2"`.
//!
//! One `[oauth]` section serves both `[imap]` and `[smtp]` (one sign-in, one
//! token file). Two different accounts each take a table of their own inside
//! their section, with the same keys; it replaces `[oauth]` for that account.
//! Google and Microsoft need only `client_id` (and Google a client secret);
//! `custom` names its endpoints and scopes.

use super::presets::{self, Endpoints};
use super::*;

pub(super) const OAUTH_KEYS: &[&str] = &[
    "provider",
    "client_id",
    "client_secret_file",
    "token_file",
    "tenant",
    "auth_url",
    "token_url",
    "device_url",
    "scopes",
];

/// What the reader of one `[oauth]` table needs to know of its surroundings.
pub(super) struct OAuthContext<'a> {
    pub base: &'a Path,
    /// The directory of the store: the token file's default home.
    pub state_dir: &'a Path,
    /// `$CREDENTIALS_DIRECTORY`, if systemd set it.
    pub credentials: Option<&'a Path>,
    /// The provider `[mail] provider` implies, if any.
    pub implied: Option<OAuthProvider>,
    /// The default file name in `state_dir` (`oauth-token.json`, or one per
    /// account for a table of its own).
    pub default_file: &'a str,
}

/// Reads one `[oauth]` table. `None` when something in it was wrong (each
/// problem reported with its span).
pub(super) fn read_oauth(
    d: &mut Diagnostics<'_>,
    mut s: Section<'_, '_>,
    cx: &OAuthContext<'_>,
) -> Option<OAuthSettings> {
    let name = s.name.clone();
    let provider_v = s.str(d, "provider");
    let provider = match (&provider_v, cx.implied) {
        (None, Some(p)) => Some(p),
        (None, None) => {
            d.error(
                s.span.clone(),
                format!("{name} is missing `provider`; expected provider = \"google\", \"microsoft\" or \"custom\""),
            );
            None
        }
        (Some(v), _) => choice(
            d,
            Some(v),
            "provider",
            &name,
            &[
                ("google", OAuthProvider::Google),
                ("microsoft", OAuthProvider::Microsoft),
                ("custom", OAuthProvider::Custom),
            ],
            OAuthProvider::Custom,
        ),
    };
    let client_id = s
        .req_str(
            d,
            "client_id",
            "client_id = \"the app's client id, from the provider's console\"",
        )
        .and_then(|v| {
            let id = v.get_ref().trim();
            if id.is_empty() || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
                d.error(
                    v.span(),
                    format!("`client_id` in {name} is \"{}\"; expected the client id as the provider's console shows it (one word)", v.get_ref().escape_debug()),
                );
                None
            } else {
                Some(id.to_string())
            }
        });
    let client_secret_file = s.str(d, "client_secret_file").map(|v| {
        let p = resolve(cx.base, v.get_ref());
        if let Err(e) = std::fs::File::open(&p) {
            d.error(
                v.span(),
                format!("the client secret file {} for {name} cannot be read ({e}); expected a readable file holding the client secret", p.display()),
            );
        }
        p
    });
    let tenant_v = s.str(d, "tenant");
    let tenant = match &tenant_v {
        None => Some("common".to_string()),
        Some(v) => {
            let t = v.get_ref().trim();
            if provider.is_some_and(|p| p != OAuthProvider::Microsoft) {
                d.error(
                    v.span(),
                    format!("`tenant` in {name} is for provider = \"microsoft\" only; expected no `tenant` here"),
                );
                None
            } else if t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            {
                d.error(
                    v.span(),
                    format!("`tenant` in {name} is \"{}\"; expected \"common\", \"organizations\", \"consumers\", or the tenant's id or domain", v.get_ref().escape_debug()),
                );
                None
            } else {
                Some(t.to_string())
            }
        }
    };
    let mut url = |key: &'static str| {
        s.str(d, key).map(|v| {
            let ok = endpoint(v.get_ref());
            if let Err(why) = &ok {
                d.error(v.span(), format!("`{key}` in {name}: {why}"));
            }
            (ok.ok(), v.span())
        })
    };
    let auth_url = url("auth_url");
    let token_url = url("token_url");
    let device_url = url("device_url");
    let scopes_v = s.str_array(
        d,
        "scopes",
        "scope strings such as \"https://mail.google.com/\"",
    );
    let token_file = match s.str(d, "token_file") {
        Some(v) => resolve(cx.base, v.get_ref()),
        None => cx.state_dir.join(cx.default_file),
    };
    let span = s.span.clone();
    s.finish(d);

    let provider = provider?;
    let defaults: Option<Endpoints> = match provider {
        OAuthProvider::Google => Some(presets::google()),
        OAuthProvider::Microsoft => tenant.as_deref().map(presets::microsoft),
        OAuthProvider::Custom => None,
    };
    let required = |d: &mut Diagnostics<'_>, key: &str, got: Option<(Option<String>, Range)>| {
        match got {
            Some((v, _)) => v,
            None => {
                d.error(
                    span.clone(),
                    format!("{name} with provider = \"custom\" is missing `{key}`; expected {key} = \"https://…\" from the provider's documentation"),
                );
                None
            }
        }
    };
    let (auth_url, token_url, device_url, scopes) = match &defaults {
        Some(e) => (
            auth_url.map_or(Some(e.auth_url.clone()), |(v, _)| v),
            token_url.map_or(Some(e.token_url.clone()), |(v, _)| v),
            device_url.map_or(Some(e.device_url.clone()), |(v, _)| v.map(Some)),
            scopes_v.map_or(Some(e.scopes.clone()), |v| scope_list(d, &name, &span, v)),
        ),
        None => (
            required(d, "auth_url", auth_url),
            required(d, "token_url", token_url),
            device_url.map_or(Some(None), |(v, _)| v.map(Some)),
            match scopes_v {
                Some(v) => scope_list(d, &name, &span, v),
                None => {
                    d.error(
                        span.clone(),
                        format!("{name} with provider = \"custom\" is missing `scopes`; expected scopes = [\"…\"], the scopes the provider's IMAP and SMTP need"),
                    );
                    None
                }
            },
        ),
    };
    let credential = cx.credentials.map(|c| c.join("oauth"));
    Some(OAuthSettings {
        provider,
        client_id: client_id?,
        client_secret_file,
        auth_url: auth_url?,
        token_url: token_url?,
        device_url: device_url?,
        scopes: scopes?,
        token_file,
        credential,
    })
}

type Range = std::ops::Range<usize>;

fn scope_list(
    d: &mut Diagnostics<'_>,
    name: &str,
    span: &Range,
    items: Vec<Sp<&str>>,
) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for v in &items {
        let t = v.get_ref().trim();
        if t.is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            d.error(
                v.span(),
                format!(
                    "a scope in {name} is \"{}\"; expected one scope per string, without spaces",
                    v.get_ref().escape_debug()
                ),
            );
            return None;
        }
        out.push(t.to_string());
    }
    if out.is_empty() {
        d.error(
            span.clone(),
            format!(
                "`scopes` in {name} is empty; expected the scopes the provider's IMAP and SMTP need"
            ),
        );
        return None;
    }
    Some(out)
}

/// An endpoint URL: https, or http to this machine only (a provider on
/// loopback, as the tests run one).
fn endpoint(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| {
        format!(
            "\"{}\" is not a URL ({e}); expected https://…",
            text.escape_debug()
        )
    })?;
    let loopback = url.host_str().is_some_and(super::mail::is_loopback);
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if loopback => Ok(url.to_string()),
        _ => Err(format!(
            "\"{}\" would carry the sign-in in clear text; expected an https:// URL (http only to 127.0.0.1 or localhost)",
            text.escape_debug()
        )),
    }
}

/// Warns when an account that signs in with OAuth 2.0 has no sign-in yet,
/// saying what to run.
pub(super) fn warn_if_not_signed_in(
    d: &mut Diagnostics<'_>,
    span: Range,
    section: &str,
    oauth: &OAuthSettings,
) {
    let has_credential = oauth.credential.as_ref().is_some_and(|c| c.is_file());
    if oauth.token_file.is_file() || has_credential {
        return;
    }
    let config = d.file().display().to_string();
    d.warn(
        span,
        format!(
            "{section} signs in with OAuth 2.0 but no sign-in is stored yet ({} does not exist); run `handoff login --config {config}` from your terminal",
            oauth.token_file.display()
        ),
    );
}
