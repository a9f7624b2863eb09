//! The partner's content library in the portal: announcements, assets, message templates,
//! training and resources of their programs, file downloads, and training modules with a
//! "finished" button. Scoped to the signed-in partner: another partner's content is "not
//! found".

use super::error::UiError;
use super::markdown;
use super::page::{Layout, download_response, portal_answer, render, see_other, short_id, when};
use super::portal::layout_at;
use super::portal_programs::program_name;
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use tributary_app::App;
use tributary_app::lifecycle::content;
use tributary_core::{ProgramId, WorkspaceId};
use tributary_store::Tx;

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal/library", get(library))
        .route("/portal/library/{id}/download", get(download))
        .route("/portal/training/{id}", get(training))
        .route("/portal/training/{id}/complete", post(complete_training))
}

/// Names of the programs some content belongs to, looked up once each.
async fn program_names(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    ids: impl IntoIterator<Item = ProgramId>,
) -> Result<HashMap<ProgramId, String>, UiError> {
    let mut names = HashMap::new();
    for id in ids {
        if let Entry::Vacant(slot) = names.entry(id) {
            slot.insert(program_name(tx, workspace_id, id).await?);
        }
    }
    Ok(names)
}

// ----- Library -----

struct AnnouncementView {
    id: String,
    program: String,
    title: String,
    created_at: String,
    body_html: String,
}

struct AssetView {
    id: String,
    program: String,
    title: String,
    description: String,
    file_name: String,
}

struct TemplateView {
    id: String,
    program: String,
    title: String,
    channel: String,
    persona: String,
    text: String,
}

struct TrainingView {
    id: String,
    program: String,
    title: String,
    done_at: Option<String>,
}

struct ResourceView {
    id: String,
    program: String,
    title: String,
    body_html: String,
    /// The attached file's name, when it has one.
    file_name: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/library.html")]
struct LibraryPage {
    layout: Layout,
    announcements: Vec<AnnouncementView>,
    assets: Vec<AssetView>,
    templates: Vec<TemplateView>,
    trainings: Vec<TrainingView>,
    resources: Vec<ResourceView>,
}

async fn library(State(app): State<App>, partner: PartnerSession) -> Response {
    portal_answer(library_page(&app, &partner).await)
}

async fn library_page(app: &App, partner: &PartnerSession) -> Result<Response, UiError> {
    let workspace_id = partner.session.workspace_id;
    let partner_id = partner.partner.id;
    let announcements = content::visible(app, workspace_id, partner_id, "announcement").await?;
    let assets = content::visible(app, workspace_id, partner_id, "asset").await?;
    let trainings = content::visible(app, workspace_id, partner_id, "training").await?;
    let resources = content::visible(app, workspace_id, partner_id, "resource").await?;
    let templates = content::templates(app, workspace_id, &partner.partner).await?;
    let mut tx = app.store.read().await?;
    let program_ids: Vec<ProgramId> = announcements
        .iter()
        .chain(&assets)
        .chain(&trainings)
        .chain(&resources)
        .chain(templates.iter().map(|filled| &filled.content))
        .map(|content| content.program_id)
        .collect();
    let names = program_names(tx.as_mut(), workspace_id, program_ids).await?;
    let name = |id: ProgramId| names.get(&id).cloned().unwrap_or_else(|| short_id(id));
    let mut completions = HashMap::new();
    for program_id in trainings.iter().map(|module| module.program_id) {
        if let Entry::Vacant(slot) = completions.entry(program_id) {
            slot.insert(tx.training_completions(program_id, partner_id).await?);
        }
    }
    drop(tx);
    let page = LibraryPage {
        layout: layout_at("Library", partner, "/portal/library"),
        announcements: announcements
            .into_iter()
            .map(|c| AnnouncementView {
                id: c.id.to_string(),
                program: name(c.program_id),
                created_at: when(c.created_at),
                body_html: markdown::to_html(&c.body),
                title: c.title,
            })
            .collect(),
        assets: assets
            .into_iter()
            .map(|c| AssetView {
                id: c.id.to_string(),
                program: name(c.program_id),
                title: c.title,
                description: c.body,
                file_name: c.file_name.unwrap_or_default(),
            })
            .collect(),
        templates: templates
            .into_iter()
            .map(|filled| TemplateView {
                id: filled.content.id.to_string(),
                program: name(filled.content.program_id),
                title: filled.content.title,
                channel: filled.content.channel.unwrap_or_default(),
                persona: filled.content.persona.unwrap_or_default(),
                text: filled.text,
            })
            .collect(),
        trainings: trainings
            .into_iter()
            .map(|c| TrainingView {
                id: c.id.to_string(),
                program: name(c.program_id),
                done_at: completions
                    .get(&c.program_id)
                    .and_then(|done| done.iter().find(|d| d.content_id == c.id))
                    .map(|d| when(d.completed_at)),
                title: c.title,
            })
            .collect(),
        resources: resources
            .into_iter()
            .map(|c| ResourceView {
                id: c.id.to_string(),
                program: name(c.program_id),
                body_html: markdown::to_html(&c.body),
                file_name: c
                    .file_base64
                    .is_some()
                    .then(|| c.file_name.clone().unwrap_or_else(|| "file".into())),
                title: c.title,
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn download(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id: uuid::Uuid = id.parse().map_err(|_| UiError::not_found("asset"))?;
        let file =
            content::download(&app, partner.session.workspace_id, &partner.partner, id).await?;
        Ok(download_response(file, "download"))
    }
    .await;
    portal_answer(result)
}

// ----- Training -----

#[derive(Template)]
#[template(path = "portal/training.html")]
struct TrainingPage {
    layout: Layout,
    id: String,
    program: String,
    title: String,
    body_html: String,
    finished_at: Option<String>,
}

fn content_id(id: &str) -> Result<uuid::Uuid, UiError> {
    id.parse()
        .map_err(|_| UiError::not_found("training module"))
}

async fn training(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
) -> Response {
    portal_answer(training_page(&app, &partner, &id).await)
}

async fn training_page(app: &App, partner: &PartnerSession, id: &str) -> Result<Response, UiError> {
    let workspace_id = partner.session.workspace_id;
    let partner_id = partner.partner.id;
    let id = content_id(id)?;
    // Through `visible`, so the partner sees a module exactly when the library lists it.
    let module = content::visible(app, workspace_id, partner_id, "training")
        .await?
        .into_iter()
        .find(|module| module.id == id)
        .ok_or_else(|| UiError::not_found("training module"))?;
    let (program, finished_at) = {
        let mut tx = app.store.read().await?;
        let program = program_name(tx.as_mut(), workspace_id, module.program_id).await?;
        let finished_at = tx
            .training_completions(module.program_id, partner_id)
            .await?
            .into_iter()
            .find(|done| done.content_id == id)
            .map(|done| when(done.completed_at));
        (program, finished_at)
    };
    let page = TrainingPage {
        layout: layout_at(&module.title, partner, "/portal/library"),
        id: id.to_string(),
        program,
        body_html: markdown::to_html(&module.body),
        title: module.title,
        finished_at,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfForm {
    csrf_token: String,
}

async fn complete_training(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form.map_err(|_| UiError::bad_request("the form could not be read"))?;
        partner.authorize(&form.csrf_token)?;
        let id = content_id(&id)?;
        content::complete_training(&app, partner.session.workspace_id, partner.partner.id, id)
            .await?;
        Ok(see_other(&format!("/portal/training/{id}")))
    }
    .await;
    portal_answer(result)
}
