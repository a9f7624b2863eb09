//! Support tickets: a partner opens one from the portal (a subject and a first message,
//! optionally with a file); the business answers, assigns it to one of its users and closes
//! it. Each answer is emailed to the partner; each partner message to the assignee (or, with
//! none, to the workspace's owners). A partner sees and touches only their own tickets.

use super::content::Upload;
use crate::mail::{self, Outgoing};
use crate::{App, AppError, AppResult, new_uuid};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tributary_core::*;
use tributary_store::{Page, Role, Ticket, TicketMessage, Tx};

/// The largest attachment.
pub const MAX_ATTACHMENT_BYTES: usize = 2 * 1024 * 1024;
pub const MAX_MESSAGE_LEN: usize = 20_000;
pub const STATUSES: [&str; 3] = ["open", "answered", "closed"];

/// Who writes: the partner the ticket is theirs, or a user of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Partner(PartnerId),
    User(UserId),
}

impl Author {
    fn text(self) -> String {
        match self {
            Author::Partner(id) => format!("partner:{id}"),
            Author::User(id) => format!("user:{id}"),
        }
    }
}

fn message(
    ticket_id: uuid::Uuid,
    author: Author,
    body: &str,
    attachment: Option<Upload>,
    now: Timestamp,
) -> AppResult<TicketMessage> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_MESSAGE_LEN {
        return Err(AppError::invalid(
            "body",
            format!("1 to {MAX_MESSAGE_LEN} characters"),
        ));
    }
    let attachment = attachment.filter(|file| !file.bytes.is_empty());
    if attachment
        .as_ref()
        .is_some_and(|file| file.bytes.len() > MAX_ATTACHMENT_BYTES)
    {
        return Err(AppError::invalid("attachment", "at most 2 MiB"));
    }
    Ok(TicketMessage {
        id: new_uuid(),
        ticket_id,
        author: author.text(),
        body: body.to_string(),
        attachment_name: attachment.as_ref().map(|file| {
            file.file_name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .take(100)
                .collect()
        }),
        attachment_type: attachment.as_ref().map(|file| file.content_type.clone()),
        attachment_base64: attachment.as_ref().map(|file| STANDARD.encode(&file.bytes)),
        created_at: now,
    })
}

