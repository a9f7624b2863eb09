//! Administration: programs, partners, enrollments and links, validated at the edge.

use crate::{App, AppError, AppResult, new_uuid};
use rand::Rng;
use serde::Deserialize;
use tributary_core::attribution::MAX_WINDOW_DAYS;
use tributary_core::multitouch::Settings;
use tributary_core::plan::Plan;
use tributary_core::*;
use tributary_store::{
    Enrollment, Link, Partner, PlanScope, PlanVersion, Program, Role, User, Workspace,
};

pub const MAX_NAME_LEN: usize = 200;
pub const MAX_URL_LEN: usize = 2_000;
pub const MAX_HOLD_DAYS: u32 = 365;
pub const LINK_CODE_LEN: usize = 7;
pub use tributary_core::lifecycle::ARCHETYPES;

fn name(field: &str, value: &str) -> AppResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME_LEN {
        return Err(AppError::invalid(
            field,
            format!("{field} needs 1 to {MAX_NAME_LEN} characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// A destination must be an absolute http(s) URL: the redirect never sends anyone elsewhere.
pub fn destination(field: &str, value: &str) -> AppResult<String> {
    let trimmed = value.trim();
    let valid = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && trimmed.len() <= MAX_URL_LEN
        && trimmed
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(AppError::invalid(
            field,
            format!("{field} must be an http:// or https:// URL"),
        ));
    }
    Ok(trimmed.to_string())
}

pub fn email(field: &str, value: &str) -> AppResult<String> {
    let trimmed = value.trim().to_ascii_lowercase();
    let valid = trimmed.len() <= 254
        && trimmed.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !trimmed
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == '"');
    if !valid {
        return Err(AppError::invalid(
            field,
            format!("{field} must be an email address"),
        ));
    }
    Ok(trimmed)
}

/// Sets up a workspace with its owner. Used by `demo` and first-run setup.
pub async fn create_workspace(
    app: &App,
    workspace_name: &str,
    owner_email: &str,
    owner_password: &str,
) -> AppResult<(Workspace, User)> {
    let now = app.now();
    let workspace = Workspace {
        id: WorkspaceId(new_uuid()),
        name: name("name", workspace_name)?,
        created_at: now,
    };
    let user = User {
        id: UserId(new_uuid()),
        workspace_id: workspace.id,
        email: email("email", owner_email)?,
        password_hash: crate::auth::hash_password(owner_password)?,
        role: Role::Owner,
        created_at: now,
    };
    let mut tx = app.store.write().await?;
    tx.insert_workspace(&workspace).await?;
    tx.insert_user(&user).await?;
    tx.commit().await?;
    Ok((workspace, user))
}

pub async fn add_user(
    app: &App,
    workspace_id: WorkspaceId,
    user_email: &str,
    password: &str,
    role: Role,
) -> AppResult<User> {
    let user = User {
        id: UserId(new_uuid()),
        workspace_id,
        email: email("email", user_email)?,
        password_hash: crate::auth::hash_password(password)?,
        role,
        created_at: app.now(),
    };
    let mut tx = app.store.write().await?;
    tx.insert_user(&user)
        .await
        .map_err(|_| AppError::Conflict("a user with this email exists".into()))?;
    tx.commit().await?;
    Ok(user)
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewProgram {
    pub name: String,
    pub destination_url: String,
    pub currency: Option<String>,
    pub window_days: Option<u32>,
    pub hold_days: Option<u32>,
    pub min_payout_minor: Option<i64>,
    /// Flat reward per lead, in minor units of the program currency.
    pub lead_flat_minor: Option<i64>,
    /// Share of every sale and renewal, in basis points.
    pub sale_percent_bp: Option<u32>,
    /// A whole plan (see `tributary_core::plan`); replaces the two fields above.
    #[serde(default)]
    pub plan: Option<Plan>,
    /// The attribution model and channel precedence; the defaults are last touch and
    /// manual > deal > coupon > link = referral.
    #[serde(default)]
    pub attribution: Option<Settings>,
}

pub async fn create_program(
    app: &App,
    workspace_id: WorkspaceId,
    input: NewProgram,
) -> AppResult<Program> {
    let currency_code = input.currency.as_deref().unwrap_or("USD");
    let currency = Currency::parse(currency_code)
        .map_err(|error| AppError::invalid("currency", error.to_string()))?;
    let window_days = input.window_days.unwrap_or(30);
    if !(1..=MAX_WINDOW_DAYS).contains(&window_days) {
        return Err(AppError::invalid(
            "window_days",
            format!("window_days must be 1 to {MAX_WINDOW_DAYS}"),
        ));
    }
    let hold_days = input.hold_days.unwrap_or(30);
    if hold_days > MAX_HOLD_DAYS {
        return Err(AppError::invalid(
            "hold_days",
            format!("hold_days must be 0 to {MAX_HOLD_DAYS}"),
        ));
    }
    let min_payout_minor = input.min_payout_minor.unwrap_or(5_000);
    if !(0..=100_000_000).contains(&min_payout_minor) {
        return Err(AppError::invalid(
            "min_payout_minor",
            "min_payout_minor must be 0 to 100000000",
        ));
    }
    let lead_flat = match input.lead_flat_minor {
        Some(amount) if !(0..=tributary_core::plan::MAX_FLAT_MINOR).contains(&amount) => {
            return Err(AppError::invalid(
                "lead_flat_minor",
                "lead_flat_minor must be 0 to 100000000",
            ));
        }
        other => other.map(|amount| Money::new(amount, currency)),
    };
    let sale_rate = input
        .sale_percent_bp
        .map(|bp| {
            BasisPoints::new(bp)
                .map_err(|error| AppError::invalid("sale_percent_bp", error.to_string()))
        })
        .transpose()?;
    let plan = input
        .plan
        .unwrap_or_else(|| Plan::simple(lead_flat, sale_rate));
    plan.validate()
        .map_err(|error| AppError::invalid(&format!("plan.{}", error.path), error.message))?;
    let attribution = input.attribution.unwrap_or_default();
    validate_attribution(&attribution)?;
    let now = app.now();
    let program_id = ProgramId(new_uuid());
    let version = PlanVersion {
        id: PlanVersionId(new_uuid()),
        program_id,
        version: 1,
        plan,
        scope: PlanScope::Program,
        // The first version covers everything, including events that occurred before the
        // program was created (an import of history).
        effective_from: Timestamp::from_millis(0),
        created_at: now,
    };
    let program = Program {
        id: program_id,
        workspace_id,
        name: name("name", &input.name)?,
        destination_url: destination("destination_url", &input.destination_url)?,
        currency,
        window_days,
        hold_days,
        min_payout_minor,
        plan_version_id: version.id,
        attribution,
        created_at: now,
    };
    let mut tx = app.store.write().await?;
    tx.insert_program(&program).await?;
    tx.insert_plan_version(&version).await?;
    // A program has no clicks before it exists: click rollups start today.
    crate::click_pay::schedule_from(
        tx.as_mut(),
        workspace_id,
        program.id,
        &version.plan,
        now,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(program)
}

fn validate_attribution(settings: &Settings) -> AppResult<()> {
    settings
        .validate()
        .map_err(|(field, message)| AppError::invalid(&format!("attribution.{field}"), message))
}

/// Replaces a program's attribution model and precedence. Customers already bound keep
/// their credit: the settings decide only customers not yet credited.
pub async fn set_attribution(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    settings: Settings,
) -> AppResult<Program> {
    validate_attribution(&settings)?;
    let mut tx = app.store.write().await?;
    let mut program = tx
        .program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    tx.set_program_attribution(program_id, &settings).await?;
    tx.commit().await?;
    program.attribution = settings;
    Ok(program)
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewPartner {
    pub name: String,
    pub email: String,
    pub archetype: Option<String>,
    pub payout_email: Option<String>,
    /// Sets a portal password now; otherwise the partner has no login until one is set.
    pub password: Option<String>,
}

pub async fn create_partner(
    app: &App,
    workspace_id: WorkspaceId,
    input: NewPartner,
) -> AppResult<Partner> {
    let archetype = input
        .archetype
        .as_deref()
        .unwrap_or("other")
        .trim()
        .to_ascii_lowercase();
    if !ARCHETYPES.contains(&archetype.as_str()) {
        return Err(AppError::invalid(
            "archetype",
            format!("archetype must be one of {}", ARCHETYPES.join(", ")),
        ));
    }
    let payout_email = input
        .payout_email
        .as_deref()
        .filter(|value| !value.trim().is_empty())
        .map(|value| email("payout_email", value))
        .transpose()?;
    let password_hash = input
        .password
        .as_deref()
        .filter(|value| !value.is_empty())
        .map(crate::auth::hash_password)
        .transpose()?;
    let partner = Partner {
        id: PartnerId(new_uuid()),
        workspace_id,
        name: name("name", &input.name)?,
        email: email("email", &input.email)?,
        archetype,
        payout_email,
        password_hash,
        created_at: app.now(),
    };
    let mut tx = app.store.write().await?;
    tx.insert_partner(&partner).await.map_err(|_| {
        AppError::Conflict("a partner with this email exists in the workspace".into())
    })?;
    tx.commit().await?;
    Ok(partner)
}

pub async fn enroll(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> AppResult<Enrollment> {
    let mut tx = app.store.write().await?;
    tx.program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    tx.partner(workspace_id, partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    if let Some(existing) = tx.enrollment(program_id, partner_id).await? {
        return Ok(existing);
    }
    let enrollment = Enrollment {
        id: EnrollmentId(new_uuid()),
        workspace_id,
        program_id,
        partner_id,
        status: "approved".into(),
        partner_group: None,
        tier: None,
        created_at: app.now(),
        status_reason: None,
        status_changed_at: None,
    };
    tx.insert_enrollment(&enrollment).await?;
    tx.commit().await?;
    Ok(enrollment)
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewLink {
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    pub code: Option<String>,
    pub destination_url: Option<String>,
}

fn random_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..LINK_CODE_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn validate_code(code: &str) -> AppResult<()> {
    let valid = (3..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(AppError::invalid(
            "code",
            "code must be 3 to 64 characters of letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}

/// Creates a tracking link for an enrolled partner and puts it in the redirect cache.
pub async fn create_link(app: &App, workspace_id: WorkspaceId, input: NewLink) -> AppResult<Link> {
    let code = match input
        .code
        .as_deref()
        .map(str::trim)
        .filter(|code| !code.is_empty())
    {
        Some(code) => {
            validate_code(code)?;
            code.to_string()
        }
        None => random_code(),
    };
    let mut tx = app.store.write().await?;
    let program = tx
        .program(workspace_id, input.program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    tx.partner(workspace_id, input.partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    match tx.enrollment(program.id, input.partner_id).await? {
        Some(enrollment) if enrollment.status == "approved" => {}
        _ => {
            return Err(AppError::invalid(
                "partner_id",
                "the partner is not enrolled in this program",
            ));
        }
    }
    let destination_url = match input
        .destination_url
        .as_deref()
        .filter(|url| !url.trim().is_empty())
    {
        Some(url) => destination("destination_url", url)?,
        None => program.destination_url.clone(),
    };
    let link = Link {
        id: LinkId(new_uuid()),
        workspace_id,
        program_id: program.id,
        partner_id: input.partner_id,
        code,
        destination_url,
        created_at: app.now(),
    };
    tx.insert_link(&link)
        .await
        .map_err(|_| AppError::Conflict(format!("the code {:?} is taken", link.code)))?;
    tx.commit().await?;
    app.links.insert(link.clone());
    Ok(link)
}
