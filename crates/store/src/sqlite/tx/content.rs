//! Partner profiles, a program's content (assets, templates, training, resources,
//! announcements), training completions, and the firsts onboarding waits for.

use super::super::query::{all, execute, insert, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};

fn profile_row(row: &Row<'_>) -> Result<PartnerProfile> {
    let shown: i64 = row.get("show_on_leaderboard")?;
    Ok(PartnerProfile {
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        website: row.get("website")?,
        country: row.get("country")?,
        logo_content_type: row.get("logo_content_type")?,
        logo_base64: row.get("logo_base64")?,
        tax_form_status: row.get("tax_form_status")?,
        display_name: row.get("display_name")?,
        show_on_leaderboard: shown != 0,
        updated_at: rows::ts(row, "updated_at")?,
    })
}

fn content_row(row: &Row<'_>) -> Result<ProgramContent> {
    Ok(ProgramContent {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_group: row.get("partner_group")?,
        kind: row.get("kind")?,
        title: row.get("title")?,
        body: row.get("body")?,
        persona: row.get("persona")?,
        channel: row.get("channel")?,
        file_name: row.get("file_name")?,
        content_type: row.get("content_type")?,
        file_base64: row.get("file_base64")?,
        downloads: row.get("downloads")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn completion_row(row: &Row<'_>) -> Result<TrainingCompletion> {
    Ok(TrainingCompletion {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        content_id: rows::uuid(row, "content_id")?,
        completed_at: rows::ts(row, "completed_at")?,
    })
}

pub fn partner_profile(db: &Connection, partner_id: PartnerId) -> Result<Option<PartnerProfile>> {
    optional(
        db,
        "SELECT * FROM partner_profiles WHERE partner_id = ?",
        [partner_id.to_string()],
        profile_row,
    )
}

pub fn put_partner_profile(db: &Connection, profile: &PartnerProfile) -> Result<()> {
    insert(
        db,
        "INSERT INTO partner_profiles (partner_id, workspace_id, website, country, logo_content_type,
         logo_base64, tax_form_status, display_name, show_on_leaderboard, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (partner_id) DO UPDATE SET website = excluded.website,
             country = excluded.country, logo_content_type = excluded.logo_content_type,
             logo_base64 = excluded.logo_base64, tax_form_status = excluded.tax_form_status,
             display_name = excluded.display_name,
             show_on_leaderboard = excluded.show_on_leaderboard, updated_at = excluded.updated_at",
        params![
            profile.partner_id.to_string(),
            profile.workspace_id.to_string(),
            profile.website,
            profile.country,
            profile.logo_content_type,
            profile.logo_base64,
            profile.tax_form_status,
            profile.display_name,
            i64::from(profile.show_on_leaderboard),
            profile.updated_at.millis(),
        ],
    )
}

pub fn insert_content(db: &Connection, content: &ProgramContent) -> Result<()> {
    insert(
        db,
        "INSERT INTO program_content (id, workspace_id, program_id, partner_group, kind, title, body,
         persona, channel, file_name, content_type, file_base64, downloads, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            content.id.to_string(),
            content.workspace_id.to_string(),
            content.program_id.to_string(),
            content.partner_group,
            content.kind,
            content.title,
            content.body,
            content.persona,
            content.channel,
            content.file_name,
            content.content_type,
            content.file_base64,
            content.downloads,
            content.created_at.millis(),
        ],
    )
}

pub fn content(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: uuid::Uuid,
) -> Result<Option<ProgramContent>> {
    optional(
        db,
        "SELECT * FROM program_content WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        content_row,
    )
}

pub fn contents(
    db: &Connection,
    program_id: ProgramId,
    kind: Option<&str>,
) -> Result<Vec<ProgramContent>> {
    all(
        db,
        "SELECT id, workspace_id, program_id, partner_group, kind, title, body, persona, channel,
            file_name, content_type, NULL AS file_base64, downloads, created_at
         FROM program_content WHERE program_id = ? AND (? IS NULL OR kind = ?)
         ORDER BY created_at DESC, id DESC LIMIT 500",
        params![program_id.to_string(), kind, kind],
        content_row,
    )
}

pub fn count_download(db: &Connection, id: uuid::Uuid) -> Result<()> {
    execute(
        db,
        "UPDATE program_content SET downloads = downloads + 1 WHERE id = ?",
        [id.to_string()],
    )?;
    Ok(())
}

pub fn insert_training_completion(db: &Connection, completion: &TrainingCompletion) -> Result<()> {
    execute(
        db,
        "INSERT INTO training_completions (workspace_id, program_id, partner_id, content_id, completed_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        params![
            completion.workspace_id.to_string(),
            completion.program_id.to_string(),
            completion.partner_id.to_string(),
            completion.content_id.to_string(),
            completion.completed_at.millis(),
        ],
    )?;
    Ok(())
}

pub fn training_completions(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> Result<Vec<TrainingCompletion>> {
    all(
        db,
        "SELECT * FROM training_completions WHERE program_id = ? AND partner_id = ?
         ORDER BY completed_at LIMIT 1000",
        [program_id.to_string(), partner_id.to_string()],
        completion_row,
    )
}

pub fn partner_firsts(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> Result<PartnerFirsts> {
    let (program, partner) = (program_id.to_string(), partner_id.to_string());
    let first = |sql: &str| -> Result<Option<i64>> {
        Ok(db
            .prepare_cached(sql)?
            .query_row(params![partner, program], |row| {
                row.get::<_, Option<i64>>(0)
            })?)
    };
    Ok(PartnerFirsts {
        first_link_at: first(
            "SELECT MIN(created_at) FROM links WHERE partner_id = ? AND program_id = ?",
        )?
        .map(Timestamp::from_millis),
        first_click_day: first(
            "SELECT MIN(d.day) FROM link_daily d JOIN links l ON l.id = d.link_id
             WHERE l.partner_id = ? AND l.program_id = ? AND d.clicks > 0",
        )?,
        first_referral_at: first(
            "SELECT MIN(bound_at) FROM customers WHERE partner_id = ? AND program_id = ?",
        )?
        .map(Timestamp::from_millis),
    })
}

/// Net revenue of events: sales and renewals add, refunds and chargebacks take away.
const NET_REVENUE: &str = "COALESCE(SUM(CASE WHEN e.kind IN ('sale', 'renewal') THEN e.amount_minor
    WHEN e.kind IN ('refund', 'chargeback') THEN -e.amount_minor ELSE 0 END), 0)";

pub fn partner_performance(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
    from: Timestamp,
    to: Timestamp,
) -> Result<PartnerPerformance> {
    let (program, partner) = (program_id.to_string(), partner_id.to_string());
    let (revenue_minor, retained_customers): (i64, i64) = db
        .prepare_cached(&format!(
            "SELECT {NET_REVENUE}, COUNT(DISTINCT CASE WHEN e.kind IN ('sale', 'renewal') THEN e.customer_id END)
             FROM events e JOIN customers c ON c.id = e.customer_id
             WHERE e.partner_id = ? AND c.program_id = ? AND e.occurred_at >= ? AND e.occurred_at < ?"
        ))?
        .query_row(params![partner, program, from.millis(), to.millis()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    let new_customers: i64 = db
        .prepare_cached(
            "SELECT COUNT(*) FROM customers WHERE partner_id = ? AND program_id = ?
             AND bound_at >= ? AND bound_at < ?",
        )?
        .query_row(
            params![partner, program, from.millis(), to.millis()],
            |row| row.get(0),
        )?;
    let human_clicks: i64 = db
        .prepare_cached(
            "SELECT COALESCE(SUM(d.clicks - d.bot_clicks), 0) FROM link_daily d
             JOIN links l ON l.id = d.link_id
             WHERE l.partner_id = ? AND l.program_id = ? AND d.day >= ? AND d.day < ?",
        )?
        .query_row(
            params![partner, program, from.epoch_day(), to.epoch_day()],
            |row| row.get(0),
        )?;
    Ok(PartnerPerformance {
        revenue_minor,
        retained_customers,
        new_customers,
        human_clicks,
    })
}

pub fn program_leaders(
    db: &Connection,
    program_id: ProgramId,
    from: Timestamp,
    to: Timestamp,
    limit: u32,
) -> Result<Vec<LeaderRow>> {
    all(
        db,
        &format!(
            "SELECT e.partner_id, {NET_REVENUE} AS revenue_minor,
                COUNT(DISTINCT CASE WHEN e.kind IN ('sale', 'renewal') THEN e.customer_id END) AS customers
             FROM events e JOIN customers c ON c.id = e.customer_id
             WHERE c.program_id = ? AND e.partner_id IS NOT NULL AND e.occurred_at >= ? AND e.occurred_at < ?
             GROUP BY e.partner_id ORDER BY revenue_minor DESC, e.partner_id LIMIT ?"
        ),
        params![program_id.to_string(), from.millis(), to.millis(), limit.min(1_000)],
        |row| {
            Ok(LeaderRow {
                partner_id: PartnerId(rows::uuid(row, "partner_id")?),
                revenue_minor: row.get("revenue_minor")?,
                customers: row.get("customers")?,
            })
        },
    )
}

pub fn program_measures(
    db: &Connection,
    program_id: ProgramId,
    from: Timestamp,
    to: Timestamp,
) -> Result<ProgramMeasures> {
    let program = program_id.to_string();
    let (revenue_minor, active_partners): (i64, i64) = db
        .prepare_cached(&format!(
            "SELECT {NET_REVENUE}, COUNT(DISTINCT e.partner_id)
             FROM events e JOIN customers c ON c.id = e.customer_id
             WHERE c.program_id = ? AND e.partner_id IS NOT NULL AND e.occurred_at >= ? AND e.occurred_at < ?"
        ))?
        .query_row(params![program, from.millis(), to.millis()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    let commission_minor: i64 = db
        .prepare_cached(
            "SELECT COALESCE(SUM(amount_minor), 0) FROM commissions
             WHERE program_id = ? AND created_at >= ? AND created_at < ?",
        )?
        .query_row(params![program, from.millis(), to.millis()], |row| {
            row.get(0)
        })?;
    let new_customers: i64 = db
        .prepare_cached(
            "SELECT COUNT(*) FROM customers WHERE program_id = ? AND bound_at >= ? AND bound_at < ?",
        )?
        .query_row(params![program, from.millis(), to.millis()], |row| row.get(0))?;
    Ok(ProgramMeasures {
        revenue_minor,
        commission_minor,
        active_partners,
        new_customers,
    })
}
