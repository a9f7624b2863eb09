//! Attribution beyond the binding: the shares of customers credited to several partners,
//! coupon codes, registered deals, and the audit log.

use super::super::query::{all, execute, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};
use tributary_core::attribution::BoundShare;
use tributary_core::multitouch::{Channel, Role};

fn share_row(row: &Row<'_>) -> Result<(CustomerId, BoundShare)> {
    let role: String = row.get("role")?;
    let channel: String = row.get("channel")?;
    Ok((
        CustomerId(rows::uuid(row, "customer_id")?),
        BoundShare {
            partner_id: PartnerId(rows::uuid(row, "partner_id")?),
            share_bp: rows::u32_col(row, "share_bp")?,
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("share role {role}")))?,
            model: row.get("model")?,
            touch_id: row.get("touch_id")?,
            channel: Channel::parse(&channel)
                .ok_or_else(|| StoreError::Corrupt(format!("share channel {channel}")))?,
            link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
            touched_at: rows::ts(row, "touched_at")?,
        },
    ))
}

pub fn customer_shares(db: &Connection, customer_id: CustomerId) -> Result<Vec<BoundShare>> {
    Ok(all(
        db,
        "SELECT * FROM customer_shares WHERE customer_id = ? ORDER BY share_bp DESC, touched_at, partner_id",
        [customer_id.to_string()],
        share_row,
    )?
    .into_iter()
    .map(|(_, share)| share)
    .collect())
}

pub fn workspace_customer_shares(
    db: &Connection,
    workspace_id: WorkspaceId,
) -> Result<Vec<(CustomerId, BoundShare)>> {
    all(
        db,
        "SELECT s.* FROM customer_shares s JOIN customers c ON c.id = s.customer_id
         WHERE c.workspace_id = ? ORDER BY s.customer_id, s.share_bp DESC, s.touched_at, s.partner_id",
        [workspace_id.to_string()],
        share_row,
    )
}

pub fn set_customer_shares(
    db: &Connection,
    customer_id: CustomerId,
    program_id: ProgramId,
    shares: &[BoundShare],
) -> Result<()> {
    execute(
        db,
        "DELETE FROM customer_shares WHERE customer_id = ?",
        [customer_id.to_string()],
    )?;
    for share in shares {
        execute(
            db,
            "INSERT INTO customer_shares (customer_id, partner_id, program_id, share_bp, role, model,
             touch_id, channel, link_id, touched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                customer_id.to_string(),
                share.partner_id.to_string(),
                program_id.to_string(),
                share.share_bp,
                share.role.as_str(),
                share.model,
                share.touch_id,
                share.channel.as_str(),
                share.link_id.map(|id| id.to_string()),
                share.touched_at.millis(),
            ],
        )?;
    }
    Ok(())
}

fn coupon_row(row: &Row<'_>) -> Result<Coupon> {
    Ok(Coupon {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        code: row.get("code")?,
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        created_at: rows::ts(row, "created_at")?,
    })
}

pub fn insert_coupon(db: &Connection, coupon: &Coupon) -> Result<()> {
    execute(
        db,
        "INSERT INTO coupons (workspace_id, code, program_id, partner_id, created_at)
         VALUES (?, ?, ?, ?, ?)",
        params![
            coupon.workspace_id.to_string(),
            coupon.code,
            coupon.program_id.to_string(),
            coupon.partner_id.to_string(),
            coupon.created_at.millis(),
        ],
    )?;
    Ok(())
}

pub fn coupon(db: &Connection, workspace_id: WorkspaceId, code: &str) -> Result<Option<Coupon>> {
    optional(
        db,
        "SELECT * FROM coupons WHERE workspace_id = ? AND code = ?",
        params![workspace_id.to_string(), code],
        coupon_row,
    )
}

pub fn coupons(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
) -> Result<Vec<Coupon>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM coupons WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?)
         ORDER BY code LIMIT 1000",
        params![workspace_id.to_string(), partner, partner],
        coupon_row,
    )
}

