//! Support in the portal: the partner's tickets, a form to open one (a subject, a message
//! and optionally a file), each ticket's thread with a reply form, and the thread's
//! attachments. Only the partner's own tickets exist here: anyone else's is "not found".

use super::error::UiError;
use super::page::{
    self, Feedback, Layout, ListQuery, Pager, form_status, paginate, portal_answer, probe, render,
    see_other, when,
};
use super::portal::layout_at;
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use tributary_app::lifecycle::content::{Download, Upload};
use tributary_app::lifecycle::support::{self, Author, MAX_MESSAGE_LEN};
use tributary_app::{App, AppError};
use tributary_store::TicketMessage;

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal/support", get(tickets))
        .route("/portal/support/{id}", get(ticket))
        .route("/portal/support/{id}/files/{message_id}", get(file))
}

/// The forms that take a file: mounted with the uploads, outside the general body limit.
pub fn upload_router() -> Router<App> {
    Router::new()
        .route("/portal/support", post(open))
        .route("/portal/support/{id}", post(reply))
        .layer(DefaultBodyLimit::max(crate::MAX_UPLOAD_BYTES))
}

fn ticket_id(id: &str) -> Result<uuid::Uuid, UiError> {
    id.parse().map_err(|_| UiError::not_found("ticket"))
}

/// What a ticket's attachment is called when nothing of its own name is safe to use.
const FALLBACK_NAME: &str = "attachment";

/// A ticket attachment's name as shown and downloaded: `page::safe_file_name`.
pub(super) fn attachment_name(name: &str) -> String {
    page::safe_file_name(name, FALLBACK_NAME)
}

/// A ticket's attachment as a download (never shown inline): `page::download_response`.
pub(super) fn download_response(file: Download) -> Response {
    page::download_response(file, FALLBACK_NAME)
}

/// The fields of a ticket form as submitted: a subject (opening only), a message and a file.
#[derive(Default)]
pub(super) struct TicketForm {
    pub csrf_token: String,
    pub subject: String,
    pub body: String,
    pub attachment: Option<Upload>,
}

