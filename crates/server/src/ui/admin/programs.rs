//! `/admin/programs`: the programs and the form that creates one.

use super::layout;
use crate::ui::error::UiError;
use crate::ui::explain::rule_text;
use crate::ui::page::{
    Feedback, Layout, ListQuery, Pager, form_status, is_form_error, money, optional_number,
    paginate, probe, render, see_other, when,
};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tributary_app::admin::{self, NewProgram};
use tributary_app::{App, AppError};

pub fn router() -> Router<App> {
    Router::new().route("/admin/programs", get(list).post(create))
}

/// The create form as typed, so a refused form comes back as the user left it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ProgramForm {
    csrf_token: String,
    name: String,
    destination_url: String,
    currency: String,
    window_days: String,
    hold_days: String,
    min_payout_minor: String,
    lead_flat_minor: String,
    sale_percent_bp: String,
}

const FIELDS: [&str; 8] = [
    "name",
    "destination_url",
    "currency",
    "window_days",
    "hold_days",
    "min_payout_minor",
    "lead_flat_minor",
    "sale_percent_bp",
];

impl ProgramForm {
    fn suggested() -> ProgramForm {
        ProgramForm {
            currency: "USD".into(),
            window_days: "30".into(),
            hold_days: "30".into(),
            min_payout_minor: "5000".into(),
            ..ProgramForm::default()
        }
    }

    fn parse(&self) -> Result<NewProgram, AppError> {
        let currency = self.currency.trim().to_ascii_uppercase();
        Ok(NewProgram {
            name: self.name.clone(),
            destination_url: self.destination_url.clone(),
            currency: (!currency.is_empty()).then_some(currency),
            window_days: optional_number("window_days", &self.window_days)?,
            hold_days: optional_number("hold_days", &self.hold_days)?,
            min_payout_minor: optional_number("min_payout_minor", &self.min_payout_minor)?,
            lead_flat_minor: optional_number("lead_flat_minor", &self.lead_flat_minor)?,
            sale_percent_bp: optional_number("sale_percent_bp", &self.sale_percent_bp)?,
            plan: None,
            attribution: None,
        })
    }
}

struct ProgramRow {
    id: String,
    name: String,
    destination_url: String,
    currency: String,
    window_days: u32,
    hold_days: u32,
    min_payout: String,
    plan: String,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/programs.html")]
struct ProgramsPage {
    layout: Layout,
    rows: Vec<ProgramRow>,
    pager: Pager,
    form: ProgramForm,
    feedback: Feedback,
    may_write: bool,
}

async fn page(
    app: &App,
    admin: &AdminSession,
    number: u32,
    form: ProgramForm,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut tx = app.store.read().await?;
    let programs = tx.programs(admin.workspace_id(), probe(number)).await?;
    let (programs, pager) = paginate(programs, number, "/admin/programs");
    let mut rows = Vec::with_capacity(programs.len());
    for program in programs {
        let plan = match tx.plan_version(program.plan_version_id).await? {
            Some(version) if !version.plan.rules.is_empty() => version
                .plan
                .rules
                .iter()
                .map(rule_text)
                .collect::<Vec<_>>()
                .join("; "),
            Some(_) => "no rewards".into(),
            None => "plan missing".into(),
        };
        rows.push(ProgramRow {
            min_payout: money(program.min_payout_minor, program.currency),
            currency: program.currency.to_string(),
            window_days: program.window_days,
            hold_days: program.hold_days,
            created_at: when(program.created_at),
            id: program.id.to_string(),
            name: program.name,
            destination_url: program.destination_url,
            plan,
        });
    }
    let page = ProgramsPage {
        layout: layout("Programs", admin, "/admin/programs"),
        rows,
        pager,
        form,
        feedback,
        may_write: admin.may_write(),
    };
    Ok(render(status, &page))
}

async fn list(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let number = ListQuery::from(query).page_number();
    page(
        &app,
        &admin,
        number,
        ProgramForm::suggested(),
        Feedback::none(),
        StatusCode::OK,
    )
    .await
}

async fn create(
    State(app): State<App>,
    admin: AdminSession,
    form: Result<Form<ProgramForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the program form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let result = match form.parse() {
        Ok(input) => admin::create_program(&app, admin.workspace_id(), input).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(program) => {
            tracing::info!(program_id = %program.id, "program created");
            Ok(see_other("/admin/programs"))
        }
        Err(error) if is_form_error(&error) => {
            let feedback = Feedback::from_error("program", &FIELDS, &error);
            page(&app, &admin, 1, form, feedback, form_status(&error)).await
        }
        Err(error) => Err(error.into()),
    }
}
