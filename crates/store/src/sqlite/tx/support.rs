//! Support tickets and their threads.

use super::super::query::{all, execute, insert, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};

fn ticket_row(row: &Row<'_>) -> Result<Ticket> {
    Ok(Ticket {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        subject: row.get("subject")?,
        status: row.get("status")?,
        assignee_id: rows::opt_uuid(row, "assignee_id")?.map(UserId),
        created_at: rows::ts(row, "created_at")?,
        updated_at: rows::ts(row, "updated_at")?,
    })
}

fn message_row(row: &Row<'_>) -> Result<TicketMessage> {
    Ok(TicketMessage {
        id: rows::uuid(row, "id")?,
        ticket_id: rows::uuid(row, "ticket_id")?,
        author: row.get("author")?,
        body: row.get("body")?,
        attachment_name: row.get("attachment_name")?,
        attachment_type: row.get("attachment_type")?,
        attachment_base64: row.get("attachment_base64")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

pub fn insert_ticket(db: &Connection, ticket: &Ticket) -> Result<()> {
    insert(
        db,
        "INSERT INTO tickets (id, workspace_id, partner_id, subject, status, assignee_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            ticket.id.to_string(),
            ticket.workspace_id.to_string(),
            ticket.partner_id.to_string(),
            ticket.subject,
            ticket.status,
            rows::opt_text(ticket.assignee_id.map(|id| id.0)),
            ticket.created_at.millis(),
            ticket.updated_at.millis(),
        ],
    )
}

pub fn update_ticket(db: &Connection, ticket: &Ticket) -> Result<()> {
    execute(
        db,
        "UPDATE tickets SET status = ?, assignee_id = ?, updated_at = ? WHERE id = ?",
        params![
            ticket.status,
            rows::opt_text(ticket.assignee_id.map(|id| id.0)),
            ticket.updated_at.millis(),
            ticket.id.to_string(),
        ],
    )?;
    Ok(())
}

pub fn ticket(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: uuid::Uuid,
) -> Result<Option<Ticket>> {
    optional(
        db,
        "SELECT * FROM tickets WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        ticket_row,
    )
}

pub fn tickets(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    status: Option<&str>,
    page: Page,
) -> Result<Vec<Ticket>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM tickets WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?)
         AND (? IS NULL OR status = ?) ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
        params![
            workspace_id.to_string(),
            partner,
            partner,
            status,
            status,
            page.limit,
            page.offset
        ],
        ticket_row,
    )
}

pub fn insert_ticket_message(db: &Connection, message: &TicketMessage) -> Result<()> {
    insert(
        db,
        "INSERT INTO ticket_messages (id, ticket_id, author, body, attachment_name, attachment_type,
         attachment_base64, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            message.id.to_string(),
            message.ticket_id.to_string(),
            message.author,
            message.body,
            message.attachment_name,
            message.attachment_type,
            message.attachment_base64,
            message.created_at.millis(),
        ],
    )
}

pub fn ticket_messages(db: &Connection, ticket_id: uuid::Uuid) -> Result<Vec<TicketMessage>> {
    all(
        db,
        "SELECT id, ticket_id, author, body, attachment_name, attachment_type,
            NULL AS attachment_base64, created_at
         FROM ticket_messages WHERE ticket_id = ? ORDER BY created_at, id LIMIT 1000",
        [ticket_id.to_string()],
        message_row,
    )
}

pub fn ticket_message(
    db: &Connection,
    ticket_id: uuid::Uuid,
    id: uuid::Uuid,
) -> Result<Option<TicketMessage>> {
    optional(
        db,
        "SELECT * FROM ticket_messages WHERE ticket_id = ? AND id = ?",
        [ticket_id.to_string(), id.to_string()],
        message_row,
    )
}
