//! The public pages a stranger reaches without an account: a program's page and
//! application form (`/join/{slug}`), an invitation (`/invite/{token}`) and the welcome
//! link an approval emails (`/portal/welcome/{token}`). Forms carry the login pages'
//! double-submit token; the application form also has a honeypot field people never see
//! (a bot that fills it is thanked and nothing is stored) and a per-IP rate limit.

use super::error::UiError;
use super::markdown;
use super::page::{Area, Layout, SelectOption, render, see_other};
use super::session;
use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tributary_app::lifecycle::program::{PublicProgram, public_program};
use tributary_app::lifecycle::{applications, invitations};
use tributary_app::{App, AppError, auth};
use tributary_core::lifecycle::{Question, QuestionKind};
use tributary_store::Partner;

/// The hidden field a person never fills.
pub const HONEYPOT_FIELD: &str = "fax_number";

pub fn router() -> Router<App> {
    Router::new()
        .route("/join/{slug}", get(join_page).post(join_submit))
        .route("/invite/{token}", get(invite_page).post(invite_submit))
        .route(
            "/portal/welcome/{token}",
            get(welcome_page).post(welcome_submit),
        )
}

struct GroupView {
    key: String,
    name: String,
    pitch_html: String,
}

struct QuestionView {
    id: String,
    label: String,
    /// The input's `type`, or `select` / `textarea`.
    input: &'static str,
    required: bool,
    choices: Vec<SelectOption>,
    value: String,
    /// Which group asks it, when only one does.
    only_for: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "public/join.html")]
struct JoinPage {
    layout: Layout,
    slug: String,
    program_name: String,
    headline: String,
    pitch_html: String,
    accepting: bool,
    full: bool,
    groups: Vec<GroupView>,
    group_options: Vec<SelectOption>,
    questions: Vec<QuestionView>,
    csrf_token: String,
    honeypot: &'static str,
    values: BTreeMap<String, String>,
    error: Option<String>,
    field_errors: BTreeMap<String, String>,
}

impl JoinPage {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        self.field_errors.get(field).map(String::as_str)
    }
}

fn question_view(
    question: &Question,
    only_for: Option<String>,
    values: &BTreeMap<String, String>,
    field_errors: &BTreeMap<String, String>,
) -> QuestionView {
    let value = values.get(&question.id).cloned().unwrap_or_default();
    QuestionView {
        id: question.id.clone(),
        label: question.label.clone(),
        input: match question.kind {
            QuestionKind::Text => "textarea",
            QuestionKind::Choice => "select",
            QuestionKind::Url => "url",
            QuestionKind::Number => "text",
        },
        required: question.required && only_for.is_none(),
        choices: question
            .choices
            .iter()
            .map(|choice| SelectOption {
                value: choice.clone(),
                label: choice.clone(),
                selected: *choice == value,
            })
            .collect(),
        value,
        only_for,
        error: field_errors.get(&question.id).cloned(),
    }
}

fn join_view(
    public: &PublicProgram,
    csrf_token: String,
    values: BTreeMap<String, String>,
    error: Option<String>,
    field_errors: BTreeMap<String, String>,
) -> JoinPage {
    let lifecycle = &public.row.lifecycle;
    let headline = if lifecycle.headline.trim().is_empty() {
        format!("Become a partner: {}", public.program.name)
    } else {
        lifecycle.headline.clone()
    };
    let chosen = values.get("group").cloned().unwrap_or_default();
    let mut questions: Vec<QuestionView> = lifecycle
        .questions
        .iter()
        .map(|question| question_view(question, None, &values, &field_errors))
        .collect();
    for group in &lifecycle.groups {
        questions.extend(group.questions.iter().map(|question| {
            question_view(question, Some(group.name.clone()), &values, &field_errors)
        }));
    }
    JoinPage {
        layout: Layout::bare(headline.clone(), Area::Portal),
        slug: public.row.slug.clone(),
        program_name: public.program.name.clone(),
        headline,
        pitch_html: markdown::to_html(&lifecycle.value_proposition),
        accepting: public.accepting,
        full: public.full,
        groups: lifecycle
            .groups
            .iter()
            .map(|group| GroupView {
                key: group.key.clone(),
                name: group.name.clone(),
                pitch_html: markdown::to_html(&group.value_proposition),
            })
            .collect(),
        group_options: lifecycle
            .groups
            .iter()
            .map(|group| SelectOption {
                value: group.key.clone(),
                label: group.name.clone(),
                selected: group.key == chosen,
            })
            .collect(),
        questions,
        csrf_token,
        honeypot: HONEYPOT_FIELD,
        values,
        error,
        field_errors,
    }
}

