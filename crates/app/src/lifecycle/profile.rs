//! A partner's own profile, from the portal: website, country, payout email, tax form
//! status, a logo for co-branded assets, and whether (and as whom) they appear on the
//! leaderboard.

use super::content::Upload;
use crate::{App, AppError, AppResult};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tributary_core::lifecycle::form::plausible_email;
use tributary_core::*;
use tributary_store::PartnerProfile;

/// The largest logo, in bytes.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
pub const LOGO_TYPES: [&str; 3] = ["image/png", "image/jpeg", "image/svg+xml"];
pub const TAX_FORM_STATUSES: [&str; 3] = ["none", "submitted", "verified"];

#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub website: String,
    pub country: String,
    pub payout_email: String,
    /// `none` or `submitted` (only an admin verifies).
    pub tax_form_status: String,
    pub display_name: String,
    pub show_on_leaderboard: bool,
    /// A new logo; none keeps the one there is.
    pub logo: Option<Upload>,
}

fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// Saves the signed-in partner's profile.
pub async fn save(
    app: &App,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
    input: ProfileInput,
) -> AppResult<PartnerProfile> {
    let website = optional(&input.website);
    if let Some(site) = &website
        && !(site.starts_with("https://") || site.starts_with("http://"))
    {
        return Err(AppError::invalid(
            "website",
            "an address starting with https://",
        ));
    }
    let country = optional(&input.country).map(|c| c.to_ascii_uppercase());
    if let Some(code) = &country
        && !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(AppError::invalid(
            "country",
            "a two-letter country code (US, DE)",
        ));
    }
    let payout_email = optional(&input.payout_email).map(|e| e.to_ascii_lowercase());
    if let Some(email) = &payout_email
        && !plausible_email(email)
    {
        return Err(AppError::invalid("payout_email", "not an email address"));
    }
    let display_name = optional(&input.display_name);
    if display_name
        .as_ref()
        .is_some_and(|name| name.chars().count() > 60)
    {
        return Err(AppError::invalid("display_name", "at most 60 characters"));
    }
    let mut tx = app.store.write().await?;
    tx.partner(workspace_id, partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    let previous = tx.partner_profile(partner_id).await?;
    let tax_form_status = match input.tax_form_status.as_str() {
        // A verified form stays verified; the partner can only say they sent it.
        _ if previous
            .as_ref()
            .is_some_and(|p| p.tax_form_status == "verified") =>
        {
            "verified".to_string()
        }
        "submitted" => "submitted".to_string(),
        "none" | "" => "none".to_string(),
        _ => return Err(AppError::invalid("tax_form_status", "none or submitted")),
    };
    let (logo_content_type, logo_base64) = match input.logo.filter(|logo| !logo.bytes.is_empty()) {
        Some(logo) => {
            if !LOGO_TYPES.contains(&logo.content_type.as_str()) {
                return Err(AppError::invalid("logo", "a PNG, JPEG or SVG image"));
            }
            if logo.bytes.len() > MAX_LOGO_BYTES {
                return Err(AppError::invalid("logo", "at most 512 KiB"));
            }
            (Some(logo.content_type), Some(STANDARD.encode(&logo.bytes)))
        }
        None => (
            previous.as_ref().and_then(|p| p.logo_content_type.clone()),
            previous.as_ref().and_then(|p| p.logo_base64.clone()),
        ),
    };
    let profile = PartnerProfile {
        partner_id,
        workspace_id,
        website,
        country,
        logo_content_type,
        logo_base64,
        tax_form_status,
        display_name,
        show_on_leaderboard: input.show_on_leaderboard,
        updated_at: app.now(),
    };
    tx.put_partner_profile(&profile).await?;
    tx.set_partner_payout_email(partner_id, payout_email.as_deref())
        .await?;
    tx.commit().await?;
    Ok(profile)
}
