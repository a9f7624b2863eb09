//! Browser sessions: the `tributary_session` cookie, the extractors that turn it into a
//! signed-in admin or partner, and CSRF checks (the session's token for signed-in forms, a
//! double-submit cookie for the login forms).

use super::error::UiError;
use super::page::Area;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use tributary_app::App;
use tributary_app::auth;
use tributary_core::WorkspaceId;
use tributary_store::{Partner, Principal, Role, Session, User};

pub const SESSION_COOKIE: &str = "tributary_session";
/// The login forms' double-submit token: there is no session to hold one yet.
pub const LOGIN_CSRF_COOKIE: &str = "tributary_csrf";
/// Random bytes in a login CSRF token (base64url: 32 characters).
const LOGIN_CSRF_BYTES: usize = 24;
/// Longest cookie value read; longer ones are ignored, not parsed.
const MAX_COOKIE_VALUE_LEN: usize = 256;

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty() && value.len() <= MAX_COOKIE_VALUE_LEN)
}

/// `Set-Cookie` for a session token: the browser keeps it no longer than the server does.
pub fn session_cookie(token: &str) -> Option<HeaderValue> {
    let max_age_seconds = auth::SESSION_TTL_MILLIS / 1000;
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_seconds}"
    ))
    .ok()
}

pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static("tributary_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

/// The login CSRF token to use: the browser's own if it has a plausible one, else a new one
/// (returned with its `Set-Cookie`).
pub fn login_csrf(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(existing) = cookie(headers, LOGIN_CSRF_COOKIE).filter(|value| {
        value.len() == 32
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return (existing.to_string(), None);
    }
    let token = auth::random_token(LOGIN_CSRF_BYTES);
    let set_cookie = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/"
    ))
    .ok();
    (token, set_cookie)
}

/// Whether a login form's token matches the browser's login CSRF cookie.
pub fn login_csrf_matches(headers: &HeaderMap, submitted: &str) -> bool {
    cookie(headers, LOGIN_CSRF_COOKIE).is_some_and(|expected| same_secret(expected, submitted))
}

/// Compares two secrets in time that depends only on their lengths.
pub fn same_secret(expected: &str, submitted: &str) -> bool {
    let (expected, submitted) = (expected.as_bytes(), submitted.as_bytes());
    if expected.is_empty() || expected.len() != submitted.len() {
        return false;
    }
    expected
        .iter()
        .zip(submitted)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// The live session behind the request's cookie, with its token.
async fn current(app: &App, headers: &HeaderMap) -> Result<Option<(String, Session)>, UiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(auth::session(app, token)
        .await?
        .map(|session| (token.to_string(), session)))
}

/// A signed-in staff user. Extracting it from a request without one redirects to the admin
/// login; a partner's session does not count.
pub struct AdminSession {
    pub session: Session,
    pub user: User,
}

impl AdminSession {
    pub fn workspace_id(&self) -> WorkspaceId {
        self.session.workspace_id
    }

    pub fn may_write(&self) -> bool {
        self.user.role != Role::Viewer
    }

    /// A POST that changes nothing (a simulation): the CSRF token, any role.
    pub fn authorize_read(&self, submitted_csrf: &str) -> Result<(), UiError> {
        if !same_secret(&self.session.csrf_token, submitted_csrf) {
            return Err(UiError::csrf(Area::Admin));
        }
        Ok(())
    }

    /// Every admin POST: the form's CSRF token first, then the user's role.
    pub fn authorize_write(&self, submitted_csrf: &str) -> Result<(), UiError> {
        if !same_secret(&self.session.csrf_token, submitted_csrf) {
            return Err(UiError::csrf(Area::Admin));
        }
        if !self.may_write() {
            return Err(UiError::forbidden(
                "Your role is viewer: you can look at everything here but change nothing. \
                 Ask an owner of the workspace for the manager or finance role.",
            ));
        }
        Ok(())
    }
}

impl AdminSession {
    pub async fn from_headers(app: &App, headers: &HeaderMap) -> Result<Self, UiError> {
        let sign_in = || UiError::sign_in(Area::Admin);
        let (_, session) = current(app, headers).await?.ok_or_else(sign_in)?;
        let Principal::User(user_id) = session.principal else {
            return Err(sign_in());
        };
        let user = app
            .store
            .read()
            .await?
            .user(user_id)
            .await?
            .filter(|user| user.workspace_id == session.workspace_id)
            .ok_or_else(sign_in)?;
        Ok(AdminSession { session, user })
    }
}

impl FromRequestParts<App> for AdminSession {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        AdminSession::from_headers(app, &parts.headers).await
    }
}

/// A signed-in partner. Extracting it from a request without one redirects to the portal
/// login; a staff session does not count.
pub struct PartnerSession {
    pub session: Session,
    pub partner: Partner,
}

impl PartnerSession {
    pub async fn from_headers(app: &App, headers: &HeaderMap) -> Result<Self, UiError> {
        let sign_in = || UiError::sign_in(Area::Portal);
        let (_, session) = current(app, headers)
            .await
            .map_err(|error| error.in_area(Area::Portal))?
            .ok_or_else(sign_in)?;
        let Principal::Partner(partner_id) = session.principal else {
            return Err(sign_in());
        };
        let partner = app
            .store
            .read()
            .await
            .map_err(|error| UiError::from(error).in_area(Area::Portal))?
            .partner(session.workspace_id, partner_id)
            .await
            .map_err(|error| UiError::from(error).in_area(Area::Portal))?
            .ok_or_else(sign_in)?;
        Ok(PartnerSession { session, partner })
    }

    /// Checks a portal form's CSRF token.
    pub fn authorize(&self, submitted_csrf: &str) -> Result<(), UiError> {
        if same_secret(&self.session.csrf_token, submitted_csrf) {
            Ok(())
        } else {
            Err(UiError::csrf(Area::Portal))
        }
    }
}

impl FromRequestParts<App> for PartnerSession {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        PartnerSession::from_headers(app, &parts.headers).await
    }
}

/// The session behind the request whatever its kind, for logout.
pub async fn any_session(
    app: &App,
    headers: &HeaderMap,
) -> Result<Option<(String, Session)>, UiError> {
    current(app, headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tributary_session=abc; tclid=x"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, LOGIN_CSRF_COOKIE), None);
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", ""));
    }
}
