//! An in-process SMTP sink on `127.0.0.1`, speaking just enough ESMTP for
//! lettre's `AsyncSmtpTransport<Tokio1Executor>` to deliver to it.
//!
//! The command set and replies follow what lettre 0.11 actually sends (see
//! `transport/smtp/client/async_connection.rs`): greeting, `EHLO`,
//! `MAIL FROM:<..> [BODY=8BITMIME]`, `RCPT TO:<..>`, `DATA`, dot-stuffed
//! content ended by `\r\n.\r\n`, `NOOP` (pool liveness check) and `QUIT`.
//! `8BITMIME` and `SMTPUTF8` are advertised because lettre refuses to send
//! non-ASCII messages without them; `STARTTLS` is not, so lettre stays in
//! plain text. `AUTH PLAIN LOGIN` is advertised and any login is accepted
//! (and recorded, see [`SmtpSink::logins`]), so an `smtp://user:password@…`
//! URL works as it would against a real relay; a client without credentials
//! never uses it.
//!
//! Received mail is parsed so tests can assert on human-readable text:
//! [`ReceivedMail::subject`] is RFC 2047-decoded and [`ReceivedMail::body`] is
//! transfer-decoded (quoted-printable / base64), with the `text/plain` part
//! chosen from multipart messages.

// Every test binary that includes this helper uses a different subset of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long [`SmtpSink::wait_for`] waits before failing the test.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Reply for everything while the sink is "down": a transient (4xx) failure,
/// which lettre reports as `Error::is_transient()`, so retry logic kicks in.
const SERVICE_DOWN: &[u8] = b"421 4.3.2 guanxi-smtp-sink unavailable, try again later\r\n";

/// One delivered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// Envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// Envelope recipients (`RCPT TO`), without angle brackets.
    pub to: Vec<String>,
    /// The message exactly as lettre formatted it (dot-stuffing undone).
    pub raw: String,
    /// Decoded `Subject` header.
    pub subject: String,
    /// Decoded text body (`text/plain` part of multipart mail), CRLF turned
    /// into `\n` and trailing newlines removed.
    pub body: String,
}

/// Handle to a running SMTP sink. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct SmtpSink {
    inner: Arc<Inner>,
}

struct Inner {
    addr: SocketAddr,
    mails: Mutex<Vec<ReceivedMail>>,
    /// `(user, password)` of every successful `AUTH`.
    logins: Mutex<Vec<(String, String)>>,
    down: AtomicBool,
    /// Signalled whenever a message is stored.
    received: Notify,
}

