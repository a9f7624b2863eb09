//! Commissions: what each partner earned (or had clawed back), with its explanation and state.

use super::super::query::{all, execute, insert, optional};
use super::super::rows::{self, opt_text};
use crate::*;
use rusqlite::{Connection, Row, params};
use tributary_core::commission::{CommissionState, Source};

fn commission_row(row: &Row<'_>) -> Result<CommissionRecord> {
    let kind: String = row.get("kind")?;
    let state: String = row.get("state")?;
    Ok(CommissionRecord {
        id: CommissionId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        customer_id: rows::opt_uuid(row, "customer_id")?.map(CustomerId),
        source: match row.get::<_, Option<String>>("source_key")? {
            Some(key) => Source::Key(key),
            None => Source::Event(EventId(rows::uuid(row, "source_event_id")?)),
        },
        caused_by_event_id: rows::opt_uuid(row, "caused_by_event_id")?.map(EventId),
        rule_id: row.get("rule_id")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        kind: match kind.as_str() {
            "earning" => CommissionKind::Earning,
            "clawback" => CommissionKind::Clawback,
            other => return Err(StoreError::Corrupt(format!("commission kind {other}"))),
        },
        amount: rows::money(row, "amount_minor", "currency")?,
        state: CommissionState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("commission state {state}")))?,
        hold_until: rows::ts(row, "hold_until")?,
        payout_batch_id: rows::opt_uuid(row, "payout_batch_id")?.map(PayoutBatchId),
        explanation: rows::json(row, "explanation_json")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

pub fn insert_commission(db: &Connection, c: &CommissionRecord) -> Result<()> {
    let explanation = serde_json::to_string(&c.explanation)
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    insert(
        db,
        "INSERT INTO commissions (id, workspace_id, program_id, partner_id, customer_id, source_event_id,
         source_key, caused_by_event_id, rule_id, plan_version_id, kind, amount_minor, currency, state,
         hold_until, payout_batch_id, explanation_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            c.id.to_string(),
            c.workspace_id.to_string(),
            c.program_id.to_string(),
            c.partner_id.to_string(),
            opt_text(c.customer_id.map(|id| id.0)),
            opt_text(c.source.event().map(|id| id.0)),
            c.source.key(),
            opt_text(c.caused_by_event_id.map(|id| id.0)),
            c.rule_id,
            c.plan_version_id.to_string(),
            c.kind.as_str(),
            c.amount.amount_minor,
            c.amount.currency.code(),
            c.state.as_str(),
            c.hold_until.millis(),
            opt_text(c.payout_batch_id.map(|id| id.0)),
            explanation,
            c.created_at.millis(),
        ],
    )
}

pub fn commission(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: CommissionId,
) -> Result<Option<CommissionRecord>> {
    optional(
        db,
        "SELECT * FROM commissions WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        commission_row,
    )
}

pub fn commissions(
    db: &Connection,
    workspace_id: WorkspaceId,
    filter: &CommissionFilter,
    page: Page,
) -> Result<Vec<CommissionRecord>> {
    let partner = filter.partner_id.map(|id| id.to_string());
    let customer = filter.customer_id.map(|id| id.to_string());
    let state = filter.state.map(CommissionState::as_str);
    all(
        db,
        "SELECT * FROM commissions WHERE workspace_id = ?
           AND (? IS NULL OR partner_id = ?) AND (? IS NULL OR customer_id = ?) AND (? IS NULL OR state = ?)
         ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        params![
            workspace_id.to_string(),
            partner,
            partner,
            customer,
            customer,
            state,
            state,
            page.limit,
            page.offset,
        ],
        commission_row,
    )
}

pub fn customer_commissions(
    db: &Connection,
    customer_id: CustomerId,
) -> Result<Vec<CommissionRecord>> {
    all(
        db,
        "SELECT * FROM commissions WHERE customer_id = ? ORDER BY created_at, id",
        [customer_id.to_string()],
        commission_row,
    )
}

/// A partner's commissions in a program keyed `from_key <= source_key < to_key` (click days,
/// bonus periods), oldest first.
pub fn keyed_commissions(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
    from_key: &str,
    to_key: &str,
) -> Result<Vec<CommissionRecord>> {
    all(
        db,
        "SELECT * FROM commissions WHERE program_id = ? AND partner_id = ?
           AND source_key >= ? AND source_key < ? ORDER BY created_at, id",
        params![
            program_id.to_string(),
            partner_id.to_string(),
            from_key,
            to_key
        ],
        commission_row,
    )
}

/// Moves a commission from `from` to `to`; false if it was not in `from` (someone else moved it).
pub fn set_commission_state(
    db: &Connection,
    id: CommissionId,
    from: CommissionState,
    to: CommissionState,
    payout_batch_id: Option<PayoutBatchId>,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE commissions SET state = ?, payout_batch_id = COALESCE(?, payout_batch_id) WHERE id = ? AND state = ?",
        params![
            to.as_str(),
            opt_text(payout_batch_id.map(|id| id.0)),
            id.to_string(),
            from.as_str(),
        ],
    )?;
    Ok(changed == 1)
}

pub fn approved_commissions(
    db: &Connection,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    currency: Currency,
) -> Result<Vec<CommissionRecord>> {
    all(
        db,
        "SELECT * FROM commissions WHERE workspace_id = ? AND program_id = ? AND currency = ? AND state = 'approved'
         ORDER BY partner_id, created_at, id",
        params![
            workspace_id.to_string(),
            program_id.to_string(),
            currency.code(),
        ],
        commission_row,
    )
}

pub fn batch_commissions(
    db: &Connection,
    batch_id: PayoutBatchId,
) -> Result<Vec<CommissionRecord>> {
    all(
        db,
        "SELECT * FROM commissions WHERE payout_batch_id = ? ORDER BY partner_id, created_at, id",
        [batch_id.to_string()],
        commission_row,
    )
}
