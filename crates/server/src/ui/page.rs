//! Page plumbing shared by the admin area and the portal: the layout every page extends,
//! form feedback, pagination, display formatting and rendering.

use super::assets;
use super::error::UiError;
use askama::Template;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tributary_app::AppError;
use tributary_app::lifecycle::content::Download;
use tributary_core::{Currency, Money, Timestamp};
use tributary_store::{Page, StoreError};

/// Rows per page in every listing.
pub const PAGE_SIZE: u32 = 50;
/// Highest page number a listing accepts: the store caps offsets at 1,000,000.
pub const MAX_PAGE_NUMBER: u32 = 1_000_000 / PAGE_SIZE;
/// Options in a program or partner select at most (the store's largest page).
pub const MAX_SELECT_OPTIONS: u32 = Page::MAX_LIMIT;

/// Which part of the site a page belongs to; decides the login page and the home link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Admin,
    Portal,
}

impl Area {
    pub fn login_path(self) -> &'static str {
        match self {
            Area::Admin => "/admin/login",
            Area::Portal => "/portal/login",
        }
    }

    pub fn home_path(self) -> &'static str {
        match self {
            Area::Admin => "/admin",
            Area::Portal => "/portal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Area::Admin => "Admin",
            Area::Portal => "Partner portal",
        }
    }
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// What the shared layout (`base.html`) needs on every page.
pub struct Layout {
    pub title: String,
    pub area_label: &'static str,
    pub home_href: &'static str,
    pub nav: Vec<NavItem>,
    /// Who is signed in, for the header; `None` on login and error pages.
    pub signed_in_as: Option<String>,
    pub logout_action: &'static str,
    /// The session's CSRF token, put in every form as `csrf_token`.
    pub csrf_token: String,
    pub css_url: &'static str,
    pub htmx_url: &'static str,
}

impl Layout {
    /// A page with no session: login and error pages.
    pub fn bare(title: impl Into<String>, area: Area) -> Layout {
        Layout {
            title: title.into(),
            area_label: area.label(),
            home_href: area.home_path(),
            nav: Vec::new(),
            signed_in_as: None,
            logout_action: "",
            csrf_token: String::new(),
            css_url: assets::css_url(),
            htmx_url: assets::htmx_url(),
        }
    }
}

/// An option of a `<select>`, with its selection decided in Rust, not in the template.
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A label and a value, for definition lists.
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

impl Fact {
    pub fn new(label: &'static str, value: impl Into<String>) -> Fact {
        Fact {
            label,
            value: value.into(),
        }
    }
}

/// What went wrong with a submitted form, shown next to the field it names, or above the
/// form when it names none of the form's fields.
#[derive(Default)]
pub struct Feedback {
    form: &'static str,
    field: Option<String>,
    message: String,
}

impl Feedback {
    pub fn none() -> Feedback {
        Feedback::default()
    }

    /// Feedback for `form` from an application error. `fields` are the inputs the form
    /// shows; an error naming another field is shown above the form.
    pub fn from_error(form: &'static str, fields: &[&str], error: &AppError) -> Feedback {
        let (field, message) = match error {
            AppError::Invalid { field, message } => (
                field
                    .as_deref()
                    .filter(|field| fields.contains(field))
                    .map(str::to_string),
                message.clone(),
            ),
            other => (None, crate::error::public_message(other)),
        };
        Feedback {
            form,
            field,
            message,
        }
    }

    /// The message for one field of one form.
    pub fn field(&self, form: &str, field: &str) -> Option<&str> {
        (!self.message.is_empty() && self.form == form && self.field.as_deref() == Some(field))
            .then_some(self.message.as_str())
    }

    /// The message for a form that names none of its fields.
    pub fn general(&self, form: &str) -> Option<&str> {
        (!self.message.is_empty() && self.form == form && self.field.is_none())
            .then_some(self.message.as_str())
    }
}

