//! `POST /api/v1/events`: the business reports what happened. Idempotent per
//! `Idempotency-Key`; durable before the answer.

use super::{ApiQuery, Caller, PageQuery, listing, views};
use crate::error::{ApiError, ApiResult};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tributary_app::{App, AppError, ingest};

pub fn router() -> Router<App> {
    Router::new().route("/api/v1/events", get(list_events).post(create_event))
}

async fn create_event(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            ApiError(AppError::invalid(
                "Idempotency-Key",
                "the Idempotency-Key header is required",
            ))
        })?;
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|error| {
        ApiError(AppError::Invalid {
            field: None,
            message: format!("malformed JSON body: {error}"),
        })
    })?;
    let answer = ingest::accept(&app, caller.workspace_id, key, &value).await?;
    let status = if answer.replayed {
        StatusCode::OK
    } else if answer.queued {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        answer.response_json,
    )
        .into_response();
    if answer.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn list_events(
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
        .events(caller.workspace_id, probe)
        .await?;
    Ok(listing(page, rows, views::event))
}
