//! Why a page could not be shown, answered as a page: not found, not allowed, an expired
//! form, or an internal error (logged once, here). A missing session is a 303 to the
//! login page of the area the request was for.

use super::page::{Area, Layout, render, see_other};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tributary_app::AppError;
use tributary_store::StoreError;

#[derive(Debug)]
enum ErrorKind {
    /// Not signed in to this area: go to its login page.
    SignIn,
    NotFound(String),
    Forbidden(String),
    /// A form without the right CSRF token.
    Csrf,
    BadRequest(String),
    TooMany(String),
    /// Logged once when answered; the page says only that it was logged.
    Internal(String),
}

/// Why a page could not be shown. Answers with a page (or a redirect to the login page).
#[derive(Debug)]
pub struct UiError {
    kind: ErrorKind,
    area: Area,
}

impl UiError {
    pub fn sign_in(area: Area) -> UiError {
        UiError {
            kind: ErrorKind::SignIn,
            area,
        }
    }

    pub fn not_found(what: impl Into<String>) -> UiError {
        UiError {
            kind: ErrorKind::NotFound(what.into()),
            area: Area::Admin,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> UiError {
        UiError {
            kind: ErrorKind::Forbidden(message.into()),
            area: Area::Admin,
        }
    }

    pub fn csrf(area: Area) -> UiError {
        UiError {
            kind: ErrorKind::Csrf,
            area,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> UiError {
        UiError {
            kind: ErrorKind::BadRequest(message.into()),
            area: Area::Admin,
        }
    }

    /// The same error, with links into `area`.
    pub fn in_area(self, area: Area) -> UiError {
        UiError { area, ..self }
    }
}

impl From<AppError> for UiError {
    fn from(error: AppError) -> Self {
        let kind = match error {
            AppError::NotFound(what) => ErrorKind::NotFound(what.to_string()),
            AppError::Unauthenticated => ErrorKind::SignIn,
            AppError::Forbidden(message) => ErrorKind::Forbidden(message.to_string()),
            AppError::Invalid { message, .. } => ErrorKind::BadRequest(message),
            AppError::Conflict(message) => ErrorKind::BadRequest(message),
            AppError::RateLimited(message) => ErrorKind::TooMany(message.to_string()),
            AppError::Store(StoreError::Conflict(_)) => {
                ErrorKind::BadRequest("the request conflicts with stored data".into())
            }
            other @ (AppError::Store(_) | AppError::Internal(_)) => {
                ErrorKind::Internal(other.to_string())
            }
        };
        UiError {
            kind,
            area: Area::Admin,
        }
    }
}

impl From<StoreError> for UiError {
    fn from(error: StoreError) -> Self {
        UiError::from(AppError::Store(error))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
    action_href: &'static str,
    action_label: &'static str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let area = self.area;
        let home = (area.home_path(), "Go to the start page");
        let (status, heading, message, (action_href, action_label)) = match self.kind {
            ErrorKind::SignIn => return see_other(area.login_path()),
            ErrorKind::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Not found".to_string(),
                format!(
                    "There is no {what} at this address. It may have been mistyped, or it is \
                     not yours to see."
                ),
                home,
            ),
            ErrorKind::Forbidden(message) => (
                StatusCode::FORBIDDEN,
                "Not allowed".to_string(),
                message,
                home,
            ),
            ErrorKind::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired".to_string(),
                "The form was missing its security token, or the token belongs to an older \
                 session. Nothing was changed. Go back, reload the page and submit the form again."
                    .to_string(),
                (area.login_path(), "Go to the sign-in page"),
            ),
            ErrorKind::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "That request could not be read".to_string(),
                message,
                home,
            ),
            ErrorKind::TooMany(message) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Please wait a while".to_string(),
                message,
                home,
            ),
            ErrorKind::Internal(detail) => {
                tracing::error!(error = %detail, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong".to_string(),
                    "The error has been logged. Try again in a moment.".to_string(),
                    home,
                )
            }
        };
        let page = ErrorPage {
            layout: Layout::bare(heading.clone(), area),
            heading,
            message,
            action_href,
            action_label,
        };
        render(status, &page)
    }
}
