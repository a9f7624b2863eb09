//! Throwaway databases for tests (feature `testing`): a SQLite file in a temporary directory,
//! or a fresh PostgreSQL database on the server named by `TRIBUTARY_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the guard is.
//! Tests never mock the database; they get a real, empty one each.

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{Result, Store, StoreError};
use std::sync::Arc;

/// Where the test PostgreSQL server is, as an administrative URL (any existing database).
pub fn postgres_admin_url() -> String {
    std::env::var("TRIBUTARY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The engines a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test. Dropping it removes the file or the database.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Result<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()
                    .map_err(|error| StoreError::Database(format!("temp dir: {error}")))?;
                Ok(TestDatabase {
                    url: format!("sqlite://{}", dir.path().join("test.db").display()),
                    backend,
                    _dir: Some(dir),
                    postgres_name: None,
                })
            }
            Backend::Postgres => {
                let name = format!("tributary_test_{}", uuid::Uuid::now_v7().simple());
                admin(&format!("CREATE DATABASE {name}")).await?;
                let admin_url = postgres_admin_url();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .unwrap_or(&admin_url);
                Ok(TestDatabase {
                    url: format!("{base}/{name}"),
                    backend,
                    _dir: None,
                    postgres_name: Some(name),
                })
            }
        }
    }

    /// Opens the store on this database (not yet migrated).
    pub async fn open(&self) -> Result<Arc<dyn Store>> {
        Ok(match self.backend {
            Backend::Sqlite => Arc::new(SqliteStore::open(&self.url).await?),
            Backend::Postgres => Arc::new(PgStore::open(&self.url, 8).await?),
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.postgres_name.take() {
            // Drop runs inside the test's runtime, which cannot block on itself: a thread
            // with its own small runtime removes the database (and any connection to it).
            let _ = std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    let _ = runtime.block_on(admin(&format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )));
                }
            })
            .join();
        }
    }
}

async fn admin(sql: &str) -> Result<()> {
    let (client, connection) = tokio_postgres::connect(&postgres_admin_url(), tokio_postgres::NoTls)
        .await
        .map_err(|error| {
            StoreError::Database(format!(
                "cannot reach the test PostgreSQL at {} ({error}); start it or set TRIBUTARY_TEST_POSTGRES_URL",
                postgres_admin_url()
            ))
        })?;
    let driver = tokio::spawn(connection);
    let done = client
        .batch_execute(sql)
        .await
        .map_err(|error| StoreError::Database(format!("{sql}: {error}")));
    drop(client);
    let _ = driver.await;
    done
}