/// Opens a ticket for the signed-in partner.
pub async fn open(
    app: &App,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
    subject: &str,
    body: &str,
    attachment: Option<Upload>,
) -> AppResult<Ticket> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(AppError::invalid("subject", "1 to 200 characters"));
    }
    if subject.chars().any(char::is_control) {
        return Err(AppError::invalid("subject", "one line of text"));
    }
    let now = app.now();
    let ticket = Ticket {
        id: new_uuid(),
        workspace_id,
        partner_id,
        subject: subject.to_string(),
        status: "open".into(),
        assignee_id: None,
        created_at: now,
        updated_at: now,
    };
    let first = message(
        ticket.id,
        Author::Partner(partner_id),
        body,
        attachment,
        now,
    )?;
    let mut tx = app.store.write().await?;
    let partner = tx
        .partner(workspace_id, partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    tx.insert_ticket(&ticket).await?;
    tx.insert_ticket_message(&first).await?;
    notify_business(tx.as_mut(), app, &ticket, &partner.name, &first.body, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// A ticket with its thread, if `viewer` may see it (a partner only their own).
pub async fn thread(
    app: &App,
    workspace_id: WorkspaceId,
    id: uuid::Uuid,
    viewer: Author,
) -> AppResult<(Ticket, Vec<TicketMessage>)> {
    let mut tx = app.store.read().await?;
    let ticket = visible(tx.as_mut(), workspace_id, id, viewer).await?;
    let messages = tx.ticket_messages(id).await?;
    Ok((ticket, messages))
}

async fn visible(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    id: uuid::Uuid,
    viewer: Author,
) -> AppResult<Ticket> {
    tx.ticket(workspace_id, id)
        .await?
        .filter(|ticket| match viewer {
            Author::Partner(partner_id) => ticket.partner_id == partner_id,
            Author::User(_) => true,
        })
        .ok_or(AppError::NotFound("ticket"))
}

/// Adds a message. A partner's reopens a ticket; the business's marks it answered and is
/// emailed to the partner.
pub async fn reply(
    app: &App,
    workspace_id: WorkspaceId,
    id: uuid::Uuid,
    author: Author,
    body: &str,
    attachment: Option<Upload>,
) -> AppResult<Ticket> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    let mut ticket = visible(tx.as_mut(), workspace_id, id, author).await?;
    let added = message(ticket.id, author, body, attachment, now)?;
    tx.insert_ticket_message(&added).await?;
    ticket.updated_at = now;
    let partner = tx
        .partner(workspace_id, ticket.partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    match author {
        Author::Partner(_) => {
            ticket.status = "open".into();
            notify_business(tx.as_mut(), app, &ticket, &partner.name, &added.body, now).await?;
        }
        Author::User(_) => {
            ticket.status = "answered".into();
            mail::queue(
                tx.as_mut(),
                workspace_id,
                Outgoing {
                    to: &partner.email,
                    subject: &format!("Re: {}", ticket.subject),
                    body: &format!(
                        "Hello {},\n\nWe answered your support request \"{}\":\n\n{}\n\nReply in your partner portal: {}\n",
                        partner.name,
                        ticket.subject,
                        added.body,
                        app.mail.link(&format!("/portal/support/{}", ticket.id)),
                    ),
                    kind: "ticket.answered",
                },
                now,
            )
            .await?;
        }
    }
    tx.update_ticket(&ticket).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Sets a ticket's status and assignee (the business only).
pub async fn manage(
    app: &App,
    workspace_id: WorkspaceId,
    id: uuid::Uuid,
    status: &str,
    assignee: Option<UserId>,
) -> AppResult<Ticket> {
    if !STATUSES.contains(&status) {
        return Err(AppError::invalid("status", "open, answered or closed"));
    }
    let mut tx = app.store.write().await?;
    let mut ticket = tx
        .ticket(workspace_id, id)
        .await?
        .ok_or(AppError::NotFound("ticket"))?;
    if let Some(user_id) = assignee {
        tx.user(user_id)
            .await?
            .filter(|user| user.workspace_id == workspace_id)
            .ok_or_else(|| AppError::invalid("assignee", "not a user of this workspace"))?;
    }
    ticket.status = status.to_string();
    ticket.assignee_id = assignee;
    ticket.updated_at = app.now();
    tx.update_ticket(&ticket).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Tickets of a workspace (one partner's, one status), most recently updated first.
pub async fn list(
    app: &App,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    status: Option<&str>,
    page: Page,
) -> AppResult<Vec<Ticket>> {
    Ok(app
        .store
        .read()
        .await?
        .tickets(workspace_id, partner_id, status, page)
        .await?)
}

/// A message's attachment, if `viewer` may see the ticket.
pub async fn attachment(
    app: &App,
    workspace_id: WorkspaceId,
    ticket_id: uuid::Uuid,
    message_id: uuid::Uuid,
    viewer: Author,
) -> AppResult<super::content::Download> {
    let mut tx = app.store.read().await?;
    visible(tx.as_mut(), workspace_id, ticket_id, viewer).await?;
    let found = tx
        .ticket_message(ticket_id, message_id)
        .await?
        .ok_or(AppError::NotFound("attachment"))?;
    let encoded = found
        .attachment_base64
        .ok_or(AppError::NotFound("attachment"))?;
    let bytes = STANDARD.decode(encoded).map_err(|error| {
        AppError::Internal(format!("a stored attachment does not decode: {error}"))
    })?;
    Ok(super::content::Download {
        file_name: found.attachment_name.unwrap_or_else(|| "attachment".into()),
        content_type: found
            .attachment_type
            .unwrap_or_else(|| "application/octet-stream".into()),
        bytes,
    })
}

/// Tells the assignee (or the workspace's owners and managers) about a partner's message.
async fn notify_business(
    tx: &mut dyn Tx,
    app: &App,
    ticket: &Ticket,
    partner_name: &str,
    body: &str,
    now: Timestamp,
) -> AppResult<()> {
    let recipients: Vec<String> = match ticket.assignee_id {
        Some(user_id) => tx
            .user(user_id)
            .await?
            .map(|u| u.email)
            .into_iter()
            .collect(),
        None => tx
            .users(ticket.workspace_id)
            .await?
            .into_iter()
            .filter(|user| matches!(user.role, Role::Owner | Role::Manager))
            .map(|user| user.email)
            .take(20)
            .collect(),
    };
    for to in recipients {
        mail::queue(
            tx,
            ticket.workspace_id,
            Outgoing {
                to: &to,
                subject: &format!("[support] {}", ticket.subject),
                body: &format!(
                    "{partner_name} wrote:\n\n{body}\n\nAnswer: {}\n",
                    app.mail.link(&format!("/admin/support/{}", ticket.id))
                ),
                kind: "ticket.message",
            },
            now,
        )
        .await?;
    }
    Ok(())
}
