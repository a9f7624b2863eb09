//! Reading typed values out of PostgreSQL rows: ids are UUID, times BIGINT milliseconds,
//! money BIGINT minor units beside a TEXT currency code, JSON as TEXT.

use crate::{Result, StoreError};
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use tributary_core::{Currency, Money, Timestamp};
use uuid::Uuid;

/// One column, typed; a missing column or a type the schema does not hold is a corrupt row.
pub fn get<'a, T: FromSql<'a>>(row: &'a Row, column: &str) -> Result<T> {
    row.try_get(column)
        .map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub fn uuid(row: &Row, column: &str) -> Result<Uuid> {
    get(row, column)
}

pub fn opt_uuid(row: &Row, column: &str) -> Result<Option<Uuid>> {
    get(row, column)
}

pub fn ts(row: &Row, column: &str) -> Result<Timestamp> {
    Ok(Timestamp::from_millis(get(row, column)?))
}

pub fn opt_ts(row: &Row, column: &str) -> Result<Option<Timestamp>> {
    let value: Option<i64> = get(row, column)?;
    Ok(value.map(Timestamp::from_millis))
}

pub fn currency(row: &Row, column: &str) -> Result<Currency> {
    let code: &str = get(row, column)?;
    Currency::parse(code).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub fn money(row: &Row, amount_column: &str, currency_column: &str) -> Result<Money> {
    Ok(Money::new(
        get(row, amount_column)?,
        currency(row, currency_column)?,
    ))
}

pub fn json<T: serde::de::DeserializeOwned>(row: &Row, column: &str) -> Result<T> {
    let text: &str = get(row, column)?;
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub fn u32_col(row: &Row, column: &str) -> Result<u32> {
    let value: i64 = get(row, column)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} out of range")))
}
