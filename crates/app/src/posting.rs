//! Turning facts into ledger postings inside a write transaction: re-derive what a customer's
//! events owe (core), post the difference as commissions and balanced ledger transactions,
//! and schedule each pending commission's approval in the outbox. Also the approval itself.

use crate::{AppError, AppResult, new_uuid};
use tributary_core::attribution::Credit;
use tributary_core::commission::{self, CommissionState, Posted, Posting};
use tributary_core::engine::PartnerFacts;
use tributary_core::ledger::Transaction;
use tributary_core::*;
use tributary_store::{
    CommissionKind, CommissionRecord, Customer, Job, Program, TransactionHeader, Tx,
};

pub const JOB_APPROVE: &str = "approve_commission";

/// Posts whatever `customer`'s facts owe beyond what is posted. `caused_by` is the event
/// whose arrival triggered this. Returns the commissions written.
pub async fn converge_customer(
    tx: &mut dyn Tx,
    program: &Program,
    customer: &Customer,
    credit: &Credit,
    caused_by: EventId,
    now: Timestamp,
) -> AppResult<Vec<CommissionRecord>> {
    let version = tx
        .plan_version(program.plan_version_id)
        .await?
        .ok_or_else(|| AppError::Internal("program's plan version is missing".into()))?;
    let events = tx.customer_events(customer.id).await?;
    let existing = tx.customer_commissions(customer.id).await?;
    // This version's commissions of the rules settled per customer: the keys derived here.
    let per_customer_rule = |rule_id: &str| {
        version
            .plan
            .rules
            .iter()
            .any(|rule| rule.id == rule_id && !rule.needs_period())
    };
    let posted: Vec<Posted> = existing
        .iter()
        .filter(|c| c.plan_version_id == version.id && per_customer_rule(&c.rule_id))
        .map(|c| Posted {
            source_event_id: c.source_event_id,
            rule_id: c.rule_id.clone(),
            amount: c.amount,
            state: c.state,
            explanation: c.explanation.clone(),
        })
        .collect();
    let owed = commission::owed_for_customer(
        &version.plan,
        version.id,
        credit,
        &events,
        PartnerFacts::default(),
        now,
    );
    let deltas = commission::deltas(owed, &posted);

    let mut written = Vec::with_capacity(deltas.len());
    for delta in deltas {
        let same_key = |c: &&CommissionRecord| {
            c.source_event_id == delta.source_event_id && c.rule_id == delta.rule_id
        };
        let pending: Vec<&CommissionRecord> = existing
            .iter()
            .filter(same_key)
            .filter(|c| c.state == CommissionState::Pending)
            .collect();
        let id = CommissionId(new_uuid());
        let (kind, amount, state, hold_until, transaction, ledger_kind) = match delta.posting {
            Posting::Earn { amount } => {
                let hold_days = version
                    .plan
                    .safeguards
                    .hold_days
                    .unwrap_or(program.hold_days);
                let hold_until = now.plus_days(hold_days);
                (
                    CommissionKind::Earning,
                    amount,
                    CommissionState::Pending,
                    hold_until,
                    Transaction::earned(credit.partner_id, amount)?,
                    "earned",
                )
            }
            Posting::ClawPending {
                amount,
                reverses_all_pending,
            } => {
                let hold_until = pending.iter().map(|c| c.hold_until).max().unwrap_or(now);
                let state = if reverses_all_pending {
                    CommissionState::Reversed
                } else {
                    CommissionState::Pending
                };
                if reverses_all_pending {
                    for original in &pending {
                        let reversed = tx
                            .set_commission_state(
                                original.id,
                                CommissionState::Pending,
                                CommissionState::Reversed,
                                None,
                            )
                            .await?;
                        // Approval takes the customer's lock too, so this cannot happen;
                        // if it ever does, posting on a stale state would misfile money.
                        if !reversed {
                            return Err(AppError::Conflict(
                                "a commission of this customer changed while the event was processed; send it again".into(),
                            ));
                        }
                    }
                }
                (
                    CommissionKind::Clawback,
                    amount,
                    state,
                    hold_until,
                    Transaction::clawed_back_pending(credit.partner_id, amount.negate())?,
                    "clawback_pending",
                )
            }
            Posting::ClawPayable { amount } => (
                CommissionKind::Clawback,
                amount,
                CommissionState::Approved,
                now,
                Transaction::clawed_back_payable(credit.partner_id, amount.negate())?,
                "clawback_payable",
            ),
        };
        let record = CommissionRecord {
            id,
            workspace_id: program.workspace_id,
            program_id: program.id,
            partner_id: credit.partner_id,
            customer_id: customer.id,
            source_event_id: delta.source_event_id,
            caused_by_event_id: caused_by,
            rule_id: delta.rule_id.clone(),
            plan_version_id: version.id,
            kind,
            amount,
            state,
            hold_until,
            payout_batch_id: None,
            explanation: delta.explanation,
            created_at: now,
        };
        tx.insert_commission(&record).await?;
        tx.insert_transaction(
            &TransactionHeader {
                id: TransactionId(new_uuid()),
                workspace_id: program.workspace_id,
                kind: ledger_kind.into(),
                source_type: "commission".into(),
                source_id: id.to_string(),
                idempotency_key: format!("{ledger_kind}:{id}"),
                created_at: now,
            },
            &transaction,
        )
        .await?;
        if state == CommissionState::Pending {
            schedule_approval(tx, &record, now).await?;
        }
        written.push(record);
    }
    Ok(written)
}

