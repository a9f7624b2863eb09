//! Moving an embedded install to PostgreSQL (`tributary migrate --from sqlite://… --to
//! postgres://…`): every row of every table of a SQLite database copied into a new, empty
//! PostgreSQL database in one transaction, then checked from both ends before the command
//! says it is done.
//!
//! The order of work: the target is migrated and must hold nothing yet; the two schemas are
//! matched column by column (a table or column on one side only stops the copy before any
//! row moves); the click partitions the source's months need are created; then one
//! transaction inserts each table in foreign-key order, in chunks sent as one array per
//! column (`INSERT … SELECT * FROM UNNEST(…)`), while a blocking thread reads the next chunk
//! from SQLite; row counts are compared before `COMMIT`. After it, the counts are compared
//! again and each workspace's ledger totals and partner balances are read through both
//! stores.

mod schema;
mod source;
mod verify;

use crate::postgres::PgStore;
use crate::postgres::query::{Db, batch, execute};
use crate::sqlite::SqliteStore;
use crate::{Result, Store, StoreError};
use schema::TablePlan;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;

pub use schema::TABLES;

/// Rows per insert statement: large enough that per-statement costs vanish (100k clicks
/// are 20 statements), small enough that a chunk of the widest rows (commissions with their
/// ~1.5 KiB explanations) stays under 10 MiB.
pub const CHUNK_ROWS: usize = 5_000;
/// Chunks the SQLite reader may run ahead of the PostgreSQL writer (bounds memory).
const CHUNKS_AHEAD: usize = 2;
/// Connections the copy opens to the target: its transaction, then the checks.
const TARGET_POOL_SIZE: usize = 2;

/// One table's rows, as copied and found on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub rows: u64,
}

/// What was copied and what was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Every table, in the order copied, with its row count (equal in source and target).
    pub tables: Vec<TableCount>,
    /// Workspaces whose ledger totals were compared through both stores.
    pub workspaces: usize,
    /// (workspace, currency) ledger totals compared.
    pub currencies: usize,
    /// Partners whose balances were compared through both stores.
    pub partners_checked: usize,
    /// From the start of the copy's transaction to its commit.
    pub copy_time: Duration,
    /// The checks after the commit.
    pub verify_time: Duration,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|table| table.rows).sum()
    }
}

impl fmt::Display for CopyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for table in &self.tables {
            writeln!(f, "  {:<20} {:>10}", table.table, table.rows)?;
        }
        writeln!(f, "  {:<20} {:>10}", "total", self.rows())?;
        writeln!(
            f,
            "copied {} rows in {:.2} s; verified in {:.2} s: row counts of {} tables, \
             ledger totals of {} workspace(s) in {} currency total(s), balances of {} partner(s), \
             no unbalanced ledger transaction",
            self.rows(),
            self.copy_time.as_secs_f64(),
            self.verify_time.as_secs_f64(),
            self.tables.len(),
            self.workspaces,
            self.currencies,
            self.partners_checked
        )
    }
}

/// Copies the SQLite database at `from_url` (`sqlite://PATH`, opened read-only) into the
/// PostgreSQL database at `to_url`, which is migrated first and must hold no rows, then
/// verifies the result. Any difference is an error; nothing is committed unless every row
/// arrived, and a difference found after the commit says so. Errors never show `to_url`,
/// which may carry a password.
pub async fn sqlite_to_postgres(from_url: &str, to_url: &str) -> Result<CopyReport> {
    let source_path = source::path_from_url(from_url)?;
    if !PgStore::handles(to_url) {
        return Err(StoreError::Database(
            "the copy's target must be a postgres:// URL".into(),
        ));
    }
    let source_db = source::open(&source_path)?;
    let source_tables = schema::sqlite_tables(&source_db)?;

    let target = PgStore::open(to_url, TARGET_POOL_SIZE).await?;
    target.migrate().await?;
    let db = target.connection().await?;
    let target_tables = schema::postgres_tables(&db).await?;
    require_empty(&db, &target_tables).await?;
    let plan = Arc::new(schema::plan(&source_tables, &target_tables)?);

    for month in source::click_months(&source_db)? {
        crate::postgres::clicks::ensure_partition(&db, month).await?;
    }
    let source_counts = source::counts(&source_db, &plan)?;
    drop(source_db);

    let started = Instant::now();
    batch(&db, "BEGIN ISOLATION LEVEL READ COMMITTED").await?;
    let copied = match copy_counted(&db, &source_path, &plan, &source_counts).await {
        Ok(copied) => {
            batch(&db, "COMMIT").await?;
            copied
        }
        Err(error) => {
            let _ = batch(&db, "ROLLBACK").await;
            return Err(error);
        }
    };
    let copy_time = started.elapsed();

    let started = Instant::now();
    let target_counts = verify::target_counts(&db, &plan).await?;
    drop(db);
    let source_db = source::open(&source_path)?;
    let source_counts = source::counts(&source_db, &plan)?;
    let workspace_ids = verify::workspace_ids(&source_db)?;
    drop(source_db);
    let mut problems = verify::count_differences(&plan, &source_counts, &copied, &target_counts);
    let source_store = SqliteStore::open(from_url).await?;
    let (checked, mut found) = verify::balances(&source_store, &target, &workspace_ids).await?;
    problems.append(&mut found);
    if !problems.is_empty() {
        return Err(StoreError::Database(format!(
            "the copy was committed but does not match the source; drop the target database before trying again. {}",
            summarise(&problems)
        )));
    }
    tracing::info!(
        rows = copied.iter().sum::<u64>(),
        copy_ms = copy_time.as_millis() as u64,
        "copied SQLite to PostgreSQL and verified"
    );
    Ok(CopyReport {
        tables: plan
            .iter()
            .zip(&copied)
            .map(|(table, &rows)| TableCount {
                table: table.name,
                rows,
            })
            .collect(),
        workspaces: checked.workspaces,
        currencies: checked.currencies,
        partners_checked: checked.partners,
        copy_time,
        verify_time: started.elapsed(),
    })
}

