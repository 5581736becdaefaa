//! The mailer: drains the mail outbox through the configured transport (SMTP, or `.eml`
//! files without `SMTP_URL`). A message leaves the outbox only once the server took it;
//! a server that is down or answers 4xx gets it again with backoff (1 s doubling to
//! 5 minutes), so nothing is lost. Replicas share the outbox: each claims what it sends.

use crate::mail::{MailError, Mailer, OutgoingMail};
use crate::store::mail;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// How long a claimed message is left to the replica that claimed it.
const LEASE: time::Duration = time::Duration::seconds(60);
/// How often the outbox is looked at without a wake-up (retries fall due).
const POLL: Duration = Duration::from_secs(1);
const MAX_BACKOFF_SECS: i64 = 300;

/// The wait before attempt `attempts + 1`.
fn backoff(attempts: i32) -> time::Duration {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    time::Duration::seconds(2_i64.saturating_pow(exp).min(MAX_BACKOFF_SECS))
}

/// Sends what is due, until the service stops.
pub async fn run(db: DatabaseConnection, mailer: Arc<Mailer>, wake: Arc<tokio::sync::Notify>) {
    loop {
        match drain(&db, &mailer).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "mail outbox unavailable"),
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// One round: what is due, claimed and sent; how many were claimed.
pub async fn drain(db: &DatabaseConnection, mailer: &Mailer) -> Result<usize, sea_orm::DbErr> {
    let due = mail::claim_due(db, 20, LEASE).await?;
    let n = due.len();
    for m in due {
        let outgoing = OutgoingMail {
            id: m.id,
            to: m.recipient.clone(),
            subject: m.subject.clone(),
            text: m.body.clone(),
        };
        match mailer.send(&outgoing).await {
            Ok(delivered) => {
                tracing::info!(mail_id = %m.id, ?delivered, "mail sent");
                metrics::counter!("auth_mail_total", "outcome" => "sent").increment(1);
                mail::remove(db, m.id).await?;
            }
            Err(MailError::Transient(why)) => {
                let next = OffsetDateTime::now_utc() + backoff(m.attempts);
                tracing::warn!(mail_id = %m.id, attempts = m.attempts, error = %why, "mail not sent; will retry");
                metrics::counter!("auth_mail_total", "outcome" => "retry").increment(1);
                mail::postpone(db, m.id, next, &why).await?;
            }
            Err(e) => {
                // Refused for good (a 5xx, an address no server takes): retrying cannot help.
                tracing::error!(mail_id = %m.id, error = %e, "mail refused for good; dropped");
                metrics::counter!("auth_mail_total", "outcome" => "refused").increment(1);
                mail::remove(db, m.id).await?;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes() {
        assert_eq!(backoff(1), time::Duration::seconds(1));
        assert_eq!(backoff(2), time::Duration::seconds(2));
        assert_eq!(backoff(5), time::Duration::seconds(16));
        assert_eq!(backoff(30), time::Duration::seconds(300));
        assert_eq!(backoff(0), time::Duration::seconds(1));
    }
}