async fn schedule_approval(
    tx: &mut dyn Tx,
    commission: &CommissionRecord,
    now: Timestamp,
) -> AppResult<()> {
    tx.enqueue_job(&Job {
        id: JobId(new_uuid()),
        workspace_id: commission.workspace_id,
        kind: JOB_APPROVE.into(),
        payload_json: serde_json::json!({ "commission_id": commission.id }).to_string(),
        dedupe_key: format!("{JOB_APPROVE}:{}", commission.id),
        run_at: commission.hold_until,
        attempts: 0,
        created_at: now,
    })
    .await?;
    Ok(())
}

/// Approves a pending commission whose hold has passed: pending → payable. A commission that
/// is no longer pending (reversed, already approved) is left alone, so the job is idempotent.
pub async fn approve(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    id: CommissionId,
    now: Timestamp,
) -> AppResult<bool> {
    let Some(seen) = tx.commission(workspace_id, id).await? else {
        return Err(AppError::NotFound("commission"));
    };
    // Take the customer's turn first (PostgreSQL runs writers side by side): a refund being
    // ingested for this customer decides between clawing back pending or approved money,
    // so it must not read the state this approval is about to change.
    if let Some(customer) = tx.customer(workspace_id, seen.customer_id).await? {
        let (scope, key) = crate::ingest::customer_lock(workspace_id, &customer.external_id);
        tx.lock_key(scope, &key).await?;
    }
    // Read again under the lock: a refund may have just reversed it.
    let Some(commission) = tx.commission(workspace_id, id).await? else {
        return Err(AppError::NotFound("commission"));
    };
    if commission.state != CommissionState::Pending || commission.hold_until > now {
        return Ok(false);
    }
    if !tx
        .set_commission_state(
            id,
            CommissionState::Pending,
            CommissionState::Approved,
            None,
        )
        .await?
    {
        return Ok(false);
    }
    tx.insert_transaction(
        &TransactionHeader {
            id: TransactionId(new_uuid()),
            workspace_id,
            kind: "approved".into(),
            source_type: "commission".into(),
            source_id: id.to_string(),
            idempotency_key: format!("approved:{id}"),
            created_at: now,
        },
        &Transaction::approved(commission.partner_id, commission.amount)?,
    )
    .await?;
    Ok(true)
}
