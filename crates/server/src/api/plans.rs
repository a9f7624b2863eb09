//! Plans: a program's versions (per program, group or partner), validation with a plain
//! words preview, a partner's group and tier, plan simulation (replay), and perks.

use super::{Caller, parse_json, path_id};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use tributary_app::ingest::format_time;
use tributary_app::plans::{self, NewVersion, SegmentInput, SimulationInput};
use tributary_app::replay::{ReplayReport, Side};
use tributary_app::{App, AppError};
use tributary_core::plan::Plan;
use tributary_core::{PartnerId, ProgramId};
use tributary_store::{PlanScope, PlanVersion};

pub fn router() -> Router<App> {
    Router::new()
        .route(
            "/api/v1/programs/{id}/plans",
            get(list_versions).post(create_version),
        )
        .route("/api/v1/programs/{id}/plans/validate", post(validate))
        .route("/api/v1/programs/{id}/simulate", post(simulate))
        .route(
            "/api/v1/programs/{id}/partners/{partner_id}/segment",
            put(set_segment),
        )
        .route("/api/v1/partners/{id}/perks", get(perks))
}

pub fn version_view(version: &PlanVersion, current: bool) -> Value {
    let (scope, key) = match &version.scope {
        PlanScope::Program => ("program", Value::Null),
        PlanScope::Group(name) => ("group", json!(name)),
        PlanScope::Partner(id) => ("partner", json!(id)),
    };
    json!({
        "id": version.id, "program_id": version.program_id, "version": version.version,
        "scope": scope, "scope_key": key, "effective_from": format_time(version.effective_from),
        "current_default": current, "plan": version.plan, "created_at": format_time(version.created_at),
        "rules": describe(&version.plan),
    })
}

/// The plan's rules in words, as the admin UI previews them.
fn describe(plan: &Plan) -> Vec<String> {
    plan.rules.iter().map(crate::ui::rule_text).collect()
}

async fn list_versions(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let mut tx = app.store.read().await?;
    let program = tx
        .program(caller.workspace_id, id)
        .await?
        .ok_or(ApiError(AppError::NotFound("program")))?;
    let versions = tx.plan_versions(id).await?;
    Ok(Json(json!({
        "data": versions.iter().map(|v| version_view(v, v.id == program.plan_version_id)).collect::<Vec<_>>()
    }))
    .into_response())
}

async fn create_version(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let input: NewVersion = parse_json(&body)?;
    let version = plans::create_version(&app, caller.workspace_id, id, input).await?;
    let current = version.scope == PlanScope::Program;
    Ok((StatusCode::CREATED, Json(version_view(&version, current))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateInput {
    plan: Plan,
}

async fn validate(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    app.store
        .read()
        .await?
        .program(caller.workspace_id, id)
        .await?
        .ok_or(ApiError(AppError::NotFound("program")))?;
    let input: ValidateInput = parse_json(&body)?;
    input.plan.validate().map_err(|error| {
        ApiError(AppError::invalid(
            &format!("plan.{}", error.path),
            error.message,
        ))
    })?;
    Ok(Json(json!({ "valid": true, "rules": describe(&input.plan) })).into_response())
}

#[derive(Deserialize, Default)]
struct FormatQuery {
    format: Option<String>,
}

async fn simulate(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<FormatQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let input: SimulationInput = parse_json(&body)?;
    let report = plans::simulate(&app, caller.workspace_id, id, input).await?;
    if query.format.as_deref() == Some("csv") {
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            )],
            report.csv(),
        )
            .into_response());
    }
    Ok(Json(report_view(&report)).into_response())
}

fn side_view(side: &Side) -> Value {
    json!({
        "total_minor": side.total_minor, "commissions": side.commissions,
        "by_archetype": side.by_archetype, "by_tier": side.by_tier,
    })
}

pub fn report_view(report: &ReplayReport) -> Value {
    let per = |total: i64, count: u64| {
        tributary_core::Money::new(total, report.currency)
            .per(count)
            .map(|each| each.amount_minor)
    };
    json!({
        "program": report.program, "currency": report.currency,
        "from": format_time(report.from), "to": format_time(report.to),
        "events_read": report.events_read, "events_in_range": report.events_in_range,
        "customers": report.customers, "acquired": report.acquired, "retained": report.retained,
        "current": side_view(&report.current),
        "proposed": report.proposed.as_ref().map(side_view),
        "cost_per_acquired_minor": {
            "current": per(report.current.total_minor, report.acquired),
            "proposed": report.proposed.as_ref().and_then(|p| per(p.total_minor, report.acquired)),
        },
        "cost_per_retained_minor": {
            "current": per(report.current.total_minor, report.retained),
            "proposed": report.proposed.as_ref().and_then(|p| per(p.total_minor, report.retained)),
        },
        "partners": report.partners.iter().map(|row| json!({
            "partner_id": row.partner_id, "name": row.name, "archetype": row.archetype, "tier": row.tier,
            "current_minor": row.current_minor, "proposed_minor": row.proposed_minor, "delta_minor": row.delta(),
        })).collect::<Vec<_>>(),
    })
}

async fn set_segment(
    State(app): State<App>,
    caller: Caller,
    Path((id, partner_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let partner_id: PartnerId = path_id(&partner_id, "partner")?;
    let input: SegmentInput = parse_json(&body)?;
    let enrollment = plans::set_segment(&app, caller.workspace_id, id, partner_id, input).await?;
    Ok(Json(super::views::enrollment(&enrollment)).into_response())
}

async fn perks(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: PartnerId = path_id(&id, "partner")?;
    if !caller.can_see(id) {
        return Err(ApiError(AppError::NotFound("partner")));
    }
    app.store
        .read()
        .await?
        .partner(caller.workspace_id, id)
        .await?
        .ok_or(ApiError(AppError::NotFound("partner")))?;
    let perks = plans::perks(&app, caller.workspace_id, id).await?;
    Ok(Json(json!({ "partner_id": id, "data": perks })).into_response())
}
