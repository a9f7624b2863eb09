//! The outbox: jobs written in the same transaction as the change that causes them.

use super::super::query::{all, execute};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};

fn job_row(row: &Row<'_>) -> Result<Job> {
    Ok(Job {
        id: JobId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        kind: row.get("kind")?,
        payload_json: row.get("payload_json")?,
        dedupe_key: row.get("dedupe_key")?,
        run_at: rows::ts(row, "run_at")?,
        attempts: row.get("attempts")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

pub fn enqueue_job(db: &Connection, job: &Job) -> Result<()> {
    execute(
        db,
        "INSERT INTO jobs (id, workspace_id, kind, payload_json, dedupe_key, run_at, attempts, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        params![
            job.id.to_string(),
            job.workspace_id.to_string(),
            job.kind,
            job.payload_json,
            job.dedupe_key,
            job.run_at.millis(),
            job.attempts,
            job.created_at.millis(),
        ],
    )?;
    Ok(())
}

pub fn rearm_job(db: &Connection, job: &Job) -> Result<()> {
    execute(
        db,
        "INSERT INTO jobs (id, workspace_id, kind, payload_json, dedupe_key, run_at, attempts, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (dedupe_key) DO UPDATE SET
           run_at = CASE WHEN jobs.done_at IS NULL THEN MIN(jobs.run_at, excluded.run_at) ELSE excluded.run_at END,
           attempts = CASE WHEN jobs.done_at IS NULL THEN jobs.attempts ELSE 0 END,
           last_error = CASE WHEN jobs.done_at IS NULL THEN jobs.last_error ELSE NULL END,
           payload_json = excluded.payload_json,
           done_at = NULL",
        params![
            job.id.to_string(),
            job.workspace_id.to_string(),
            job.kind,
            job.payload_json,
            job.dedupe_key,
            job.run_at.millis(),
            job.attempts,
            job.created_at.millis(),
        ],
    )?;
    Ok(())
}

pub fn due_jobs(db: &Connection, now: Timestamp, limit: u32) -> Result<Vec<Job>> {
    all(
        db,
        "SELECT * FROM jobs WHERE done_at IS NULL AND run_at <= ? ORDER BY run_at, id LIMIT ?",
        params![now.millis(), limit],
        job_row,
    )
}

pub fn claim_job(db: &Connection, id: JobId, now: Timestamp) -> Result<bool> {
    // The one writer connection means nobody else can hold the job: due and not done is all.
    let due = super::super::query::optional(
        db,
        "SELECT 1 FROM jobs WHERE id = ? AND done_at IS NULL AND run_at <= ?",
        params![id.to_string(), now.millis()],
        |_| Ok(()),
    )?;
    Ok(due.is_some())
}

pub fn finish_job(db: &Connection, id: JobId, now: Timestamp) -> Result<()> {
    execute(
        db,
        "UPDATE jobs SET done_at = ?, attempts = attempts + 1 WHERE id = ?",
        params![now.millis(), id.to_string()],
    )?;
    Ok(())
}

pub fn retry_job(db: &Connection, id: JobId, error: &str, run_at: Timestamp) -> Result<()> {
    execute(
        db,
        "UPDATE jobs SET attempts = attempts + 1, last_error = ?, run_at = ? WHERE id = ?",
        params![error, run_at.millis(), id.to_string()],
    )?;
    Ok(())
}
