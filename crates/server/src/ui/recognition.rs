//! Recognition: the portal's leaderboard (this quarter's top partners by net revenue in each
//! of the partner's programs, names shown only for partners who opted in, the partner's own
//! row marked, and what their next tier takes) and a program's public recognition page
//! (`/recognition/{slug}`: the last full quarter's and this quarter's top partners, only
//! those who opted in).

use super::error::UiError;
use super::page::{Area, Layout, render};
use super::portal::layout_at;
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tributary_app::App;
use tributary_app::lifecycle::content::enrollments_of;
use tributary_app::lifecycle::lifecycle_of;
use tributary_app::lifecycle::program::public_program;
use tributary_app::lifecycle::tiers::{self, quarter_label, quarter_of};

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal/leaderboard", get(portal_board))
        .route("/recognition/{slug}", get(public_board))
}

struct Row {
    rank: usize,
    name: String,
    revenue: String,
    customers: i64,
    you: bool,
}

struct Criterion {
    label: String,
    target: String,
    actual: String,
    met: bool,
}

struct Board {
    program: String,
    quarter: String,
    rows: Vec<Row>,
    tier: String,
    next_tier: Option<String>,
    criteria: Vec<Criterion>,
    window_days: u32,
}

#[derive(Template)]
#[template(path = "portal/leaderboard.html")]
struct PortalPage {
    layout: Layout,
    boards: Vec<Board>,
}

fn describe(criterion: &str, value: i64, currency: tributary_core::Currency) -> (String, String) {
    match criterion {
        "revenue_minor" => (
            "Net revenue".into(),
            tributary_core::Money::new(value, currency).to_string(),
        ),
        "retained_customers" => ("Paying customers".into(), value.to_string()),
        "conversion_rate_bp" => (
            "Conversion rate".into(),
            format!("{}.{:02}%", value / 100, value % 100),
        ),
        "training_completed" => (
            "Training finished".into(),
            if value > 0 { "yes" } else { "no" }.into(),
        ),
        other => (other.to_string(), value.to_string()),
    }
}

async fn portal_board(
    State(app): State<App>,
    partner: PartnerSession,
) -> Result<Response, UiError> {
    let ws = partner.session.workspace_id;
    let now = app.now();
    let (from, to) = quarter_of(now);
    let mut tx = app.store.read().await?;
    let enrollments = enrollments_of(tx.as_mut(), ws, partner.partner.id).await?;
    let mut boards = Vec::new();
    for enrollment in enrollments {
        let Some(program) = tx.program(ws, enrollment.program_id).await? else {
            continue;
        };
        let leaders = tiers::leaderboard(tx.as_mut(), &program, from, to).await?;
        let rows = leaders
            .into_iter()
            .map(|leader| {
                let you = leader.partner_id == partner.partner.id;
                Row {
                    rank: leader.rank,
                    name: match (you, leader.shown_as) {
                        (true, _) => "You".into(),
                        (false, Some(name)) => name,
                        (false, None) => "A partner".into(),
                    },
                    revenue: leader.revenue.to_string(),
                    customers: leader.customers,
                    you,
                }
            })
            .collect();
        let ladder = lifecycle_of(tx.as_mut(), program.id).await?.tiers;
        let (next_tier, criteria) = match ladder.next_after(enrollment.tier.as_deref()) {
            Some(next) => {
                let performance =
                    tiers::measure(tx.as_mut(), program.id, partner.partner.id, &ladder, now)
                        .await?;
                let criteria = next
                    .measure(&performance)
                    .into_iter()
                    .map(|measured| {
                        let (label, target) =
                            describe(measured.criterion, measured.target, program.currency);
                        let (_, actual) =
                            describe(measured.criterion, measured.actual, program.currency);
                        Criterion {
                            label,
                            target,
                            actual,
                            met: measured.met,
                        }
                    })
                    .collect();
                (Some(next.name.clone()), criteria)
            }
            None => (None, Vec::new()),
        };
        boards.push(Board {
            program: program.name,
            quarter: quarter_label(from),
            rows,
            tier: enrollment.tier.unwrap_or_else(|| "none".into()),
            next_tier: next_tier.filter(|_| !ladder.tiers.is_empty()),
            criteria,
            window_days: ladder.window_days,
        });
    }
    let page = PortalPage {
        layout: layout_at("Leaderboard", &partner, "/portal/leaderboard"),
        boards,
    };
    Ok(render(StatusCode::OK, &page))
}

struct Recognized {
    rank: usize,
    name: String,
}

struct Quarter {
    label: String,
    partners: Vec<Recognized>,
}

#[derive(Template)]
#[template(path = "public/recognition.html")]
struct PublicPage {
    layout: Layout,
    program: String,
    slug: String,
    quarters: Vec<Quarter>,
}

/// Partners shown publicly per quarter at most.
const PUBLIC_TOP: usize = 10;

async fn public_board(
    State(app): State<App>,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    let public = public_program(&app, &slug)
        .await
        .map_err(|error| UiError::from(error).in_area(Area::Portal))?;
    let now = app.now();
    let (this_start, this_end) = quarter_of(now);
    let (last_start, _) = quarter_of(this_start.plus_millis(-1));
    let mut tx = app.store.read().await?;
    let mut quarters = Vec::new();
    for (from, to) in [(last_start, this_start), (this_start, this_end)] {
        let leaders = tiers::leaderboard(tx.as_mut(), &public.program, from, to).await?;
        quarters.push(Quarter {
            label: quarter_label(from),
            partners: leaders
                .into_iter()
                .filter_map(|leader| {
                    leader.shown_as.map(|name| Recognized {
                        rank: leader.rank,
                        name,
                    })
                })
                .take(PUBLIC_TOP)
                .collect(),
        });
    }
    let page = PublicPage {
        layout: Layout::bare(
            format!("{}: top partners", public.program.name),
            Area::Portal,
        ),
        program: public.program.name,
        slug: public.row.slug,
        quarters,
    };
    Ok(render(StatusCode::OK, &page))
}
