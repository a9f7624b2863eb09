//! Partner postbacks (docs/POSTBACKS.md) and the sub-id report of a link.

use super::{ApiQuery, Caller, PageQuery, listing, parse_json, path_id, views};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use tributary_app::postbacks::{self, NewPostback};
use tributary_app::{App, AppError};
use tributary_core::{LinkId, PartnerId};

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/postbacks", get(list).post(register))
        .route("/api/v1/postbacks/{id}", delete(disable))
        .route("/api/v1/postback-deliveries", get(deliveries))
        .route("/api/v1/links/{id}/subs", get(sub_report))
}

#[derive(Debug, Default, Deserialize)]
struct PartnerQuery {
    partner_id: Option<PartnerId>,
    limit: Option<u32>,
    offset: Option<u32>,
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PartnerQuery>,
) -> ApiResult<Response> {
    let partner = caller.partner_id.or(query.partner_id);
    let rows = app
        .store
        .read()
        .await?
        .postbacks(caller.workspace_id, partner)
        .await?;
    Ok(Json(serde_json::json!({
        "data": rows.iter().map(views::postback).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct PostbackRequest {
    #[serde(default)]
    partner_id: Option<PartnerId>,
    #[serde(flatten)]
    postback: NewPostback,
}

async fn register(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let request: PostbackRequest = parse_json(&body)?;
    let partner = caller.acting_for(request.partner_id)?;
    let postback =
        postbacks::register(&app, caller.workspace_id, partner, request.postback).await?;
    Ok((StatusCode::CREATED, Json(views::postback(&postback))).into_response())
}

async fn disable(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: uuid::Uuid = path_id(&id, "postback")?;
    postbacks::disable(&app, caller.workspace_id, caller.partner_id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn deliveries(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PartnerQuery>,
) -> ApiResult<Response> {
    let partner = caller.partner_id.or(query.partner_id);
    let (page, probe) = PageQuery {
        limit: query.limit,
        offset: query.offset,
    }
    .probe();
    let rows = app
        .store
        .read()
        .await?
        .postback_deliveries(caller.workspace_id, partner, probe)
        .await?;
    Ok(listing(page, rows, views::postback_delivery))
}

#[derive(Debug, Default, Deserialize)]
struct SubQuery {
    sub: Option<u8>,
}

async fn sub_report(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SubQuery>,
) -> ApiResult<Response> {
    let id: LinkId = path_id(&id, "link")?;
    let slot = query.sub.unwrap_or(1);
    if !(1..=5).contains(&slot) {
        return Err(ApiError(AppError::invalid("sub", "sub is 1 to 5")));
    }
    let mut tx = app.store.read().await?;
    let link = tx
        .link(caller.workspace_id, id)
        .await?
        .filter(|link| caller.can_see(link.partner_id))
        .ok_or(ApiError(AppError::NotFound("link")))?;
    let rows = tx.link_sub_report(&link, slot).await?;
    Ok(Json(serde_json::json!({
        "link_id": link.id,
        "sub": slot,
        "data": rows,
    }))
    .into_response())
}
