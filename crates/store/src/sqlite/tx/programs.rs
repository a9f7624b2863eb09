//! Programs and their plan versions, partners, enrollments and links.

use super::super::query::{all, execute, insert, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};
use tributary_core::multitouch::Settings;

fn program_row(row: &Row<'_>) -> Result<Program> {
    Ok(Program {
        id: ProgramId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        name: row.get("name")?,
        destination_url: row.get("destination_url")?,
        currency: rows::currency(row, "currency")?,
        window_days: rows::u32_col(row, "window_days")?,
        hold_days: rows::u32_col(row, "hold_days")?,
        min_payout_minor: row.get("min_payout_minor")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        attribution: attribution_settings(row.get("attribution_json")?)?,
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

fn plan_version_row(row: &Row<'_>) -> Result<PlanVersion> {
    let scope: String = row.get("scope")?;
    let key: String = row.get("scope_key")?;
    Ok(PlanVersion {
        id: PlanVersionId(rows::uuid(row, "id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        version: row.get("version")?,
        plan: rows::json(row, "plan_json")?,
        scope: PlanScope::from_columns(&scope, &key)
            .ok_or_else(|| StoreError::Corrupt(format!("plan scope {scope}")))?,
        effective_from: rows::ts(row, "effective_from")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn partner_row(row: &Row<'_>) -> Result<Partner> {
    Ok(Partner {
        id: PartnerId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        name: row.get("name")?,
        email: row.get("email")?,
        archetype: row.get("archetype")?,
        payout_email: row.get("payout_email")?,
        password_hash: row.get("password_hash")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn enrollment_row(row: &Row<'_>) -> Result<Enrollment> {
    Ok(Enrollment {
        id: EnrollmentId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        status: row.get("status")?,
        partner_group: row.get("partner_group")?,
        tier: row.get("tier")?,
        created_at: rows::ts(row, "created_at")?,
        status_reason: row.get("status_reason")?,
        status_changed_at: rows::opt_ts(row, "status_changed_at")?,
    })
}

fn link_row(row: &Row<'_>) -> Result<Link> {
    Ok(Link {
        id: LinkId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        code: row.get("code")?,
        destination_url: row.get("destination_url")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn link_stats_row(row: &Row<'_>) -> Result<LinkStats> {
    Ok(LinkStats {
        link: link_row(row)?,
        clicks: row.get("clicks")?,
        bot_clicks: row.get("bot_clicks")?,
        leads: row.get("leads")?,
        sales: row.get("sales")?,
    })
}

pub fn insert_program(db: &Connection, program: &Program) -> Result<()> {
    insert(
        db,
        "INSERT INTO programs (id, workspace_id, name, destination_url, currency, window_days, hold_days,
         min_payout_minor, plan_version_id, attribution_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            program.id.to_string(),
            program.workspace_id.to_string(),
            program.name,
            program.destination_url,
            program.currency.code(),
            i64::from(program.window_days),
            i64::from(program.hold_days),
            program.min_payout_minor,
            program.plan_version_id.to_string(),
            settings_json(&program.attribution)?,
            program.created_at.millis(),
        ],
    )
}

pub fn program(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: ProgramId,
) -> Result<Option<Program>> {
    optional(
        db,
        "SELECT * FROM programs WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        program_row,
    )
}

pub fn programs(db: &Connection, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Program>> {
    all(
        db,
        "SELECT * FROM programs WHERE workspace_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        params![workspace_id.to_string(), page.limit, page.offset],
        program_row,
    )
}

pub fn insert_plan_version(db: &Connection, version: &PlanVersion) -> Result<()> {
    let plan_json = serde_json::to_string(&version.plan)
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    insert(
        db,
        "INSERT INTO plan_versions (id, program_id, version, plan_json, scope, scope_key, effective_from, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            version.id.to_string(),
            version.program_id.to_string(),
            version.version,
            plan_json,
            version.scope.as_str(),
            version.scope.key(),
            version.effective_from.millis(),
            version.created_at.millis(),
        ],
    )
}

pub fn plan_versions(db: &Connection, program_id: ProgramId) -> Result<Vec<PlanVersion>> {
    all(
        db,
        "SELECT * FROM plan_versions WHERE program_id = ? ORDER BY version",
        [program_id.to_string()],
        plan_version_row,
    )
}

fn settings_json(settings: &Settings) -> Result<String> {
    serde_json::to_string(settings)
        .map_err(|error| StoreError::Corrupt(format!("attribution settings: {error}")))
}

pub fn set_program_attribution(
    db: &Connection,
    program_id: ProgramId,
    settings: &Settings,
) -> Result<()> {
    execute(
        db,
        "UPDATE programs SET attribution_json = ? WHERE id = ?",
        params![settings_json(settings)?, program_id.to_string()],
    )?;
    Ok(())
}

pub fn set_program_plan_version(
    db: &Connection,
    program_id: ProgramId,
    version_id: PlanVersionId,
) -> Result<()> {
    execute(
        db,
        "UPDATE programs SET plan_version_id = ? WHERE id = ?",
        params![version_id.to_string(), program_id.to_string()],
    )?;
    Ok(())
}

pub fn plan_version(db: &Connection, id: PlanVersionId) -> Result<Option<PlanVersion>> {
    optional(
        db,
        "SELECT * FROM plan_versions WHERE id = ?",
        [id.to_string()],
        plan_version_row,
    )
}

pub fn insert_partner(db: &Connection, partner: &Partner) -> Result<()> {
    insert(
        db,
        "INSERT INTO partners (id, workspace_id, name, email, archetype, payout_email, password_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            partner.id.to_string(),
            partner.workspace_id.to_string(),
            partner.name,
            partner.email,
            partner.archetype,
            partner.payout_email,
            partner.password_hash,
            partner.created_at.millis(),
        ],
    )
}

pub fn partner(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: PartnerId,
) -> Result<Option<Partner>> {
    optional(
        db,
        "SELECT * FROM partners WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        partner_row,
    )
}

pub fn partners(db: &Connection, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Partner>> {
    all(
        db,
        "SELECT * FROM partners WHERE workspace_id = ? ORDER BY name, id LIMIT ? OFFSET ?",
        params![workspace_id.to_string(), page.limit, page.offset],
        partner_row,
    )
}

pub fn partners_by_email(db: &Connection, email: &str) -> Result<Vec<Partner>> {
    all(
        db,
        "SELECT * FROM partners WHERE email = ? ORDER BY created_at LIMIT 20",
        [email],
        partner_row,
    )
}

pub fn set_partner_password(db: &Connection, id: PartnerId, password_hash: &str) -> Result<()> {
    execute(
        db,
        "UPDATE partners SET password_hash = ? WHERE id = ?",
        params![password_hash, id.to_string()],
    )?;
    Ok(())
}

pub fn set_partner_payout_email(db: &Connection, id: PartnerId, email: Option<&str>) -> Result<()> {
    execute(
        db,
        "UPDATE partners SET payout_email = ? WHERE id = ?",
        params![email, id.to_string()],
    )?;
    Ok(())
}

pub fn insert_enrollment(db: &Connection, enrollment: &Enrollment) -> Result<()> {
    insert(
        db,
        "INSERT INTO enrollments (id, workspace_id, program_id, partner_id, status, partner_group, tier, created_at,
         status_reason, status_changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            enrollment.id.to_string(),
            enrollment.workspace_id.to_string(),
            enrollment.program_id.to_string(),
            enrollment.partner_id.to_string(),
            enrollment.status,
            enrollment.partner_group,
            enrollment.tier,
            enrollment.created_at.millis(),
            enrollment.status_reason,
            enrollment.status_changed_at.map(Timestamp::millis),
        ],
    )
}

pub fn set_enrollment_segment(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
    partner_group: Option<&str>,
    tier: Option<&str>,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE enrollments SET partner_group = ?, tier = ? WHERE program_id = ? AND partner_id = ?",
        params![
            partner_group,
            tier,
            program_id.to_string(),
            partner_id.to_string()
        ],
    )?;
    Ok(changed > 0)
}

pub fn enrollment(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> Result<Option<Enrollment>> {
    optional(
        db,
        "SELECT * FROM enrollments WHERE program_id = ? AND partner_id = ?",
        [program_id.to_string(), partner_id.to_string()],
        enrollment_row,
    )
}

pub fn enrollments(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<Enrollment>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM enrollments WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?)
         ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        params![
            workspace_id.to_string(),
            partner,
            partner,
            page.limit,
            page.offset
        ],
        enrollment_row,
    )
}

pub fn insert_link(db: &Connection, link: &Link) -> Result<()> {
    insert(
        db,
        "INSERT INTO links (id, workspace_id, program_id, partner_id, code, destination_url, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            link.id.to_string(),
            link.workspace_id.to_string(),
            link.program_id.to_string(),
            link.partner_id.to_string(),
            link.code,
            link.destination_url,
            link.created_at.millis(),
        ],
    )
}

pub fn link(db: &Connection, workspace_id: WorkspaceId, id: LinkId) -> Result<Option<Link>> {
    optional(
        db,
        "SELECT * FROM links WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        link_row,
    )
}

pub fn link_by_id_any_workspace(db: &Connection, id: LinkId) -> Result<Option<Link>> {
    optional(
        db,
        "SELECT * FROM links WHERE id = ?",
        [id.to_string()],
        link_row,
    )
}

pub fn link_by_code(db: &Connection, code: &str) -> Result<Option<Link>> {
    optional(db, "SELECT * FROM links WHERE code = ?", [code], link_row)
}

pub fn links(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<LinkStats>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT l.*,
            COALESCE((SELECT SUM(d.clicks) FROM link_daily d WHERE d.link_id = l.id), 0) AS clicks,
            COALESCE((SELECT SUM(d.bot_clicks) FROM link_daily d WHERE d.link_id = l.id), 0) AS bot_clicks,
            (SELECT COUNT(*) FROM events e WHERE e.link_id = l.id AND e.kind = 'lead') AS leads,
            (SELECT COUNT(*) FROM events e WHERE e.link_id = l.id AND e.kind IN ('sale', 'renewal')) AS sales
         FROM links l WHERE l.workspace_id = ? AND (? IS NULL OR l.partner_id = ?)
         ORDER BY l.created_at DESC, l.id LIMIT ? OFFSET ?",
        params![workspace_id.to_string(), partner, partner, page.limit, page.offset],
        link_stats_row,
    )
}

pub fn partner_daily_clicks(
    db: &Connection,
    program_id: ProgramId,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<PartnerDayClicks>> {
    all(
        db,
        "SELECT l.partner_id, d.day, SUM(d.clicks) AS clicks, SUM(d.bot_clicks) AS bot_clicks
         FROM links l JOIN link_daily d ON d.link_id = l.id
         WHERE l.program_id = ? AND d.day >= ? AND d.day < ?
         GROUP BY l.partner_id, d.day ORDER BY l.partner_id, d.day",
        params![program_id.to_string(), from_day, to_day],
        |row| {
            Ok(PartnerDayClicks {
                partner_id: PartnerId(rows::uuid(row, "partner_id")?),
                day: row.get("day")?,
                clicks: row.get("clicks")?,
                bot_clicks: row.get("bot_clicks")?,
            })
        },
    )
}

/// Every link, for the redirect cache; unbounded by design (the cache holds them all).
pub fn all_links(db: &Connection) -> Result<Vec<Link>> {
    all(db, "SELECT * FROM links", [], link_row)
}

pub fn program_by_id(db: &Connection, id: ProgramId) -> Result<Option<Program>> {
    optional(
        db,
        "SELECT * FROM programs WHERE id = ?",
        [id.to_string()],
        program_row,
    )
}
