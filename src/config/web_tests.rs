//! The `[web]` section, checked for its messages and places (the helpers
//! are those of `tests.rs`).

use super::tests::{assert_one_error, check, errors};
use super::*;

#[test]
fn the_web_section_is_checked_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("token");
    std::fs::write(&good, "0123456789abcdef0123456789abcdef\n").unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "abc\n").unwrap();
    let odd = dir.path().join("odd");
    std::fs::write(&odd, "0123456789abcdef/+0123456789\n").unwrap();
    let web = |listen: &str, file: &Path| {
        format!(
            "{EXAMPLE}\n[web]\nlisten = \"{listen}\"\ntoken_file = \"{}\"\n",
            file.display()
        )
    };
    let loaded = check(&web("127.0.0.1:8025", &good)).unwrap();
    let w = loaded.model.web.expect("[web] read");
    assert_eq!(w.listen.to_string(), "127.0.0.1:8025");
    assert_eq!(
        w.read_token().unwrap().expose(),
        "0123456789abcdef0123456789abcdef"
    );
    assert!(
        check(EXAMPLE).unwrap().model.web.is_none(),
        "off by default"
    );

    let src = web("localhost:80", &good);
    assert_one_error(&src, "\"localhost:80\"", "expected an IP address and port");
    let src = web("127.0.0.1:8025", &short);
    assert_one_error(
        &src,
        &format!("\"{}\"", short.display()),
        "expected at least 20",
    );
    let src = web("127.0.0.1:8025", &odd);
    assert_one_error(
        &src,
        &format!("\"{}\"", odd.display()),
        "only letters, digits",
    );
    let missing = dir.path().join("missing");
    let src = web("127.0.0.1:8025", &missing);
    assert_one_error(
        &src,
        &format!("\"{}\"", missing.display()),
        "openssl rand -hex 24",
    );
    // Never the token's text in a message.
    for e in errors(&web("127.0.0.1:8025", &odd)) {
        assert!(!e.contains("0123456789abcdef"), "{e}");
    }
    // A public address works, with a warning.
    let loaded = check(&web("0.0.0.0:8025", &good)).unwrap();
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("not a loopback address")),
        "{:?}",
        loaded.warnings
    );
    let src = format!("{EXAMPLE}\n[web]\nlisten = \"127.0.0.1:8025\"\n");
    assert_one_error(&src, "[web]\nlisten", "has no `token_file`");
}
