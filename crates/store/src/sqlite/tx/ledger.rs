//! The double-entry ledger (append-only; balances are sums, never stored) and payout batches.

use super::super::query::{all, execute, insert, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};
use std::collections::BTreeMap;
use tributary_core::ledger::{AccountKind, PartnerBalance, Transaction};

fn batch_row(row: &Row<'_>) -> Result<PayoutBatch> {
    let state: String = row.get("state")?;
    Ok(PayoutBatch {
        id: PayoutBatchId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        currency: rows::currency(row, "currency")?,
        total_minor: row.get("total_minor")?,
        item_count: row.get("item_count")?,
        state: if state == "paid" {
            PayoutState::Paid
        } else {
            PayoutState::Created
        },
        reference: row.get("reference")?,
        created_at: rows::ts(row, "created_at")?,
        paid_at: rows::opt_ts(row, "paid_at")?,
    })
}

fn item_row(row: &Row<'_>) -> Result<PayoutItem> {
    Ok(PayoutItem {
        batch_id: PayoutBatchId(rows::uuid(row, "batch_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        recipient: row.get("recipient")?,
        amount: rows::money(row, "amount_minor", "currency")?,
    })
}

pub fn insert_transaction(
    db: &Connection,
    header: &TransactionHeader,
    transaction: &Transaction,
) -> Result<()> {
    let id = header.id.to_string();
    let workspace_id = header.workspace_id.to_string();
    insert(
        db,
        "INSERT INTO ledger_transactions (id, workspace_id, kind, source_type, source_id, idempotency_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            id,
            workspace_id,
            header.kind,
            header.source_type,
            header.source_id,
            header.idempotency_key,
            header.created_at.millis(),
        ],
    )?;
    for line in transaction.lines() {
        insert(
            db,
            "INSERT INTO ledger_lines (transaction_id, workspace_id, account_kind, partner_id, currency, amount_minor)
             VALUES (?, ?, ?, ?, ?, ?)",
            params![
                id,
                workspace_id,
                line.account.kind.as_str(),
                line.account.partner_id.to_string(),
                line.amount.currency.code(),
                line.amount.amount_minor,
            ],
        )?;
    }
    Ok(())
}

pub fn partner_balances(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
) -> Result<Vec<PartnerBalance>> {
    let sums = all(
        db,
        "SELECT currency, account_kind, SUM(amount_minor) AS balance FROM ledger_lines
         WHERE workspace_id = ? AND partner_id = ? GROUP BY currency, account_kind ORDER BY currency",
        [workspace_id.to_string(), partner_id.to_string()],
        |row| {
            let kind: String = row.get("account_kind")?;
            let kind = AccountKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("account kind {kind}")))?;
            let balance: i64 = row.get("balance")?;
            Ok((rows::currency(row, "currency")?, kind, balance))
        },
    )?;
    let mut balances: BTreeMap<Currency, PartnerBalance> = BTreeMap::new();
    for (currency, kind, balance) in sums {
        balances
            .entry(currency)
            .or_insert_with(|| PartnerBalance::zero(currency))
            .absorb(kind, balance);
    }
    Ok(balances.into_values().collect())
}

pub fn ledger_totals(db: &Connection, workspace_id: WorkspaceId) -> Result<Vec<(Currency, i64)>> {
    all(
        db,
        "SELECT currency, SUM(amount_minor) AS total FROM ledger_lines WHERE workspace_id = ? GROUP BY currency",
        [workspace_id.to_string()],
        |row| Ok((rows::currency(row, "currency")?, row.get("total")?)),
    )
}

pub fn unbalanced_transactions(
    db: &Connection,
    workspace_id: WorkspaceId,
) -> Result<Vec<TransactionId>> {
    all(
        db,
        "SELECT transaction_id FROM ledger_lines WHERE workspace_id = ?
         GROUP BY transaction_id, currency HAVING SUM(amount_minor) <> 0 LIMIT 100",
        [workspace_id.to_string()],
        |row| Ok(TransactionId(rows::uuid(row, "transaction_id")?)),
    )
}

pub fn insert_payout_batch(
    db: &Connection,
    batch: &PayoutBatch,
    items: &[PayoutItem],
) -> Result<()> {
    insert(
        db,
        "INSERT INTO payout_batches (id, workspace_id, program_id, currency, total_minor, item_count, state, reference,
         created_at, paid_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            batch.id.to_string(),
            batch.workspace_id.to_string(),
            batch.program_id.to_string(),
            batch.currency.code(),
            batch.total_minor,
            batch.item_count,
            batch.state.as_str(),
            batch.reference,
            batch.created_at.millis(),
            batch.paid_at.map(Timestamp::millis),
        ],
    )?;
    for item in items {
        insert(
            db,
            "INSERT INTO payout_items (batch_id, partner_id, recipient, amount_minor, currency) VALUES (?, ?, ?, ?, ?)",
            params![
                item.batch_id.to_string(),
                item.partner_id.to_string(),
                item.recipient,
                item.amount.amount_minor,
                item.amount.currency.code(),
            ],
        )?;
    }
    Ok(())
}

pub fn payout_batch(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: PayoutBatchId,
) -> Result<Option<PayoutBatch>> {
    optional(
        db,
        "SELECT * FROM payout_batches WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        batch_row,
    )
}

pub fn payout_batches(
    db: &Connection,
    workspace_id: WorkspaceId,
    page: Page,
) -> Result<Vec<PayoutBatch>> {
    all(
        db,
        "SELECT * FROM payout_batches WHERE workspace_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        params![workspace_id.to_string(), page.limit, page.offset],
        batch_row,
    )
}

pub fn payout_items(db: &Connection, batch_id: PayoutBatchId) -> Result<Vec<PayoutItem>> {
    all(
        db,
        "SELECT * FROM payout_items WHERE batch_id = ? ORDER BY recipient, partner_id",
        [batch_id.to_string()],
        item_row,
    )
}

/// Marks a created batch paid; false if it was not in `created` (already paid).
pub fn mark_payout_batch_paid(
    db: &Connection,
    id: PayoutBatchId,
    reference: &str,
    paid_at: Timestamp,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE payout_batches SET state = 'paid', reference = ?, paid_at = ? WHERE id = ? AND state = 'created'",
        params![reference, paid_at.millis(), id.to_string()],
    )?;
    Ok(changed == 1)
}
