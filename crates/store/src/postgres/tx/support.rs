//! Support tickets and their threads.

use super::super::query::{Db, all, execute, insert, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;

fn ticket_row(row: &Row) -> Result<Ticket> {
    Ok(Ticket {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        subject: rows::get(row, "subject")?,
        status: rows::get(row, "status")?,
        assignee_id: rows::opt_uuid(row, "assignee_id")?.map(UserId),
        created_at: rows::ts(row, "created_at")?,
        updated_at: rows::ts(row, "updated_at")?,
    })
}

fn message_row(row: &Row) -> Result<TicketMessage> {
    Ok(TicketMessage {
        id: rows::uuid(row, "id")?,
        ticket_id: rows::uuid(row, "ticket_id")?,
        author: rows::get(row, "author")?,
        body: rows::get(row, "body")?,
        attachment_name: rows::get(row, "attachment_name")?,
        attachment_type: rows::get(row, "attachment_type")?,
        attachment_base64: rows::get(row, "attachment_base64")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

pub async fn insert_ticket(db: &Db, ticket: &Ticket) -> Result<()> {
    let assignee = ticket.assignee_id.map(|id| id.0);
    insert(
        db,
        "INSERT INTO tickets (id, workspace_id, partner_id, subject, status, assignee_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &ticket.id,
            &ticket.workspace_id.as_uuid(),
            &ticket.partner_id.as_uuid(),
            &ticket.subject,
            &ticket.status,
            &assignee,
            &ticket.created_at.millis(),
            &ticket.updated_at.millis(),
        ],
    )
    .await
}

pub async fn update_ticket(db: &Db, ticket: &Ticket) -> Result<()> {
    let assignee = ticket.assignee_id.map(|id| id.0);
    execute(
        db,
        "UPDATE tickets SET status = $1, assignee_id = $2, updated_at = $3 WHERE id = $4",
        &[
            &ticket.status,
            &assignee,
            &ticket.updated_at.millis(),
            &ticket.id,
        ],
    )
    .await?;
    Ok(())
}

pub async fn ticket(db: &Db, workspace_id: WorkspaceId, id: uuid::Uuid) -> Result<Option<Ticket>> {
    optional(
        db,
        "SELECT * FROM tickets WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id.as_uuid(), &id],
        ticket_row,
    )
    .await
}

pub async fn tickets(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    status: Option<&str>,
    page: Page,
) -> Result<Vec<Ticket>> {
    let partner = partner_id.map(|id| id.as_uuid());
    all(
        db,
        "SELECT * FROM tickets WHERE workspace_id = $1 AND ($2::UUID IS NULL OR partner_id = $2)
         AND ($3::TEXT IS NULL OR status = $3) ORDER BY updated_at DESC, id DESC LIMIT $4 OFFSET $5",
        &[
            &workspace_id.as_uuid(),
            &partner,
            &status,
            &i64::from(page.limit),
            &i64::from(page.offset),
        ],
        ticket_row,
    )
    .await
}

pub async fn insert_ticket_message(db: &Db, message: &TicketMessage) -> Result<()> {
    insert(
        db,
        "INSERT INTO ticket_messages (id, ticket_id, author, body, attachment_name, attachment_type,
         attachment_base64, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &message.id,
            &message.ticket_id,
            &message.author,
            &message.body,
            &message.attachment_name,
            &message.attachment_type,
            &message.attachment_base64,
            &message.created_at.millis(),
        ],
    )
    .await
}

pub async fn ticket_messages(db: &Db, ticket_id: uuid::Uuid) -> Result<Vec<TicketMessage>> {
    all(
        db,
        "SELECT id, ticket_id, author, body, attachment_name, attachment_type,
            NULL::TEXT AS attachment_base64, created_at
         FROM ticket_messages WHERE ticket_id = $1 ORDER BY created_at, id LIMIT 1000",
        &[&ticket_id],
        message_row,
    )
    .await
}

pub async fn ticket_message(
    db: &Db,
    ticket_id: uuid::Uuid,
    id: uuid::Uuid,
) -> Result<Option<TicketMessage>> {
    optional(
        db,
        "SELECT * FROM ticket_messages WHERE ticket_id = $1 AND id = $2",
        &[&ticket_id, &id],
        message_row,
    )
    .await
}
