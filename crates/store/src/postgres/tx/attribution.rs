//! Attribution beyond the binding: the shares of customers credited to several partners,
//! coupon codes, registered deals, and the audit log.

use super::super::query::{Db, all, execute, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;
use tributary_core::attribution::BoundShare;
use tributary_core::multitouch::{Channel, Role};

fn share_row(row: &Row) -> Result<(CustomerId, BoundShare)> {
    let role: &str = rows::get(row, "role")?;
    let channel: &str = rows::get(row, "channel")?;
    Ok((
        CustomerId(rows::uuid(row, "customer_id")?),
        BoundShare {
            partner_id: PartnerId(rows::uuid(row, "partner_id")?),
            share_bp: rows::u32_col(row, "share_bp")?,
            role: Role::parse(role)
                .ok_or_else(|| StoreError::Corrupt(format!("share role {role}")))?,
            model: rows::get(row, "model")?,
            touch_id: rows::get(row, "touch_id")?,
            channel: Channel::parse(channel)
                .ok_or_else(|| StoreError::Corrupt(format!("share channel {channel}")))?,
            link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
            touched_at: rows::ts(row, "touched_at")?,
        },
    ))
}

pub async fn customer_shares(db: &Db, customer_id: CustomerId) -> Result<Vec<BoundShare>> {
    let customer_id = customer_id.as_uuid();
    Ok(all(
        db,
        "SELECT * FROM customer_shares WHERE customer_id = $1
         ORDER BY share_bp DESC, touched_at, partner_id",
        &[&customer_id],
        share_row,
    )
    .await?
    .into_iter()
    .map(|(_, share)| share)
    .collect())
}

pub async fn workspace_customer_shares(
    db: &Db,
    workspace_id: WorkspaceId,
) -> Result<Vec<(CustomerId, BoundShare)>> {
    let workspace_id = workspace_id.as_uuid();
    all(
        db,
        "SELECT s.* FROM customer_shares s JOIN customers c ON c.id = s.customer_id
         WHERE c.workspace_id = $1 ORDER BY s.customer_id, s.share_bp DESC, s.touched_at, s.partner_id",
        &[&workspace_id],
        share_row,
    )
    .await
}

pub async fn set_customer_shares(
    db: &Db,
    customer_id: CustomerId,
    program_id: ProgramId,
    shares: &[BoundShare],
) -> Result<()> {
    let customer_id = customer_id.as_uuid();
    let program_id = program_id.as_uuid();
    execute(
        db,
        "DELETE FROM customer_shares WHERE customer_id = $1",
        &[&customer_id],
    )
    .await?;
    for share in shares {
        let partner_id = share.partner_id.as_uuid();
        let share_bp = i64::from(share.share_bp);
        let link_id = share.link_id.map(|id| id.as_uuid());
        let touched_at = share.touched_at.millis();
        execute(
            db,
            "INSERT INTO customer_shares (customer_id, partner_id, program_id, share_bp, role, model,
             touch_id, channel, link_id, touched_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &customer_id,
                &partner_id,
                &program_id,
                &share_bp,
                &share.role.as_str(),
                &share.model,
                &share.touch_id,
                &share.channel.as_str(),
                &link_id,
                &touched_at,
            ],
        )
        .await?;
    }
    Ok(())
}

fn coupon_row(row: &Row) -> Result<Coupon> {
    Ok(Coupon {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        code: rows::get(row, "code")?,
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        created_at: rows::ts(row, "created_at")?,
    })
}

pub async fn insert_coupon(db: &Db, coupon: &Coupon) -> Result<()> {
    let workspace_id = coupon.workspace_id.as_uuid();
    let program_id = coupon.program_id.as_uuid();
    let partner_id = coupon.partner_id.as_uuid();
    let created_at = coupon.created_at.millis();
    execute(
        db,
        "INSERT INTO coupons (workspace_id, code, program_id, partner_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &workspace_id,
            &coupon.code,
            &program_id,
            &partner_id,
            &created_at,
        ],
    )
    .await?;
    Ok(())
}

pub async fn coupon(db: &Db, workspace_id: WorkspaceId, code: &str) -> Result<Option<Coupon>> {
    let workspace_id = workspace_id.as_uuid();
    optional(
        db,
        "SELECT * FROM coupons WHERE workspace_id = $1 AND code = $2",
        &[&workspace_id, &code],
        coupon_row,
    )
    .await
}

pub async fn coupons(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
) -> Result<Vec<Coupon>> {
    let workspace_id = workspace_id.as_uuid();
    let partner = partner_id.map(|id| id.as_uuid());
    all(
        db,
        "SELECT * FROM coupons WHERE workspace_id = $1 AND ($2::UUID IS NULL OR partner_id = $2)
         ORDER BY code COLLATE \"C\" LIMIT 1000",
        &[&workspace_id, &partner],
        coupon_row,
    )
    .await
}

