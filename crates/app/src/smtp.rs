//! Outgoing mail: sends one plain-text message to an SMTP relay over plain TCP. Owns the
//! SMTP dialogue, the message's headers and body encoding, and the limits on what a relay
//! may send back.
//!
//! There is no TLS and no authentication here, on purpose: a self-hosted single binary is
//! usually deployed next to a local relay (Postfix, OpenSMTPD...) listening on localhost,
//! which holds any credentials and does the TLS, queueing and retrying towards the world.
//! Point [`SmtpConfig::relay`] at such a relay, never at a server across a network you do
//! not trust: the dialogue, the addresses and the message all travel in clear.
//!
//! Errors say whether retrying can help ([`SmtpError::is_permanent`]). Nothing here logs,
//! and reply text quoted in an error has anything that looks like an email address replaced,
//! since relays often echo the recipient back and callers log errors.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

/// How long to wait for the TCP connection (name resolution included).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write, or one whole reply (every line of it), may take. Per reply rather
/// than per line, so a relay dribbling out continuation lines cannot hold us for long.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest body accepted, before line endings are normalised.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The longest reply line accepted, CRLF included. RFC 5321 allows 512; this leaves room
/// for chatty relays while keeping a broken one from filling memory.
const MAX_REPLY_LINE_BYTES: usize = 4 * 1024;
/// The most lines one (multi-line) reply may have.
const MAX_REPLY_LINES: usize = 100;
/// How much of a relay's reply text an error keeps: enough to diagnose, not a flood.
const MAX_ERROR_TEXT_CHARS: usize = 512;
/// RFC 5322's hard limit on a header line, CRLF excluded.
const MAX_HEADER_LINE_BYTES: usize = 998;
/// UTF-8 bytes per RFC 2047 encoded word: 45 bytes make 60 base64 characters, so with
/// `=?utf-8?B?` and `?=` a word is 72 characters, under the 75 the RFC allows.
const ENCODED_WORD_CHUNK_BYTES: usize = 45;
/// The code RFC 5321 §3.8 says to act on when the connection breaks mid-dialogue.
const CONNECTION_LOST_CODE: u16 = 451;

/// Where mail goes: a relay's host:port and the sender address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The relay as `host:port`, e.g. `127.0.0.1:25`.
    pub relay: String,
    /// The envelope sender and the `From` header.
    pub from: String,
    /// This host's name, sent in `EHLO` and used as the `Message-ID` domain.
    pub hello_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("could not reach the mail relay: {0}")]
    Connect(String),
    #[error("the mail relay timed out")]
    Timeout,
    /// The relay refused a step permanently (5xx): retrying will not help.
    #[error("the mail relay refused {step}: {code} {text}")]
    Rejected {
        step: &'static str,
        code: u16,
        text: String,
    },
    /// The relay refused a step for now (4xx) or the connection broke: worth retrying.
    #[error("the mail relay deferred {step}: {code} {text}")]
    Deferred {
        step: &'static str,
        code: u16,
        text: String,
    },
    #[error("the mail relay spoke nonsense: {0}")]
    Protocol(String),
    /// The message itself is unacceptable (header injection, too big...): nothing was sent.
    #[error("{0}")]
    Invalid(String),
}

impl SmtpError {
    /// Whether sending the same message again is pointless: the relay refused it for good,
    /// or it could never be sent. Everything else (unreachable relay, timeouts, 4xx, broken
    /// connections, a confused relay) may go through on a later try.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SmtpError::Rejected { .. } | SmtpError::Invalid(_))
    }
}

/// One plain-text email to one recipient.
pub struct Message<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// Unique per message: the local part of the `Message-ID` (`<message_id@hello_name>`).
    pub message_id: &'a str,
    /// The `Date` header's value, already formatted per RFC 2822.
    pub date_rfc2822: &'a str,
}

