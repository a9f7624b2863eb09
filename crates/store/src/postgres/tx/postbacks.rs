//! Partner postbacks and their deliveries, and the sub-ids clicks carried.

use super::super::query::{Db, all, execute, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;

fn postback_row(row: &Row) -> Result<Postback> {
    let events: &str = rows::get(row, "events")?;
    Ok(Postback {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        url_template: rows::get(row, "url_template")?,
        events: events.split(',').map(str::to_string).collect(),
        created_at: rows::ts(row, "created_at")?,
        disabled_at: rows::opt_ts(row, "disabled_at")?,
    })
}

fn delivery_row(row: &Row) -> Result<PostbackDelivery> {
    Ok(PostbackDelivery {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        postback_id: rows::uuid(row, "postback_id")?,
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        event_id: EventId(rows::uuid(row, "event_id")?),
        values_json: rows::get(row, "values_json")?,
        url: rows::get(row, "url")?,
        status: rows::get(row, "status")?,
        attempts: rows::get(row, "attempts")?,
        response_status: rows::get(row, "response_status")?,
        last_error: rows::get(row, "last_error")?,
        created_at: rows::ts(row, "created_at")?,
        delivered_at: rows::opt_ts(row, "delivered_at")?,
    })
}

pub async fn insert_postback(db: &Db, postback: &Postback) -> Result<()> {
    let workspace_id = postback.workspace_id.as_uuid();
    let partner_id = postback.partner_id.as_uuid();
    let events = postback.events.join(",");
    let created_at = postback.created_at.millis();
    let disabled_at = postback.disabled_at.map(Timestamp::millis);
    execute(
        db,
        "INSERT INTO postbacks (id, workspace_id, partner_id, url_template, events, created_at, disabled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &postback.id,
            &workspace_id,
            &partner_id,
            &postback.url_template,
            &events,
            &created_at,
            &disabled_at,
        ],
    )
    .await?;
    Ok(())
}

pub async fn postbacks(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
) -> Result<Vec<Postback>> {
    let workspace_id = workspace_id.as_uuid();
    let partner = partner_id.map(|id| id.as_uuid());
    all(
        db,
        "SELECT * FROM postbacks WHERE workspace_id = $1 AND ($2::UUID IS NULL OR partner_id = $2)
         ORDER BY created_at, id LIMIT 1000",
        &[&workspace_id, &partner],
        postback_row,
    )
    .await
}

pub async fn disable_postback(db: &Db, id: uuid::Uuid, at: Timestamp) -> Result<()> {
    let at = at.millis();
    execute(
        db,
        "UPDATE postbacks SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL",
        &[&at, &id],
    )
    .await?;
    Ok(())
}

pub async fn insert_postback_delivery(db: &Db, delivery: &PostbackDelivery) -> Result<bool> {
    let workspace_id = delivery.workspace_id.as_uuid();
    let partner_id = delivery.partner_id.as_uuid();
    let event_id = delivery.event_id.as_uuid();
    let created_at = delivery.created_at.millis();
    let delivered_at = delivery.delivered_at.map(Timestamp::millis);
    let inserted = execute(
        db,
        "INSERT INTO postback_deliveries (id, workspace_id, postback_id, partner_id, event_id,
         values_json, url, status, attempts, response_status, last_error, created_at, delivered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (postback_id, event_id) DO NOTHING",
        &[
            &delivery.id,
            &workspace_id,
            &delivery.postback_id,
            &partner_id,
            &event_id,
            &delivery.values_json,
            &delivery.url,
            &delivery.status,
            &delivery.attempts,
            &delivery.response_status,
            &delivery.last_error,
            &created_at,
            &delivered_at,
        ],
    )
    .await?;
    Ok(inserted > 0)
}

pub async fn postback_delivery(db: &Db, id: uuid::Uuid) -> Result<Option<PostbackDelivery>> {
    optional(
        db,
        "SELECT * FROM postback_deliveries WHERE id = $1",
        &[&id],
        delivery_row,
    )
    .await
}

pub async fn update_postback_delivery(db: &Db, delivery: &PostbackDelivery) -> Result<()> {
    let delivered_at = delivery.delivered_at.map(Timestamp::millis);
    execute(
        db,
        "UPDATE postback_deliveries SET url = $1, status = $2, attempts = $3, response_status = $4,
         last_error = $5, delivered_at = $6 WHERE id = $7",
        &[
            &delivery.url,
            &delivery.status,
            &delivery.attempts,
            &delivery.response_status,
            &delivery.last_error,
            &delivered_at,
            &delivery.id,
        ],
    )
    .await?;
    Ok(())
}

pub async fn postback_deliveries(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<PostbackDelivery>> {
    let workspace_id = workspace_id.as_uuid();
    let partner = partner_id.map(|id| id.as_uuid());
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT * FROM postback_deliveries WHERE workspace_id = $1 AND ($2::UUID IS NULL OR partner_id = $2)
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        &[&workspace_id, &partner, &limit, &offset],
        delivery_row,
    )
    .await
}

pub async fn click_subs(db: &Db, click_id: &str) -> Result<Option<Subs>> {
    optional(
        db,
        "SELECT sub1, sub2, sub3, sub4, sub5 FROM click_subs WHERE click_id = $1",
        &[&click_id],
        |row| {
            Ok([
                rows::get(row, "sub1")?,
                rows::get(row, "sub2")?,
                rows::get(row, "sub3")?,
                rows::get(row, "sub4")?,
                rows::get(row, "sub5")?,
            ])
        },
    )
    .await
}

pub async fn link_sub_report(db: &Db, link: &Link, slot: u8) -> Result<Vec<SubRow>> {
    let column = crate::sub_column(slot)?;
    let partner_id = link.partner_id.as_uuid();
    let link_id = link.id.as_uuid();
    all(
        db,
        &format!(
            "SELECT s.{column} AS value, COUNT(*) AS clicks,
               SUM(CASE WHEN s.is_bot THEN 1 ELSE 0 END)::BIGINT AS bot_clicks,
               (SELECT COUNT(*) FROM customers c JOIN click_subs t ON t.click_id = c.click_id
                 WHERE c.partner_id = $1 AND c.link_id = $2 AND t.{column} = s.{column}) AS customers
             FROM click_subs s WHERE s.link_id = $2 AND s.{column} IS NOT NULL
             GROUP BY s.{column} ORDER BY clicks DESC, s.{column} COLLATE \"C\" LIMIT 100"
        ),
        &[&partner_id, &link_id],
        |row| {
            Ok(SubRow {
                value: rows::get(row, "value")?,
                clicks: rows::get(row, "clicks")?,
                bot_clicks: rows::get(row, "bot_clicks")?,
                customers: rows::get(row, "customers")?,
            })
        },
    )
    .await
}
