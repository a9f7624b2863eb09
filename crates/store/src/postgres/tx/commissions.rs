//! Commissions: what each partner earned (or had clawed back), with its explanation and state.

use super::super::query::{Db, all, execute, insert, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;
use tributary_core::commission::{CommissionState, Source};

fn commission_row(row: &Row) -> Result<CommissionRecord> {
    let kind: &str = rows::get(row, "kind")?;
    let state: &str = rows::get(row, "state")?;
    Ok(CommissionRecord {
        id: CommissionId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        customer_id: rows::opt_uuid(row, "customer_id")?.map(CustomerId),
        source: match rows::get::<Option<String>>(row, "source_key")? {
            Some(key) => Source::Key(key),
            None => Source::Event(EventId(rows::uuid(row, "source_event_id")?)),
        },
        caused_by_event_id: rows::opt_uuid(row, "caused_by_event_id")?.map(EventId),
        rule_id: rows::get(row, "rule_id")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        kind: match kind {
            "earning" => CommissionKind::Earning,
            "clawback" => CommissionKind::Clawback,
            other => return Err(StoreError::Corrupt(format!("commission kind {other}"))),
        },
        amount: rows::money(row, "amount_minor", "currency")?,
        state: CommissionState::parse(state)
            .ok_or_else(|| StoreError::Corrupt(format!("commission state {state}")))?,
        hold_until: rows::ts(row, "hold_until")?,
        payout_batch_id: rows::opt_uuid(row, "payout_batch_id")?.map(PayoutBatchId),
        explanation: rows::json(row, "explanation_json")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

pub async fn insert_commission(db: &Db, c: &CommissionRecord) -> Result<()> {
    let explanation = serde_json::to_string(&c.explanation)
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let id = c.id.as_uuid();
    let workspace_id = c.workspace_id.as_uuid();
    let program_id = c.program_id.as_uuid();
    let partner_id = c.partner_id.as_uuid();
    let customer_id = c.customer_id.map(|id| id.as_uuid());
    let source_event_id = c.source.event().map(|id| id.as_uuid());
    let source_key = c.source.key();
    let caused_by_event_id = c.caused_by_event_id.map(|id| id.as_uuid());
    let plan_version_id = c.plan_version_id.as_uuid();
    let kind = c.kind.as_str();
    let currency = c.amount.currency.code();
    let state = c.state.as_str();
    let hold_until = c.hold_until.millis();
    let payout_batch_id = c.payout_batch_id.map(|id| id.as_uuid());
    let created_at = c.created_at.millis();
    insert(
        db,
        "INSERT INTO commissions (id, workspace_id, program_id, partner_id, customer_id, source_event_id,
         source_key, caused_by_event_id, rule_id, plan_version_id, kind, amount_minor, currency, state,
         hold_until, payout_batch_id, explanation_json, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        &[
            &id,
            &workspace_id,
            &program_id,
            &partner_id,
            &customer_id,
            &source_event_id,
            &source_key,
            &caused_by_event_id,
            &c.rule_id,
            &plan_version_id,
            &kind,
            &c.amount.amount_minor,
            &currency,
            &state,
            &hold_until,
            &payout_batch_id,
            &explanation,
            &created_at,
        ],
    )
    .await
}

pub async fn commission(
    db: &Db,
    workspace_id: WorkspaceId,
    id: CommissionId,
) -> Result<Option<CommissionRecord>> {
    let workspace_id = workspace_id.as_uuid();
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM commissions WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id, &id],
        commission_row,
    )
    .await
}

pub async fn commissions(
    db: &Db,
    workspace_id: WorkspaceId,
    filter: &CommissionFilter,
    page: Page,
) -> Result<Vec<CommissionRecord>> {
    let workspace_id = workspace_id.as_uuid();
    let partner = filter.partner_id.map(|id| id.as_uuid());
    let customer = filter.customer_id.map(|id| id.as_uuid());
    let state = filter.state.map(CommissionState::as_str);
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT * FROM commissions WHERE workspace_id = $1
           AND ($2::UUID IS NULL OR partner_id = $2) AND ($3::UUID IS NULL OR customer_id = $3)
           AND ($4::TEXT IS NULL OR state = $4)
         ORDER BY created_at DESC, id LIMIT $5 OFFSET $6",
        &[&workspace_id, &partner, &customer, &state, &limit, &offset],
        commission_row,
    )
    .await
}

/// A partner's commissions in a program keyed `from_key <= source_key < to_key` (click days,
/// bonus periods), oldest first.
pub async fn keyed_commissions(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
    from_key: &str,
    to_key: &str,
) -> Result<Vec<CommissionRecord>> {
    let program_id = program_id.as_uuid();
    let partner_id = partner_id.as_uuid();
    all(
        db,
        "SELECT * FROM commissions WHERE program_id = $1 AND partner_id = $2
           AND source_key COLLATE \"C\" >= $3 AND source_key COLLATE \"C\" < $4
         ORDER BY created_at, id",
        &[&program_id, &partner_id, &from_key, &to_key],
        commission_row,
    )
    .await
}

pub async fn customer_commissions(
    db: &Db,
    customer_id: CustomerId,
) -> Result<Vec<CommissionRecord>> {
    let customer_id = customer_id.as_uuid();
    all(
        db,
        "SELECT * FROM commissions WHERE customer_id = $1 ORDER BY created_at, id",
        &[&customer_id],
        commission_row,
    )
    .await
}

/// Moves a commission from `from` to `to`; false if it was not in `from` (someone else moved it).
/// At READ COMMITTED a concurrent mover's update is waited for and the `state = from` test is
/// re-checked against the committed row, so only one caller ever sees `true`.
pub async fn set_commission_state(
    db: &Db,
    id: CommissionId,
    from: CommissionState,
    to: CommissionState,
    payout_batch_id: Option<PayoutBatchId>,
) -> Result<bool> {
    let to = to.as_str();
    let payout_batch_id = payout_batch_id.map(|id| id.as_uuid());
    let id = id.as_uuid();
    let from = from.as_str();
    let changed = execute(
        db,
        "UPDATE commissions SET state = $1, payout_batch_id = COALESCE($2::UUID, payout_batch_id)
         WHERE id = $3 AND state = $4",
        &[&to, &payout_batch_id, &id, &from],
    )
    .await?;
    Ok(changed == 1)
}

pub async fn approved_commissions(
    db: &Db,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    currency: Currency,
) -> Result<Vec<CommissionRecord>> {
    let workspace_id = workspace_id.as_uuid();
    let program_id = program_id.as_uuid();
    let currency = currency.code();
    all(
        db,
        "SELECT * FROM commissions
         WHERE workspace_id = $1 AND program_id = $2 AND currency = $3 AND state = 'approved'
         ORDER BY partner_id, created_at, id",
        &[&workspace_id, &program_id, &currency],
        commission_row,
    )
    .await
}

pub async fn batch_commissions(db: &Db, batch_id: PayoutBatchId) -> Result<Vec<CommissionRecord>> {
    let batch_id = batch_id.as_uuid();
    all(
        db,
        "SELECT * FROM commissions WHERE payout_batch_id = $1 ORDER BY partner_id, created_at, id",
        &[&batch_id],
        commission_row,
    )
    .await
}
