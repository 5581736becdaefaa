//! `audit_logs`: appended idempotently by event id; searched newest first by keyset.

use events::Event;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use time::OffsetDateTime;
use uuid::Uuid;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// Inserts the events; one already stored (a redelivery) is skipped.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn append(db: &impl ConnectionTrait, events: &[Event]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    let mut insert = Query::insert();
    insert.into_table(col("audit_logs")).columns(
        [
            "id",
            "company_id",
            "user_id",
            "action",
            "resource_type",
            "resource_id",
            "details",
            "source",
            "trace_parent",
            "occurred_at",
            "created_at",
        ]
        .map(col),
    );
    for e in events {
        let details =
            serde_json::to_string(&e.details).map_err(|err| DbErr::Custom(err.to_string()))?;
        insert.values_panic([
            e.id.into(),
            e.company_id.into(),
            e.actor_user_id.into(),
            e.kind.clone().into(),
            e.resource_type.clone().into(),
            e.resource_id.clone().into(),
            details.into(),
            e.source.clone().into(),
            e.traceparent.clone().into(),
            e.time.into(),
            now.into(),
        ]);
    }
    insert.on_conflict(OnConflict::column(col("id")).do_nothing().to_owned());
    db.execute(&insert).await.map(|_| ())
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub user_id: Option<Uuid>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Continue after this (occurred_at, id), exclusive.
    pub after: Option<(OffsetDateTime, Uuid)>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One company's entries matching the filter, newest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn search(
    db: &impl ConnectionTrait,
    company: Uuid,
    f: &Filter,
    limit: u64,
) -> Result<Vec<Entry>, DbErr> {
    let mut q = Query::select();
    q.columns(
        [
            "id",
            "company_id",
            "user_id",
            "action",
            "resource_type",
            "resource_id",
            "details",
            "source",
            "occurred_at",
        ]
        .map(col),
    )
    .from(col("audit_logs"))
    .and_where(Expr::col(col("company_id")).eq(company));
    if let Some(v) = f.user_id {
        q.and_where(Expr::col(col("user_id")).eq(v));
    }
    if let Some(v) = &f.action {
        q.and_where(Expr::col(col("action")).eq(v.clone()));
    }
    if let Some(v) = &f.resource_type {
        q.and_where(Expr::col(col("resource_type")).eq(v.clone()));
    }
    if let Some(v) = &f.resource_id {
        q.and_where(Expr::col(col("resource_id")).eq(v.clone()));
    }
    if let Some(v) = f.from {
        q.and_where(Expr::col(col("occurred_at")).gte(v));
    }
    if let Some(v) = f.to {
        q.and_where(Expr::col(col("occurred_at")).lt(v));
    }
    if let Some((at, id)) = f.after {
        q.and_where(
            Expr::col(col("occurred_at"))
                .lt(at)
                .or(Expr::col(col("occurred_at"))
                    .eq(at)
                    .and(Expr::col(col("id")).lt(id))),
        );
    }
    q.order_by(col("occurred_at"), Order::Desc)
        .order_by(col("id"), Order::Desc)
        .limit(limit);
    let rows = db.query_all(&q).await?;
    rows.into_iter()
        .map(|r| {
            let details: String = r.try_get("", "details")?;
            Ok(Entry {
                id: r.try_get("", "id")?,
                company_id: r.try_get("", "company_id")?,
                user_id: r.try_get("", "user_id")?,
                action: r.try_get("", "action")?,
                resource_type: r.try_get("", "resource_type")?,
                resource_id: r.try_get("", "resource_id")?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                source: r.try_get("", "source")?,
                created_at: r.try_get("", "occurred_at")?,
            })
        })
        .collect()
}
