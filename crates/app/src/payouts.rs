//! Payouts: batch approved balances at or above the program's minimum, export the batch for
//! the rail (PayPal Payouts CSV), and mark it paid. Each step is one write transaction with
//! its ledger posting.

use crate::{App, AppError, AppResult, new_uuid};
use std::collections::BTreeMap;
use tributary_core::commission::CommissionState;
use tributary_core::ledger::Transaction;
use tributary_core::*;
use tributary_store::{PayoutBatch, PayoutItem, PayoutState, TransactionHeader};

/// Creates a batch of every partner whose approved balance in the program's currency is at
/// or above the program minimum (and above zero: a clawback can leave a balance negative,
/// and the next payout nets it). Returns `None` when nobody qualifies.
pub async fn create_batch(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
) -> AppResult<Option<PayoutBatch>> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    // Two admins pressing the button at once take turns; the second finds nothing left.
    tx.lock_key("payout", &format!("{workspace_id}:{program_id}"))
        .await?;
    let program = tx
        .program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let approved = tx
        .approved_commissions(workspace_id, program_id, program.currency)
        .await?;
    let mut by_partner: BTreeMap<PartnerId, Vec<&tributary_store::CommissionRecord>> =
        BTreeMap::new();
    for commission in &approved {
        by_partner
            .entry(commission.partner_id)
            .or_default()
            .push(commission);
    }
    let batch_id = PayoutBatchId(new_uuid());
    let mut items = Vec::new();
    for (partner_id, commissions) in by_partner {
        let net: i64 = commissions.iter().map(|c| c.amount.amount_minor).sum();
        if net <= 0 || net < program.min_payout_minor {
            continue;
        }
        let partner = tx
            .partner(workspace_id, partner_id)
            .await?
            .ok_or(AppError::NotFound("partner"))?;
        for commission in &commissions {
            if !tx
                .set_commission_state(
                    commission.id,
                    CommissionState::Approved,
                    CommissionState::InPayout,
                    Some(batch_id),
                )
                .await?
            {
                return Err(AppError::Conflict(
                    "a commission changed while the batch was built; try again".into(),
                ));
            }
        }
        items.push(PayoutItem {
            batch_id,
            partner_id,
            recipient: partner.payout_email.unwrap_or(partner.email),
            amount: Money::new(net, program.currency),
        });
    }
    if items.is_empty() {
        return Ok(None);
    }
    let total_minor = items.iter().map(|item| item.amount.amount_minor).sum();
    let batch = PayoutBatch {
        id: batch_id,
        workspace_id,
        program_id,
        currency: program.currency,
        total_minor,
        item_count: items.len() as i64,
        state: PayoutState::Created,
        reference: None,
        created_at: now,
        paid_at: None,
    };
    tx.insert_payout_batch(&batch, &items).await?;
    let lines: Vec<(PartnerId, Money)> = items
        .iter()
        .map(|item| (item.partner_id, item.amount))
        .collect();
    tx.insert_transaction(
        &header(workspace_id, "payout_batch", batch_id, now),
        &Transaction::payout_batch(&lines)?,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(batch))
}

fn header(
    workspace_id: WorkspaceId,
    kind: &str,
    batch_id: PayoutBatchId,
    now: Timestamp,
) -> TransactionHeader {
    TransactionHeader {
        id: TransactionId(new_uuid()),
        workspace_id,
        kind: kind.into(),
        source_type: "payout_batch".into(),
        source_id: batch_id.to_string(),
        idempotency_key: format!("{kind}:{batch_id}"),
        created_at: now,
    }
}

/// Marks a batch paid with the rail's reference: in transit → cash, commissions → paid.
/// Marking a paid batch again is a conflict, not a second posting.
pub async fn mark_paid(
    app: &App,
    workspace_id: WorkspaceId,
    batch_id: PayoutBatchId,
    reference: &str,
) -> AppResult<PayoutBatch> {
    let reference = reference.trim();
    if reference.is_empty() || reference.len() > 200 {
        return Err(AppError::invalid(
            "reference",
            "reference (the rail's batch or transaction id) needs 1 to 200 characters",
        ));
    }
    let now = app.now();
    let mut tx = app.store.write().await?;
    let batch = tx
        .payout_batch(workspace_id, batch_id)
        .await?
        .ok_or(AppError::NotFound("payout batch"))?;
    if !tx.mark_payout_batch_paid(batch_id, reference, now).await? {
        return Err(AppError::Conflict(
            "this payout batch is already marked paid".into(),
        ));
    }
    for commission in tx.batch_commissions(batch_id).await? {
        tx.set_commission_state(
            commission.id,
            CommissionState::InPayout,
            CommissionState::Paid,
            None,
        )
        .await?;
    }
    let items = tx.payout_items(batch_id).await?;
    let lines: Vec<(PartnerId, Money)> = items
        .iter()
        .map(|item| (item.partner_id, item.amount))
        .collect();
    tx.insert_transaction(
        &header(workspace_id, "payout_paid", batch_id, now),
        &Transaction::payout_paid(&lines)?,
    )
    .await?;
    tx.commit().await?;
    Ok(PayoutBatch {
        state: PayoutState::Paid,
        reference: Some(reference.to_string()),
        paid_at: Some(now),
        ..batch
    })
}

/// Decimal text of an amount in major units, as payment rails expect: `12.34`.
pub fn major_units(amount: Money) -> String {
    let text = amount.to_string();
    text.split_whitespace().next().unwrap_or("0").to_string()
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The PayPal Payouts CSV: no header; recipient, amount, currency, customer id (the
/// partner id, which PayPal echoes back), note.
pub async fn paypal_csv(
    app: &App,
    workspace_id: WorkspaceId,
    batch_id: PayoutBatchId,
) -> AppResult<String> {
    let mut tx = app.store.read().await?;
    let batch = tx
        .payout_batch(workspace_id, batch_id)
        .await?
        .ok_or(AppError::NotFound("payout batch"))?;
    let workspace = tx
        .workspace(workspace_id)
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    let items = tx.payout_items(batch.id).await?;
    let note = format!("{} partner commissions, batch {}", workspace.name, batch.id);
    let mut out = String::new();
    for item in items {
        out.push_str(
            &[
                csv_field(&item.recipient),
                major_units(item.amount),
                item.amount.currency.code().to_string(),
                item.partner_id.to_string(),
                csv_field(&note),
            ]
            .join(","),
        );
        out.push('\n');
    }
    Ok(out)
}
