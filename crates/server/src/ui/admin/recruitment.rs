//! Recruiting in the admin area: a program's public page and lifecycle settings (the
//! application form, groups, scorecard and rules, edited as one JSON document), its stage,
//! invitations one by one or by CSV upload, the review queue with bulk decisions, and the
//! email outbox.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::page::{
    Layout, ListQuery, Pager, SelectOption, paginate, probe, render, see_other, when,
};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::lifecycle::invitations::{self, ImportReport, NewInvitation};
use tributary_app::lifecycle::{applications, lifecycle_of, program};
use tributary_app::{App, AppError};
use tributary_core::lifecycle::{Decision, ProgramLifecycle, StageName};
use tributary_core::{ApplicationId, ProgramId};

/// An uploaded CSV may be this large (10,000 invitations are about half a megabyte).
pub const MAX_UPLOAD_BYTES: usize = crate::MAX_UPLOAD_BYTES;

pub fn router() -> Router<App> {
    Router::new()
        .route(
            "/admin/programs/{id}/recruitment",
            get(settings_page).post(save_settings),
        )
        .route("/admin/programs/{id}/stage", post(move_stage))
        .route("/admin/programs/{id}/invitations", post(invite))
        .route("/admin/applications", get(queue))
        .route("/admin/applications/decisions", post(decide))
        .route("/admin/emails", get(emails))
}

/// The upload route, which takes a larger body than every other form.
pub fn upload_router() -> Router<App> {
    Router::new()
        .route("/admin/programs/{id}/invitations/import", post(import))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
}

fn actor(admin: &AdminSession) -> String {
    format!("user:{}", admin.user.id)
}

fn program_id(id: &str) -> Result<ProgramId, UiError> {
    id.parse().map_err(|_| UiError::not_found("program"))
}

#[derive(Template)]
#[template(path = "admin/recruitment.html")]
struct SettingsPage {
    layout: Layout,
    program_id: String,
    program_name: String,
    slug: String,
    document: String,
    stage: String,
    capacity: String,
    stages: Vec<SelectOption>,
    public_path: Option<String>,
    error: Option<String>,
    invite_error: Option<String>,
    report: Option<ImportReport>,
    gates: Vec<GateView>,
    may_write: bool,
}

struct GateView {
    metric: &'static str,
    target: i64,
    measured: String,
    window_days: u32,
    met: bool,
}

struct Draft {
    slug: String,
    document: String,
    error: Option<String>,
    invite_error: Option<String>,
    report: Option<ImportReport>,
}

async fn settings(
    app: &App,
    admin: &AdminSession,
    id: ProgramId,
    draft: Option<Draft>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut tx = app.store.read().await?;
    let program = tx
        .program(admin.workspace_id(), id)
        .await?
        .ok_or_else(|| UiError::not_found("program"))?;
    let stored = tx.program_lifecycle(id).await?;
    let lifecycle = stored
        .as_ref()
        .map(|row| row.lifecycle.clone())
        .unwrap_or_default();
    let stage = lifecycle.stage.name;
    let draft = draft.unwrap_or_else(|| Draft {
        slug: stored
            .as_ref()
            .map(|row| row.slug.clone())
            .unwrap_or_default(),
        document: serde_json::to_string_pretty(&lifecycle).unwrap_or_default(),
        error: None,
        invite_error: None,
        report: None,
    });
    drop(tx);
    let gates = tributary_app::lifecycle::tiers::gate_progress(app, admin.workspace_id(), id)
        .await?
        .into_iter()
        .map(|gate| GateView {
            metric: gate.gate.metric.as_str(),
            target: gate.gate.at_least,
            measured: gate
                .measured
                .map(|value| value.to_string())
                .unwrap_or_else(|| "not measurable yet".into()),
            window_days: gate.gate.window_days,
            met: gate.met,
        })
        .collect();
    let page = SettingsPage {
        gates,
        layout: layout(
            &format!("{}: recruitment", program.name),
            admin,
            "/admin/programs",
        ),
        program_id: id.to_string(),
        program_name: program.name,
        slug: draft.slug,
        document: draft.document,
        stage: stage.as_str().into(),
        capacity: lifecycle
            .stage
            .capacity
            .map(|c| c.to_string())
            .unwrap_or_default(),
        stages: StageName::ALL
            .iter()
            .map(|name| SelectOption {
                value: name.as_str().into(),
                label: name.as_str().into(),
                selected: *name == stage,
            })
            .collect(),
        public_path: stored.map(|row| format!("/join/{}", row.slug)),
        error: draft.error,
        invite_error: draft.invite_error,
        report: draft.report,
        may_write: admin.may_write(),
    };
    Ok(render(status, &page))
}

