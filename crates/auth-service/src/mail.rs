//! How the auth service sends a mail: over an SMTP relay (`SMTP_URL`), or, as the
//! embedded default without one, into a directory of `.eml` files.
//!
//! `SMTP_URL` forms:
//!
//! | URL | connection | default port |
//! | --- | --- | --- |
//! | `smtp://host:port` | plain SMTP; STARTTLS is not attempted | 25 |
//! | `smtp://host:port?tls=starttls` (or `tls=required`) | STARTTLS, required | 587 |
//! | `smtps://host:port` | implicit TLS | 465 |
//!
//! Each may carry `user:password@` before the host (percent-encoded; they are decoded).
//! `SMTP_CA_FILE` adds a PEM root certificate to the Mozilla roots for TLS, for a relay
//! with a self-signed certificate.
//!
//! A failed send says whether to try again: [`MailError::Transient`] (connection refused,
//! time-out, a 4xx reply) is retried by the caller with backoff; [`MailError::Permanent`]
//! (a 5xx reply such as a rejected recipient, an invalid address) is given up and logged.
//! The message keeps its Message-ID (`<{id}@{domain of the sender}>`) across retries, so
//! a resent message can be recognised as the same one.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

/// How long connecting to the relay may take.
pub const SMTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one whole SMTP exchange may take (connect, TLS, the commands and the data):
/// lettre's own timeout covers only the connect.
pub const SMTP_SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// A plain-text mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Becomes the Message-ID `<{id}@{domain of the sender}>`, so a resent message keeps it.
    pub id: Uuid,
    /// The recipient: `addr` or `Name <addr>`.
    pub to: String,
    pub subject: String,
    /// The plain-text body (sent as `text/plain; charset=utf-8`).
    pub text: String,
}

/// Where a mail went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Accepted by the SMTP relay; `reply` is its answer to the data (often a queue id).
    Smtp { reply: String },
    /// Written to this `.eml` file.
    File(PathBuf),
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The mail settings are wrong (`SMTP_URL`, `MAIL_FROM`, `SMTP_CA_FILE`).
    #[error("mail configuration: {0}")]
    Config(String),
    /// Worth trying again later: no connection, a time-out, a 4xx reply, a failed write.
    #[error("mail not sent (temporary failure): {0}")]
    Transient(String),
    /// Trying again won't help: a 5xx reply (a rejected recipient), an invalid address.
    #[error("mail rejected: {0}")]
    Permanent(String),
}

impl MailError {
    /// Whether the caller should try again (with backoff).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP; STARTTLS is not attempted (`smtp://`).
    Plain,
    /// STARTTLS, and the send fails if the relay does not offer it
    /// (`smtp://...?tls=starttls`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    ImplicitTls,
}

/// A parsed `SMTP_URL`. Its `Display` leaves out the credentials.
#[derive(Debug)]
pub struct SmtpUrl {
    /// The host name or IP address (an IPv6 address without its brackets).
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// The user name and password to authenticate with, percent-decoded.
    pub credentials: Option<(String, SecretString)>,
}

