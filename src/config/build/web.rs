//! `[web]`: the owner's read-only page and calendar feed, served by the
//! daemon when the section is present (off without it).

use super::*;

pub(super) const WEB_KEYS: &[&str] = &["listen", "token_file"];

/// Where the page listens when `listen` is not given.
const DEFAULT_LISTEN: &str = "127.0.0.1:8025";

/// The section, if present. The outer `Option` is "had errors", the inner
/// one "absent".
pub(super) fn read_web(
    d: &mut Diagnostics<'_>,
    s: Option<Section<'_, '_>>,
    base: &Path,
    credentials: Option<&Path>,
) -> Option<Option<WebSettings>> {
    let Some(mut s) = s else {
        return Some(None);
    };
    let listen_v = s.str(d, "listen");
    let listen = match &listen_v {
        None => DEFAULT_LISTEN.parse().ok(),
        Some(v) => match v.get_ref().trim().parse::<std::net::SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                d.error(
                    v.span(),
                    format!(
                        "`listen` in [web] is \"{}\"; expected an IP address and port such as \"{DEFAULT_LISTEN}\"",
                        v.get_ref().escape_debug()
                    ),
                );
                None
            }
        },
    };
    if let (Some(a), Some(v)) = (listen, &listen_v)
        && !a.ip().is_loopback()
    {
        d.warn(
            v.span(),
            format!(
                "`listen` in [web] is {a}, not a loopback address: the page and its token cross the network unencrypted; expected 127.0.0.1 (reach it over an SSH forward, see the README) or a TLS proxy in front"
            ),
        );
    }
    let token_v = s.str(d, "token_file");
    let token_file = match &token_v {
        Some(v) => Some(resolve(base, v.get_ref())),
        None => credentials.map(|c| c.join("web")),
    };
    let token_file = match token_file {
        None => {
            d.error(
                s.span.clone(),
                "[web] has no `token_file` and there is no systemd credential `web` ($CREDENTIALS_DIRECTORY is not set); expected token_file = \"/path/to/file\" holding a random token (e.g. made with `openssl rand -hex 24`)",
            );
            None
        }
        Some(p) => Some(p),
    };
    let section = s.span.clone();
    s.finish(d);
    let web = WebSettings {
        listen: listen?,
        token_file: token_file?,
    };
    if let Err(e) = web.read_token() {
        d.error(
            token_v.as_ref().map_or(section, |v| v.span()),
            format!("{e}; expected a file holding one random token, e.g. made with `openssl rand -hex 24 > FILE`"),
        );
        return None;
    }
    Some(Some(web))
}