/// Sends `message` through the relay in `config`. Everything is checked before connecting,
/// so an [`SmtpError::Invalid`] means nothing went over the wire.
pub async fn send(config: &SmtpConfig, message: &Message<'_>) -> Result<(), SmtpError> {
    let data = compose(config, message)?;
    let stream = match timeout(CONNECT_TIMEOUT, TcpStream::connect(config.relay.as_str())).await {
        Err(_) => return Err(SmtpError::Timeout),
        Ok(Err(error)) => return Err(SmtpError::Connect(format!("{}: {error}", config.relay))),
        Ok(Ok(stream)) => stream,
    };
    let mut session = Session::new(stream);
    let result = session.deliver(config, message.to, &data).await;
    // Say goodbye when the dialogue is still in step: after success, or after the relay
    // refused something. After a timeout or nonsense the relay is in no state to listen.
    if matches!(
        result,
        Ok(()) | Err(SmtpError::Rejected { .. } | SmtpError::Deferred { .. })
    ) {
        session.quit().await;
    }
    result
}

/// One connection's dialogue with the relay.
struct Session {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

/// A relay's reply: its code and the text of each line.
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Session {
    fn new(stream: TcpStream) -> Session {
        let (read, writer) = stream.into_split();
        Session {
            reader: BufReader::new(read),
            writer,
        }
    }

    async fn deliver(
        &mut self,
        config: &SmtpConfig,
        to: &str,
        data: &[u8],
    ) -> Result<(), SmtpError> {
        self.expect("greeting", &[220]).await?;

        self.write("EHLO", format!("EHLO {}\r\n", config.hello_name).as_bytes())
            .await?;
        let ehlo = self.read_reply("EHLO").await?;
        if (500..600).contains(&ehlo.code) {
            // An old relay that does not know EHLO: RFC 5321 §3.2 says to fall back to HELO.
            self.write("HELO", format!("HELO {}\r\n", config.hello_name).as_bytes())
                .await?;
            self.expect("HELO", &[250]).await?;
        } else {
            check("EHLO", &[250], ehlo)?;
        }

        self.write(
            "MAIL FROM",
            format!("MAIL FROM:<{}>\r\n", config.from).as_bytes(),
        )
        .await?;
        self.expect("MAIL FROM", &[250]).await?;

        self.write("RCPT TO", format!("RCPT TO:<{to}>\r\n").as_bytes())
            .await?;
        // 251 is "not local, will forward": accepted all the same.
        self.expect("RCPT TO", &[250, 251]).await?;

        self.write("DATA", b"DATA\r\n").await?;
        self.expect("DATA", &[354]).await?;

        self.write("the message", data).await?;
        self.expect("the message", &[250]).await?;
        Ok(())
    }

    /// Best effort: the message is already accepted or refused, so nothing here matters.
    async fn quit(&mut self) {
        if self.write("QUIT", b"QUIT\r\n").await.is_ok() {
            let _ = self.read_reply("QUIT").await;
        }
    }

    async fn write(&mut self, step: &'static str, bytes: &[u8]) -> Result<(), SmtpError> {
        match timeout(STEP_TIMEOUT, self.writer.write_all(bytes)).await {
            Err(_) => Err(SmtpError::Timeout),
            Ok(Err(error)) => Err(connection_lost(step, &error.to_string())),
            Ok(Ok(())) => Ok(()),
        }
    }

    async fn expect(&mut self, step: &'static str, accepted: &[u16]) -> Result<Reply, SmtpError> {
        let reply = self.read_reply(step).await?;
        check(step, accepted, reply)
    }

    async fn read_reply(&mut self, step: &'static str) -> Result<Reply, SmtpError> {
        timeout(STEP_TIMEOUT, self.read_reply_lines(step))
            .await
            .map_err(|_| SmtpError::Timeout)?
    }

    /// Reads `250-first`, `250-second`... up to the line whose code is followed by a space
    /// (or nothing), which ends the reply.
    async fn read_reply_lines(&mut self, step: &'static str) -> Result<Reply, SmtpError> {
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            if lines.len() == MAX_REPLY_LINES {
                return Err(SmtpError::Protocol(format!(
                    "the reply to {step} has more than {MAX_REPLY_LINES} lines"
                )));
            }
            let raw = self.read_line(step).await?;
            let (line_code, last, text) = parse_reply_line(&raw).ok_or_else(|| {
                SmtpError::Protocol(format!("malformed reply to {step}: {}", describe(&raw)))
            })?;
            if *code.get_or_insert(line_code) != line_code {
                return Err(SmtpError::Protocol(format!(
                    "the lines of the reply to {step} disagree on the code"
                )));
            }
            lines.push(text);
            if last {
                return Ok(Reply {
                    code: line_code,
                    lines,
                });
            }
        }
    }

