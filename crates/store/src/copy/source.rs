//! Reading the SQLite side: the file opened read-only, and every table read in one
//! snapshot as chunks of column arrays, each value converted to its PostgreSQL column's type
//! on the way (a value that does not fit is an error naming the table, column and row).

use super::schema::{ColumnType, TablePlan};
use crate::{Result, StoreError};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// How long a read waits for a lock another process holds on the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The file a `sqlite://PATH` (or `sqlite:PATH`) URL names; the SQLite store's own rule.
pub fn path_from_url(url: &str) -> Result<PathBuf> {
    crate::sqlite::path_from_url(url)
}

/// Opens the source read-only: the copy never changes it, and a missing file is an error
/// rather than a new empty database.
pub fn open(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        return Err(StoreError::Database(format!(
            "no SQLite database at {}",
            path.display()
        )));
    }
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| StoreError::Database(format!("opening {}: {error}", path.display())))?;
    db.busy_timeout(BUSY_TIMEOUT)?;
    Ok(db)
}

/// Rows in each table, in `plan` order.
pub fn counts(db: &Connection, plan: &[TablePlan]) -> Result<Vec<u64>> {
    plan.iter()
        .map(|table| {
            let count: i64 = db.query_row(
                &format!("SELECT COUNT(*) FROM \"{}\"", table.name),
                [],
                |row| row.get(0),
            )?;
            u64::try_from(count)
                .map_err(|_| StoreError::Corrupt(format!("{}: row count {count}", table.name)))
        })
        .collect()
}

/// The months (as counted by the click partitions) that the source's clicks fall in, from
/// the distinct days among them: a few hundred values, whatever the number of clicks.
pub fn click_months(db: &Connection) -> Result<Vec<i64>> {
    // Floor division, as `month_of` does; SQLite's `/` truncates toward zero.
    let mut statement = db.prepare(
        "SELECT DISTINCT CASE WHEN at >= 0 THEN at / 86400000 ELSE (at + 1) / 86400000 - 1 END
         FROM clicks",
    )?;
    let days: Vec<i64> = statement
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut months: Vec<i64> = days
        .into_iter()
        .map(|day| crate::postgres::clicks::month_of(day * 86_400_000))
        .collect();
    months.sort_unstable();
    months.dedup();
    Ok(months)
}

/// One column of a chunk, typed for PostgreSQL.
#[derive(Debug)]
pub enum Values {
    Uuid(Vec<Option<Uuid>>),
    BigInt(Vec<Option<i64>>),
    Boolean(Vec<Option<bool>>),
    Text(Vec<Option<String>>),
}

impl Values {
    fn with_capacity(kind: ColumnType, capacity: usize) -> Values {
        match kind {
            ColumnType::Uuid => Values::Uuid(Vec::with_capacity(capacity)),
            ColumnType::BigInt => Values::BigInt(Vec::with_capacity(capacity)),
            ColumnType::Boolean => Values::Boolean(Vec::with_capacity(capacity)),
            ColumnType::Text => Values::Text(Vec::with_capacity(capacity)),
        }
    }

    /// Appends one SQLite value, converted; the problem otherwise (never the value itself,
    /// which may be an email or a secret).
    fn push(&mut self, value: ValueRef<'_>) -> std::result::Result<(), String> {
        match (self, value) {
            (Values::Uuid(values), ValueRef::Null) => values.push(None),
            (Values::BigInt(values), ValueRef::Null) => values.push(None),
            (Values::Boolean(values), ValueRef::Null) => values.push(None),
            (Values::Text(values), ValueRef::Null) => values.push(None),
            (Values::Uuid(values), ValueRef::Text(bytes)) => {
                let uuid = std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| Uuid::parse_str(text).ok())
                    .ok_or("not a UUID")?;
                values.push(Some(uuid));
            }
            (Values::BigInt(values), ValueRef::Integer(number)) => values.push(Some(number)),
            (Values::Boolean(values), ValueRef::Integer(number @ (0 | 1))) => {
                values.push(Some(number == 1));
            }
            (Values::Boolean(_), ValueRef::Integer(_)) => return Err("not 0 or 1".into()),
            (Values::Text(values), ValueRef::Text(bytes)) => {
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| "not UTF-8")?;
                values.push(Some(text));
            }
            (_, other) => {
                return Err(format!(
                    "holds a value of SQLite type {}",
                    other.data_type()
                ));
            }
        }
        Ok(())
    }

    /// This column as one statement parameter (a PostgreSQL array).
    pub fn as_param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Values::Uuid(values) => values,
            Values::BigInt(values) => values,
            Values::Boolean(values) => values,
            Values::Text(values) => values,
        }
    }
}

