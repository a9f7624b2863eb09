//! `/admin/links`: tracking links with their counts, and the form that creates one.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::page::{
    Feedback, Layout, ListQuery, Pager, SelectOption, chosen_id, form_status, is_form_error,
    paginate, probe, render, see_other, site_origin, when,
};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tributary_app::App;
use tributary_app::admin::{self, NewLink};

pub fn router() -> Router<App> {
    Router::new().route("/admin/links", get(list).post(create))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkForm {
    csrf_token: String,
    program_id: String,
    partner_id: String,
    code: String,
    destination_url: String,
}

const FIELDS: [&str; 4] = ["program_id", "partner_id", "code", "destination_url"];

struct LinkRow {
    code: String,
    tracking_url: String,
    destination_url: String,
    partner: String,
    program: String,
    clicks: i64,
    bot_clicks: i64,
    leads: i64,
    sales: i64,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/links.html")]
struct LinksPage {
    layout: Layout,
    rows: Vec<LinkRow>,
    pager: Pager,
    form: LinkForm,
    programs: Vec<SelectOption>,
    partners: Vec<SelectOption>,
    feedback: Feedback,
    may_write: bool,
}

async fn page(
    app: &App,
    admin: &AdminSession,
    headers: &HeaderMap,
    number: u32,
    form: LinkForm,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, UiError> {
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    let links = tx.links(workspace_id, None, probe(number)).await?;
    let (links, pager) = paginate(links, number, "/admin/links");
    let (program_ids, partner_ids) = links
        .iter()
        .map(|s| (s.link.program_id, s.link.partner_id))
        .unzip();
    directory
        .complete(tx.as_mut(), workspace_id, program_ids, partner_ids)
        .await?;
    let origin = site_origin(headers);
    let rows = links
        .into_iter()
        .map(|stats| LinkRow {
            tracking_url: format!("{origin}/r/{}", stats.link.code),
            partner: directory.partner_name(stats.link.partner_id),
            program: directory.program_name(stats.link.program_id),
            created_at: when(stats.link.created_at),
            code: stats.link.code,
            destination_url: stats.link.destination_url,
            clicks: stats.clicks,
            bot_clicks: stats.bot_clicks,
            leads: stats.leads,
            sales: stats.sales,
        })
        .collect();
    let page = LinksPage {
        layout: layout("Links", admin, "/admin/links"),
        rows,
        pager,
        programs: directory.program_options(&form.program_id),
        partners: directory.partner_options(&form.partner_id),
        form,
        feedback,
        may_write: admin.may_write(),
    };
    Ok(render(status, &page))
}

async fn list(
    State(app): State<App>,
    admin: AdminSession,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let number = ListQuery::from(query).page_number();
    let form = LinkForm::default();
    page(
        &app,
        &admin,
        &headers,
        number,
        form,
        Feedback::none(),
        StatusCode::OK,
    )
    .await
}

async fn create(
    State(app): State<App>,
    admin: AdminSession,
    headers: HeaderMap,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form.map_err(|_| UiError::bad_request("the link form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let result = async {
        let input = NewLink {
            program_id: chosen_id("program_id", "program", &form.program_id)?,
            partner_id: chosen_id("partner_id", "partner", &form.partner_id)?,
            code: Some(form.code.clone()),
            destination_url: Some(form.destination_url.clone()),
        };
        admin::create_link(&app, admin.workspace_id(), input).await
    }
    .await;
    match result {
        Ok(link) => {
            tracing::info!(link_id = %link.id, partner_id = %link.partner_id, "link created");
            Ok(see_other("/admin/links"))
        }
        Err(error) if is_form_error(&error) => {
            let feedback = Feedback::from_error("link", &FIELDS, &error);
            let status = form_status(&error);
            page(&app, &admin, &headers, 1, form, feedback, status).await
        }
        Err(error) => Err(error.into()),
    }
}
