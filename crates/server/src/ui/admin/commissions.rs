//! `/admin/commissions`: every commission, filterable by state, each with a page that
//! explains its amount.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::explain::{CommissionRow, ExplanationView};
use crate::ui::page::{Fact, Layout, ListQuery, Pager, paginate, probe, render, short_id, when};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tributary_app::App;
use tributary_core::CommissionId;
use tributary_core::commission::{CommissionState, Source};
use tributary_store::CommissionFilter;

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/commissions", get(list))
        .route("/admin/commissions/{id}", get(show))
}

struct StateTab {
    href: String,
    label: &'static str,
    active: bool,
}

#[derive(Template)]
#[template(path = "admin/commissions.html")]
struct CommissionsPage {
    layout: Layout,
    tabs: Vec<StateTab>,
    rows: Vec<CommissionRow>,
    pager: Pager,
    unknown_state: bool,
}

fn tabs(selected: Option<CommissionState>) -> Vec<StateTab> {
    let mut tabs = vec![StateTab {
        href: "/admin/commissions".into(),
        label: "all",
        active: selected.is_none(),
    }];
    tabs.extend(CommissionState::ALL.into_iter().map(|state| StateTab {
        href: format!("/admin/commissions?state={}", state.as_str()),
        label: state.as_str(),
        active: selected == Some(state),
    }));
    tabs
}

async fn list(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let query = ListQuery::from(query);
    let number = query.page_number();
    let asked = query.state.as_deref().filter(|text| !text.is_empty());
    let state = asked.and_then(CommissionState::parse);
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    let filter = CommissionFilter {
        state,
        ..CommissionFilter::default()
    };
    let commissions = tx.commissions(workspace_id, &filter, probe(number)).await?;
    let base = match state {
        Some(state) => format!("/admin/commissions?state={}&", state.as_str()),
        None => "/admin/commissions".into(),
    };
    let (commissions, pager) = paginate(commissions, number, &base);
    let (program_ids, partner_ids) = commissions
        .iter()
        .map(|c| (c.program_id, c.partner_id))
        .unzip();
    directory
        .complete(tx.as_mut(), workspace_id, program_ids, partner_ids)
        .await?;
    let rows = commissions
        .iter()
        .map(|c| {
            CommissionRow::new(
                c,
                directory.partner_name(c.partner_id),
                directory.program_name(c.program_id),
            )
        })
        .collect();
    let page = CommissionsPage {
        layout: layout("Commissions", &admin, "/admin/commissions"),
        tabs: tabs(state),
        rows,
        pager,
        unknown_state: asked.is_some() && state.is_none(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "admin/commission.html")]
struct CommissionPage {
    layout: Layout,
    facts: Vec<Fact>,
    explanation: ExplanationView,
}

async fn show(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id: CommissionId = id.parse().map_err(|_| UiError::not_found("commission"))?;
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let commission = tx
        .commission(workspace_id, id)
        .await?
        .ok_or_else(|| UiError::not_found("commission"))?;
    let partner = tx
        .partner(workspace_id, commission.partner_id)
        .await?
        .map(|partner| format!("{} <{}>", partner.name, partner.email))
        .unwrap_or_else(|| short_id(commission.partner_id));
    let program = tx
        .program(workspace_id, commission.program_id)
        .await?
        .map(|program| program.name)
        .unwrap_or_else(|| short_id(commission.program_id));
    let customer = match commission.customer_id {
        Some(customer_id) => tx
            .customer(workspace_id, customer_id)
            .await?
            .map(|customer| customer.external_id)
            .unwrap_or_else(|| short_id(customer_id)),
        None => "none (owed for a partner's clicks or a bonus, not a customer)".into(),
    };
    let mut facts = vec![
        Fact::new("Amount", commission.amount.to_string()),
        Fact::new("State", commission.state.as_str()),
        Fact::new("Kind", commission.kind.as_str()),
        Fact::new("Partner", partner),
        Fact::new("Program", program),
        Fact::new("Customer", customer),
        Fact::new(
            "Source",
            match &commission.source {
                Source::Event(id) => format!("event {}", short_id(id)),
                Source::Key(key) => key.clone(),
            },
        ),
        Fact::new("Created", when(commission.created_at)),
        Fact::new("Held until", when(commission.hold_until)),
        Fact::new("Id", commission.id.to_string()),
    ];
    if let Some(batch_id) = commission.payout_batch_id {
        facts.push(Fact::new("Payout batch", short_id(batch_id)));
    }
    let page = CommissionPage {
        layout: layout(
            &format!("Commission {}", short_id(commission.id)),
            &admin,
            "/admin/commissions",
        ),
        facts,
        explanation: ExplanationView::from(&commission.explanation),
    };
    Ok(render(StatusCode::OK, &page))
}
