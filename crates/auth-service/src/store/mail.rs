//! The mail outbox: a message is written in the transaction of the change that sends it
//! and deleted once an SMTP server has taken it; until then the mailer retries it with
//! backoff, so a mail server that is down loses nothing.

use crate::entities::mail_outbox;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// Puts a message on the outbox, due at once.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn enqueue(
    db: &impl ConnectionTrait,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<Uuid, DbErr> {
    let now = OffsetDateTime::now_utc();
    let id = Uuid::now_v7();
    mail_outbox::ActiveModel {
        id: Set(id),
        recipient: Set(recipient.to_owned()),
        subject: Set(subject.to_owned()),
        body: Set(body.to_owned()),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// Claims up to `limit` due messages for `lease`: their next attempt moves past the
/// lease and their attempts count up, so another replica's mailer leaves them alone
/// meanwhile (PostgreSQL: one statement, `SKIP LOCKED`).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn claim_due(
    db: &impl ConnectionTrait,
    limit: u64,
    lease: time::Duration,
) -> Result<Vec<mail_outbox::Model>, DbErr> {
    let now = OffsetDateTime::now_utc();
    let until = now + lease;
    if db.get_database_backend() == DbBackend::Postgres {
        let stmt = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE mail_outbox SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM mail_outbox WHERE next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *",
            [
                until.into(),
                now.into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        );
        return mail_outbox::Model::find_by_statement(stmt).all(db).await;
    }
    // SQLite (the embedded default): one process, one connection.
    let due = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::NextAttemptAt.lte(now))
        .order_by_asc(mail_outbox::Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await?;
    let mut claimed = Vec::with_capacity(due.len());
    for m in due {
        let mut active: mail_outbox::ActiveModel = m.clone().into();
        active.next_attempt_at = Set(until);
        active.attempts = Set(m.attempts.saturating_add(1));
        claimed.push(active.update(db).await?);
    }
    Ok(claimed)
}

/// The message reached the SMTP server (or can never be delivered): it leaves the outbox,
/// and with it the link it carried.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn remove(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    mail_outbox::Entity::delete_by_id(id)
        .exec(db)
        .await
        .map(|_| ())
}

/// A failed attempt: tried again at `next`, with why it failed kept for operators.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn postpone(
    db: &impl ConnectionTrait,
    id: Uuid,
    next: OffsetDateTime,
    error: &str,
) -> Result<(), DbErr> {
    mail_outbox::ActiveModel {
        id: Set(id),
        next_attempt_at: Set(next),
        last_error: Set(Some(error.chars().take(1000).collect())),
        ..Default::default()
    }
    .update(db)
    .await
    .map(|_| ())
}
