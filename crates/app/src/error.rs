//! The application's error type. HTTP maps it to one JSON error shape; the UI to a page.

use tributary_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that fails validation, naming the field when there is one.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with what is stored (idempotency key reuse, duplicate code).
    #[error("{0}")]
    Conflict(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// Too many requests from one source; try later.
    #[error("{0}")]
    RateLimited(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// A stable machine-readable code for the JSON error shape.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { .. } => "invalid_request",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::RateLimited(_) => "rate_limited",
            AppError::Store(StoreError::Conflict(_)) => "conflict",
            AppError::Store(_) | AppError::Internal(_) => "internal",
        }
    }
}

impl From<tributary_core::ledger::LedgerError> for AppError {
    fn from(error: tributary_core::ledger::LedgerError) -> Self {
        AppError::Internal(format!("ledger invariant: {error}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
