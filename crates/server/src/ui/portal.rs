//! The partner portal under `/portal`: a partner's own links, commissions and balance, and
//! why each commission is what it is. Every query is scoped to the signed-in partner; a
//! commission of anyone else is "not found", never "forbidden", so ids leak nothing.

use super::error::UiError;
use super::explain::{CommissionRow, ExplanationView};
use super::page::{
    Area, Fact, Layout, ListQuery, NavItem, Pager, money, paginate, probe, render, short_id,
    site_origin, when,
};
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use tributary_app::App;
use tributary_core::{CommissionId, ProgramId};
use tributary_store::{CommissionFilter, Page, Tx};

/// Links shown on the portal at most: a partner has a handful, not thousands.
pub const MAX_PORTAL_LINKS: u32 = Page::MAX_LIMIT;

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal", get(home))
        .route("/portal/commissions/{id}", get(commission))
        .merge(super::portal_attribution::router())
        .merge(super::portal_postbacks::router())
        .route("/portal/{*rest}", get(not_found))
}

const NAV: [(&str, &str); 9] = [
    ("/portal", "Dashboard"),
    ("/portal/programs", "Programs"),
    ("/portal/customers", "Customers"),
    ("/portal/deals", "Deals"),
    ("/portal/library", "Library"),
    ("/portal/leaderboard", "Leaderboard"),
    ("/portal/postbacks", "Postbacks"),
    ("/portal/profile", "Profile"),
    ("/portal/support", "Support"),
];

fn layout(title: &str, partner: &PartnerSession) -> Layout {
    layout_at(title, partner, "/portal")
}

/// The layout of a portal page; `active` is the menu entry's path.
pub(super) fn layout_at(title: &str, partner: &PartnerSession, active: &str) -> Layout {
    Layout {
        nav: NAV
            .iter()
            .map(|(href, label)| NavItem {
                href,
                label,
                active: *href == active,
            })
            .collect(),
        signed_in_as: Some(partner.partner.name.clone()),
        logout_action: "/portal/logout",
        csrf_token: partner.session.csrf_token.clone(),
        ..Layout::bare(title, Area::Portal)
    }
}

/// Names of the programs a page mentions, looked up once each.
async fn program_names(
    tx: &mut dyn Tx,
    partner: &PartnerSession,
    ids: Vec<ProgramId>,
) -> Result<HashMap<ProgramId, String>, UiError> {
    let mut names = HashMap::new();
    for id in ids {
        if names.contains_key(&id) {
            continue;
        }
        let name = tx
            .program(partner.session.workspace_id, id)
            .await?
            .map(|program| program.name)
            .unwrap_or_else(|| short_id(id));
        names.insert(id, name);
    }
    Ok(names)
}

struct BalanceRow {
    currency: String,
    pending: String,
    approved: String,
    in_payout: String,
    paid: String,
}

struct LinkRow {
    code: String,
    tracking_url: String,
    program: String,
    clicks: i64,
    leads: i64,
    sales: i64,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    layout: Layout,
    partner_name: String,
    actions: Vec<super::portal_programs::ActionNotice>,
    perks: Vec<tributary_app::plans::Perks>,
    balances: Vec<BalanceRow>,
    links: Vec<LinkRow>,
    rows: Vec<CommissionRow>,
    pager: Pager,
}

async fn home(
    State(app): State<App>,
    partner: PartnerSession,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let number = ListQuery::from(query).page_number();
    home_page(&app, &partner, &headers, number)
        .await
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

async fn home_page(
    app: &App,
    partner: &PartnerSession,
    headers: &HeaderMap,
    number: u32,
) -> Result<Response, UiError> {
    let workspace_id = partner.session.workspace_id;
    let partner_id = partner.partner.id;
    let actions = super::portal_programs::action_notices(app, partner).await?;
    let mut tx = app.store.read().await?;
    let balances = tx
        .partner_balances(workspace_id, partner_id)
        .await?
        .into_iter()
        .map(|b| BalanceRow {
            currency: b.currency.to_string(),
            pending: money(b.pending_minor, b.currency),
            approved: money(b.approved_minor, b.currency),
            in_payout: money(b.in_payout_minor, b.currency),
            paid: money(b.paid_minor, b.currency),
        })
        .collect();
    let links = tx
        .links(
            workspace_id,
            Some(partner_id),
            Page::first(MAX_PORTAL_LINKS),
        )
        .await?;
    let filter = CommissionFilter {
        partner_id: Some(partner_id),
        ..CommissionFilter::default()
    };
    let commissions = tx.commissions(workspace_id, &filter, probe(number)).await?;
    let (commissions, pager) = paginate(commissions, number, "/portal");
    let program_ids = links
        .iter()
        .map(|s| s.link.program_id)
        .chain(commissions.iter().map(|c| c.program_id))
        .collect();
    let names = program_names(tx.as_mut(), partner, program_ids).await?;
    let name = |id: ProgramId| names.get(&id).cloned().unwrap_or_else(|| short_id(id));
    let origin = site_origin(headers);
    let links = links
        .into_iter()
        .map(|stats| LinkRow {
            tracking_url: format!("{origin}/r/{}", stats.link.code),
            program: name(stats.link.program_id),
            code: stats.link.code,
            clicks: stats.clicks,
            leads: stats.leads,
            sales: stats.sales,
        })
        .collect();
    let rows = commissions
        .iter()
        .map(|c| CommissionRow::new(c, String::new(), name(c.program_id)))
        .collect();
    let perks = tributary_app::plans::perks(app, partner.partner.workspace_id, partner.partner.id)
        .await?
        .into_iter()
        .filter(|entry| entry.tier.is_some() || !entry.by_tier.is_empty())
        .collect();
    let page = HomePage {
        layout: layout("Dashboard", partner),
        partner_name: partner.partner.name.clone(),
        actions,
        perks,
        balances,
        links,
        rows,
        pager,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "portal/commission.html")]
struct CommissionPage {
    layout: Layout,
    facts: Vec<Fact>,
    explanation: ExplanationView,
}

async fn commission(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
) -> Response {
    commission_page(&app, &partner, &id)
        .await
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

async fn commission_page(
    app: &App,
    partner: &PartnerSession,
    id: &str,
) -> Result<Response, UiError> {
    let id: CommissionId = id.parse().map_err(|_| UiError::not_found("commission"))?;
    let mut tx = app.store.read().await?;
    let commission = tx
        .commission(partner.session.workspace_id, id)
        .await?
        .filter(|commission| commission.partner_id == partner.partner.id)
        .ok_or_else(|| UiError::not_found("commission"))?;
    let program = program_names(tx.as_mut(), partner, vec![commission.program_id])
        .await?
        .remove(&commission.program_id)
        .unwrap_or_default();
    let facts = vec![
        Fact::new("Amount", commission.amount.to_string()),
        Fact::new("State", commission.state.as_str()),
        Fact::new("Kind", commission.kind.as_str()),
        Fact::new("Program", program),
        Fact::new("Created", when(commission.created_at)),
        Fact::new("Held until", when(commission.hold_until)),
    ];
    let page = CommissionPage {
        layout: layout("Why this amount?", partner),
        facts,
        explanation: ExplanationView::from(&commission.explanation),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn not_found(_partner: PartnerSession) -> UiError {
    UiError::not_found("page").in_area(Area::Portal)
}
