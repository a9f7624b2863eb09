//! The admin area under `/admin`: the overview and one module per resource. Every page
//! needs an [`AdminSession`]; every POST checks the CSRF token and refuses viewers.

mod activity;
mod attribution;
mod commissions;
mod links;
mod partnering;
mod partners;
mod payouts;
mod plans;
mod programs;
mod recruitment;
mod support;

/// The admin routes that take files, mounted outside the general body limit.
pub fn upload_router() -> Router<App> {
    recruitment::upload_router()
        .merge(partnering::upload_router())
        .merge(support::upload_router())
}

use super::page::{Area, Layout, MAX_SELECT_OPTIONS, NavItem, SelectOption, render, short_id};
use super::session::AdminSession;
use crate::ui::error::UiError;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use std::collections::HashMap;
use tributary_app::App;
use tributary_core::{PartnerId, ProgramId, WorkspaceId};
use tributary_store::{Page, Partner, Program, Tx};

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/{*rest}", get(not_found))
        .merge(programs::router())
        .merge(partners::router())
        .merge(links::router())
        .merge(activity::router())
        .merge(commissions::router())
        .merge(payouts::router())
        .merge(plans::router())
        .merge(attribution::router())
        .merge(recruitment::router())
        .merge(partnering::router())
        .merge(support::router())
}

const NAV: [(&str, &str); 13] = [
    ("/admin", "Overview"),
    ("/admin/programs", "Programs"),
    ("/admin/applications", "Applications"),
    ("/admin/partners", "Partners"),
    ("/admin/links", "Links"),
    ("/admin/customers", "Customers"),
    ("/admin/deals", "Deals"),
    ("/admin/coupons", "Coupons"),
    ("/admin/events", "Events"),
    ("/admin/commissions", "Commissions"),
    ("/admin/payouts", "Payouts"),
    ("/admin/emails", "Emails"),
    ("/admin/support", "Support"),
];

/// The layout of an admin page; `active` is the menu entry's path.
pub fn layout(title: &str, admin: &AdminSession, active: &str) -> Layout {
    Layout {
        nav: NAV
            .iter()
            .map(|(href, label)| NavItem {
                href,
                label,
                active: *href == active,
            })
            .collect(),
        signed_in_as: Some(format!(
            "{} ({})",
            admin.user.email,
            admin.user.role.as_str()
        )),
        logout_action: "/admin/logout",
        csrf_token: admin.session.csrf_token.clone(),
        ..Layout::bare(title, Area::Admin)
    }
}

/// Programs and partners by id, for names in listings and options in selects. Holds the
/// first [`MAX_SELECT_OPTIONS`] of each; [`Directory::complete`] fetches any others a page
/// shows.
pub struct Directory {
    programs: Vec<Program>,
    partners: Vec<Partner>,
    program_names: HashMap<ProgramId, String>,
    partner_names: HashMap<PartnerId, String>,
}

impl Directory {
    pub async fn load(tx: &mut dyn Tx, workspace_id: WorkspaceId) -> Result<Directory, UiError> {
        let programs = tx
            .programs(workspace_id, Page::first(MAX_SELECT_OPTIONS))
            .await?;
        let partners = tx
            .partners(workspace_id, Page::first(MAX_SELECT_OPTIONS))
            .await?;
        Ok(Directory {
            program_names: programs.iter().map(|p| (p.id, p.name.clone())).collect(),
            partner_names: partners.iter().map(|p| (p.id, p.name.clone())).collect(),
            programs,
            partners,
        })
    }

    /// Looks up names the first page of each did not include.
    pub async fn complete(
        &mut self,
        tx: &mut dyn Tx,
        workspace_id: WorkspaceId,
        program_ids: Vec<ProgramId>,
        partner_ids: Vec<PartnerId>,
    ) -> Result<(), UiError> {
        for id in program_ids {
            if !self.program_names.contains_key(&id)
                && let Some(program) = tx.program(workspace_id, id).await?
            {
                self.program_names.insert(id, program.name);
            }
        }
        for id in partner_ids {
            if !self.partner_names.contains_key(&id)
                && let Some(partner) = tx.partner(workspace_id, id).await?
            {
                self.partner_names.insert(id, partner.name);
            }
        }
        Ok(())
    }

    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }

    pub fn program_name(&self, id: ProgramId) -> String {
        self.program_names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| short_id(id))
    }

    pub fn partner_name(&self, id: PartnerId) -> String {
        self.partner_names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| short_id(id))
    }

    pub fn program_options(&self, selected: &str) -> Vec<SelectOption> {
        self.programs
            .iter()
            .map(|program| {
                let value = program.id.to_string();
                SelectOption {
                    selected: value == selected,
                    label: format!("{} ({})", program.name, program.currency),
                    value,
                }
            })
            .collect()
    }

    pub fn partner_options(&self, selected: &str) -> Vec<SelectOption> {
        self.partners
            .iter()
            .map(|partner| {
                let value = partner.id.to_string();
                SelectOption {
                    selected: value == selected,
                    label: format!("{} <{}>", partner.name, partner.email),
                    value,
                }
            })
            .collect()
    }
}

struct OverviewCard {
    href: &'static str,
    title: &'static str,
    description: &'static str,
    count: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    layout: Layout,
    workspace_name: String,
    cards: Vec<OverviewCard>,
    has_programs: bool,
}

/// A bounded count: `200+` when the first page was full.
fn count(rows: usize) -> String {
    if rows >= MAX_SELECT_OPTIONS as usize {
        format!("{MAX_SELECT_OPTIONS}+")
    } else {
        rows.to_string()
    }
}

async fn overview(State(app): State<App>, admin: AdminSession) -> Result<Response, UiError> {
    let mut tx = app.store.read().await?;
    let workspace_name = tx
        .workspace(admin.workspace_id())
        .await?
        .map(|workspace| workspace.name)
        .unwrap_or_default();
    let directory = Directory::load(tx.as_mut(), admin.workspace_id()).await?;
    let cards = vec![
        OverviewCard {
            href: "/admin/programs",
            title: "Programs",
            description: "What partners are paid for: destination, currency, hold and plan.",
            count: Some(count(directory.programs().len())),
        },
        OverviewCard {
            href: "/admin/partners",
            title: "Partners",
            description: "Who promotes you, and which programs they are enrolled in.",
            count: Some(count(directory.partners().len())),
        },
        OverviewCard {
            href: "/admin/links",
            title: "Links",
            description: "Tracking links with their clicks, leads and sales.",
            count: None,
        },
        OverviewCard {
            href: "/admin/customers",
            title: "Customers",
            description: "Customers reported by your integration and who referred them.",
            count: None,
        },
        OverviewCard {
            href: "/admin/events",
            title: "Events",
            description: "Leads, sales, renewals and refunds as they arrived.",
            count: None,
        },
        OverviewCard {
            href: "/admin/commissions",
            title: "Commissions",
            description: "Every commission by state, each explaining its amount.",
            count: None,
        },
        OverviewCard {
            href: "/admin/payouts",
            title: "Payouts",
            description: "Batch approved balances, export for PayPal, mark paid.",
            count: None,
        },
    ];
    let page = OverviewPage {
        layout: layout("Overview", &admin, "/admin"),
        workspace_name,
        has_programs: !directory.programs().is_empty(),
        cards,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn not_found(_admin: AdminSession) -> UiError {
    UiError::not_found("page")
}