/// Reads a multipart ticket form (`csrf_token`, `subject`, `body`, file `attachment`).
pub(super) async fn read_ticket_form(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<TicketForm, UiError> {
    let unreadable = || UiError::bad_request("the form could not be read (is the file too large?)");
    let mut multipart = multipart.map_err(|_| unreadable())?;
    let mut form = TicketForm::default();
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "attachment" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let content_type = field
                .content_type()
                .map(str::to_string)
                .filter(|value| !value.trim().is_empty())
                .unwrap_or_else(|| "application/octet-stream".into());
            let bytes = field.bytes().await.map_err(|_| unreadable())?;
            if !bytes.is_empty() {
                form.attachment = Some(Upload {
                    file_name,
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
            continue;
        }
        let text = field.text().await.map_err(|_| unreadable())?;
        match name.as_str() {
            "csrf_token" => form.csrf_token = text,
            "subject" => form.subject = text,
            "body" => form.body = text,
            _ => {}
        }
    }
    Ok(form)
}

// ----- The list and the new-ticket form -----

struct TicketRow {
    id: String,
    subject: String,
    status: String,
    updated_at: String,
}

#[derive(Template)]
#[template(path = "portal/support.html")]
struct SupportPage {
    layout: Layout,
    rows: Vec<TicketRow>,
    pager: Pager,
    subject: String,
    body: String,
    max_message_len: usize,
    feedback: Feedback,
}

const TICKET_FIELDS: [&str; 3] = ["subject", "body", "attachment"];

async fn tickets(
    State(app): State<App>,
    partner: PartnerSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let number = ListQuery::from(query).page_number();
    portal_answer(
        tickets_view(
            &app,
            &partner,
            number,
            TicketForm::default(),
            Feedback::none(),
            StatusCode::OK,
        )
        .await,
    )
}

async fn tickets_view(
    app: &App,
    partner: &PartnerSession,
    number: u32,
    draft: TicketForm,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, UiError> {
    let list = support::list(
        app,
        partner.session.workspace_id,
        Some(partner.partner.id),
        None,
        probe(number),
    )
    .await?;
    let (list, pager) = paginate(list, number, "/portal/support");
    let page = SupportPage {
        layout: layout_at("Support", partner, "/portal/support"),
        rows: list
            .into_iter()
            .map(|ticket| TicketRow {
                id: ticket.id.to_string(),
                subject: ticket.subject,
                status: ticket.status,
                updated_at: when(ticket.updated_at),
            })
            .collect(),
        pager,
        subject: draft.subject,
        body: draft.body,
        max_message_len: MAX_MESSAGE_LEN,
        feedback,
    };
    Ok(render(status, &page))
}

async fn open(
    State(app): State<App>,
    partner: PartnerSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    portal_answer(open_form(&app, &partner, multipart).await)
}

async fn open_form(
    app: &App,
    partner: &PartnerSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, UiError> {
    let mut form = read_ticket_form(multipart).await?;
    partner.authorize(&form.csrf_token)?;
    match support::open(
        app,
        partner.session.workspace_id,
        partner.partner.id,
        &form.subject,
        &form.body,
        form.attachment.take(),
    )
    .await
    {
        Ok(ticket) => Ok(see_other(&format!("/portal/support/{}", ticket.id))),
        Err(error @ AppError::Invalid { .. }) => {
            let feedback = Feedback::from_error("ticket", &TICKET_FIELDS, &error);
            tickets_view(app, partner, 1, form, feedback, form_status(&error)).await
        }
        Err(other) => Err(other.into()),
    }
}

// ----- One ticket -----

pub(super) struct MessageView {
    pub id: String,
    pub author: String,
    /// The business wrote it (styled apart from the partner's messages).
    pub from_business: bool,
    /// The message's lines (shown with their breaks).
    pub lines: Vec<String>,
    pub created_at: String,
    /// The attachment's name, when the message has one.
    pub attachment: Option<String>,
}

impl MessageView {
    /// `author` names the message's writer for the page.
    pub(super) fn new(message: TicketMessage, author: String, from_business: bool) -> MessageView {
        MessageView {
            id: message.id.to_string(),
            author,
            from_business,
            // The thread is read without the files' bytes: a name means a file.
            attachment: message.attachment_name.as_deref().map(attachment_name),
            lines: message.body.lines().map(str::to_string).collect(),
            created_at: when(message.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/ticket.html")]
struct TicketPage {
    layout: Layout,
    id: String,
    subject: String,
    status: String,
    created_at: String,
    updated_at: String,
    messages: Vec<MessageView>,
    body: String,
    max_message_len: usize,
    feedback: Feedback,
}

async fn ticket(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = ticket_id(&id)?;
        ticket_view(
            &app,
            &partner,
            id,
            String::new(),
            Feedback::none(),
            StatusCode::OK,
        )
        .await
    }
    .await;
    portal_answer(result)
}

async fn ticket_view(
    app: &App,
    partner: &PartnerSession,
    id: uuid::Uuid,
    body: String,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (ticket, messages) = support::thread(
        app,
        partner.session.workspace_id,
        id,
        Author::Partner(partner.partner.id),
    )
    .await?;
    let own = format!("partner:{}", partner.partner.id);
    let messages = messages
        .into_iter()
        .map(|message| {
            let mine = message.author == own;
            let author = if mine { "You" } else { "Support" };
            MessageView::new(message, author.into(), !mine)
        })
        .collect();
    let page = TicketPage {
        layout: layout_at(&ticket.subject, partner, "/portal/support"),
        id: ticket.id.to_string(),
        subject: ticket.subject,
        status: ticket.status,
        created_at: when(ticket.created_at),
        updated_at: when(ticket.updated_at),
        messages,
        body,
        max_message_len: MAX_MESSAGE_LEN,
        feedback,
    };
    Ok(render(status, &page))
}

async fn reply(
    State(app): State<App>,
    partner: PartnerSession,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    portal_answer(reply_form(&app, &partner, &id, multipart).await)
}

async fn reply_form(
    app: &App,
    partner: &PartnerSession,
    id: &str,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, UiError> {
    let id = ticket_id(id)?;
    let mut form = read_ticket_form(multipart).await?;
    partner.authorize(&form.csrf_token)?;
    match support::reply(
        app,
        partner.session.workspace_id,
        id,
        Author::Partner(partner.partner.id),
        &form.body,
        form.attachment.take(),
    )
    .await
    {
        Ok(ticket) => Ok(see_other(&format!("/portal/support/{}", ticket.id))),
        Err(error @ AppError::Invalid { .. }) => {
            let feedback = Feedback::from_error("reply", &TICKET_FIELDS, &error);
            ticket_view(app, partner, id, form.body, feedback, form_status(&error)).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn file(
    State(app): State<App>,
    partner: PartnerSession,
    Path((id, message_id)): Path<(String, String)>,
) -> Response {
    let result = async {
        let id = ticket_id(&id)?;
        let message_id: uuid::Uuid = message_id
            .parse()
            .map_err(|_| UiError::not_found("attachment"))?;
        let file = support::attachment(
            &app,
            partner.session.workspace_id,
            id,
            message_id,
            Author::Partner(partner.partner.id),
        )
        .await?;
        Ok(download_response(file))
    }
    .await;
    portal_answer(result)
}

#[cfg(test)]
mod tests {
    use super::attachment_name;

    #[test]
    fn attachment_names_keep_only_safe_characters() {
        assert_eq!(attachment_name("screen shot 1.png"), "screenshot1.png");
        assert_eq!(attachment_name("a\"b\r\nc.txt"), "abc.txt");
        assert_eq!(attachment_name("../../etc/passwd"), "etcpasswd");
        assert_eq!(attachment_name("\"\""), "attachment");
    }
}