impl SmtpUrl {
    /// Parses `smtp://[user:password@]host[:port][?tls=starttls]` or
    /// `smtps://[user:password@]host[:port]`. The error never repeats the URL, which
    /// may hold a password.
    pub fn parse(url: &str) -> Result<SmtpUrl, MailError> {
        let config = |what: &str| MailError::Config(format!("SMTP_URL: {what}"));
        let (scheme, rest) = url
            .trim()
            .split_once("://")
            .ok_or_else(|| config("expected smtp://host:port or smtps://host:port"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (userinfo, hostpart) = match rest.rsplit_once('@') {
            Some((userinfo, hostpart)) => (Some(userinfo), hostpart),
            None => (None, rest),
        };
        let hostport = match hostpart.split_once('/') {
            Some((hostport, "")) => hostport,
            Some(_) => return Err(config("takes no path after the host and port")),
            None => hostpart,
        };

        let mut tls_param = None;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            match pair.split_once('=') {
                Some(("tls", value)) => tls_param = Some(value.to_ascii_lowercase()),
                _ if pair.is_empty() => {}
                _ => {
                    return Err(config(&format!(
                        "unknown parameter '{pair}' (only tls=starttls is known)"
                    )));
                }
            }
        }
        let security = match (scheme.to_ascii_lowercase().as_str(), tls_param.as_deref()) {
            ("smtp", None | Some("none")) => SmtpSecurity::Plain,
            ("smtp", Some("starttls" | "required")) => SmtpSecurity::StartTls,
            ("smtps", None | Some("implicit")) => SmtpSecurity::ImplicitTls,
            ("smtp" | "smtps", Some(other)) => {
                return Err(config(&format!(
                    "unknown tls={other} for {scheme}:// (smtp:// takes tls=starttls, smtps:// \
                     is always TLS)"
                )));
            }
            (other, _) => {
                return Err(config(&format!(
                    "unknown scheme '{other}://' (expected smtp:// or smtps://)"
                )));
            }
        };

        let (host, port) = split_host_port(hostport).map_err(|e| config(&e))?;
        let port = match port {
            Some(port) => port,
            None => match security {
                SmtpSecurity::Plain => 25,
                SmtpSecurity::StartTls => 587,
                SmtpSecurity::ImplicitTls => 465,
            },
        };

        let credentials = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, password) = userinfo
                    .split_once(':')
                    .ok_or_else(|| config("credentials must be user:password"))?;
                let user = percent_decode(user).map_err(|e| config(&format!("user {e}")))?;
                let password =
                    percent_decode(password).map_err(|e| config(&format!("password {e}")))?;
                if user.is_empty() {
                    return Err(config("the user name of the credentials is empty"));
                }
                Some((user, SecretString::from(password)))
            }
        };

        Ok(SmtpUrl {
            host,
            port,
            security,
            credentials,
        })
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.security {
            SmtpSecurity::Plain | SmtpSecurity::StartTls => "smtp",
            SmtpSecurity::ImplicitTls => "smtps",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{scheme}://{host}:{}", self.port)?;
        if self.security == SmtpSecurity::StartTls {
            f.write_str("?tls=starttls")?;
        }
        Ok(())
    }
}

/// `host[:port]` or `[v6][:port]`.
fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| "an IPv6 host needs its closing ']'".to_owned())?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err("unexpected text after the IPv6 host".to_owned()),
            },
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    if host.chars().any(|c| c.is_whitespace() || c == '@') {
        return Err("the host is not a host name".to_owned());
    }
    let port = match port {
        None => None,
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("'{port}' is not a port (1-65535)")),
            Ok(port) => Some(port),
        },
    };
    Ok((host.to_owned(), port))
}

/// `%XX` decoding of a URL's user or password (`+` stays `+`).
fn percent_decode(s: &str) -> Result<String, String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi * 16 + lo),
                _ => return Err("has a '%' not followed by two hex digits".to_owned()),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_not_utf8| "is not UTF-8 once percent-decoded".to_owned())
}

/// An SMTP relay: the client, and where it goes.
pub struct SmtpRelay {
    client: AsyncSmtpTransport<Tokio1Executor>,
    url: SmtpUrl,
    ca_file: Option<PathBuf>,
}

impl fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("url", &self.url.to_string())
            .field("authenticated", &self.url.credentials.is_some())
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// Where [`Mailer`] delivers.
#[derive(Debug)]
pub enum MailTransport {
    /// Over SMTP (`SMTP_URL`).
    Smtp(Box<SmtpRelay>),
    /// Into `.eml` files in this directory (the embedded default without `SMTP_URL`).
    Directory(PathBuf),
}

/// Sends the service's mails from one sender (`MAIL_FROM`).
#[derive(Debug)]
pub struct Mailer {
    from: Mailbox,
    transport: MailTransport,
}

