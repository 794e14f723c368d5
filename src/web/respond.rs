//! The answers: every route's response with the headers all of them carry,
//! and the feed's validators (ETag, Last-Modified) with conditional GET
//! (RFC 9110 §13: If-None-Match first, If-Modified-Since only without it).

use super::routes::{self, Asked, Route};
use super::{Config, Shared, page, token};
use crate::store::Store;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// No script anywhere, the stylesheet from here only, nothing framed, no
/// form posted anywhere.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The body every wrong token, unknown page and unknown id gets.
const NOT_FOUND: &str = "not found\n";

const STYLE: &str = include_str!("templates/style.css");

/// The feed's validators: the ETag of the feed last served and when it
/// first had that content. Kept in memory: after a restart the ETag (a
/// hash of the content) is the same, so calendar apps still get 304s, and
/// Last-Modified starts again at the first fetch.
#[derive(Debug, Clone, Default)]
pub struct FeedStamp(Arc<Mutex<Option<Stamp>>>);

/// An ETag and the time the feed first had it.
type Stamp = (String, DateTime<Utc>);

impl FeedStamp {
    /// The time the feed has had `etag` since (now, if it just changed).
    fn since(&self, etag: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some((e, t)) if e == etag => *t,
            _ => {
                let t = now.with_nanosecond_zero();
                *slot = Some((etag.to_string(), t));
                t
            }
        }
    }
}

trait WholeSeconds {
    fn with_nanosecond_zero(self) -> Self;
}

impl WholeSeconds for DateTime<Utc> {
    fn with_nanosecond_zero(self) -> Self {
        DateTime::from_timestamp(self.timestamp(), 0).unwrap_or(self)
    }
}

/// The answer to one request. Never panics; a store that cannot be read is
/// a 500 with a plain line (and a log line), never the error's details.
pub fn answer<C: Config, B>(shared: &Shared<C>, req: &Request<B>) -> Response<Full<Bytes>> {
    let token = shared.token();
    let asked = Asked {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        cookie: req.headers().get(header::COOKIE).map(HeaderValue::as_bytes),
    };
    let (route, set_cookie) = routes::route(&asked, token.expose().as_bytes());
    let current = shared.config.borrow().clone();
    let model = current.model();
    let now = shared.clock.now();
    let mut response = match route {
        Route::MethodNotAllowed => {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        }
        Route::NotFound => plain(StatusCode::NOT_FOUND, NOT_FOUND),
        Route::Style => body(StatusCode::OK, "text/css; charset=utf-8", STYLE.into()),
        Route::Feed => feed(shared, model, now, req.headers()),
        Route::Page { engagement } => {
            let host = host(req.headers(), model);
            let feed_url = format!("webcal://{host}/feed/{}.ics", token.expose());
            html(page::overview(model, now, engagement.as_deref(), &feed_url))
        }
        Route::Contractor(id) => html(page::contractor(model, now, &id)),
    };
    if set_cookie
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000",
            token::COOKIE,
            token.expose()
        ))
    {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

fn html(page: Result<Option<String>, page::PageError>) -> Response<Full<Bytes>> {
    match page {
        Ok(Some(text)) => body(StatusCode::OK, "text/html; charset=utf-8", text.into()),
        Ok(None) => plain(StatusCode::NOT_FOUND, NOT_FOUND),
        Err(e) => {
            tracing::error!(error = %e, "web: cannot build the page");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page cannot be built right now; see the daemon's log\n",
            )
        }
    }
}

/// The host the browser used, if it reads as a host (for the feed's
/// `webcal://` link); else the configured address.
fn host(headers: &HeaderMap, model: &crate::model::Model) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(str::to_string)
        .or_else(|| model.web.as_ref().map(|w| w.listen.to_string()))
        .unwrap_or_default()
}

