//! `/admin/programs/{id}/plans` and `/admin/programs/{id}/simulate`: a program's plan
//! versions, a JSON editor that checks a plan and previews it in words before it is
//! published, and "Simulate a plan": a proposed plan replayed over stored history beside
//! the current plans, with a CSV download.

use super::layout;
use crate::ui::error::UiError;
use crate::ui::explain::rule_text;
use crate::ui::page::{
    Feedback, Layout, form_status, is_form_error, money, render, see_other, when,
};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::plans::{self, NewVersion, SimulationInput};
use tributary_app::replay::ReplayReport;
use tributary_app::{App, AppError};
use tributary_core::period::date_of;
use tributary_core::plan::Plan;
use tributary_core::{PartnerId, ProgramId};
use tributary_store::{Page, PlanScope, Program};

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/programs/{id}/plans", get(versions).post(publish))
        .route("/admin/programs/{id}/plans/preview", post(preview))
        .route(
            "/admin/programs/{id}/simulate",
            get(simulate_form).post(simulate),
        )
        .route("/admin/programs/{id}/simulate.csv", post(simulate_csv))
}

const PLAN_FIELDS: [&str; 5] = ["plan", "scope", "group", "partner_id", "effective_from"];
const SIMULATE_FIELDS: [&str; 3] = ["plan", "from", "to"];

/// The editor as typed, so a refused form comes back as the user left it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PlanForm {
    csrf_token: String,
    plan: String,
    scope: String,
    group: String,
    partner_id: String,
    /// `YYYY-MM-DD`; empty: now.
    effective_from: String,
}

struct VersionRow {
    version: i64,
    scope: String,
    effective_from: String,
    current: bool,
    rules: Vec<String>,
    extras: Vec<String>,
}

struct PartnerOption {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin/plans.html")]
struct PlansPage {
    layout: Layout,
    program_id: String,
    program_name: String,
    rows: Vec<VersionRow>,
    partners: Vec<PartnerOption>,
    form: PlanForm,
    feedback: Feedback,
    preview: Option<Vec<String>>,
    may_write: bool,
}

fn plan_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default()
}

/// What a plan has besides rules, in words.
fn extras(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if plan.stacking == tributary_core::plan::Stacking::Best {
        out.push("When several rules match one event, only the largest pays.".into());
    }
    for bonus in &plan.bonuses {
        out.push(format!(
            "Bonus {}: {} per {}",
            bonus.id,
            match bonus.reward {
                tributary_core::plan::BonusReward::Flat { amount } => amount.to_string(),
                tributary_core::plan::BonusReward::PercentOfPeriodRevenue { rate_bp } => format!(
                    "{} of the period's revenue",
                    crate::ui::explain::percent(rate_bp.get())
                ),
            },
            bonus.period.as_str()
        ));
    }
    let safeguards = &plan.safeguards;
    if let Some(days) = safeguards.hold_days {
        out.push(format!("Held {days} days before approval."));
    }
    match safeguards.approve_after {
        Some(tributary_core::plan::Engagement::Milestone(milestone)) => out.push(format!(
            "Approved only once the customer reaches `{}`.",
            milestone.as_str()
        )),
        Some(tributary_core::plan::Engagement::ActiveDays(days)) => out.push(format!(
            "Approved only once the customer has stayed active {days} days."
        )),
        None => {}
    }
    if let Some(days) = safeguards.clawback_days {
        out.push(format!("Refunds claw back for {days} days after the sale."));
    }
    if let Some(budget) = plan.budget {
        out.push(format!(
            "Budget: {} per {}.",
            budget.amount,
            budget.period.as_str()
        ));
    }
    for entry in &plan.perks {
        out.push(format!(
            "Perks for {}: {}.",
            entry.tier,
            entry.perks.join(", ")
        ));
    }
    out
}

async fn program_of(app: &App, admin: &AdminSession, id: &str) -> Result<Program, UiError> {
    let id: ProgramId = id
        .parse()
        .map_err(|_| UiError::from(AppError::NotFound("program")))?;
    app.store
        .read()
        .await?
        .program(admin.workspace_id(), id)
        .await?
        .ok_or_else(|| AppError::NotFound("program").into())
}