    /// One line, CRLF (or a bare LF) removed, refusing to buffer more than the limit.
    async fn read_line(&mut self, step: &'static str) -> Result<String, SmtpError> {
        let mut line = Vec::new();
        // One byte over the limit is enough to tell a too-long line from one that fits.
        let mut limited = (&mut self.reader).take(MAX_REPLY_LINE_BYTES as u64 + 1);
        if let Err(error) = limited.read_until(b'\n', &mut line).await {
            return Err(connection_lost(step, &error.to_string()));
        }
        if line.len() > MAX_REPLY_LINE_BYTES {
            return Err(SmtpError::Protocol(format!(
                "a line of the reply to {step} is longer than {MAX_REPLY_LINE_BYTES} bytes"
            )));
        }
        if line.last() != Some(&b'\n') {
            return Err(connection_lost(step, "the connection closed"));
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }
}

/// Splits `250-text` / `250 text` / `250` into the code, whether it is the reply's last
/// line, and the text. `None` when it is not a reply line at all.
fn parse_reply_line(line: &str) -> Option<(u16, bool, String)> {
    let digits = line.get(..3)?;
    let first = digits.as_bytes()[0];
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(b'2'..=b'5').contains(&first) {
        return None;
    }
    let code = digits.parse().ok()?;
    match line.as_bytes().get(3) {
        None => Some((code, true, String::new())),
        Some(b' ') => Some((code, true, line[4..].to_string())),
        Some(b'-') => Some((code, false, line[4..].to_string())),
        Some(_) => None,
    }
}

/// The reply if its code is one `step` wants; otherwise the error its code means.
fn check(step: &'static str, accepted: &[u16], reply: Reply) -> Result<Reply, SmtpError> {
    if accepted.contains(&reply.code) {
        return Ok(reply);
    }
    let code = reply.code;
    let text = describe(&reply.lines.join(" "));
    match code {
        400..=499 => Err(SmtpError::Deferred { step, code, text }),
        500..=599 => Err(SmtpError::Rejected { step, code, text }),
        _ => Err(SmtpError::Protocol(format!(
            "unexpected {code} reply to {step}: {text}"
        ))),
    }
}

/// A broken connection mid-dialogue counts as a temporary refusal (RFC 5321 §3.8).
fn connection_lost(step: &'static str, why: &str) -> SmtpError {
    SmtpError::Deferred {
        step,
        code: CONNECTION_LOST_CODE,
        text: describe(why),
    }
}

/// Relay text fit for an error message (which callers log): words that look like email
/// addresses replaced, control characters dropped, and cut to a bounded length.
fn describe(text: &str) -> String {
    let redacted: Vec<&str> = text
        .split_whitespace()
        .map(|word| {
            if word.contains('@') {
                "[address]"
            } else {
                word
            }
        })
        .collect();
    redacted
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_TEXT_CHARS)
        .collect()
}