/// Refuses a target that already holds rows: the copy adds to nothing, so that its counts
/// and balances can be compared with the source's. A workspace is the usual case (a second
/// run, or the wrong database) and is named as such.
async fn require_empty(db: &Db, target_tables: &schema::Tables) -> Result<()> {
    for table in TABLES.into_iter().chain(schema::POSTGRES_ONLY) {
        if !target_tables.contains_key(table) {
            continue;
        }
        let sql = format!("SELECT 1 AS found FROM \"{table}\" LIMIT 1");
        let found = crate::postgres::query::optional(db, &sql, &[], |_| Ok(())).await?;
        if found.is_some() {
            return Err(StoreError::Conflict(if table == "workspaces" {
                "the target database already holds a workspace; copy into a new, empty database"
                    .into()
            } else {
                format!(
                    "the target database's table {table} is not empty; copy into a new, empty database"
                )
            }));
        }
    }
    Ok(())
}

/// The copy inside the open transaction, refused unless each table's rows all arrived.
async fn copy_counted(
    db: &Db,
    source_path: &Path,
    plan: &Arc<Vec<TablePlan>>,
    source_counts: &[u64],
) -> Result<Vec<u64>> {
    let copied = copy_tables(db, source_path.to_path_buf(), plan.clone()).await?;
    let target_counts = verify::target_counts(db, plan).await?;
    let differences = verify::count_differences(plan, source_counts, &copied, &target_counts);
    if differences.is_empty() {
        Ok(copied)
    } else {
        Err(StoreError::Database(format!(
            "rows went missing in the copy, so nothing was committed. {}",
            summarise(&differences)
        )))
    }
}

/// Reads the source on a blocking thread while this task inserts what it has read: both
/// sides stay busy, and at most [`CHUNKS_AHEAD`] chunks wait in memory.
async fn copy_tables(db: &Db, source_path: PathBuf, plan: Arc<Vec<TablePlan>>) -> Result<Vec<u64>> {
    let (sender, mut chunks) = mpsc::channel(CHUNKS_AHEAD);
    let reader = {
        let plan = plan.clone();
        tokio::task::spawn_blocking(move || {
            source::read_tables(&source_path, &plan, CHUNK_ROWS, &sender)
        })
    };
    let statements: Vec<String> = plan.iter().map(insert_sql).collect();
    let mut copied = vec![0_u64; plan.len()];
    let mut announced = None;
    // Returning early drops `chunks`, which stops the reader at its next send.
    while let Some(chunk) = chunks.recv().await {
        let table = &plan[chunk.table];
        if announced != Some(chunk.table) {
            tracing::info!(table = table.name, "copying");
            announced = Some(chunk.table);
        }
        let params: Vec<&(dyn ToSql + Sync)> =
            chunk.columns.iter().map(source::Values::as_param).collect();
        let inserted = execute(db, &statements[chunk.table], &params)
            .await
            .map_err(|error| in_table(table.name, error))?;
        if inserted != chunk.rows as u64 {
            return Err(StoreError::Database(format!(
                "{}: {} rows sent, {inserted} inserted",
                table.name, chunk.rows
            )));
        }
        copied[chunk.table] += inserted;
    }
    reader
        .await
        .map_err(|error| StoreError::Database(format!("the SQLite reader stopped: {error}")))??;
    Ok(copied)
}

/// `INSERT INTO t (a, b) SELECT * FROM UNNEST($1::UUID[], $2::BIGINT[])`: one array per
/// column, so a chunk is one statement with as many parameters as the table has columns.
fn insert_sql(table: &TablePlan) -> String {
    let arrays: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| format!("${}::{}", index + 1, column.kind.array_type()))
        .collect();
    format!(
        "INSERT INTO \"{}\" ({}) SELECT * FROM UNNEST({})",
        table.name,
        table.column_list(),
        arrays.join(", ")
    )
}

fn in_table(table: &str, error: StoreError) -> StoreError {
    match error {
        StoreError::Conflict(message) => StoreError::Conflict(format!("{table}: {message}")),
        StoreError::Corrupt(message) => StoreError::Corrupt(format!("{table}: {message}")),
        StoreError::Database(message) => StoreError::Database(format!("{table}: {message}")),
    }
}

/// The problems in one line, at most 20 of them shown.
fn summarise(problems: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = problems
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > SHOWN {
        text.push_str(&format!("; and {} more", problems.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Column, ColumnType};

    #[test]
    fn a_chunk_is_one_statement_with_an_array_per_column() {
        let table = TablePlan {
            name: "clicks",
            columns: vec![
                Column {
                    name: "id".into(),
                    kind: ColumnType::Text,
                },
                Column {
                    name: "at".into(),
                    kind: ColumnType::BigInt,
                },
                Column {
                    name: "is_bot".into(),
                    kind: ColumnType::Boolean,
                },
            ],
        };
        assert_eq!(
            insert_sql(&table),
            "INSERT INTO \"clicks\" (\"id\", \"at\", \"is_bot\") \
             SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BOOLEAN[])"
        );
    }

    #[test]
    fn long_lists_of_problems_are_cut_short() {
        let problems: Vec<String> = (0..25).map(|n| format!("p{n}")).collect();
        let text = summarise(&problems);
        assert!(text.starts_with("p0; p1;"), "{text}");
        assert!(text.ends_with("p19; and 5 more"), "{text}");
    }
}
