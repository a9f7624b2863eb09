//! `GET /r/{code}`: answer 302 to the link's stored destination with `tclid` appended, set
//! the first-party `tclid` cookie, and hand the click to the click log. The redirect never
//! waits on the database for a cached link, and never sends anyone to a URL that is not a
//! stored destination.

use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use tributary_app::App;
use tributary_app::clicks::{self, Visit};
use tributary_app::metrics::Metrics;

/// How long the `tclid` cookie lives: the longest attribution window.
pub const COOKIE_MAX_AGE_SECONDS: u32 = tributary_core::attribution::MAX_WINDOW_DAYS * 86_400;

pub fn router() -> Router<App> {
    Router::new().route("/r/{code}", get(follow))
}

async fn follow(State(app): State<App>, Path(code): Path<String>, request: Request) -> Response {
    // Outside the shared middleware (see `crate::router`): count the request here.
    Metrics::incr(&app.metrics.http_requests);
    let link = match app.links.get(&code) {
        Some(link) => Some(link),
        // Links made on another node are not in this node's cache yet.
        None if code.len() <= 64 => match app.store.read().await {
            Ok(mut tx) => tx.link_by_code(&code).await.ok().flatten().map(|link| {
                app.links.insert(link.clone());
                std::sync::Arc::new(link)
            }),
            Err(_) => None,
        },
        None => None,
    };
    let Some(link) = link else {
        return (StatusCode::NOT_FOUND, Html(NOT_FOUND_PAGE)).into_response();
    };
    let headers = request.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|value| value.to_str().ok());
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_default();
    let subs = request
        .uri()
        .query()
        .map(clicks::subs_from_query)
        .unwrap_or_default();
    let redirect = clicks::click_with(
        &app,
        &link,
        Visit {
            ip: &ip,
            user_agent: text(header::USER_AGENT).unwrap_or(""),
            referrer: text(header::REFERER),
        },
        subs,
    );
    let cookie = format!(
        "tclid={}; Max-Age={COOKIE_MAX_AGE_SECONDS}; Path=/; SameSite=Lax",
        redirect.click_id
    );
    let mut response = StatusCode::FOUND.into_response();
    let response_headers = response.headers_mut();
    match HeaderValue::from_str(&redirect.location) {
        Ok(location) => response_headers.insert(header::LOCATION, location),
        Err(_) => return (StatusCode::NOT_FOUND, Html(NOT_FOUND_PAGE)).into_response(),
    };
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response_headers.insert(header::SET_COOKIE, cookie);
    }
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response_headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer-when-downgrade"),
    );
    response
}

const NOT_FOUND_PAGE: &str = "<!doctype html><html lang=en><head><meta charset=utf-8><title>Link not found</title>\
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>\
<body><h1>This link does not exist</h1><p>The tracking link you followed is unknown or was mistyped. \
Check the address with whoever shared it.</p></body></html>";