async fn settings_page(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    settings(&app, &admin, program_id(&id)?, None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SettingsForm {
    csrf_token: String,
    slug: String,
    document: String,
}

async fn save_settings(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<SettingsForm>, FormRejection>,
) -> Result<Response, UiError> {
    let id = program_id(&id)?;
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the settings form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let parsed: Result<ProgramLifecycle, AppError> =
        serde_json::from_str(&form.document).map_err(|error| {
            AppError::invalid(
                "document",
                format!("the settings are not valid JSON here: {error}"),
            )
        });
    let result = match parsed {
        Ok(lifecycle) => {
            program::configure(
                &app,
                admin.workspace_id(),
                id,
                &form.slug,
                lifecycle,
                &actor(&admin),
            )
            .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/admin/programs/{id}/recruitment"))),
        Err(error @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let message = match &error {
                AppError::Invalid {
                    field: Some(field),
                    message,
                } => format!("{field}: {message}"),
                other => other.to_string(),
            };
            let draft = Draft {
                slug: form.slug,
                document: form.document,
                error: Some(message),
                invite_error: None,
                report: None,
            };
            settings(
                &app,
                &admin,
                id,
                Some(draft),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StageForm {
    csrf_token: String,
    stage: String,
    capacity: String,
    reason: String,
}

async fn move_stage(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<StageForm>, FormRejection>,
) -> Result<Response, UiError> {
    let id = program_id(&id)?;
    let Form(form) = form.map_err(|_| UiError::bad_request("the stage form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let to = StageName::parse(&form.stage)
        .ok_or_else(|| UiError::bad_request("the stage is pilot, limited or open"))?;
    let capacity = match form.capacity.trim() {
        "" => None,
        text => Some(
            text.parse::<u32>()
                .map_err(|_| UiError::bad_request("the capacity is a whole number of partners"))?,
        ),
    };
    program::move_stage(
        &app,
        admin.workspace_id(),
        id,
        to,
        capacity,
        &form.reason,
        &actor(&admin),
    )
    .await?;
    Ok(see_other(&format!("/admin/programs/{id}/recruitment")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InviteForm {
    csrf_token: String,
    email: String,
    name: String,
    group: String,
}

async fn invite(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Result<Response, UiError> {
    let id = program_id(&id)?;
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the invitation form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let input = NewInvitation {
        email: form.email,
        name: Some(form.name),
        group: Some(form.group),
    };
    match invitations::invite(&app, admin.workspace_id(), id, &input, &actor(&admin)).await {
        Ok(_) => Ok(see_other(&format!("/admin/programs/{id}/recruitment"))),
        Err(error @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let mut tx = app.store.read().await?;
            let row = tx.program_lifecycle(id).await?;
            drop(tx);
            let draft = Draft {
                slug: row.as_ref().map(|r| r.slug.clone()).unwrap_or_default(),
                document: row
                    .map(|r| serde_json::to_string_pretty(&r.lifecycle).unwrap_or_default())
                    .unwrap_or_default(),
                error: None,
                invite_error: Some(error.to_string()),
                report: None,
            };
            settings(
                &app,
                &admin,
                id,
                Some(draft),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn import(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, UiError> {
    let id = program_id(&id)?;
    let (mut csrf, mut text) = (String::new(), None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| UiError::bad_request("the upload could not be read"))?
    {
        match field.name() {
            Some("csrf_token") => {
                csrf = field
                    .text()
                    .await
                    .map_err(|_| UiError::bad_request("the upload could not be read"))?;
            }
            Some("file") => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| UiError::bad_request("the file could not be read (too large?)"))?;
                text = Some(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| UiError::bad_request("the file is not UTF-8 text"))?,
                );
            }
            _ => {}
        }
    }
    admin.authorize_write(&csrf)?;
    let text = text.ok_or_else(|| UiError::bad_request("choose a CSV file to upload"))?;
    let report =
        invitations::import_csv(&app, admin.workspace_id(), id, &text, &actor(&admin)).await?;
    tracing::info!(program_id = %id, invited = report.invited, errors = report.errors.len(), "invitations imported");
    let mut tx = app.store.read().await?;
    let lifecycle = lifecycle_of(tx.as_mut(), id).await?;
    let slug = tx
        .program_lifecycle(id)
        .await?
        .map(|row| row.slug)
        .unwrap_or_default();
    drop(tx);
    let draft = Draft {
        slug,
        document: serde_json::to_string_pretty(&lifecycle).unwrap_or_default(),
        error: None,
        invite_error: None,
        report: Some(report),
    };
    settings(&app, &admin, id, Some(draft), StatusCode::OK).await
}

struct ApplicationRow {
    id: String,
    created_at: String,
    program: String,
    name: String,
    email: String,
    group: String,
    country: String,
    website: String,
    answers: String,
    score: String,
    status: String,
    decision: String,
}

#[derive(Template)]
#[template(path = "admin/applications.html")]
struct QueuePage {
    layout: Layout,
    rows: Vec<ApplicationRow>,
    pager: Pager,
    status: String,
    tabs: Vec<SelectOption>,
    results: Vec<String>,
    may_write: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QueueQuery {
    page: Option<String>,
    status: Option<String>,
}

async fn queue_page(
    app: &App,
    admin: &AdminSession,
    status: &str,
    number: u32,
    results: Vec<String>,
) -> Result<Response, UiError> {
    let list =
        applications::list(app, admin.workspace_id(), None, Some(status), probe(number)).await?;
    let (list, pager) = paginate(
        list,
        number,
        &format!("/admin/applications?status={status}&"),
    );
    let mut tx = app.store.read().await?;
    let mut directory = Directory::load(tx.as_mut(), admin.workspace_id()).await?;
    directory
        .complete(
            tx.as_mut(),
            admin.workspace_id(),
            list.iter().map(|a| a.program_id).collect(),
            Vec::new(),
        )
        .await?;
    let rows = list
        .into_iter()
        .map(|application| {
            let applicant = &application.applicant;
            ApplicationRow {
                id: application.id.to_string(),
                created_at: when(application.created_at),
                program: directory.program_name(application.program_id),
                name: applicant.name.clone(),
                email: applicant.email.clone(),
                group: applicant.group.clone().unwrap_or_default(),
                country: applicant.country.clone().unwrap_or_default(),
                website: applicant.website.clone().unwrap_or_default(),
                answers: applicant
                    .answers
                    .iter()
                    .map(|(id, answer)| format!("{id}: {}", answer.text()))
                    .collect::<Vec<_>>()
                    .join("; "),
                score: application
                    .score
                    .total
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "–".into()),
                status: application.status.clone(),
                decision: match (&application.decided_by, &application.reason) {
                    (Some(by), Some(reason)) => format!("{reason} ({by})"),
                    _ => String::new(),
                },
            }
        })
        .collect();
    let page = QueuePage {
        layout: layout("Applications", admin, "/admin/applications"),
        rows,
        pager,
        status: status.to_string(),
        tabs: ["pending", "approved", "rejected"]
            .iter()
            .map(|tab| SelectOption {
                value: tab.to_string(),
                label: match *tab {
                    "pending" => "Review queue".into(),
                    other => other.to_string(),
                },
                selected: *tab == status,
            })
            .collect(),
        results,
        may_write: admin.may_write(),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn queue(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let status = match query.status.as_deref() {
        Some("approved") => "approved",
        Some("rejected") => "rejected",
        _ => "pending",
    };
    let number = ListQuery {
        page: query.page,
        state: None,
    }
    .page_number();
    queue_page(&app, &admin, status, number, Vec::new()).await
}

async fn decide(
    State(app): State<App>,
    admin: AdminSession,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(pairs) =
        form.map_err(|_| UiError::bad_request("the decision form could not be read"))?;
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    admin.authorize_write(&value("csrf_token"))?;
    let decision = match value("decision").as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(UiError::bad_request("choose approve or reject")),
    };
    let mut ids = Vec::new();
    for (key, id) in &pairs {
        if key == "id" {
            ids.push(
                id.parse::<ApplicationId>()
                    .map_err(|_| UiError::bad_request("an application id could not be read"))?,
            );
        }
    }
    let decided = applications::decide(
        &app,
        admin.workspace_id(),
        &ids,
        decision,
        &value("reason"),
        &actor(&admin),
    )
    .await?;
    let results = decided
        .iter()
        .map(|one| match &one.outcome {
            Ok(application) => format!("{}: {}", application.applicant.email, application.status),
            Err(message) => format!("{}: not decided ({message})", one.id),
        })
        .collect();
    queue_page(&app, &admin, "pending", 1, results).await
}

struct EmailRow {
    created_at: String,
    to: String,
    subject: String,
    kind: String,
    status: String,
    error: String,
    body: String,
}

#[derive(Template)]
#[template(path = "admin/emails.html")]
struct EmailsPage {
    layout: Layout,
    rows: Vec<EmailRow>,
    pager: Pager,
}

async fn emails(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let number = ListQuery::from(query).page_number();
    let mut tx = app.store.read().await?;
    let list = tx.emails(admin.workspace_id(), None, probe(number)).await?;
    let (list, pager) = paginate(list, number, "/admin/emails");
    let rows = list
        .into_iter()
        .map(|email| EmailRow {
            created_at: when(email.created_at),
            to: email.to_address,
            subject: email.subject,
            kind: email.kind,
            status: email.status,
            error: email.last_error.unwrap_or_default(),
            body: tributary_app::mail::redacted(&email.body),
        })
        .collect();
    let page = EmailsPage {
        layout: layout("Emails", &admin, "/admin/emails"),
        rows,
        pager,
    };
    Ok(render(StatusCode::OK, &page))
}
