//! The web UI: the admin area under `/admin` and the partner portal under `/portal`,
//! rendered on the server from askama templates (which escape everything they print),
//! styled by one stylesheet and enhanced by vendored htmx. Forms work without JavaScript.

mod admin;
mod assets;
mod error;
mod explain;
mod join;
pub use explain::rule_text;
mod login;
mod markdown;
mod page;
mod portal;
mod portal_attribution;
mod portal_library;
mod portal_postbacks;
mod portal_profile;
mod portal_programs;
mod portal_support;
mod recognition;
mod session;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tributary_app::App;

/// Pages that take a larger body than the rest (file uploads); mounted outside the
/// general body limit, each with its own.
pub fn upload_router() -> Router<App> {
    admin::upload_router()
        .merge(portal_profile::upload_router())
        .merge(portal_support::upload_router())
        .layer(middleware::map_response(security_headers))
}

pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(root))
        .merge(assets::router())
        .merge(login::router())
        .merge(join::router())
        .merge(recognition::router())
        .merge(admin::router())
        .merge(portal_programs::router())
        .merge(portal_profile::router())
        .merge(portal_library::router())
        .merge(portal_support::router())
        .merge(portal::router())
        .layer(middleware::from_fn(htmx_sign_in))
        .layer(middleware::map_response(security_headers))
}

async fn root() -> Redirect {
    Redirect::to("/admin")
}

/// An htmx request (the commission filter) whose session ended would follow the 303 to
/// the login page inside the XHR and swap nothing; `HX-Redirect` makes htmx load the login
/// page as a whole page instead.
async fn htmx_sign_in(request: Request, next: Next) -> Response {
    let from_htmx = request
        .headers()
        .get("hx-request")
        .is_some_and(|value| value == "true");
    let response = next.run(request).await;
    if !from_htmx || response.status() != StatusCode::SEE_OTHER {
        return response;
    }
    match response.headers().get(header::LOCATION) {
        Some(location) if location == "/admin/login" || location == "/portal/login" => {
            let mut redirect = StatusCode::OK.into_response();
            redirect
                .headers_mut()
                .insert("hx-redirect", location.clone());
            redirect
        }
        _ => response,
    }
}

/// Pages may only load this site's scripts and styles, may not be framed, and (unless they
/// say otherwise, like the static assets) are not cached: they show private data.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
