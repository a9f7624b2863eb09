//! Support in the admin area: the ticket queue by status, each ticket's thread with a reply
//! form (an answer is emailed to the partner and marks the ticket answered), and a form to
//! set its status and assignee.

use super::{Directory, layout};
use crate::ui::error::UiError;
use crate::ui::page::{
    Feedback, Layout, ListQuery, Pager, SelectOption, chosen_id, form_status, paginate, probe,
    render, see_other, when,
};
use crate::ui::portal_support::{MessageView, download_response, read_ticket_form};
use crate::ui::session::AdminSession;
use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::HashMap;
use tributary_app::lifecycle::support::{self, Author, MAX_MESSAGE_LEN, STATUSES};
use tributary_app::{App, AppError};
use tributary_core::UserId;
use tributary_store::User;

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/support", get(queue))
        .route("/admin/support/{id}", get(ticket))
        .route("/admin/support/{id}/manage", post(manage))
        .route("/admin/support/{id}/files/{message_id}", get(file))
}

/// The reply form takes a file: mounted with the uploads, outside the general body limit.
pub fn upload_router() -> Router<App> {
    Router::new()
        .route("/admin/support/{id}", post(reply))
        .layer(DefaultBodyLimit::max(crate::MAX_UPLOAD_BYTES))
}

fn ticket_id(id: &str) -> Result<uuid::Uuid, UiError> {
    id.parse().map_err(|_| UiError::not_found("ticket"))
}

// ----- The queue -----

struct TicketRow {
    id: String,
    partner: String,
    subject: String,
    status: String,
    assignee: String,
    updated_at: String,
}

