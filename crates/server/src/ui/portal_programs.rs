//! The partner's programs in the portal: each program they are in (status, the decision
//! and its reason when suspended or terminated, group and tier, terms and the onboarding
//! checklist), a program's terms and accepting them, and what the programs want of the
//! partner now (for the portal's home page). Everything is scoped to the signed-in partner:
//! a program they are not in is "not found".

use super::error::UiError;
use super::markdown;
use super::page::{Layout, portal_answer, render, see_other, short_id, when};
use super::portal::layout_at;
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use tributary_app::App;
use tributary_app::lifecycle::onboarding::{self, Step};
use tributary_app::lifecycle::terms::{self, TermsStatus};
use tributary_app::lifecycle::{ACTIVE_STATUSES, lifecycle_of};
use tributary_core::{ProgramId, WorkspaceId};
use tributary_store::{Page, Tx};

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal/programs", get(programs))
        .route(
            "/portal/terms/{program_id}",
            get(terms_page).post(accept_terms),
        )
}

/// A program's name, or the start of its id when it is gone.
pub(super) async fn program_name(
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
    portal_answer(programs_page(&app, &partner).await)
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
    portal_answer(terms_view(&app, &partner, &id).await)
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
    portal_answer(result)
}
