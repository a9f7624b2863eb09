//! The partner's profile in the portal: website, country, payout email, tax form status,
//! the name shown on the leaderboard, and a logo for co-branded assets. Scoped to the
//! signed-in partner.

use super::error::UiError;
use super::page::{
    Feedback, Layout, SelectOption, form_status, portal_answer, render, see_other, when,
};
use super::portal::layout_at;
use super::session::PartnerSession;
use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use tributary_app::lifecycle::content::Upload;
use tributary_app::lifecycle::profile::{self, ProfileInput};
use tributary_app::{App, AppError};
use tributary_store::PartnerProfile;

/// The profile form's body limit: a logo of up to 512 KiB and the other fields.
const MAX_PROFILE_BODY_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<App> {
    Router::new().route("/portal/profile", get(profile_page))
}

/// The profile form takes a logo: mounted with the uploads, outside the general body limit,
/// with its own.
pub fn upload_router() -> Router<App> {
    Router::new().route(
        "/portal/profile",
        post(save_profile).layer(DefaultBodyLimit::max(MAX_PROFILE_BODY_BYTES)),
    )
}

#[derive(Default)]
struct ProfileValues {
    website: String,
    country: String,
    payout_email: String,
    tax_form_status: String,
    display_name: String,
    show_on_leaderboard: bool,
}

impl ProfileValues {
    fn stored(profile: Option<&PartnerProfile>, payout_email: Option<&str>) -> ProfileValues {
        ProfileValues {
            website: profile.and_then(|p| p.website.clone()).unwrap_or_default(),
            country: profile.and_then(|p| p.country.clone()).unwrap_or_default(),
            payout_email: payout_email.unwrap_or_default().to_string(),
            tax_form_status: profile
                .map_or_else(|| "none".to_string(), |p| p.tax_form_status.clone()),
            display_name: profile
                .and_then(|p| p.display_name.clone())
                .unwrap_or_default(),
            show_on_leaderboard: profile.is_some_and(|p| p.show_on_leaderboard),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/profile.html")]
struct ProfilePage {
    layout: Layout,
    values: ProfileValues,
    /// An admin verified the tax form: the partner can no longer change it.
    verified: bool,
    tax_options: Vec<SelectOption>,
    /// The current logo as a `data:` URL, for its preview.
    logo_url: Option<String>,
    updated_at: Option<String>,
    feedback: Feedback,
}

const PROFILE_FIELDS: [&str; 7] = [
    "website",
    "country",
    "payout_email",
    "tax_form_status",
    "display_name",
    "show_on_leaderboard",
    "logo",
];

async fn profile_view(
    app: &App,
    partner: &PartnerSession,
    values: Option<ProfileValues>,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (stored, payout_email) = {
        let mut tx = app.store.read().await?;
        let stored = tx.partner_profile(partner.partner.id).await?;
        // The partner as stored now (the session's copy predates a save).
        let payout_email = tx
            .partner(partner.session.workspace_id, partner.partner.id)
            .await?
            .and_then(|p| p.payout_email);
        (stored, payout_email)
    };
    let verified = stored
        .as_ref()
        .is_some_and(|p| p.tax_form_status == "verified");
    let values =
        values.unwrap_or_else(|| ProfileValues::stored(stored.as_ref(), payout_email.as_deref()));
    let tax_options = [("none", "Not sent yet"), ("submitted", "Sent")]
        .into_iter()
        .map(|(value, label)| SelectOption {
            value: value.into(),
            label: label.into(),
            selected: values.tax_form_status == value,
        })
        .collect();
    let logo_url = stored.as_ref().and_then(|p| {
        Some(format!(
            "data:{};base64,{}",
            p.logo_content_type.as_deref()?,
            p.logo_base64.as_deref()?
        ))
    });
    let page = ProfilePage {
        layout: layout_at("Your profile", partner, "/portal/profile"),
        values,
        verified,
        tax_options,
        logo_url,
        updated_at: stored.as_ref().map(|p| when(p.updated_at)),
        feedback,
    };
    Ok(render(status, &page))
}

async fn profile_page(State(app): State<App>, partner: PartnerSession) -> Response {
    portal_answer(profile_view(&app, &partner, None, Feedback::none(), StatusCode::OK).await)
}

/// The logo's type: the browser's, or guessed from the name when it sent a generic one.
fn logo_type(declared: Option<&str>, file_name: &str) -> String {
    let declared = declared
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !declared.is_empty() && declared != "application/octet-stream" {
        return declared;
    }
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".png") {
        "image/png".into()
    } else if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        "image/jpeg".into()
    } else if lower.ends_with(".svg") {
        "image/svg+xml".into()
    } else {
        declared
    }
}

async fn save_profile(
    State(app): State<App>,
    partner: PartnerSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    portal_answer(save_profile_form(&app, &partner, multipart).await)
}

async fn save_profile_form(
    app: &App,
    partner: &PartnerSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, UiError> {
    let unreadable = || {
        UiError::bad_request("the profile form could not be read (a logo may be at most 512 KiB)")
    };
    let mut multipart = multipart.map_err(|_| unreadable())?;
    let (mut csrf, mut values, mut logo) = (String::new(), ProfileValues::default(), None);
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "logo" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let content_type = logo_type(field.content_type(), &file_name);
            let bytes = field.bytes().await.map_err(|_| unreadable())?;
            if !bytes.is_empty() {
                logo = Some(Upload {
                    file_name,
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
            continue;
        }
        let text = field.text().await.map_err(|_| unreadable())?;
        match name.as_str() {
            "csrf_token" => csrf = text,
            "website" => values.website = text,
            "country" => values.country = text,
            "payout_email" => values.payout_email = text,
            "tax_form_status" => values.tax_form_status = text,
            "display_name" => values.display_name = text,
            "show_on_leaderboard" => values.show_on_leaderboard = !text.is_empty(),
            _ => {}
        }
    }
    partner.authorize(&csrf)?;
    let input = ProfileInput {
        website: values.website.clone(),
        country: values.country.clone(),
        payout_email: values.payout_email.clone(),
        tax_form_status: values.tax_form_status.clone(),
        display_name: values.display_name.clone(),
        show_on_leaderboard: values.show_on_leaderboard,
        logo,
    };
    match profile::save(app, partner.session.workspace_id, partner.partner.id, input).await {
        Ok(_) => Ok(see_other("/portal/profile")),
        Err(error @ AppError::Invalid { .. }) => {
            let feedback = Feedback::from_error("profile", &PROFILE_FIELDS, &error);
            profile_view(app, partner, Some(values), feedback, form_status(&error)).await
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::logo_type;

    #[test]
    fn logo_types_fall_back_to_the_extension() {
        assert_eq!(logo_type(Some("image/png"), "x.bin"), "image/png");
        assert_eq!(
            logo_type(Some("application/octet-stream"), "logo.SVG"),
            "image/svg+xml"
        );
        assert_eq!(logo_type(None, "logo.jpeg"), "image/jpeg");
    }
}