impl Mailer {
    /// A mailer that sends through the relay at `url` (`SMTP_URL`, see the module doc)
    /// as `from` (`MAIL_FROM`: `Name <addr>` or `addr`), trusting the PEM root
    /// certificate(s) in `ca_file` (`SMTP_CA_FILE`) besides the Mozilla roots for TLS.
    /// Nothing is connected yet.
    pub fn smtp(url: &str, from: &str, ca_file: Option<&Path>) -> Result<Mailer, MailError> {
        let from = parse_from(from)?;
        let url = SmtpUrl::parse(url)?;
        let tls = match url.security {
            SmtpSecurity::Plain => {
                if let Some(path) = ca_file {
                    tracing::warn!(
                        ca_file = %path.display(),
                        "SMTP_CA_FILE is ignored: SMTP_URL uses no TLS"
                    );
                }
                Tls::None
            }
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(&url.host, ca_file)?),
            SmtpSecurity::ImplicitTls => Tls::Wrapper(tls_parameters(&url.host, ca_file)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            .port(url.port)
            .tls(tls)
            .timeout(Some(SMTP_CONNECT_TIMEOUT));
        if let Some((user, password)) = &url.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        let ca_file = match url.security {
            SmtpSecurity::Plain => None,
            SmtpSecurity::StartTls | SmtpSecurity::ImplicitTls => ca_file.map(Path::to_path_buf),
        };
        Ok(Mailer {
            from,
            transport: MailTransport::Smtp(Box::new(SmtpRelay {
                client: builder.build(),
                url,
                ca_file,
            })),
        })
    }

    /// A mailer that writes each message as `<dir>/<timestamp>-<id>.eml` (the embedded
    /// default without `SMTP_URL`); `dir` is created at the first send if missing.
    pub fn directory(dir: PathBuf, from: &str) -> Result<Mailer, MailError> {
        Ok(Mailer {
            from: parse_from(from)?,
            transport: MailTransport::Directory(dir),
        })
    }

    /// The sender of every mail.
    pub fn sender(&self) -> &Mailbox {
        &self.from
    }

    /// Where the mails go.
    pub fn transport(&self) -> &MailTransport {
        &self.transport
    }

    /// One line for the start-up log: where mails go and from whom, never the
    /// credentials.
    pub fn describe(&self) -> String {
        match &self.transport {
            MailTransport::Smtp(relay) => {
                let security = match relay.url.security {
                    SmtpSecurity::Plain => "plain, no TLS",
                    SmtpSecurity::StartTls => "STARTTLS required",
                    SmtpSecurity::ImplicitTls => "implicit TLS",
                };
                let mut extras = vec![security.to_owned()];
                if relay.url.credentials.is_some() {
                    extras.push("with credentials".to_owned());
                }
                if let Some(ca) = &relay.ca_file {
                    extras.push(format!("extra CA {}", ca.display()));
                }
                format!(
                    "mail via SMTP {} ({}), from {}",
                    relay.url,
                    extras.join(", "),
                    self.from
                )
            }
            MailTransport::Directory(dir) => format!(
                "mail to .eml files in {} (no SMTP_URL), from {}",
                dir.display(),
                self.from
            ),
        }
    }

    /// The RFC 5322 message of `mail`: From, To, Subject, Message-ID, Date and a
    /// `text/plain; charset=utf-8` body. An invalid recipient is permanent.
    pub fn message(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        let to: Mailbox = mail.to.trim().parse().map_err(|e| {
            MailError::Permanent(format!("invalid recipient address '{}': {e}", mail.to))
        })?;
        // A header is one line: a line break in the subject would start a new header.
        let subject = mail.subject.replace(['\r', '\n'], " ");
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}@{}>", mail.id, self.from.email.domain())))
            .date_now()
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| MailError::Permanent(format!("cannot build the message: {e}")))
    }

    /// Sends `mail`; says where it went, or whether a failure is worth retrying.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<Delivered, MailError> {
        let message = self.message(mail)?;
        match &self.transport {
            MailTransport::Smtp(relay) => relay.send(message).await,
            MailTransport::Directory(dir) => {
                write_eml(dir.clone(), mail.id, message.formatted()).await
            }
        }
    }
}

impl SmtpRelay {
    async fn send(&self, message: Message) -> Result<Delivered, MailError> {
        match tokio::time::timeout(SMTP_SEND_TIMEOUT, self.client.send(message)).await {
            Err(_elapsed) => Err(MailError::Transient(format!(
                "SMTP relay {} did not finish within {} s",
                self.url,
                SMTP_SEND_TIMEOUT.as_secs()
            ))),
            Ok(Ok(response)) => {
                let reply = response.message().collect::<Vec<_>>().join(" ");
                tracing::debug!(relay = %self.url, %reply, "mail accepted by the SMTP relay");
                Ok(Delivered::Smtp { reply })
            }
            Ok(Err(e)) => Err(classify(&self.url, &e)),
        }
    }
}