fn deal_row(row: &Row<'_>) -> Result<Deal> {
    Ok(Deal {
        id: DealId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        customer_external_id: row.get("customer_external_id")?,
        company: row.get("company")?,
        contact_name: row.get("contact_name")?,
        contact_email: row.get("contact_email")?,
        notes: row.get("notes")?,
        status: row.get("status")?,
        decided_at: rows::opt_ts(row, "decided_at")?,
        decision_reason: row.get("decision_reason")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

pub fn insert_deal(db: &Connection, deal: &Deal) -> Result<()> {
    execute(
        db,
        "INSERT INTO deals (id, workspace_id, program_id, partner_id, customer_external_id, company,
         contact_name, contact_email, notes, status, decided_at, decision_reason, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            deal.id.to_string(),
            deal.workspace_id.to_string(),
            deal.program_id.to_string(),
            deal.partner_id.to_string(),
            deal.customer_external_id,
            deal.company,
            deal.contact_name,
            deal.contact_email,
            deal.notes,
            deal.status,
            deal.decided_at.map(Timestamp::millis),
            deal.decision_reason,
            deal.created_at.millis(),
        ],
    )?;
    Ok(())
}

pub fn deal(db: &Connection, workspace_id: WorkspaceId, id: DealId) -> Result<Option<Deal>> {
    optional(
        db,
        "SELECT * FROM deals WHERE workspace_id = ? AND id = ?",
        params![workspace_id.to_string(), id.to_string()],
        deal_row,
    )
}

pub fn deals(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<Deal>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM deals WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?)
         ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        params![
            workspace_id.to_string(),
            partner,
            partner,
            page.limit,
            page.offset
        ],
        deal_row,
    )
}

pub fn decide_deal(
    db: &Connection,
    id: DealId,
    status: &str,
    at: Timestamp,
    reason: &str,
) -> Result<()> {
    execute(
        db,
        "UPDATE deals SET status = ?, decided_at = ?, decision_reason = ? WHERE id = ?",
        params![status, at.millis(), reason, id.to_string()],
    )?;
    Ok(())
}

fn audit_row(row: &Row<'_>) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        at: rows::ts(row, "at")?,
        actor: row.get("actor")?,
        action: row.get("action")?,
        subject: row.get("subject")?,
        reason: row.get("reason")?,
        detail_json: row.get("detail_json")?,
    })
}

pub fn insert_audit(db: &Connection, entry: &AuditEntry) -> Result<()> {
    execute(
        db,
        "INSERT INTO audit_log (id, workspace_id, at, actor, action, subject, reason, detail_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            entry.id.to_string(),
            entry.workspace_id.to_string(),
            entry.at.millis(),
            entry.actor,
            entry.action,
            entry.subject,
            entry.reason,
            entry.detail_json,
        ],
    )?;
    Ok(())
}

pub fn audit_entries(
    db: &Connection,
    workspace_id: WorkspaceId,
    subject: &str,
) -> Result<Vec<AuditEntry>> {
    all(
        db,
        "SELECT * FROM audit_log WHERE workspace_id = ? AND subject = ? ORDER BY at, id LIMIT 1000",
        params![workspace_id.to_string(), subject],
        audit_row,
    )
}

pub fn set_customer_event_credit(
    db: &Connection,
    customer_id: CustomerId,
    partner_id: PartnerId,
    link_id: Option<LinkId>,
) -> Result<()> {
    execute(
        db,
        "UPDATE events SET partner_id = ?, link_id = ? WHERE customer_id = ?",
        params![
            partner_id.to_string(),
            link_id.map(|id| id.to_string()),
            customer_id.to_string()
        ],
    )?;
    Ok(())
}

pub fn open_deal(
    db: &Connection,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    customer_external_id: &str,
) -> Result<Option<Deal>> {
    optional(
        db,
        "SELECT * FROM deals WHERE workspace_id = ? AND program_id = ? AND customer_external_id = ?
           AND status IN ('pending', 'approved') ORDER BY created_at LIMIT 1",
        params![
            workspace_id.to_string(),
            program_id.to_string(),
            customer_external_id
        ],
        deal_row,
    )
}