impl SmtpSink {
    /// Binds `127.0.0.1:0` and accepts connections (each served concurrently)
    /// on a background task of the current tokio runtime.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink listener");
        let addr = listener.local_addr().expect("SMTP sink local address");
        let sink = Self {
            inner: Arc::new(Inner {
                addr,
                mails: Mutex::new(Vec::new()),
                logins: Mutex::new(Vec::new()),
                down: AtomicBool::new(false),
                received: Notify::new(),
            }),
        };
        let inner = Arc::clone(&sink.inner);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let inner = Arc::clone(&inner);
                tokio::spawn(async move {
                    // A client hanging up mid-session is not the sink's problem.
                    let _ = session(stream, &inner).await;
                });
            }
        });
        sink
    }

    /// Connection URL for `AsyncSmtpTransport::from_url`.
    ///
    /// There is deliberately no `?tls=...` parameter: lettre 0.11 only knows
    /// `tls=required` and `tls=opportunistic` and rejects any other value
    /// (including `tls=none`); plain `smtp://` without it means no TLS.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.inner.addr)
    }

    /// `127.0.0.1:PORT` of the sink.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Every delivered message, in order of completion.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.lock().clone()
    }

    /// Delivered messages whose envelope recipients include `addr`
    /// (case-insensitive).
    pub fn messages_to(&self, addr: &str) -> Vec<ReceivedMail> {
        self.lock().iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(addr))).cloned().collect()
    }

    /// Waits until at least `count` messages were delivered and returns all
    /// of them. Panics (showing what did arrive) after 10 s.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let mut notified = std::pin::pin!(self.inner.received.notified());
            // Enabled before checking so a delivery in between is not missed.
            notified.as_mut().enable();
            let mails = self.messages();
            if mails.len() >= count {
                return mails;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let mails = self.messages();
                assert!(
                    mails.len() >= count,
                    "timed out after {WAIT_TIMEOUT:?} waiting for {count} mail(s); got {mails:#?}"
                );
                return mails;
            }
        }
    }

    /// `(user, password)` of every login (`AUTH PLAIN` / `AUTH LOGIN`), in order.
    pub fn logins(&self) -> Vec<(String, String)> {
        self.inner.logins.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// While down, new connections are greeted with `421` and open sessions
    /// answer `421` to `MAIL`, `DATA` and `NOOP` (then hang up), so the sender
    /// sees a transient failure whether or not it pools connections.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ReceivedMail>> {
        self.inner.mails.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serves one SMTP connection until `QUIT`, hang-up or a `421`.
async fn session(stream: TcpStream, inner: &Inner) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let is_down = || inner.down.load(Ordering::SeqCst);

    if is_down() {
        write.write_all(SERVICE_DOWN).await?;
        return Ok(());
    }
    write.write_all(b"220 guanxi-smtp-sink ESMTP ready\r\n").await?;

    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let command = text.trim_end_matches(['\r', '\n']);
        let (verb, arg) = command.split_once(' ').unwrap_or((command, ""));
        let reply: &[u8] = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                from = None;
                to.clear();
                write
                    .write_all(
                        format!(
                            "250-guanxi-smtp-sink greets {arg}\r\n\
                             250-PIPELINING\r\n\
                             250-8BITMIME\r\n\
                             250-AUTH PLAIN LOGIN\r\n\
                             250 SMTPUTF8\r\n"
                        )
                        .as_bytes(),
                    )
                    .await?;
                continue;
            }
            "HELO" => {
                from = None;
                to.clear();
                b"250 guanxi-smtp-sink\r\n"
            }
            "MAIL" | "NOOP" | "DATA" if is_down() => {
                write.write_all(SERVICE_DOWN).await?;
                return Ok(());
            }
            "MAIL" => {
                from = Some(path_argument(arg));
                to.clear();
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" if from.is_none() => b"503 5.5.1 MAIL first\r\n",
            "RCPT" => {
                to.push(path_argument(arg));
                b"250 2.1.5 OK\r\n"
            }
            "DATA" if to.is_empty() => b"503 5.5.1 RCPT first\r\n",
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let Some(raw) = read_data(&mut reader).await? else {
                    return Ok(());
                };
                let mail = parse_mail(from.take().unwrap_or_default(), std::mem::take(&mut to), raw);
                inner.mails.lock().unwrap_or_else(PoisonError::into_inner).push(mail);
                inner.received.notify_waiters();
                b"250 2.0.0 OK queued\r\n"
            }
            "AUTH" => match authenticate(arg, &mut reader, &mut write).await? {
                Some(login) => {
                    inner.logins.lock().unwrap_or_else(PoisonError::into_inner).push(login);
                    b"235 2.7.0 Authentication successful\r\n"
                }
                None => b"504 5.5.4 Unrecognized authentication type\r\n",
            },
            "RSET" => {
                from = None;
                to.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "VRFY" => b"252 2.1.5 Cannot VRFY user\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 Command not recognized\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// `AUTH PLAIN [initial]` or `AUTH LOGIN [user]`, asking for what the client has not sent
/// yet; any credentials are accepted. `None` for another mechanism.
async fn authenticate<R, W>(arg: &str, reader: &mut R, write: &mut W) -> std::io::Result<Option<(String, String)>>
where
    R: tokio::io::AsyncBufRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let (mechanism, initial) = arg.trim().split_once(' ').unwrap_or((arg.trim(), ""));
    let decode = |s: &str| String::from_utf8_lossy(&decode_base64(s.trim())).into_owned();
    async fn ask<R, W>(reader: &mut R, write: &mut W, challenge: &[u8]) -> std::io::Result<String>
    where
        R: tokio::io::AsyncBufRead + Unpin,
        W: tokio::io::AsyncWrite + Unpin,
    {
        write.write_all(challenge).await?;
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line).await?;
        Ok(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_owned())
    }
    match mechanism.to_ascii_uppercase().as_str() {
        "PLAIN" => {
            let response = if initial.is_empty() { ask(reader, write, b"334 \r\n").await? } else { initial.to_owned() };
            // authzid NUL authcid NUL password
            let decoded = decode(&response);
            let mut parts = decoded.split('\0').skip(1);
            let user = parts.next().unwrap_or_default().to_owned();
            let password = parts.next().unwrap_or_default().to_owned();
            Ok(Some((user, password)))
        }
        "LOGIN" => {
            let user = if initial.is_empty() {
                ask(reader, write, b"334 VXNlcm5hbWU6\r\n").await?
            } else {
                initial.to_owned()
            };
            let password = ask(reader, write, b"334 UGFzc3dvcmQ6\r\n").await?;
            Ok(Some((decode(&user), decode(&password))))
        }
        _ => Ok(None),
    }
}