/// Up to `chunk_rows` rows of one table, column by column.
#[derive(Debug)]
pub struct Chunk {
    /// Index of the table in the plan.
    pub table: usize,
    pub rows: usize,
    pub columns: Vec<Values>,
}

impl Chunk {
    fn new(table: usize, plan: &TablePlan, chunk_rows: usize) -> Chunk {
        Chunk {
            table,
            rows: 0,
            columns: plan
                .columns
                .iter()
                .map(|column| Values::with_capacity(column.kind, chunk_rows))
                .collect(),
        }
    }
}

/// Reads every table of `plan` in order, in one read transaction (one snapshot), and sends
/// them as chunks of at most `chunk_rows` rows. Runs on a blocking thread; returns early,
/// without error, when the receiver has gone (the PostgreSQL side failed and said why).
pub fn read_tables(
    path: &Path,
    plan: &[TablePlan],
    chunk_rows: usize,
    chunks: &mpsc::Sender<Chunk>,
) -> Result<()> {
    let mut db = open(path)?;
    let snapshot = db.transaction()?;
    for (index, table) in plan.iter().enumerate() {
        let mut statement = snapshot.prepare(&format!(
            "SELECT {} FROM \"{}\"",
            table.column_list(),
            table.name
        ))?;
        let mut rows = statement.query([])?;
        let mut chunk = Chunk::new(index, table, chunk_rows);
        let mut row_number: u64 = 0;
        while let Some(row) = rows.next()? {
            row_number += 1;
            for (position, (column, values)) in table
                .columns
                .iter()
                .zip(chunk.columns.iter_mut())
                .enumerate()
            {
                values.push(row.get_ref(position)?).map_err(|problem| {
                    StoreError::Corrupt(format!(
                        "{}.{} in source row {row_number}: {problem}",
                        table.name, column.name
                    ))
                })?;
            }
            chunk.rows += 1;
            if chunk.rows == chunk_rows {
                let full = std::mem::replace(&mut chunk, Chunk::new(index, table, chunk_rows));
                if chunks.blocking_send(full).is_err() {
                    return Ok(());
                }
            }
        }
        if chunk.rows > 0 && chunks.blocking_send(chunk).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_files() {
        let parse = |url: &str| path_from_url(url).ok();
        assert_eq!(parse("sqlite://t.db"), Some(PathBuf::from("t.db")));
        assert_eq!(
            parse("sqlite:/tmp/t.db?mode=ro"),
            Some(PathBuf::from("/tmp/t.db"))
        );
        assert_eq!(parse("sqlite::memory:"), None);
        assert_eq!(parse("postgres://db"), None);
    }

    #[test]
    fn values_convert_by_target_type_or_say_why_not() {
        let id = "0190b7d6-5a4e-7c3e-8f00-000000000001";
        let mut uuids = Values::with_capacity(ColumnType::Uuid, 2);
        uuids.push(ValueRef::Text(id.as_bytes())).expect("uuid");
        uuids.push(ValueRef::Null).expect("null");
        assert!(uuids.push(ValueRef::Text(b"nope")).is_err());
        assert!(uuids.push(ValueRef::Integer(7)).is_err());
        let Values::Uuid(uuids) = uuids else {
            panic!("uuids")
        };
        assert_eq!(uuids, vec![Some(Uuid::parse_str(id).expect("id")), None]);

        let mut flags = Values::with_capacity(ColumnType::Boolean, 2);
        flags.push(ValueRef::Integer(1)).expect("true");
        flags.push(ValueRef::Integer(0)).expect("false");
        assert!(flags.push(ValueRef::Integer(2)).is_err());
        let Values::Boolean(flags) = flags else {
            panic!("flags")
        };
        assert_eq!(flags, vec![Some(true), Some(false)]);

        let mut numbers = Values::with_capacity(ColumnType::BigInt, 1);
        numbers.push(ValueRef::Integer(i64::MIN)).expect("integer");
        assert!(numbers.push(ValueRef::Real(1.5)).is_err());
        assert!(numbers.push(ValueRef::Text(b"12")).is_err());

        let mut texts = Values::with_capacity(ColumnType::Text, 1);
        texts.push(ValueRef::Text("é".as_bytes())).expect("text");
        assert!(texts.push(ValueRef::Blob(b"x")).is_err());
        assert!(texts.push(ValueRef::Text(&[0xff])).is_err());
    }
}
