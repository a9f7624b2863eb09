//! The partner lifecycle (issue 6): program lifecycle documents, applications, invitations,
//! the email outbox, one-time partner tokens, and terms with their acceptances.

use super::super::query::{all, execute, insert, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))
}

fn lifecycle_row(row: &Row<'_>) -> Result<ProgramLifecycleRow> {
    Ok(ProgramLifecycleRow {
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        slug: row.get("slug")?,
        lifecycle: rows::json(row, "lifecycle_json")?,
        updated_at: rows::ts(row, "updated_at")?,
    })
}

fn application_row(row: &Row<'_>) -> Result<Application> {
    Ok(Application {
        id: ApplicationId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        applicant: rows::json(row, "applicant_json")?,
        score: rows::json(row, "score_json")?,
        status: row.get("status")?,
        decided_by: row.get("decided_by")?,
        reason: row.get("reason")?,
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
        ip_hash: row.get("ip_hash")?,
        created_at: rows::ts(row, "created_at")?,
        decided_at: rows::opt_ts(row, "decided_at")?,
    })
}

fn invitation_row(row: &Row<'_>) -> Result<Invitation> {
    Ok(Invitation {
        id: InvitationId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        email: row.get("email")?,
        name: row.get("name")?,
        partner_group: row.get("partner_group")?,
        token_hash: row.get("token_hash")?,
        status: row.get("status")?,
        invited_by: row.get("invited_by")?,
        created_at: rows::ts(row, "created_at")?,
        expires_at: rows::ts(row, "expires_at")?,
        accepted_at: rows::opt_ts(row, "accepted_at")?,
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
    })
}

fn email_row(row: &Row<'_>) -> Result<Email> {
    Ok(Email {
        id: EmailId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        to_address: row.get("to_address")?,
        subject: row.get("subject")?,
        body: row.get("body")?,
        kind: row.get("kind")?,
        status: row.get("status")?,
        attempts: row.get("attempts")?,
        last_error: row.get("last_error")?,
        created_at: rows::ts(row, "created_at")?,
        sent_at: rows::opt_ts(row, "sent_at")?,
    })
}

fn token_row(row: &Row<'_>) -> Result<PartnerToken> {
    Ok(PartnerToken {
        token_hash: row.get("token_hash")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        purpose: row.get("purpose")?,
        created_at: rows::ts(row, "created_at")?,
        expires_at: rows::ts(row, "expires_at")?,
        used_at: rows::opt_ts(row, "used_at")?,
    })
}

fn terms_row(row: &Row<'_>) -> Result<TermsVersion> {
    Ok(TermsVersion {
        id: TermsVersionId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        version: row.get("version")?,
        body_markdown: row.get("body_markdown")?,
        payout_schedule: row.get("payout_schedule")?,
        termination_policy: row.get("termination_policy")?,
        grace_days: rows::u32_col(row, "grace_days")?,
        published_by: row.get("published_by")?,
        published_at: rows::ts(row, "published_at")?,
    })
}

fn acceptance_row(row: &Row<'_>) -> Result<TermsAcceptance> {
    Ok(TermsAcceptance {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        terms_version_id: TermsVersionId(rows::uuid(row, "terms_version_id")?),
        version: row.get("version")?,
        accepted_at: rows::ts(row, "accepted_at")?,
        ip_hash: row.get("ip_hash")?,
    })
}

pub fn program_lifecycle(
    db: &Connection,
    program_id: ProgramId,
) -> Result<Option<ProgramLifecycleRow>> {
    optional(
        db,
        "SELECT * FROM program_lifecycles WHERE program_id = ?",
        [program_id.to_string()],
        lifecycle_row,
    )
}

pub fn program_lifecycle_by_slug(
    db: &Connection,
    slug: &str,
) -> Result<Option<ProgramLifecycleRow>> {
    optional(
        db,
        "SELECT * FROM program_lifecycles WHERE slug = ?",
        [slug],
        lifecycle_row,
    )
}

pub fn put_program_lifecycle(db: &Connection, row: &ProgramLifecycleRow) -> Result<()> {
    insert(
        db,
        "INSERT INTO program_lifecycles (program_id, workspace_id, slug, lifecycle_json, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (program_id) DO UPDATE SET slug = excluded.slug,
             lifecycle_json = excluded.lifecycle_json, updated_at = excluded.updated_at",
        params![
            row.program_id.to_string(),
            row.workspace_id.to_string(),
            row.slug,
            to_json(&row.lifecycle)?,
            row.updated_at.millis(),
        ],
    )
}

