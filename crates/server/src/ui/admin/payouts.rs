//! `/admin/payouts`: batch each program's approved balances, download a batch as PayPal
//! Payouts CSV, and mark it paid with the rail's reference.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::page::{
    Layout, ListQuery, Pager, form_status, is_form_error, money, paginate, probe, render,
    see_other, short_id, when,
};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::{App, AppError, payouts};
use tributary_core::{PayoutBatchId, ProgramId};
use tributary_store::PayoutState;

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/payouts", get(list).post(create))
        .route("/admin/payouts/{id}/paypal.csv", get(csv))
        .route("/admin/payouts/{id}/mark-paid", post(mark_paid))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateForm {
    csrf_token: String,
    program_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MarkPaidForm {
    csrf_token: String,
    reference: String,
}

struct ProgramRow {
    id: String,
    name: String,
    min_payout: String,
    /// Why the last batch attempt for this program made nothing.
    notice: Option<String>,
}

struct BatchRow {
    id: String,
    short_id: String,
    program: String,
    total: String,
    item_count: i64,
    state: &'static str,
    is_paid: bool,
    reference: String,
    created_at: String,
    paid_at: String,
    /// The refused mark-paid attempt's message and input.
    error: Option<String>,
    reference_input: String,
}

#[derive(Template)]
#[template(path = "admin/payouts.html")]
struct PayoutsPage {
    layout: Layout,
    programs: Vec<ProgramRow>,
    rows: Vec<BatchRow>,
    pager: Pager,
    may_write: bool,
}

/// A refused form to show again: on which program or batch, with what message and input.
#[derive(Default)]
struct Refusal {
    program_id: Option<ProgramId>,
    batch_id: Option<PayoutBatchId>,
    message: String,
    reference: String,
}

async fn page(
    app: &App,
    admin: &AdminSession,
    number: u32,
    refusal: Refusal,
    status: StatusCode,
) -> Result<Response, UiError> {
    let workspace_id = admin.workspace_id();
    let mut tx = app.store.read().await?;
    let mut directory = Directory::load(tx.as_mut(), workspace_id).await?;
    let batches = tx.payout_batches(workspace_id, probe(number)).await?;
    let (batches, pager) = paginate(batches, number, "/admin/payouts");
    let program_ids = batches.iter().map(|b| b.program_id).collect();
    directory
        .complete(tx.as_mut(), workspace_id, program_ids, Vec::new())
        .await?;
    let programs = directory
        .programs()
        .iter()
        .map(|program| ProgramRow {
            id: program.id.to_string(),
            name: program.name.clone(),
            min_payout: money(program.min_payout_minor, program.currency),
            notice: (refusal.program_id == Some(program.id)).then(|| refusal.message.clone()),
        })
        .collect();
    let rows = batches
        .into_iter()
        .map(|batch| {
            let refused = refusal.batch_id == Some(batch.id);
            BatchRow {
                id: batch.id.to_string(),
                short_id: short_id(batch.id),
                program: directory.program_name(batch.program_id),
                total: money(batch.total_minor, batch.currency),
                item_count: batch.item_count,
                state: batch.state.as_str(),
                is_paid: batch.state == PayoutState::Paid,
                reference: batch.reference.unwrap_or_default(),
                created_at: when(batch.created_at),
                paid_at: batch.paid_at.map(when).unwrap_or_default(),
                error: refused.then(|| refusal.message.clone()),
                reference_input: if refused {
                    refusal.reference.clone()
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let page = PayoutsPage {
        layout: layout("Payouts", admin, "/admin/payouts"),
        programs,
        rows,
        pager,
        may_write: admin.may_write(),
    };
    Ok(render(status, &page))
}

async fn list(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let number = ListQuery::from(query).page_number();
    page(&app, &admin, number, Refusal::default(), StatusCode::OK).await
}

async fn create(
    State(app): State<App>,
    admin: AdminSession,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form.map_err(|_| UiError::bad_request("the payout form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let program_id: ProgramId = form
        .program_id
        .trim()
        .parse()
        .map_err(|_| UiError::not_found("program"))?;
    match payouts::create_batch(&app, admin.workspace_id(), program_id).await {
        Ok(Some(batch)) => {
            tracing::info!(
                batch_id = %batch.id,
                items = batch.item_count,
                total_minor = batch.total_minor,
                "payout batch created"
            );
            Ok(see_other("/admin/payouts"))
        }
        Ok(None) => {
            let refusal = Refusal {
                program_id: Some(program_id),
                message: "Nobody in this program has an approved balance at or above the \
                          minimum payout, so no batch was made."
                    .into(),
                ..Refusal::default()
            };
            page(&app, &admin, 1, refusal, StatusCode::CONFLICT).await
        }
        Err(error @ AppError::NotFound(_)) => Err(error.into()),
        Err(error) if is_form_error(&error) => {
            let refusal = Refusal {
                program_id: Some(program_id),
                message: crate::error::public_message(&error),
                ..Refusal::default()
            };
            page(&app, &admin, 1, refusal, form_status(&error)).await
        }
        Err(error) => Err(error.into()),
    }
}

async fn csv(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id: PayoutBatchId = id.parse().map_err(|_| UiError::not_found("payout batch"))?;
    let body = payouts::paypal_csv(&app, admin.workspace_id(), id).await?;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    // The id is a UUID: nothing in it needs quoting.
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("attachment; filename=\"payout-{id}.csv\""))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

async fn mark_paid(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<MarkPaidForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) =
        form.map_err(|_| UiError::bad_request("the mark-paid form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let id: PayoutBatchId = id.parse().map_err(|_| UiError::not_found("payout batch"))?;
    match payouts::mark_paid(&app, admin.workspace_id(), id, &form.reference).await {
        Ok(batch) => {
            tracing::info!(batch_id = %batch.id, "payout batch marked paid");
            Ok(see_other("/admin/payouts"))
        }
        Err(error @ AppError::NotFound(_)) => Err(error.into()),
        Err(error) if is_form_error(&error) => {
            let refusal = Refusal {
                batch_id: Some(id),
                message: crate::error::public_message(&error),
                reference: form.reference,
                ..Refusal::default()
            };
            page(&app, &admin, 1, refusal, form_status(&error)).await
        }
        Err(error) => Err(error.into()),
    }
}