/// A 5xx reply is permanent; anything else (a 4xx reply, no connection, a time-out, a
/// TLS or protocol failure) may pass.
fn classify(url: &SmtpUrl, e: &lettre::transport::smtp::Error) -> MailError {
    let text = format!("SMTP relay {url}: {e}");
    if e.is_permanent() {
        MailError::Permanent(text)
    } else {
        MailError::Transient(text)
    }
}

fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    from.trim().parse::<Mailbox>().map_err(|e| {
        MailError::Config(format!(
            "MAIL_FROM '{from}' is not a mailbox ('Name <addr>' or 'addr'): {e}"
        ))
    })
}

fn tls_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters, MailError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            MailError::Config(format!("SMTP_CA_FILE {}: cannot read: {e}", path.display()))
        })?;
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            return Err(MailError::Config(format!(
                "SMTP_CA_FILE {}: no PEM certificate in it",
                path.display()
            )));
        }
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| MailError::Config(format!("SMTP_CA_FILE {}: {e}", path.display())))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| MailError::Config(format!("SMTP TLS settings: {e}")))
}

/// Writes `bytes` as `<dir>/<timestamp>-<id>.eml`: into a temporary name in `dir`, then
/// renamed, so a reader never sees half a message.
async fn write_eml(dir: PathBuf, id: Uuid, bytes: Vec<u8>) -> Result<Delivered, MailError> {
    let now = time::OffsetDateTime::now_utc();
    let name = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z-{id}.eml",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    );
    let written = tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
        .await
        .map_err(|e| MailError::Transient(format!("the mail file writer failed: {e}")))?;
    let path = written.map_err(|(path, e)| {
        MailError::Transient(format!("cannot write {}: {e}", path.display()))
    })?;
    tracing::info!(path = %path.display(), mail_id = %id, "mail written to a file");
    Ok(Delivered::File(path))
}

