//! Partner profiles, a program's content (assets, templates, training, resources,
//! announcements), training completions, and the firsts onboarding waits for.

use super::super::query::{Db, all, execute, insert, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;

fn profile_row(row: &Row) -> Result<PartnerProfile> {
    Ok(PartnerProfile {
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        website: rows::get(row, "website")?,
        country: rows::get(row, "country")?,
        logo_content_type: rows::get(row, "logo_content_type")?,
        logo_base64: rows::get(row, "logo_base64")?,
        tax_form_status: rows::get(row, "tax_form_status")?,
        display_name: rows::get(row, "display_name")?,
        show_on_leaderboard: rows::get(row, "show_on_leaderboard")?,
        updated_at: rows::ts(row, "updated_at")?,
    })
}

fn content_row(row: &Row) -> Result<ProgramContent> {
    Ok(ProgramContent {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_group: rows::get(row, "partner_group")?,
        kind: rows::get(row, "kind")?,
        title: rows::get(row, "title")?,
        body: rows::get(row, "body")?,
        persona: rows::get(row, "persona")?,
        channel: rows::get(row, "channel")?,
        file_name: rows::get(row, "file_name")?,
        content_type: rows::get(row, "content_type")?,
        file_base64: rows::get(row, "file_base64")?,
        downloads: rows::get(row, "downloads")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn completion_row(row: &Row) -> Result<TrainingCompletion> {
    Ok(TrainingCompletion {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        content_id: rows::uuid(row, "content_id")?,
        completed_at: rows::ts(row, "completed_at")?,
    })
}

pub async fn partner_profile(db: &Db, partner_id: PartnerId) -> Result<Option<PartnerProfile>> {
    optional(
        db,
        "SELECT * FROM partner_profiles WHERE partner_id = $1",
        &[&partner_id.as_uuid()],
        profile_row,
    )
    .await
}

pub async fn put_partner_profile(db: &Db, profile: &PartnerProfile) -> Result<()> {
    insert(
        db,
        "INSERT INTO partner_profiles (partner_id, workspace_id, website, country, logo_content_type,
         logo_base64, tax_form_status, display_name, show_on_leaderboard, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (partner_id) DO UPDATE SET website = excluded.website,
             country = excluded.country, logo_content_type = excluded.logo_content_type,
             logo_base64 = excluded.logo_base64, tax_form_status = excluded.tax_form_status,
             display_name = excluded.display_name,
             show_on_leaderboard = excluded.show_on_leaderboard, updated_at = excluded.updated_at",
        &[
            &profile.partner_id.as_uuid(),
            &profile.workspace_id.as_uuid(),
            &profile.website,
            &profile.country,
            &profile.logo_content_type,
            &profile.logo_base64,
            &profile.tax_form_status,
            &profile.display_name,
            &profile.show_on_leaderboard,
            &profile.updated_at.millis(),
        ],
    )
    .await
}

pub async fn insert_content(db: &Db, content: &ProgramContent) -> Result<()> {
    insert(
        db,
        "INSERT INTO program_content (id, workspace_id, program_id, partner_group, kind, title, body,
         persona, channel, file_name, content_type, file_base64, downloads, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            &content.id,
            &content.workspace_id.as_uuid(),
            &content.program_id.as_uuid(),
            &content.partner_group,
            &content.kind,
            &content.title,
            &content.body,
            &content.persona,
            &content.channel,
            &content.file_name,
            &content.content_type,
            &content.file_base64,
            &content.downloads,
            &content.created_at.millis(),
        ],
    )
    .await
}

pub async fn content(
    db: &Db,
    workspace_id: WorkspaceId,
    id: uuid::Uuid,
) -> Result<Option<ProgramContent>> {
    optional(
        db,
        "SELECT * FROM program_content WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id.as_uuid(), &id],
        content_row,
    )
    .await
}

pub async fn contents(
    db: &Db,
    program_id: ProgramId,
    kind: Option<&str>,
) -> Result<Vec<ProgramContent>> {
    all(
        db,
        "SELECT id, workspace_id, program_id, partner_group, kind, title, body, persona, channel,
            file_name, content_type, NULL::TEXT AS file_base64, downloads, created_at
         FROM program_content WHERE program_id = $1 AND ($2::TEXT IS NULL OR kind = $2)
         ORDER BY created_at DESC, id DESC LIMIT 500",
        &[&program_id.as_uuid(), &kind],
        content_row,
    )
    .await
}

pub async fn count_download(db: &Db, id: uuid::Uuid) -> Result<()> {
    execute(
        db,
        "UPDATE program_content SET downloads = downloads + 1 WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

pub async fn insert_training_completion(db: &Db, completion: &TrainingCompletion) -> Result<()> {
    execute(
        db,
        "INSERT INTO training_completions (workspace_id, program_id, partner_id, content_id, completed_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        &[
            &completion.workspace_id.as_uuid(),
            &completion.program_id.as_uuid(),
            &completion.partner_id.as_uuid(),
            &completion.content_id,
            &completion.completed_at.millis(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn training_completions(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> Result<Vec<TrainingCompletion>> {
    all(
        db,
        "SELECT * FROM training_completions WHERE program_id = $1 AND partner_id = $2
         ORDER BY completed_at LIMIT 1000",
        &[&program_id.as_uuid(), &partner_id.as_uuid()],
        completion_row,
    )
    .await
}

pub async fn partner_firsts(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> Result<PartnerFirsts> {
    let row = optional(
        db,
        "SELECT
            (SELECT MIN(created_at) FROM links WHERE partner_id = $1 AND program_id = $2) AS first_link,
            (SELECT MIN(d.day) FROM link_daily d JOIN links l ON l.id = d.link_id
              WHERE l.partner_id = $1 AND l.program_id = $2 AND d.clicks > 0) AS first_click,
            (SELECT MIN(bound_at) FROM customers WHERE partner_id = $1 AND program_id = $2) AS first_referral",
        &[&partner_id.as_uuid(), &program_id.as_uuid()],
        |row| {
            Ok(PartnerFirsts {
                first_link_at: rows::opt_ts(row, "first_link")?,
                first_click_day: rows::get::<Option<i64>>(row, "first_click")?,
                first_referral_at: rows::opt_ts(row, "first_referral")?,
            })
        },
    )
    .await?;
    Ok(row.unwrap_or_default())
}

/// Net revenue of events: sales and renewals add, refunds and chargebacks take away.
const NET_REVENUE: &str = "COALESCE(SUM(CASE WHEN e.kind IN ('sale', 'renewal') THEN e.amount_minor
    WHEN e.kind IN ('refund', 'chargeback') THEN -e.amount_minor ELSE 0 END), 0)::BIGINT";

pub async fn partner_performance(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
    from: Timestamp,
    to: Timestamp,
) -> Result<PartnerPerformance> {
    let sql = format!(
        "SELECT
            (SELECT {NET_REVENUE} FROM events e JOIN customers c ON c.id = e.customer_id
              WHERE e.partner_id = $1 AND c.program_id = $2 AND e.occurred_at >= $3 AND e.occurred_at < $4) AS revenue,
            (SELECT COUNT(DISTINCT e.customer_id) FROM events e JOIN customers c ON c.id = e.customer_id
              WHERE e.partner_id = $1 AND c.program_id = $2 AND e.occurred_at >= $3 AND e.occurred_at < $4
              AND e.kind IN ('sale', 'renewal')) AS retained,
            (SELECT COUNT(*) FROM customers WHERE partner_id = $1 AND program_id = $2
              AND bound_at >= $3 AND bound_at < $4) AS new_customers,
            (SELECT COALESCE(SUM(d.clicks - d.bot_clicks), 0)::BIGINT FROM link_daily d JOIN links l ON l.id = d.link_id
              WHERE l.partner_id = $1 AND l.program_id = $2 AND d.day >= $5 AND d.day < $6) AS clicks"
    );
    let row = optional(
        db,
        &sql,
        &[
            &partner_id.as_uuid(),
            &program_id.as_uuid(),
            &from.millis(),
            &to.millis(),
            &from.epoch_day(),
            &to.epoch_day(),
        ],
        |row| {
            Ok(PartnerPerformance {
                revenue_minor: rows::get(row, "revenue")?,
                retained_customers: rows::get(row, "retained")?,
                new_customers: rows::get(row, "new_customers")?,
                human_clicks: rows::get(row, "clicks")?,
            })
        },
    )
    .await?;
    Ok(row.unwrap_or_default())
}

pub async fn program_leaders(
    db: &Db,
    program_id: ProgramId,
    from: Timestamp,
    to: Timestamp,
    limit: u32,
) -> Result<Vec<LeaderRow>> {
    let sql = format!(
        "SELECT e.partner_id, {NET_REVENUE} AS revenue_minor,
            COUNT(DISTINCT CASE WHEN e.kind IN ('sale', 'renewal') THEN e.customer_id END) AS customers
         FROM events e JOIN customers c ON c.id = e.customer_id
         WHERE c.program_id = $1 AND e.partner_id IS NOT NULL AND e.occurred_at >= $2 AND e.occurred_at < $3
         GROUP BY e.partner_id ORDER BY revenue_minor DESC, e.partner_id LIMIT $4"
    );
    all(
        db,
        &sql,
        &[
            &program_id.as_uuid(),
            &from.millis(),
            &to.millis(),
            &i64::from(limit.min(1_000)),
        ],
        |row| {
            Ok(LeaderRow {
                partner_id: PartnerId(rows::uuid(row, "partner_id")?),
                revenue_minor: rows::get(row, "revenue_minor")?,
                customers: rows::get(row, "customers")?,
            })
        },
    )
    .await
}

pub async fn program_measures(
    db: &Db,
    program_id: ProgramId,
    from: Timestamp,
    to: Timestamp,
) -> Result<ProgramMeasures> {
    let sql = format!(
        "SELECT
            (SELECT {NET_REVENUE} FROM events e JOIN customers c ON c.id = e.customer_id
              WHERE c.program_id = $1 AND e.partner_id IS NOT NULL AND e.occurred_at >= $2 AND e.occurred_at < $3) AS revenue,
            (SELECT COUNT(DISTINCT e.partner_id) FROM events e JOIN customers c ON c.id = e.customer_id
              WHERE c.program_id = $1 AND e.partner_id IS NOT NULL AND e.occurred_at >= $2 AND e.occurred_at < $3) AS partners,
            (SELECT COALESCE(SUM(amount_minor), 0)::BIGINT FROM commissions
              WHERE program_id = $1 AND created_at >= $2 AND created_at < $3) AS commission,
            (SELECT COUNT(*) FROM customers WHERE program_id = $1 AND bound_at >= $2 AND bound_at < $3) AS new_customers"
    );
    let row = optional(
        db,
        &sql,
        &[&program_id.as_uuid(), &from.millis(), &to.millis()],
        |row| {
            Ok(ProgramMeasures {
                revenue_minor: rows::get(row, "revenue")?,
                commission_minor: rows::get(row, "commission")?,
                active_partners: rows::get(row, "partners")?,
                new_customers: rows::get(row, "new_customers")?,
            })
        },
    )
    .await?;
    Ok(row.unwrap_or_default())
}
