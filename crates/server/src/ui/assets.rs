//! Static assets compiled into the binary: vendored htmx and the stylesheet. Pages link
//! them with a content hash in the query, so they can be cached for a year.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;
use tributary_app::App;

/// htmx 2 (Zero-Clause BSD, see `static/htmx.LICENSE`), vendored so the UI has no CDN.
const HTMX_JS: &str = include_str!("../../static/htmx.min.js");
const APP_CSS: &str = include_str!("../../static/app.css");

/// A year: the URLs change whenever the content does.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

static HTMX_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/htmx.min.js?v={}", content_hash(HTMX_JS)));
static CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/app.css?v={}", content_hash(APP_CSS)));

pub fn router() -> Router<App> {
    Router::new()
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/app.css", get(css))
}

pub fn htmx_url() -> &'static str {
    HTMX_URL.as_str()
}

pub fn css_url() -> &'static str {
    CSS_URL.as_str()
}

fn content_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_FOREVER),
            ),
        ],
        body,
    )
        .into_response()
}

async fn htmx() -> Response {
    asset("text/javascript; charset=utf-8", HTMX_JS)
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}