async fn plans_page(
    app: &App,
    admin: &AdminSession,
    program: &Program,
    form: PlanForm,
    feedback: Feedback,
    preview: Option<Vec<String>>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut tx = app.store.read().await?;
    let versions = tx.plan_versions(program.id).await?;
    let partners = tx
        .partners(admin.workspace_id(), Page::first(Page::MAX_LIMIT))
        .await?;
    let names: std::collections::HashMap<PartnerId, String> = partners
        .iter()
        .map(|partner| (partner.id, partner.name.clone()))
        .collect();
    let mut rows: Vec<VersionRow> = versions
        .iter()
        .map(|version| VersionRow {
            version: version.version,
            scope: match &version.scope {
                PlanScope::Program => "Program default".into(),
                PlanScope::Group(name) => format!("Group {name}"),
                PlanScope::Partner(id) => format!(
                    "Partner {}",
                    names.get(id).cloned().unwrap_or_else(|| id.to_string())
                ),
            },
            effective_from: if version.effective_from.millis() == 0 {
                "from the start".into()
            } else {
                when(version.effective_from)
            },
            current: version.id == program.plan_version_id,
            rules: version.plan.rules.iter().map(rule_text).collect(),
            extras: extras(&version.plan),
        })
        .collect();
    rows.reverse();
    let page = PlansPage {
        layout: layout(
            &format!("Plans of {}", program.name),
            admin,
            "/admin/programs",
        ),
        program_id: program.id.to_string(),
        program_name: program.name.clone(),
        rows,
        partners: partners
            .iter()
            .map(|partner| PartnerOption {
                id: partner.id.to_string(),
                name: partner.name.clone(),
            })
            .collect(),
        form,
        feedback,
        preview,
        may_write: admin.may_write(),
    };
    Ok(render(status, &page))
}

async fn current_plan(app: &App, program: &Program) -> Result<Plan, UiError> {
    Ok(app
        .store
        .read()
        .await?
        .plan_version(program.plan_version_id)
        .await?
        .map(|version| version.plan)
        .unwrap_or_else(|| Plan::of_rules(Vec::new())))
}

