//! Reading typed values out of SQLite rows.

use crate::{Result, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use tributary_core::{Currency, Money, Timestamp};
use uuid::Uuid;

pub fn uuid(row: &SqliteRow, column: &str) -> Result<Uuid> {
    let text: String = row.try_get(column)?;
    Uuid::parse_str(&text).map_err(|_| StoreError::Corrupt(format!("{column} is not a uuid")))
}

pub fn opt_uuid(row: &SqliteRow, column: &str) -> Result<Option<Uuid>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| {
        Uuid::parse_str(&text).map_err(|_| StoreError::Corrupt(format!("{column} is not a uuid")))
    })
    .transpose()
}

pub fn ts(row: &SqliteRow, column: &str) -> Result<Timestamp> {
    Ok(Timestamp::from_millis(row.try_get(column)?))
}

pub fn opt_ts(row: &SqliteRow, column: &str) -> Result<Option<Timestamp>> {
    let value: Option<i64> = row.try_get(column)?;
    Ok(value.map(Timestamp::from_millis))
}

pub fn currency(row: &SqliteRow, column: &str) -> Result<Currency> {
    let code: String = row.try_get(column)?;
    Currency::parse(&code).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub fn money(row: &SqliteRow, amount_column: &str, currency_column: &str) -> Result<Money> {
    Ok(Money::new(
        row.try_get(amount_column)?,
        currency(row, currency_column)?,
    ))
}

pub fn json<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub fn u32_col(row: &SqliteRow, column: &str) -> Result<u32> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} out of range")))
}

/// Maps a constraint violation to [`StoreError::Conflict`], everything else to `Database`.
pub fn classify(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && (db.is_unique_violation() || db.is_foreign_key_violation() || db.is_check_violation())
    {
        return StoreError::Conflict(db.message().to_string());
    }
    StoreError::Database(error)
}
