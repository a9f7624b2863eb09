//! Partner postbacks and their deliveries, and the sub-ids clicks carried.

use super::super::query::{all, execute, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};

fn postback_row(row: &Row<'_>) -> Result<Postback> {
    let events: String = row.get("events")?;
    Ok(Postback {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        url_template: row.get("url_template")?,
        events: events.split(',').map(str::to_string).collect(),
        created_at: rows::ts(row, "created_at")?,
        disabled_at: rows::opt_ts(row, "disabled_at")?,
    })
}

fn delivery_row(row: &Row<'_>) -> Result<PostbackDelivery> {
    Ok(PostbackDelivery {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        postback_id: rows::uuid(row, "postback_id")?,
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        event_id: EventId(rows::uuid(row, "event_id")?),
        values_json: row.get("values_json")?,
        url: row.get("url")?,
        status: row.get("status")?,
        attempts: row.get("attempts")?,
        response_status: row.get("response_status")?,
        last_error: row.get("last_error")?,
        created_at: rows::ts(row, "created_at")?,
        delivered_at: rows::opt_ts(row, "delivered_at")?,
    })
}

pub fn insert_postback(db: &Connection, postback: &Postback) -> Result<()> {
    execute(
        db,
        "INSERT INTO postbacks (id, workspace_id, partner_id, url_template, events, created_at, disabled_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            postback.id.to_string(),
            postback.workspace_id.to_string(),
            postback.partner_id.to_string(),
            postback.url_template,
            postback.events.join(","),
            postback.created_at.millis(),
            postback.disabled_at.map(Timestamp::millis),
        ],
    )?;
    Ok(())
}

pub fn postbacks(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
) -> Result<Vec<Postback>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM postbacks WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?)
         ORDER BY created_at, id LIMIT 1000",
        params![workspace_id.to_string(), partner, partner],
        postback_row,
    )
}

pub fn disable_postback(db: &Connection, id: uuid::Uuid, at: Timestamp) -> Result<()> {
    execute(
        db,
        "UPDATE postbacks SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
        params![at.millis(), id.to_string()],
    )?;
    Ok(())
}

pub fn insert_postback_delivery(db: &Connection, delivery: &PostbackDelivery) -> Result<bool> {
    let inserted = execute(
        db,
        "INSERT INTO postback_deliveries (id, workspace_id, postback_id, partner_id, event_id,
         values_json, url, status, attempts, response_status, last_error, created_at, delivered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (postback_id, event_id) DO NOTHING",
        params![
            delivery.id.to_string(),
            delivery.workspace_id.to_string(),
            delivery.postback_id.to_string(),
            delivery.partner_id.to_string(),
            delivery.event_id.to_string(),
            delivery.values_json,
            delivery.url,
            delivery.status,
            delivery.attempts,
            delivery.response_status,
            delivery.last_error,
            delivery.created_at.millis(),
            delivery.delivered_at.map(Timestamp::millis),
        ],
    )?;
    Ok(inserted > 0)
}

pub fn postback_delivery(db: &Connection, id: uuid::Uuid) -> Result<Option<PostbackDelivery>> {
    optional(
        db,
        "SELECT * FROM postback_deliveries WHERE id = ?",
        [id.to_string()],
        delivery_row,
    )
}

pub fn update_postback_delivery(db: &Connection, delivery: &PostbackDelivery) -> Result<()> {
    execute(
        db,
        "UPDATE postback_deliveries SET url = ?, status = ?, attempts = ?, response_status = ?,
         last_error = ?, delivered_at = ? WHERE id = ?",
        params![
            delivery.url,
            delivery.status,
            delivery.attempts,
            delivery.response_status,
            delivery.last_error,
            delivery.delivered_at.map(Timestamp::millis),
            delivery.id.to_string(),
        ],
    )?;
    Ok(())
}

pub fn postback_deliveries(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<PostbackDelivery>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM postback_deliveries WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?)
         ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        params![
            workspace_id.to_string(),
            partner,
            partner,
            page.limit,
            page.offset
        ],
        delivery_row,
    )
}

pub fn click_subs(db: &Connection, click_id: &str) -> Result<Option<Subs>> {
    optional(
        db,
        "SELECT sub1, sub2, sub3, sub4, sub5 FROM click_subs WHERE click_id = ?",
        [click_id],
        |row| {
            Ok([
                row.get("sub1")?,
                row.get("sub2")?,
                row.get("sub3")?,
                row.get("sub4")?,
                row.get("sub5")?,
            ])
        },
    )
}

pub fn link_sub_report(db: &Connection, link: &Link, slot: u8) -> Result<Vec<SubRow>> {
    let column = crate::sub_column(slot)?;
    all(
        db,
        &format!(
            "SELECT s.{column} AS value, COUNT(*) AS clicks, SUM(s.is_bot) AS bot_clicks,
               (SELECT COUNT(*) FROM customers c JOIN click_subs t ON t.click_id = c.click_id
                 WHERE c.partner_id = ?1 AND c.link_id = ?2 AND t.{column} = s.{column}) AS customers
             FROM click_subs s WHERE s.link_id = ?2 AND s.{column} IS NOT NULL
             GROUP BY s.{column} ORDER BY clicks DESC, value LIMIT 100"
        ),
        params![link.partner_id.to_string(), link.id.to_string()],
        |row| {
            Ok(SubRow {
                value: row.get("value")?,
                clicks: row.get("clicks")?,
                bot_clicks: row.get("bot_clicks")?,
                customers: row.get("customers")?,
            })
        },
    )
}
