//! The partner's side of attribution in the portal: the customers they touched or are
//! credited for, each customer's touches that are theirs and their share, and the deals they
//! register. Everything is scoped to the signed-in partner.

use super::error::UiError;
use super::page::{
    Area, Layout, ListQuery, Pager, SelectOption, paginate, probe, render, see_other, short_id,
    when,
};
use super::portal::layout_at;
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tributary_app::attribution::{self, NewDeal};
use tributary_app::{App, AppError};
use tributary_core::CustomerId;
use tributary_store::Page;

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal/customers", get(customers))
        .route("/portal/customers/{id}", get(customer))
        .route("/portal/deals", get(deals).post(register_deal))
}

struct CustomerRow {
    id: String,
    external_id: String,
    share: String,
    role: String,
    since: String,
}

#[derive(Template)]
#[template(path = "portal/customers.html")]
struct CustomersPage {
    layout: Layout,
    rows: Vec<CustomerRow>,
    pager: Pager,
}

async fn customers(
    State(app): State<App>,
    partner: PartnerSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let number = ListQuery::from(query).page_number();
    customers_page(&app, &partner, number)
        .await
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

async fn customers_page(
    app: &App,
    partner: &PartnerSession,
    number: u32,
) -> Result<Response, UiError> {
    let workspace_id = partner.session.workspace_id;
    let mut tx = app.store.read().await?;
    let customers = tx
        .customers(workspace_id, Some(partner.partner.id), probe(number))
        .await?;
    let (customers, pager) = paginate(customers, number, "/portal/customers");
    let mut rows = Vec::with_capacity(customers.len());
    for customer in customers {
        let Some(path) = attribution::conversion_path(
            tx.as_mut(),
            workspace_id,
            customer.id,
            Some(partner.partner.id),
        )
        .await?
        else {
            continue;
        };
        let credit = path.credits.first();
        rows.push(CustomerRow {
            id: customer.id.to_string(),
            external_id: customer.external_id,
            share: credit
                .map(|c| super::explain::percent(c.share_bp))
                .unwrap_or_else(|| "none".into()),
            role: credit.map(|c| c.role.clone()).unwrap_or_default(),
            since: path.bound_at.map(when).unwrap_or_default(),
        });
    }
    let page = CustomersPage {
        layout: layout_at("Your customers", partner, "/portal/customers"),
        rows,
        pager,
    };
    Ok(render(StatusCode::OK, &page))
}

struct TouchRow {
    at: String,
    channel: &'static str,
    detail: String,
    bot: bool,
}

#[derive(Template)]
#[template(path = "portal/customer.html")]
struct CustomerPage {
    layout: Layout,
    share: String,
    role: String,
    model: String,
    touches: Vec<TouchRow>,
}

async fn customer(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
) -> Response {
    customer_page(&app, &partner, &id)
        .await
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

async fn customer_page(app: &App, partner: &PartnerSession, id: &str) -> Result<Response, UiError> {
    let id: CustomerId = id.parse().map_err(|_| UiError::not_found("customer"))?;
    let mut tx = app.store.read().await?;
    let path = attribution::conversion_path(
        tx.as_mut(),
        partner.session.workspace_id,
        id,
        Some(partner.partner.id),
    )
    .await?
    .ok_or_else(|| UiError::not_found("customer"))?;
    let credit = path.credits.first();
    let page = CustomerPage {
        layout: layout_at(
            &format!("Customer {}", path.external_id),
            partner,
            "/portal/customers",
        ),
        share: credit
            .map(|c| super::explain::percent(c.share_bp))
            .unwrap_or_else(|| "none: another partner is credited".into()),
        role: credit.map(|c| c.role.clone()).unwrap_or_default(),
        model: credit
            .map(|c| c.model.replace('_', " "))
            .unwrap_or_default(),
        touches: path
            .touches
            .iter()
            .map(|touch| TouchRow {
                at: when(touch.at),
                channel: touch.channel.as_str(),
                detail: touch
                    .detail
                    .clone()
                    .or_else(|| touch.link_id.map(short_id))
                    .unwrap_or_default(),
                bot: touch.is_bot,
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

struct DealRow {
    company: String,
    customer: String,
    program: String,
    status: String,
    reason: String,
    created_at: String,
}

#[derive(Template)]
#[template(path = "portal/deals.html")]
struct DealsPage {
    layout: Layout,
    rows: Vec<DealRow>,
    pager: Pager,
    programs: Vec<SelectOption>,
}

async fn deals(
    State(app): State<App>,
    partner: PartnerSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let number = ListQuery::from(query).page_number();
    deals_page(&app, &partner, number)
        .await
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

async fn deals_page(app: &App, partner: &PartnerSession, number: u32) -> Result<Response, UiError> {
    let workspace_id = partner.session.workspace_id;
    let mut tx = app.store.read().await?;
    let enrollments = tx
        .enrollments(
            workspace_id,
            Some(partner.partner.id),
            Page::first(Page::MAX_LIMIT),
        )
        .await?;
    let mut programs = Vec::new();
    for enrollment in enrollments {
        if let Some(program) = tx.program(workspace_id, enrollment.program_id).await? {
            programs.push(program);
        }
    }
    let name = |id| {
        programs
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| short_id(id), |p| p.name.clone())
    };
    let deals = tx
        .deals(workspace_id, Some(partner.partner.id), probe(number))
        .await?;
    let (deals, pager) = paginate(deals, number, "/portal/deals");
    let rows = deals
        .into_iter()
        .map(|deal| DealRow {
            program: name(deal.program_id),
            company: deal.company,
            customer: deal.customer_external_id,
            status: deal.status,
            reason: deal.decision_reason.unwrap_or_default(),
            created_at: when(deal.created_at),
        })
        .collect();
    let page = DealsPage {
        layout: layout_at("Your deals", partner, "/portal/deals"),
        rows,
        pager,
        programs: programs
            .iter()
            .map(|p| SelectOption {
                value: p.id.to_string(),
                label: p.name.clone(),
                selected: false,
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DealForm {
    csrf_token: String,
    program_id: String,
    customer_id: String,
    company: String,
    contact_name: String,
    contact_email: String,
    notes: String,
}

async fn register_deal(
    State(app): State<App>,
    partner: PartnerSession,
    form: Result<Form<DealForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) =
            form.map_err(|_| UiError::bad_request("the deal form could not be read"))?;
        partner.authorize(&form.csrf_token)?;
        let input = NewDeal {
            program_id: form
                .program_id
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("program_id", "choose a program"))?,
            customer_id: form.customer_id,
            company: form.company,
            contact_name: form.contact_name,
            contact_email: form.contact_email,
            notes: form.notes,
        };
        attribution::register_deal(
            &app,
            partner.session.workspace_id,
            partner.partner.id,
            input,
        )
        .await?;
        Ok::<_, UiError>(see_other("/portal/deals"))
    }
    .await;
    result
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}
