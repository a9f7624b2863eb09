//! The outbox: jobs written in the same transaction as the change that causes them.

use super::super::query::{Db, all, execute};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;

fn job_row(row: &Row) -> Result<Job> {
    Ok(Job {
        id: JobId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        kind: rows::get(row, "kind")?,
        payload_json: rows::get(row, "payload_json")?,
        dedupe_key: rows::get(row, "dedupe_key")?,
        run_at: rows::ts(row, "run_at")?,
        attempts: rows::get(row, "attempts")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

pub async fn enqueue_job(db: &Db, job: &Job) -> Result<()> {
    let id = job.id.as_uuid();
    let workspace_id = job.workspace_id.as_uuid();
    let run_at = job.run_at.millis();
    let created_at = job.created_at.millis();
    execute(
        db,
        "INSERT INTO jobs (id, workspace_id, kind, payload_json, dedupe_key, run_at, attempts, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING",
        &[
            &id,
            &workspace_id,
            &job.kind,
            &job.payload_json,
            &job.dedupe_key,
            &run_at,
            &job.attempts,
            &created_at,
        ],
    )
    .await?;
    Ok(())
}

pub async fn rearm_job(db: &Db, job: &Job) -> Result<()> {
    let id = job.id.as_uuid();
    let workspace_id = job.workspace_id.as_uuid();
    let run_at = job.run_at.millis();
    let created_at = job.created_at.millis();
    execute(
        db,
        "INSERT INTO jobs (id, workspace_id, kind, payload_json, dedupe_key, run_at, attempts, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (dedupe_key) DO UPDATE SET
           run_at = CASE WHEN jobs.done_at IS NULL THEN LEAST(jobs.run_at, EXCLUDED.run_at) ELSE EXCLUDED.run_at END,
           attempts = CASE WHEN jobs.done_at IS NULL THEN jobs.attempts ELSE 0 END,
           last_error = CASE WHEN jobs.done_at IS NULL THEN jobs.last_error ELSE NULL END,
           payload_json = EXCLUDED.payload_json,
           done_at = NULL",
        &[
            &id,
            &workspace_id,
            &job.kind,
            &job.payload_json,
            &job.dedupe_key,
            &run_at,
            &job.attempts,
            &created_at,
        ],
    )
    .await?;
    Ok(())
}

/// A plain read: it runs in a read-only transaction, so it takes no row locks.
pub async fn due_jobs(db: &Db, now: Timestamp, limit: u32) -> Result<Vec<Job>> {
    let now = now.millis();
    let limit = i64::from(limit);
    all(
        db,
        "SELECT * FROM jobs WHERE done_at IS NULL AND run_at <= $1 ORDER BY run_at, id LIMIT $2",
        &[&now, &limit],
        job_row,
    )
    .await
}

pub async fn finish_job(db: &Db, id: JobId, now: Timestamp) -> Result<()> {
    let now = now.millis();
    let id = id.as_uuid();
    execute(
        db,
        "UPDATE jobs SET done_at = $1, attempts = attempts + 1 WHERE id = $2",
        &[&now, &id],
    )
    .await?;
    Ok(())
}

pub async fn retry_job(db: &Db, id: JobId, error: &str, run_at: Timestamp) -> Result<()> {
    let run_at = run_at.millis();
    let id = id.as_uuid();
    execute(
        db,
        "UPDATE jobs SET attempts = attempts + 1, last_error = $1, run_at = $2 WHERE id = $3",
        &[&error, &run_at, &id],
    )
    .await?;
    Ok(())
}
