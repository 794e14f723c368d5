//! Which page a request asks for, decided before anything is read: the
//! method, the path and the token, and nothing else.
//!
//! Pure and total: any method, path, query and cookie bytes give a
//! [`Route`], never a panic (property-tested below). The token is checked
//! the same way on every request: the feed path's, the cookie's and the
//! query's candidates are all compared, every time, before the path is
//! looked at, so a wrong token meets the same `NotFound`, after the same
//! work, whatever it asked for.

use super::token;

/// What to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The page, narrowed to one engagement if asked (`/?engagement=ID`).
    Page { engagement: Option<String> },
    /// One contractor's page (`/contractor/ID`).
    Contractor(String),
    /// The page's stylesheet (`/style.css`).
    Style,
    /// The owner's calendar feed (`/feed/<token>.ics`).
    Feed,
    /// No such page, or no right token: the same answer either way.
    NotFound,
    /// Anything but GET or HEAD: the server changes nothing.
    MethodNotAllowed,
}

/// What a request says about itself, as far as routing goes.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The `Cookie` header's bytes, if any (not necessarily UTF-8).
    pub cookie: Option<&'a [u8]>,
}

/// The route, and whether the query carried the right token (the answer
/// then sets the cookie, so the links inside the page need no token).
pub fn route(asked: &Asked<'_>, expected: &[u8]) -> (Route, bool) {
    if asked.method != "GET" && asked.method != "HEAD" {
        return (Route::MethodNotAllowed, false);
    }
    let in_path = asked
        .path
        .strip_prefix("/feed/")
        .and_then(|rest| rest.strip_suffix(".ics"))
        .unwrap_or("");
    let in_cookie = asked
        .cookie
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(token::from_cookie)
        .unwrap_or("");
    let in_query = asked
        .query
        .and_then(|q| token::query_value(q, "token"))
        .unwrap_or_default();
    // All three, always: the work does not depend on which one is right.
    let path_ok = token::matches(expected, in_path.as_bytes());
    let cookie_ok = token::matches(expected, in_cookie.as_bytes());
    let query_ok = token::matches(expected, in_query.as_bytes());
    if asked.path.starts_with("/feed/") {
        return (
            if path_ok {
                Route::Feed
            } else {
                Route::NotFound
            },
            false,
        );
    }
    if !(cookie_ok || query_ok) {
        return (Route::NotFound, false);
    }
    let route = match asked.path {
        "/" => Route::Page {
            engagement: asked
                .query
                .and_then(|q| token::query_value(q, "engagement"))
                .filter(|id| !id.is_empty()),
        },
        "/style.css" => Route::Style,
        p => match p
            .strip_prefix("/contractor/")
            .and_then(token::percent_decode)
        {
            Some(id) if !id.is_empty() && !id.contains('/') => Route::Contractor(id),
            _ => Route::NotFound,
        },
    };
    (route, query_ok && !cookie_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn get(path: &str, query: Option<&str>, cookie: Option<&str>) -> (Route, bool) {
        route(
            &Asked {
                method: "GET",
                path,
                query,
                cookie: cookie.map(str::as_bytes),
            },
            TOKEN.as_bytes(),
        )
    }

    #[test]
    fn the_right_token_opens_each_page() {
        let q = format!("token={TOKEN}");
        let c = format!("handoff_token={TOKEN}");
        assert_eq!(
            get("/", Some(&q), None),
            (Route::Page { engagement: None }, true)
        );
        assert_eq!(
            get("/", None, Some(&c)),
            (Route::Page { engagement: None }, false)
        );
        assert_eq!(
            get("/", Some("engagement=site"), Some(&c)).0,
            Route::Page {
                engagement: Some("site".into())
            }
        );
        assert_eq!(
            get("/contractor/dana", None, Some(&c)).0,
            Route::Contractor("dana".into())
        );
        assert_eq!(get("/style.css", None, Some(&c)).0, Route::Style);
        assert_eq!(
            get(&format!("/feed/{TOKEN}.ics"), None, None).0,
            Route::Feed
        );
        assert_eq!(get("/nope", None, Some(&c)).0, Route::NotFound);
        assert_eq!(get("/contractor/", None, Some(&c)).0, Route::NotFound);
        assert_eq!(get("/contractor/a%2Fb", None, Some(&c)).0, Route::NotFound);
    }

    #[test]
    fn a_wrong_or_missing_token_is_not_found_on_every_route() {
        let wrong = "0123456789abcdef0123456789abcdeX";
        for path in [
            "/",
            "/style.css",
            "/contractor/dana",
            "/nope",
            "/feed/x.ics",
        ] {
            for (q, c) in [
                (None, None),
                (Some(format!("token={wrong}")), None),
                (None, Some(format!("handoff_token={wrong}"))),
                (Some(format!("token={}", &TOKEN[..31])), None),
            ] {
                assert_eq!(
                    get(path, q.as_deref(), c.as_deref()),
                    (Route::NotFound, false),
                    "{path}"
                );
            }
        }
        // The page's token does not open the feed under another name, nor
        // the feed's path the page.
        assert_eq!(
            get(&format!("/feed/{TOKEN}"), None, None).0,
            Route::NotFound
        );
        assert_eq!(
            get(&format!("/feed/{TOKEN}.ics/"), None, None).0,
            Route::NotFound
        );
        assert_eq!(get(&format!("/{TOKEN}.ics"), None, None).0, Route::NotFound);
    }

    #[test]
    fn only_get_and_head_are_allowed() {
        for m in [
            "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "get",
        ] {
            let asked = Asked {
                method: m,
                path: "/",
                query: Some("token=x"),
                cookie: None,
            };
            assert_eq!(
                route(&asked, TOKEN.as_bytes()).0,
                Route::MethodNotAllowed,
                "{m}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_request_routes_without_panic_and_never_past_a_wrong_token(
            method in "[A-Z]{1,8}",
            path in "/[\\PC%/]{0,80}",
            query in proptest::option::of("[\\PC%&=]{0,80}"),
            cookie in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..80)),
        ) {
            let asked = Asked { method: &method, path: &path, query: query.as_deref(), cookie: cookie.as_deref() };
            let (r, set) = route(&asked, TOKEN.as_bytes());
            let opened = !matches!(r, Route::NotFound | Route::MethodNotAllowed);
            // Random text never holds the 32-character token.
            prop_assert!(!opened, "{:?} opened {:?}", asked, r);
            prop_assert!(!set);
        }
    }
}
