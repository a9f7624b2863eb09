//! Running the partner relationship in the admin area: a partner's page (profile, each
//! enrollment with its standing, the suspend / reinstate / terminate decisions with their
//! reasons, the audit trail), a program's terms (publish a version, acceptance counts), its
//! content library (assets, templates, training, resources, announcements) and its
//! onboarding funnel.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::markdown;
use crate::ui::page::{Layout, render, see_other, when};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::lifecycle::content::{self, NewContent, Upload};
use tributary_app::lifecycle::onboarding;
use tributary_app::lifecycle::standing;
use tributary_app::lifecycle::terms::{self, NewTerms};
use tributary_app::{App, AppError};
use tributary_core::{PartnerId, ProgramId};
use tributary_store::Page;

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/partners/{id}", get(partner_page))
        .route("/admin/partners/{id}/standing", post(standing_decision))
        .route(
            "/admin/programs/{id}/terms",
            get(terms_page).post(publish_terms),
        )
        .route("/admin/programs/{id}/content", get(content_page))
        .route("/admin/programs/{id}/onboarding", get(funnel_page))
}

/// The content form takes files: a larger body than the rest.
pub fn upload_router() -> Router<App> {
    Router::new()
        .route("/admin/programs/{id}/content", post(create_content))
        .layer(DefaultBodyLimit::max(crate::MAX_UPLOAD_BYTES))
}

fn actor(admin: &AdminSession) -> String {
    format!("user:{}", admin.user.id)
}

fn parse_id<T: std::str::FromStr>(id: &str, what: &'static str) -> Result<T, UiError> {
    id.parse().map_err(|_| UiError::not_found(what))
}

struct EnrollmentView {
    program_id: String,
    program: String,
    status: String,
    reason: String,
    changed_at: String,
    group: String,
    tier: String,
    terms: String,
    checklist: String,
}

