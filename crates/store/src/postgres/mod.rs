//! The scale-out store: PostgreSQL through tokio-postgres with a deadpool connection pool
//! (ADR 0004). The same tables as SQLite (its own migrations in
//! `crates/store/migrations/postgres`), the same [`Store`]/[`Tx`] contract, the same
//! contract tests. Several `tributary serve` processes may share one database: writers run
//! side by side and take turns only where the data says they must (see [`tx`]).

pub(crate) mod clicks;
mod migrate;
pub(crate) mod query;
mod rows;
mod tx;

use crate::{Click, Result, Store, StoreError, Tx};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

/// Connections one process opens at most, unless told otherwise
/// (`--pg-pool-size` / `TRIBUTARY_PG_POOL_SIZE`). Several nodes share the server's
/// `max_connections` (100 by default): keep nodes × pool size below it.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// Ingestion groups committed at once at most. More committers take smaller groups, so
/// more commits (WAL flushes) carry the same events: on 2 vCPUs, 4 committers ingested
/// 3.95k events/s, 12 only 3.5k/s (`BACKEND=postgres bench/ingest.sh`).
pub const MAX_PARALLEL_WRITERS: usize = 4;
/// How long a request waits for a free connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PgStore {
    pool: Pool,
    pool_size: usize,
    /// Months whose click partition this process has already made sure of.
    click_partitions: Mutex<HashSet<i64>>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`, libpq URL syntax) with at
    /// most `pool_size` connections. Nothing is checked until the first use; call
    /// [`Store::migrate`] to check and prepare the schema.
    pub async fn open(url: &str, pool_size: usize) -> Result<PgStore> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|error| StoreError::Database(format!("bad PostgreSQL URL: {error}")))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                // A connection comes back from a transaction already ended (commit or the
                // rollback on drop); a cheap check that it still answers is enough.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(ACQUIRE_TIMEOUT))
            .create_timeout(Some(ACQUIRE_TIMEOUT))
            .build()
            .map_err(|error| StoreError::Database(format!("connection pool: {error}")))?;
        Ok(PgStore {
            pool,
            pool_size: pool_size.max(1),
            click_partitions: Mutex::new(HashSet::new()),
        })
    }

    pub(crate) async fn connection(&self) -> Result<query::Db> {
        self.pool
            .get()
            .await
            .map_err(|error| StoreError::Database(format!("no PostgreSQL connection: {error}")))
    }

    /// Whether `url` names a PostgreSQL database.
    pub fn handles(url: &str) -> bool {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

#[async_trait]
impl Store for PgStore {
    async fn read(&self) -> Result<Box<dyn Tx>> {
        Ok(Box::new(tx::PgTx::read(self.connection().await?).await?))
    }

    async fn write(&self) -> Result<Box<dyn Tx>> {
        Ok(Box::new(tx::PgTx::write(self.connection().await?).await?))
    }

    async fn append_clicks(&self, clicks: &[Click]) -> Result<()> {
        if clicks.is_empty() {
            return Ok(());
        }
        let db = self.connection().await?;
        clicks::append_clicks(&db, &self.click_partitions, clicks).await
    }

    async fn append_logged_clicks(
        &self,
        clicks: &[Click],
        stream: &str,
        batch_id: &str,
    ) -> Result<bool> {
        let db = self.connection().await?;
        clicks::append_logged_clicks(&db, &self.click_partitions, clicks, stream, batch_id).await
    }

    async fn migrate(&self) -> Result<()> {
        let db = self.connection().await?;
        migrate::run(&db).await
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn parallel_writers(&self) -> usize {
        // Leave a quarter of the pool to readers, the click writer and jobs, and commit at
        // most MAX_PARALLEL_WRITERS groups at once.
        (self.pool_size * 3 / 4).clamp(1, MAX_PARALLEL_WRITERS)
    }
}
