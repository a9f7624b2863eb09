//! Commissions, filterable, each explaining itself.

use super::{ApiQuery, Caller, listing, path_id, views};
use crate::error::{ApiError, ApiResult};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tributary_app::{App, AppError};
use tributary_core::commission::CommissionState;
use tributary_core::{CommissionId, CustomerId, PartnerId};
use tributary_store::{CommissionFilter, Page};

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/commissions", get(list))
        .route("/api/v1/commissions/{id}", get(show))
}

#[derive(Deserialize, Default)]
struct Filter {
    partner_id: Option<String>,
    customer_id: Option<String>,
    state: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(query): ApiQuery<Filter>,
) -> ApiResult<Response> {
    let parse_partner = |text: &str| {
        text.parse::<PartnerId>().map_err(|_| {
            ApiError(AppError::invalid(
                "partner_id",
                "partner_id must be a partner id",
            ))
        })
    };
    let asked = query
        .partner_id
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(parse_partner)
        .transpose()?;
    let partner_id = match (caller.partner_id, asked) {
        (Some(own), Some(other)) if own != other => {
            return Err(ApiError(AppError::NotFound("partner")));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let customer_id = query
        .customer_id
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.parse::<CustomerId>().map_err(|_| {
                ApiError(AppError::invalid(
                    "customer_id",
                    "customer_id must be a customer id",
                ))
            })
        })
        .transpose()?;
    let state = query
        .state
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(|text| {
            CommissionState::parse(text).ok_or_else(|| {
                ApiError(AppError::invalid(
                    "state",
                    "state must be pending, approved, in_payout, paid or reversed",
                ))
            })
        })
        .transpose()?;
    let page = Page::new(query.limit, query.offset);
    let probe = Page {
        limit: page.limit + 1,
        offset: page.offset,
    };
    let filter = CommissionFilter {
        partner_id,
        customer_id,
        state,
    };
    let rows = app
        .store
        .read()
        .await?
        .commissions(caller.workspace_id, &filter, probe)
        .await?;
    Ok(listing(page, rows, views::commission))
}

async fn show(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: CommissionId = path_id(&id, "commission")?;
    let commission = app
        .store
        .read()
        .await?
        .commission(caller.workspace_id, id)
        .await?;
    match commission {
        Some(c) if caller.can_see(c.partner_id) => {
            let mut value = views::commission(&c);
            value["explanation"] = serde_json::to_value(&c.explanation).unwrap_or_default();
            Ok(Json(value).into_response())
        }
        _ => Err(ApiError(AppError::NotFound("commission"))),
    }
}