/// The status a re-rendered form answers with.
pub fn form_status(error: &AppError) -> StatusCode {
    match error {
        AppError::Conflict(_) | AppError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Whether an error belongs next to a form (the user can fix it) rather than on an error page.
pub fn is_form_error(error: &AppError) -> bool {
    matches!(
        error,
        AppError::Invalid { .. }
            | AppError::Conflict(_)
            | AppError::NotFound(_)
            | AppError::Store(StoreError::Conflict(_))
    )
}

/// `?page=` links of a listing.
pub struct Pager {
    pub number: u32,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

/// `?page=` and, on the commissions listing, `?state=`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    pub page: Option<String>,
    pub state: Option<String>,
}

impl ListQuery {
    /// The query of a listing; an unreadable one is the first page, unfiltered.
    pub fn from(query: Result<Query<ListQuery>, QueryRejection>) -> ListQuery {
        query.map(|Query(query)| query).unwrap_or_default()
    }

    pub fn page_number(&self) -> u32 {
        page_number(self.page.as_deref())
    }
}

/// The 1-based page number from `?page=`; anything unreadable is the first page.
pub fn page_number(text: Option<&str>) -> u32 {
    text.and_then(|text| text.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE_NUMBER)
}

/// The store page for a page number, asking one row more to tell whether a next page exists.
pub fn probe(number: u32) -> Page {
    Page::new(
        Some(PAGE_SIZE + 1),
        Some(number.saturating_sub(1).saturating_mul(PAGE_SIZE)),
    )
}

/// Cuts the probe row off and builds the prev/next links. `base` is a path, optionally
/// with a query ending in `&` (for filters).
pub fn paginate<T>(mut rows: Vec<T>, number: u32, base: &str) -> (Vec<T>, Pager) {
    let has_next = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let separator = if base.contains('?') { "" } else { "?" };
    let href = |n: u32| format!("{base}{separator}page={n}");
    let pager = Pager {
        number,
        prev_href: (number > 1).then(|| href(number - 1)),
        next_href: (has_next && number < MAX_PAGE_NUMBER).then(|| href(number + 1)),
    };
    (rows, pager)
}

/// An optional whole number from a form field: empty is `None`, anything else must parse.
pub fn optional_number<T: std::str::FromStr>(
    field: &str,
    text: &str,
) -> Result<Option<T>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<T>().map(Some).map_err(|_| {
        AppError::invalid(
            field,
            format!("{} must be a whole number", field.replace('_', " ")),
        )
    })
}

/// An id chosen in a select; anything that is not one is an input error on that field.
pub fn chosen_id<T: std::str::FromStr>(field: &str, what: &str, text: &str) -> Result<T, AppError> {
    text.trim()
        .parse::<T>()
        .map_err(|_| AppError::invalid(field, format!("choose a {what}")))
}

/// `http://host:port` of the request, for the full tracking URLs shown to people. The
/// scheme comes from `X-Forwarded-Proto` when a proxy in front terminates TLS.
pub fn site_origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host.len() <= 255
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// `2025-03-01 14:05 UTC`.
pub fn when(at: Timestamp) -> String {
    const FORMAT: &[::time::format_description::BorrowedFormatItem<'static>] =
        ::time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000)
        .ok()
        .and_then(|time| time.format(FORMAT).ok())
        .unwrap_or_else(|| at.millis().to_string())
}

pub fn money(amount_minor: i64, currency: Currency) -> String {
    Money::new(amount_minor, currency).to_string()
}

/// The first block of a UUID, enough to tell rows apart on screen.
pub fn short_id(id: impl std::fmt::Display) -> String {
    id.to_string().chars().take(8).collect()
}

/// Renders a template with a status. A template that fails to render is a bug: it is
/// logged and answered with a plain 500.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; it has been logged",
            )
                .into_response()
        }
    }
}

/// A 303 to `location`: the answer to a successful form and to a missing session.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A portal answer: errors as portal pages.
pub fn portal_answer(result: Result<Response, UiError>) -> Response {
    result
        .map_err(|error| error.in_area(Area::Portal))
        .into_response()
}

/// A file name safe in a `Content-Disposition` header: `[A-Za-z0-9._-]` only, at most 100
/// characters, no leading dots; `fallback` when nothing is left.
pub fn safe_file_name(name: &str, fallback: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        fallback.into()
    } else {
        cleaned.into()
    }
}

/// A stored file as a download (never shown inline), named by `safe_file_name` with
/// `fallback_name`.
pub fn download_response(file: Download, fallback_name: &str) -> Response {
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        safe_file_name(&file.file_name, fallback_name)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut response = (StatusCode::OK, file.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    // `X-Content-Type-Options: nosniff` is added to every answer (`ui::security_headers`).
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_clamped_and_forgiving() {
        assert_eq!(page_number(None), 1);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("x")), 1);
        assert_eq!(page_number(Some("3")), 3);
        assert_eq!(page_number(Some("99999999")), MAX_PAGE_NUMBER);
    }

    #[test]
    fn pagination_links_follow_the_probe_row() {
        let rows: Vec<u32> = (0..=PAGE_SIZE).collect();
        let (rows, pager) = paginate(rows, 1, "/admin/links");
        assert_eq!(rows.len(), PAGE_SIZE as usize);
        assert_eq!(pager.prev_href, None);
        assert_eq!(pager.next_href.as_deref(), Some("/admin/links?page=2"));
        let (_, pager) = paginate(vec![1, 2], 2, "/admin/commissions?state=paid&");
        assert_eq!(
            pager.prev_href.as_deref(),
            Some("/admin/commissions?state=paid&page=1")
        );
        assert_eq!(pager.next_href, None);
    }

    #[test]
    fn safe_file_names_keep_only_safe_characters() {
        assert_eq!(safe_file_name("banner 1.svg", "download"), "banner1.svg");
        assert_eq!(safe_file_name("a\"b\r\nc.png", "download"), "abc.png");
        assert_eq!(safe_file_name("../../etc", "download"), "etc");
        assert_eq!(safe_file_name("../../etc/passwd", "file"), "etcpasswd");
        assert_eq!(safe_file_name("\"\"", "download"), "download");
        assert_eq!(safe_file_name("..", "attachment"), "attachment");
    }

    #[test]
    fn feedback_goes_to_its_field_or_above_the_form() {
        let error = AppError::invalid("name", "name is required");
        let feedback = Feedback::from_error("program", &["name"], &error);
        assert_eq!(feedback.field("program", "name"), Some("name is required"));
        assert_eq!(feedback.field("partner", "name"), None);
        assert_eq!(feedback.general("program"), None);
        let error = AppError::invalid("plan", "bad plan");
        let feedback = Feedback::from_error("program", &["name"], &error);
        assert_eq!(feedback.general("program"), Some("bad plan"));
    }
}