/// `handoff ics`'s feed, with validators.
fn feed<C: Config>(
    shared: &Shared<C>,
    model: &crate::model::Model,
    now: DateTime<Utc>,
    headers: &HeaderMap,
) -> Response<Full<Bytes>> {
    // Read only: the pass keeps the store in line with the config, so the
    // feed needs no reconciliation here (`handoff ics` does its own).
    let read = Store::open(&model.mail.state)
        .and_then(|s| Ok((s.engagements()?, crate::invite::kickoffs_sent(model, &s)?)));
    let (records, kickoffs) = match read {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "web: cannot read the store for the feed");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the feed cannot be built right now; see the daemon's log\n",
            );
        }
    };
    let text = crate::schedule::feed(model, None, &records, &kickoffs, now);
    let etag = etag(&text);
    let since = shared.feed.since(&etag, now);
    let last_modified = http_date(since);
    let fresh = match headers.get(header::IF_NONE_MATCH) {
        Some(v) => v
            .to_str()
            .map(|v| {
                v.split(',')
                    .any(|t| t.trim() == "*" || weak_eq(t.trim(), &etag))
            })
            .unwrap_or(false),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|ims| since.timestamp() <= ims.timestamp()),
    };
    let mut r = if fresh {
        let mut r = body(
            StatusCode::NOT_MODIFIED,
            "text/calendar; charset=utf-8",
            Bytes::new(),
        );
        r.headers_mut().remove(header::CONTENT_TYPE);
        r
    } else {
        body(StatusCode::OK, "text/calendar; charset=utf-8", text.into())
    };
    for (name, value) in [(header::ETAG, etag), (header::LAST_MODIFIED, last_modified)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    r
}

/// The weak comparison If-None-Match uses (RFC 9110 §8.8.3.2): `W/` aside,
/// the opaque tags are equal.
fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

/// A strong ETag over what the feed says: its DTSTAMP lines (when it was
/// written, which changes on every fetch) are left out. Std's SipHash with
/// fixed keys: stable across restarts of one build; after an upgrade a
/// changed hash costs one full fetch.
pub fn etag(ics: &str) -> String {
    let mut h = std::hash::DefaultHasher::new();
    for line in ics.split("\r\n").filter(|l| !l.starts_with("DTSTAMP:")) {
        line.hash(&mut h);
    }
    format!("\"{:016x}\"", h.finish())
}

/// An IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    body(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(text.as_bytes()),
    )
}

/// A response with the headers every answer carries.
fn body(status: StatusCode, content_type: &'static str, bytes: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(bytes));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_ignores_when_the_feed_was_written_but_not_what_it_says() {
        let a = "BEGIN:VEVENT\r\nDTSTAMP:20261125T150000Z\r\nSUMMARY:Due\r\n";
        let b = "BEGIN:VEVENT\r\nDTSTAMP:20261126T090000Z\r\nSUMMARY:Due\r\n";
        let c = "BEGIN:VEVENT\r\nDTSTAMP:20261125T150000Z\r\nSUMMARY:Due!\r\n";
        assert_eq!(etag(a), etag(b));
        assert_ne!(etag(a), etag(c));
        assert!(etag(a).starts_with('"') && etag(a).ends_with('"'));
    }

    #[test]
    fn http_dates_read_back() {
        let t = DateTime::parse_from_rfc3339("2026-11-25T15:00:07Z")
            .unwrap()
            .to_utc();
        let s = http_date(t);
        assert_eq!(s, "Wed, 25 Nov 2026 15:00:07 GMT");
        assert_eq!(DateTime::parse_from_rfc2822(&s).unwrap().to_utc(), t);
        assert!(weak_eq("W/\"ab\"", "\"ab\""));
    }

    #[test]
    fn the_stamp_moves_only_when_the_content_does() {
        let s = FeedStamp::default();
        let t = |x: &str| DateTime::parse_from_rfc3339(x).unwrap().to_utc();
        assert_eq!(
            s.since("\"a\"", t("2026-11-25T15:00:00.5Z")),
            t("2026-11-25T15:00:00Z")
        );
        assert_eq!(
            s.since("\"a\"", t("2026-11-26T15:00:00Z")),
            t("2026-11-25T15:00:00Z")
        );
        assert_eq!(
            s.since("\"b\"", t("2026-11-27T15:00:00Z")),
            t("2026-11-27T15:00:00Z")
        );
    }
}
