//! `/admin/customers` and `/admin/events`: what the integration reported, read-only.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::page::{Layout, ListQuery, Pager, paginate, probe, render, when};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tributary_app::App;

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/customers", get(customers))
        .route("/admin/events", get(events))
}

struct CustomerRow {
    external_id: String,
    partner: String,
    program: String,
    bound_at: String,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct CustomersPage {
    layout: Layout,
    rows: Vec<CustomerRow>,
    pager: Pager,
}

async fn customers(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let number = ListQuery::from(query).page_number();
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    let customers = tx.customers(workspace_id, None, probe(number)).await?;
    let (customers, pager) = paginate(customers, number, "/admin/customers");
    let (program_ids, partner_ids) = customers
        .iter()
        .filter_map(|c| c.binding.as_ref())
        .map(|b| (b.program_id, b.partner_id))
        .unzip();
    directory
        .complete(tx.as_mut(), workspace_id, program_ids, partner_ids)
        .await?;
    let rows = customers
        .into_iter()
        .map(|customer| {
            let binding = customer.binding.as_ref();
            CustomerRow {
                partner: binding
                    .map(|b| directory.partner_name(b.partner_id))
                    .unwrap_or_default(),
                program: binding
                    .map(|b| directory.program_name(b.program_id))
                    .unwrap_or_default(),
                bound_at: binding.map(|b| when(b.bound_at)).unwrap_or_default(),
                created_at: when(customer.created_at),
                external_id: customer.external_id,
            }
        })
        .collect();
    let page = CustomersPage {
        layout: layout("Customers", &admin, "/admin/customers"),
        rows,
        pager,
    };
    Ok(render(StatusCode::OK, &page))
}

struct EventRow {
    received_at: String,
    occurred_at: String,
    kind: &'static str,
    customer: String,
    amount: String,
    invoice_id: String,
    partner: String,
}

#[derive(Template)]
#[template(path = "admin/events.html")]
struct EventsPage {
    layout: Layout,
    rows: Vec<EventRow>,
    pager: Pager,
}

async fn events(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let number = ListQuery::from(query).page_number();
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    let events = tx.events(workspace_id, probe(number)).await?;
    let (events, pager) = paginate(events, number, "/admin/events");
    let partner_ids = events.iter().filter_map(|e| e.partner_id).collect();
    directory
        .complete(tx.as_mut(), workspace_id, Vec::new(), partner_ids)
        .await?;
    let rows = events
        .into_iter()
        .map(|event| EventRow {
            received_at: when(event.received_at),
            occurred_at: when(event.facts.occurred_at),
            kind: event.facts.kind.as_str(),
            amount: event
                .facts
                .amount
                .map(|amount| amount.to_string())
                .unwrap_or_default(),
            invoice_id: event.facts.invoice_id.unwrap_or_default(),
            partner: event
                .partner_id
                .map(|id| directory.partner_name(id))
                .unwrap_or_default(),
            customer: event.facts.customer_external_id,
        })
        .collect();
    let page = EventsPage {
        layout: layout("Events", &admin, "/admin/events"),
        rows,
        pager,
    };
    Ok(render(StatusCode::OK, &page))
}