fn write_atomically(
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<PathBuf, (PathBuf, std::io::Error)> {
    std::fs::create_dir_all(dir).map_err(|e| (dir.to_path_buf(), e))?;
    let path = dir.join(name);
    // A dot name: a reader that lists `*.eml` never picks up a half-written one.
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, &path));
    match result {
        Ok(()) => Ok(path),
        Err(e) => {
            std::fs::remove_file(&tmp).ok();
            Err((path, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use mail_parser::MimeHeaders as _;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn mail(to: &str) -> OutgoingMail {
        OutgoingMail {
            id: Uuid::new_v4(),
            to: to.to_owned(),
            subject: "Réinitialisez votre mot de passe".to_owned(),
            text: "Bonjour Ada,\r\n\r\nOuvrez ce lien : https://app.example.test/reset?t=abc\r\n"
                .to_owned(),
        }
    }

    fn config_error(result: Result<impl fmt::Debug, MailError>) -> String {
        match result {
            Err(MailError::Config(message)) => message,
            other => panic!("expected a Config error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_directory_mailer_writes_a_parseable_eml() -> TestResult {
        let dir = std::env::temp_dir().join(format!("mail-test-{}", Uuid::new_v4()));
        let mailer = Mailer::directory(dir.clone(), "Platform <no-reply@example.test>")?;
        let out = mail("Ada Lovelace <ada@example.org>");

        let delivered = mailer.send(&out).await?;
        let Delivered::File(path) = delivered else {
            panic!("expected a file, got {delivered:?}");
        };
        assert_eq!(path.parent(), Some(dir.as_path()));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(name.ends_with(&format!("-{}.eml", out.id)), "{name}");
        // Nothing else is left in the directory (no temporary file).
        assert_eq!(std::fs::read_dir(&dir)?.count(), 1);

        let raw = std::fs::read(&path)?;
        let parsed = mail_parser::MessageParser::default()
            .parse(&raw)
            .ok_or("not a message")?;
        assert_eq!(parsed.subject(), Some(out.subject.as_str()));
        let to = parsed.to().and_then(|a| a.first()).ok_or("no To")?;
        assert_eq!(to.address(), Some("ada@example.org"));
        assert_eq!(to.name(), Some("Ada Lovelace"));
        let from = parsed.from().and_then(|a| a.first()).ok_or("no From")?;
        assert_eq!(from.address(), Some("no-reply@example.test"));
        assert_eq!(
            parsed.message_id(),
            Some(format!("{}@example.test", out.id).as_str())
        );
        assert!(parsed.date().is_some(), "no Date");
        let body = parsed.body_text(0).ok_or("no text body")?;
        assert_eq!(body.replace("\r\n", "\n"), out.text.replace("\r\n", "\n"));
        let content_type = parsed.content_type().ok_or("no Content-Type")?;
        assert_eq!(content_type.ctype(), "text");
        assert_eq!(content_type.subtype(), Some("plain"));
        assert_eq!(
            content_type
                .attribute("charset")
                .map(str::to_ascii_lowercase),
            Some("utf-8".to_owned())
        );

        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_resent_mail_keeps_its_message_id() -> TestResult {
        let mailer = Mailer::directory(std::env::temp_dir(), "no-reply@example.test")?;
        let out = mail("ada@example.org");
        let first = mailer.message(&out)?.formatted();
        let second = mailer.message(&out)?.formatted();
        let id = |raw: &[u8]| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .and_then(|m| m.message_id().map(str::to_owned))
        };
        assert_eq!(id(&first), Some(format!("{}@example.test", out.id)));
        assert_eq!(id(&first), id(&second));
        Ok(())
    }

    #[tokio::test]
    async fn an_invalid_recipient_is_permanent() -> TestResult {
        let dir = std::env::temp_dir().join(format!("mail-test-{}", Uuid::new_v4()));
        let mailer = Mailer::directory(dir.clone(), "no-reply@example.test")?;
        let result = mailer.send(&mail("not an address")).await;
        assert!(matches!(result, Err(MailError::Permanent(_))), "{result:?}");
        assert!(!dir.exists(), "nothing is written for a rejected mail");
        Ok(())
    }

    #[test]
    fn a_subject_stays_one_header_line() -> TestResult {
        let mailer = Mailer::directory(std::env::temp_dir(), "no-reply@example.test")?;
        let mut out = mail("ada@example.org");
        out.subject = "Hello\r\nBcc: eve@example.org".to_owned();
        let raw = mailer.message(&out)?.formatted();
        let parsed = mail_parser::MessageParser::default()
            .parse(&raw)
            .ok_or("not a message")?;
        assert!(parsed.bcc().is_none(), "a header was injected");
        assert!(
            parsed.subject().is_some_and(|s| s.starts_with("Hello")),
            "{:?}",
            parsed.subject()
        );
        Ok(())
    }

    #[test]
    fn smtp_urls_parse() -> TestResult {
        let plain = SmtpUrl::parse("smtp://127.0.0.1:2525")?;
        assert_eq!(plain.host, "127.0.0.1");
        assert_eq!(plain.port, 2525);
        assert_eq!(plain.security, SmtpSecurity::Plain);
        assert!(plain.credentials.is_none());
        assert_eq!(plain.to_string(), "smtp://127.0.0.1:2525");

        let starttls = SmtpUrl::parse("smtp://mail.example.test?tls=starttls")?;
        assert_eq!(starttls.security, SmtpSecurity::StartTls);
        assert_eq!(starttls.port, 587);
        assert_eq!(
            starttls.to_string(),
            "smtp://mail.example.test:587?tls=starttls"
        );
        let required = SmtpUrl::parse("smtp://mail.example.test:2587/?tls=required")?;
        assert_eq!(required.security, SmtpSecurity::StartTls);
        assert_eq!(required.port, 2587);

        let smtps = SmtpUrl::parse("SMTPS://mail.example.test")?;
        assert_eq!(smtps.security, SmtpSecurity::ImplicitTls);
        assert_eq!(smtps.port, 465);
        assert_eq!(SmtpUrl::parse("smtp://relay")?.port, 25);

        let v6 = SmtpUrl::parse("smtp://[::1]:2525")?;
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.port, 2525);
        assert_eq!(v6.to_string(), "smtp://[::1]:2525");
        Ok(())
    }

    #[test]
    fn smtp_url_credentials_are_percent_decoded_and_never_shown() -> TestResult {
        let url = SmtpUrl::parse("smtps://mailer%40example.test:p%40ss%3Aw%2Frd@relay.test:465")?;
        let (user, password) = url.credentials.as_ref().ok_or("no credentials")?;
        assert_eq!(user, "mailer@example.test");
        assert_eq!(password.expose_secret(), "p@ss:w/rd");
        assert_eq!(url.host, "relay.test");
        assert!(!url.to_string().contains("p@ss"));
        assert!(!format!("{url:?}").contains("p@ss"));

        let mailer = Mailer::smtp(
            "smtp://mailer:hunter2@relay.test:2525",
            "Platform <no-reply@example.test>",
            None,
        )?;
        let line = mailer.describe();
        assert!(!line.contains("hunter2"), "{line}");
        assert!(!line.contains("mailer:"), "{line}");
        assert!(line.contains("smtp://relay.test:2525"), "{line}");
        assert!(line.contains("with credentials"), "{line}");
        assert!(line.contains("no-reply@example.test"), "{line}");
        assert!(!format!("{mailer:?}").contains("hunter2"));
        Ok(())
    }

    #[test]
    fn bad_smtp_urls_are_config_errors() {
        let message = config_error(SmtpUrl::parse("http://relay.test:25"));
        assert!(message.contains("unknown scheme 'http://'"), "{message}");
        let message = config_error(SmtpUrl::parse("relay.test:25"));
        assert!(message.contains("smtp://host:port"), "{message}");
        for bad in [
            "smtp://",
            "smtp://:25",
            "smtp://relay.test:0",
            "smtp://relay.test:99999",
            "smtp://relay.test:port",
            "smtp://relay.test:25/path",
            "smtp://relay.test:25?tls=maybe",
            "smtps://relay.test?tls=starttls",
            "smtp://relay.test?foo=bar",
            "smtp://[::1:25",
            "smtp://user@relay.test",
            "smtp://user:pa%zzss@relay.test",
        ] {
            config_error(SmtpUrl::parse(bad));
        }
        // The message never repeats a password.
        let message = config_error(SmtpUrl::parse("smtp://user:s3cret@relay.test:nope"));
        assert!(!message.contains("s3cret"), "{message}");
        let message = config_error(Mailer::smtp("ftp://u:s3cret@h", "a@b.test", None));
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn a_bad_from_is_a_config_error() -> TestResult {
        for bad in ["", "not an address", "Platform <no-reply>", "a@b@c"] {
            let message = config_error(Mailer::directory(PathBuf::from("/tmp"), bad));
            assert!(message.contains("MAIL_FROM"), "{message}");
            config_error(Mailer::smtp("smtp://relay.test:25", bad, None));
        }
        let mailer =
            Mailer::directory(PathBuf::from("/tmp"), " Platform <no-reply@example.test> ")?;
        assert_eq!(mailer.sender().email.to_string(), "no-reply@example.test");
        assert_eq!(mailer.sender().name.as_deref(), Some("Platform"));
        Ok(())
    }

    #[test]
    fn a_bad_ca_file_is_a_config_error() -> TestResult {
        let missing = std::env::temp_dir().join(format!("no-such-ca-{}.pem", Uuid::new_v4()));
        let message = config_error(Mailer::smtp(
            "smtps://relay.test",
            "a@example.test",
            Some(&missing),
        ));
        assert!(message.contains("SMTP_CA_FILE"), "{message}");

        let not_pem = std::env::temp_dir().join(format!("not-a-ca-{}.pem", Uuid::new_v4()));
        std::fs::write(&not_pem, "hello")?;
        let message = config_error(Mailer::smtp(
            "smtp://relay.test?tls=starttls",
            "a@example.test",
            Some(&not_pem),
        ));
        std::fs::remove_file(&not_pem)?;
        assert!(message.contains("no PEM certificate"), "{message}");

        // Without TLS the CA file is not used (only warned about).
        let plain = Mailer::smtp("smtp://relay.test:25", "a@example.test", Some(&missing))?;
        assert!(plain.describe().contains("plain, no TLS"));
        Ok(())
    }

    #[test]
    fn the_directory_mailer_describes_itself() -> TestResult {
        let mailer = Mailer::directory(PathBuf::from("/var/mail-out"), "no-reply@example.test")?;
        let line = mailer.describe();
        assert!(line.contains("/var/mail-out"), "{line}");
        assert!(line.contains("no-reply@example.test"), "{line}");
        Ok(())
    }
}