pub fn set_enrollment_status(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
    status: &str,
    reason: Option<&str>,
    at: Timestamp,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE enrollments SET status = ?, status_reason = ?, status_changed_at = ?
         WHERE program_id = ? AND partner_id = ?",
        params![
            status,
            reason,
            at.millis(),
            program_id.to_string(),
            partner_id.to_string()
        ],
    )?;
    Ok(changed > 0)
}

pub fn count_enrollments(db: &Connection, program_id: ProgramId, statuses: &[&str]) -> Result<u64> {
    let mut total = 0u64;
    for status in statuses {
        let count: i64 = db
            .prepare_cached("SELECT COUNT(*) FROM enrollments WHERE program_id = ? AND status = ?")?
            .query_row(params![program_id.to_string(), status], |row| row.get(0))?;
        total += count.max(0) as u64;
    }
    Ok(total)
}

pub fn insert_application(db: &Connection, application: &Application) -> Result<()> {
    insert(
        db,
        "INSERT INTO applications (id, workspace_id, program_id, email, name, partner_group,
         applicant_json, score, score_json, status, decided_by, reason, partner_id, ip_hash,
         created_at, decided_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            application.id.to_string(),
            application.workspace_id.to_string(),
            application.program_id.to_string(),
            application.applicant.email,
            application.applicant.name,
            application.applicant.group,
            to_json(&application.applicant)?,
            application.score.total,
            to_json(&application.score)?,
            application.status,
            application.decided_by,
            application.reason,
            rows::opt_text(application.partner_id.map(|id| id.0)),
            application.ip_hash,
            application.created_at.millis(),
            application.decided_at.map(Timestamp::millis),
        ],
    )
}

pub fn application(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: ApplicationId,
) -> Result<Option<Application>> {
    optional(
        db,
        "SELECT * FROM applications WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        application_row,
    )
}

pub fn applications(
    db: &Connection,
    workspace_id: WorkspaceId,
    program_id: Option<ProgramId>,
    status: Option<&str>,
    page: Page,
) -> Result<Vec<Application>> {
    let program = program_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM applications WHERE workspace_id = ? AND (? IS NULL OR program_id = ?)
         AND (? IS NULL OR status = ?) ORDER BY created_at, id LIMIT ? OFFSET ?",
        params![
            workspace_id.to_string(),
            program,
            program,
            status,
            status,
            page.limit,
            page.offset
        ],
        application_row,
    )
}

pub fn latest_application(
    db: &Connection,
    program_id: ProgramId,
    email: &str,
) -> Result<Option<Application>> {
    optional(
        db,
        "SELECT * FROM applications WHERE program_id = ? AND email = ?
         ORDER BY created_at DESC, id DESC LIMIT 1",
        [program_id.to_string(), email.to_string()],
        application_row,
    )
}

pub fn decide_application(db: &Connection, decided: &Application) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE applications SET status = ?, decided_by = ?, reason = ?, partner_id = ?, decided_at = ?
         WHERE id = ? AND status = 'pending'",
        params![
            decided.status,
            decided.decided_by,
            decided.reason,
            rows::opt_text(decided.partner_id.map(|id| id.0)),
            decided.decided_at.map(Timestamp::millis),
            decided.id.to_string(),
        ],
    )?;
    Ok(changed > 0)
}

pub fn insert_invitation(db: &Connection, invitation: &Invitation) -> Result<bool> {
    let inserted = execute(
        db,
        "INSERT INTO invitations (id, workspace_id, program_id, email, name, partner_group,
         token_hash, status, invited_by, created_at, expires_at, accepted_at, partner_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (program_id, email) DO UPDATE SET token_hash = excluded.token_hash,
             name = excluded.name, partner_group = excluded.partner_group,
             invited_by = excluded.invited_by, created_at = excluded.created_at,
             expires_at = excluded.expires_at
         WHERE invitations.status = 'sent' AND invitations.expires_at <= excluded.created_at",
        params![
            invitation.id.to_string(),
            invitation.workspace_id.to_string(),
            invitation.program_id.to_string(),
            invitation.email,
            invitation.name,
            invitation.partner_group,
            invitation.token_hash,
            invitation.status,
            invitation.invited_by,
            invitation.created_at.millis(),
            invitation.expires_at.millis(),
            invitation.accepted_at.map(Timestamp::millis),
            rows::opt_text(invitation.partner_id.map(|id| id.0)),
        ],
    )?;
    Ok(inserted > 0)
}