#[derive(Template)]
#[template(path = "admin/support.html")]
struct QueuePage {
    layout: Layout,
    rows: Vec<TicketRow>,
    pager: Pager,
    status: String,
    tabs: Vec<SelectOption>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QueueQuery {
    page: Option<String>,
    status: Option<String>,
}

async fn queue(
    State(app): State<App>,
    admin: AdminSession,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let status = STATUSES
        .into_iter()
        .find(|status| query.status.as_deref() == Some(*status))
        .unwrap_or("open");
    let number = ListQuery {
        page: query.page,
        state: None,
    }
    .page_number();
    let list = support::list(
        &app,
        admin.workspace_id(),
        None,
        Some(status),
        probe(number),
    )
    .await?;
    let (list, pager) = paginate(list, number, &format!("/admin/support?status={status}&"));
    let mut tx = app.store.read().await?;
    let mut directory = Directory::load(tx.as_mut(), admin.workspace_id()).await?;
    directory
        .complete(
            tx.as_mut(),
            admin.workspace_id(),
            Vec::new(),
            list.iter().map(|ticket| ticket.partner_id).collect(),
        )
        .await?;
    let emails: HashMap<UserId, String> = tx
        .users(admin.workspace_id())
        .await?
        .into_iter()
        .map(|user| (user.id, user.email))
        .collect();
    drop(tx);
    let rows = list
        .into_iter()
        .map(|ticket| TicketRow {
            id: ticket.id.to_string(),
            partner: directory.partner_name(ticket.partner_id),
            assignee: ticket
                .assignee_id
                .map(|id| emails.get(&id).cloned().unwrap_or_else(|| id.to_string()))
                .unwrap_or_default(),
            subject: ticket.subject,
            status: ticket.status,
            updated_at: when(ticket.updated_at),
        })
        .collect();
    let page = QueuePage {
        layout: layout("Support", &admin, "/admin/support"),
        rows,
        pager,
        status: status.to_string(),
        tabs: STATUSES
            .iter()
            .map(|tab| SelectOption {
                value: tab.to_string(),
                label: tab.to_string(),
                selected: *tab == status,
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

// ----- One ticket -----

#[derive(Template)]
#[template(path = "admin/ticket.html")]
struct TicketPage {
    layout: Layout,
    id: String,
    subject: String,
    status: String,
    partner_id: String,
    partner: String,
    partner_email: String,
    assignee: String,
    created_at: String,
    updated_at: String,
    messages: Vec<MessageView>,
    body: String,
    max_message_len: usize,
    statuses: Vec<SelectOption>,
    assignees: Vec<SelectOption>,
    feedback: Feedback,
    may_write: bool,
}

/// What a re-rendered ticket page keeps of a refused form.
#[derive(Default)]
struct Draft {
    body: String,
    /// The manage form's choices, when it was the one refused.
    manage: Option<(String, String)>,
}

async fn ticket(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id = ticket_id(&id)?;
    ticket_view(
        &app,
        &admin,
        id,
        Draft::default(),
        Feedback::none(),
        StatusCode::OK,
    )
    .await
}

async fn ticket_view(
    app: &App,
    admin: &AdminSession,
    id: uuid::Uuid,
    draft: Draft,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, UiError> {
    let workspace_id = admin.workspace_id();
    let (ticket, messages) =
        support::thread(app, workspace_id, id, Author::User(admin.user.id)).await?;
    let (partner, users): (_, Vec<User>) = {
        let mut tx = app.store.read().await?;
        let partner = tx.partner(workspace_id, ticket.partner_id).await?;
        (partner, tx.users(workspace_id).await?)
    };
    let (partner_name, partner_email) = partner
        .map(|p| (p.name, p.email))
        .unwrap_or_else(|| (ticket.partner_id.to_string(), String::new()));
    let partner_author = format!("partner:{}", ticket.partner_id);
    let user_authors: HashMap<String, String> = users
        .iter()
        .map(|user| (format!("user:{}", user.id), user.email.clone()))
        .collect();
    let messages = messages
        .into_iter()
        .map(|message| {
            if message.author == partner_author {
                let name = partner_name.clone();
                MessageView::new(message, name, false)
            } else {
                let name = user_authors
                    .get(&message.author)
                    .cloned()
                    .unwrap_or_else(|| "A former user".into());
                MessageView::new(message, name, true)
            }
        })
        .collect();
    let (chosen_status, chosen_assignee) = draft.manage.unwrap_or_else(|| {
        (
            ticket.status.clone(),
            ticket
                .assignee_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        )
    });
    let assignee = ticket
        .assignee_id
        .map(|id| {
            users
                .iter()
                .find(|user| user.id == id)
                .map(|user| user.email.clone())
                .unwrap_or_else(|| id.to_string())
        })
        .unwrap_or_else(|| "nobody".into());
    let mut assignees = vec![SelectOption {
        value: String::new(),
        label: "Nobody".into(),
        selected: chosen_assignee.is_empty(),
    }];
    assignees.extend(users.iter().map(|user| {
        let value = user.id.to_string();
        SelectOption {
            selected: value == chosen_assignee,
            label: format!("{} ({})", user.email, user.role.as_str()),
            value,
        }
    }));
    let page = TicketPage {
        layout: layout(&ticket.subject, admin, "/admin/support"),
        id: ticket.id.to_string(),
        subject: ticket.subject,
        status: ticket.status,
        partner_id: ticket.partner_id.to_string(),
        partner: partner_name,
        partner_email,
        assignee,
        created_at: when(ticket.created_at),
        updated_at: when(ticket.updated_at),
        messages,
        body: draft.body,
        max_message_len: MAX_MESSAGE_LEN,
        statuses: STATUSES
            .iter()
            .map(|value| SelectOption {
                value: value.to_string(),
                label: value.to_string(),
                selected: *value == chosen_status,
            })
            .collect(),
        assignees,
        feedback,
        may_write: admin.may_write(),
    };
    Ok(render(status, &page))
}

const REPLY_FIELDS: [&str; 2] = ["body", "attachment"];
const MANAGE_FIELDS: [&str; 2] = ["status", "assignee"];

async fn reply(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, UiError> {
    let id = ticket_id(&id)?;
    let mut form = read_ticket_form(multipart).await?;
    admin.authorize_write(&form.csrf_token)?;
    match support::reply(
        &app,
        admin.workspace_id(),
        id,
        Author::User(admin.user.id),
        &form.body,
        form.attachment.take(),
    )
    .await
    {
        Ok(ticket) => Ok(see_other(&format!("/admin/support/{}", ticket.id))),
        Err(error @ AppError::Invalid { .. }) => {
            let feedback = Feedback::from_error("reply", &REPLY_FIELDS, &error);
            let draft = Draft {
                body: form.body,
                manage: None,
            };
            ticket_view(&app, &admin, id, draft, feedback, form_status(&error)).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ManageForm {
    csrf_token: String,
    status: String,
    assignee: String,
}

async fn manage(
    State(app): State<App>,
    admin: AdminSession,
    Path(id): Path<String>,
    form: Result<Form<ManageForm>, FormRejection>,
) -> Result<Response, UiError> {
    let id = ticket_id(&id)?;
    let Form(form) = form.map_err(|_| UiError::bad_request("the form could not be read"))?;
    admin.authorize_write(&form.csrf_token)?;
    let assignee = match form.assignee.trim() {
        "" => Ok(None),
        text => chosen_id::<UserId>("assignee", "user", text).map(Some),
    };
    let result = match assignee {
        Ok(assignee) => {
            support::manage(&app, admin.workspace_id(), id, form.status.trim(), assignee).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(ticket) => Ok(see_other(&format!("/admin/support/{}", ticket.id))),
        Err(error @ AppError::Invalid { .. }) => {
            let feedback = Feedback::from_error("manage", &MANAGE_FIELDS, &error);
            let draft = Draft {
                body: String::new(),
                manage: Some((form.status, form.assignee)),
            };
            ticket_view(&app, &admin, id, draft, feedback, form_status(&error)).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn file(
    State(app): State<App>,
    admin: AdminSession,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let id = ticket_id(&id)?;
    let message_id: uuid::Uuid = message_id
        .parse()
        .map_err(|_| UiError::not_found("attachment"))?;
    let file = support::attachment(
        &app,
        admin.workspace_id(),
        id,
        message_id,
        Author::User(admin.user.id),
    )
    .await?;
    Ok(download_response(file))
}
