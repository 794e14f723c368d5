//! PKCE, base64url and JWT decoding for the OAuth helpers, with no crate
//! beyond what the tests already have (SHA-256 comes from rustls's ring
//! provider).

use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

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
    crate::common::base64(data)
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

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}
