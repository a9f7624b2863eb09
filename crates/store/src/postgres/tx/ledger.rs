//! The double-entry ledger (append-only; balances are sums, never stored) and payout batches.

use super::super::query::{Db, all, execute, insert, optional};
use super::super::rows;
use crate::*;
use std::collections::BTreeMap;
use tokio_postgres::Row;
use tributary_core::ledger::{AccountKind, PartnerBalance, Transaction};

fn batch_row(row: &Row) -> Result<PayoutBatch> {
    let state: &str = rows::get(row, "state")?;
    Ok(PayoutBatch {
        id: PayoutBatchId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        currency: rows::currency(row, "currency")?,
        total_minor: rows::get(row, "total_minor")?,
        item_count: rows::get(row, "item_count")?,
        state: if state == "paid" {
            PayoutState::Paid
        } else {
            PayoutState::Created
        },
        reference: rows::get(row, "reference")?,
        created_at: rows::ts(row, "created_at")?,
        paid_at: rows::opt_ts(row, "paid_at")?,
    })
}

fn item_row(row: &Row) -> Result<PayoutItem> {
    Ok(PayoutItem {
        batch_id: PayoutBatchId(rows::uuid(row, "batch_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        recipient: rows::get(row, "recipient")?,
        amount: rows::money(row, "amount_minor", "currency")?,
    })
}

pub async fn insert_transaction(
    db: &Db,
    header: &TransactionHeader,
    transaction: &Transaction,
) -> Result<()> {
    let id = header.id.as_uuid();
    let workspace_id = header.workspace_id.as_uuid();
    let created_at = header.created_at.millis();
    insert(
        db,
        "INSERT INTO ledger_transactions (id, workspace_id, kind, source_type, source_id, idempotency_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &workspace_id,
            &header.kind,
            &header.source_type,
            &header.source_id,
            &header.idempotency_key,
            &created_at,
        ],
    )
    .await?;
    for line in transaction.lines() {
        let account_kind = line.account.kind.as_str();
        let partner_id = line.account.partner_id.as_uuid();
        let currency = line.amount.currency.code();
        insert(
            db,
            "INSERT INTO ledger_lines (transaction_id, workspace_id, account_kind, partner_id, currency, amount_minor)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &id,
                &workspace_id,
                &account_kind,
                &partner_id,
                &currency,
                &line.amount.amount_minor,
            ],
        )
        .await?;
    }
    Ok(())
}

pub async fn partner_balances(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
) -> Result<Vec<PartnerBalance>> {
    let workspace_id = workspace_id.as_uuid();
    let partner_id = partner_id.as_uuid();
    let sums = all(
        db,
        "SELECT currency, account_kind, SUM(amount_minor)::BIGINT AS balance FROM ledger_lines
         WHERE workspace_id = $1 AND partner_id = $2 GROUP BY currency, account_kind
         ORDER BY currency COLLATE \"C\"",
        &[&workspace_id, &partner_id],
        |row| {
            let kind: &str = rows::get(row, "account_kind")?;
            let kind = AccountKind::parse(kind)
                .ok_or_else(|| StoreError::Corrupt(format!("account kind {kind}")))?;
            let balance: i64 = rows::get(row, "balance")?;
            Ok((rows::currency(row, "currency")?, kind, balance))
        },
    )
    .await?;
    let mut balances: BTreeMap<Currency, PartnerBalance> = BTreeMap::new();
    for (currency, kind, balance) in sums {
        balances
            .entry(currency)
            .or_insert_with(|| PartnerBalance::zero(currency))
            .absorb(kind, balance);
    }
    Ok(balances.into_values().collect())
}

/// Per-currency sum of every line in the workspace (zero when the books balance), in
/// currency order (the order SQLite's grouping yields).
pub async fn ledger_totals(db: &Db, workspace_id: WorkspaceId) -> Result<Vec<(Currency, i64)>> {
    let workspace_id = workspace_id.as_uuid();
    all(
        db,
        "SELECT currency, SUM(amount_minor)::BIGINT AS total FROM ledger_lines WHERE workspace_id = $1
         GROUP BY currency ORDER BY currency COLLATE \"C\"",
        &[&workspace_id],
        |row| Ok((rows::currency(row, "currency")?, rows::get(row, "total")?)),
    )
    .await
}

