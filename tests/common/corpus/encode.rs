//! From the readable fixture to the bytes on the wire: each MIME part in its
//! declared charset and Content-Transfer-Encoding, format=flowed re-wrapped,
//! calendar lines folded, RFC 2047 words in headers (see the module doc of
//! `corpus`, step 3).

use super::header_value;
use std::collections::HashMap;

/// Encodes a filled fixture as the client would send it (see the module
/// doc, step 3).
pub fn encode(text: &str) -> Result<Vec<u8>, String> {
    let text = text.replace("\r\n", "\n");
    let mut out = Vec::with_capacity(text.len() * 2);
    encode_entity(&text, &mut out)?;
    Ok(out)
}

/// A header's parameters: the value before the first `;` (lower-cased) and
/// the `name=value` pairs after it (names lower-cased).
fn content_params(value: &str) -> (String, HashMap<String, String>) {
    let mut parts = value.split(';');
    let main = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            )
        })
        .collect();
    (main, params)
}

fn encode_entity(entity: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let (head, body) = if let Some(rest) = entity.strip_prefix('\n') {
        ("", rest)
    } else if let Some(i) = entity.find("\n\n") {
        (&entity[..i], &entity[i + 2..])
    } else {
        (entity, "")
    };
    for line in head.lines() {
        out.extend_from_slice(encode_header_line(line)?.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if head.is_empty() && !entity.starts_with('\n') {
        return Ok(());
    }
    out.extend_from_slice(b"\r\n");
    let (ctype, params) =
        content_params(&header_value(head, "Content-Type").unwrap_or_else(|| "text/plain".into()));
    let (cte, _) = content_params(
        &header_value(head, "Content-Transfer-Encoding").unwrap_or_else(|| "7bit".into()),
    );
    let lines: Vec<&str> = body.split('\n').collect();
    if ctype.starts_with("multipart/") {
        let boundary = params
            .get("boundary")
            .ok_or_else(|| format!("{ctype} without a boundary"))?;
        return encode_multipart(&lines, boundary, out);
    }
    let mut text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    if params
        .get("format")
        .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
    {
        let delsp = params
            .get("delsp")
            .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
        text = flow(&text, 72, delsp);
    }
    // iCalendar lines longer than 75 octets are folded (RFC 5545 3.1), as
    // every calendar client does; a filled placeholder may have made one.
    if ctype == "text/calendar" || ctype == "application/ics" {
        text = text.iter().flat_map(|l| fold_ical(l)).collect();
    }
    let content = text.join("\r\n");
    // Binary content (an image, an archive) cannot be stored readable: a
    // base64 part whose body is base64 already is taken as it stands.
    if cte == "base64" && is_base64(&content) {
        out.extend_from_slice(content.as_bytes());
        return Ok(());
    }
    let copied = ctype.starts_with("message/") || ctype == "text/rfc822-headers";
    let bytes = if copied {
        content.into_bytes()
    } else {
        // RFC 2045's default for text is us-ascii; other types (an .ics
        // attachment, a PDF) are taken byte for byte as UTF-8.
        let default = if ctype.starts_with("text/") {
            "us-ascii"
        } else {
            "utf-8"
        };
        let charset = params
            .get("charset")
            .map(|c| c.to_ascii_lowercase())
            .unwrap_or_else(|| default.into());
        to_charset(&content, &charset)?
    };
    match cte.as_str() {
        "quoted-printable" => out.extend_from_slice(quoted_printable(&bytes).as_bytes()),
        "base64" => out.extend_from_slice(base64_lines(&bytes).as_bytes()),
        "7bit" | "8bit" | "binary" => out.extend_from_slice(&bytes),
        other => return Err(format!("unknown Content-Transfer-Encoding {other:?}")),
    }
    Ok(())
}

/// One iCalendar content line as folded lines of at most 75 octets, never
/// splitting a character.
fn fold_ical(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in line.chars() {
        let limit = if out.is_empty() { 75 } else { 74 };
        if current.len() + c.len_utf8() > limit {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    out.push(current);
    let mut folded: Vec<String> = Vec::with_capacity(out.len());
    for (i, piece) in out.into_iter().enumerate() {
        folded.push(if i == 0 { piece } else { format!(" {piece}") });
    }
    folded
}

fn is_base64(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n'))
}

fn encode_multipart(lines: &[&str], boundary: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut preamble: Vec<&str> = Vec::new();
    let mut parts: Vec<Vec<&str>> = Vec::new();
    let mut epilogue: Option<Vec<&str>> = None;
    for line in lines {
        if let Some(e) = epilogue.as_mut() {
            e.push(line);
        } else if *line == close {
            epilogue = Some(Vec::new());
        } else if *line == open {
            parts.push(Vec::new());
        } else if let Some(p) = parts.last_mut() {
            p.push(line);
        } else {
            preamble.push(line);
        }
    }
    let Some(epilogue) = epilogue else {
        return Err(format!("multipart {boundary:?} is not closed"));
    };
    for line in &preamble {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for part in parts {
        out.extend_from_slice(open.as_bytes());
        out.extend_from_slice(b"\r\n");
        encode_entity(&part.join("\n"), out)?;
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(close.as_bytes());
    if !epilogue.is_empty() {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(epilogue.join("\r\n").as_bytes());
    }
    Ok(())
}

fn to_charset(text: &str, charset: &str) -> Result<Vec<u8>, String> {
    match charset {
        "utf-8" | "utf8" => Ok(text.as_bytes().to_vec()),
        "us-ascii" | "ascii" => {
            if text.is_ascii() {
                Ok(text.as_bytes().to_vec())
            } else {
                Err("non-ASCII text in a us-ascii part".into())
            }
        }
        "iso-8859-1" | "latin1" => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| format!("{c:?} is not in {charset}")))
            .collect(),
        "windows-1252" | "cp1252" => text
            .chars()
            .map(|c| windows_1252(c).ok_or_else(|| format!("{c:?} is not in {charset}")))
            .collect(),
        other => Err(format!("no encoder for charset {other:?}")),
    }
}

/// Windows-1252: Latin-1 with printable characters in 0x80–0x9F.
fn windows_1252(c: char) -> Option<u8> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    if let Some((_, b)) = HIGH.iter().find(|(h, _)| *h == c) {
        return Some(*b);
    }
    match u32::from(c) {
        n @ (0..=0x7F | 0xA0..=0xFF) => u8::try_from(n).ok(),
        _ => None,
    }
}

/// RFC 2045 quoted-printable: CRLF stays a hard break, lines are cut at 76
/// with a soft break (`=`), never inside an `=XX`.
fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3 / 2);
    let text_lines: Vec<&[u8]> = split_crlf(bytes);
    for (i, line) in text_lines.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let mut width = 0;
        for (j, &b) in line.iter().enumerate() {
            let last = j + 1 == line.len();
            let token = match b {
                b'=' => "=3D".to_string(),
                b' ' | b'\t' if last => format!("={b:02X}"),
                b' ' | b'\t' | 33..=126 => (b as char).to_string(),
                _ => format!("={b:02X}"),
            };
            // Room for the token and, unless it ends the line, a soft break.
            let room = if last { 76 } else { 75 };
            if width + token.len() > room {
                out.push_str("=\r\n");
                width = 0;
            }
            out.push_str(&token);
            width += token.len();
        }
    }
    out
}