fn deal_row(row: &Row) -> Result<Deal> {
    Ok(Deal {
        id: DealId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        customer_external_id: rows::get(row, "customer_external_id")?,
        company: rows::get(row, "company")?,
        contact_name: rows::get(row, "contact_name")?,
        contact_email: rows::get(row, "contact_email")?,
        notes: rows::get(row, "notes")?,
        status: rows::get(row, "status")?,
        decided_at: rows::opt_ts(row, "decided_at")?,
        decision_reason: rows::get(row, "decision_reason")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

pub async fn insert_deal(db: &Db, deal: &Deal) -> Result<()> {
    let id = deal.id.as_uuid();
    let workspace_id = deal.workspace_id.as_uuid();
    let program_id = deal.program_id.as_uuid();
    let partner_id = deal.partner_id.as_uuid();
    let decided_at = deal.decided_at.map(Timestamp::millis);
    let created_at = deal.created_at.millis();
    execute(
        db,
        "INSERT INTO deals (id, workspace_id, program_id, partner_id, customer_external_id, company,
         contact_name, contact_email, notes, status, decided_at, decision_reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            &id,
            &workspace_id,
            &program_id,
            &partner_id,
            &deal.customer_external_id,
            &deal.company,
            &deal.contact_name,
            &deal.contact_email,
            &deal.notes,
            &deal.status,
            &decided_at,
            &deal.decision_reason,
            &created_at,
        ],
    )
    .await?;
    Ok(())
}

pub async fn deal(db: &Db, workspace_id: WorkspaceId, id: DealId) -> Result<Option<Deal>> {
    let workspace_id = workspace_id.as_uuid();
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM deals WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id, &id],
        deal_row,
    )
    .await
}

pub async fn deals(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<Deal>> {
    let workspace_id = workspace_id.as_uuid();
    let partner = partner_id.map(|id| id.as_uuid());
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT * FROM deals WHERE workspace_id = $1 AND ($2::UUID IS NULL OR partner_id = $2)
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
        &[&workspace_id, &partner, &limit, &offset],
        deal_row,
    )
    .await
}

pub async fn decide_deal(
    db: &Db,
    id: DealId,
    status: &str,
    at: Timestamp,
    reason: &str,
) -> Result<()> {
    let id = id.as_uuid();
    let at = at.millis();
    execute(
        db,
        "UPDATE deals SET status = $1, decided_at = $2, decision_reason = $3 WHERE id = $4",
        &[&status, &at, &reason, &id],
    )
    .await?;
    Ok(())
}

fn audit_row(row: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        at: rows::ts(row, "at")?,
        actor: rows::get(row, "actor")?,
        action: rows::get(row, "action")?,
        subject: rows::get(row, "subject")?,
        reason: rows::get(row, "reason")?,
        detail_json: rows::get(row, "detail_json")?,
    })
}

pub async fn insert_audit(db: &Db, entry: &AuditEntry) -> Result<()> {
    let workspace_id = entry.workspace_id.as_uuid();
    let at = entry.at.millis();
    execute(
        db,
        "INSERT INTO audit_log (id, workspace_id, at, actor, action, subject, reason, detail_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &entry.id,
            &workspace_id,
            &at,
            &entry.actor,
            &entry.action,
            &entry.subject,
            &entry.reason,
            &entry.detail_json,
        ],
    )
    .await?;
    Ok(())
}

pub async fn audit_entries(
    db: &Db,
    workspace_id: WorkspaceId,
    subject: &str,
) -> Result<Vec<AuditEntry>> {
    let workspace_id = workspace_id.as_uuid();
    all(
        db,
        "SELECT * FROM audit_log WHERE workspace_id = $1 AND subject = $2 ORDER BY at, id LIMIT 1000",
        &[&workspace_id, &subject],
        audit_row,
    )
    .await
}

pub async fn set_customer_event_credit(
    db: &Db,
    customer_id: CustomerId,
    partner_id: PartnerId,
    link_id: Option<LinkId>,
) -> Result<()> {
    let customer_id = customer_id.as_uuid();
    let partner_id = partner_id.as_uuid();
    let link_id = link_id.map(|id| id.as_uuid());
    execute(
        db,
        "UPDATE events SET partner_id = $1, link_id = $2 WHERE customer_id = $3",
        &[&partner_id, &link_id, &customer_id],
    )
    .await?;
    Ok(())
}

pub async fn open_deal(
    db: &Db,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    customer_external_id: &str,
) -> Result<Option<Deal>> {
    let workspace_id = workspace_id.as_uuid();
    let program_id = program_id.as_uuid();
    optional(
        db,
        "SELECT * FROM deals WHERE workspace_id = $1 AND program_id = $2 AND customer_external_id = $3
           AND status IN ('pending', 'approved') ORDER BY created_at LIMIT 1",
        &[&workspace_id, &program_id, &customer_external_id],
        deal_row,
    )
    .await
}
