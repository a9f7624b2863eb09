//! Billing webhooks: provider events as received, and the payments they reported.

use super::super::query::{Db, all, execute, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;

fn event_row(row: &Row) -> Result<ProviderEventRecord> {
    Ok(ProviderEventRecord {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        provider: rows::get(row, "provider")?,
        event_id: rows::get(row, "event_id")?,
        kind: rows::get(row, "kind")?,
        occurred_at: rows::ts(row, "occurred_at")?,
        received_at: rows::ts(row, "received_at")?,
        body: rows::get(row, "body")?,
        status: rows::get(row, "status")?,
        note: rows::get(row, "note")?,
        waits_for: rows::get(row, "waits_for")?,
    })
}

fn payment_row(row: &Row) -> Result<ProviderPayment> {
    Ok(ProviderPayment {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        provider: rows::get(row, "provider")?,
        payment_key: rows::get(row, "payment_key")?,
        customer: rows::get(row, "customer")?,
        invoice: rows::get(row, "invoice")?,
        net: rows::money(row, "net_minor", "currency")?,
        gross_minor: rows::get(row, "gross_minor")?,
        refunded_minor: rows::get(row, "refunded_minor")?,
    })
}

pub async fn put_setting(db: &Db, key: &str, value: &str) -> Result<()> {
    execute(
        db,
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )
    .await?;
    Ok(())
}

pub async fn insert_provider_event(db: &Db, e: &ProviderEventRecord) -> Result<()> {
    let workspace_id = e.workspace_id.as_uuid();
    let occurred_at = e.occurred_at.millis();
    let received_at = e.received_at.millis();
    execute(
        db,
        "INSERT INTO provider_events (workspace_id, provider, event_id, kind, occurred_at, received_at,
         body, status, note, waits_for) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &workspace_id,
            &e.provider,
            &e.event_id,
            &e.kind,
            &occurred_at,
            &received_at,
            &e.body,
            &e.status,
            &e.note,
            &e.waits_for,
        ],
    )
    .await?;
    Ok(())
}

pub async fn provider_event(
    db: &Db,
    workspace_id: WorkspaceId,
    provider: &str,
    event_id: &str,
) -> Result<Option<ProviderEventRecord>> {
    let workspace_id = workspace_id.as_uuid();
    optional(
        db,
        "SELECT * FROM provider_events WHERE workspace_id = $1 AND provider = $2 AND event_id = $3",
        &[&workspace_id, &provider, &event_id],
        event_row,
    )
    .await
}

pub async fn parked_provider_events(
    db: &Db,
    workspace_id: WorkspaceId,
    provider: &str,
    key: &str,
) -> Result<Vec<ProviderEventRecord>> {
    let workspace_id = workspace_id.as_uuid();
    all(
        db,
        "SELECT * FROM provider_events WHERE workspace_id = $1 AND provider = $2 AND waits_for = $3
           AND status = 'parked' ORDER BY occurred_at, event_id",
        &[&workspace_id, &provider, &key],
        event_row,
    )
    .await
}

pub async fn set_provider_event_status(
    db: &Db,
    workspace_id: WorkspaceId,
    provider: &str,
    event_id: &str,
    status: &str,
    note: &str,
) -> Result<()> {
    let workspace_id = workspace_id.as_uuid();
    execute(
        db,
        "UPDATE provider_events SET status = $1, note = $2
         WHERE workspace_id = $3 AND provider = $4 AND event_id = $5",
        &[&status, &note, &workspace_id, &provider, &event_id],
    )
    .await?;
    Ok(())
}

pub async fn insert_provider_payment(db: &Db, p: &ProviderPayment) -> Result<()> {
    let workspace_id = p.workspace_id.as_uuid();
    let currency = p.net.currency.code();
    execute(
        db,
        "INSERT INTO provider_payments (workspace_id, provider, payment_key, customer, invoice, net_minor,
         gross_minor, currency, refunded_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (workspace_id, provider, payment_key) DO NOTHING",
        &[
            &workspace_id,
            &p.provider,
            &p.payment_key,
            &p.customer,
            &p.invoice,
            &p.net.amount_minor,
            &p.gross_minor,
            &currency,
            &p.refunded_minor,
        ],
    )
    .await?;
    Ok(())
}

pub async fn provider_payment(
    db: &Db,
    workspace_id: WorkspaceId,
    provider: &str,
    key: &str,
) -> Result<Option<ProviderPayment>> {
    let workspace_id = workspace_id.as_uuid();
    optional(
        db,
        "SELECT * FROM provider_payments WHERE workspace_id = $1 AND provider = $2 AND payment_key = $3",
        &[&workspace_id, &provider, &key],
        payment_row,
    )
    .await
}

pub async fn set_provider_refunded(
    db: &Db,
    workspace_id: WorkspaceId,
    provider: &str,
    key: &str,
    refunded_minor: i64,
) -> Result<()> {
    let workspace_id = workspace_id.as_uuid();
    execute(
        db,
        "UPDATE provider_payments SET refunded_minor = $1
         WHERE workspace_id = $2 AND provider = $3 AND payment_key = $4",
        &[&refunded_minor, &workspace_id, &provider, &key],
    )
    .await?;
    Ok(())
}
