//! Creating a company and its first admin, idempotently: for operators (the
//! `create-admin` command) and for the embedded default's demo account.

use crate::domain::Email;
use crate::domain::password::{Passwords, check_policy};
use crate::domain::user::full_name;
use crate::store::{companies, users};
use anyhow::{Context, bail};
use auth_types::{CompanyId, Role, UserId};
use sea_orm::{DatabaseConnection, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};

pub struct AdminSpec {
    pub company: String,
    pub email: String,
    pub full_name: String,
    pub password: SecretString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created {
        company: CompanyId,
        user: UserId,
    },
    /// The user already exists; nothing was changed (its password neither).
    AlreadyExists {
        company: CompanyId,
        user: UserId,
    },
}

pub async fn ensure_admin(db: &DatabaseConnection, spec: AdminSpec) -> anyhow::Result<Outcome> {
    let company_name = spec.company.trim();
    if company_name.is_empty() || company_name.chars().count() > 200 {
        bail!("company name must be 1 to 200 characters");
    }
    let email = Email::parse(&spec.email).map_err(|m| anyhow::anyhow!("email {m}"))?;
    let name = full_name(&spec.full_name).map_err(|m| anyhow::anyhow!("full name {m}"))?;
    check_policy(spec.password.expose_secret()).map_err(|m| anyhow::anyhow!("password {m}"))?;

    if let Some(existing) = users::find_by_email(db, &email).await? {
        return Ok(Outcome::AlreadyExists {
            company: existing.company_id,
            user: existing.id,
        });
    }
    let hash = Passwords::new()?.hash(spec.password).await?;
    let txn = db.begin().await?;
    let company = match companies::find_by_name(&txn, company_name).await? {
        Some(c) => c,
        None => companies::insert(&txn, company_name)
            .await
            .context("creating the company")?,
    };
    let user = users::insert(
        &txn,
        users::InsertUser {
            company: company.id,
            email: &email,
            password_hash: hash,
            full_name: &name,
            department: None,
            role: Role::Admin,
            password_change_required: false,
        },
    )
    .await
    .context("creating the admin")?;
    txn.commit().await?;
    Ok(Outcome::Created {
        company: company.id,
        user: user.id,
    })
}
