//! The job runner: claims due jobs from the outbox and runs each in its own write
//! transaction with its completion, so a job's effect and its "done" mark commit together.

use crate::metrics::Metrics;
use crate::posting::{
    JOB_APPROVE, JOB_BONUS, JOB_CONVERGE, JOB_SETTLE, approve, converge_later, judge_bonus,
    settle_period,
};
use crate::{App, AppError, AppResult};
use std::time::Duration;
use tributary_core::period::Period;
use tributary_core::{CommissionId, CustomerId, PartnerId, PlanVersionId, ProgramId, Timestamp};
use tributary_store::Job;

pub const JOBS_PER_ROUND: u32 = 500;
pub const MAX_ATTEMPTS: i64 = 10;
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Runs every job due at the clock's `now`; returns how many completed.
pub async fn run_due(app: &App) -> AppResult<usize> {
    let mut completed = 0;
    loop {
        let now = app.now();
        let due = app
            .store
            .read()
            .await?
            .due_jobs(now, JOBS_PER_ROUND)
            .await?;
        if due.is_empty() {
            return Ok(completed);
        }
        let mut progressed = false;
        for job in due {
            // A postback or an email calls out: it runs without holding the write
            // transaction.
            let ran = match job.kind.as_str() {
                crate::postbacks::JOB_POSTBACK => crate::postbacks::run_job(app, &job).await,
                crate::mail::JOB_EMAIL => crate::mail::run_job(app, &job).await,
                _ => run_one(app, &job).await,
            };
            match ran {
                // Another node took it, or finished it since the list was read.
                Ok(false) => {}
                Ok(true) => {
                    completed += 1;
                    progressed = true;
                    Metrics::incr(&app.metrics.jobs_run);
                }
                Err(error) => {
                    Metrics::incr(&app.metrics.jobs_failed);
                    tracing::warn!(job_id = %job.id, kind = %job.kind, attempts = job.attempts, %error, "job failed");
                    let backoff_ms = 1_000i64 << job.attempts.clamp(0, 16);
                    let mut tx = app.store.write().await?;
                    let retry_at = if job.attempts + 1 >= MAX_ATTEMPTS {
                        now.plus_days(36_500)
                    } else {
                        now.plus_millis(backoff_ms)
                    };
                    tx.retry_job(job.id, &error.to_string(), retry_at).await?;
                    tx.commit().await?;
                }
            }
        }
        // Jobs may enqueue jobs already due (a day's click rollup schedules the next day's,
        // which is due too when catching up): look again until a round completes nothing.
        if !progressed {
            return Ok(completed);
        }
    }
}

/// Runs one job in one write transaction with its `finish_job`; false if it was not ours
/// to run (see [`tributary_store::Tx::claim_job`]).
async fn run_one(app: &App, job: &Job) -> AppResult<bool> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    if !tx.claim_job(job.id, now).await? {
        return Ok(false);
    }
    let payload: serde_json::Value =
        serde_json::from_str(&job.payload_json).map_err(|e| AppError::Internal(e.to_string()))?;
    let field = |name: &str| {
        payload[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| AppError::Internal(format!("{} job without {name}", job.kind)))
    };
    let parsed = |name: &str| -> AppResult<uuid::Uuid> {
        field(name)?
            .parse()
            .map_err(|_| AppError::Internal(format!("{} job with a bad {name}", job.kind)))
    };
    let at = |name: &str| {
        payload[name]
            .as_i64()
            .map(Timestamp::from_millis)
            .ok_or_else(|| AppError::Internal(format!("{} job without {name}", job.kind)))
    };
    match job.kind.as_str() {
        JOB_APPROVE => {
            let id = CommissionId(parsed("commission_id")?);
            approve(tx.as_mut(), job.workspace_id, id, now).await?;
        }
        JOB_SETTLE | JOB_BONUS => {
            let program = tx
                .program(job.workspace_id, ProgramId(parsed("program_id")?))
                .await?
                .ok_or(AppError::NotFound("program"))?;
            let version = tx
                .plan_version(PlanVersionId(parsed("version_id")?))
                .await?
                .ok_or(AppError::NotFound("plan version"))?;
            // No partner: the program's whole period (a plan with a budget).
            let partner_id = if payload["partner_id"].is_null() {
                None
            } else {
                Some(PartnerId(parsed("partner_id")?))
            };
            let start = at("period_start")?;
            if job.kind == JOB_SETTLE {
                let period: Period = serde_json::from_value(payload["period"].clone())
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                settle_period(
                    tx.as_mut(),
                    &program,
                    &version,
                    partner_id,
                    period,
                    start,
                    now,
                )
                .await?;
            } else {
                let partner_id = partner_id.ok_or_else(|| {
                    AppError::Internal("judge_bonus job without partner_id".into())
                })?;
                judge_bonus(
                    tx.as_mut(),
                    &program,
                    &version,
                    partner_id,
                    &field("bonus_id")?,
                    start,
                    now,
                )
                .await?;
            }
        }
        crate::click_pay::JOB_CLICKS => {
            let program = tx
                .program(job.workspace_id, ProgramId(parsed("program_id")?))
                .await?
                .ok_or(AppError::NotFound("program"))?;
            let day = payload["day"]
                .as_i64()
                .ok_or_else(|| AppError::Internal(format!("{} job without day", job.kind)))?;
            crate::click_pay::rollup(tx.as_mut(), &program, day, now).await?;
        }
        JOB_CONVERGE => {
            let program = tx
                .program(job.workspace_id, ProgramId(parsed("program_id")?))
                .await?
                .ok_or(AppError::NotFound("program"))?;
            let customer = tx
                .customer(job.workspace_id, CustomerId(parsed("customer_id")?))
                .await?
                .ok_or(AppError::NotFound("customer"))?;
            converge_later(tx.as_mut(), &program, &customer, now).await?;
        }
        crate::lifecycle::tiers::JOB_REVIEW_TIERS => {
            let program = tx
                .program(job.workspace_id, ProgramId(parsed("program_id")?))
                .await?
                .ok_or(AppError::NotFound("program"))?;
            crate::lifecycle::tiers::review(tx.as_mut(), &app.mail, &program, now).await?;
        }
        other => return Err(AppError::Internal(format!("unknown job kind {other}"))),
    }
    tx.finish_job(job.id, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Runs due jobs forever, every [`POLL_INTERVAL`].
pub async fn run_forever(app: App) {
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    loop {
        ticker.tick().await;
        if let Err(error) = run_due(&app).await {
            tracing::error!(%error, "job round failed");
        }
    }
}
