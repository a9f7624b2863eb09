//! Attribution the business steers (issue 5): a program's model and precedence, coupon
//! codes, a customer's conversion path and re-attribution, and registered deals.

use super::{ApiQuery, Caller, PageQuery, listing, parse_json, path_id, views};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use tributary_app::attribution::{self, NewDeal, Reattribution};
use tributary_app::{App, AppError, admin};
use tributary_core::multitouch::Settings;
use tributary_core::{CustomerId, DealId, PartnerId, ProgramId};

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/programs/{id}/attribution", put(set_attribution))
        .route("/api/v1/coupons", get(list_coupons).post(create_coupon))
        .route(
            "/api/v1/customers/{id}/attribution",
            get(conversion_path).post(reattribute),
        )
        .route("/api/v1/deals", get(list_deals).post(register_deal))
        .route("/api/v1/deals/{id}/approve", post(approve_deal))
        .route("/api/v1/deals/{id}/reject", post(reject_deal))
}

async fn set_attribution(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: ProgramId = path_id(&id, "program")?;
    let settings: Settings = parse_json(&body)?;
    let program = admin::set_attribution(&app, caller.workspace_id, id, settings).await?;
    Ok(Json(views::program(&program)).into_response())
}

async fn list_coupons(State(app): State<App>, caller: Caller) -> ApiResult<Response> {
    let coupons = app
        .store
        .read()
        .await?
        .coupons(caller.workspace_id, caller.partner_id)
        .await?;
    Ok(Json(serde_json::json!({
        "data": coupons.iter().map(views::coupon).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn create_coupon(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    caller.require_workspace()?;
    let coupon = attribution::create_coupon(&app, caller.workspace_id, parse_json(&body)?).await?;
    Ok((StatusCode::CREATED, Json(views::coupon(&coupon))).into_response())
}

async fn conversion_path(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: CustomerId = path_id(&id, "customer")?;
    let mut tx = app.store.read().await?;
    let path =
        attribution::conversion_path(tx.as_mut(), caller.workspace_id, id, caller.partner_id)
            .await?
            .ok_or(ApiError(AppError::NotFound("customer")))?;
    Ok(Json(views::conversion_path(&path)).into_response())
}

async fn reattribute(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: CustomerId = path_id(&id, "customer")?;
    let input: Reattribution = parse_json(&body)?;
    let done =
        attribution::reattribute(&app, caller.workspace_id, &caller.actor(), id, input).await?;
    let mut tx = app.store.read().await?;
    let path = attribution::conversion_path(tx.as_mut(), caller.workspace_id, id, None)
        .await?
        .ok_or(ApiError(AppError::NotFound("customer")))?;
    let mut body = views::conversion_path(&path);
    body["changed"] = done.changed.into();
    body["commissions"] = done
        .commissions
        .iter()
        .map(views::commission)
        .collect::<Vec<_>>()
        .into();
    Ok(Json(body).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct DealQuery {
    limit: Option<u32>,
    offset: Option<u32>,
    partner_id: Option<PartnerId>,
}

async fn list_deals(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DealQuery>,
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
        .deals(caller.workspace_id, partner, probe)
        .await?;
    Ok(listing(page, rows, views::deal))
}

/// A deal registration: a partner key registers for its partner; a workspace key names the
/// partner (`partner_id`).
#[derive(Debug, Deserialize)]
struct DealRequest {
    #[serde(default)]
    partner_id: Option<PartnerId>,
    #[serde(flatten)]
    deal: NewDeal,
}

async fn register_deal(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let request: DealRequest = parse_json(&body)?;
    let partner = caller.acting_for(request.partner_id)?;
    let deal = attribution::register_deal(&app, caller.workspace_id, partner, request.deal).await?;
    Ok((StatusCode::CREATED, Json(views::deal(&deal))).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    #[serde(default)]
    reason: String,
}

async fn decide(
    app: App,
    caller: Caller,
    id: &str,
    body: &[u8],
    approve: bool,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: DealId = path_id(id, "deal")?;
    let decision: Decision = if body.is_empty() {
        Decision::default()
    } else {
        parse_json(body)?
    };
    let deal = attribution::decide_deal(
        &app,
        caller.workspace_id,
        &caller.actor(),
        id,
        approve,
        &decision.reason,
    )
    .await?;
    Ok(Json(views::deal(&deal)).into_response())
}

async fn approve_deal(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    decide(app, caller, &id, &body, true).await
}

async fn reject_deal(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    decide(app, caller, &id, &body, false).await
}