pub fn invitation_by_token(db: &Connection, token_hash: &str) -> Result<Option<Invitation>> {
    optional(
        db,
        "SELECT * FROM invitations WHERE token_hash = ?",
        [token_hash],
        invitation_row,
    )
}

pub fn invitations(
    db: &Connection,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    page: Page,
) -> Result<Vec<Invitation>> {
    all(
        db,
        "SELECT * FROM invitations WHERE workspace_id = ? AND program_id = ?
         ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        params![
            workspace_id.to_string(),
            program_id.to_string(),
            page.limit,
            page.offset
        ],
        invitation_row,
    )
}

pub fn accept_invitation(
    db: &Connection,
    id: InvitationId,
    partner_id: PartnerId,
    at: Timestamp,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE invitations SET status = 'accepted', partner_id = ?, accepted_at = ?
         WHERE id = ? AND status = 'sent'",
        params![partner_id.to_string(), at.millis(), id.to_string()],
    )?;
    Ok(changed > 0)
}

pub fn insert_email(db: &Connection, email: &Email) -> Result<()> {
    insert(
        db,
        "INSERT INTO emails (id, workspace_id, to_address, subject, body, kind, status, attempts,
         last_error, created_at, sent_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            email.id.to_string(),
            email.workspace_id.to_string(),
            email.to_address,
            email.subject,
            email.body,
            email.kind,
            email.status,
            email.attempts,
            email.last_error,
            email.created_at.millis(),
            email.sent_at.map(Timestamp::millis),
        ],
    )
}

pub fn email(db: &Connection, id: EmailId) -> Result<Option<Email>> {
    optional(
        db,
        "SELECT * FROM emails WHERE id = ?",
        [id.to_string()],
        email_row,
    )
}

pub fn update_email(db: &Connection, email: &Email) -> Result<()> {
    execute(
        db,
        "UPDATE emails SET status = ?, attempts = ?, last_error = ?, sent_at = ? WHERE id = ?",
        params![
            email.status,
            email.attempts,
            email.last_error,
            email.sent_at.map(Timestamp::millis),
            email.id.to_string(),
        ],
    )?;
    Ok(())
}

pub fn emails(
    db: &Connection,
    workspace_id: WorkspaceId,
    to: Option<&str>,
    page: Page,
) -> Result<Vec<Email>> {
    all(
        db,
        "SELECT * FROM emails WHERE workspace_id = ? AND (? IS NULL OR to_address = ?)
         ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        params![workspace_id.to_string(), to, to, page.limit, page.offset],
        email_row,
    )
}

pub fn insert_partner_token(db: &Connection, token: &PartnerToken) -> Result<()> {
    insert(
        db,
        "INSERT INTO partner_tokens (token_hash, workspace_id, partner_id, purpose, created_at,
         expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            token.token_hash,
            token.workspace_id.to_string(),
            token.partner_id.to_string(),
            token.purpose,
            token.created_at.millis(),
            token.expires_at.millis(),
            token.used_at.map(Timestamp::millis),
        ],
    )
}

pub fn use_partner_token(
    db: &Connection,
    token_hash: &str,
    purpose: &str,
    now: Timestamp,
) -> Result<Option<PartnerToken>> {
    let used = execute(
        db,
        "UPDATE partner_tokens SET used_at = ?
         WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?",
        params![now.millis(), token_hash, purpose, now.millis()],
    )?;
    if used == 0 {
        return Ok(None);
    }
    optional(
        db,
        "SELECT * FROM partner_tokens WHERE token_hash = ?",
        [token_hash],
        token_row,
    )
}

pub fn insert_terms_version(db: &Connection, terms: &TermsVersion) -> Result<()> {
    insert(
        db,
        "INSERT INTO terms_versions (id, workspace_id, program_id, version, body_markdown,
         payout_schedule, termination_policy, grace_days, published_by, published_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            terms.id.to_string(),
            terms.workspace_id.to_string(),
            terms.program_id.to_string(),
            terms.version,
            terms.body_markdown,
            terms.payout_schedule,
            terms.termination_policy,
            terms.grace_days,
            terms.published_by,
            terms.published_at.millis(),
        ],
    )
}

pub fn terms_versions(db: &Connection, program_id: ProgramId) -> Result<Vec<TermsVersion>> {
    all(
        db,
        "SELECT * FROM terms_versions WHERE program_id = ? ORDER BY version DESC LIMIT 1000",
        [program_id.to_string()],
        terms_row,
    )
}

