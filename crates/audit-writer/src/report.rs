//! The security report (security document: compliance reporting): per day, how many
//! sign-ins succeeded and failed, accounts locked, passwords changed and reset,
//! permissions and roles changed, refresh tokens replayed, second factors failed. Read
//! from `audit_daily_counts`, which the writer adds to in the transaction that stores the
//! events: a report over two years reads at most 730 × 10 small rows, however large the
//! log.

use events::Event;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use std::collections::BTreeMap;
use time::Date;
use uuid::Uuid;

/// The report's figures, in column order.
pub const METRICS: [&str; 10] = [
    "logins_succeeded",
    "logins_failed",
    "lockouts",
    "password_changes",
    "password_reset_requests",
    "password_resets",
    "permission_changes",
    "role_changes",
    "token_reuse_detections",
    "mfa_failures",
];

/// The figure an event adds to, and by how much (a failed sign-in gathered from a
/// minute's repeats counts its `attempts`). `None`: not in the report.
pub fn metric_of(e: &Event) -> Option<(&'static str, i64)> {
    let metric = match e.kind.as_str() {
        "LOGIN" => "logins_succeeded",
        "LOGIN_FAILED" => {
            let attempts = e
                .details
                .get("attempts")
                .and_then(serde_json::Value::as_i64);
            return Some(("logins_failed", std::cmp::max(attempts.unwrap_or(1), 1)));
        }
        "ACCOUNT_LOCKED" => "lockouts",
        "PASSWORD_CHANGED" => "password_changes",
        "PASSWORD_RESET_REQUESTED" => "password_reset_requests",
        "PASSWORD_RESET" => "password_resets",
        "PERMISSION_CHANGED" => "permission_changes",
        "USER_UPDATED" if e.details.get("role").is_some() => "role_changes",
        "TOKEN_REUSE_DETECTED" => "token_reuse_detections",
        "MFA_FAILED" => "mfa_failures",
        _ => return None,
    };
    Some((metric, 1))
}

/// What a batch adds: (company key, day, metric) → count.
pub type Counts = BTreeMap<(Uuid, Date, &'static str), i64>;

/// Counts `e` into `counts`.
pub fn count(counts: &mut Counts, e: &Event) {
    if let Some((metric, n)) = metric_of(e) {
        let day = e.time.to_offset(time::UtcOffset::UTC).date();
        *counts
            .entry((crate::chain::chain_of(e.company_id), day, metric))
            .or_insert(0) += n;
    }
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// Adds a batch's counts to the aggregate (one statement).
pub async fn add(db: &impl ConnectionTrait, counts: &Counts) -> Result<(), DbErr> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert
        .into_table(col("audit_daily_counts"))
        .columns(["company_key", "day", "metric", "n"].map(col));
    for ((company, day, metric), n) in counts {
        insert.values_panic([
            (*company).into(),
            (*day).into(),
            (*metric).into(),
            (*n).into(),
        ]);
    }
    insert.on_conflict(
        OnConflict::columns(["company_key", "day", "metric"].map(col))
            .value(
                col("n"),
                Expr::col((col("audit_daily_counts"), col("n")))
                    .add(Expr::col((col("excluded"), col("n")))),
            )
            .to_owned(),
    );
    db.execute(&insert).await.map(|_| ())
}

/// One day of the report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Each of [`METRICS`], zero when nothing happened.
    #[schema(value_type = Object)]
    pub counts: BTreeMap<&'static str, i64>,
}

/// The report: every day from `from` to `to` (both included), and the totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub days: Vec<Day>,
    #[schema(value_type = Object)]
    pub totals: BTreeMap<&'static str, i64>,
}

fn zeros() -> BTreeMap<&'static str, i64> {
    METRICS.iter().map(|m| (*m, 0)).collect()
}

fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The company's report from `from` to `to`, both included.
pub async fn read(
    db: &impl ConnectionTrait,
    company: Uuid,
    from: Date,
    to: Date,
) -> Result<Report, DbErr> {
    let mut q = Query::select();
    q.columns(["day", "metric", "n"].map(col))
        .from(col("audit_daily_counts"))
        .and_where(Expr::col(col("company_key")).eq(company))
        .and_where(Expr::col(col("day")).gte(from))
        .and_where(Expr::col(col("day")).lte(to))
        .order_by(col("day"), Order::Asc);
    let mut by_day: BTreeMap<Date, BTreeMap<&'static str, i64>> = BTreeMap::new();
    let mut totals = zeros();
    for r in db.query_all(&q).await? {
        let day: Date = r.try_get("", "day")?;
        let metric: String = r.try_get("", "metric")?;
        let n: i64 = r.try_get("", "n")?;
        let Some(known) = METRICS.iter().find(|m| **m == metric) else {
            continue;
        };
        *by_day
            .entry(day)
            .or_insert_with(zeros)
            .entry(known)
            .or_insert(0) += n;
        *totals.entry(known).or_insert(0) += n;
    }
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        days.push(Day {
            day: ymd(day),
            counts: by_day.remove(&day).unwrap_or_else(zeros),
        });
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(Report {
        from: ymd(from),
        to: ymd(to),
        days,
        totals,
    })
}

/// The report as CSV: `day,<metric>,...`, a row a day (every cell passes the CSV-injection
/// rule, though none is text a client wrote).
pub fn to_csv(r: &Report) -> String {
    let mut out = String::from("day");
    for m in METRICS {
        out.push(',');
        out.push_str(&service_runtime::csv::field(m));
    }
    out.push_str("\r\n");
    for d in &r.days {
        out.push_str(&service_runtime::csv::field(&d.day));
        for m in METRICS {
            out.push(',');
            out.push_str(&d.counts.get(m).copied().unwrap_or(0).to_string());
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathered_failures_count_their_attempts_and_role_changes_need_a_role() {
        let failed =
            Event::untyped("auth", "LOGIN_FAILED").details(serde_json::json!({"attempts": 7}));
        assert_eq!(metric_of(&failed), Some(("logins_failed", 7)));
        let renamed =
            Event::untyped("auth", "USER_UPDATED").details(serde_json::json!({"full_name": "X"}));
        assert_eq!(metric_of(&renamed), None);
        let promoted =
            Event::untyped("auth", "USER_UPDATED").details(serde_json::json!({"role": "admin"}));
        assert_eq!(metric_of(&promoted), Some(("role_changes", 1)));
        assert_eq!(
            metric_of(&Event::untyped("interview", "CANDIDATE_CREATED")),
            None
        );
    }
}
