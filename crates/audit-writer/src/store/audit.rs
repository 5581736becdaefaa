//! `audit_logs`: appended idempotently by event id; searched newest first by keyset.

use crate::chain::{ChainKey, ChainedRow, GENESIS, chain_of, to_micros};
use events::Event;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// The columns of a row the chain covers, in the order they are written.
const ROW: [&str; 11] = [
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
];
/// A row's link in its chain.
const LINK: [&str; 3] = ["chain_seq", "prev_hash", "hash"];

/// Locks a chain's head for this transaction (created at the genesis if new): its last
/// sequence number and link.
async fn lock_head(db: &impl ConnectionTrait, chain: Uuid) -> Result<(i64, String), DbErr> {
    let mut create = Query::insert();
    create
        .into_table(col("audit_chain_heads"))
        .columns(["chain_key", "seq", "hash"].map(col))
        .values_panic([chain.into(), 0_i64.into(), GENESIS.into()])
        .on_conflict(OnConflict::column(col("chain_key")).do_nothing().to_owned());
    db.execute(&create).await?;
    let mut q = Query::select();
    q.columns(["seq", "hash"].map(col))
        .from(col("audit_chain_heads"))
        .and_where(Expr::col(col("chain_key")).eq(chain));
    // SQLite (the embedded default) has one connection: its transactions are serial.
    if db.get_database_backend() == DbBackend::Postgres {
        q.lock(LockType::Update);
    }
    let row = db
        .query_one(&q)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("audit chain head {chain}")))?;
    Ok((row.try_get("", "seq")?, row.try_get("", "hash")?))
}

/// Inserts the events, each linked into its company's chain ([`crate::chain`]); one
/// already stored (a redelivery) or twice in the batch is skipped and takes no link.
/// The chains' heads are locked first, in a fixed order: concurrent writers append to a
/// chain one after the other, and the check for stored events sees what the one before
/// committed. Should an event be stored meanwhile anyway, the insert fails (the unique
/// id) rather than leave a gap, and the batch is tried again.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn append(
    db: &impl ConnectionTrait,
    key: &ChainKey,
    events: &[Event],
) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let chains: BTreeSet<Uuid> = events.iter().map(|e| chain_of(e.company_id)).collect();
    let mut heads = BTreeMap::new();
    for chain in chains {
        heads.insert(chain, lock_head(db, chain).await?);
    }
    let mut ids = Query::select();
    ids.column(col("id"))
        .from(col("audit_logs"))
        .and_where(Expr::col(col("id")).is_in(events.iter().map(|e| e.id)));
    let mut skip: HashSet<Uuid> = db
        .query_all(&ids)
        .await?
        .iter()
        .map(|r| r.try_get::<Uuid>("", "id"))
        .collect::<Result<_, _>>()?;
    let now = to_micros(OffsetDateTime::now_utc());
    let mut insert = Query::insert();
    insert.into_table(col("audit_logs")).columns(
        ROW.iter()
            .chain(&["chain_key"])
            .chain(&LINK)
            .map(|c| col(c)),
    );
    let mut rows = 0_usize;
    let mut counts = crate::report::Counts::new();
    for e in events {
        if !skip.insert(e.id) {
            continue;
        }
        crate::report::count(&mut counts, e);
        let details =
            serde_json::to_string(&e.details).map_err(|err| DbErr::Custom(err.to_string()))?;
        let chain = chain_of(e.company_id);
        let Some((seq, last)) = heads.get_mut(&chain) else {
            return Err(DbErr::Custom(format!("no head locked for chain {chain}")));
        };
        let occurred_at = to_micros(e.time);
        let row = ChainedRow {
            seq: *seq + 1,
            id: e.id,
            company_id: e.company_id,
            user_id: e.actor_user_id,
            action: &e.kind,
            resource_type: e.resource_type.as_deref(),
            resource_id: e.resource_id.as_deref(),
            details: &details,
            source: &e.source,
            trace_parent: e.traceparent.as_deref(),
            occurred_at,
            created_at: now,
        };
        let link = key.link(last, &row);
        insert.values_panic([
            e.id.into(),
            e.company_id.into(),
            e.actor_user_id.into(),
            e.kind.clone().into(),
            e.resource_type.clone().into(),
            e.resource_id.clone().into(),
            details.clone().into(),
            e.source.clone().into(),
            e.traceparent.clone().into(),
            occurred_at.into(),
            now.into(),
            chain.into(),
            row.seq.into(),
            last.clone().into(),
            link.clone().into(),
        ]);
        *seq = row.seq;
        *last = link;
        rows += 1;
    }
    if rows == 0 {
        return Ok(());
    }
    db.execute(&insert).await?;
    crate::report::add(db, &counts).await?;
    for (chain, (seq, hash)) in heads {
        let mut update = Query::update();
        update
            .table(col("audit_chain_heads"))
            .values([(col("seq"), seq.into()), (col("hash"), hash.into())])
            .and_where(Expr::col(col("chain_key")).eq(chain));
        db.execute(&update).await?;
    }
    Ok(())
}

