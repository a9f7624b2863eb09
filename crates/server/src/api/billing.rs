//! Billing webhooks in (issue 5; docs/BILLING.md): `POST /webhooks/{stripe,paddle,chargebee}/
//! {workspace_id}`, authenticated by the provider's signature (Chargebee: basic auth) rather
//! than an API key, and `PUT /api/v1/billing/{stripe,paddle,chargebee}` to set the secret.

use super::{Caller, parse_json, path_id};
use crate::error::ApiResult;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use serde::Deserialize;
use serde_json::json;
use tributary_app::App;
use tributary_app::billing::{self, Provider};
use tributary_core::WorkspaceId;

pub fn router() -> Router<App> {
    Router::new()
        .route("/webhooks/stripe/{workspace_id}", post(stripe_webhook))
        .route("/webhooks/paddle/{workspace_id}", post(paddle_webhook))
        .route(
            "/webhooks/chargebee/{workspace_id}",
            post(chargebee_webhook),
        )
        .route("/api/v1/billing/stripe", put(set_stripe))
        .route("/api/v1/billing/paddle", put(set_paddle))
        .route("/api/v1/billing/chargebee", put(set_chargebee))
}

async fn stripe_webhook(
    State(app): State<App>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    webhook(app, Provider::Stripe, &workspace_id, &headers, &body).await
}

async fn paddle_webhook(
    State(app): State<App>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    webhook(app, Provider::Paddle, &workspace_id, &headers, &body).await
}

async fn chargebee_webhook(
    State(app): State<App>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    webhook(app, Provider::Chargebee, &workspace_id, &headers, &body).await
}

async fn webhook(
    app: App,
    provider: Provider,
    workspace_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let workspace_id: WorkspaceId = path_id(workspace_id, "workspace")?;
    let signature = headers
        .get(provider.signature_header())
        .and_then(|value| value.to_str().ok());
    let received = billing::receive(&app, workspace_id, provider, signature, body).await?;
    Ok((
        StatusCode::OK,
        axum::Json(json!({
            "event_id": received.event_id, "status": received.status, "note": received.note,
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Secret {
    signing_secret: String,
}

async fn set_stripe(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    set_secret(app, caller, Provider::Stripe, &body).await
}

async fn set_paddle(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    set_secret(app, caller, Provider::Paddle, &body).await
}

async fn set_chargebee(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    set_secret(app, caller, Provider::Chargebee, &body).await
}

async fn set_secret(
    app: App,
    caller: Caller,
    provider: Provider,
    body: &[u8],
) -> ApiResult<Response> {
    caller.require_workspace()?;
    let secret: Secret = parse_json(body)?;
    billing::set_secret(&app, caller.workspace_id, provider, &secret.signing_secret).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