async fn versions(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let program = program_of(&app, &admin, &id).await?;
    let form = PlanForm {
        plan: plan_json(&current_plan(&app, &program).await?),
        scope: "program".into(),
        ..PlanForm::default()
    };
    plans_page(
        &app,
        &admin,
        &program,
        form,
        Feedback::none(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Reads the editor's plan text; errors carry the field `plan` (or `plan.<path>`).
fn parse_plan(text: &str) -> Result<Plan, AppError> {
    let plan: Plan = serde_json::from_str(text).map_err(|error| {
        AppError::invalid(
            "plan",
            format!("the plan is not valid JSON for a plan: {error}"),
        )
    })?;
    plan.validate()
        .map_err(|error| AppError::invalid("plan", format!("{}: {}", error.path, error.message)))?;
    Ok(plan)
}

fn version_input(form: &PlanForm, plan: Plan) -> Result<NewVersion, AppError> {
    let effective_from = match form.effective_from.trim() {
        "" => None,
        date => Some(
            tributary_core::period::parse_date(date)
                .map(tributary_app::ingest::format_time)
                .ok_or_else(|| {
                    AppError::invalid(
                        "effective_from",
                        "a date such as 2026-12-01, or empty for now",
                    )
                })?,
        ),
    };
    let partner_id = match form.partner_id.trim() {
        "" => None,
        text => Some(
            text.parse()
                .map_err(|_| AppError::invalid("partner_id", "choose a partner"))?,
        ),
    };
    Ok(NewVersion {
        plan,
        scope: Some(form.scope.clone()).filter(|scope| !scope.is_empty()),
        group: Some(form.group.clone()).filter(|group| !group.trim().is_empty()),
        partner_id,
        effective_from,
    })
}

async fn preview(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<PlanForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form.map_err(|_| UiError::bad_request("the plan form could not be read"))?;
    admin.authorize_read(&form.csrf_token)?;
    let program = program_of(&app, &admin, &id).await?;
    match parse_plan(&form.plan) {
        Ok(plan) => {
            let mut words: Vec<String> = plan.rules.iter().map(rule_text).collect();
            words.extend(extras(&plan));
            plans_page(
                &app,
                &admin,
                &program,
                form,
                Feedback::none(),
                Some(words),
                StatusCode::OK,
            )
            .await
        }
        Err(error) => {
            let feedback = Feedback::from_error("plan", &PLAN_FIELDS, &error);
            plans_page(
                &app,
                &admin,
                &program,
                form,
                feedback,
                None,
                form_status(&error),
            )
            .await
        }
    }
}

async fn publish(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<PlanForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form.map_err(|_| UiError::bad_request("the plan form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let program = program_of(&app, &admin, &id).await?;
    let result = match parse_plan(&form.plan).and_then(|plan| version_input(&form, plan)) {
        Ok(input) => plans::create_version(&app, admin.workspace_id(), program.id, input).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(version) => {
            tracing::info!(program_id = %program.id, version = version.version, "plan version published");
            Ok(see_other(&format!("/admin/programs/{}/plans", program.id)))
        }
        Err(error) if is_form_error(&error) => {
            // A plan error from the engine names a path under `plan`: show it on the editor.
            let error = match error {
                AppError::Invalid {
                    field: Some(field),
                    message,
                } if field.starts_with("plan.") => {
                    AppError::invalid("plan", format!("{}: {message}", &field["plan.".len()..]))
                }
                other => other,
            };
            let feedback = Feedback::from_error("plan", &PLAN_FIELDS, &error);
            plans_page(
                &app,
                &admin,
                &program,
                form,
                feedback,
                None,
                form_status(&error),
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SimulateForm {
    csrf_token: String,
    plan: String,
    from: String,
    to: String,
}

struct Comparison {
    label: String,
    current: String,
    proposed: String,
    delta: String,
}

struct PartnerDelta {
    name: String,
    archetype: String,
    tier: String,
    current: String,
    proposed: String,
    delta: String,
}

struct Results {
    summary: String,
    totals: Vec<Comparison>,
    by_archetype: Vec<Comparison>,
    by_tier: Vec<Comparison>,
    gainers: Vec<PartnerDelta>,
    losers: Vec<PartnerDelta>,
    partners: Vec<PartnerDelta>,
}

#[derive(Template)]
#[template(path = "admin/simulate.html")]
struct SimulatePage {
    layout: Layout,
    program_id: String,
    program_name: String,
    form: SimulateForm,
    feedback: Feedback,
    results: Option<Results>,
}

fn results(report: &ReplayReport) -> Results {
    let c = report.currency;
    let proposed = report.proposed.as_ref();
    let per = |total: i64, count: u64| {
        tributary_core::Money::new(total, c)
            .per(count)
            .map_or_else(|| "n/a".to_string(), |each| each.to_string())
    };
    let compare = |label: String, current: i64, theirs: Option<i64>| Comparison {
        label,
        current: money(current, c),
        proposed: theirs.map_or_else(|| "-".into(), |t| money(t, c)),
        delta: theirs.map_or_else(|| "-".into(), |t| money(t - current, c)),
    };
    let pt = proposed.map(|p| p.total_minor);
    let mut totals = vec![compare("Total cost".into(), report.current.total_minor, pt)];
    totals.push(Comparison {
        label: "Commissions".into(),
        current: report.current.commissions.to_string(),
        proposed: proposed.map_or_else(|| "-".into(), |p| p.commissions.to_string()),
        delta: "".into(),
    });
    totals.push(Comparison {
        label: format!("Cost per acquired customer ({})", report.acquired),
        current: per(report.current.total_minor, report.acquired),
        proposed: pt.map_or_else(|| "-".into(), |t| per(t, report.acquired)),
        delta: "".into(),
    });
    totals.push(Comparison {
        label: format!("Cost per retained customer ({})", report.retained),
        current: per(report.current.total_minor, report.retained),
        proposed: pt.map_or_else(|| "-".into(), |t| per(t, report.retained)),
        delta: "".into(),
    });
    let group = |current: &std::collections::BTreeMap<String, i64>,
                 theirs: Option<&std::collections::BTreeMap<String, i64>>| {
        current
            .iter()
            .map(|(key, amount)| {
                compare(
                    key.clone(),
                    *amount,
                    theirs.map(|t| t.get(key).copied().unwrap_or(0)),
                )
            })
            .collect::<Vec<_>>()
    };
    let row = |p: &tributary_app::replay::PartnerRow| PartnerDelta {
        name: p.name.clone(),
        archetype: p.archetype.clone(),
        tier: p.tier.clone(),
        current: money(p.current_minor, c),
        proposed: money(p.proposed_minor, c),
        delta: money(p.delta(), c),
    };
    Results {
        summary: format!(
            "{} events read, {} in the range, {} credited customers, {} acquired, {} retained.",
            report.events_read,
            report.events_in_range,
            report.customers,
            report.acquired,
            report.retained
        ),
        totals,
        by_archetype: group(
            &report.current.by_archetype,
            proposed.map(|p| &p.by_archetype),
        ),
        by_tier: group(&report.current.by_tier, proposed.map(|p| &p.by_tier)),
        gainers: report
            .partners
            .iter()
            .filter(|p| p.delta() > 0)
            .take(5)
            .map(row)
            .collect(),
        losers: report
            .partners
            .iter()
            .rev()
            .filter(|p| p.delta() < 0)
            .take(5)
            .map(row)
            .collect(),
        partners: report.partners.iter().map(row).collect(),
    }
}

async fn simulate_form(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let program = program_of(&app, &admin, &id).await?;
    let today = app.now();
    let form = SimulateForm {
        plan: plan_json(&current_plan(&app, &program).await?),
        from: date_of(today.minus_days(90)).to_string(),
        to: date_of(today).to_string(),
        ..SimulateForm::default()
    };
    Ok(simulate_page(
        &admin,
        &program,
        form,
        Feedback::none(),
        None,
        StatusCode::OK,
    ))
}

fn simulate_page(
    admin: &AdminSession,
    program: &Program,
    form: SimulateForm,
    feedback: Feedback,
    results: Option<Results>,
    status: StatusCode,
) -> Response {
    let page = SimulatePage {
        layout: layout(
            &format!("Simulate a plan for {}", program.name),
            admin,
            "/admin/programs",
        ),
        program_id: program.id.to_string(),
        program_name: program.name.clone(),
        form,
        feedback,
        results,
    };
    render(status, &page)
}

async fn run_simulation(
    app: &App,
    admin: &AdminSession,
    program: &Program,
    form: &SimulateForm,
) -> Result<ReplayReport, AppError> {
    let plan = match form.plan.trim() {
        "" => None,
        text => Some(parse_plan(text)?),
    };
    plans::simulate(
        app,
        admin.workspace_id(),
        program.id,
        SimulationInput {
            plan,
            from: form.from.clone(),
            to: form.to.clone(),
        },
    )
    .await
}

async fn simulate(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<SimulateForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the simulation form could not be read"))?;
    admin.authorize_read(&form.csrf_token)?;
    let program = program_of(&app, &admin, &id).await?;
    let (feedback, results, status) = match run_simulation(&app, &admin, &program, &form).await {
        Ok(report) => (Feedback::none(), Some(results(&report)), StatusCode::OK),
        Err(error) if is_form_error(&error) => (
            Feedback::from_error("simulate", &SIMULATE_FIELDS, &error),
            None,
            form_status(&error),
        ),
        Err(error) => return Err(error.into()),
    };
    Ok(simulate_page(
        &admin, &program, form, feedback, results, status,
    ))
}

async fn simulate_csv(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<SimulateForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the simulation form could not be read"))?;
    admin.authorize_read(&form.csrf_token)?;
    let program = program_of(&app, &admin, &id).await?;
    let report = run_simulation(&app, &admin, &program, &form).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"simulation.csv\""),
            ),
        ],
        report.csv(),
    )
        .into_response())
}