fn split_crlf(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'\r' && bytes[i + 1] == b'\n' {
            lines.push(&bytes[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    lines.push(&bytes[start..]);
    lines
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_lines(data: &[u8]) -> String {
    let b = base64(data);
    b.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// RFC 3676 format=flowed at `width`: each line re-wrapped at spaces, a
/// trailing space marking each soft break (with `delsp`, one more, since the
/// reader deletes it); quote depth kept on every piece; space-stuffing where
/// a line would start with a space or "From ".
fn flow(lines: &[String], width: usize, delsp: bool) -> Vec<String> {
    let marker = if delsp { " " } else { "" };
    let mut out = Vec::new();
    for line in lines {
        if line == "-- " {
            out.push(line.clone());
            continue;
        }
        let depth = line.chars().take_while(|c| *c == '>').count();
        let rest = &line[depth..];
        let rest = if depth > 0 {
            rest.strip_prefix(' ').unwrap_or(rest)
        } else {
            rest
        };
        let rest = rest.trim_end();
        let prefix = if depth > 0 {
            format!("{} ", ">".repeat(depth))
        } else if rest.starts_with(' ') || rest.starts_with("From ") {
            " ".to_string()
        } else {
            String::new()
        };
        if rest.is_empty() {
            out.push(">".repeat(depth));
            continue;
        }
        let room = width.saturating_sub(prefix.chars().count()).max(20);
        let mut piece = String::new();
        for word in rest.split(' ') {
            let len = piece.chars().count();
            if len > 0 && len + word.chars().count() > room {
                out.push(format!("{prefix}{piece}{marker}"));
                piece.clear();
            }
            piece.push_str(word);
            piece.push(' ');
        }
        out.push(format!("{prefix}{}", piece.trim_end()));
    }
    out
}

/// Encodes every `=?charset?Q?readable?=` (or `?B?`) shell in a header line.
fn encode_header_line(line: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("=?") {
        let after = &rest[start + 2..];
        let Some((charset, tail)) = after.split_once('?') else {
            break;
        };
        let mut tail_chars = tail.chars();
        let (Some(mode), Some('?')) = (tail_chars.next(), tail_chars.next()) else {
            break;
        };
        let text_start = &tail[2..];
        let Some(end) = text_start.find("?=") else {
            break;
        };
        let readable = &text_start[..end];
        out.push_str(&rest[..start]);
        out.push_str(&encoded_words(readable, charset, mode)?);
        rest = &text_start[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// RFC 2047 words for `text`, each at most 75 characters, folded onto
/// continuation lines; plain ASCII is left as it is.
fn encoded_words(text: &str, charset: &str, mode: char) -> Result<String, String> {
    if text.is_ascii() {
        return Ok(text.to_string());
    }
    let cs = charset.to_ascii_lowercase();
    let overhead = charset.len() + 7; // =? ? Q ? ?=
    let mut words = Vec::new();
    let mut chunk = String::new();
    let encoded_len = |s: &str| -> Result<usize, String> {
        let b = to_charset(s, &cs)?;
        Ok(match mode.to_ascii_uppercase() {
            'B' => b.len().div_ceil(3) * 4,
            _ => q_encode(&b).len(),
        })
    };
    for c in text.chars() {
        let mut next = chunk.clone();
        next.push(c);
        if !chunk.is_empty() && encoded_len(&next)? + overhead > 75 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    let mut encoded = Vec::new();
    for w in words {
        let b = to_charset(&w, &cs)?;
        let body = match mode.to_ascii_uppercase() {
            'B' => base64(&b),
            'Q' => q_encode(&b),
            m => return Err(format!("encoded-word mode {m:?}")),
        };
        encoded.push(format!("=?{charset}?{mode}?{body}?="));
    }
    Ok(encoded.join("\r\n "))
}

fn q_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b' ' => out.push('_'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'!' | b'*' | b'+' | b'-' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out
}
