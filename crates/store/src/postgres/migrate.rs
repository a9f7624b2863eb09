//! Schema migrations for PostgreSQL: the SQL files in `crates/store/migrations/postgres`,
//! embedded at compile time, applied in order, each in its own transaction and recorded in
//! `schema_migrations`. An advisory lock makes nodes that start together migrate one at a
//! time: the second finds everything applied.

use super::query::{Db, batch, execute, optional};
use crate::Result;

/// Every migration, in order: (version, SQL). Versions only grow; applied files never change.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_log_applied.sql"),
    ),
    (3, include_str!("../../migrations/postgres/0003_plans.sql")),
    (
        4,
        include_str!("../../migrations/postgres/0004_keyed_commissions.sql"),
    ),
    (
        5,
        include_str!("../../migrations/postgres/0005_billing.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/0006_attribution.sql"),
    ),
    (
        7,
        include_str!("../../migrations/postgres/0007_postbacks.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_lifecycle.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_standing.sql"),
    ),
    (
        10,
        include_str!("../../migrations/postgres/0010_partner_content.sql"),
    ),
    (
        11,
        include_str!("../../migrations/postgres/0011_support.sql"),
    ),
];

/// An arbitrary constant naming the migration lock.
const MIGRATION_LOCK: i64 = 0x7472_6962_7574_6172; // "tributar"

pub async fn run(db: &Db) -> Result<()> {
    batch(db, "BEGIN").await?;
    let applied = apply_all(db).await;
    match applied {
        Ok(()) => batch(db, "COMMIT").await,
        Err(error) => {
            let _ = batch(db, "ROLLBACK").await;
            Err(error)
        }
    }
}

async fn apply_all(db: &Db) -> Result<()> {
    execute(db, "SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    batch(
        db,
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL
        )",
    )
    .await?;
    for &(version, sql) in MIGRATIONS {
        let recorded = optional(
            db,
            "SELECT 1 AS one FROM schema_migrations WHERE version = $1",
            &[&version],
            |_| Ok(()),
        )
        .await?;
        if recorded.is_some() {
            continue;
        }
        batch(db, sql).await?;
        execute(
            db,
            "INSERT INTO schema_migrations (version, applied_at)
             VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "applied PostgreSQL migration");
    }
    Ok(())
}
