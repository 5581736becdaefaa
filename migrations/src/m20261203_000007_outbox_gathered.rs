//! An outbox entry that gathers repeats (a failed sign-in repeated within a minute) keeps
//! how many it has gathered, so concurrent upserts keep the largest count instead of
//! whichever lands last.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Gathered,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(
                        ColumnDef::new(Outbox::Gathered)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .drop_column(Outbox::Gathered)
                    .to_owned(),
            )
            .await
    }
}
