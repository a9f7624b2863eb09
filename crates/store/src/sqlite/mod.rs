//! The embedded default: one SQLite file in WAL mode, through rusqlite (ADR 0003). Writes go
//! through a single connection behind an async mutex (SQLite has one writer; queueing for it
//! is cheaper than lock retries), reads through a small pool of read-only connections.
//! `synchronous=FULL` makes a commit durable before it returns, which is what lets ingestion
//! acknowledge money events.

mod clicks;
mod connection;
mod migrate;
mod pool;
mod query;
mod rows;
mod tx;

#[cfg(test)]
mod tests;

use crate::{Click, Result, Store, Tx};
use async_trait::async_trait;
use connection::blocking;
pub use connection::path_from_url;
use pool::{ReaderPool, WriterSlot};
use std::sync::Arc;

/// Readers allowed at once. SQLite readers do not block the writer in WAL mode.
pub const READ_POOL_SIZE: u32 = 8;

pub struct SqliteStore {
    writer: WriterSlot,
    readers: Arc<ReaderPool>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`: `sqlite://PATH` or `sqlite:PATH`,
    /// a `?query` ignored. `sqlite::memory:` is not supported: the store needs a file so
    /// readers and the writer share it.
    pub async fn open(url: &str) -> Result<Self> {
        let path = connection::path_from_url(url)?;
        // The writer first: it creates the file and turns on WAL, which readers rely on.
        let writer = WriterSlot::open(path.clone())?;
        let readers = ReaderPool::new(path, READ_POOL_SIZE as usize);
        Ok(SqliteStore { writer, readers })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn read(&self) -> Result<Box<dyn Tx>> {
        let reader = self.readers.acquire().await?;
        Ok(Box::new(tx::SqliteTx::read(reader)?))
    }

    async fn write(&self) -> Result<Box<dyn Tx>> {
        let writer = self.writer.lock().await?;
        Ok(Box::new(tx::SqliteTx::write(writer)?))
    }

    async fn append_clicks(&self, clicks: &[Click]) -> Result<()> {
        if clicks.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer.lock().await?;
        // A batch is up to a few thousand statements: milliseconds of work, kept off the
        // runtime's worker like a commit.
        blocking(|| clicks::append_clicks(&mut writer, clicks))
    }

    async fn migrate(&self) -> Result<()> {
        let writer = self.writer.lock().await?;
        blocking(|| migrate::run(&writer))
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