/// Reads DATA content up to the lone `.` line and undoes dot-stuffing.
/// Returns `None` if the client hung up first.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(unstuffed);
    }
    // The CRLF before the final "." belongs to the terminator lettre appends
    // (`\r\n.\r\n`), not to the message.
    if data.ends_with(b"\r\n") {
        data.truncate(data.len() - 2);
    }
    Ok(Some(String::from_utf8_lossy(&data).into_owned()))
}

/// `FROM:<a@b> BODY=8BITMIME` / `TO:<a@b>` -> `a@b`.
fn path_argument(arg: &str) -> String {
    let after_colon = arg.split_once(':').map_or(arg, |(_, rest)| rest).trim();
    match (after_colon.find('<'), after_colon.find('>')) {
        (Some(open), Some(close)) if open < close => after_colon[open + 1..close].to_owned(),
        _ => after_colon.split_whitespace().next().unwrap_or("").to_owned(),
    }
}

fn parse_mail(from: String, to: Vec<String>, raw: String) -> ReceivedMail {
    let (headers, body) = split_message(&raw);
    let subject = header(&headers, "subject").map(decode_rfc2047).unwrap_or_default();
    let body = extract_text(&headers, body)
        .map(|(_, text)| text)
        .unwrap_or_default()
        .replace("\r\n", "\n")
        .trim_end_matches(['\n', '\r'])
        .to_owned();
    ReceivedMail { from, to, raw, subject, body }
}