/// Checks every field and builds what goes after `DATA`: headers, blank line, body with
/// CRLF line endings and dot-stuffing, and the final `.` line.
fn compose(config: &SmtpConfig, message: &Message<'_>) -> Result<Vec<u8>, SmtpError> {
    check_address("sender", &config.from)?;
    check_address("recipient", message.to)?;
    check_token("hello name", &config.hello_name, "-.[]:")?;
    check_token("message id", message.message_id, "!#$%&'*+-/=?^_`{|}~.")?;
    check_header_text("subject", message.subject)?;
    check_header_text("date", message.date_rfc2822)?;
    if message.date_rfc2822.trim().is_empty() {
        return Err(SmtpError::Invalid("the message has no date".into()));
    }
    if message.body.len() > MAX_BODY_BYTES {
        return Err(SmtpError::Invalid(format!(
            "the message body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }

    let mut out = String::with_capacity(message.body.len() + message.body.len() / 16 + 512);
    for (name, value) in [
        ("From", config.from.as_str()),
        ("To", message.to),
        ("Subject", &encode_subject(message.subject)),
        ("Date", message.date_rfc2822),
        (
            "Message-ID",
            &format!("<{}@{}>", message.message_id, config.hello_name),
        ),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Transfer-Encoding", "8bit"),
    ] {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    push_body(&mut out, message.body);
    out.push_str(".\r\n");
    Ok(out.into_bytes())
}

/// Appends the body one CRLF-ended line at a time. CRLF, a bare LF and a bare CR all end a
/// line, since SMTP allows CR and LF only as a pair. A line starting with `.` gets another
/// (RFC 5321 §4.5.2), or the relay would take a lone `.` line for the end of the message.
fn push_body(out: &mut String, body: &str) {
    let mut rest = body;
    while !rest.is_empty() {
        let (line, next) = match rest.find(['\r', '\n']) {
            Some(end) if rest[end..].starts_with("\r\n") => (&rest[..end], &rest[end + 2..]),
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => (rest, ""),
        };
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
        rest = next;
    }
}

/// The subject as it goes in the header: as is when it is short printable ASCII, otherwise
/// as RFC 2047 encoded words, one per folded line. Text containing `=?` is encoded too, so a
/// reader does not decode something that only looks like an encoded word.
fn encode_subject(subject: &str) -> String {
    let plain = subject.bytes().all(|b| (b' '..=b'~').contains(&b))
        && !subject.contains("=?")
        && "Subject: ".len() + subject.len() <= MAX_HEADER_LINE_BYTES;
    if plain {
        return subject.to_string();
    }
    let mut words = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (at, c) in subject.char_indices() {
        // Cut only between characters: a word must hold whole UTF-8 sequences.
        if at + c.len_utf8() - start > ENCODED_WORD_CHUNK_BYTES {
            words.push(encoded_word(&subject[start..end]));
            start = end;
        }
        end = at + c.len_utf8();
    }
    if start < end {
        words.push(encoded_word(&subject[start..end]));
    }
    // Folding whitespace between encoded words is dropped by readers (RFC 2047 §6.2).
    words.join("\r\n ")
}

fn encoded_word(text: &str) -> String {
    format!("=?utf-8?B?{}?=", STANDARD.encode(text))
}

/// An address for the envelope and a header: anything that could end the command or the
/// header line, or close the `<...>` around it, would let the caller's input inject more.
fn check_address(what: &str, address: &str) -> Result<(), SmtpError> {
    if address.is_empty() {
        return Err(SmtpError::Invalid(format!("the {what} address is empty")));
    }
    if address
        .chars()
        .any(|c| c.is_control() || c == '<' || c == '>')
    {
        // The address itself stays out of the message: errors get logged.
        return Err(SmtpError::Invalid(format!(
            "the {what} address contains a line break, control character or angle bracket"
        )));
    }
    Ok(())
}

/// A name that goes into a command or the `Message-ID`: letters, digits and `extra`.
fn check_token(what: &str, token: &str, extra: &str) -> Result<(), SmtpError> {
    if token.is_empty()
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    {
        return Err(SmtpError::Invalid(format!(
            "the {what} must be letters, digits and {extra}"
        )));
    }
    Ok(())
}

/// Free text for a header: a line break would start a header of the caller's choosing.
fn check_header_text(what: &str, text: &str) -> Result<(), SmtpError> {
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(SmtpError::Invalid(format!(
            "the {what} contains a line break or control character"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    const FROM: &str = "noreply@tributary.test";
    const TO: &str = "ada@example.com";
    const HELLO: &str = "mail.tributary.test";

    /// A step of the dialogue the fake relay can be told to refuse.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Step {
        Ehlo,
        Helo,
        Mail,
        Rcpt,
        Data,
        Message,
    }

    /// How the fake relay behaves.
    struct Script {
        greeting: String,
        ehlo_reply: String,
        /// Answer this code instead of the usual one at this step.
        refuse: Option<(Step, u16)>,
        close_after_greeting: bool,
    }

    impl Default for Script {
        fn default() -> Script {
            Script {
                greeting: "220 fake.test ESMTP\r\n".into(),
                ehlo_reply: "250 fake.test\r\n".into(),
                refuse: None,
                close_after_greeting: false,
            }
        }
    }

    /// What the fake relay saw.
    #[derive(Debug, Default)]
    struct Seen {
        /// Every command line, CRLF removed, in order (DATA's content excluded).
        commands: Vec<String>,
        mail_from: Option<String>,
        rcpt_to: Vec<String>,
        /// The DATA content as sent, dot-stuffing included, final `.` line excluded.
        raw_data: String,
        /// The DATA content with dot-stuffing undone: the message as a reader gets it.
        data: String,
        /// Whether every line ended with CRLF, as SMTP requires.
        crlf_only: bool,
    }

    /// A one-connection SMTP relay on a free local port; the handle yields what it saw.
    async fn fake_relay(script: Script) -> (SocketAddr, JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let handle = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let (read, mut write) = stream.into_split();
            let mut reader = BufReader::new(read);
            let mut seen = Seen {
                crlf_only: true,
                ..Seen::default()
            };
            write
                .write_all(script.greeting.as_bytes())
                .await
                .expect("greet");
            if script.close_after_greeting {
                return seen;
            }
            let mut in_data = false;
            loop {
                let mut line = String::new();
                // The client may hang up at any point; that ends the session.
                match reader.read_line(&mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                seen.crlf_only &= line.ends_with("\r\n");
                let line = line.trim_end_matches(['\r', '\n']).to_string();
                let (step, usual) = if in_data {
                    if line != "." {
                        seen.raw_data.push_str(&line);
                        seen.raw_data.push_str("\r\n");
                        seen.data.push_str(line.strip_prefix('.').unwrap_or(&line));
                        seen.data.push_str("\r\n");
                        continue;
                    }
                    in_data = false;
                    (Step::Message, "250 2.0.0 queued\r\n".to_string())
                } else {
                    seen.commands.push(line.clone());
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO ") {
                        (Step::Ehlo, script.ehlo_reply.clone())
                    } else if upper.starts_with("HELO ") {
                        (Step::Helo, "250 fake.test\r\n".into())
                    } else if let Some(from) = line.strip_prefix("MAIL FROM:") {
                        seen.mail_from = Some(from.to_string());
                        (Step::Mail, "250 2.1.0 Ok\r\n".into())
                    } else if let Some(to) = line.strip_prefix("RCPT TO:") {
                        seen.rcpt_to.push(to.to_string());
                        (Step::Rcpt, "250 2.1.5 Ok\r\n".into())
                    } else if upper == "DATA" {
                        (Step::Data, "354 End data with <CR><LF>.<CR><LF>\r\n".into())
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                        break;
                    } else {
                        let _ = write.write_all(b"500 5.5.2 what?\r\n").await;
                        continue;
                    }
                };
                let reply = match script.refuse {
                    Some((refused, code)) if refused == step => {
                        format!("{code} 5.0.0 fake refusal of {line}\r\n")
                    }
                    _ => {
                        in_data = step == Step::Data;
                        usual
                    }
                };
                write.write_all(reply.as_bytes()).await.expect("reply");
            }
            seen
        });
        (addr, handle)
    }

    async fn seen(handle: JoinHandle<Seen>) -> Seen {
        timeout(Duration::from_secs(5), handle)
            .await
            .expect("the fake relay finished")
            .expect("the fake relay did not panic")
    }

    fn config(addr: SocketAddr) -> SmtpConfig {
        SmtpConfig {
            relay: addr.to_string(),
            from: FROM.into(),
            hello_name: HELLO.into(),
        }
    }

    fn message<'a>(to: &'a str, subject: &'a str, body: &'a str) -> Message<'a> {
        Message {
            to,
            subject,
            body,
            message_id: "0192f0c4-7b1e-7c3a-9d2e-5f6a7b8c9d0e",
            date_rfc2822: "Tue, 1 Jul 2025 10:52:37 +0000",
        }
    }

    /// The headers (unfolded) and the body of a message as received.
    fn split_message(data: &str) -> (Vec<String>, &str) {
        let (head, body) = data
            .split_once("\r\n\r\n")
            .expect("a blank line after the headers");
        let unfolded = head.replace("\r\n ", " ");
        (unfolded.split("\r\n").map(str::to_string).collect(), body)
    }

    /// Decodes a header value made of RFC 2047 `=?utf-8?B?...?=` words.
    fn decode_words(value: &str) -> String {
        let mut bytes = Vec::new();
        for word in value.split(' ') {
            assert!(word.len() <= 75, "encoded word too long: {word}");
            let inner = word
                .strip_prefix("=?utf-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .expect("an encoded word");
            bytes.extend(STANDARD.decode(inner).expect("base64"));
        }
        String::from_utf8(bytes).expect("utf-8")
    }

    #[tokio::test]
    async fn message_with_dot_lines_and_non_ascii_subject_arrives_intact() {
        let (addr, relay) = fake_relay(Script::default()).await;
        let subject = "Votre paiement de 120 € est en route — merci, Zoë ! 🎉 Ünïcödé";
        let body = "Hello Ada,\n.hidden line\n..two dots\r\n.\nlone CR\rBye\n";
        send(&config(addr), &message(TO, subject, body))
            .await
            .expect("sent");

        let seen = seen(relay).await;
        assert_eq!(
            seen.commands,
            [
                format!("EHLO {HELLO}"),
                format!("MAIL FROM:<{FROM}>"),
                format!("RCPT TO:<{TO}>"),
                "DATA".to_string(),
                "QUIT".to_string(),
            ]
        );
        assert_eq!(seen.mail_from.as_deref(), Some("<noreply@tributary.test>"));
        assert_eq!(seen.rcpt_to, ["<ada@example.com>"]);
        assert!(seen.crlf_only, "every line ends with CRLF");
        // On the wire, every line starting with a dot got another one.
        assert!(
            seen.raw_data
                .contains("\r\n..hidden line\r\n...two dots\r\n..\r\n")
        );

        let (headers, received_body) = split_message(&seen.data);
        assert_eq!(
            received_body,
            "Hello Ada,\r\n.hidden line\r\n..two dots\r\n.\r\nlone CR\r\nBye\r\n"
        );
        for expected in [
            "From: noreply@tributary.test",
            "To: ada@example.com",
            "Date: Tue, 1 Jul 2025 10:52:37 +0000",
            "Message-ID: <0192f0c4-7b1e-7c3a-9d2e-5f6a7b8c9d0e@mail.tributary.test>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ] {
            assert!(
                headers.iter().any(|h| h == expected),
                "missing {expected:?} in {headers:?}"
            );
        }
        let encoded = headers
            .iter()
            .find_map(|h| h.strip_prefix("Subject: "))
            .expect("a Subject header");
        assert!(encoded.is_ascii());
        assert!(
            encoded.contains(' '),
            "a long subject is folded into several words"
        );
        assert_eq!(decode_words(encoded), subject);
    }

    #[tokio::test]
    async fn permanent_refusal_of_the_recipient_is_rejected() {
        let (addr, relay) = fake_relay(Script {
            refuse: Some((Step::Rcpt, 550)),
            ..Script::default()
        })
        .await;
        let error = send(&config(addr), &message(TO, "Hi", "Hello"))
            .await
            .expect_err("refused");

        assert!(error.is_permanent());
        match &error {
            SmtpError::Rejected { step, code, text } => {
                assert_eq!((*step, *code), ("RCPT TO", 550));
                // The relay echoed the address; the error must not carry it into logs.
                assert_eq!(text, "5.0.0 fake refusal of RCPT [address]");
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
        assert!(!error.to_string().contains("ada@"));
        let seen = seen(relay).await;
        assert_eq!(seen.commands.last().map(String::as_str), Some("QUIT"));
        assert!(
            !seen.commands.iter().any(|c| c == "DATA"),
            "{:?}",
            seen.commands
        );
    }

    #[tokio::test]
    async fn temporary_refusal_of_the_sender_is_deferred() {
        let (addr, relay) = fake_relay(Script {
            refuse: Some((Step::Mail, 451)),
            ..Script::default()
        })
        .await;
        let error = send(&config(addr), &message(TO, "Hi", "Hello"))
            .await
            .expect_err("deferred");

        assert!(!error.is_permanent());
        assert!(
            matches!(
                error,
                SmtpError::Deferred {
                    step: "MAIL FROM",
                    code: 451,
                    ..
                }
            ),
            "{error:?}"
        );
        let seen = seen(relay).await;
        assert!(seen.rcpt_to.is_empty());
    }

    #[tokio::test]
    async fn multi_line_replies_are_read_whole() {
        // A client reading one line per reply would fall out of step and meet `250 HELP`
        // where it expects 354.
        let (addr, relay) = fake_relay(Script {
            greeting: "220-fake.test ESMTP\r\n220-no UCE\r\n220 welcome\r\n".into(),
            ehlo_reply: "250-fake.test greets you\r\n250-PIPELINING\r\n250-8BITMIME\r\n\
                         250-SIZE 10485760\r\n250 HELP\r\n"
                .into(),
            ..Script::default()
        })
        .await;
        send(&config(addr), &message(TO, "Weekly report", "All good."))
            .await
            .expect("sent");

        let seen = seen(relay).await;
        assert_eq!(seen.commands.len(), 5, "{:?}", seen.commands);
        assert_eq!(seen.commands[0], format!("EHLO {HELLO}"));
        assert!(seen.data.contains("\r\nSubject: Weekly report\r\n"));
        assert!(seen.data.ends_with("\r\n\r\nAll good.\r\n"));
    }

    #[tokio::test]
    async fn line_break_in_the_recipient_is_refused_before_connecting() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        for to in [
            "ada@example.com\r\nRCPT TO:<eve@example.com>",
            "ada@example.com\nBcc: eve@example.com",
            "ada@example.com>, <eve@example.com",
        ] {
            let error = send(&config(addr), &message(to, "Hi", "Hello"))
                .await
                .expect_err("refused");
            assert!(matches!(error, SmtpError::Invalid(_)), "{error:?}");
            assert!(error.is_permanent());
            assert!(!error.to_string().contains("eve@"), "{error}");
        }
        let subject = send(
            &config(addr),
            &message(TO, "Hi\r\nBcc: eve@example.com", "Hello"),
        )
        .await
        .expect_err("refused");
        assert!(matches!(subject, SmtpError::Invalid(_)), "{subject:?}");
        // Had any of them connected, the connection would be waiting here.
        assert!(
            timeout(Duration::from_millis(200), listener.accept())
                .await
                .is_err(),
            "nothing connected"
        );
    }

    #[tokio::test]
    async fn relay_hanging_up_after_the_greeting_is_worth_retrying() {
        let (addr, relay) = fake_relay(Script {
            close_after_greeting: true,
            ..Script::default()
        })
        .await;
        let error = send(&config(addr), &message(TO, "Hi", "Hello"))
            .await
            .expect_err("failed");

        assert!(!error.is_permanent(), "{error:?}");
        assert!(
            matches!(
                error,
                SmtpError::Deferred {
                    step: "EHLO",
                    code: 451,
                    ..
                }
            ),
            "{error:?}"
        );
        seen(relay).await;
    }

    #[tokio::test]
    async fn refused_ehlo_falls_back_to_helo() {
        let (addr, relay) = fake_relay(Script {
            refuse: Some((Step::Ehlo, 502)),
            ..Script::default()
        })
        .await;
        send(&config(addr), &message(TO, "Hi", "Hello"))
            .await
            .expect("sent");
        let seen = seen(relay).await;
        assert_eq!(
            seen.commands[..2],
            [format!("EHLO {HELLO}"), format!("HELO {HELLO}")]
        );
        assert!(seen.data.ends_with("\r\n\r\nHello\r\n"));
    }

    #[tokio::test]
    async fn overlong_reply_line_is_a_protocol_error() {
        let (addr, _relay) = fake_relay(Script {
            ehlo_reply: format!("250-{}\r\n250 ok\r\n", "x".repeat(MAX_REPLY_LINE_BYTES)),
            ..Script::default()
        })
        .await;
        let error = send(&config(addr), &message(TO, "Hi", "Hello"))
            .await
            .expect_err("failed");
        assert!(matches!(error, SmtpError::Protocol(_)), "{error:?}");
    }

    #[tokio::test]
    async fn too_many_reply_lines_is_a_protocol_error() {
        let (addr, _relay) = fake_relay(Script {
            ehlo_reply: format!("{}250 ok\r\n", "250-more\r\n".repeat(MAX_REPLY_LINES)),
            ..Script::default()
        })
        .await;
        let error = send(&config(addr), &message(TO, "Hi", "Hello"))
            .await
            .expect_err("failed");
        assert!(matches!(error, SmtpError::Protocol(_)), "{error:?}");
    }

    #[tokio::test]
    async fn oversized_body_is_refused() {
        let body = "a".repeat(MAX_BODY_BYTES + 1);
        let config = SmtpConfig {
            relay: "127.0.0.1:9".into(),
            from: FROM.into(),
            hello_name: HELLO.into(),
        };
        let error = send(&config, &message(TO, "Hi", &body))
            .await
            .expect_err("refused");
        assert!(matches!(error, SmtpError::Invalid(_)), "{error:?}");
        assert!(compose(&config, &message(TO, "Hi", &body[1..])).is_ok());
    }

    #[test]
    fn reply_lines_parse() {
        assert_eq!(
            parse_reply_line("250-PIPELINING"),
            Some((250, false, "PIPELINING".into()))
        );
        assert_eq!(parse_reply_line("250 ok"), Some((250, true, "ok".into())));
        assert_eq!(parse_reply_line("354"), Some((354, true, String::new())));
        assert_eq!(parse_reply_line("HTTP/1.1 400 Bad Request"), None);
        assert_eq!(parse_reply_line("25"), None);
        assert_eq!(parse_reply_line("250_ok"), None);
        assert_eq!(parse_reply_line("650 ok"), None);
    }

    #[test]
    fn plain_subjects_stay_plain() {
        assert_eq!(
            encode_subject("Your payout is on its way"),
            "Your payout is on its way"
        );
        assert_eq!(encode_subject(""), "");
        assert_eq!(decode_words(&encode_subject("a =?b?= c")), "a =?b?= c");
        let long = "x".repeat(MAX_HEADER_LINE_BYTES);
        assert_eq!(
            decode_words(&encode_subject(&long).replace("\r\n ", " ")),
            long
        );
    }
}
