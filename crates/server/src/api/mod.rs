//! The REST API under `/api/v1`, authenticated by `Authorization: Bearer <api key>`.
//! Workspace keys can do everything; partner-scoped keys read only their partner's data.

mod attribution;
mod billing;
mod commissions;
mod events;
mod lifecycle;
mod payouts;
mod plans;
mod postbacks;
mod resources;
pub mod views;

use crate::error::{ApiError, ApiResult};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tributary_app::{App, AppError};
use tributary_core::{ApiKeyId, PartnerId, WorkspaceId};
use tributary_store::Page;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .merge(resources::router())
        .merge(events::router())
        .merge(commissions::router())
        .merge(payouts::router())
        .merge(plans::router())
        .merge(billing::router())
        .merge(attribution::router())
        .merge(postbacks::router())
        .merge(lifecycle::router())
}

/// The API routes that take a larger body (a CSV of invitations).
pub fn upload_router() -> Router<App> {
    lifecycle::upload_router()
}

/// The OpenAPI document. Kept by hand beside the handlers; a test checks that every route is
/// in it (see docs/adr/0002-openapi-by-hand.md).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

/// Who is calling, from the API key.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub workspace_id: WorkspaceId,
    /// Set for partner-scoped keys.
    pub partner_id: Option<PartnerId>,
    pub key_id: ApiKeyId,
}

impl Caller {
    /// Refuses partner-scoped keys: for writes and workspace-wide data.
    pub fn require_workspace(&self) -> ApiResult<()> {
        match self.partner_id {
            None => Ok(()),
            Some(_) => Err(ApiError(AppError::Forbidden(
                "this needs a workspace API key, not a partner key",
            ))),
        }
    }

    /// Who the audit log names for this caller's changes.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.key_id)
    }

    /// The partner a write is for: a partner key's own (naming another is refused), or the
    /// one a workspace key names in `partner_id`.
    pub fn acting_for(&self, named: Option<PartnerId>) -> ApiResult<PartnerId> {
        match (self.partner_id, named) {
            (Some(own), Some(named)) if own != named => Err(ApiError(AppError::Forbidden(
                "a partner key acts only for its own partner",
            ))),
            (Some(own), _) => Ok(own),
            (None, Some(named)) => Ok(named),
            (None, None) => Err(ApiError(AppError::invalid(
                "partner_id",
                "name the partner (partner_id)",
            ))),
        }
    }

    /// Whether the caller may see data of `partner_id`.
    pub fn can_see(&self, partner_id: PartnerId) -> bool {
        self.partner_id.is_none_or(|own| own == partner_id)
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(ApiError(AppError::Unauthenticated))?;
        let key = tributary_app::auth::api_key(app, secret.trim())
            .await?
            .ok_or(ApiError(AppError::Unauthenticated))?;
        Ok(Caller {
            workspace_id: key.workspace_id,
            partner_id: key.partner_id,
            key_id: key.id,
        })
    }
}

/// `Query<T>` with the API's error shape: a query string that does not parse is a 400 with
/// `{"error": {"code": "invalid_request", ...}}`, not the framework's plain text.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<App> for ApiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, app).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err((
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"error": {"code": "invalid_request", "message": rejection.body_text()}})),
            )
                .into_response()),
        }
    }
}

/// `?limit=&offset=` on every listing.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl PageQuery {
    /// One more row than asked, to tell whether there is a next page.
    pub fn probe(&self) -> (Page, Page) {
        let page = Page::new(self.limit, self.offset);
        (
            page,
            Page {
                limit: page.limit + 1,
                offset: page.offset,
            },
        )
    }
}

/// A page of results as JSON: `{"data": [...], "limit", "offset", "has_more"}`.
pub fn listing<T>(
    page: Page,
    mut rows: Vec<T>,
    view: impl Fn(&T) -> serde_json::Value,
) -> Response {
    let has_more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    axum::Json(serde_json::json!({
        "data": rows.iter().map(view).collect::<Vec<_>>(),
        "limit": page.limit,
        "offset": page.offset,
        "has_more": has_more,
    }))
    .into_response()
}

/// Parses a JSON body into `T`, with the API's error shape on failure.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|error| {
        ApiError(AppError::Invalid {
            field: None,
            message: format!("malformed JSON body: {error}"),
        })
    })
}

/// Parses a path id, answering 404 for anything that is not one.
pub fn path_id<T: std::str::FromStr>(text: &str, what: &'static str) -> ApiResult<T> {
    text.parse().map_err(|_| ApiError(AppError::NotFound(what)))
}