struct AuditView {
    at: String,
    action: String,
    actor: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/partner.html")]
struct PartnerPage {
    layout: Layout,
    partner_id: String,
    name: String,
    email: String,
    archetype: String,
    payout_email: String,
    website: String,
    country: String,
    tax_form_status: String,
    enrollments: Vec<EnrollmentView>,
    audit: Vec<AuditView>,
    may_write: bool,
}

async fn partner_page(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let partner_id: PartnerId = parse_id(&id, "partner")?;
    let ws = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let partner = tx
        .partner(ws, partner_id)
        .await?
        .ok_or_else(|| UiError::not_found("partner"))?;
    let profile = tx.partner_profile(partner_id).await?;
    let enrollments = tx
        .enrollments(ws, Some(partner_id), Page::new(Some(Page::MAX_LIMIT), None))
        .await?;
    let mut directory = Directory::load(tx.as_mut(), ws).await?;
    directory
        .complete(
            tx.as_mut(),
            ws,
            enrollments.iter().map(|e| e.program_id).collect(),
            Vec::new(),
        )
        .await?;
    let audit = tx
        .audit_entries(ws, &format!("partner:{partner_id}"))
        .await?
        .into_iter()
        .rev()
        .take(100)
        .map(|entry| AuditView {
            at: when(entry.at),
            action: entry.action,
            actor: entry.actor,
            reason: entry.reason,
        })
        .collect();
    let mut views = Vec::new();
    for enrollment in &enrollments {
        let list = onboarding::checklist(tx.as_mut(), &partner, enrollment).await?;
        let done = list.iter().filter(|step| step.done_at.is_some()).count();
        views.push(EnrollmentView {
            program_id: enrollment.program_id.to_string(),
            program: directory.program_name(enrollment.program_id),
            status: enrollment.status.clone(),
            reason: enrollment.status_reason.clone().unwrap_or_default(),
            changed_at: enrollment.status_changed_at.map(when).unwrap_or_default(),
            group: enrollment.partner_group.clone().unwrap_or_default(),
            tier: enrollment.tier.clone().unwrap_or_default(),
            terms: String::new(),
            checklist: format!("{done} of {} steps", list.len()),
        });
    }
    drop(tx);
    for view in &mut views {
        let program_id: ProgramId = parse_id(&view.program_id, "program")?;
        let status = terms::status(&app, ws, program_id, partner_id).await?;
        view.terms = match (&status.current, status.needs_acceptance()) {
            (None, _) => "no terms published".into(),
            (Some(current), false) => format!("accepted version {}", current.version),
            (Some(current), true) if status.overdue => {
                format!("version {} overdue: not earning", current.version)
            }
            (Some(current), true) => format!(
                "version {} due {}",
                current.version,
                status.due.map(when).unwrap_or_default()
            ),
        };
    }
    let page = PartnerPage {
        layout: layout(&partner.name, &admin, "/admin/partners"),
        partner_id: partner_id.to_string(),
        name: partner.name,
        email: partner.email,
        archetype: partner.archetype.replace('_', " "),
        payout_email: partner.payout_email.unwrap_or_default(),
        website: profile
            .as_ref()
            .and_then(|p| p.website.clone())
            .unwrap_or_default(),
        country: profile
            .as_ref()
            .and_then(|p| p.country.clone())
            .unwrap_or_default(),
        tax_form_status: profile
            .map(|p| p.tax_form_status)
            .unwrap_or_else(|| "none".into()),
        enrollments: views,
        audit,
        may_write: admin.may_write(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StandingForm {
    csrf_token: String,
    program_id: String,
    action: String,
    reason: String,
}

async fn standing_decision(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<StandingForm>, FormRejection>,
) -> Result<Response, UiError> {
    let partner_id: PartnerId = parse_id(&id, "partner")?;
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the decision form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let program_id: ProgramId = parse_id(&form.program_id, "program")?;
    let (ws, actor) = (admin.workspace_id(), actor(&admin));
    match form.action.as_str() {
        "suspend" => {
            standing::suspend(&app, ws, program_id, partner_id, &form.reason, &actor).await?
        }
        "reinstate" => {
            standing::reinstate(&app, ws, program_id, partner_id, &form.reason, &actor).await?
        }
        "terminate" => {
            let ended =
                standing::terminate(&app, ws, program_id, partner_id, &form.reason, &actor).await?;
            tracing::info!(%partner_id, %program_id, policy = %ended.policy, forfeited_minor = ended.forfeited_minor, "partner terminated");
        }
        _ => {
            return Err(UiError::bad_request(
                "choose suspend, reinstate or terminate",
            ));
        }
    }
    Ok(see_other(&format!("/admin/partners/{partner_id}")))
}

struct TermsRow {
    version: i64,
    published_at: String,
    grace_days: u32,
    policy: String,
    accepted: usize,
    body_html: String,
    payout_schedule: String,
}

#[derive(Template)]
#[template(path = "admin/terms.html")]
struct TermsPage {
    layout: Layout,
    program_id: String,
    program_name: String,
    rows: Vec<TermsRow>,
    error: Option<String>,
    may_write: bool,
}

async fn terms_view(
    app: &App,
    admin: &AdminSession,
    program_id: ProgramId,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut tx = app.store.read().await?;
    let program = tx
        .program(admin.workspace_id(), program_id)
        .await?
        .ok_or_else(|| UiError::not_found("program"))?;
    let acceptances = tx.terms_acceptances(program_id, None).await?;
    let rows = tx
        .terms_versions(program_id)
        .await?
        .into_iter()
        .map(|terms| TermsRow {
            accepted: acceptances
                .iter()
                .filter(|a| a.version == terms.version)
                .count(),
            version: terms.version,
            published_at: when(terms.published_at),
            grace_days: terms.grace_days,
            policy: terms.termination_policy,
            body_html: markdown::to_html(&terms.body_markdown),
            payout_schedule: terms.payout_schedule,
        })
        .collect();
    let page = TermsPage {
        layout: layout(
            &format!("{}: terms", program.name),
            admin,
            "/admin/programs",
        ),
        program_id: program_id.to_string(),
        program_name: program.name,
        rows,
        error,
        may_write: admin.may_write(),
    };
    Ok(render(status, &page))
}

async fn terms_page(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    terms_view(
        &app,
        &admin,
        parse_id(&id, "program")?,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TermsForm {
    csrf_token: String,
    body_markdown: String,
    payout_schedule: String,
    termination_policy: String,
    grace_days: String,
}

async fn publish_terms(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<TermsForm>, FormRejection>,
) -> Result<Response, UiError> {
    let program_id: ProgramId = parse_id(&id, "program")?;
    let Form(form) = form.map_err(|_| UiError::bad_request("the terms form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let grace_days = match form.grace_days.trim() {
        "" => None,
        text => Some(
            text.parse()
                .map_err(|_| UiError::bad_request("the grace period is a whole number of days"))?,
        ),
    };
    let input = NewTerms {
        body_markdown: form.body_markdown,
        payout_schedule: form.payout_schedule,
        termination_policy: form.termination_policy,
        grace_days,
    };
    match terms::publish(
        &app,
        admin.workspace_id(),
        program_id,
        input,
        &actor(&admin),
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/admin/programs/{program_id}/terms"))),
        Err(error @ AppError::Invalid { .. }) => {
            terms_view(
                &app,
                &admin,
                program_id,
                Some(error.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

struct ContentRow {
    kind: String,
    title: String,
    group: String,
    file: String,
    downloads: i64,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/content.html")]
struct ContentPage {
    layout: Layout,
    program_id: String,
    program_name: String,
    rows: Vec<ContentRow>,
    error: Option<String>,
    may_write: bool,
}

async fn content_view(
    app: &App,
    admin: &AdminSession,
    program_id: ProgramId,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut tx = app.store.read().await?;
    let program = tx
        .program(admin.workspace_id(), program_id)
        .await?
        .ok_or_else(|| UiError::not_found("program"))?;
    let rows = tx
        .contents(program_id, None)
        .await?
        .into_iter()
        .map(|item| ContentRow {
            kind: item.kind,
            title: item.title,
            group: item.partner_group.unwrap_or_else(|| "everyone".into()),
            file: item.file_name.unwrap_or_default(),
            downloads: item.downloads,
            created_at: when(item.created_at),
        })
        .collect();
    let page = ContentPage {
        layout: layout(
            &format!("{}: library", program.name),
            admin,
            "/admin/programs",
        ),
        program_id: program_id.to_string(),
        program_name: program.name,
        rows,
        error,
        may_write: admin.may_write(),
    };
    Ok(render(status, &page))
}

async fn content_page(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    content_view(
        &app,
        &admin,
        parse_id(&id, "program")?,
        None,
        StatusCode::OK,
    )
    .await
}

async fn create_content(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, UiError> {
    let program_id: ProgramId = parse_id(&id, "program")?;
    let mut csrf = String::new();
    let mut input = NewContent::default();
    let unreadable =
        |_| UiError::bad_request("the form could not be read (is the file too large?)");
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("file").to_string();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let bytes = field.bytes().await.map_err(unreadable)?;
            if !bytes.is_empty() {
                input.file = Some(Upload {
                    file_name,
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
            continue;
        }
        let text = field.text().await.map_err(unreadable)?;
        let optional = (!text.trim().is_empty()).then(|| text.clone());
        match name.as_str() {
            "csrf_token" => csrf = text,
            "kind" => input.kind = text,
            "title" => input.title = text,
            "body" => input.body = text,
            "partner_group" => input.partner_group = optional,
            "persona" => input.persona = optional,
            "channel" => input.channel = optional,
            _ => {}
        }
    }
    admin.authorize_write(&csrf)?;
    match content::create(
        &app,
        admin.workspace_id(),
        program_id,
        input,
        &actor(&admin),
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/admin/programs/{program_id}/content"))),
        Err(error @ AppError::Invalid { .. }) => {
            content_view(
                &app,
                &admin,
                program_id,
                Some(error.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

struct FunnelRow {
    label: String,
    done: usize,
    stuck: usize,
}

#[derive(Template)]
#[template(path = "admin/onboarding.html")]
struct FunnelPage {
    layout: Layout,
    program_name: String,
    partners: usize,
    rows: Vec<FunnelRow>,
    median: String,
    truncated: bool,
}

async fn funnel_page(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let program_id: ProgramId = parse_id(&id, "program")?;
    let funnel = onboarding::funnel(&app, admin.workspace_id(), program_id).await?;
    let program_name = app
        .store
        .read()
        .await?
        .program(admin.workspace_id(), program_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    let page = FunnelPage {
        layout: layout(
            &format!("{program_name}: onboarding"),
            &admin,
            "/admin/programs",
        ),
        program_name,
        partners: funnel.partners,
        rows: funnel
            .steps
            .into_iter()
            .map(|step| FunnelRow {
                label: step.label.to_string(),
                done: step.done,
                stuck: step.stuck,
            })
            .collect(),
        median: match funnel.median_hours_to_first_referral {
            Some(hours) if hours >= 48 => format!("{} days", hours / 24),
            Some(hours) => format!("{hours} hours"),
            None => "no referrals yet".into(),
        },
        truncated: funnel.truncated,
    };
    Ok(render(StatusCode::OK, &page))
}
