//! The store's connections: one writer behind an async mutex, and a small pool of readers.
//! SQLite has one writer at a time; queueing writers on a mutex costs nothing, while letting
//! several connections fight for the lock costs busy-timeout sleeps. Both hand out guards
//! that leave their connection outside any transaction when dropped, so a transaction that
//! was dropped without commit never leaks into the next user.

use super::connection::{open_reader, open_writer};
use super::query::execute;
use crate::{Result, StoreError};
use rusqlite::Connection;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// How long a caller waits for the writer or for a free reader before giving up (the wait
/// sqlx's pools had). Reached only if something holds a connection far too long.
const ACQUIRE_WAIT: Duration = Duration::from_secs(30);

fn rollback(db: &Connection) -> Result<usize> {
    execute(db, "ROLLBACK", [])
}

fn timed_out(what: &str) -> StoreError {
    StoreError::Database(format!(
        "database busy: timed out after {ACQUIRE_WAIT:?} waiting for {what}"
    ))
}

/// The single writer connection.
pub struct WriterSlot {
    state: Arc<Mutex<WriterState>>,
    path: Arc<PathBuf>,
}

struct WriterState {
    connection: Connection,
    /// Set while the connection may be in a state the next writer must not inherit (say,
    /// `synchronous` relaxed for a click batch); a set flag makes the next user reopen it.
    must_reopen: bool,
}

impl WriterSlot {
    pub fn open(path: PathBuf) -> Result<WriterSlot> {
        let connection = open_writer(&path)?;
        Ok(WriterSlot {
            state: Arc::new(Mutex::new(WriterState {
                connection,
                must_reopen: false,
            })),
            path: Arc::new(path),
        })
    }

    /// Waits for the writer. Waiting is a place in the mutex's FIFO queue, not a blocked
    /// thread.
    pub async fn lock(&self) -> Result<Writer> {
        let guard = tokio::time::timeout(ACQUIRE_WAIT, self.state.clone().lock_owned())
            .await
            .map_err(|_| timed_out("the writer connection"))?;
        let mut writer = Writer {
            guard,
            path: self.path.clone(),
        };
        writer.settle()?;
        Ok(writer)
    }
}

/// Exclusive use of the writer connection until dropped.
pub struct Writer {
    guard: OwnedMutexGuard<WriterState>,
    path: Arc<PathBuf>,
}

impl Writer {
    /// Leaves the connection outside any transaction and with its standard settings:
    /// rolls back what is still open, and if that fails or the connection was marked with
    /// [`Writer::set_must_reopen`], replaces it by a freshly opened one.
    fn settle(&mut self) -> Result<()> {
        let state = &mut *self.guard;
        if !state.must_reopen
            && (state.connection.is_autocommit() || rollback(&state.connection).is_ok())
        {
            return Ok(());
        }
        state.must_reopen = true;
        tracing::warn!(path = %self.path.display(), "reopening the SQLite writer connection");
        state.connection = open_writer(&self.path)?;
        state.must_reopen = false;
        Ok(())
    }

    /// Marks the connection as changed from its standard settings (or not any more).
    pub fn set_must_reopen(&mut self, must_reopen: bool) {
        self.guard.must_reopen = must_reopen;
    }
}

impl Deref for Writer {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.guard.connection
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // The next `lock` tries again, so a failure here only delays the error.
        if let Err(error) = self.settle() {
            tracing::error!(%error, "could not reset the SQLite writer connection");
        }
    }
}

/// Reader connections, opened on first use and kept, at most `size` in use at once.
pub struct ReaderPool {
    path: PathBuf,
    idle: std::sync::Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReaderPool {
    pub fn new(path: PathBuf, size: usize) -> Arc<ReaderPool> {
        Arc::new(ReaderPool {
            path,
            idle: std::sync::Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size)),
        })
    }

    pub async fn acquire(self: &Arc<Self>) -> Result<Reader> {
        let permit = tokio::time::timeout(ACQUIRE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| timed_out("a reader connection"))?
            // The semaphore is never closed.
            .map_err(|_| timed_out("a reader connection (pool closed)"))?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let connection = match idle {
            Some(connection) => connection,
            None => open_reader(&self.path)?,
        };
        Ok(Reader {
            connection: Some(connection),
            pool: self.clone(),
            _permit: permit,
        })
    }
}

/// One reader connection until dropped; then it goes back to the pool.
pub struct Reader {
    /// `Some` until `drop` hands the connection back.
    connection: Option<Connection>,
    pool: Arc<ReaderPool>,
    // Dropped after `connection` is back in the pool, so a waiter finds it there.
    _permit: OwnedSemaphorePermit,
}

impl Deref for Reader {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.connection
            .as_ref()
            .expect("a reader holds its connection until dropped")
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        // A connection whose rollback fails is closed; the pool opens a fresh one instead.
        if connection.is_autocommit() || rollback(&connection).is_ok() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(connection);
        }
    }
}
