//! `audit_logs`: appended idempotently by event id, each row linked into its chain with its
//! personal data split out into `audit_pii`; searched newest first by keyset, with the
//! personal data merged back.

use crate::chain::{ChainKey, ChainedRow, GENESIS, V2, chain_of, to_micros};
use events::Event;
use sea_orm::sea_query::{
    Alias, Condition, Expr, ExprTrait, LikeExpr, LockType, OnConflict, Order, Query,
    SelectStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// A column of `audit_logs`, qualified (the reads join `audit_pii`).
fn logs(name: &str) -> (Alias, Alias) {
    (col("audit_logs"), col(name))
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
/// How the row is linked, and the digest of its personal data (version 2).
const FORM: [&str; 2] = ["chain_version", "pii_digest"];

/// Locks the heads of `chains` for this transaction (created at the genesis where new),
/// in one statement each way whatever their number: their last positions and links. The
/// rows are created and locked in the order of their keys, so writers locking
/// overlapping sets never wait for each other in a circle.
async fn lock_heads(
    db: &impl ConnectionTrait,
    chains: &BTreeSet<Uuid>,
) -> Result<BTreeMap<Uuid, (i64, String)>, DbErr> {
    let mut create = Query::insert();
    create
        .into_table(col("audit_chain_heads"))
        .columns(["chain_key", "seq", "hash"].map(col))
        .on_conflict(OnConflict::column(col("chain_key")).do_nothing().to_owned());
    for chain in chains {
        create.values_panic([(*chain).into(), 0_i64.into(), GENESIS.into()]);
    }
    db.execute(&create).await?;
    let mut q = Query::select();
    q.columns(["chain_key", "seq", "hash"].map(col))
        .from(col("audit_chain_heads"))
        .and_where(Expr::col(col("chain_key")).is_in(chains.iter().copied()))
        .order_by(col("chain_key"), Order::Asc);
    // SQLite (the embedded default) has one connection: its transactions are serial.
    if db.get_database_backend() == DbBackend::Postgres {
        q.lock(LockType::Update);
    }
    let heads: BTreeMap<Uuid, (i64, String)> = db
        .query_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("", "chain_key")?,
                (r.try_get("", "seq")?, r.try_get("", "hash")?),
            ))
        })
        .collect::<Result<_, DbErr>>()?;
    if let Some(missing) = chains.iter().find(|c| !heads.contains_key(c)) {
        return Err(DbErr::RecordNotFound(format!("audit chain head {missing}")));
    }
    Ok(heads)
}

/// Moves the heads to their chains' new last rows: one statement on PostgreSQL.
async fn move_heads(
    db: &impl ConnectionTrait,
    heads: BTreeMap<Uuid, (i64, String)>,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        for (chain, (seq, hash)) in heads {
            let mut update = Query::update();
            update
                .table(col("audit_chain_heads"))
                .values([(col("seq"), seq.into()), (col("hash"), hash.into())])
                .and_where(Expr::col(col("chain_key")).eq(chain));
            db.execute(&update).await?;
        }
        return Ok(());
    }
    let mut rows = Vec::with_capacity(heads.len());
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(heads.len() * 3);
    for (i, (chain, (seq, hash))) in heads.into_iter().enumerate() {
        let n = i * 3;
        rows.push(format!(
            "(${}::uuid, ${}::bigint, ${})",
            n + 1,
            n + 2,
            n + 3
        ));
        values.extend([chain.into(), seq.into(), hash.into()]);
    }
    let sql = format!(
        "UPDATE audit_chain_heads AS h SET seq = v.seq, hash = v.hash \
         FROM (VALUES {}) AS v(chain_key, seq, hash) WHERE h.chain_key = v.chain_key",
        rows.join(", ")
    );
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .map(|_| ())
}

/// How much earlier than an event's own time its row may have been stored, at most: the
/// clocks of the service that made it and of the writer may differ. Bounds the look for
/// an already stored event to the months it can be in.
const CLOCK_SKEW: time::Duration = time::Duration::days(1);