/// A row as the verifier reads it.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub details: String,
    pub source: String,
    pub trace_parent: Option<String>,
    pub occurred_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub chain_seq: i64,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredRow {
    pub fn chained(&self) -> ChainedRow<'_> {
        ChainedRow {
            seq: self.chain_seq,
            id: self.id,
            company_id: self.company_id,
            user_id: self.user_id,
            action: &self.action,
            resource_type: self.resource_type.as_deref(),
            resource_id: self.resource_id.as_deref(),
            details: &self.details,
            source: &self.source,
            trace_parent: self.trace_parent.as_deref(),
            occurred_at: self.occurred_at,
            created_at: self.created_at,
        }
    }
}

/// Up to `limit` rows of a chain after `after_seq`, in chain order.
pub async fn chain_rows(
    db: &impl ConnectionTrait,
    chain: Uuid,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<StoredRow>, DbErr> {
    let mut q = Query::select();
    q.columns(ROW.iter().chain(&LINK).map(|c| col(c)))
        .from(col("audit_logs"))
        .and_where(Expr::col(col("chain_key")).eq(chain))
        .and_where(Expr::col(col("chain_seq")).gt(after_seq))
        .order_by(col("chain_seq"), Order::Asc)
        .limit(limit);
    db.query_all(&q)
        .await?
        .into_iter()
        .map(|r| {
            Ok(StoredRow {
                id: r.try_get("", "id")?,
                company_id: r.try_get("", "company_id")?,
                user_id: r.try_get("", "user_id")?,
                action: r.try_get("", "action")?,
                resource_type: r.try_get("", "resource_type")?,
                resource_id: r.try_get("", "resource_id")?,
                details: r.try_get("", "details")?,
                source: r.try_get("", "source")?,
                trace_parent: r.try_get("", "trace_parent")?,
                occurred_at: r.try_get("", "occurred_at")?,
                created_at: r.try_get("", "created_at")?,
                chain_seq: r.try_get("", "chain_seq")?,
                prev_hash: r
                    .try_get::<Option<String>>("", "prev_hash")?
                    .unwrap_or_default(),
                hash: r.try_get::<Option<String>>("", "hash")?.unwrap_or_default(),
            })
        })
        .collect()
}

/// A chain's head as recorded (`None`: nothing ever appended to it).
pub async fn head(db: &impl ConnectionTrait, chain: Uuid) -> Result<Option<(i64, String)>, DbErr> {
    let mut q = Query::select();
    q.columns(["seq", "hash"].map(col))
        .from(col("audit_chain_heads"))
        .and_where(Expr::col(col("chain_key")).eq(chain));
    match db.query_one(&q).await? {
        Some(r) => Ok(Some((r.try_get("", "seq")?, r.try_get("", "hash")?))),
        None => Ok(None),
    }
}

/// Rows of a company written before the chain existed (no link).
pub async fn unchained(db: &impl ConnectionTrait, company: Option<Uuid>) -> Result<i64, DbErr> {
    let mut q = Query::select();
    q.expr_as(Expr::col(col("id")).count(), col("n"))
        .from(col("audit_logs"))
        .and_where(Expr::col(col("chain_seq")).is_null());
    match company {
        Some(c) => q.and_where(Expr::col(col("company_id")).eq(c)),
        None => q.and_where(Expr::col(col("company_id")).is_null()),
    };
    Ok(match db.query_one(&q).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    })
}

/// Every chain that has a head.
pub async fn chains(db: &impl ConnectionTrait) -> Result<Vec<Uuid>, DbErr> {
    let mut q = Query::select();
    q.column(col("chain_key"))
        .from(col("audit_chain_heads"))
        .order_by(col("chain_key"), Order::Asc);
    db.query_all(&q)
        .await?
        .iter()
        .map(|r| r.try_get("", "chain_key"))
        .collect()
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
    q.columns(ROW.map(col))
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
