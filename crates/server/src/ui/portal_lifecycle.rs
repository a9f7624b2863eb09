//! The partner's side of the lifecycle in the portal: their programs (status, the decision
//! and its reason when suspended or terminated, group and tier, terms and the onboarding
//! checklist), a program's terms and accepting them, their profile (with a logo for
//! co-branded assets), the content library (announcements, assets, message templates,
//! training, resources) with downloads, and training modules with a "finished" button.
//! Everything is scoped to the signed-in partner: another partner's program or content, or
//! a program they are not in, is "not found".

use super::error::UiError;
use super::markdown;
use super::page::{
    Area, Feedback, Layout, SelectOption, form_status, render, see_other, short_id, when,
};
use super::portal::layout_at;
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::SocketAddr;
use tributary_app::lifecycle::content::{self, Upload};
use tributary_app::lifecycle::onboarding::{self, Step};
use tributary_app::lifecycle::profile::{self, ProfileInput};
use tributary_app::lifecycle::terms::{self, TermsStatus};
use tributary_app::lifecycle::{ACTIVE_STATUSES, lifecycle_of};
use tributary_app::{App, AppError};
use tributary_core::{ProgramId, WorkspaceId};
use tributary_store::{Page, PartnerProfile, Tx};

/// The profile form's body limit: a logo of up to 512 KiB and the other fields.
const MAX_PROFILE_BODY_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal/programs", get(programs))
        .route(
            "/portal/terms/{program_id}",
            get(terms_page).post(accept_terms),
        )
        .route("/portal/profile", get(profile_page))
        .route("/portal/library", get(library))
        .route("/portal/library/{id}/download", get(download))
        .route("/portal/training/{id}", get(training))
        .route("/portal/training/{id}/complete", post(complete_training))
}

/// The profile form takes a logo: mounted with the uploads, outside the general body limit,
/// with its own.
pub fn upload_router() -> Router<App> {
    Router::new().route(
        "/portal/profile",
        post(save_profile).layer(DefaultBodyLimit::max(MAX_PROFILE_BODY_BYTES)),
    )
}