/// Inserts the events, each linked into its company's chain ([`crate::chain`], version
/// 2: the personal data of `details` goes to `audit_pii`, its digest into the link); one
/// already stored (a redelivery) or twice in the batch is skipped and takes no link.
/// The chains' heads are locked first, in a fixed order: concurrent writers append to a
/// chain one after the other, and the check for stored events sees what the one before
/// committed: an event is stored once (a redelivery goes to the same chain, so it waits
/// for the lock and then finds its row). Gives the events stored.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn append<'e>(
    db: &impl ConnectionTrait,
    key: &ChainKey,
    events: &'e [Event],
) -> Result<Vec<&'e Event>, DbErr> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let chains: BTreeSet<Uuid> = events.iter().map(|e| chain_of(e.company_id)).collect();
    let mut heads = lock_heads(db, &chains).await?;
    // A stored event was stored after it happened: only the months since can hold it.
    let earliest = events
        .iter()
        .map(|e| e.time)
        .min()
        .unwrap_or_else(OffsetDateTime::now_utc)
        - CLOCK_SKEW;
    // By the primary key (`id` first), always: a month's partition filling faster than
    // autovacuum analyzes it looks small to the planner, which then scanned all of it, or
    // a whole other index, for the batch's ids (measured: 0.9 s a batch at 100,000 rows,
    // and longer as it grows; 1 ms this way). One array parameter: one statement for
    // every batch size.
    let stored = if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("SET LOCAL enable_seqscan = off")
            .await?;
        let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        let stored = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT id FROM audit_logs WHERE id = ANY($1) AND created_at >= $2",
                [ids.into(), earliest.into()],
            ))
            .await;
        db.execute_unprepared("SET LOCAL enable_seqscan = on")
            .await?;
        stored
    } else {
        let mut ids = Query::select();
        ids.column(col("id"))
            .from(col("audit_logs"))
            .and_where(Expr::col(col("id")).is_in(events.iter().map(|e| e.id)))
            .and_where(Expr::col(col("created_at")).gte(earliest));
        db.query_all(&ids).await
    };
    let mut skip: HashSet<Uuid> = stored?
        .iter()
        .map(|r| r.try_get::<Uuid>("", "id"))
        .collect::<Result<_, _>>()?;
    let now = to_micros(OffsetDateTime::now_utc());
    let mut insert = Query::insert();
    insert.into_table(col("audit_logs")).columns(
        ROW.iter()
            .chain(&["chain_key"])
            .chain(&LINK)
            .chain(&FORM)
            .map(|c| col(c)),
    );
    let mut personal = Query::insert();
    personal
        .into_table(col("audit_pii"))
        .columns(["log_id", "company_id", "data"].map(col));
    let mut stored = Vec::new();
    let mut personal_rows = 0_usize;
    let mut counts = crate::report::Counts::new();
    for e in events {
        if !skip.insert(e.id) {
            continue;
        }
        crate::report::count(&mut counts, e);
        let split = crate::pii::split(&e.details).map_err(|err| DbErr::Custom(err.to_string()))?;
        let digest = split.pii.as_deref().map(|data| key.pii_digest(e.id, data));
        let chain = chain_of(e.company_id);
        let Some((seq, last)) = heads.get_mut(&chain) else {
            return Err(DbErr::Custom(format!("no head locked for chain {chain}")));
        };
        let occurred_at = to_micros(e.time);
        let row = ChainedRow {
            version: V2,
            seq: *seq + 1,
            id: e.id,
            company_id: e.company_id,
            user_id: e.actor_user_id,
            action: &e.kind,
            resource_type: e.resource_type.as_deref(),
            resource_id: e.resource_id.as_deref(),
            details: &split.details,
            pii_digest: digest.as_deref(),
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
            split.details.clone().into(),
            e.source.clone().into(),
            e.traceparent.clone().into(),
            occurred_at.into(),
            now.into(),
            chain.into(),
            row.seq.into(),
            last.clone().into(),
            link.clone().into(),
            V2.into(),
            digest.clone().into(),
        ]);
        if let Some(data) = split.pii {
            personal.values_panic([e.id.into(), e.company_id.into(), data.into()]);
            personal_rows += 1;
        }
        *seq = row.seq;
        *last = link;
        stored.push(e);
    }
    if stored.is_empty() {
        return Ok(stored);
    }
    db.execute(&insert).await?;
    if personal_rows > 0 {
        db.execute(&personal).await?;
    }
    crate::report::add(db, &counts).await?;
    move_heads(db, heads).await?;
    Ok(stored)
}

