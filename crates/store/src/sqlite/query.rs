//! Running one statement. Every statement goes through the connection's prepared-statement
//! cache, so it is parsed once per connection; all of these run synchronously (a statement
//! takes microseconds, less than any hop to another thread).

use crate::{Result, StoreError};
use rusqlite::{Connection, Params, Row};

/// Runs a statement that returns no rows; answers how many rows it changed.
pub fn execute(db: &Connection, sql: &str, params: impl Params) -> Result<usize> {
    Ok(db.prepare_cached(sql)?.execute(params)?)
}

/// Runs an insert; a broken uniqueness, foreign-key or check rule is a
/// [`StoreError::Conflict`].
pub fn insert(db: &Connection, sql: &str, params: impl Params) -> Result<()> {
    db.prepare_cached(sql)?.execute(params).map_err(classify)?;
    Ok(())
}

/// The first row, if any, mapped by `map`.
pub fn optional<T>(
    db: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut statement = db.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    match rows.next()? {
        Some(row) => map(row).map(Some),
        None => Ok(None),
    }
}

/// Every row, mapped by `map`. Callers bound the row count in SQL (`LIMIT`) or by schema.
pub fn all<T>(
    db: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut statement = db.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(map(row)?);
    }
    Ok(found)
}

/// Maps a uniqueness, foreign-key or check violation to [`StoreError::Conflict`] (the same
/// set sqlx reported as unique / foreign-key / check violations); anything else, NOT NULL
/// and trigger aborts included, stays a database error.
pub fn classify(error: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(failure, message) = &error
        && matches!(
            failure.extended_code,
            ffi::SQLITE_CONSTRAINT_UNIQUE
                | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                | ffi::SQLITE_CONSTRAINT_FOREIGNKEY
                | ffi::SQLITE_CONSTRAINT_CHECK
        )
    {
        return StoreError::Conflict(message.clone().unwrap_or_else(|| failure.to_string()));
    }
    StoreError::from(error)
}
