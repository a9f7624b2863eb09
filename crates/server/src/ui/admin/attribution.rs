//! Attribution in the admin area (docs/ATTRIBUTION.md): a program's model and precedence,
//! re-attributing a customer from their page, deciding partners' deals, coupon codes.
//! Refused input answers the error page with the reason; nothing is written.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::page::{
    Layout, ListQuery, Pager, SelectOption, paginate, probe, render, see_other, when,
};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::attribution::{self, NewCoupon, Reattribution, ShareInput};
use tributary_app::{App, AppError, admin};
use tributary_core::multitouch::{Channel, Model, Settings};
use tributary_core::{CustomerId, DealId, ProgramId};

pub fn router() -> Router<App> {
    Router::new()
        .route(
            "/admin/programs/{id}/attribution",
            get(settings_page).post(save_settings),
        )
        .route("/admin/customers/{id}/attribution", post(reattribute))
        .route("/admin/deals", get(deals))
        .route("/admin/deals/{id}/decision", post(decide))
        .route("/admin/coupons", get(coupons).post(create_coupon))
}

fn actor(admin: &AdminSession) -> String {
    format!("user:{}", admin.user.id)
}

fn read<T>(form: Result<Form<T>, FormRejection>, what: &str) -> Result<T, UiError> {
    form.map(|Form(form)| form)
        .map_err(|_| UiError::bad_request(format!("the {what} form could not be read")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SettingsForm {
    csrf_token: String,
    model: String,
    half_life_days: String,
    first_bp: String,
    last_bp: String,
    originator: String,
    assist: String,
    closer: String,
    precedence: String,
}

fn number(field: &str, text: &str, default: u32) -> Result<u32, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(default);
    }
    text.parse()
        .map_err(|_| AppError::invalid(field, format!("{field} is a whole number")))
}

impl SettingsForm {
    fn of(settings: &Settings) -> SettingsForm {
        let mut form = SettingsForm {
            model: settings.model.name().into(),
            half_life_days: "7".into(),
            first_bp: "4000".into(),
            last_bp: "4000".into(),
            originator: "3000".into(),
            assist: "1000".into(),
            closer: "6000".into(),
            precedence: settings
                .precedence
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            ..SettingsForm::default()
        };
        match settings.model {
            Model::TimeDecay { half_life_days } => form.half_life_days = half_life_days.to_string(),
            Model::PositionBased { first_bp, last_bp } => {
                form.first_bp = first_bp.to_string();
                form.last_bp = last_bp.to_string();
            }
            Model::RoleWeights {
                originator,
                assist,
                closer,
            } => {
                form.originator = originator.to_string();
                form.assist = assist.to_string();
                form.closer = closer.to_string();
            }
            _ => {}
        }
        form
    }

    fn parse(&self) -> Result<Settings, AppError> {
        let model = match self.model.as_str() {
            "first_touch" => Model::FirstTouch,
            "last_touch" => Model::LastTouch,
            "linear" => Model::Linear,
            "time_decay" => Model::TimeDecay {
                half_life_days: number("half_life_days", &self.half_life_days, 7)?,
            },
            "position_based" => Model::PositionBased {
                first_bp: number("first_bp", &self.first_bp, 4_000)?,
                last_bp: number("last_bp", &self.last_bp, 4_000)?,
            },
            "role_weights" => Model::RoleWeights {
                originator: number("originator", &self.originator, 3_000)?,
                assist: number("assist", &self.assist, 1_000)?,
                closer: number("closer", &self.closer, 6_000)?,
            },
            _ => return Err(AppError::invalid("model", "choose one of the models")),
        };
        let precedence = self
            .precedence
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                Channel::parse(&name.to_ascii_lowercase()).ok_or_else(|| {
                    AppError::invalid(
                        "precedence",
                        format!("{name:?} is not a channel: link, referral, coupon, deal, manual"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings { model, precedence })
    }
}

#[derive(Template)]
#[template(path = "admin/attribution.html")]
struct SettingsPage {
    layout: Layout,
    program_id: String,
    window_days: u32,
    current: String,
    models: Vec<SelectOption>,
    form: SettingsForm,
    may_write: bool,
}

const MODELS: [(&str, &str); 6] = [
    ("last_touch", "Last touch"),
    ("first_touch", "First touch"),
    ("linear", "Linear"),
    ("time_decay", "Time decay"),
    ("position_based", "Position based"),
    ("role_weights", "Role weights"),
];

async fn settings_page(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id: ProgramId = id.parse().map_err(|_| UiError::not_found("program"))?;
    let program = app
        .store
        .read()
        .await?
        .program(admin.workspace_id(), id)
        .await?
        .ok_or_else(|| UiError::not_found("program"))?;
    let form = SettingsForm::of(&program.attribution);
    let page = SettingsPage {
        layout: layout(
            &format!("Attribution of {}", program.name),
            &admin,
            "/admin/programs",
        ),
        program_id: program.id.to_string(),
        window_days: program.window_days,
        current: format!(
            "{}; precedence {}",
            program.attribution.model,
            super::activity::precedence_text(&program.attribution.precedence)
        ),
        models: MODELS
            .iter()
            .map(|(value, label)| SelectOption {
                value: value.to_string(),
                label: label.to_string(),
                selected: *value == form.model,
            })
            .collect(),
        form,
        may_write: admin.may_write(),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn save_settings(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<SettingsForm>, FormRejection>,
) -> Result<Response, UiError> {
    let form = read(form, "attribution")?;
    admin.authorize_write(&form.csrf_token)?;
    let id: ProgramId = id.parse().map_err(|_| UiError::not_found("program"))?;
    let settings = form.parse()?;
    admin::set_attribution(&app, admin.workspace_id(), id, settings).await?;
    tracing::info!(program_id = %id, "attribution settings changed");
    Ok(see_other(&format!("/admin/programs/{id}/attribution")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReattributeForm {
    csrf_token: String,
    program_id: String,
    partner_1: String,
    share_1: String,
    partner_2: String,
    share_2: String,
    partner_3: String,
    share_3: String,
    reason: String,
}

impl ReattributeForm {
    fn parse(&self) -> Result<Reattribution, AppError> {
        let mut shares = Vec::new();
        for (partner, share) in [
            (&self.partner_1, &self.share_1),
            (&self.partner_2, &self.share_2),
            (&self.partner_3, &self.share_3),
        ] {
            if partner.trim().is_empty() {
                continue;
            }
            shares.push(ShareInput {
                partner_id: partner
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("shares.partner_id", "choose a partner"))?,
                share_bp: number("shares.share_bp", share, 10_000)?,
                role: None,
            });
        }
        let program_id = match self.program_id.trim() {
            "" => None,
            text => Some(
                text.parse()
                    .map_err(|_| AppError::invalid("program_id", "choose a program"))?,
            ),
        };
        Ok(Reattribution {
            program_id,
            shares,
            reason: self.reason.clone(),
        })
    }
}

async fn reattribute(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<ReattributeForm>, FormRejection>,
) -> Result<Response, UiError> {
    let form = read(form, "re-attribution")?;
    admin.authorize_write(&form.csrf_token)?;
    let id: CustomerId = id.parse().map_err(|_| UiError::not_found("customer"))?;
    let input = form.parse()?;
    let done =
        attribution::reattribute(&app, admin.workspace_id(), &actor(&admin), id, input).await?;
    tracing::info!(customer_id = %id, changed = done.changed, "customer re-attributed");
    Ok(see_other(&format!("/admin/customers/{id}")))
}

struct DealRow {
    id: String,
    partner: String,
    program: String,
    customer: String,
    company: String,
    contact: String,
    notes: String,
    status: String,
    decision: String,
    created_at: String,
    pending: bool,
}

#[derive(Template)]
#[template(path = "admin/deals.html")]
struct DealsPage {
    layout: Layout,
    rows: Vec<DealRow>,
    pager: Pager,
    may_write: bool,
}

async fn deals(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let number = ListQuery::from(query).page_number();
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let deals = tx.deals(workspace_id, None, probe(number)).await?;
    let (deals, pager) = paginate(deals, number, "/admin/deals");
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    directory
        .complete(
            tx.as_mut(),
            workspace_id,
            deals.iter().map(|d| d.program_id).collect(),
            deals.iter().map(|d| d.partner_id).collect(),
        )
        .await?;
    let rows = deals
        .into_iter()
        .map(|deal| DealRow {
            id: deal.id.to_string(),
            partner: directory.partner_name(deal.partner_id),
            program: directory.program_name(deal.program_id),
            pending: deal.status == "pending",
            decision: match (deal.decided_at, &deal.decision_reason) {
                (Some(at), Some(reason)) => format!("{} ({reason})", when(at)),
                (Some(at), None) => when(at),
                _ => String::new(),
            },
            customer: deal.customer_external_id,
            company: deal.company,
            contact: format!("{} <{}>", deal.contact_name, deal.contact_email),
            notes: deal.notes,
            status: deal.status,
            created_at: when(deal.created_at),
        })
        .collect();
    let page = DealsPage {
        layout: layout("Deals", &admin, "/admin/deals"),
        rows,
        pager,
        may_write: admin.may_write(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecisionForm {
    csrf_token: String,
    decision: String,
    reason: String,
}

async fn decide(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Result<Response, UiError> {
    let form = read(form, "decision")?;
    admin.authorize_write(&form.csrf_token)?;
    let id: DealId = id.parse().map_err(|_| UiError::not_found("deal"))?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(UiError::bad_request("approve or reject the deal")),
    };
    attribution::decide_deal(
        &app,
        admin.workspace_id(),
        &actor(&admin),
        id,
        approve,
        &form.reason,
    )
    .await?;
    Ok(see_other("/admin/deals"))
}

struct CouponRow {
    code: String,
    partner: String,
    program: String,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/coupons.html")]
struct CouponsPage {
    layout: Layout,
    rows: Vec<CouponRow>,
    programs: Vec<SelectOption>,
    partners: Vec<SelectOption>,
    may_write: bool,
}

async fn coupons(State(app): State<App>, admin: AdminSession) -> Result<Response, UiError> {
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let coupons = tx.coupons(workspace_id, None).await?;
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    directory
        .complete(
            tx.as_mut(),
            workspace_id,
            coupons.iter().map(|c| c.program_id).collect(),
            coupons.iter().map(|c| c.partner_id).collect(),
        )
        .await?;
    let rows = coupons
        .into_iter()
        .map(|coupon| CouponRow {
            partner: directory.partner_name(coupon.partner_id),
            program: directory.program_name(coupon.program_id),
            code: coupon.code,
            created_at: when(coupon.created_at),
        })
        .collect();
    let page = CouponsPage {
        layout: layout("Coupons", &admin, "/admin/coupons"),
        rows,
        programs: directory.program_options(""),
        partners: directory.partner_options(""),
        may_write: admin.may_write(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CouponForm {
    csrf_token: String,
    code: String,
    program_id: String,
    partner_id: String,
}

async fn create_coupon(
    State(app): State<App>,
    admin: AdminSession,
    form: Result<Form<CouponForm>, FormRejection>,
) -> Result<Response, UiError> {
    let form = read(form, "coupon")?;
    admin.authorize_write(&form.csrf_token)?;
    let input = NewCoupon {
        code: form.code.clone(),
        program_id: form
            .program_id
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("program_id", "choose a program"))?,
        partner_id: form
            .partner_id
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("partner_id", "choose a partner"))?,
    };
    attribution::create_coupon(&app, admin.workspace_id(), input).await?;
    Ok(see_other("/admin/coupons"))
}
