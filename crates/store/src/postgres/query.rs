//! Running one statement on PostgreSQL. Every statement is prepared once per connection
//! (deadpool's statement cache) and then only bound and executed.

use crate::{Result, StoreError};
use deadpool_postgres::Object;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// A pooled connection.
pub type Db = Object;
/// Statement parameters, in `$1, $2, ...` order.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Runs a statement that returns no rows; answers how many rows it changed. A broken
/// uniqueness, foreign-key or check rule is a [`StoreError::Conflict`].
pub async fn execute(db: &Db, sql: &str, params: Params<'_>) -> Result<u64> {
    let statement = db.prepare_cached(sql).await.map_err(classify)?;
    db.execute(&statement, params).await.map_err(classify)
}

/// Runs an insert (see [`execute`] for the errors).
pub async fn insert(db: &Db, sql: &str, params: Params<'_>) -> Result<()> {
    execute(db, sql, params).await.map(|_| ())
}

/// The first row, if any, mapped by `map` (callers ask by a unique key).
pub async fn optional<T>(
    db: &Db,
    sql: &str,
    params: Params<'_>,
    map: impl Fn(&Row) -> Result<T>,
) -> Result<Option<T>> {
    let statement = db.prepare_cached(sql).await.map_err(classify)?;
    let rows = db.query(&statement, params).await.map_err(classify)?;
    rows.first().map(map).transpose()
}

/// Every row, mapped by `map`. Callers bound the row count in SQL (`LIMIT`) or by schema.
pub async fn all<T>(
    db: &Db,
    sql: &str,
    params: Params<'_>,
    map: impl Fn(&Row) -> Result<T>,
) -> Result<Vec<T>> {
    let statement = db.prepare_cached(sql).await.map_err(classify)?;
    let rows = db.query(&statement, params).await.map_err(classify)?;
    rows.iter().map(map).collect()
}

/// Runs SQL without parameters (transaction control, migrations).
pub async fn batch(db: &Db, sql: &str) -> Result<()> {
    db.batch_execute(sql).await.map_err(classify)
}

/// Maps a uniqueness, foreign-key or check violation to [`StoreError::Conflict`], the same
/// set the SQLite backend reports; anything else stays a database error.
pub fn classify(error: tokio_postgres::Error) -> StoreError {
    if let Some(db_error) = error.as_db_error()
        && matches!(
            *db_error.code(),
            SqlState::UNIQUE_VIOLATION
                | SqlState::FOREIGN_KEY_VIOLATION
                | SqlState::CHECK_VIOLATION
        )
    {
        return StoreError::Conflict(db_error.message().to_string());
    }
    match error.as_db_error() {
        Some(db_error) => StoreError::Database(format!(
            "{} ({})",
            db_error.message(),
            db_error.code().code()
        )),
        None => StoreError::Database(error.to_string()),
    }
}
