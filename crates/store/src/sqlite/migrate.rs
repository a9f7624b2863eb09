//! Schema migrations: the SQL files in `crates/store/migrations/sqlite`, embedded at compile
//! time and applied in order, each in its own transaction, each recorded in
//! `schema_migrations` so a second run applies nothing.

use super::query::{execute, optional};
use crate::Result;
use rusqlite::Connection;

/// Every migration, in order: (version, SQL). Versions only grow; applied files never change.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_plans.sql")),
    (
        3,
        include_str!("../../migrations/sqlite/0003_keyed_commissions.sql"),
    ),
    (4, include_str!("../../migrations/sqlite/0004_billing.sql")),
    (
        5,
        include_str!("../../migrations/sqlite/0005_attribution.sql"),
    ),
    (
        6,
        include_str!("../../migrations/sqlite/0006_postbacks.sql"),
    ),
    (
        7,
        include_str!("../../migrations/sqlite/0007_lifecycle.sql"),
    ),
    (8, include_str!("../../migrations/sqlite/0008_standing.sql")),
    (
        9,
        include_str!("../../migrations/sqlite/0009_partner_content.sql"),
    ),
    (10, include_str!("../../migrations/sqlite/0010_support.sql")),
];

/// Applies the migrations not yet recorded. Runs on the writer connection, outside any
/// transaction.
pub fn run(db: &Connection) -> Result<()> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )?;
    adopt_sqlx_history(db)?;
    for &(version, sql) in MIGRATIONS {
        execute(db, "BEGIN IMMEDIATE", [])?;
        let applied = apply(db, version, sql);
        let ended = match applied {
            Ok(()) => execute(db, "COMMIT", []),
            Err(_) => execute(db, "ROLLBACK", []),
        };
        applied?;
        ended?;
    }
    Ok(())
}

fn apply(db: &Connection, version: i64, sql: &str) -> Result<()> {
    let recorded = optional(
        db,
        "SELECT 1 FROM schema_migrations WHERE version = ?",
        [version],
        |_| Ok(()),
    )?;
    if recorded.is_some() {
        return Ok(());
    }
    db.execute_batch(sql)?;
    execute(
        db,
        "INSERT INTO schema_migrations (version, applied_at)
         VALUES (?, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
        [version],
    )?;
    tracing::info!(version, "applied SQLite migration");
    Ok(())
}

/// Databases created before the move to rusqlite were migrated by sqlx, which recorded its
/// runs in `_sqlx_migrations`. The schema is the same, so its successful versions are taken
/// over as applied rather than run a second time.
fn adopt_sqlx_history(db: &Connection) -> Result<()> {
    let has_sqlx_table = optional(
        db,
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        [],
        |_| Ok(()),
    )?;
    if has_sqlx_table.is_some() {
        execute(
            db,
            "INSERT OR IGNORE INTO schema_migrations (version, applied_at)
             SELECT version, COALESCE(unixepoch(installed_on), 0) * 1000
             FROM _sqlx_migrations WHERE success",
            [],
        )?;
    }
    Ok(())
}