pub fn terms_schedule(
    db: &Connection,
    program_id: ProgramId,
) -> Result<Vec<tributary_core::lifecycle::terms::Published>> {
    all(
        db,
        "SELECT version, published_at, grace_days FROM terms_versions WHERE program_id = ?
         ORDER BY version LIMIT 1000",
        [program_id.to_string()],
        |row| {
            Ok(tributary_core::lifecycle::terms::Published {
                version: row.get("version")?,
                published_at: rows::ts(row, "published_at")?,
                grace_days: rows::u32_col(row, "grace_days")?,
            })
        },
    )
}

pub fn insert_terms_acceptance(db: &Connection, acceptance: &TermsAcceptance) -> Result<()> {
    execute(
        db,
        "INSERT INTO terms_acceptances (workspace_id, program_id, partner_id, terms_version_id,
         version, accepted_at, ip_hash) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (program_id, partner_id, version) DO NOTHING",
        params![
            acceptance.workspace_id.to_string(),
            acceptance.program_id.to_string(),
            acceptance.partner_id.to_string(),
            acceptance.terms_version_id.to_string(),
            acceptance.version,
            acceptance.accepted_at.millis(),
            acceptance.ip_hash,
        ],
    )?;
    Ok(())
}

pub fn terms_acceptances(
    db: &Connection,
    program_id: ProgramId,
    partner_id: Option<PartnerId>,
) -> Result<Vec<TermsAcceptance>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM terms_acceptances WHERE program_id = ? AND (? IS NULL OR partner_id = ?)
         ORDER BY accepted_at DESC, version DESC LIMIT 100000",
        params![program_id.to_string(), partner, partner],
        acceptance_row,
    )
}

fn pause_row(row: &Row<'_>) -> Result<EnrollmentPause> {
    Ok(EnrollmentPause {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        kind: row.get("kind")?,
        reason: row.get("reason")?,
        from_at: rows::ts(row, "from_at")?,
        until_at: rows::opt_ts(row, "until_at")?,
        decided_by: row.get("decided_by")?,
    })
}

pub fn insert_enrollment_pause(db: &Connection, pause: &EnrollmentPause) -> Result<()> {
    insert(
        db,
        "INSERT INTO enrollment_pauses (id, workspace_id, program_id, partner_id, kind, reason,
         from_at, until_at, decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            pause.id.to_string(),
            pause.workspace_id.to_string(),
            pause.program_id.to_string(),
            pause.partner_id.to_string(),
            pause.kind,
            pause.reason,
            pause.from_at.millis(),
            pause.until_at.map(Timestamp::millis),
            pause.decided_by,
        ],
    )
}

pub fn end_suspension(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
    at: Timestamp,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE enrollment_pauses SET until_at = ?
         WHERE program_id = ? AND partner_id = ? AND kind = 'suspended' AND until_at IS NULL",
        params![at.millis(), program_id.to_string(), partner_id.to_string()],
    )?;
    Ok(changed > 0)
}

pub fn enrollment_pauses(
    db: &Connection,
    program_id: ProgramId,
    partner_id: Option<PartnerId>,
) -> Result<Vec<EnrollmentPause>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM enrollment_pauses WHERE program_id = ? AND (? IS NULL OR partner_id = ?)
         ORDER BY from_at, id LIMIT 100000",
        params![program_id.to_string(), partner, partner],
        pause_row,
    )
}

fn forfeit_row(row: &Row<'_>) -> Result<CommissionForfeit> {
    Ok(CommissionForfeit {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        source: row.get("source")?,
        rule_id: row.get("rule_id")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        reason: row.get("reason")?,
        forfeited_at: rows::ts(row, "forfeited_at")?,
    })
}

pub fn insert_forfeit(db: &Connection, forfeit: &CommissionForfeit) -> Result<()> {
    execute(
        db,
        "INSERT INTO commission_forfeits (workspace_id, program_id, partner_id, source, rule_id,
         plan_version_id, reason, forfeited_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
        params![
            forfeit.workspace_id.to_string(),
            forfeit.program_id.to_string(),
            forfeit.partner_id.to_string(),
            forfeit.source,
            forfeit.rule_id,
            forfeit.plan_version_id.to_string(),
            forfeit.reason,
            forfeit.forfeited_at.millis(),
        ],
    )?;
    Ok(())
}

pub fn partner_forfeits(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> Result<Vec<CommissionForfeit>> {
    all(
        db,
        "SELECT * FROM commission_forfeits WHERE program_id = ? AND partner_id = ?
         ORDER BY forfeited_at, source, rule_id LIMIT 1000000",
        params![program_id.to_string(), partner_id.to_string()],
        forfeit_row,
    )
}
