//! The audit log as a hash chain (issue 14): each row carries its place in its company's
//! chain (`chain_key`: the company, or the nil UUID for events of no company; `chain_seq`
//! from 1), the previous row's `hash` as `prev_hash`, and its own `hash`, an HMAC under a
//! key only the audit-writer holds. `audit_chain_heads` keeps each chain's last link: the
//! writer locks it to append, so concurrent writers cannot fork a chain, and the unique
//! (chain_key, chain_seq) index holds it against any that tried. Rows written before this
//! migration have no link: the verifier counts them as unchained.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    ChainKey,
    ChainSeq,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditChainHeads {
    Table,
    ChainKey,
    Seq,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ColumnDef::new(AuditLogs::ChainKey).uuid().null().to_owned(),
            ColumnDef::new(AuditLogs::ChainSeq)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(AuditLogs::PrevHash)
                .string_len(64)
                .null()
                .to_owned(),
            ColumnDef::new(AuditLogs::Hash)
                .string_len(64)
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLogs::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("uq_audit_logs_chain")
                    .table(AuditLogs::Table)
                    .col(AuditLogs::ChainKey)
                    .col(AuditLogs::ChainSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditChainHeads::Table)
                    .col(
                        ColumnDef::new(AuditChainHeads::ChainKey)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuditChainHeads::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuditChainHeads::Hash)
                            .string_len(64)
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DO $$ BEGIN \
                       IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_writer') THEN \
                         GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO audit_writer; \
                       END IF; \
                     END $$;",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditChainHeads::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("uq_audit_logs_chain")
                    .table(AuditLogs::Table)
                    .to_owned(),
            )
            .await?;
        for col in [
            AuditLogs::Hash,
            AuditLogs::PrevHash,
            AuditLogs::ChainSeq,
            AuditLogs::ChainKey,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLogs::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
