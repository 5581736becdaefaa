//! `audit_pii`: the personal data of the audit log's rows, kept out of the hash chain.
//! Written with its row ([`super::audit::append`]), read merged back, and deleted by an
//! erasure, the one delete path near the audit log.

use super::audit::{ids_about, like_literal};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// Deletes the personal data of the company's rows about someone (see
/// [`super::audit::about_user`]); how many rows.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn delete_about(
    db: &impl ConnectionTrait,
    company: Uuid,
    subject: Condition,
) -> Result<u64, DbErr> {
    let delete = Query::delete()
        .from_table(col("audit_pii"))
        .and_where(Expr::col(col("company_id")).eq(company))
        .and_where(Expr::col(col("log_id")).in_subquery(ids_about(company, subject)))
        .to_owned();
    Ok(db.execute(&delete).await?.rows_affected())
}

/// `term` as it appears inside the JSON text of `audit_pii.data`, lower-cased: a pattern
/// for `lower(data) LIKE`.
fn json_pattern(term: &str) -> String {
    let quoted = serde_json::to_string(term).unwrap_or_default();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted);
    format!("%{}%", like_literal(&inner.to_lowercase()))
}

/// Deletes the personal data of rows of no company (failed sign-ins with an unknown
/// email) that holds one of `terms`, ignoring case; how many rows.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn delete_of_no_company_matching(
    db: &impl ConnectionTrait,
    terms: &[String],
) -> Result<u64, DbErr> {
    if terms.is_empty() {
        return Ok(0);
    }
    let mut any = Condition::any();
    for term in terms {
        any = any.add(
            Func::lower(Expr::col(col("data")))
                .like(LikeExpr::new(json_pattern(term)).escape('\\')),
        );
    }
    let delete = Query::delete()
        .from_table(col("audit_pii"))
        .cond_where(
            Condition::all()
                .add(Expr::col(col("company_id")).is_null())
                .add(any),
        )
        .to_owned();
    Ok(db.execute(&delete).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_matched_as_the_json_text_holds_them() {
        assert_eq!(json_pattern("Ada@Example.com"), "%ada@example.com%");
        assert_eq!(json_pattern("O\"Brien_1"), "%o\\\\\"brien\\_1%");
    }
}