/// A page answer with the login CSRF cookie set when the browser had none.
fn with_cookie(mut response: Response, set_cookie: Option<header::HeaderValue>) -> Response {
    if let Some(set_cookie) = set_cookie {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie);
    }
    response
}

fn public_error(error: AppError) -> UiError {
    UiError::from(error).in_area(Area::Portal)
}

async fn join_page(
    State(app): State<App>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let public = public_program(&app, &slug).await.map_err(public_error)?;
    let (csrf_token, set_cookie) = session::login_csrf(&headers);
    let page = join_view(&public, csrf_token, BTreeMap::new(), None, BTreeMap::new());
    Ok(with_cookie(render(StatusCode::OK, &page), set_cookie))
}

#[derive(Template)]
#[template(path = "public/joined.html")]
struct JoinedPage {
    layout: Layout,
    program_name: String,
    status: String,
    reason: String,
}

async fn join_submit(
    State(app): State<App>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let public = public_program(&app, &slug).await.map_err(public_error)?;
    let Ok(Form(pairs)) = form else {
        return Err(
            UiError::bad_request("the application form could not be read").in_area(Area::Portal),
        );
    };
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        if values.len() < 100 {
            values.entry(name).or_insert(value);
        }
    }
    let submitted_csrf = values.remove("csrf_token").unwrap_or_default();
    if !session::login_csrf_matches(&headers, &submitted_csrf) {
        return Err(UiError::csrf(Area::Portal));
    }
    let thanks = |status: &str, reason: &str| {
        render(
            StatusCode::OK,
            &JoinedPage {
                layout: Layout::bare("Application received", Area::Portal),
                program_name: public.program.name.clone(),
                status: status.to_string(),
                reason: reason.to_string(),
            },
        )
    };
    if values
        .remove(HONEYPOT_FIELD)
        .is_some_and(|value| !value.is_empty())
    {
        tracing::info!(program_id = %public.program.id, "application dropped: the honeypot was filled");
        return Ok(thanks("pending", ""));
    }
    let ip = peer.ip().to_string();
    match applications::apply(&app, &slug, &values, Some(&ip)).await {
        Ok(application) => Ok(thanks(
            &application.status,
            application.reason.as_deref().unwrap_or_default(),
        )),
        Err(error @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let (mut field_errors, mut general) = (BTreeMap::new(), None);
            match &error {
                AppError::Invalid {
                    field: Some(field),
                    message,
                } => {
                    field_errors.insert(field.clone(), message.clone());
                }
                other => general = Some(other.to_string()),
            }
            if field_errors.is_empty() && general.is_none() {
                general = Some(error.to_string());
            }
            let page = join_view(&public, submitted_csrf, values, general, field_errors);
            let status = if matches!(error, AppError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(render(status, &page))
        }
        Err(other) => Err(public_error(other)),
    }
}

#[derive(Template)]
#[template(path = "public/choose_password.html")]
struct ChoosePasswordPage {
    layout: Layout,
    heading: String,
    intro: String,
    action: String,
    csrf_token: String,
    ask_name: bool,
    name: String,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    csrf_token: String,
    name: String,
    password: String,
}

