//! The one JSON error shape of the API: `{"error": {"code", "message", "field"?}}`. A 5xx
//! body never carries internals; the detail is logged once, here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tributary_app::AppError;
use tributary_store::StoreError;

pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError(error)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError(AppError::Store(error))
    }
}

pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict(_) | AppError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
        AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The message shown to the caller: internals are replaced by a generic sentence.
pub fn public_message(error: &AppError) -> String {
    match error {
        AppError::Store(StoreError::Conflict(_)) => "the request conflicts with stored data".into(),
        AppError::Store(_) | AppError::Internal(_) => "internal error; it has been logged".into(),
        other => other.to_string(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
        }
        let field = match &self.0 {
            AppError::Invalid { field, .. } => field.clone(),
            _ => None,
        };
        let mut error = json!({ "code": self.0.code(), "message": public_message(&self.0) });
        if let Some(field) = field {
            error["field"] = json!(field);
        }
        (status, Json(json!({ "error": error }))).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
