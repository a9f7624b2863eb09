//! Billing webhooks: provider events as received, and the payments they reported.

use super::super::query::{all, execute, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};

fn event_row(row: &Row<'_>) -> Result<ProviderEventRecord> {
    Ok(ProviderEventRecord {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        provider: row.get("provider")?,
        event_id: row.get("event_id")?,
        kind: row.get("kind")?,
        occurred_at: rows::ts(row, "occurred_at")?,
        received_at: rows::ts(row, "received_at")?,
        body: row.get("body")?,
        status: row.get("status")?,
        note: row.get("note")?,
        waits_for: row.get("waits_for")?,
    })
}

fn payment_row(row: &Row<'_>) -> Result<ProviderPayment> {
    Ok(ProviderPayment {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        provider: row.get("provider")?,
        payment_key: row.get("payment_key")?,
        customer: row.get("customer")?,
        invoice: row.get("invoice")?,
        net: rows::money(row, "net_minor", "currency")?,
        gross_minor: row.get("gross_minor")?,
        refunded_minor: row.get("refunded_minor")?,
    })
}

pub fn put_setting(db: &Connection, key: &str, value: &str) -> Result<()> {
    execute(
        db,
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

pub fn insert_provider_event(db: &Connection, e: &ProviderEventRecord) -> Result<()> {
    execute(
        db,
        "INSERT INTO provider_events (workspace_id, provider, event_id, kind, occurred_at, received_at,
         body, status, note, waits_for) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            e.workspace_id.to_string(),
            e.provider,
            e.event_id,
            e.kind,
            e.occurred_at.millis(),
            e.received_at.millis(),
            e.body,
            e.status,
            e.note,
            e.waits_for,
        ],
    )?;
    Ok(())
}

pub fn provider_event(
    db: &Connection,
    workspace_id: WorkspaceId,
    provider: &str,
    event_id: &str,
) -> Result<Option<ProviderEventRecord>> {
    optional(
        db,
        "SELECT * FROM provider_events WHERE workspace_id = ? AND provider = ? AND event_id = ?",
        params![workspace_id.to_string(), provider, event_id],
        event_row,
    )
}

pub fn parked_provider_events(
    db: &Connection,
    workspace_id: WorkspaceId,
    provider: &str,
    key: &str,
) -> Result<Vec<ProviderEventRecord>> {
    all(
        db,
        "SELECT * FROM provider_events WHERE workspace_id = ? AND provider = ? AND waits_for = ?
           AND status = 'parked' ORDER BY occurred_at, event_id",
        params![workspace_id.to_string(), provider, key],
        event_row,
    )
}

pub fn set_provider_event_status(
    db: &Connection,
    workspace_id: WorkspaceId,
    provider: &str,
    event_id: &str,
    status: &str,
    note: &str,
) -> Result<()> {
    execute(
        db,
        "UPDATE provider_events SET status = ?, note = ?
         WHERE workspace_id = ? AND provider = ? AND event_id = ?",
        params![status, note, workspace_id.to_string(), provider, event_id],
    )?;
    Ok(())
}

pub fn insert_provider_payment(db: &Connection, p: &ProviderPayment) -> Result<()> {
    execute(
        db,
        "INSERT INTO provider_payments (workspace_id, provider, payment_key, customer, invoice, net_minor,
         gross_minor, currency, refunded_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (workspace_id, provider, payment_key) DO NOTHING",
        params![
            p.workspace_id.to_string(),
            p.provider,
            p.payment_key,
            p.customer,
            p.invoice,
            p.net.amount_minor,
            p.gross_minor,
            p.net.currency.code(),
            p.refunded_minor,
        ],
    )?;
    Ok(())
}

pub fn provider_payment(
    db: &Connection,
    workspace_id: WorkspaceId,
    provider: &str,
    key: &str,
) -> Result<Option<ProviderPayment>> {
    optional(
        db,
        "SELECT * FROM provider_payments WHERE workspace_id = ? AND provider = ? AND payment_key = ?",
        params![workspace_id.to_string(), provider, key],
        payment_row,
    )
}

pub fn set_provider_refunded(
    db: &Connection,
    workspace_id: WorkspaceId,
    provider: &str,
    key: &str,
    refunded_minor: i64,
) -> Result<()> {
    execute(
        db,
        "UPDATE provider_payments SET refunded_minor = ?
         WHERE workspace_id = ? AND provider = ? AND payment_key = ?",
        params![refunded_minor, workspace_id.to_string(), provider, key],
    )?;
    Ok(())
}
