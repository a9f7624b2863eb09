//! `/admin/customers`, a customer's conversion path (`/admin/customers/{id}`) and
//! `/admin/events`: what the integration reported, read-only.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::page::{
    Fact, Layout, ListQuery, Pager, SelectOption, paginate, probe, render, short_id, when,
};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tributary_app::App;
use tributary_core::CustomerId;
use tributary_core::attribution::{Touch, bound_credits};
use tributary_core::multitouch::{self, Channel, NoShare, TouchPoint};

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/customers", get(customers))
        .route("/admin/customers/{id}", get(customer))
        .route("/admin/events", get(events))
}

struct CustomerRow {
    id: String,
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
                id: customer.id.to_string(),
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

/// One touch on a customer's conversion path.
struct TouchRow {
    at: String,
    partner: String,
    channel: &'static str,
    /// The link, coupon code, `via` code, deal or reason the touch carried.
    detail: String,
    /// Why it counts or not for the credit.
    counted: String,
    share: String,
    role: String,
}

struct CreditRow {
    partner: String,
    share: String,
    role: String,
    channel: &'static str,
    since: String,
}

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/customer.html")]
struct CustomerPage {
    layout: Layout,
    facts: Vec<Fact>,
    credits: Vec<CreditRow>,
    touches: Vec<TouchRow>,
    audit: Vec<AuditRow>,
    why: String,
    customer_id: String,
    /// Bound already: the program is fixed; otherwise the form names one.
    bound: bool,
    programs: Vec<SelectOption>,
    partners: Vec<SelectOption>,
    may_write: bool,
}

/// The conversion path: every touch in order, whether it counted, and the credit each
/// partner holds and why. The touches' shares are worked out again by the program's model
/// at the moment the customer was bound; the credits are those recorded then (or by an
/// admin's re-attribution since).
async fn customer(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id: CustomerId = id.parse().map_err(|_| UiError::not_found("customer"))?;
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let customer = tx
        .customer(workspace_id, id)
        .await?
        .ok_or_else(|| UiError::not_found("customer"))?;
    let touches = tx.touches(customer.id).await?;
    let recorded = tx.customer_shares(customer.id).await?;
    let audit = tx
        .audit_entries(workspace_id, &format!("customer:{}", customer.id))
        .await?;
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    let binding = customer.binding.clone();
    let program = match &binding {
        Some(binding) => tx.program(workspace_id, binding.program_id).await?,
        None => None,
    };
    directory
        .complete(
            tx.as_mut(),
            workspace_id,
            binding.iter().map(|b| b.program_id).collect(),
            touches
                .iter()
                .map(|t| t.partner_id)
                .chain(recorded.iter().map(|s| s.partner_id))
                .collect(),
        )
        .await?;
    let mut facts = vec![
        Fact::new("Customer id", customer.external_id.clone()),
        Fact::new("First seen", when(customer.created_at)),
    ];
    let mut shares = Vec::new();
    let mut credits = Vec::new();
    let why = match (&binding, &program) {
        (Some(binding), Some(program)) => {
            let settings = &program.attribution;
            facts.push(Fact::new("Program", program.name.clone()));
            facts.push(Fact::new("Model", settings.model.to_string()));
            facts.push(Fact::new(
                "Precedence",
                precedence_text(&settings.precedence),
            ));
            facts.push(Fact::new("Window", format!("{} days", program.window_days)));
            facts.push(Fact::new("Bound at", when(binding.bound_at)));
            for credit in bound_credits(
                binding,
                &recorded,
                settings.model.name(),
                program.window_days,
            ) {
                credits.push(CreditRow {
                    partner: directory.partner_name(credit.partner_id),
                    share: crate::ui::explain::percent(credit.share_bp),
                    role: credit.role.clone(),
                    channel: recorded
                        .iter()
                        .find(|share| share.partner_id == credit.partner_id)
                        .map_or_else(
                            || channel_of(&touches, credit.click_id.as_deref()),
                            |share| share.channel.as_str(),
                        ),
                    since: credit.touched_at.map(when).unwrap_or_default(),
                });
            }
            let points: Vec<TouchPoint> = touches
                .iter()
                .map(|touch| TouchPoint {
                    id: touch.id.clone(),
                    partner_id: touch.partner_id,
                    channel: touch.channel,
                    at: touch.at,
                    is_bot: touch.is_bot,
                })
                .collect();
            match multitouch::shares(&program.attribution(), &points, binding.bound_at) {
                Ok(found) => {
                    shares = found;
                    format!(
                        "{}: the human touches within the program's {}-day window before the first credited event ({}) count, only those of the strongest channel present ({}); the partners share 100% in basis points by the model. Later sales, renewals and refunds follow these credits.",
                        settings.model,
                        program.window_days,
                        when(binding.bound_at),
                        precedence_text(&settings.precedence),
                    )
                }
                Err(NoShare::NoTouch | NoShare::OnlyBotTouches | NoShare::OutsideWindow) => {
                    "the credit came with the event itself (its click id) or from an admin, not from the touches recorded.".into()
                }
            }
        }
        _ => "not attributed: no human touch within a program's window came before its events."
            .into(),
    };
    let window_start = binding
        .as_ref()
        .zip(program.as_ref())
        .map(|(binding, program)| binding.bound_at.minus_days(program.window_days));
    let rows = touches
        .iter()
        .enumerate()
        .map(|(index, touch)| {
            let share = shares.iter().find(|share| share.touches.contains(&index));
            let counted = if touch.is_bot {
                "no: a bot".to_string()
            } else if let Some(binding) = &binding {
                if touch.at > binding.bound_at {
                    "no: after the binding".into()
                } else if window_start.is_some_and(|start| touch.at < start) {
                    "no: outside the window".into()
                } else if share.is_none() {
                    "no: a stronger channel counted".into()
                } else {
                    "yes".into()
                }
            } else {
                "no binding".into()
            };
            TouchRow {
                at: when(touch.at),
                partner: directory.partner_name(touch.partner_id),
                channel: touch.channel.as_str(),
                detail: touch
                    .detail
                    .clone()
                    .or_else(|| touch.link_id.map(short_id))
                    .unwrap_or_default(),
                counted,
                share: share
                    .map(|s| crate::ui::explain::percent(s.share_bp))
                    .unwrap_or_default(),
                role: share
                    .map(|s| s.role.as_str().to_string())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let page = CustomerPage {
        layout: layout(
            &format!("Customer {}", customer.external_id),
            &admin,
            "/admin/customers",
        ),
        customer_id: customer.id.to_string(),
        bound: binding.is_some(),
        programs: directory.program_options(""),
        partners: directory.partner_options(""),
        may_write: admin.may_write(),
        facts,
        credits,
        touches: rows,
        audit: audit
            .into_iter()
            .map(|entry| AuditRow {
                at: when(entry.at),
                actor: entry.actor,
                action: entry.action,
                reason: entry.reason,
            })
            .collect(),
        why,
    };
    Ok(render(StatusCode::OK, &page))
}

pub(super) fn precedence_text(precedence: &[Channel]) -> String {
    if precedence.is_empty() {
        return "every channel the same".into();
    }
    let listed: Vec<&str> = precedence.iter().map(|c| c.as_str()).collect();
    let rest: Vec<&str> = Channel::ALL
        .iter()
        .filter(|c| !precedence.contains(c))
        .map(|c| c.as_str())
        .collect();
    if rest.is_empty() {
        listed.join(" > ")
    } else {
        format!("{} > {}", listed.join(" > "), rest.join(" = "))
    }
}

fn channel_of(touches: &[Touch], touch_id: Option<&str>) -> &'static str {
    touches
        .iter()
        .find(|touch| Some(touch.id.as_str()) == touch_id)
        .map_or(Channel::Link.as_str(), |touch| touch.channel.as_str())
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