/// Transactions whose lines do not sum to zero in some currency (one entry per unbalanced
/// transaction and currency), at most 100, in (transaction, currency) order as SQLite yields.
pub async fn unbalanced_transactions(
    db: &Db,
    workspace_id: WorkspaceId,
) -> Result<Vec<TransactionId>> {
    let workspace_id = workspace_id.as_uuid();
    all(
        db,
        "SELECT transaction_id FROM ledger_lines WHERE workspace_id = $1
         GROUP BY transaction_id, currency HAVING SUM(amount_minor) <> 0
         ORDER BY transaction_id, currency COLLATE \"C\" LIMIT 100",
        &[&workspace_id],
        |row| Ok(TransactionId(rows::uuid(row, "transaction_id")?)),
    )
    .await
}

pub async fn insert_payout_batch(db: &Db, batch: &PayoutBatch, items: &[PayoutItem]) -> Result<()> {
    let id = batch.id.as_uuid();
    let workspace_id = batch.workspace_id.as_uuid();
    let program_id = batch.program_id.as_uuid();
    let currency = batch.currency.code();
    let state = batch.state.as_str();
    let created_at = batch.created_at.millis();
    let paid_at = batch.paid_at.map(Timestamp::millis);
    insert(
        db,
        "INSERT INTO payout_batches (id, workspace_id, program_id, currency, total_minor, item_count, state, reference,
         created_at, paid_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &id,
            &workspace_id,
            &program_id,
            &currency,
            &batch.total_minor,
            &batch.item_count,
            &state,
            &batch.reference,
            &created_at,
            &paid_at,
        ],
    )
    .await?;
    for item in items {
        let batch_id = item.batch_id.as_uuid();
        let partner_id = item.partner_id.as_uuid();
        let currency = item.amount.currency.code();
        insert(
            db,
            "INSERT INTO payout_items (batch_id, partner_id, recipient, amount_minor, currency)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &batch_id,
                &partner_id,
                &item.recipient,
                &item.amount.amount_minor,
                &currency,
            ],
        )
        .await?;
    }
    Ok(())
}

pub async fn payout_batch(
    db: &Db,
    workspace_id: WorkspaceId,
    id: PayoutBatchId,
) -> Result<Option<PayoutBatch>> {
    let workspace_id = workspace_id.as_uuid();
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM payout_batches WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id, &id],
        batch_row,
    )
    .await
}

pub async fn payout_batches(
    db: &Db,
    workspace_id: WorkspaceId,
    page: Page,
) -> Result<Vec<PayoutBatch>> {
    let workspace_id = workspace_id.as_uuid();
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT * FROM payout_batches WHERE workspace_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        &[&workspace_id, &limit, &offset],
        batch_row,
    )
    .await
}

pub async fn payout_items(db: &Db, batch_id: PayoutBatchId) -> Result<Vec<PayoutItem>> {
    let batch_id = batch_id.as_uuid();
    // Byte order, as SQLite's BINARY collation sorts, whatever the database's collation.
    all(
        db,
        "SELECT * FROM payout_items WHERE batch_id = $1 ORDER BY recipient COLLATE \"C\", partner_id",
        &[&batch_id],
        item_row,
    )
    .await
}

/// Marks a created batch paid; false if it was not in `created` (already paid).
pub async fn mark_payout_batch_paid(
    db: &Db,
    id: PayoutBatchId,
    reference: &str,
    paid_at: Timestamp,
) -> Result<bool> {
    let paid_at = paid_at.millis();
    let id = id.as_uuid();
    let changed = execute(
        db,
        "UPDATE payout_batches SET state = 'paid', reference = $1, paid_at = $2
         WHERE id = $3 AND state = 'created'",
        &[&reference, &paid_at, &id],
    )
    .await?;
    Ok(changed == 1)
}
