//! Billing webhooks in (issue 5; docs/BILLING.md): `POST /webhooks/stripe/{workspace_id}`,
//! authenticated by Stripe's signature rather than an API key, and
//! `PUT /api/v1/billing/stripe` to set the endpoint's signing secret.

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
use tributary_app::{App, billing};
use tributary_core::WorkspaceId;

pub fn router() -> Router<App> {
    Router::new()
        .route("/webhooks/stripe/{workspace_id}", post(stripe_webhook))
        .route("/api/v1/billing/stripe", put(set_stripe))
}

async fn stripe_webhook(
    State(app): State<App>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let workspace_id: WorkspaceId = path_id(&workspace_id, "workspace")?;
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    let received = billing::receive_stripe(&app, workspace_id, signature, &body).await?;
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
struct StripeSettings {
    signing_secret: String,
}

async fn set_stripe(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    caller.require_workspace()?;
    let settings: StripeSettings = parse_json(&body)?;
    billing::set_stripe_secret(&app, caller.workspace_id, &settings.signing_secret).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
