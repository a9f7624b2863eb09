//! Tributary's HTTP surface: the redirect, the REST API, the web UI for admins and the
//! partner portal, health and metrics. Handlers are thin: they parse input, call an
//! application service in `tributary-app`, and map the result.

pub mod api;
pub mod error;
pub mod redirect;
pub mod snippet;
pub mod ui;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tributary_app::App;
use tributary_app::metrics::Metrics;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Request bodies of the upload routes (a CSV of invitations) may be this large.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The whole application as one router.
///
/// The redirect is matched first and runs outside the middleware the rest shares (body
/// limit, request counting): it reads no body and counts its own requests, and it is the
/// one route whose throughput is a product goal (bench/redirect.sh).
pub fn router(app: App) -> Router {
    let everything_else = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(api::router())
        .merge(ui::router())
        .merge(snippet::router())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .merge(
            ui::upload_router()
                .merge(api::upload_router())
                .layer(RequestBodyLimitLayer::new(MAX_UPLOAD_BYTES)),
        )
        // Outermost, so it also sees (and reshapes) the body limit's own 413.
        .layer(middleware::from_fn_with_state(app.clone(), count_requests))
        .with_state(app.clone());
    redirect::router()
        .fallback_service(everything_else)
        .with_state(app)
}

async fn healthz(State(app): State<App>) -> Response {
    // A real statement: a pooled connection alone proves nothing about the database.
    let healthy = match app.store.read().await {
        Ok(mut tx) => tx.setting("healthz").await.is_ok(),
        Err(_) => false,
    };
    let status = if healthy {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(serde_json::json!({ "status": if healthy { "ok" } else { "unavailable" }, "store": app.store.backend() }))).into_response()
}

async fn metrics(State(app): State<App>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        app.metrics.render(),
    )
        .into_response()
}

async fn count_requests(State(app): State<App>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        // The body limit answers before any handler; give it the one error shape.
        let message = format!("the request body is larger than {MAX_BODY_BYTES} bytes");
        response = (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(
                serde_json::json!({"error": {"code": "invalid_request", "message": message}}),
            ),
        )
            .into_response();
    }
    Metrics::incr(&app.metrics.http_requests);
    if response.status().is_server_error() {
        Metrics::incr(&app.metrics.http_server_errors);
    }
    response
}

/// Serves until `shutdown` resolves, then flushes the click log.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    app.clicks.flush().await;
    result
}