/// Signs the partner in (replacing any session the browser had) and opens the portal.
async fn sign_in(app: &App, headers: &HeaderMap, partner: &Partner) -> Result<Response, UiError> {
    if let Some(old_token) = session::cookie(headers, session::SESSION_COOKIE)
        && let Err(error) = auth::logout(app, old_token).await
    {
        tracing::warn!(%error, "could not end the previous session");
    }
    let new_session = auth::open_partner_session(app, partner)
        .await
        .map_err(public_error)?;
    let mut response = see_other("/portal");
    if let Some(cookie) = session::session_cookie(&new_session.token) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn invite_page(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let (invitation, program) = invitations::open_invitation(&app, &token)
        .await
        .map_err(public_error)?;
    let (csrf_token, set_cookie) = session::login_csrf(&headers);
    let page = ChoosePasswordPage {
        layout: Layout::bare(format!("Join {}", program.name), Area::Portal),
        heading: format!("Join {}", program.name),
        intro: format!(
            "You were invited as {}. Choose a password for your partner portal (if you \
             already have one, it stays as it is and this password is ignored).",
            invitation.email
        ),
        action: format!("/invite/{token}"),
        csrf_token,
        ask_name: true,
        name: invitation.name.unwrap_or_default(),
        error: None,
    };
    Ok(with_cookie(render(StatusCode::OK, &page), set_cookie))
}

async fn invite_submit(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(UiError::bad_request("the form could not be read").in_area(Area::Portal));
    };
    if !session::login_csrf_matches(&headers, &form.csrf_token) {
        return Err(UiError::csrf(Area::Portal));
    }
    match invitations::accept(&app, &token, &form.name, &form.password).await {
        Ok(partner) => sign_in(&app, &headers, &partner).await,
        Err(error @ AppError::Invalid { .. }) => {
            let (_, program) = invitations::open_invitation(&app, &token)
                .await
                .map_err(public_error)?;
            let page = ChoosePasswordPage {
                layout: Layout::bare(format!("Join {}", program.name), Area::Portal),
                heading: format!("Join {}", program.name),
                intro: String::new(),
                action: format!("/invite/{token}"),
                csrf_token: form.csrf_token,
                ask_name: true,
                name: form.name,
                error: Some(error.to_string()),
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(public_error(other)),
    }
}

fn welcome_view(token: &str, csrf_token: String, error: Option<String>) -> ChoosePasswordPage {
    ChoosePasswordPage {
        layout: Layout::bare("Choose your password", Area::Portal),
        heading: "Choose your password".into(),
        intro: "Your application was approved. Choose the password you will sign in to the \
                partner portal with."
            .into(),
        action: format!("/portal/welcome/{token}"),
        csrf_token,
        ask_name: false,
        name: String::new(),
        error,
    }
}

async fn welcome_page(Path(token): Path<String>, headers: HeaderMap) -> Response {
    let (csrf_token, set_cookie) = session::login_csrf(&headers);
    with_cookie(
        render(StatusCode::OK, &welcome_view(&token, csrf_token, None)),
        set_cookie,
    )
}

async fn welcome_submit(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(UiError::bad_request("the form could not be read").in_area(Area::Portal));
    };
    if !session::login_csrf_matches(&headers, &form.csrf_token) {
        return Err(UiError::csrf(Area::Portal));
    }
    match invitations::set_password(&app, &token, &form.password).await {
        Ok(partner) => sign_in(&app, &headers, &partner).await,
        Err(error @ AppError::Invalid { .. }) => Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &welcome_view(&token, form.csrf_token, Some(error.to_string())),
        )),
        Err(AppError::NotFound(_)) => Err(UiError::bad_request(
            "This link was used already or has expired. Sign in with your password, or ask \
             the program for a new link.",
        )
        .in_area(Area::Portal)),
        Err(other) => Err(public_error(other)),
    }
}
