//! Users' notifications.

use super::audit::like_literal;
use crate::writer::width;
use events::Notification;
use sea_orm::sea_query::{
    Alias, Condition, Expr, ExprTrait, Func, LikeExpr, OnConflict, Order, Query, SelectStatement,
};
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

/// The company's notifications that meet `which`, newest first, with every column.
fn of_company(company: Uuid, which: Condition) -> SelectStatement {
    let mut q = Query::select();
    q.columns(COLUMNS.map(col))
        .from(col("notifications"))
        .cond_where(in_company(company, which))
        .order_by(col("created_at"), Order::Desc)
        .order_by(col("id"), Order::Desc);
    q
}

/// The company's notifications that meet `which`. (A statement takes one `Condition` or
/// only `and_where`s: sea-query refuses a mix.)
fn in_company(company: Uuid, which: Condition) -> Condition {
    Condition::all()
        .add(Expr::col(col("company_id")).eq(company))
        .add(which)
}

/// Every notification addressed to a user of the company (their export).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn to_user(
    db: &impl ConnectionTrait,
    company: Uuid,
    user: Uuid,
) -> Result<Vec<View>, DbErr> {
    let q = of_company(
        company,
        Condition::all().add(Expr::col(col("user_id")).eq(user)),
    );
    db.query_all(&q).await?.iter().map(view).collect()
}

/// Every notification of the company about a candidate: the candidate itself (as the
/// resource or the candidate it concerns) or one of `interviews`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn about_candidate(
    db: &impl ConnectionTrait,
    company: Uuid,
    candidate: Uuid,
    interviews: &[Uuid],
) -> Result<Vec<View>, DbErr> {
    let mut about = Condition::any()
        .add(
            Expr::col(col("resource_type"))
                .eq("candidate")
                .and(Expr::col(col("resource_id")).eq(candidate.to_string())),
        )
        .add(Expr::col(col("candidate_id")).eq(candidate));
    if !interviews.is_empty() {
        about =
            about
                .add(Expr::col(col("resource_type")).eq("interview").and(
                    Expr::col(col("resource_id")).is_in(interviews.iter().map(Uuid::to_string)),
                ))
                .add(Expr::col(col("interview_id")).is_in(interviews.iter().copied()));
    }
    let q = of_company(company, about);
    db.query_all(&q).await?.iter().map(view).collect()
}

/// Deletes the notifications addressed to a user of the company (their erasure); how
/// many.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn delete_to_user(
    db: &impl ConnectionTrait,
    company: Uuid,
    user: Uuid,
) -> Result<u64, DbErr> {
    let delete = Query::delete()
        .from_table(col("notifications"))
        .and_where(Expr::col(col("company_id")).eq(company))
        .and_where(Expr::col(col("user_id")).eq(user))
        .to_owned();
    Ok(db.execute(&delete).await?.rows_affected())
}

/// The marker an erased term leaves in a notification.
pub const ERASED: &str = "[erased]";

/// `column` with every `term` replaced by [`ERASED`], cut to `max` characters (a term
/// shorter than the marker lengthens the text).
fn replaced(column: &str, term: &str, max: usize) -> Expr {
    // PostgreSQL's substr takes an `integer` length, not a `bigint`.
    let max = i32::try_from(max).unwrap_or(i32::MAX);
    Func::cust(col("substr"))
        .arg(
            Func::cust(col("replace"))
                .arg(Expr::col(col(column)))
                .arg(term)
                .arg(ERASED),
        )
        .arg(1_i32)
        .arg(max)
        .into()
}

/// Replaces every occurrence of each term in the titles and bodies of the company's
/// notifications by [`ERASED`] (case as written: SQL `replace`); how many rows changed.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn scrub(
    db: &impl ConnectionTrait,
    company: Uuid,
    terms: &[String],
) -> Result<u64, DbErr> {
    let mut changed = 0;
    for term in terms {
        let pattern = format!("%{}%", like_literal(term));
        let update = Query::update()
            .table(col("notifications"))
            .value(col("title"), replaced("title", term, width::TITLE))
            .value(col("body"), replaced("body", term, width::BODY))
            .cond_where(in_company(
                company,
                Condition::any()
                    .add(Expr::col(col("title")).like(LikeExpr::new(&pattern).escape('\\')))
                    .add(Expr::col(col("body")).like(LikeExpr::new(&pattern).escape('\\'))),
            ))
            .to_owned();
        changed += db.execute(&update).await?.rows_affected();
    }
    Ok(changed)
}
