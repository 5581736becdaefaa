//! Companies (tenants).

use crate::entities::company;
use auth_types::CompanyId;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use time::OffsetDateTime;

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find_by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<company::Model>, DbErr> {
    company::Entity::find()
        .filter(company::Column::Name.eq(name))
        .one(db)
        .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn insert(db: &impl ConnectionTrait, name: &str) -> Result<company::Model, DbErr> {
    let now = OffsetDateTime::now_utc();
    company::ActiveModel {
        id: Set(CompanyId::new()),
        name: Set(name.to_owned()),
        mfa_required_roles: Set("[]".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find(
    db: &impl ConnectionTrait,
    id: CompanyId,
) -> Result<Option<company::Model>, DbErr> {
    company::Entity::find_by_id(id).one(db).await
}

/// Sets the roles whose users must use MFA (a JSON array of role names).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn set_mfa_required_roles(
    db: &impl ConnectionTrait,
    id: CompanyId,
    roles_json: String,
) -> Result<(), DbErr> {
    company::ActiveModel {
        id: Set(id),
        mfa_required_roles: Set(roles_json),
        updated_at: Set(OffsetDateTime::now_utc()),
        ..Default::default()
    }
    .update(db)
    .await
    .map(|_| ())
}
