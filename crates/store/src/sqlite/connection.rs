//! Opening one SQLite connection: the database URL, the pragmas every connection gets, and
//! the one helper that keeps a call which may block for milliseconds (an fsync) from
//! stalling the async runtime's worker.

use crate::{Result, StoreError};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::runtime::{Handle, RuntimeFlavor};

/// How long a statement waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Page cache per connection; negative means KiB in SQLite, so this is 32 MiB.
const CACHE_SIZE_KIB: i64 = -32_768;
/// Prepared statements kept per connection. The store has fewer distinct statements than
/// this, so after warm-up none is prepared twice (rusqlite's default keeps only 16).
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// The file named by `sqlite://PATH` or `sqlite:PATH`; a `?query` is ignored. In-memory
/// databases are refused: readers and the writer are separate connections and must share
/// a file.
pub fn path_from_url(url: &str) -> Result<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|rest| rest.split_once('?').map_or(rest, |(path, _query)| path));
    match path {
        Some(path) if !path.is_empty() && !path.starts_with(":memory:") => Ok(PathBuf::from(path)),
        _ => Err(StoreError::Database(format!(
            "not a SQLite file URL: {url} (expected sqlite://PATH)"
        ))),
    }
}

/// The writer: creates the file if missing, turns on WAL and makes every commit durable
/// before it returns (`synchronous=FULL`), which is what lets ingestion acknowledge money
/// events.
pub fn open_writer(path: &Path) -> Result<Connection> {
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&db)?;
    let mode: String = db.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            path = %path.display(),
            journal_mode = %mode,
            "SQLite refused WAL mode; readers will block the writer"
        );
    }
    // Group commit runs each request in a savepoint; their undo journal grows past
    // SQLite's 64 KiB in-memory limit and would then be a temporary file written with a
    // syscall per page. Kept in memory it costs at most a group's changed pages.
    db.execute_batch("PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;")?;
    Ok(db)
}

/// A reader. Read-only, so a write slipped into a read transaction fails instead of
/// competing with the writer. It relies on the writer having created the file and its WAL
/// index, which [`super::SqliteStore::open`] does before any reader is opened.
pub fn open_reader(path: &Path) -> Result<Connection> {
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&db)?;
    Ok(db)
}

fn configure(db: &Connection) -> Result<()> {
    db.busy_timeout(BUSY_TIMEOUT)?;
    // Without the query planner stability guarantee, this SQLite build (STAT4 enabled)
    // marks many cached statements to be planned again whenever a parameter's value
    // changes, i.e. on nearly every run: a full parse per statement, which the statement
    // cache exists to avoid. Our plans never depend on parameter values.
    db.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    db.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA cache_size = {CACHE_SIZE_KIB};"
    ))?;
    db.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// Runs `work`, which may block for milliseconds (a commit's fsync), without stalling the
/// other tasks of a multi-thread runtime: `block_in_place` hands this worker's queue to
/// another thread meanwhile. On a current-thread runtime (`#[tokio::test]`), where
/// `block_in_place` panics, and outside any runtime, it runs inline.
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_files() {
        let parse = |url: &str| path_from_url(url).ok();
        assert_eq!(parse("sqlite://t.db"), Some(PathBuf::from("t.db")));
        assert_eq!(
            parse("sqlite:///tmp/t.db"),
            Some(PathBuf::from("/tmp/t.db"))
        );
        assert_eq!(parse("sqlite:t.db?mode=rwc"), Some(PathBuf::from("t.db")));
        assert_eq!(parse("sqlite::memory:"), None);
        assert_eq!(parse("sqlite://"), None);
        assert_eq!(parse("postgres://db"), None);
    }
}