/// Rows of `audit_logs` with their personal data (`pii_data`, null when there is none or
/// it was erased): every column the chain covers, the link and the form.
fn with_pii() -> SelectStatement {
    let mut q = Query::select();
    q.columns(ROW.iter().chain(&LINK).chain(&FORM).map(|c| logs(c)))
        .expr_as(Expr::col((col("audit_pii"), col("data"))), col("pii_data"))
        .from(col("audit_logs"))
        .left_join(
            col("audit_pii"),
            Expr::col((col("audit_pii"), col("log_id"))).equals(logs("id")),
        );
    q
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
    pub chain_version: i16,
    pub pii_digest: Option<String>,
    /// The row's `audit_pii.data`, if it is there.
    pub pii: Option<String>,
}

impl StoredRow {
    pub fn chained(&self) -> ChainedRow<'_> {
        ChainedRow {
            version: self.chain_version,
            pii_digest: self.pii_digest.as_deref(),
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
    let mut q = with_pii();
    q.and_where(Expr::col(logs("chain_key")).eq(chain))
        .and_where(Expr::col(logs("chain_seq")).gt(after_seq))
        .order_by(logs("chain_seq"), Order::Asc)
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
                chain_version: r.try_get("", "chain_version")?,
                pii_digest: r.try_get("", "pii_digest")?,
                pii: r.try_get("", "pii_data")?,
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

/// Where a chain resumes after retention dropped its oldest rows: the position and link
/// of the last row dropped (`audit_chain_anchors`).
pub async fn anchor(
    db: &impl ConnectionTrait,
    chain: Uuid,
) -> Result<Option<(i64, String)>, DbErr> {
    let mut q = Query::select();
    q.columns(["seq", "hash"].map(col))
        .from(col("audit_chain_anchors"))
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
    /// What changed, the personal data (email, name, address, ...) merged back unless
    /// it was erased.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The entry had personal data and it was erased (a user's or candidate's erasure):
    /// `details` holds the rest.
    pub pii_erased: bool,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn entry(r: &sea_orm::QueryResult) -> Result<Entry, DbErr> {
    let details: String = r.try_get("", "details")?;
    let pii: Option<String> = r.try_get("", "pii_data")?;
    let digest: Option<String> = r.try_get("", "pii_digest")?;
    Ok(Entry {
        id: r.try_get("", "id")?,
        company_id: r.try_get("", "company_id")?,
        user_id: r.try_get("", "user_id")?,
        action: r.try_get("", "action")?,
        resource_type: r.try_get("", "resource_type")?,
        resource_id: r.try_get("", "resource_id")?,
        details: crate::pii::merge(&details, pii.as_deref()),
        pii_erased: digest.is_some() && pii.is_none(),
        source: r.try_get("", "source")?,
        created_at: r.try_get("", "occurred_at")?,
    })
}

/// One company's entries matching the filter, newest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn search(
    db: &impl ConnectionTrait,
    company: Uuid,
    f: &Filter,
    limit: u64,
) -> Result<Vec<Entry>, DbErr> {
    let mut q = with_pii();
    q.and_where(Expr::col(logs("company_id")).eq(company));
    if let Some(v) = f.user_id {
        q.and_where(Expr::col(logs("user_id")).eq(v));
    }
    if let Some(v) = &f.action {
        q.and_where(Expr::col(logs("action")).eq(v.clone()));
    }
    if let Some(v) = &f.resource_type {
        q.and_where(Expr::col(logs("resource_type")).eq(v.clone()));
    }
    if let Some(v) = &f.resource_id {
        q.and_where(Expr::col(logs("resource_id")).eq(v.clone()));
    }
    if let Some(v) = f.from {
        q.and_where(Expr::col(logs("occurred_at")).gte(v));
    }
    if let Some(v) = f.to {
        q.and_where(Expr::col(logs("occurred_at")).lt(v));
    }
    if let Some((at, id)) = f.after {
        q.and_where(
            Expr::col(logs("occurred_at"))
                .lt(at)
                .or(Expr::col(logs("occurred_at"))
                    .eq(at)
                    .and(Expr::col(logs("id")).lt(id))),
        );
    }
    q.order_by(logs("occurred_at"), Order::Desc)
        .order_by(logs("id"), Order::Desc)
        .limit(limit);
    db.query_all(&q).await?.iter().map(entry).collect()
}

/// `s` matched literally by a `LIKE ... ESCAPE '\\'` pattern.
pub fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The rows about a user: done by them, or to them.
pub fn about_user(user: Uuid) -> Condition {
    Condition::any()
        .add(Expr::col(logs("user_id")).eq(user))
        .add(
            Expr::col(logs("resource_type"))
                .eq("user")
                .and(Expr::col(logs("resource_id")).eq(user.to_string())),
        )
}

/// The rows about a candidate: the candidate itself, what names it in `details` (its
/// interviews' events carry `candidate_id`), and the `interviews` given.
pub fn about_candidate(candidate: Uuid, interviews: &[Uuid]) -> Condition {
    // `details` is compact JSON written by `serde_json`: the key and value exactly so.
    let named = format!(
        "%{}%",
        like_literal(&format!("\"candidate_id\":\"{candidate}\""))
    );
    let mut c = Condition::any()
        .add(
            Expr::col(logs("resource_type"))
                .eq("candidate")
                .and(Expr::col(logs("resource_id")).eq(candidate.to_string())),
        )
        .add(Expr::col(logs("details")).like(LikeExpr::new(named).escape('\\')));
    if !interviews.is_empty() {
        c = c.add(
            Expr::col(logs("resource_type"))
                .eq("interview")
                .and(Expr::col(logs("resource_id")).is_in(interviews.iter().map(Uuid::to_string))),
        );
    }
    c
}

/// Every entry of the company about someone (see [`about_user`], [`about_candidate`]),
/// newest first, the personal data merged back: their part of an export.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn about(
    db: &impl ConnectionTrait,
    company: Uuid,
    subject: Condition,
) -> Result<Vec<Entry>, DbErr> {
    let mut q = with_pii();
    q.cond_where(of_company(company, subject))
        .order_by(logs("occurred_at"), Order::Desc)
        .order_by(logs("id"), Order::Desc);
    db.query_all(&q).await?.iter().map(entry).collect()
}

/// The ids of the company's rows about someone, for a subquery.
pub fn ids_about(company: Uuid, subject: Condition) -> SelectStatement {
    let mut q = Query::select();
    q.column(logs("id"))
        .from(col("audit_logs"))
        .cond_where(of_company(company, subject));
    q
}

/// The company's rows that meet `subject`. (A statement takes one `Condition` or only
/// `and_where`s: sea-query refuses a mix.)
fn of_company(company: Uuid, subject: Condition) -> Condition {
    Condition::all()
        .add(Expr::col(logs("company_id")).eq(company))
        .add(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_text_literally() {
        assert_eq!(
            like_literal(r#""candidate_id":"x""#),
            r#""candidate\_id":"x""#
        );
        assert_eq!(like_literal("100%\\"), "100\\%\\\\");
    }
}
