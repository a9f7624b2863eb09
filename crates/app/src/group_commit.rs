//! Group commit for event ingestion. Money events must be durable before they are
//! acknowledged, and a durable commit costs an fsync; one fsync per event caps ingestion at
//! the disk's sync rate. So one task takes every event that is waiting (up to
//! [`MAX_GROUP`]), runs each inside its own savepoint of one write transaction, commits once,
//! and only then answers all of them. A request that fails rolls back to its savepoint and
//! gets its own error; the others commit. When nothing else is waiting a group is one event,
//! so latency under light load is one commit.

use crate::clock::Clock;
use crate::ingest::{Ingested, Submission, ingest_in, keys_to_lock};
use crate::metrics::Metrics;
use crate::{AppError, AppResult};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tributary_store::Store;

/// Events committed together at most.
pub const MAX_GROUP: usize = 512;
/// Events waiting for a group at most; beyond this, callers wait for room (backpressure).
pub const QUEUE_LEN: usize = 8_192;

struct Pending {
    submission: Submission,
    reply: oneshot::Sender<AppResult<Ingested>>,
}

#[derive(Clone)]
pub struct IngestQueue {
    sender: mpsc::Sender<Pending>,
}

impl IngestQueue {
    pub fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> IngestQueue {
        let (sender, receiver) = mpsc::channel(QUEUE_LEN);
        // One committer per write transaction worth running at once (SQLite: one). Each
        // takes whatever is waiting when it is free, so groups stay large under load.
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..store.parallel_writers() {
            tokio::spawn(run(
                store.clone(),
                clock.clone(),
                metrics.clone(),
                receiver.clone(),
            ));
        }
        IngestQueue { sender }
    }

    /// Queues an event and waits until its group is committed.
    pub async fn submit(&self, submission: Submission) -> AppResult<Ingested> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Pending { submission, reply })
            .await
            .map_err(|_| AppError::Internal("the ingestion queue has stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("the ingestion queue dropped a request".into()))?
    }
}

async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Pending>>>,
) {
    loop {
        let group = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            group
        };
        commit_group(store.as_ref(), clock.as_ref(), &metrics, group).await;
    }
}

async fn commit_group(
    store: &dyn Store,
    clock: &dyn Clock,
    metrics: &Metrics,
    group: Vec<Pending>,
) {
    let size = group.len();
    let fail_all = |group: Vec<Pending>, why: &str| {
        tracing::error!(
            events = group.len(),
            reason = why,
            "ingestion group failed; nothing committed"
        );
        for pending in group {
            let _ = pending
                .reply
                .send(Err(AppError::Internal(format!("event not stored: {why}"))));
        }
    };
    let mut tx = match store.write().await {
        Ok(tx) => tx,
        Err(error) => return fail_all(group, &error.to_string()),
    };
    // Every lock the group's events will take, at once and in one order: one round trip
    // instead of two per event, and no two groups ever wait on each other in a cycle.
    let locks: Vec<(&'static str, String)> = group
        .iter()
        .flat_map(|pending| keys_to_lock(&pending.submission))
        .collect();
    let lock_refs: Vec<(&str, &str)> = locks
        .iter()
        .map(|(scope, key)| (*scope, key.as_str()))
        .collect();
    if let Err(error) = tx.lock_keys(&lock_refs).await {
        drop(tx);
        return fail_all(group, &error.to_string());
    }
    // With the locks held, what is not there now cannot appear before we commit.
    let idempotency_keys: Vec<_> = group
        .iter()
        .map(|p| {
            (
                p.submission.workspace_id,
                p.submission.idempotency_key.as_str(),
            )
        })
        .collect();
    let customers: Vec<_> = group
        .iter()
        .map(|p| {
            (
                p.submission.workspace_id,
                p.submission.request.facts.customer_external_id.as_str(),
            )
        })
        .collect();
    if let Err(error) = tx.prefetch(&idempotency_keys, &customers).await {
        drop(tx);
        return fail_all(group, &error.to_string());
    }
    let now = clock.now();
    let mut results = Vec::with_capacity(size);
    for pending in &group {
        if let Err(error) = tx.savepoint().await {
            drop(tx);
            return fail_all(group, &error.to_string());
        }
        let result = ingest_in(tx.as_mut(), &pending.submission, now).await;
        // If a savepoint cannot be closed, the transaction's state is unknown: commit nothing.
        let closed = match result {
            Ok(_) => tx.release_savepoint().await,
            Err(_) => tx.rollback_to_savepoint().await,
        };
        if let Err(error) = closed {
            drop(tx);
            return fail_all(group, &error.to_string());
        }
        results.push(result);
    }
    if let Err(error) = tx.commit().await {
        return fail_all(group, &error.to_string());
    }
    Metrics::incr(&metrics.ingest_groups);
    for (pending, result) in group.into_iter().zip(results) {
        match &result {
            Ok(ingested) if ingested.replayed => Metrics::incr(&metrics.events_replayed),
            Ok(_) => Metrics::incr(&metrics.events_ingested),
            Err(_) => {}
        }
        let _ = pending.reply.send(result);
    }
}
