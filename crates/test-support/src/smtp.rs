//! A real SMTP server for tests (mailin-embedded: the SMTP protocol over TCP, plain, no
//! TLS), on 127.0.0.1 and a free port, keeping every message it receives.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::time::Duration;
//! let server = test_support::smtp::SmtpServer::start()?;
//! // ... point the service's SMTP_URL at server.url(), make it send a mail ...
//! let mail = server.wait_for("ada@example.org", Duration::from_secs(5)).await;
//! assert!(mail.is_some_and(|m| m.subject().contains("Reset")));
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mailin_embedded::{Handler, Response, response};

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), as the client sent them.
    pub to: Vec<String>,
    /// The message as received after `DATA` (headers and body, CRLF line ends, the dots
    /// of dot-stuffed lines removed).
    pub raw: Vec<u8>,
}

impl Received {
    /// The parsed message, if it parses.
    pub fn parsed(&self) -> Option<mail_parser::Message<'_>> {
        mail_parser::MessageParser::default().parse(&self.raw)
    }

    /// The decoded `Subject`, or "".
    pub fn subject(&self) -> String {
        self.parsed()
            .and_then(|m| m.subject().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The first text body, decoded, or "".
    pub fn text_body(&self) -> String {
        self.parsed()
            .and_then(|m| m.body_text(0).map(Cow::into_owned))
            .unwrap_or_default()
    }

    /// The `Message-ID` without its angle brackets, or "".
    pub fn message_id(&self) -> String {
        self.parsed()
            .and_then(|m| m.message_id().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Whether `to` (case-insensitive) is one of the envelope recipients.
    pub fn is_to(&self, to: &str) -> bool {
        self.to.iter().any(|r| r.eq_ignore_ascii_case(to.trim()))
    }
}

/// What all the server's sessions share with the test.
#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    transient_failure: AtomicBool,
    permanent_failure: AtomicBool,
}

impl Shared {
    fn messages(&self) -> std::sync::MutexGuard<'_, Vec<Received>> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The SMTP session handler: one clone per connection, recording into [`Shared`].
#[derive(Clone)]
struct Recorder {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Recorder {
    /// 451 while the test asks for transient failures.
    fn refusal(&self) -> Option<Response> {
        self.shared
            .transient_failure
            .load(Ordering::SeqCst)
            .then(|| {
                Response::custom(
                    451,
                    "4.3.0 Temporary failure (test server), try again later".to_owned(),
                )
            })
    }
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        self.refusal().unwrap_or(response::OK)
    }

    fn rcpt(&mut self, _to: &str) -> Response {
        if self.shared.permanent_failure.load(Ordering::SeqCst) {
            return Response::custom(550, "5.1.1 Mailbox unavailable (test server)".to_owned());
        }
        response::OK
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        if let Some(refusal) = self.refusal() {
            return refusal;
        }
        from.clone_into(&mut self.from);
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        };
        self.shared.messages().push(received);
        response::OK
    }
}

/// An SMTP server on 127.0.0.1 and an OS-chosen port, in a background thread, keeping
/// what it receives. It runs until the test process ends.
pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl SmtpServer {
    /// Binds 127.0.0.1:0 and serves SMTP (no TLS, no authentication) there.
    pub fn start() -> std::io::Result<SmtpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let mut server = mailin_embedded::Server::new(Recorder {
            shared: Arc::clone(&shared),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        });
        server
            .with_name("smtp.test")
            .with_num_threads(4)
            .with_tcp_listener(listener);
        std::thread::Builder::new()
            .name(format!("smtp-test-{}", addr.port()))
            .spawn(move || {
                if let Err(e) = server.serve() {
                    eprintln!("test SMTP server on {addr} stopped: {e}");
                }
            })?;
        Ok(SmtpServer { addr, shared })
    }

    /// `smtp://127.0.0.1:PORT`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// While `on`, `MAIL FROM` and `DATA` are answered `451` (a transient failure, for a
    /// retry test); nothing is recorded.
    pub fn set_transient_failure(&self, on: bool) {
        self.shared.transient_failure.store(on, Ordering::SeqCst);
    }

    /// While `on`, every `RCPT TO` is answered `550` (a permanent failure: the mailbox is
    /// unavailable); nothing is recorded.
    pub fn set_permanent_failure(&self, on: bool) {
        self.shared.permanent_failure.store(on, Ordering::SeqCst);
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages().clone()
    }

    /// How many messages were received for `to` (case-insensitive).
    pub fn count_to(&self, to: &str) -> usize {
        self.shared
            .messages()
            .iter()
            .filter(|m| m.is_to(to))
            .count()
    }

    /// Forgets the messages received so far.
    pub fn clear(&self) {
        self.shared.messages().clear();
    }

    /// The latest message for `to` (case-insensitive) once there is one, polling every
    /// 25 ms for at most `timeout`.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> Option<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .shared
                .messages()
                .iter()
                .rev()
                .find(|m| m.is_to(to))
                .cloned();
            if found.is_some() {
                return found;
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A minimal SMTP client: sends lines, reads the (possibly multi-line) replies.
    struct Client {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl Client {
        fn connect(addr: SocketAddr) -> Result<Client, Box<dyn std::error::Error>> {
            let stream = TcpStream::connect(addr)?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut client = Client {
                reader: BufReader::new(stream.try_clone()?),
                writer: stream,
            };
            client.expect(220)?;
            Ok(client)
        }

        /// The code of the next reply (its last line: `NNN text`).
        fn reply(&mut self) -> Result<u16, Box<dyn std::error::Error>> {
            loop {
                let mut line = String::new();
                if self.reader.read_line(&mut line)? == 0 {
                    return Err("connection closed".into());
                }
                let code: u16 = line.get(..3).ok_or("short reply")?.parse()?;
                if line.as_bytes().get(3) != Some(&b'-') {
                    return Ok(code);
                }
            }
        }

        fn expect(&mut self, want: u16) -> TestResult {
            let code = self.reply()?;
            if code != want {
                return Err(format!("expected {want}, got {code}").into());
            }
            Ok(())
        }

        fn command(&mut self, line: &str) -> Result<u16, Box<dyn std::error::Error>> {
            self.writer.write_all(format!("{line}\r\n").as_bytes())?;
            self.reply()
        }

        fn send(&mut self, from: &str, to: &str, message: &str) -> TestResult {
            assert_eq!(self.command("EHLO client.test")?, 250);
            assert_eq!(self.command(&format!("MAIL FROM:<{from}>"))?, 250);
            assert_eq!(self.command(&format!("RCPT TO:<{to}>"))?, 250);
            assert_eq!(self.command("DATA")?, 354);
            // Dot-stuffing: a line that starts with '.' is sent with one more.
            let mut data = String::new();
            let lines = message.strip_suffix("\r\n").unwrap_or(message);
            for line in lines.split("\r\n") {
                if line.starts_with('.') {
                    data.push('.');
                }
                data.push_str(line);
                data.push_str("\r\n");
            }
            data.push_str(".\r\n");
            self.writer.write_all(data.as_bytes())?;
            self.expect(250)?;
            assert_eq!(self.command("QUIT")?, 221);
            Ok(())
        }
    }

    const MESSAGE: &str = "From: Platform <no-reply@example.test>\r\n\
        To: Ada <ada@example.org>\r\n\
        Subject: Reset your password\r\n\
        Message-ID: <abc-123@example.test>\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        \r\n\
        Hello Ada,\r\n\
        .a line that starts with a dot\r\n";

    #[tokio::test]
    async fn receives_a_message_over_smtp() -> TestResult {
        let server = SmtpServer::start()?;
        assert!(server.url().starts_with("smtp://127.0.0.1:"));
        assert_eq!(
            server
                .wait_for("ada@example.org", Duration::from_millis(50))
                .await,
            None
        );

        let addr = server.addr();
        tokio::task::spawn_blocking(move || {
            Client::connect(addr)
                .and_then(|mut c| c.send("no-reply@example.test", "Ada@Example.org", MESSAGE))
                .map_err(|e| e.to_string())
        })
        .await??;

        let got = server
            .wait_for("ada@example.org", Duration::from_secs(5))
            .await
            .ok_or("no message")?;
        assert_eq!(got.from, "no-reply@example.test");
        assert_eq!(got.to, vec!["Ada@Example.org".to_owned()]);
        assert_eq!(got.subject(), "Reset your password");
        assert_eq!(got.message_id(), "abc-123@example.test");
        assert_eq!(
            got.text_body(),
            "Hello Ada,\r\n.a line that starts with a dot\r\n"
        );
        assert_eq!(got.raw, MESSAGE.as_bytes());
        assert_eq!(server.count_to("ADA@example.org"), 1);
        assert_eq!(server.count_to("eve@example.org"), 0);
        assert_eq!(server.messages().len(), 1);
        server.clear();
        assert!(server.messages().is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn refuses_with_451_and_550_when_asked() -> TestResult {
        let server = SmtpServer::start()?;
        let addr = server.addr();

        server.set_transient_failure(true);
        let codes = tokio::task::spawn_blocking(move || {
            let mut client = Client::connect(addr).map_err(|e| e.to_string())?;
            let mut codes = Vec::new();
            for line in ["EHLO client.test", "MAIL FROM:<a@example.test>", "QUIT"] {
                codes.push(client.command(line).map_err(|e| e.to_string())?);
            }
            Ok::<_, String>(codes)
        })
        .await??;
        assert_eq!(codes, [250, 451, 221]);

        server.set_transient_failure(false);
        server.set_permanent_failure(true);
        let codes = tokio::task::spawn_blocking(move || {
            let mut client = Client::connect(addr).map_err(|e| e.to_string())?;
            let mut codes = Vec::new();
            for line in [
                "EHLO client.test",
                "MAIL FROM:<a@example.test>",
                "RCPT TO:<b@example.test>",
                "QUIT",
            ] {
                codes.push(client.command(line).map_err(|e| e.to_string())?);
            }
            Ok::<_, String>(codes)
        })
        .await??;
        assert_eq!(codes, [250, 250, 550, 221]);
        assert!(server.messages().is_empty());
        Ok(())
    }
}
