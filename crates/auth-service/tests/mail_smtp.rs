//! The auth service's mailer against a real SMTP server (test-support's `SmtpServer`):
//! what arrives, and how failures are classified for the caller's retry.

use std::time::Duration;

use auth_service::mail::{Delivered, MailError, Mailer, OutgoingMail};
use test_support::smtp::SmtpServer;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const FROM: &str = "Platform <no-reply@example.test>";

fn mail(to: &str) -> OutgoingMail {
    OutgoingMail {
        id: Uuid::new_v4(),
        to: to.to_owned(),
        subject: "Réinitialisez votre mot de passe".to_owned(),
        text: "Bonjour Ada,\n\nOuvrez ce lien : https://app.example.test/reset?t=abc\n\
               .une ligne qui commence par un point\n"
            .to_owned(),
    }
}

#[tokio::test]
async fn a_mail_arrives_over_smtp() -> TestResult {
    let server = SmtpServer::start()?;
    let mailer = Mailer::smtp(&server.url(), FROM, None)?;
    assert!(
        mailer.describe().contains(&server.url()),
        "{}",
        mailer.describe()
    );
    let out = mail("Ada Lovelace <ada@example.org>");

    let delivered = mailer.send(&out).await?;
    assert!(matches!(delivered, Delivered::Smtp { .. }), "{delivered:?}");

    let got = server
        .wait_for("ada@example.org", Duration::from_secs(5))
        .await
        .ok_or("no mail arrived")?;
    assert_eq!(got.from, "no-reply@example.test");
    assert_eq!(got.to, vec!["ada@example.org".to_owned()]);
    assert_eq!(got.subject(), out.subject);
    assert_eq!(got.message_id(), format!("{}@example.test", out.id));
    // lettre ends the data with CRLF.CRLF after the message's own final CRLF, so the
    // body received has one more (empty) line.
    assert_eq!(
        got.text_body().replace("\r\n", "\n").trim_end(),
        out.text.trim_end()
    );
    let parsed = got.parsed().ok_or("does not parse")?;
    let from = parsed.from().and_then(|a| a.first()).ok_or("no From")?;
    assert_eq!(from.name(), Some("Platform"));
    assert_eq!(from.address(), Some("no-reply@example.test"));
    assert!(parsed.date().is_some(), "no Date");
    Ok(())
}

#[tokio::test]
async fn a_resent_mail_keeps_its_message_id() -> TestResult {
    let server = SmtpServer::start()?;
    let mailer = Mailer::smtp(&server.url(), FROM, None)?;
    let out = mail("ada@example.org");
    mailer.send(&out).await?;
    mailer.send(&out).await?;
    assert_eq!(server.count_to("ADA@example.org"), 2);
    let ids: Vec<String> = server.messages().iter().map(|m| m.message_id()).collect();
    assert_eq!(ids, vec![format!("{}@example.test", out.id); 2]);
    Ok(())
}

#[tokio::test]
async fn a_4xx_reply_is_transient_and_a_retry_goes_through() -> TestResult {
    let server = SmtpServer::start()?;
    let mailer = Mailer::smtp(&server.url(), FROM, None)?;
    let out = mail("ada@example.org");

    server.set_transient_failure(true);
    let result = mailer.send(&out).await;
    let Err(MailError::Transient(message)) = &result else {
        return Err(format!("expected a transient error, got {result:?}").into());
    };
    assert!(message.contains("451"), "{message}");
    assert!(result.as_ref().is_err_and(MailError::is_transient));
    assert_eq!(server.count_to("ada@example.org"), 0);

    server.set_transient_failure(false);
    mailer.send(&out).await?;
    assert_eq!(server.count_to("ada@example.org"), 1);
    Ok(())
}

#[tokio::test]
async fn a_5xx_reply_is_permanent() -> TestResult {
    let server = SmtpServer::start()?;
    let mailer = Mailer::smtp(&server.url(), FROM, None)?;
    server.set_permanent_failure(true);
    let result = mailer.send(&mail("ada@example.org")).await;
    let Err(MailError::Permanent(message)) = &result else {
        return Err(format!("expected a permanent error, got {result:?}").into());
    };
    assert!(message.contains("550"), "{message}");
    assert!(server.messages().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_closed_port_is_transient() -> TestResult {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{port}"), FROM, None)?;
    let result = mailer.send(&mail("ada@example.org")).await;
    assert!(
        matches!(result, Err(MailError::Transient(_))),
        "expected a transient error, got {result:?}"
    );
    Ok(())
}
