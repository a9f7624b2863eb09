//! Payout batches: create from approved balances, export for PayPal, mark paid.

use super::{ApiQuery, Caller, PageQuery, listing, parse_json, path_id, views};
use crate::error::{ApiError, ApiResult};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tributary_app::{App, AppError, payouts};
use tributary_core::{PayoutBatchId, ProgramId};

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/payouts", get(list).post(create))
        .route("/api/v1/payouts/{id}", get(show))
        .route("/api/v1/payouts/{id}/paypal.csv", get(csv))
        .route("/api/v1/payouts/{id}/mark-paid", post(mark_paid))
}

#[derive(Deserialize)]
struct NewBatch {
    program_id: ProgramId,
}

#[derive(Deserialize)]
struct MarkPaid {
    reference: String,
}

async fn list(
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
        .payout_batches(caller.workspace_id, probe)
        .await?;
    Ok(listing(page, rows, views::payout_batch))
}

async fn create(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    caller.require_workspace()?;
    let input: NewBatch = parse_json(&body)?;
    match payouts::create_batch(&app, caller.workspace_id, input.program_id).await? {
        Some(batch) => Ok((StatusCode::CREATED, Json(views::payout_batch(&batch))).into_response()),
        None => Err(ApiError(AppError::Conflict(
            "no partner has an approved balance at or above the program minimum".into(),
        ))),
    }
}

async fn show(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: PayoutBatchId = path_id(&id, "payout batch")?;
    let mut tx = app.store.read().await?;
    let batch = tx
        .payout_batch(caller.workspace_id, id)
        .await?
        .ok_or(ApiError(AppError::NotFound("payout batch")))?;
    let items = tx.payout_items(id).await?;
    let mut value = views::payout_batch(&batch);
    value["items"] = serde_json::Value::Array(items.iter().map(views::payout_item).collect());
    Ok(Json(value).into_response())
}

async fn csv(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: PayoutBatchId = path_id(&id, "payout batch")?;
    let body = payouts::paypal_csv(&app, caller.workspace_id, id).await?;
    let disposition = format!("attachment; filename=\"payout-{id}.csv\"");
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

async fn mark_paid(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let id: PayoutBatchId = path_id(&id, "payout batch")?;
    let input: MarkPaid = parse_json(&body)?;
    let batch = payouts::mark_paid(&app, caller.workspace_id, id, &input.reference).await?;
    Ok(Json(views::payout_batch(&batch)).into_response())
}
