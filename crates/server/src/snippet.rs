//! The site snippet (docs/SNIPPET.md): `GET /t.js`, and the two reports it makes from a
//! visitor's browser on the business's own site, `POST /t/visit` (a `?via=` visit) and
//! `POST /t/lead`. Bodies are JSON sent as `text/plain`, so browsers send them without a
//! CORS preflight; every answer allows any origin and carries no private data.

use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::net::SocketAddr;
use tributary_app::clicks::Visit;
use tributary_app::snippet::{self, LeadReport, VisitReport};
use tributary_app::{App, AppError};

/// The snippet, compiled into the binary.
pub const SNIPPET_JS: &str = include_str!("../static/t.js");

pub fn router() -> Router<App> {
    Router::new()
        .route("/t.js", get(script))
        .route("/t/visit", post(visit))
        .route("/t/lead", post(lead))
}

async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/javascript; charset=utf-8"),
            ),
            // An hour: the URL stays the same when the snippet changes.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        SNIPPET_JS,
    )
        .into_response()
}

fn cross_origin(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        ApiError(AppError::Invalid {
            field: None,
            message: format!("malformed JSON body: {error}"),
        })
    })
}

async fn visit(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = async {
        let report: VisitReport = parse(&body)?;
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let ip = peer.ip().to_string();
        let click_id = snippet::visit(
            &app,
            &report,
            Visit {
                ip: &ip,
                user_agent: text(header::USER_AGENT).unwrap_or(""),
                referrer: text(header::REFERER),
            },
        )
        .await?;
        Ok::<_, ApiError>(Json(json!({ "click_id": click_id })).into_response())
    }
    .await;
    cross_origin(answer.unwrap_or_else(IntoResponse::into_response))
}

async fn lead(State(app): State<App>, body: Bytes) -> Response {
    let answer = async {
        let report: LeadReport = parse(&body)?;
        let ingested = snippet::lead(&app, &report).await?;
        let status = if ingested.queued {
            "queued"
        } else if ingested.replayed {
            "already recorded"
        } else {
            "recorded"
        };
        Ok::<_, ApiError>((StatusCode::OK, Json(json!({ "status": status }))).into_response())
    }
    .await;
    cross_origin(answer.unwrap_or_else(IntoResponse::into_response))
}
