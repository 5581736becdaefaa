//! Persistence: sea-orm queries over the interview tables. Every query is scoped to a
//! company.

pub mod candidates;
pub mod interviews;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition};

/// `LOWER(column) LIKE %needle%`, with the needle's wildcards taken literally.
pub fn contains_ci(column: impl ColumnTrait, needle: &str) -> Condition {
    let escaped: String = needle
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Condition::all().add(
        Expr::expr(Func::lower(Expr::col(column.as_column_ref())))
            .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
    )
}
