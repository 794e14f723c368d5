//! Raw line-by-line exchanges with the stack's servers over TLS (IMAPS,
//! submission after STARTTLS), for what no client library lets a test get
//! wrong on purpose: e.g. not answering an error challenge, to show that the
//! server then waits.

use super::MailStack;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long a raw exchange waits for a greeting or an EHLO reply.
const WAIT: Duration = Duration::from_secs(10);

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

/// A line-oriented TLS connection to a server (the stack's CA trusted).
pub struct Raw {
    reader: BufReader<tokio::io::ReadHalf<Tls>>,
    writer: tokio::io::WriteHalf<Tls>,
}

impl Raw {
    async fn over(tcp: TcpStream, stack: &MailStack) -> Raw {
        let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
        let tls = tokio_rustls::TlsConnector::from(super::tls_config(&stack.ca_cert))
            .connect(name, tcp)
            .await
            .expect("TLS");
        let (r, writer) = tokio::io::split(tls);
        Raw {
            reader: BufReader::new(r),
            writer,
        }
    }

    /// Sends `line` and CRLF.
    pub async fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("send");
    }

    /// The next line, or `None` if none comes within `within`.
    pub async fn line(&mut self, within: Duration) -> Option<String> {
        let mut line = String::new();
        match tokio::time::timeout(within, self.reader.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => Some(line.trim_end().to_string()),
            Ok(_) => panic!("connection closed"),
            Err(_) => None,
        }
    }

    /// An SMTP reply (all its lines), or `None` if none comes within `within`.
    pub async fn reply(&mut self, within: Duration) -> Option<String> {
        let mut reply = String::new();
        loop {
            let line = self.line(within).await?;
            reply.push_str(&line);
            reply.push('\n');
            if line.as_bytes().get(3) != Some(&b'-') {
                return Some(reply);
            }
        }
    }
}

/// IMAP with implicit TLS, the greeting read.
pub async fn imaps(stack: &MailStack) -> Raw {
    let tcp = TcpStream::connect((stack.host.as_str(), stack.imaps_port))
        .await
        .expect("connect");
    let mut raw = Raw::over(tcp, stack).await;
    assert!(raw.line(WAIT).await.expect("greeting").starts_with("* OK"));
    raw
}

/// Submission after STARTTLS and EHLO; the connection and the EHLO reply.
pub async fn submission(stack: &MailStack) -> (Raw, String) {
    let tcp = TcpStream::connect((stack.host.as_str(), stack.smtp_port))
        .await
        .expect("connect");
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);
    assert!(plain_reply(&mut r).await.starts_with("220"));
    w.write_all(b"EHLO test\r\n").await.expect("EHLO");
    plain_reply(&mut r).await;
    w.write_all(b"STARTTLS\r\n").await.expect("STARTTLS");
    assert!(plain_reply(&mut r).await.starts_with("220"));
    // Nothing is buffered past the 220: the server waits for the handshake.
    let tcp = r.into_inner().reunite(w).expect("one stream");
    let mut raw = Raw::over(tcp, stack).await;
    raw.send("EHLO test").await;
    let ehlo = raw.reply(WAIT).await.expect("EHLO reply");
    (raw, ehlo)
}

/// The last line of an SMTP reply before TLS.
async fn plain_reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.expect("read");
        assert!(!line.is_empty(), "connection closed");
        if line.as_bytes().get(3) != Some(&b'-') {
            return line;
        }
    }
}

/// The text of a SASL challenge: `line` without `prefix` (`"+ "` in IMAP,
/// `"334 "` in SMTP), base64-decoded.
pub fn decode_challenge(line: &str, prefix: &str) -> String {
    let b64 = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} challenge, got {line:?}"));
    let raw = super::oauth::base64_decode(b64.trim()).expect("base64 challenge");
    String::from_utf8(raw).expect("UTF-8 challenge")
}
