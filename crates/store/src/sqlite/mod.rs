//! The embedded default: one SQLite file in WAL mode. Writes go through a single connection
//! (SQLite has one writer; queueing in the pool is cheaper than lock retries), reads through
//! a small pool. `synchronous=FULL` makes a commit durable before it returns, which is what
//! lets ingestion acknowledge money events.

mod rows;
mod tx;

use crate::{Click, Result, Store, StoreError, Tx};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// Readers allowed at once. SQLite readers do not block the writer in WAL mode.
pub const READ_POOL_SIZE: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path.db` or `sqlite::memory:`
    /// is not supported: the store needs a file so readers and the writer share it).
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", "-32768");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READ_POOL_SIZE)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { writer, readers })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn read(&self) -> Result<Box<dyn Tx>> {
        Ok(Box::new(tx::SqliteTx::new(self.readers.begin().await?)))
    }

    async fn write(&self) -> Result<Box<dyn Tx>> {
        Ok(Box::new(tx::SqliteTx::new(
            self.writer.begin_with("BEGIN IMMEDIATE").await?,
        )))
    }

    async fn append_clicks(&self, clicks: &[Click]) -> Result<()> {
        tx::append_clicks(&self.writer, clicks).await
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("migrations/sqlite")
            .run(&self.writer)
            .await
            .map_err(StoreError::from)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