/// A portal answer: errors as portal pages.
fn answer(result: Result<Response, UiError>) -> Response {
    result
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

async fn program_name(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
) -> Result<String, UiError> {
    Ok(tx
        .program(workspace_id, program_id)
        .await?
        .map(|program| program.name)
        .unwrap_or_else(|| short_id(program_id)))
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

/// Where the partner stands with a program's terms, for a page.
pub(super) struct TermsView {
    pub program_id: String,
    /// The current version, if the program has terms.
    pub version: Option<i64>,
    pub accepted_version: Option<i64>,
    pub accepted_at: Option<String>,
    pub needs_acceptance: bool,
    pub due: Option<String>,
    pub overdue: bool,
    /// Whether the program stops paying a partner who is past due.
    pub enforced: bool,
}

impl TermsView {
    fn new(program_id: ProgramId, status: &TermsStatus, enforced: bool) -> TermsView {
        TermsView {
            program_id: program_id.to_string(),
            version: status.current.as_ref().map(|terms| terms.version),
            accepted_version: status.accepted.as_ref().map(|a| a.version),
            accepted_at: status.accepted.as_ref().map(|a| when(a.accepted_at)),
            needs_acceptance: status.needs_acceptance(),
            due: status.due.map(when),
            overdue: status.overdue,
            enforced,
        }
    }
}

/// One onboarding step, for a page.
pub(super) struct StepView {
    pub key: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub href: &'static str,
    pub done_at: Option<String>,
}

impl From<&Step> for StepView {
    fn from(step: &Step) -> StepView {
        StepView {
            key: step.key,
            label: step.label,
            hint: step.hint,
            href: step.href,
            done_at: step.done_at.map(when),
        }
    }
}

/// What a program wants of the partner now, for the portal's home page.
pub(super) struct ActionNotice {
    pub program: String,
    /// Terms waiting for acceptance.
    pub terms: Option<TermsView>,
    /// The first onboarding step not done yet.
    pub next_step: Option<StepView>,
}

/// Per program the partner is active in: terms to accept and the next onboarding step.
/// Programs with nothing to do are left out.
pub(super) async fn action_notices(
    app: &App,
    partner: &PartnerSession,
) -> Result<Vec<ActionNotice>, UiError> {
    let workspace_id = partner.session.workspace_id;
    let partner_id = partner.partner.id;
    let checklists = onboarding::partner_checklists(app, workspace_id, &partner.partner).await?;
    let mut programs = Vec::with_capacity(checklists.len());
    {
        let mut tx = app.store.read().await?;
        for (program_id, steps) in checklists {
            let name = program_name(tx.as_mut(), workspace_id, program_id).await?;
            let enforced = lifecycle_of(tx.as_mut(), program_id)
                .await?
                .stop_earning_without_terms;
            programs.push((program_id, steps, name, enforced));
        }
    }
    let mut notices = Vec::new();
    for (program_id, steps, name, enforced) in programs {
        let status = terms::status(app, workspace_id, program_id, partner_id).await?;
        let terms = status
            .needs_acceptance()
            .then(|| TermsView::new(program_id, &status, enforced));
        let next_step = steps
            .iter()
            .filter(|step| !(terms.is_some() && step.key == "terms_accepted"))
            .find(|step| step.done_at.is_none())
            .map(StepView::from);
        if terms.is_some() || next_step.is_some() {
            notices.push(ActionNotice {
                program: name,
                terms,
                next_step,
            });
        }
    }
    Ok(notices)
}

// ----- Programs -----

struct ProgramCard {
    id: String,
    name: String,
    status: String,
    /// Suspended or terminated: the decision's reason and date.
    decision: Option<(String, String)>,
    group: Option<String>,
    tier: Option<String>,
    joined: String,
    terms: TermsView,
    steps: Vec<StepView>,
}

#[derive(Template)]
#[template(path = "portal/programs.html")]
struct ProgramsPage {
    layout: Layout,
    cards: Vec<ProgramCard>,
}

async fn programs(State(app): State<App>, partner: PartnerSession) -> Response {
    answer(programs_page(&app, &partner).await)
}

async fn programs_page(app: &App, partner: &PartnerSession) -> Result<Response, UiError> {
    let workspace_id = partner.session.workspace_id;
    let partner_id = partner.partner.id;
    let mut rows = Vec::new();
    {
        let mut tx = app.store.read().await?;
        let enrollments = tx
            .enrollments(workspace_id, Some(partner_id), Page::first(Page::MAX_LIMIT))
            .await?;
        for enrollment in enrollments {
            let name = program_name(tx.as_mut(), workspace_id, enrollment.program_id).await?;
            let enforced = lifecycle_of(tx.as_mut(), enrollment.program_id)
                .await?
                .stop_earning_without_terms;
            rows.push((enrollment, name, enforced));
        }
    }
    let mut checklists: HashMap<ProgramId, Vec<Step>> =
        onboarding::partner_checklists(app, workspace_id, &partner.partner)
            .await?
            .into_iter()
            .collect();
    let mut cards = Vec::with_capacity(rows.len());
    for (enrollment, name, enforced) in rows {
        let status = terms::status(app, workspace_id, enrollment.program_id, partner_id).await?;
        let decision = ["suspended", "terminated"]
            .contains(&enrollment.status.as_str())
            .then(|| {
                (
                    enrollment
                        .status_reason
                        .clone()
                        .unwrap_or_else(|| "no reason was given".into()),
                    enrollment.status_changed_at.map(when).unwrap_or_default(),
                )
            });
        cards.push(ProgramCard {
            id: enrollment.program_id.to_string(),
            name,
            status: enrollment.status.clone(),
            decision,
            group: enrollment.partner_group.clone(),
            tier: enrollment.tier.clone(),
            joined: when(enrollment.created_at),
            terms: TermsView::new(enrollment.program_id, &status, enforced),
            steps: checklists
                .remove(&enrollment.program_id)
                .unwrap_or_default()
                .iter()
                .map(StepView::from)
                .collect(),
        });
    }
    let page = ProgramsPage {
        layout: layout_at("Your programs", partner, "/portal/programs"),
        cards,
    };
    Ok(render(StatusCode::OK, &page))
}

// ----- Terms -----

struct CurrentTerms {
    version: i64,
    body_html: String,
    payout_schedule: String,
    policy: String,
    policy_text: &'static str,
    grace_days: u32,
    published_at: String,
}

fn policy_text(policy: &str) -> &'static str {
    match policy {
        "forfeit" => {
            "If the program ends your partnership, commissions still pending (inside their \
             hold period) are forfeited. Approved and paid money stays yours."
        }
        _ => {
            "If the program ends your partnership, commissions still pending (inside their \
             hold period) are kept and paid as usual once their hold ends. Approved and paid \
             money stays yours."
        }
    }
}

#[derive(Template)]
#[template(path = "portal/terms.html")]
struct TermsPage {
    layout: Layout,
    program: String,
    view: TermsView,
    current: Option<CurrentTerms>,
    /// Needs acceptance and the partner may accept (active in the program).
    can_accept: bool,
}

fn program_id(id: &str) -> Result<ProgramId, UiError> {
    id.parse().map_err(|_| UiError::not_found("program"))
}

async fn terms_page(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
) -> Response {
    answer(terms_view(&app, &partner, &id).await)
}

async fn terms_view(app: &App, partner: &PartnerSession, id: &str) -> Result<Response, UiError> {
    let workspace_id = partner.session.workspace_id;
    let partner_id = partner.partner.id;
    let program_id = program_id(id)?;
    let (enrollment, name, enforced) = {
        let mut tx = app.store.read().await?;
        let enrollment = tx
            .enrollment(program_id, partner_id)
            .await?
            .filter(|enrollment| enrollment.workspace_id == workspace_id)
            .ok_or_else(|| UiError::not_found("program"))?;
        let name = program_name(tx.as_mut(), workspace_id, program_id).await?;
        let enforced = lifecycle_of(tx.as_mut(), program_id)
            .await?
            .stop_earning_without_terms;
        (enrollment, name, enforced)
    };
    let status = terms::status(app, workspace_id, program_id, partner_id).await?;
    let view = TermsView::new(program_id, &status, enforced);
    let can_accept = view.needs_acceptance && ACTIVE_STATUSES.contains(&enrollment.status.as_str());
    let current = status.current.map(|terms| CurrentTerms {
        version: terms.version,
        body_html: markdown::to_html(&terms.body_markdown),
        payout_schedule: terms.payout_schedule,
        policy_text: policy_text(&terms.termination_policy),
        policy: terms.termination_policy,
        grace_days: terms.grace_days,
        published_at: when(terms.published_at),
    });
    let page = TermsPage {
        layout: layout_at(&format!("Terms: {name}"), partner, "/portal/programs"),
        program: name,
        view,
        current,
        can_accept,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AcceptForm {
    csrf_token: String,
    version: String,
}

async fn accept_terms(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<AcceptForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form.map_err(|_| UiError::bad_request("the form could not be read"))?;
        partner.authorize(&form.csrf_token)?;
        let program_id = program_id(&id)?;
        let version: i64 = form
            .version
            .trim()
            .parse()
            .map_err(|_| UiError::bad_request("the form names no terms version"))?;
        let ip = peer.ip().to_string();
        terms::accept(
            &app,
            partner.session.workspace_id,
            program_id,
            partner.partner.id,
            version,
            Some(&ip),
        )
        .await?;
        Ok(see_other(&format!("/portal/terms/{program_id}")))
    }
    .await;
    answer(result)
}

// ----- Profile -----

#[derive(Default)]
struct ProfileValues {
    website: String,
    country: String,
    payout_email: String,
    tax_form_status: String,
    display_name: String,
    show_on_leaderboard: bool,
}

impl ProfileValues {
    fn stored(profile: Option<&PartnerProfile>, payout_email: Option<&str>) -> ProfileValues {
        ProfileValues {
            website: profile.and_then(|p| p.website.clone()).unwrap_or_default(),
            country: profile.and_then(|p| p.country.clone()).unwrap_or_default(),
            payout_email: payout_email.unwrap_or_default().to_string(),
            tax_form_status: profile
                .map_or_else(|| "none".to_string(), |p| p.tax_form_status.clone()),
            display_name: profile
                .and_then(|p| p.display_name.clone())
                .unwrap_or_default(),
            show_on_leaderboard: profile.is_some_and(|p| p.show_on_leaderboard),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/profile.html")]
struct ProfilePage {
    layout: Layout,
    values: ProfileValues,
    /// An admin verified the tax form: the partner can no longer change it.
    verified: bool,
    tax_options: Vec<SelectOption>,
    /// The current logo as a `data:` URL, for its preview.
    logo_url: Option<String>,
    updated_at: Option<String>,
    feedback: Feedback,
}

const PROFILE_FIELDS: [&str; 7] = [
    "website",
    "country",
    "payout_email",
    "tax_form_status",
    "display_name",
    "show_on_leaderboard",
    "logo",
];

async fn profile_view(
    app: &App,
    partner: &PartnerSession,
    values: Option<ProfileValues>,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (stored, payout_email) = {
        let mut tx = app.store.read().await?;
        let stored = tx.partner_profile(partner.partner.id).await?;
        // The partner as stored now (the session's copy predates a save).
        let payout_email = tx
            .partner(partner.session.workspace_id, partner.partner.id)
            .await?
            .and_then(|p| p.payout_email);
        (stored, payout_email)
    };
    let verified = stored
        .as_ref()
        .is_some_and(|p| p.tax_form_status == "verified");
    let values =
        values.unwrap_or_else(|| ProfileValues::stored(stored.as_ref(), payout_email.as_deref()));
    let tax_options = [("none", "Not sent yet"), ("submitted", "Sent")]
        .into_iter()
        .map(|(value, label)| SelectOption {
            value: value.into(),
            label: label.into(),
            selected: values.tax_form_status == value,
        })
        .collect();
    let logo_url = stored.as_ref().and_then(|p| {
        Some(format!(
            "data:{};base64,{}",
            p.logo_content_type.as_deref()?,
            p.logo_base64.as_deref()?
        ))
    });
    let page = ProfilePage {
        layout: layout_at("Your profile", partner, "/portal/profile"),
        values,
        verified,
        tax_options,
        logo_url,
        updated_at: stored.as_ref().map(|p| when(p.updated_at)),
        feedback,
    };
    Ok(render(status, &page))
}

async fn profile_page(State(app): State<App>, partner: PartnerSession) -> Response {
    answer(profile_view(&app, &partner, None, Feedback::none(), StatusCode::OK).await)
}

/// The logo's type: the browser's, or guessed from the name when it sent a generic one.
fn logo_type(declared: Option<&str>, file_name: &str) -> String {
    let declared = declared
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !declared.is_empty() && declared != "application/octet-stream" {
        return declared;
    }
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".png") {
        "image/png".into()
    } else if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        "image/jpeg".into()
    } else if lower.ends_with(".svg") {
        "image/svg+xml".into()
    } else {
        declared
    }
}

async fn save_profile(
    State(app): State<App>,
    partner: PartnerSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    answer(save_profile_form(&app, &partner, multipart).await)
}

async fn save_profile_form(
    app: &App,
    partner: &PartnerSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, UiError> {
    let unreadable = || {
        UiError::bad_request("the profile form could not be read (a logo may be at most 512 KiB)")
    };
    let mut multipart = multipart.map_err(|_| unreadable())?;
    let (mut csrf, mut values, mut logo) = (String::new(), ProfileValues::default(), None);
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "logo" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let content_type = logo_type(field.content_type(), &file_name);
            let bytes = field.bytes().await.map_err(|_| unreadable())?;
            if !bytes.is_empty() {
                logo = Some(Upload {
                    file_name,
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
            continue;
        }
        let text = field.text().await.map_err(|_| unreadable())?;
        match name.as_str() {
            "csrf_token" => csrf = text,
            "website" => values.website = text,
            "country" => values.country = text,
            "payout_email" => values.payout_email = text,
            "tax_form_status" => values.tax_form_status = text,
            "display_name" => values.display_name = text,
            "show_on_leaderboard" => values.show_on_leaderboard = !text.is_empty(),
            _ => {}
        }
    }
    partner.authorize(&csrf)?;
    let input = ProfileInput {
        website: values.website.clone(),
        country: values.country.clone(),
        payout_email: values.payout_email.clone(),
        tax_form_status: values.tax_form_status.clone(),
        display_name: values.display_name.clone(),
        show_on_leaderboard: values.show_on_leaderboard,
        logo,
    };
    match profile::save(app, partner.session.workspace_id, partner.partner.id, input).await {
        Ok(_) => Ok(see_other("/portal/profile")),
        Err(error @ AppError::Invalid { .. }) => {
            let feedback = Feedback::from_error("profile", &PROFILE_FIELDS, &error);
            profile_view(app, partner, Some(values), feedback, form_status(&error)).await
        }
        Err(other) => Err(other.into()),
    }
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
    answer(library_page(&app, &partner).await)
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

/// A file name safe in a `Content-Disposition` header: `[A-Za-z0-9._-]` only.
fn attachment_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        "download".into()
    } else {
        cleaned.into()
    }
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
        let content_type = HeaderValue::from_str(&file.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        let disposition = HeaderValue::from_str(&format!(
            "attachment; filename=\"{}\"",
            attachment_name(&file.file_name)
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
        let mut response = (StatusCode::OK, file.bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type);
        // `X-Content-Type-Options: nosniff` is added to every answer (`ui::security_headers`).
        headers.insert(header::CONTENT_DISPOSITION, disposition);
        Ok(response)
    }
    .await;
    answer(result)
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
    answer(training_page(&app, &partner, &id).await)
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
    answer(result)
}

#[cfg(test)]
mod tests {
    use super::{attachment_name, logo_type};

    #[test]
    fn attachment_names_keep_only_safe_characters() {
        assert_eq!(attachment_name("banner 1.svg"), "banner1.svg");
        assert_eq!(attachment_name("a\"b\r\nc.png"), "abc.png");
        assert_eq!(attachment_name("../../etc"), "etc");
        assert_eq!(attachment_name("\"\""), "download");
    }

    #[test]
    fn logo_types_fall_back_to_the_extension() {
        assert_eq!(logo_type(Some("image/png"), "x.bin"), "image/png");
        assert_eq!(
            logo_type(Some("application/octet-stream"), "logo.SVG"),
            "image/svg+xml"
        );
        assert_eq!(logo_type(None, "logo.jpeg"), "image/jpeg");
    }
}
