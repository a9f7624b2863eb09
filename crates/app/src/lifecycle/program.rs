//! A program's lifecycle settings, its public page and its rollout stage.

use super::{Audit, audit};
use crate::{App, AppError, AppResult};
use serde_json::json;
use tributary_core::lifecycle::{ProgramLifecycle, StageName};
use tributary_core::*;
use tributary_store::{Program, ProgramLifecycleRow};

/// Characters in a public slug: 3 to 64.
pub const SLUG_LEN: std::ops::RangeInclusive<usize> = 3..=64;

fn slug(text: &str) -> AppResult<String> {
    let slug = text.trim().to_ascii_lowercase();
    let valid = SLUG_LEN.contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if valid {
        Ok(slug)
    } else {
        Err(AppError::invalid(
            "slug",
            "3 to 64 characters of a-z, 0-9 and '-' (not at either end)",
        ))
    }
}

/// Saves a program's lifecycle settings and public slug. The stage's name is kept as stored
/// (moving stage is its own audited decision, [`move_stage`]); its capacity and gates are
/// taken from `lifecycle`.
pub async fn configure(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    slug_text: &str,
    mut lifecycle: ProgramLifecycle,
    actor: &str,
) -> AppResult<ProgramLifecycleRow> {
    let slug = slug(slug_text)?;
    let now = app.now();
    let mut tx = app.store.write().await?;
    tx.program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    // A ladder already there has its review chain running (each review schedules the next).
    let mut had_ladder = false;
    if let Some(stored) = tx.program_lifecycle(program_id).await? {
        lifecycle.stage.name = stored.lifecycle.stage.name;
        had_ladder = !stored.lifecycle.tiers.tiers.is_empty();
    }
    lifecycle
        .validate()
        .map_err(|error| AppError::invalid(&error.field, error.message))?;
    if let Some(other) = tx.program_lifecycle_by_slug(&slug).await?
        && other.program_id != program_id
    {
        return Err(AppError::Conflict(format!(
            "the address /join/{slug} is taken by another program"
        )));
    }
    let row = ProgramLifecycleRow {
        program_id,
        workspace_id,
        slug,
        lifecycle,
        updated_at: now,
    };
    tx.put_program_lifecycle(&row).await?;
    if !had_ladder && !row.lifecycle.tiers.tiers.is_empty() {
        super::tiers::schedule_review(tx.as_mut(), workspace_id, program_id, now, now).await?;
    }
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "program.lifecycle_saved",
            subject: format!("program:{program_id}"),
            reason: "",
            detail: json!({ "slug": row.slug, "lifecycle": row.lifecycle }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Moves a program to another stage: an admin's decision, with its reason, audited.
pub async fn move_stage(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    to: StageName,
    capacity: Option<u32>,
    reason: &str,
    actor: &str,
) -> AppResult<ProgramLifecycleRow> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "say why the stage moves"));
    }
    let now = app.now();
    let mut tx = app.store.write().await?;
    let program = tx
        .program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let mut row = tx.program_lifecycle(program_id).await?.ok_or_else(|| {
        AppError::Conflict("save the program's public page settings before moving its stage".into())
    })?;
    let from = row.lifecycle.stage.name;
    row.lifecycle.stage.name = to;
    row.lifecycle.stage.capacity = if to == StageName::Open {
        None
    } else {
        capacity
    };
    row.lifecycle
        .validate()
        .map_err(|error| AppError::invalid(&error.field, error.message))?;
    row.updated_at = now;
    tx.put_program_lifecycle(&row).await?;
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "program.stage_moved",
            subject: format!("program:{}", program.id),
            reason,
            detail: json!({ "from": from.as_str(), "to": to.as_str(), "capacity": row.lifecycle.stage.capacity }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// What the public page shows.
#[derive(Debug, Clone)]
pub struct PublicProgram {
    pub program: Program,
    pub row: ProgramLifecycleRow,
    /// Strangers may apply (not a pilot).
    pub accepting: bool,
    /// The stage's capacity is reached: applications still queue, approvals wait.
    pub full: bool,
}

/// A program by its public slug.
pub async fn public_program(app: &App, slug: &str) -> AppResult<PublicProgram> {
    let mut tx = app.store.read().await?;
    let row = tx
        .program_lifecycle_by_slug(&slug.to_ascii_lowercase())
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let program = tx
        .program_by_id(row.program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let active = tx
        .count_enrollments(program.id, &super::ACTIVE_STATUSES)
        .await?;
    Ok(PublicProgram {
        accepting: row.lifecycle.stage.name.accepts_applications(),
        full: !row.lifecycle.stage.has_room(active),
        program,
        row,
    })
}
