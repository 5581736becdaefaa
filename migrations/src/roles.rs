//! Least privilege in PostgreSQL: one login role per service, owning nothing, with rights
//! on its own tables only. Applied after the migrations by every `migrate` (idempotent:
//! run it again after adding a table to [`GRANTS`]). The migrating role owns the tables;
//! a service role therefore cannot `ALTER TABLE`, `DISABLE TRIGGER` or `TRUNCATE`, nor set
//! `session_replication_role` (superusers only), and each service sees only its own rows
//! of the shared `outbox` (row-level security on `source`).

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};

/// A service's login role and the source its outbox rows carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceRole {
    pub role: &'static str,
    /// The `outbox.source` of its events (`None`: it writes no outbox).
    pub source: Option<&'static str>,
    /// `(table, privileges)` it is granted.
    pub grants: &'static [(&'static str, &'static str)],
    /// The variable `migrate` reads its password from.
    pub password_var: &'static str,
    /// Functions (`name(argument types)`) it may call: `SECURITY DEFINER` ones of the
    /// owner, each doing one thing the role may not do itself.
    pub execute: &'static [&'static str],
}

const OWN: &str = "SELECT, INSERT, UPDATE, DELETE";

/// Empties a drained slot of the outbox (the rotation migration): a service may not
/// truncate a table itself.
const TRUNCATE_SLOT: &str = "outbox_truncate_slot(smallint)";

/// Every service role, with what it may touch.
pub const GRANTS: [ServiceRole; 4] = [
    ServiceRole {
        role: "aip_auth",
        source: Some("auth"),
        grants: &[
            ("companies", OWN),
            ("users", OWN),
            ("user_page_access", OWN),
            ("sessions", OWN),
            ("password_history", OWN),
            ("password_resets", OWN),
            ("mail_outbox", OWN),
            ("user_mfa", OWN),
            ("mfa_recovery_codes", OWN),
            ("outbox", OWN),
        ],
        password_var: "AUTH_DB_PASSWORD",
        execute: &[TRUNCATE_SLOT],
    },
    ServiceRole {
        role: "aip_interview",
        source: Some("interview"),
        grants: &[
            ("candidates", OWN),
            ("interviews", OWN),
            ("interview_participants", OWN),
            ("outbox", OWN),
        ],
        password_var: "INTERVIEW_DB_PASSWORD",
        execute: &[TRUNCATE_SLOT],
    },
    ServiceRole {
        role: "aip_scoring",
        source: Some("scoring"),
        grants: &[
            ("rubrics", OWN),
            ("rubric_versions", OWN),
            ("scorecards", OWN),
            ("outbox", OWN),
        ],
        password_var: "SCORING_DB_PASSWORD",
        execute: &[TRUNCATE_SLOT],
    },
    ServiceRole {
        role: "aip_audit",
        source: None,
        grants: &[
            // Appended and read, never changed: no UPDATE, DELETE or TRUNCATE.
            ("audit_logs", "SELECT, INSERT"),
            ("audit_chain_heads", "SELECT, INSERT, UPDATE"),
            ("audit_daily_counts", "SELECT, INSERT, UPDATE"),
            // Personal data out of the chain: read, written with its row, erased; never
            // rewritten (the chain holds its digest).
            ("audit_pii", "SELECT, INSERT, DELETE"),
            // DELETE: an erased user's own notifications go.
            ("notifications", "SELECT, INSERT, UPDATE, DELETE"),
            // Where chains resume after retention: read by the verifier, written only by
            // `audit-writer retention` as the owner.
            ("audit_chain_anchors", "SELECT"),
        ],
        password_var: "AUDIT_DB_PASSWORD",
        // Next months' partitions of audit_logs, made ahead: it may create no table itself.
        execute: &["audit_ensure_partitions(date, integer)"],
    },
];

/// What a password may hold: it goes into SQL and into URLs unescaped.
fn password_ok(p: &str) -> bool {
    (16..=200).contains(&p.len())
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
}

