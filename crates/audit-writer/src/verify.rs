//! Walking a chain of the audit log: every link recomputed under the chain key, every
//! `prev_hash` and position checked, and the last row held against the chain's head.
//! An edited row breaks its own link; a deleted one leaves a gap in the positions; rows cut
//! off the end leave the head ahead of the last row.

use crate::chain::{ChainKey, GENESIS};
use crate::store::audit;
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Rows read a page.
const PAGE: u64 = 5_000;

/// Where a chain first fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Broken {
    /// The first row that does not check out (`null` when rows are missing at the end).
    pub id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// Its position in the chain (for a gap: the position that is missing).
    pub seq: i64,
    /// `hash_mismatch` (the row was changed), `prev_hash_mismatch` (it does not follow the
    /// row before), `missing_rows` (rows before it were removed), `missing_rows_at_end`.
    pub reason: &'static str,
}

/// The verdict on one chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub ok: bool,
    /// Rows whose link was checked.
    pub checked: u64,
    pub first_broken: Option<Broken>,
    /// Rows written before the chain existed, which carry no link.
    pub unchained: i64,
    /// The chain's last link as recorded: keep a copy outside the database, and a later
    /// report whose chain does not contain it tells you the end was rewritten.
    pub head_hash: Option<String>,
}

/// Verifies the chain of `company` (`None`: the events of no company).
pub async fn verify(
    db: &impl ConnectionTrait,
    key: &ChainKey,
    company: Option<Uuid>,
) -> Result<Report, DbErr> {
    let chain = crate::chain::chain_of(company);
    let unchained = audit::unchained(db, company).await?;
    let head = audit::head(db, chain).await?;
    let mut prev = GENESIS.to_owned();
    let mut expected = 1_i64;
    let mut checked = 0_u64;
    let mut broken = None;
    'pages: loop {
        let rows = audit::chain_rows(db, chain, expected - 1, PAGE).await?;
        let done = u64::try_from(rows.len()).unwrap_or(0) < PAGE;
        for row in rows {
            let reason = if row.chain_seq != expected {
                Some("missing_rows")
            } else if row.prev_hash != prev {
                Some("prev_hash_mismatch")
            } else if key.link(&prev, &row.chained()) != row.hash {
                Some("hash_mismatch")
            } else {
                None
            };
            if let Some(reason) = reason {
                broken = Some(Broken {
                    id: Some(row.id),
                    created_at: Some(row.created_at),
                    seq: expected,
                    reason,
                });
                break 'pages;
            }
            checked += 1;
            expected += 1;
            prev = row.hash;
        }
        if done {
            break;
        }
    }
    if broken.is_none()
        && let Some((seq, hash)) = &head
        && (*seq != expected - 1 || *hash != prev)
    {
        broken = Some(Broken {
            id: None,
            created_at: None,
            seq: expected,
            reason: "missing_rows_at_end",
        });
    }
    metrics::counter!("audit_chain_verifications_total", "ok" => if broken.is_none() { "true" } else { "false" })
        .increment(1);
    Ok(Report {
        ok: broken.is_none(),
        checked,
        first_broken: broken,
        unchained,
        head_hash: head.map(|(_, h)| h),
    })
}
