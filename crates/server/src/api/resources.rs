//! Programs, partners, enrollments, links and customers.

use super::{ApiQuery, Caller, PageQuery, listing, parse_json, path_id, views};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tributary_app::{App, AppError, admin};
use tributary_core::{LinkId, PartnerId, ProgramId};

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/programs", get(list_programs).post(create_program))
        .route("/api/v1/programs/{id}", get(get_program))
        .route("/api/v1/partners", get(list_partners).post(create_partner))
        .route("/api/v1/partners/{id}", get(get_partner))
        .route("/api/v1/partners/{id}/balance", get(partner_balance))
        .route(
            "/api/v1/enrollments",
            get(list_enrollments).post(create_enrollment),
        )
        .route("/api/v1/links", get(list_links).post(create_link))
        .route("/api/v1/links/{id}", get(get_link))
        .route("/api/v1/customers", get(list_customers))
}

fn created(value: serde_json::Value) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn list_programs(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Response> {
    let (page, probe) = query.probe();
    let rows = app
        .store
        .read()
        .await?
        .programs(caller.workspace_id, probe)
        .await?;
    Ok(listing(page, rows, views::program))
}

async fn create_program(
    State(app): State<App>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let program = admin::create_program(&app, caller.workspace_id, parse_json(&body)?).await?;
    Ok(created(views::program(&program)))
}

async fn get_program(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: ProgramId = path_id(&id, "program")?;
    let program = app
        .store
        .read()
        .await?
        .program(caller.workspace_id, id)
        .await?
        .ok_or(ApiError(AppError::NotFound("program")))?;
    Ok(Json(views::program(&program)).into_response())
}

async fn list_partners(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let (page, probe) = query.probe();
    let rows = app
        .store
        .read()
        .await?
        .partners(caller.workspace_id, probe)
        .await?;
    Ok(listing(page, rows, views::partner))
}

async fn create_partner(
    State(app): State<App>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let partner = admin::create_partner(&app, caller.workspace_id, parse_json(&body)?).await?;
    Ok(created(views::partner(&partner)))
}

async fn visible_partner(
    app: &App,
    caller: &Caller,
    id: &str,
) -> ApiResult<tributary_store::Partner> {
    let id: PartnerId = path_id(id, "partner")?;
    if !caller.can_see(id) {
        return Err(ApiError(AppError::NotFound("partner")));
    }
    app.store
        .read()
        .await?
        .partner(caller.workspace_id, id)
        .await?
        .ok_or(ApiError(AppError::NotFound("partner")))
}

async fn get_partner(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let partner = visible_partner(&app, &caller, &id).await?;
    Ok(Json(views::partner(&partner)).into_response())
}

async fn partner_balance(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let partner = visible_partner(&app, &caller, &id).await?;
    let balances = app
        .store
        .read()
        .await?
        .partner_balances(caller.workspace_id, partner.id)
        .await?;
    Ok(Json(serde_json::json!({ "partner_id": partner.id, "balances": balances.iter().map(views::balance).collect::<Vec<_>>() })).into_response())
}

#[derive(Deserialize)]
struct NewEnrollment {
    program_id: ProgramId,
    partner_id: PartnerId,
}

async fn list_enrollments(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Response> {
    let (page, probe) = query.probe();
    let rows = app
        .store
        .read()
        .await?
        .enrollments(caller.workspace_id, caller.partner_id, probe)
        .await?;
    Ok(listing(page, rows, views::enrollment))
}

async fn create_enrollment(
    State(app): State<App>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let input: NewEnrollment = parse_json(&body)?;
    let enrollment = admin::enroll(
        &app,
        caller.workspace_id,
        input.program_id,
        input.partner_id,
    )
    .await?;
    Ok(created(views::enrollment(&enrollment)))
}

#[derive(Deserialize, Default)]
struct LinkQuery {
    partner_id: Option<PartnerId>,
    limit: Option<u32>,
    offset: Option<u32>,
}

async fn list_links(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<LinkQuery>,
) -> ApiResult<Response> {
    // A partner key always sees only its own links, whatever it asks for.
    let partner_id = caller.partner_id.or(query.partner_id);
    let (page, probe) = PageQuery {
        limit: query.limit,
        offset: query.offset,
    }
    .probe();
    let rows = app
        .store
        .read()
        .await?
        .links(caller.workspace_id, partner_id, probe)
        .await?;
    Ok(listing(page, rows, views::link_stats))
}

async fn create_link(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    caller.require_workspace()?;
    let link = admin::create_link(&app, caller.workspace_id, parse_json(&body)?).await?;
    Ok(created(views::link(&link)))
}

async fn get_link(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: LinkId = path_id(&id, "link")?;
    let link = app
        .store
        .read()
        .await?
        .link(caller.workspace_id, id)
        .await?;
    match link {
        Some(link) if caller.can_see(link.partner_id) => {
            Ok(Json(views::link(&link)).into_response())
        }
        _ => Err(ApiError(AppError::NotFound("link"))),
    }
}

async fn list_customers(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Response> {
    let (page, probe) = query.probe();
    let rows = app
        .store
        .read()
        .await?
        .customers(caller.workspace_id, caller.partner_id, probe)
        .await?;
    Ok(listing(page, rows, views::customer))
}
