//! The access token: where a request carries it, and the comparison, in
//! constant time.
//!
//! A browser carries it as the `handoff_token` cookie (set on the first
//! visit with `?token=`) or the `token` query parameter; a calendar app in
//! the feed's path (`/feed/<token>.ics`), since subscriptions cannot set
//! cookies. [`matches`] takes the same time whatever the candidate holds:
//! it walks the whole expected token every time, byte by byte with
//! `subtle`'s constant-time equality, so how much of a guess was right
//! never shows in how long the answer takes. Only the expected token's
//! length (not secret: at least 20 characters, see `[web]`) sets the time.

use subtle::{Choice, ConstantTimeEq};

/// The cookie the page sets and reads.
pub const COOKIE: &str = "handoff_token";

/// Whether `candidate` is `expected`, in time that depends on
/// `expected.len()` only.
pub fn matches(expected: &[u8], candidate: &[u8]) -> bool {
    let mut same: Choice = expected.len().ct_eq(&candidate.len());
    for (i, e) in expected.iter().enumerate() {
        // A shorter candidate is compared against 0s: same work, and the
        // length check above has already made the answer "no".
        let c = candidate.get(i).copied().unwrap_or(0);
        same &= e.ct_eq(&c);
    }
    same.into()
}

/// The value of the `handoff_token` cookie in a `Cookie` header's text
/// (`a=1; handoff_token=…; b=2`), if any.
pub fn from_cookie(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name.trim() == COOKIE).then(|| value.trim().trim_matches('"'))
    })
}

/// The value of `key` in a query string (`a=1&token=…`), percent-decoded;
/// `None` if absent or not UTF-8 once decoded.
pub fn query_value(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(k)? != key {
            return None;
        }
        percent_decode(v)
    })
}

/// `%41` → `A`, `+` → space; malformed escapes are an error (`None`).
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn only_the_whole_token_matches() {
        assert!(matches(TOKEN, TOKEN));
        assert!(!matches(TOKEN, b""));
        assert!(!matches(TOKEN, &TOKEN[..31]), "a prefix");
        assert!(
            !matches(TOKEN, b"0123456789abcdef0123456789abcdef0"),
            "longer"
        );
        assert!(
            !matches(TOKEN, b"x123456789abcdef0123456789abcdef"),
            "first byte"
        );
        assert!(
            !matches(TOKEN, b"0123456789abcdef0123456789abcdex"),
            "last byte"
        );
        // A candidate padded with the zeros a short one is compared against.
        let mut padded = TOKEN[..10].to_vec();
        padded.extend([0u8; 22]);
        assert!(!matches(TOKEN, &padded[..10]));
    }

    #[test]
    fn the_token_is_found_in_a_cookie_or_the_query() {
        assert_eq!(from_cookie("a=1; handoff_token=abc; b=2"), Some("abc"));
        assert_eq!(from_cookie("handoff_token=\"abc\""), Some("abc"));
        assert_eq!(from_cookie("xhandoff_token=abc"), None);
        assert_eq!(from_cookie(";;=;"), None);
        assert_eq!(
            query_value("engagement=site&token=a%62c", "token").as_deref(),
            Some("abc")
        );
        assert_eq!(query_value("token", "token").as_deref(), Some(""));
        assert_eq!(query_value("token=%zz", "token"), None);
        assert_eq!(query_value("token=%ff", "token"), None, "not UTF-8");
        assert_eq!(query_value("token=%4", "token"), None);
    }

    proptest! {
        #[test]
        fn no_guess_but_the_token_matches(guess in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(matches(TOKEN, &guess), guess == TOKEN);
        }

        #[test]
        fn any_header_or_query_text_reads_without_panic(text in ".{0,200}") {
            let _ = from_cookie(&text);
            let _ = query_value(&text, "token");
            let _ = percent_decode(&text);
        }
    }
}