/// Splits a message (or MIME part) into unfolded headers and the body.
fn split_message(message: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match (message.find("\r\n\r\n"), message.find("\n\n")) {
        (Some(crlf), _) => (&message[..crlf], &message[crlf + 4..]),
        (None, Some(lf)) => (&message[..lf], &message[lf + 2..]),
        // A part with no blank line is all headers when it starts with one,
        // otherwise all body.
        (None, None) if message.contains(':') && !message.starts_with(['\r', '\n']) => (message, ""),
        (None, None) => ("", message.trim_start_matches(['\r', '\n'])),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            // Folded continuation: unfolding removes only the line break.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim_start().to_owned()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
}

/// Returns `(mime type, decoded text)` of the part tests care about: the part
/// itself for single-part messages; for multipart ones the first `text/plain`
/// leaf, else the first `text/*` leaf, else the first leaf.
fn extract_text(headers: &[(String, String)], body: &str) -> Option<(String, String)> {
    let content_type = header(headers, "content-type").unwrap_or("text/plain");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime.starts_with("multipart/") {
        let boundary = content_param(content_type, "boundary")?;
        let delimiter = format!("--{boundary}");
        let leaves: Vec<(String, String)> = body
            .split(delimiter.as_str())
            .skip(1)
            .take_while(|part| !part.starts_with("--"))
            .filter_map(|part| {
                let part = part.strip_prefix("\r\n").unwrap_or(part);
                let (part_headers, part_body) = split_message(part);
                extract_text(&part_headers, part_body)
            })
            .collect();
        let pick = leaves
            .iter()
            .position(|(m, _)| m == "text/plain")
            .or_else(|| leaves.iter().position(|(m, _)| m.starts_with("text/")))
            .unwrap_or(0);
        return leaves.into_iter().nth(pick);
    }
    let encoding = header(headers, "content-transfer-encoding").unwrap_or("7bit").to_ascii_lowercase();
    let text = match encoding.as_str() {
        "base64" => String::from_utf8_lossy(&decode_base64(body)).into_owned(),
        "quoted-printable" => String::from_utf8_lossy(&decode_quoted_printable(body, false)).into_owned(),
        _ => body.to_owned(),
    };
    Some((mime, text))
}

/// Value of a `key=value` / `key="value"` parameter of a structured header.
fn content_param(header_value: &str, key: &str) -> Option<String> {
    header_value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Decodes an unfolded header value containing RFC 2047 encoded words
/// (`=?charset?B|Q?text?=`) mixed with plain text, as lettre produces for
/// non-ASCII subjects. Whitespace between two adjacent encoded words is
/// dropped (RFC 2047 §6.2) and their bytes are joined before UTF-8 decoding,
/// so a character split across words still decodes.
pub fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut gap = String::new();
    let mut rest = value;
    while let Some(ch) = rest.chars().next() {
        if let Some((bytes, consumed)) = parse_encoded_word(rest) {
            gap.clear();
            pending.extend(bytes);
            rest = &rest[consumed..];
            continue;
        }
        if matches!(ch, ' ' | '\t' | '\r' | '\n') && !pending.is_empty() {
            gap.push(ch);
        } else {
            out.push_str(&String::from_utf8_lossy(&pending));
            pending.clear();
            out.push_str(&gap);
            gap.clear();
            out.push(ch);
        }
        rest = &rest[ch.len_utf8()..];
    }
    out.push_str(&String::from_utf8_lossy(&pending));
    out.push_str(&gap);
    out
}

/// Parses one encoded word at the start of `s`; returns its bytes (as UTF-8)
/// and the number of input bytes consumed.
fn parse_encoded_word(s: &str) -> Option<(Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    if text.contains(char::is_whitespace) || charset.contains(char::is_whitespace) {
        return None;
    }
    let consumed = "=?".len() + charset.len() + 1 + encoding.len() + 1 + end + "?=".len();
    let bytes = match encoding {
        "b" | "B" => decode_base64(text),
        "q" | "Q" => decode_quoted_printable(text, true),
        _ => return None,
    };
    // RFC 2231 allows `charset*language`.
    let charset = charset.split('*').next().unwrap_or("").to_ascii_lowercase();
    let bytes = if matches!(charset.as_str(), "iso-8859-1" | "latin1" | "us-ascii") {
        bytes.iter().map(|&b| char::from(b)).collect::<String>().into_bytes()
    } else {
        bytes
    };
    Some((bytes, consumed))
}

/// Base64 (standard or URL-safe alphabet) decoder that skips whitespace and
/// line breaks, as found in MIME bodies.
pub fn decode_base64(input: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in input.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                // Padding: leftover bits are zero filler.
                acc = 0;
                bits = 0;
                continue;
            }
            _ => continue,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // `acc` holds fewer than `bits + 8` significant bits here.
            out.push(u8::try_from(acc >> bits).unwrap_or(u8::MAX));
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Quoted-printable decoder (RFC 2045 §6.7): `=XX` escapes and `=` soft line
/// breaks. With `header_q` it is RFC 2047's "Q" encoding, where `_` is space.
pub fn decode_quoted_printable(input: &str, header_q: bool) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' => {
                let rest = &bytes[i + 1..];
                if rest.starts_with(b"\r\n") {
                    i += 3;
                } else if rest.starts_with(b"\n") {
                    i += 2;
                } else if let (Some(hi), Some(lo)) =
                    (rest.first().and_then(|&b| hex_value(b)), rest.get(1).and_then(|&b| hex_value(b)))
                {
                    out.push(hi << 4 | lo);
                    i += 3;
                } else {
                    out.push(b'=');
                    i += 1;
                }
            }
            b'_' if header_q => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod decoder_tests {
    use super::*;

    const CHINESE: &str = "关系管理：你好，世界！";

    #[test]
    fn base64_decodes_chinese() {
        // "你好" is E4 BD A0 E5 A5 BD.
        assert_eq!(decode_base64("5L2g5aW9"), "你好".as_bytes());
        // Line breaks inside the body and padding are skipped.
        assert_eq!(decode_base64("5L2g\r\n5aW95LiW\r\n55WM"), "你好世界".as_bytes());
        assert_eq!(decode_base64("5Lit"), "中".as_bytes());
        assert_eq!(decode_base64("QQ=="), b"A");
        assert_eq!(decode_base64("QUI="), b"AB");
    }

    #[test]
    fn quoted_printable_decodes_chinese_and_soft_breaks() {
        assert_eq!(
            decode_quoted_printable("=E4=BD=A0=E5=A5=BD=\r\n=E4=B8=96=E7=95=8C a=3Db", false),
            "你好世界 a=b".as_bytes()
        );
        assert_eq!(decode_quoted_printable("a_b=20c", true), b"a b c");
        assert_eq!(decode_quoted_printable("a_b", false), b"a_b");
    }

    #[test]
    fn rfc2047_decodes_mixed_and_adjacent_words() {
        assert_eq!(decode_rfc2047("=?utf-8?b?5L2g5aW9?="), "你好");
        // Adjacent words (as after unfolding) join without the space, even
        // when a character is split between them.
        assert_eq!(decode_rfc2047("=?utf-8?b?5L2g5Q==?=\r\n =?UTF-8?B?pb0=?="), "你好");
        assert_eq!(decode_rfc2047("Hello =?utf-8?b?5L2g5aW9?= world"), "Hello 你好 world");
        assert_eq!(decode_rfc2047("=?utf-8?q?caf=C3=A9_ok?="), "café ok");
        assert_eq!(decode_rfc2047("=?iso-8859-1?q?caf=E9?="), "café");
        assert_eq!(decode_rfc2047("plain =? not encoded"), "plain =? not encoded");
    }

    /// Round trip through lettre's own formatting, so the decoders are proven
    /// against the exact encodings the bot will produce.
    #[test]
    fn lettre_formatted_message_decodes() {
        use lettre::message::{MultiPart, header::ContentType};

        let long_subject = format!("提醒 Reminder: {}", CHINESE.repeat(4));
        let long_body = format!("第一行\n.以点开头的行\n{}", CHINESE.repeat(10));
        let message = lettre::Message::builder()
            .from("Guanxi <bot@example.com>".parse().unwrap())
            .to("客户 <client@example.com>".parse().unwrap())
            .subject(long_subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(long_body.clone())
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("=?utf-8?b?"), "subject should be RFC 2047: {raw}");
        let mail = parse_mail("bot@example.com".into(), vec!["client@example.com".into()], raw);
        assert_eq!(mail.subject, long_subject);
        assert_eq!(mail.body, long_body);

        let message = lettre::Message::builder()
            .from("bot@example.com".parse().unwrap())
            .to("client@example.com".parse().unwrap())
            .subject(CHINESE)
            .multipart(MultiPart::alternative_plain_html(CHINESE.to_owned(), format!("<p>{CHINESE}</p>")))
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        let mail = parse_mail(String::new(), Vec::new(), raw);
        assert_eq!(mail.subject, CHINESE);
        assert_eq!(mail.body, CHINESE);
    }

    #[test]
    fn path_argument_strips_brackets_and_parameters() {
        assert_eq!(path_argument("FROM:<a@b.c> BODY=8BITMIME"), "a@b.c");
        assert_eq!(path_argument("TO:<x@y.z>"), "x@y.z");
        assert_eq!(path_argument("FROM:<>"), "");
    }
}
