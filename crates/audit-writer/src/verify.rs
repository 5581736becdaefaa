//! Walking a chain of the audit log: every link recomputed under the chain key, every
//! `prev_hash` and position checked, and the last row held against the chain's head.
//! An edited row breaks its own link; a deleted one leaves a gap in the positions; rows cut
//! off the end leave the head ahead of the last row.
//!
//! A version-2 row's link covers its PII-free details and `pii_digest`, not the personal
//! data: where its `audit_pii` row is there, the data must match the digest (else
//! `pii_mismatch`, as for a side row no digest accounts for); where it is gone, the row
//! was erased and is counted as such, not broken.

use crate::chain::{ChainKey, GENESIS, V2};
use crate::store::audit::{self, StoredRow};
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
    /// row before), `missing_rows` (rows before it were removed), `pii_mismatch` (its
    /// personal data was changed, or is not the data its digest names),
    /// `missing_rows_at_end`.
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
    /// Checked rows whose personal data was erased (their links still hold).
    pub pii_erased: u64,
    /// The chain's last link as recorded: keep a copy outside the database, and a later
    /// report whose chain does not contain it tells you the end was rewritten.
    pub head_hash: Option<String>,
    /// The position of the last row retention removed (`audit-writer retention`): the
    /// chain is checked from the next one, linked to that row's recorded link (`null`:
    /// from the start).
    pub resumes_after: Option<i64>,
}

/// What a row's personal data says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pii {
    /// None, or there and matching its digest.
    Intact,
    /// The digest names data that was deleted: an erasure.
    Erased,
    /// Data its digest does not name (changed, moved from another row, or no digest).
    Mismatch,
}

fn pii(key: &ChainKey, row: &StoredRow) -> Pii {
    let v2 = row.chain_version == V2;
    match (&row.pii, &row.pii_digest) {
        (Some(data), Some(digest)) if v2 && key.pii_digest(row.id, data) == *digest => Pii::Intact,
        (Some(_), _) => Pii::Mismatch,
        (None, Some(_)) if v2 => Pii::Erased,
        // A digest on a version-1 row was never written by the writer.
        (None, Some(_)) => Pii::Mismatch,
        (None, None) => Pii::Intact,
    }
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
    // After retention the chain resumes where the last dropped row left it.
    let anchor = audit::anchor(db, chain).await?;
    let (mut prev, mut expected) = match &anchor {
        Some((seq, hash)) => (hash.clone(), seq + 1),
        None => (GENESIS.to_owned(), 1_i64),
    };
    let mut checked = 0_u64;
    let mut erased = 0_u64;
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
                match pii(key, &row) {
                    Pii::Intact => None,
                    Pii::Erased => {
                        erased += 1;
                        None
                    }
                    Pii::Mismatch => Some("pii_mismatch"),
                }
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
        pii_erased: erased,
        resumes_after: anchor.map(|(seq, _)| seq),
        head_hash: head.map(|(_, h)| h),
    })
}
