//! Reading typed values out of SQLite rows: ids are TEXT uuids, times INTEGER milliseconds,
//! money INTEGER minor units beside a TEXT currency code, JSON as TEXT.

use crate::{Result, StoreError};
use rusqlite::Row;
use tributary_core::{Currency, Money, Timestamp};
use uuid::Uuid;

pub fn uuid(row: &Row<'_>, column: &str) -> Result<Uuid> {
    let text: String = row.get(column)?;
    Uuid::parse_str(&text).map_err(|_| StoreError::Corrupt(format!("{column} is not a uuid")))
}

pub fn opt_uuid(row: &Row<'_>, column: &str) -> Result<Option<Uuid>> {
    let text: Option<String> = row.get(column)?;
    text.map(|text| {
        Uuid::parse_str(&text).map_err(|_| StoreError::Corrupt(format!("{column} is not a uuid")))
    })
    .transpose()
}

pub fn ts(row: &Row<'_>, column: &str) -> Result<Timestamp> {
    Ok(Timestamp::from_millis(row.get(column)?))
}

pub fn opt_ts(row: &Row<'_>, column: &str) -> Result<Option<Timestamp>> {
    let value: Option<i64> = row.get(column)?;
    Ok(value.map(Timestamp::from_millis))
}

pub fn currency(row: &Row<'_>, column: &str) -> Result<Currency> {
    let code: String = row.get(column)?;
    Currency::parse(&code).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub fn money(row: &Row<'_>, amount_column: &str, currency_column: &str) -> Result<Money> {
    Ok(Money::new(
        row.get(amount_column)?,
        currency(row, currency_column)?,
    ))
}

pub fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, column: &str) -> Result<T> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub fn u32_col(row: &Row<'_>, column: &str) -> Result<u32> {
    let value: i64 = row.get(column)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} out of range")))
}

/// A uuid newtype as the TEXT the schema stores.
pub fn opt_text(uuid: Option<Uuid>) -> Option<String> {
    uuid.map(|uuid| uuid.to_string())
}
