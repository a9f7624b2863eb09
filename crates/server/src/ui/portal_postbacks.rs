//! The partner's postbacks in the portal (docs/POSTBACKS.md): register a URL with macros,
//! disable one, and follow the latest deliveries. Scoped to the signed-in partner.

use super::error::UiError;
use super::page::{Area, Layout, render, see_other, short_id, when};
use super::portal::layout_at;
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::App;
use tributary_app::postbacks::{self, EVENT_TYPES, NewPostback};
use tributary_store::Page;

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal/postbacks", get(list).post(register))
        .route("/portal/postbacks/{id}/disable", post(disable))
}

struct PostbackRow {
    id: String,
    url: String,
    events: String,
    created_at: String,
    active: bool,
}

struct DeliveryRow {
    created_at: String,
    postback: String,
    status: String,
    attempts: i64,
    answer: String,
}

#[derive(Template)]
#[template(path = "portal/postbacks.html")]
struct PostbacksPage {
    layout: Layout,
    postbacks: Vec<PostbackRow>,
    deliveries: Vec<DeliveryRow>,
    events: Vec<&'static str>,
}

async fn list(State(app): State<App>, partner: PartnerSession) -> Response {
    page(&app, &partner)
        .await
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

async fn page(app: &App, partner: &PartnerSession) -> Result<Response, UiError> {
    let workspace_id = partner.session.workspace_id;
    let mut tx = app.store.read().await?;
    let postbacks = tx.postbacks(workspace_id, Some(partner.partner.id)).await?;
    let deliveries = tx
        .postback_deliveries(workspace_id, Some(partner.partner.id), Page::first(50))
        .await?;
    let page = PostbacksPage {
        layout: layout_at("Your postbacks", partner, "/portal/postbacks"),
        postbacks: postbacks
            .iter()
            .map(|p| PostbackRow {
                id: p.id.to_string(),
                url: p.url_template.clone(),
                events: p.events.join(", "),
                created_at: when(p.created_at),
                active: p.disabled_at.is_none(),
            })
            .collect(),
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryRow {
                created_at: when(d.created_at),
                postback: short_id(d.postback_id),
                status: d.status,
                attempts: d.attempts,
                answer: match (d.response_status, d.last_error) {
                    (_, Some(error)) => error,
                    (Some(status), None) => status.to_string(),
                    (None, None) => String::new(),
                },
            })
            .collect(),
        events: EVENT_TYPES.to_vec(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PostbackForm {
    csrf_token: String,
    url: String,
    lead: String,
    sale: String,
    renewal: String,
    refund: String,
    chargeback: String,
    milestone: String,
}

async fn register(
    State(app): State<App>,
    partner: PartnerSession,
    form: Result<Form<PostbackForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) =
            form.map_err(|_| UiError::bad_request("the postback form could not be read"))?;
        partner.authorize(&form.csrf_token)?;
        let events: Vec<String> = [
            ("lead", &form.lead),
            ("sale", &form.sale),
            ("renewal", &form.renewal),
            ("refund", &form.refund),
            ("chargeback", &form.chargeback),
            ("milestone", &form.milestone),
        ]
        .into_iter()
        .filter(|(_, checked)| !checked.is_empty())
        .map(|(name, _)| name.to_string())
        .collect();
        postbacks::register(
            &app,
            partner.session.workspace_id,
            partner.partner.id,
            NewPostback {
                url: form.url,
                events: Some(events),
            },
        )
        .await?;
        Ok::<_, UiError>(see_other("/portal/postbacks"))
    }
    .await;
    result
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DisableForm {
    csrf_token: String,
}

async fn disable(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
    form: Result<Form<DisableForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form.map_err(|_| UiError::bad_request("the form could not be read"))?;
        partner.authorize(&form.csrf_token)?;
        let id: uuid::Uuid = id.parse().map_err(|_| UiError::not_found("postback"))?;
        postbacks::disable(
            &app,
            partner.session.workspace_id,
            Some(partner.partner.id),
            id,
        )
        .await?;
        Ok::<_, UiError>(see_other("/portal/postbacks"))
    }
    .await;
    result
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}
