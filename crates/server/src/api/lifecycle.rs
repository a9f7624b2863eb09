//! The partner lifecycle over the API (docs/LIFECYCLE.md): a program's public page and
//! vetting settings, its stage, applications and bulk decisions, invitations (one, or a CSV
//! body), terms, a partner's standing, the onboarding funnel and the email outbox. Workspace
//! keys only.

use super::{ApiQuery, Caller, PageQuery, listing, parse_json, path_id, views};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::lifecycle::invitations::{self, NewInvitation};
use tributary_app::lifecycle::terms::{self, NewTerms};
use tributary_app::lifecycle::{applications, onboarding, program, standing};
use tributary_app::{App, AppError};
use tributary_core::lifecycle::{Decision, ProgramLifecycle, StageName};
use tributary_core::{ApplicationId, PartnerId, ProgramId};

pub fn router() -> Router<App> {
    Router::new()
        .route(
            "/api/v1/programs/{id}/lifecycle",
            get(get_lifecycle).put(put_lifecycle),
        )
        .route("/api/v1/programs/{id}/stage", post(move_stage))
        .route("/api/v1/applications", get(list_applications))
        .route("/api/v1/applications/decisions", post(decide))
        .route("/api/v1/programs/{id}/invitations", post(invite))
        .route(
            "/api/v1/programs/{id}/terms",
            get(list_terms).post(publish_terms),
        )
        .route("/api/v1/partners/{id}/standing", post(change_standing))
        .route("/api/v1/programs/{id}/onboarding", get(funnel))
        .route("/api/v1/emails", get(list_emails))
}

/// The CSV import, which takes a larger body than the rest of the API.
pub fn upload_router() -> Router<App> {
    Router::new()
        .route("/api/v1/programs/{id}/invitations/import", post(import))
        .layer(DefaultBodyLimit::max(crate::MAX_UPLOAD_BYTES))
}

async fn get_lifecycle(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let mut tx = app.store.read().await?;
    tx.program(caller.workspace_id, id)
        .await?
        .ok_or(ApiError(AppError::NotFound("program")))?;
    let row = tx
        .program_lifecycle(id)
        .await?
        .ok_or(ApiError(AppError::NotFound("lifecycle settings")))?;
    Ok(Json(views::lifecycle(&row)).into_response())
}

#[derive(Deserialize)]
struct LifecycleRequest {
    slug: String,
    lifecycle: ProgramLifecycle,
}

async fn put_lifecycle(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let request: LifecycleRequest = parse_json(&body)?;
    let row = program::configure(
        &app,
        caller.workspace_id,
        id,
        &request.slug,
        request.lifecycle,
        &caller.actor(),
    )
    .await?;
    Ok(Json(views::lifecycle(&row)).into_response())
}

#[derive(Deserialize)]
struct StageRequest {
    stage: String,
    capacity: Option<u32>,
    reason: String,
}

async fn move_stage(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let request: StageRequest = parse_json(&body)?;
    let stage = StageName::parse(&request.stage)
        .ok_or_else(|| ApiError(AppError::invalid("stage", "pilot, limited or open")))?;
    let row = program::move_stage(
        &app,
        caller.workspace_id,
        id,
        stage,
        request.capacity,
        &request.reason,
        &caller.actor(),
    )
    .await?;
    Ok(Json(views::lifecycle(&row)).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct ApplicationQuery {
    program_id: Option<ProgramId>,
    status: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

async fn list_applications(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ApplicationQuery>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let (page, probe) = PageQuery {
        limit: query.limit,
        offset: query.offset,
    }
    .probe();
    let rows = applications::list(
        &app,
        caller.workspace_id,
        query.program_id,
        query.status.as_deref(),
        probe,
    )
    .await?;
    Ok(listing(page, rows, views::application))
}

#[derive(Deserialize)]
struct DecisionRequest {
    ids: Vec<ApplicationId>,
    decision: Decision,
    #[serde(default)]
    reason: String,
}

async fn decide(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    caller.require_workspace()?;
    let request: DecisionRequest = parse_json(&body)?;
    let decided = applications::decide(
        &app,
        caller.workspace_id,
        &request.ids,
        request.decision,
        &request.reason,
        &caller.actor(),
    )
    .await?;
    Ok(Json(serde_json::json!({
        "data": decided.iter().map(|one| match &one.outcome {
            Ok(application) => serde_json::json!({"id": one.id, "decided": true, "application": views::application(application)}),
            Err(message) => serde_json::json!({"id": one.id, "decided": false, "message": message}),
        }).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn invite(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let request: NewInvitation = parse_json(&body)?;
    let invitation =
        invitations::invite(&app, caller.workspace_id, id, &request, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(views::invitation(&invitation))).into_response())
}

async fn import(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError(AppError::invalid("file", "the CSV is not UTF-8 text")))?;
    let report =
        invitations::import_csv(&app, caller.workspace_id, id, text, &caller.actor()).await?;
    Ok(Json(report).into_response())
}

async fn list_terms(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let versions = terms::versions(&app, caller.workspace_id, id).await?;
    Ok(Json(serde_json::json!({
        "data": versions.iter().map(views::terms).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn publish_terms(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let request: NewTerms = parse_json(&body)?;
    let published = terms::publish(&app, caller.workspace_id, id, request, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(views::terms(&published))).into_response())
}

#[derive(Deserialize)]
struct StandingRequest {
    program_id: ProgramId,
    action: String,
    reason: String,
}

async fn change_standing(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let partner_id: PartnerId = path_id(&id, "partner")?;
    let request: StandingRequest = parse_json(&body)?;
    let (ws, actor) = (caller.workspace_id, caller.actor());
    let (program_id, reason) = (request.program_id, request.reason.as_str());
    let answer = match request.action.as_str() {
        "suspend" => {
            standing::suspend(&app, ws, program_id, partner_id, reason, &actor).await?;
            serde_json::json!({ "status": "suspended" })
        }
        "reinstate" => {
            standing::reinstate(&app, ws, program_id, partner_id, reason, &actor).await?;
            serde_json::json!({ "status": "approved" })
        }
        "terminate" => {
            let ended =
                standing::terminate(&app, ws, program_id, partner_id, reason, &actor).await?;
            serde_json::json!({ "status": "terminated", "termination": ended })
        }
        _ => {
            return Err(ApiError(AppError::invalid(
                "action",
                "suspend, reinstate or terminate",
            )));
        }
    };
    Ok(Json(answer).into_response())
}

async fn funnel(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let funnel = onboarding::funnel(&app, caller.workspace_id, id).await?;
    Ok(Json(serde_json::json!({
        "partners": funnel.partners,
        "truncated": funnel.truncated,
        "median_hours_to_first_referral": funnel.median_hours_to_first_referral,
        "steps": funnel.steps.iter().map(|step| serde_json::json!({
            "key": step.key, "label": step.label, "done": step.done, "stuck": step.stuck,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
struct EmailQuery {
    to: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

async fn list_emails(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<EmailQuery>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let (page, probe) = PageQuery {
        limit: query.limit,
        offset: query.offset,
    }
    .probe();
    let rows = app
        .store
        .read()
        .await?
        .emails(caller.workspace_id, query.to.as_deref(), probe)
        .await?;
    Ok(listing(page, rows, views::email))
}
