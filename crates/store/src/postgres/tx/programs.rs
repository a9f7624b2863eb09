//! Programs and their plan versions, partners, enrollments and links.

use super::super::query::{Db, all, execute, insert, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;
use tributary_core::multitouch::Settings;

fn program_row(row: &Row) -> Result<Program> {
    Ok(Program {
        id: ProgramId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        name: rows::get(row, "name")?,
        destination_url: rows::get(row, "destination_url")?,
        currency: rows::currency(row, "currency")?,
        window_days: rows::u32_col(row, "window_days")?,
        hold_days: rows::u32_col(row, "hold_days")?,
        min_payout_minor: rows::get(row, "min_payout_minor")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        attribution: attribution_settings(rows::get(row, "attribution_json")?)?,
        created_at: rows::ts(row, "created_at")?,
    })
}

/// A program's stored attribution settings; none stored means the defaults.
fn attribution_settings(json: Option<String>) -> Result<Settings> {
    json.map_or_else(
        || Ok(Settings::default()),
        |json| {
            serde_json::from_str(&json)
                .map_err(|error| StoreError::Corrupt(format!("attribution settings: {error}")))
        },
    )
}

fn settings_json(settings: &Settings) -> Result<String> {
    serde_json::to_string(settings)
        .map_err(|error| StoreError::Corrupt(format!("attribution settings: {error}")))
}

pub async fn set_program_attribution(
    db: &Db,
    program_id: ProgramId,
    settings: &Settings,
) -> Result<()> {
    let program_id = program_id.as_uuid();
    let json = settings_json(settings)?;
    execute(
        db,
        "UPDATE programs SET attribution_json = $1 WHERE id = $2",
        &[&json, &program_id],
    )
    .await?;
    Ok(())
}

fn plan_version_row(row: &Row) -> Result<PlanVersion> {
    let scope: String = rows::get(row, "scope")?;
    let key: String = rows::get(row, "scope_key")?;
    Ok(PlanVersion {
        id: PlanVersionId(rows::uuid(row, "id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        version: rows::get(row, "version")?,
        plan: rows::json(row, "plan_json")?,
        scope: PlanScope::from_columns(&scope, &key)
            .ok_or_else(|| StoreError::Corrupt(format!("plan scope {scope}")))?,
        effective_from: rows::ts(row, "effective_from")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn partner_row(row: &Row) -> Result<Partner> {
    Ok(Partner {
        id: PartnerId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        name: rows::get(row, "name")?,
        email: rows::get(row, "email")?,
        archetype: rows::get(row, "archetype")?,
        payout_email: rows::get(row, "payout_email")?,
        password_hash: rows::get(row, "password_hash")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn enrollment_row(row: &Row) -> Result<Enrollment> {
    Ok(Enrollment {
        id: EnrollmentId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        status: rows::get(row, "status")?,
        partner_group: rows::get(row, "partner_group")?,
        tier: rows::get(row, "tier")?,
        created_at: rows::ts(row, "created_at")?,
        status_reason: rows::get(row, "status_reason")?,
        status_changed_at: rows::opt_ts(row, "status_changed_at")?,
    })
}

fn link_row(row: &Row) -> Result<Link> {
    Ok(Link {
        id: LinkId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        code: rows::get(row, "code")?,
        destination_url: rows::get(row, "destination_url")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn link_stats_row(row: &Row) -> Result<LinkStats> {
    Ok(LinkStats {
        link: link_row(row)?,
        clicks: rows::get(row, "clicks")?,
        bot_clicks: rows::get(row, "bot_clicks")?,
        leads: rows::get(row, "leads")?,
        sales: rows::get(row, "sales")?,
    })
}

pub async fn insert_program(db: &Db, program: &Program) -> Result<()> {
    let id = program.id.as_uuid();
    let workspace_id = program.workspace_id.as_uuid();
    let currency = program.currency.code();
    let window_days = i64::from(program.window_days);
    let hold_days = i64::from(program.hold_days);
    let plan_version_id = program.plan_version_id.as_uuid();
    let created_at = program.created_at.millis();
    let attribution = settings_json(&program.attribution)?;
    insert(
        db,
        "INSERT INTO programs (id, workspace_id, name, destination_url, currency, window_days, hold_days,
         min_payout_minor, plan_version_id, attribution_json, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &id,
            &workspace_id,
            &program.name,
            &program.destination_url,
            &currency,
            &window_days,
            &hold_days,
            &program.min_payout_minor,
            &plan_version_id,
            &attribution,
            &created_at,
        ],
    )
    .await
}

pub async fn program(db: &Db, workspace_id: WorkspaceId, id: ProgramId) -> Result<Option<Program>> {
    let workspace_id = workspace_id.as_uuid();
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM programs WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id, &id],
        program_row,
    )
    .await
}

pub async fn programs(db: &Db, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Program>> {
    let workspace_id = workspace_id.as_uuid();
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT * FROM programs WHERE workspace_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        &[&workspace_id, &limit, &offset],
        program_row,
    )
    .await
}

pub async fn insert_plan_version(db: &Db, version: &PlanVersion) -> Result<()> {
    let plan_json = serde_json::to_string(&version.plan)
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let id = version.id.as_uuid();
    let program_id = version.program_id.as_uuid();
    let created_at = version.created_at.millis();
    insert(
        db,
        "INSERT INTO plan_versions (id, program_id, version, plan_json, scope, scope_key, effective_from, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id,
            &program_id,
            &version.version,
            &plan_json,
            &version.scope.as_str(),
            &version.scope.key(),
            &version.effective_from.millis(),
            &created_at,
        ],
    )
    .await
}

pub async fn plan_versions(db: &Db, program_id: ProgramId) -> Result<Vec<PlanVersion>> {
    let program_id = program_id.as_uuid();
    all(
        db,
        "SELECT * FROM plan_versions WHERE program_id = $1 ORDER BY version",
        &[&program_id],
        plan_version_row,
    )
    .await
}

pub async fn set_program_plan_version(
    db: &Db,
    program_id: ProgramId,
    version_id: PlanVersionId,
) -> Result<()> {
    let program_id = program_id.as_uuid();
    let version_id = version_id.as_uuid();
    execute(
        db,
        "UPDATE programs SET plan_version_id = $1 WHERE id = $2",
        &[&version_id, &program_id],
    )
    .await?;
    Ok(())
}

pub async fn plan_version(db: &Db, id: PlanVersionId) -> Result<Option<PlanVersion>> {
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM plan_versions WHERE id = $1",
        &[&id],
        plan_version_row,
    )
    .await
}

pub async fn insert_partner(db: &Db, partner: &Partner) -> Result<()> {
    let id = partner.id.as_uuid();
    let workspace_id = partner.workspace_id.as_uuid();
    let created_at = partner.created_at.millis();
    insert(
        db,
        "INSERT INTO partners (id, workspace_id, name, email, archetype, payout_email, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id,
            &workspace_id,
            &partner.name,
            &partner.email,
            &partner.archetype,
            &partner.payout_email,
            &partner.password_hash,
            &created_at,
        ],
    )
    .await
}

pub async fn partner(db: &Db, workspace_id: WorkspaceId, id: PartnerId) -> Result<Option<Partner>> {
    let workspace_id = workspace_id.as_uuid();
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM partners WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id, &id],
        partner_row,
    )
    .await
}

pub async fn partners(db: &Db, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Partner>> {
    let workspace_id = workspace_id.as_uuid();
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    // `COLLATE "C"`: byte order, as SQLite's default BINARY collation sorts names.
    all(
        db,
        "SELECT * FROM partners WHERE workspace_id = $1 ORDER BY name COLLATE \"C\", id LIMIT $2 OFFSET $3",
        &[&workspace_id, &limit, &offset],
        partner_row,
    )
    .await
}

pub async fn partners_by_email(db: &Db, email: &str) -> Result<Vec<Partner>> {
    all(
        db,
        "SELECT * FROM partners WHERE email = $1 ORDER BY created_at LIMIT 20",
        &[&email],
        partner_row,
    )
    .await
}

pub async fn set_partner_password(db: &Db, id: PartnerId, password_hash: &str) -> Result<()> {
    let id = id.as_uuid();
    execute(
        db,
        "UPDATE partners SET password_hash = $1 WHERE id = $2",
        &[&password_hash, &id],
    )
    .await?;
    Ok(())
}

pub async fn set_partner_payout_email(db: &Db, id: PartnerId, email: Option<&str>) -> Result<()> {
    execute(
        db,
        "UPDATE partners SET payout_email = $1 WHERE id = $2",
        &[&email, &id.as_uuid()],
    )
    .await?;
    Ok(())
}

pub async fn insert_enrollment(db: &Db, enrollment: &Enrollment) -> Result<()> {
    let id = enrollment.id.as_uuid();
    let workspace_id = enrollment.workspace_id.as_uuid();
    let program_id = enrollment.program_id.as_uuid();
    let partner_id = enrollment.partner_id.as_uuid();
    let created_at = enrollment.created_at.millis();
    let status_changed_at = enrollment.status_changed_at.map(Timestamp::millis);
    insert(
        db,
        "INSERT INTO enrollments (id, workspace_id, program_id, partner_id, status, partner_group, tier, created_at,
         status_reason, status_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &id,
            &workspace_id,
            &program_id,
            &partner_id,
            &enrollment.status,
            &enrollment.partner_group,
            &enrollment.tier,
            &created_at,
            &enrollment.status_reason,
            &status_changed_at,
        ],
    )
    .await
}

pub async fn set_enrollment_segment(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
    partner_group: Option<&str>,
    tier: Option<&str>,
) -> Result<bool> {
    let program_id = program_id.as_uuid();
    let partner_id = partner_id.as_uuid();
    let changed = execute(
        db,
        "UPDATE enrollments SET partner_group = $1, tier = $2 WHERE program_id = $3 AND partner_id = $4",
        &[&partner_group, &tier, &program_id, &partner_id],
    )
    .await?;
    Ok(changed > 0)
}

pub async fn enrollment(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> Result<Option<Enrollment>> {
    let program_id = program_id.as_uuid();
    let partner_id = partner_id.as_uuid();
    optional(
        db,
        "SELECT * FROM enrollments WHERE program_id = $1 AND partner_id = $2",
        &[&program_id, &partner_id],
        enrollment_row,
    )
    .await
}

pub async fn enrollments(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<Enrollment>> {
    let workspace_id = workspace_id.as_uuid();
    let partner = partner_id.map(|id| id.as_uuid());
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT * FROM enrollments WHERE workspace_id = $1 AND ($2::UUID IS NULL OR partner_id = $2)
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
        &[&workspace_id, &partner, &limit, &offset],
        enrollment_row,
    )
    .await
}

pub async fn insert_link(db: &Db, link: &Link) -> Result<()> {
    let id = link.id.as_uuid();
    let workspace_id = link.workspace_id.as_uuid();
    let program_id = link.program_id.as_uuid();
    let partner_id = link.partner_id.as_uuid();
    let created_at = link.created_at.millis();
    insert(
        db,
        "INSERT INTO links (id, workspace_id, program_id, partner_id, code, destination_url, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &workspace_id,
            &program_id,
            &partner_id,
            &link.code,
            &link.destination_url,
            &created_at,
        ],
    )
    .await
}

pub async fn link(db: &Db, workspace_id: WorkspaceId, id: LinkId) -> Result<Option<Link>> {
    let workspace_id = workspace_id.as_uuid();
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM links WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id, &id],
        link_row,
    )
    .await
}

pub async fn link_by_id_any_workspace(db: &Db, id: LinkId) -> Result<Option<Link>> {
    let id = id.as_uuid();
    optional(db, "SELECT * FROM links WHERE id = $1", &[&id], link_row).await
}

pub async fn link_by_code(db: &Db, code: &str) -> Result<Option<Link>> {
    optional(
        db,
        "SELECT * FROM links WHERE code = $1",
        &[&code],
        link_row,
    )
    .await
}

pub async fn links(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<LinkStats>> {
    let workspace_id = workspace_id.as_uuid();
    let partner = partner_id.map(|id| id.as_uuid());
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT l.*,
            COALESCE((SELECT SUM(d.clicks) FROM link_daily d WHERE d.link_id = l.id), 0)::BIGINT AS clicks,
            COALESCE((SELECT SUM(d.bot_clicks) FROM link_daily d WHERE d.link_id = l.id), 0)::BIGINT AS bot_clicks,
            (SELECT COUNT(*) FROM events e WHERE e.link_id = l.id AND e.kind = 'lead') AS leads,
            (SELECT COUNT(*) FROM events e WHERE e.link_id = l.id AND e.kind IN ('sale', 'renewal')) AS sales
         FROM links l WHERE l.workspace_id = $1 AND ($2::UUID IS NULL OR l.partner_id = $2)
         ORDER BY l.created_at DESC, l.id LIMIT $3 OFFSET $4",
        &[&workspace_id, &partner, &limit, &offset],
        link_stats_row,
    )
    .await
}

pub async fn partner_daily_clicks(
    db: &Db,
    program_id: ProgramId,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<PartnerDayClicks>> {
    let program_id = program_id.as_uuid();
    all(
        db,
        "SELECT l.partner_id, d.day, SUM(d.clicks)::BIGINT AS clicks,
            SUM(d.bot_clicks)::BIGINT AS bot_clicks
         FROM links l JOIN link_daily d ON d.link_id = l.id
         WHERE l.program_id = $1 AND d.day >= $2 AND d.day < $3
         GROUP BY l.partner_id, d.day ORDER BY l.partner_id, d.day",
        &[&program_id, &from_day, &to_day],
        |row| {
            Ok(PartnerDayClicks {
                partner_id: PartnerId(rows::uuid(row, "partner_id")?),
                day: rows::get(row, "day")?,
                clicks: rows::get(row, "clicks")?,
                bot_clicks: rows::get(row, "bot_clicks")?,
            })
        },
    )
    .await
}

/// Every link, for the redirect cache; unbounded by design (the cache holds them all).
pub async fn all_links(db: &Db) -> Result<Vec<Link>> {
    all(db, "SELECT * FROM links", &[], link_row).await
}

pub async fn program_by_id(db: &Db, id: ProgramId) -> Result<Option<Program>> {
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM programs WHERE id = $1",
        &[&id],
        program_row,
    )
    .await
}
