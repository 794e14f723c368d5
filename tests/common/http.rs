//! A tiny HTTP/1.1 client and one-shot server for tests, over plain TCP on
//! loopback: enough to talk to the stack's authorization server (every
//! endpoint is `http://127.0.0.1:<port>/...`) and to play a native app's
//! loopback redirect listener (RFC 8252 section 7.3).
//!
//! One request per connection (`Connection: close`; the body runs to EOF or
//! Content-Length), no redirects followed here (the browser in
//! [`super::oauth::browse`] follows them), no TLS.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How long a request may take unless the caller says otherwise.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lowercased, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (naming the body) when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): HTTP {} {}", self.status, self.text()))
    }
}

/// `http://host:port/path?query` split into (host, port, path-and-query).
fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| format!("{url}: no port"))?;
    let port = port.parse().map_err(|_| format!("{url}: bad port"))?;
    Ok((host.to_string(), port, path.to_string()))
}

/// One request; `body` is (Content-Type, bytes). Errors (connect, I/O,
/// timeout, a garbled answer) as text naming the step.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> Result<Response, String> {
    tokio::time::timeout(timeout, request_now(method, url, headers, body))
        .await
        .map_err(|_| format!("{method} {url}: no answer within {timeout:?}"))?
}

async fn request_now(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Result<Response, String> {
    let (host, port, path) = split_url(url)?;
    let mut tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("connect {host}:{port}: {e}"))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let data: &[u8] = match body {
        Some((ctype, data)) => {
            head.push_str(&format!("Content-Type: {ctype}\r\n"));
            data
        }
        None => b"",
    };
    if body.is_some() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", data.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(data);
    tcp.write_all(&out)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw)
        .await
        .map_err(|e| format!("read: {e}"))?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete header in {} bytes", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

pub async fn get(url: &str) -> Result<Response, String> {
    request("GET", url, &[], None, TIMEOUT).await
}

/// POST of a form (`application/x-www-form-urlencoded`), as OAuth's token
/// and device endpoints take it.
pub async fn post_form(
    url: &str,
    form: &[(&str, &str)],
    timeout: Duration,
) -> Result<Response, String> {
    let body = form_encode(form);
    request(
        "POST",
        url,
        &[("Accept", "application/json")],
        Some(("application/x-www-form-urlencoded", body.as_bytes())),
        timeout,
    )
    .await
}

pub async fn post_json(url: &str, value: &serde_json::Value) -> Result<Response, String> {
    let body = value.to_string();
    request(
        "POST",
        url,
        &[],
        Some(("application/json", body.as_bytes())),
        TIMEOUT,
    )
    .await
}

/// `application/x-www-form-urlencoded` (the WHATWG URL standard's
/// serializer: unreserved bytes as is, space as `+`, the rest `%XX`).
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded query parameters of a URL (or a bare `a=b&c=d`), in order.
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let query = match url.split_once('?') {
        Some((_, q)) => q,
        None if url.contains('=') && !url.contains('/') => url,
        None => "",
    };
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The first query parameter called `name`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    query_params(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A native app's redirect listener (RFC 8252 section 7.3): bound on
/// 127.0.0.1 on a port the kernel picks, it takes one request, the
/// browser's redirect, and answers a page.
pub struct LoopbackRedirect {
    listener: TcpListener,
    /// `http://127.0.0.1:<port>/callback`: the `redirect_uri` to ask for.
    pub redirect_uri: String,
}

impl LoopbackRedirect {
    pub async fn bind() -> LoopbackRedirect {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the loopback redirect listener");
        let port = listener.local_addr().expect("local address").port();
        LoopbackRedirect {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        }
    }

    /// Waits (at most `timeout`) for the browser's request; answers 200 and
    /// returns the request target (`/callback?code=...&state=...`).
    pub async fn accept(self, timeout: Duration) -> Result<String, String> {
        let work = async {
            let (tcp, _) = self
                .listener
                .accept()
                .await
                .map_err(|e| format!("accept: {e}"))?;
            let (r, mut w) = tcp.into_split();
            let mut r = BufReader::new(r);
            let mut line = String::new();
            r.read_line(&mut line)
                .await
                .map_err(|e| format!("read: {e}"))?;
            // The rest of the head, so the browser is not reset mid-send.
            loop {
                let mut h = String::new();
                let n = r
                    .read_line(&mut h)
                    .await
                    .map_err(|e| format!("read: {e}"))?;
                if n == 0 || h == "\r\n" {
                    break;
                }
            }
            let target = line
                .split(' ')
                .nth(1)
                .ok_or_else(|| format!("bad request line {line:?}"))?
                .to_string();
            let page = "<html><body>Signed in. You may close this window.</body></html>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            w.write_all(answer.as_bytes())
                .await
                .map_err(|e| format!("answer: {e}"))?;
            Ok(target)
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| format!("no redirect within {timeout:?}"))?
    }
}