/// Creates the roles (where the migrating role may: without CREATEROLE a notice, and the
/// grants go to roles that exist), sets the passwords given (`(var, password)`), grants
/// each its tables and nothing else, and puts the outbox under row-level security.
/// SQLite has no roles: nothing to do.
pub async fn apply(db: &DatabaseConnection, passwords: &[(&str, String)]) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (var, password) in passwords {
        if !password_ok(password) {
            return Err(DbErr::Custom(format!(
                "{var} must be 16 to 200 characters of letters, digits, '-', '_', '.' and '~'"
            )));
        }
    }
    for r in GRANTS {
        let password = passwords
            .iter()
            .find(|(var, _)| *var == r.password_var)
            .map(|(_, p)| format!(" PASSWORD '{p}'"))
            .unwrap_or_default();
        let role = r.role;
        // Roles are cluster-wide: another database (another test) may create it at once.
        let mut sql = format!(
            "DO $$ BEGIN \
               BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT{password}; \
               EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
                         WHEN insufficient_privilege THEN RAISE NOTICE 'no CREATEROLE: role {role} not created'; \
               END; \
               IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
        );
        if !password.is_empty() {
            sql.push_str(&format!("ALTER ROLE {role} WITH LOGIN{password}; "));
        }
        sql.push_str(&format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}; \
             GRANT USAGE ON SCHEMA public TO {role}; "
        ));
        for (table, privileges) in r.grants {
            sql.push_str(&format!("GRANT {privileges} ON {table} TO {role}; "));
        }
        for function in r.execute {
            sql.push_str(&format!("GRANT EXECUTE ON FUNCTION {function} TO {role}; "));
        }
        if let Some(source) = r.source {
            sql.push_str(&format!(
                "DROP POLICY IF EXISTS outbox_{role} ON outbox; \
                 CREATE POLICY outbox_{role} ON outbox TO {role} \
                   USING (source = '{source}') WITH CHECK (source = '{source}'); "
            ));
        }
        sql.push_str("END IF; END $$;");
        db.execute_unprepared(&sql).await?;
    }
    db.execute_unprepared("ALTER TABLE outbox ENABLE ROW LEVEL SECURITY")
        .await?;
    Ok(())
}

/// The passwords `migrate` sets, from the environment (`AUTH_DB_PASSWORD`, ...): the
/// variables that are set and not empty.
pub fn passwords_from(get: impl Fn(&str) -> Option<String>) -> Vec<(&'static str, String)> {
    GRANTS
        .iter()
        .filter_map(|r| {
            get(r.password_var)
                .filter(|p| !p.is_empty())
                .map(|p| (r.password_var, p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_go_into_sql_only_when_plain() {
        assert!(password_ok("0123456789abcdef-_.~"));
        assert!(!password_ok("short"));
        assert!(!password_ok("0123456789abcdef'; DROP ROLE x; --"));
        assert!(!password_ok("0123456789abcdef$$"));
    }

    #[test]
    fn no_role_may_change_the_audit_log() {
        let audit = GRANTS.iter().find(|r| r.role == "aip_audit");
        let grants = audit.map(|r| r.grants).unwrap_or_default();
        let logs = grants.iter().find(|(t, _)| *t == "audit_logs");
        assert_eq!(logs.map(|(_, p)| *p), Some("SELECT, INSERT"));
        for r in GRANTS.iter().filter(|r| r.role != "aip_audit") {
            assert!(
                !r.grants.iter().any(|(t, _)| *t == "audit_logs"),
                "{}",
                r.role
            );
        }
    }

    #[test]
    fn the_audit_role_may_erase_personal_data_but_never_rewrite_it() {
        let audit = GRANTS.iter().find(|r| r.role == "aip_audit");
        let grants = audit.map(|r| r.grants).unwrap_or_default();
        let rights = |table: &str| grants.iter().find(|(t, _)| *t == table).map(|(_, p)| *p);
        assert_eq!(rights("audit_pii"), Some("SELECT, INSERT, DELETE"));
        assert_eq!(
            rights("notifications"),
            Some("SELECT, INSERT, UPDATE, DELETE")
        );
        for r in GRANTS.iter().filter(|r| r.role != "aip_audit") {
            assert!(
                !r.grants.iter().any(|(t, _)| *t == "audit_pii"),
                "{}",
                r.role
            );
        }
    }
}
