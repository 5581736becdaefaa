//! Users' notifications.

use events::Notification;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use time::OffsetDateTime;
use uuid::Uuid;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn append(db: &impl ConnectionTrait, notes: &[Notification]) -> Result<(), DbErr> {
    if notes.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert.into_table(col("notifications")).columns(
        [
            "id",
            "company_id",
            "user_id",
            "type",
            "title",
            "body",
            "resource_type",
            "resource_id",
            "interview_id",
            "candidate_id",
            "created_at",
        ]
        .map(col),
    );
    for n in notes {
        insert.values_panic([
            n.id.into(),
            n.company_id.into(),
            n.user_id.into(),
            n.kind.clone().into(),
            n.title.clone().into(),
            n.body.clone().into(),
            n.resource_type.clone().into(),
            n.resource_id.clone().into(),
            n.interview_id.into(),
            n.candidate_id.into(),
            n.time.into(),
        ]);
    }
    insert.on_conflict(OnConflict::column(col("id")).do_nothing().to_owned());
    db.execute(&insert).await.map(|_| ())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct View {
    pub id: Uuid,
    pub user_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// The interview it concerns, if any.
    pub interview_id: Option<Uuid>,
    /// The candidate it concerns, if any.
    pub candidate_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

const COLUMNS: [&str; 11] = [
    "id",
    "user_id",
    "type",
    "title",
    "body",
    "resource_type",
    "resource_id",
    "interview_id",
    "candidate_id",
    "created_at",
    "read_at",
];

fn view(r: &sea_orm::QueryResult) -> Result<View, DbErr> {
    Ok(View {
        id: r.try_get("", "id")?,
        user_id: r.try_get("", "user_id")?,
        kind: r.try_get("", "type")?,
        title: r.try_get("", "title")?,
        body: r.try_get("", "body")?,
        resource_type: r.try_get("", "resource_type")?,
        resource_id: r.try_get("", "resource_id")?,
        interview_id: r.try_get("", "interview_id")?,
        candidate_id: r.try_get("", "candidate_id")?,
        created_at: r.try_get("", "created_at")?,
        read_at: r.try_get("", "read_at")?,
    })
}

/// One user's notifications, newest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn of_user(
    db: &impl ConnectionTrait,
    user: Uuid,
    unread_only: bool,
    skip: u64,
    limit: u64,
) -> Result<Vec<View>, DbErr> {
    let mut q = Query::select();
    q.columns(COLUMNS.map(col))
        .from(col("notifications"))
        .and_where(Expr::col(col("user_id")).eq(user));
    if unread_only {
        q.and_where(Expr::col(col("read_at")).is_null());
    }
    q.order_by(col("created_at"), Order::Desc)
        .order_by(col("id"), Order::Desc)
        .offset(skip)
        .limit(limit);
    db.query_all(&q).await?.iter().map(view).collect()
}

/// Marks one of the user's notifications read (once: the first time counts); `None`
/// when the user has no such notification.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn mark_read(
    db: &impl ConnectionTrait,
    user: Uuid,
    id: Uuid,
) -> Result<Option<View>, DbErr> {
    let update = Query::update()
        .table(col("notifications"))
        .value(col("read_at"), OffsetDateTime::now_utc())
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("user_id")).eq(user))
        .and_where(Expr::col(col("read_at")).is_null())
        .to_owned();
    db.execute(&update).await?;
    let mut q = Query::select();
    q.columns(COLUMNS.map(col))
        .from(col("notifications"))
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("user_id")).eq(user));
    db.query_one(&q).await?.as_ref().map(view).transpose()
}
