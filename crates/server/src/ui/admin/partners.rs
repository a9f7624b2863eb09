//! `/admin/partners`: the partners, the form that adds one, and the form that enrolls a
//! partner in a program.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::page::{
    Feedback, Layout, ListQuery, Pager, SelectOption, chosen_id, form_status, is_form_error,
    paginate, probe, render, see_other, when,
};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::App;
use tributary_app::admin::{self, ARCHETYPES, NewPartner};
use tributary_core::{PartnerId, ProgramId};
use tributary_store::Page;

/// Programs listed per partner at most.
const MAX_ENROLLMENTS_SHOWN: u32 = 20;

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/partners", get(list).post(create))
        .route("/admin/partners/enroll", post(enroll))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PartnerForm {
    csrf_token: String,
    name: String,
    email: String,
    archetype: String,
    payout_email: String,
    /// Never sent back to the browser.
    password: String,
}

const PARTNER_FIELDS: [&str; 5] = ["name", "email", "archetype", "payout_email", "password"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct EnrollForm {
    csrf_token: String,
    program_id: String,
    partner_id: String,
}

const ENROLL_FIELDS: [&str; 2] = ["program_id", "partner_id"];

struct PartnerRow {
    id: String,
    name: String,
    email: String,
    archetype: String,
    payout_email: String,
    has_login: bool,
    programs: String,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/partners.html")]
struct PartnersPage {
    layout: Layout,
    rows: Vec<PartnerRow>,
    pager: Pager,
    partner_form: PartnerForm,
    archetypes: Vec<SelectOption>,
    programs: Vec<SelectOption>,
    partners: Vec<SelectOption>,
    feedback: Feedback,
    may_write: bool,
}

struct Forms {
    partner: PartnerForm,
    enroll: EnrollForm,
    feedback: Feedback,
    status: StatusCode,
}

impl Forms {
    fn blank() -> Forms {
        Forms {
            partner: PartnerForm {
                archetype: "other".into(),
                ..PartnerForm::default()
            },
            enroll: EnrollForm::default(),
            feedback: Feedback::none(),
            status: StatusCode::OK,
        }
    }
}

async fn page(
    app: &App,
    admin: &AdminSession,
    number: u32,
    forms: Forms,
) -> Result<Response, UiError> {
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    let partners = tx.partners(workspace_id, probe(number)).await?;
    let (partners, pager) = paginate(partners, number, "/admin/partners");
    let mut rows = Vec::with_capacity(partners.len());
    for partner in partners {
        let enrollments = tx
            .enrollments(
                workspace_id,
                Some(partner.id),
                Page::first(MAX_ENROLLMENTS_SHOWN),
            )
            .await?;
        let program_ids = enrollments.iter().map(|e| e.program_id).collect();
        directory
            .complete(tx.as_mut(), workspace_id, program_ids, Vec::new())
            .await?;
        let programs = enrollments
            .iter()
            .map(|e| directory.program_name(e.program_id))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(PartnerRow {
            id: partner.id.to_string(),
            has_login: partner.password_hash.is_some(),
            payout_email: partner.payout_email.unwrap_or_default(),
            created_at: when(partner.created_at),
            name: partner.name,
            email: partner.email,
            archetype: partner.archetype.replace('_', " "),
            programs,
        });
    }
    let archetypes = ARCHETYPES
        .iter()
        .map(|archetype| SelectOption {
            value: archetype.to_string(),
            label: archetype.replace('_', " "),
            selected: *archetype == forms.partner.archetype,
        })
        .collect();
    let page = PartnersPage {
        layout: layout("Partners", admin, "/admin/partners"),
        rows,
        pager,
        archetypes,
        programs: directory.program_options(&forms.enroll.program_id),
        partners: directory.partner_options(&forms.enroll.partner_id),
        partner_form: PartnerForm {
            password: String::new(),
            ..forms.partner
        },
        feedback: forms.feedback,
        may_write: admin.may_write(),
    };
    Ok(render(forms.status, &page))
}

async fn list(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let number = ListQuery::from(query).page_number();
    page(&app, &admin, number, Forms::blank()).await
}

async fn create(
    State(app): State<App>,
    admin: AdminSession,
    form: Result<Form<PartnerForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the partner form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let optional = |text: &str| (!text.trim().is_empty()).then(|| text.to_string());
    let input = NewPartner {
        name: form.name.clone(),
        email: form.email.clone(),
        archetype: optional(&form.archetype),
        payout_email: optional(&form.payout_email),
        password: (!form.password.is_empty()).then(|| form.password.clone()),
    };
    match admin::create_partner(&app, admin.workspace_id(), input).await {
        Ok(partner) => {
            tracing::info!(partner_id = %partner.id, "partner created");
            Ok(see_other("/admin/partners"))
        }
        Err(error) if is_form_error(&error) => {
            let forms = Forms {
                feedback: Feedback::from_error("partner", &PARTNER_FIELDS, &error),
                status: form_status(&error),
                partner: form,
                ..Forms::blank()
            };
            page(&app, &admin, 1, forms).await
        }
        Err(error) => Err(error.into()),
    }
}

async fn enroll(
    State(app): State<App>,
    admin: AdminSession,
    form: Result<Form<EnrollForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the enrollment form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let result = async {
        let program_id: ProgramId = chosen_id("program_id", "program", &form.program_id)?;
        let partner_id: PartnerId = chosen_id("partner_id", "partner", &form.partner_id)?;
        admin::enroll(&app, admin.workspace_id(), program_id, partner_id).await
    }
    .await;
    match result {
        Ok(enrollment) => {
            tracing::info!(
                partner_id = %enrollment.partner_id,
                program_id = %enrollment.program_id,
                "partner enrolled"
            );
            Ok(see_other("/admin/partners"))
        }
        Err(error) if is_form_error(&error) => {
            let forms = Forms {
                feedback: Feedback::from_error("enroll", &ENROLL_FIELDS, &error),
                status: form_status(&error),
                enroll: form,
                ..Forms::blank()
            };
            page(&app, &admin, 1, forms).await
        }
        Err(error) => Err(error.into()),
    }
}
