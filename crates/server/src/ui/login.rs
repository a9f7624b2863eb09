//! Signing in and out of both areas. The login forms are protected by a double-submit
//! cookie; logging in replaces any session the browser had, so one browser holds one
//! session (an admin signing in to the portal stops being signed in as admin).

use super::error::UiError;
use super::page::{Area, Layout, render, see_other};
use super::session::{self, AdminSession, PartnerSession};
use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tributary_app::{App, AppError, auth};

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin/login", get(admin_form).post(admin_submit))
        .route("/admin/logout", post(admin_logout))
        .route("/portal/login", get(portal_form).post(portal_submit))
        .route("/portal/logout", post(portal_logout))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogoutForm {
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    heading: &'static str,
    intro: &'static str,
    action: &'static str,
    csrf_token: String,
    email: String,
    error: Option<&'static str>,
    other_href: &'static str,
    other_label: &'static str,
}

fn login_page(
    area: Area,
    csrf_token: String,
    email: String,
    error: Option<&'static str>,
) -> LoginPage {
    let (heading, intro, other_href, other_label) = match area {
        Area::Admin => (
            "Sign in to Tributary",
            "Staff sign-in: manage programs, partners, links, commissions and payouts.",
            "/portal/login",
            "Are you a partner? Sign in to the partner portal",
        ),
        Area::Portal => (
            "Partner portal",
            "Sign in to see your tracking links, your commissions and your balance.",
            "/admin/login",
            "Staff sign-in",
        ),
    };
    LoginPage {
        layout: Layout::bare(heading, area),
        heading,
        intro,
        action: area.login_path(),
        csrf_token,
        email,
        error,
        other_href,
        other_label,
    }
}

/// Whether the browser is already signed in to `area`.
async fn signed_in(app: &App, area: Area, headers: &HeaderMap) -> bool {
    match area {
        Area::Admin => AdminSession::from_headers(app, headers).await.is_ok(),
        Area::Portal => PartnerSession::from_headers(app, headers).await.is_ok(),
    }
}

async fn show_form(app: &App, area: Area, headers: &HeaderMap) -> Response {
    if signed_in(app, area, headers).await {
        return see_other(area.home_path());
    }
    let (csrf_token, set_cookie) = session::login_csrf(headers);
    let mut response = render(
        StatusCode::OK,
        &login_page(area, csrf_token, String::new(), None),
    );
    if let Some(set_cookie) = set_cookie {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie);
    }
    response
}

async fn submit(
    app: &App,
    area: Area,
    headers: &HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(UiError::bad_request("the sign-in form could not be read").in_area(area));
    };
    if !session::login_csrf_matches(headers, &form.csrf_token) {
        return Err(UiError::csrf(area));
    }
    let result = match area {
        Area::Admin => auth::login_admin(app, &form.email, &form.password).await,
        Area::Portal => auth::login_partner(app, &form.email, &form.password).await,
    };
    let new_session = match result {
        Ok(new_session) => new_session,
        Err(AppError::Unauthenticated) => {
            tracing::info!(
                area = area.label(),
                "sign-in refused: wrong email or password"
            );
            let page = login_page(
                area,
                form.csrf_token,
                form.email,
                Some("That email and password do not match an account. Check both and try again."),
            );
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(error) => return Err(UiError::from(error).in_area(area)),
    };
    // The browser's previous session, of either kind, ends here.
    if let Some(old_token) = session::cookie(headers, session::SESSION_COOKIE)
        && let Err(error) = auth::logout(app, old_token).await
    {
        tracing::warn!(%error, "could not end the previous session at sign-in");
    }
    tracing::info!(area = area.label(), workspace_id = %new_session.session.workspace_id, "signed in");
    let mut response = see_other(area.home_path());
    if let Some(cookie) = session::session_cookie(&new_session.token) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn logout(
    app: &App,
    area: Area,
    headers: &HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Some((token, current)) = session::any_session(app, headers).await? else {
        return Ok(see_other(area.login_path()));
    };
    let submitted = form.map(|Form(form)| form.csrf_token).unwrap_or_default();
    if !session::same_secret(&current.csrf_token, &submitted) {
        return Err(UiError::csrf(area));
    }
    auth::logout(app, &token).await?;
    let mut response = see_other(area.login_path());
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear_session_cookie());
    Ok(response)
}

async fn admin_form(State(app): State<App>, headers: HeaderMap) -> Response {
    show_form(&app, Area::Admin, &headers).await
}

async fn portal_form(State(app): State<App>, headers: HeaderMap) -> Response {
    show_form(&app, Area::Portal, &headers).await
}

async fn admin_submit(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    submit(&app, Area::Admin, &headers, form)
        .await
        .into_response()
}

async fn portal_submit(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    submit(&app, Area::Portal, &headers, form)
        .await
        .into_response()
}

async fn admin_logout(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    logout(&app, Area::Admin, &headers, form)
        .await
        .into_response()
}

async fn portal_logout(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    logout(&app, Area::Portal, &headers, form)
        .await
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}
