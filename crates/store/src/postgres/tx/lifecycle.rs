//! The partner lifecycle (issue 6): program lifecycle documents, applications, invitations,
//! the email outbox, one-time partner tokens, and terms with their acceptances.

use super::super::query::{Db, all, execute, insert, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))
}

fn lifecycle_row(row: &Row) -> Result<ProgramLifecycleRow> {
    Ok(ProgramLifecycleRow {
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        slug: rows::get(row, "slug")?,
        lifecycle: rows::json(row, "lifecycle_json")?,
        updated_at: rows::ts(row, "updated_at")?,
    })
}

fn application_row(row: &Row) -> Result<Application> {
    Ok(Application {
        id: ApplicationId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        applicant: rows::json(row, "applicant_json")?,
        score: rows::json(row, "score_json")?,
        status: rows::get(row, "status")?,
        decided_by: rows::get(row, "decided_by")?,
        reason: rows::get(row, "reason")?,
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
        ip_hash: rows::get(row, "ip_hash")?,
        created_at: rows::ts(row, "created_at")?,
        decided_at: rows::opt_ts(row, "decided_at")?,
    })
}

fn invitation_row(row: &Row) -> Result<Invitation> {
    Ok(Invitation {
        id: InvitationId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        email: rows::get(row, "email")?,
        name: rows::get(row, "name")?,
        partner_group: rows::get(row, "partner_group")?,
        token_hash: rows::get(row, "token_hash")?,
        status: rows::get(row, "status")?,
        invited_by: rows::get(row, "invited_by")?,
        created_at: rows::ts(row, "created_at")?,
        expires_at: rows::ts(row, "expires_at")?,
        accepted_at: rows::opt_ts(row, "accepted_at")?,
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
    })
}

fn email_row(row: &Row) -> Result<Email> {
    Ok(Email {
        id: EmailId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        to_address: rows::get(row, "to_address")?,
        subject: rows::get(row, "subject")?,
        body: rows::get(row, "body")?,
        kind: rows::get(row, "kind")?,
        status: rows::get(row, "status")?,
        attempts: rows::get(row, "attempts")?,
        last_error: rows::get(row, "last_error")?,
        created_at: rows::ts(row, "created_at")?,
        sent_at: rows::opt_ts(row, "sent_at")?,
    })
}

fn token_row(row: &Row) -> Result<PartnerToken> {
    Ok(PartnerToken {
        token_hash: rows::get(row, "token_hash")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        purpose: rows::get(row, "purpose")?,
        created_at: rows::ts(row, "created_at")?,
        expires_at: rows::ts(row, "expires_at")?,
        used_at: rows::opt_ts(row, "used_at")?,
    })
}

fn terms_row(row: &Row) -> Result<TermsVersion> {
    Ok(TermsVersion {
        id: TermsVersionId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        version: rows::get(row, "version")?,
        body_markdown: rows::get(row, "body_markdown")?,
        payout_schedule: rows::get(row, "payout_schedule")?,
        termination_policy: rows::get(row, "termination_policy")?,
        grace_days: rows::u32_col(row, "grace_days")?,
        published_by: rows::get(row, "published_by")?,
        published_at: rows::ts(row, "published_at")?,
    })
}

fn acceptance_row(row: &Row) -> Result<TermsAcceptance> {
    Ok(TermsAcceptance {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        terms_version_id: TermsVersionId(rows::uuid(row, "terms_version_id")?),
        version: rows::get(row, "version")?,
        accepted_at: rows::ts(row, "accepted_at")?,
        ip_hash: rows::get(row, "ip_hash")?,
    })
}

pub async fn program_lifecycle(
    db: &Db,
    program_id: ProgramId,
) -> Result<Option<ProgramLifecycleRow>> {
    optional(
        db,
        "SELECT * FROM program_lifecycles WHERE program_id = $1",
        &[&program_id.as_uuid()],
        lifecycle_row,
    )
    .await
}

pub async fn program_lifecycle_by_slug(db: &Db, slug: &str) -> Result<Option<ProgramLifecycleRow>> {
    optional(
        db,
        "SELECT * FROM program_lifecycles WHERE slug = $1",
        &[&slug],
        lifecycle_row,
    )
    .await
}

pub async fn put_program_lifecycle(db: &Db, row: &ProgramLifecycleRow) -> Result<()> {
    let json = to_json(&row.lifecycle)?;
    insert(
        db,
        "INSERT INTO program_lifecycles (program_id, workspace_id, slug, lifecycle_json, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (program_id) DO UPDATE SET slug = excluded.slug,
             lifecycle_json = excluded.lifecycle_json, updated_at = excluded.updated_at",
        &[
            &row.program_id.as_uuid(),
            &row.workspace_id.as_uuid(),
            &row.slug,
            &json,
            &row.updated_at.millis(),
        ],
    )
    .await
}

pub async fn set_enrollment_status(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
    status: &str,
    reason: Option<&str>,
    at: Timestamp,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE enrollments SET status = $1, status_reason = $2, status_changed_at = $3
         WHERE program_id = $4 AND partner_id = $5",
        &[
            &status,
            &reason,
            &at.millis(),
            &program_id.as_uuid(),
            &partner_id.as_uuid(),
        ],
    )
    .await?;
    Ok(changed > 0)
}

pub async fn count_enrollments(db: &Db, program_id: ProgramId, statuses: &[&str]) -> Result<u64> {
    let statuses: Vec<String> = statuses.iter().map(|s| s.to_string()).collect();
    let count = optional(
        db,
        "SELECT COUNT(*) AS n FROM enrollments WHERE program_id = $1 AND status = ANY($2)",
        &[&program_id.as_uuid(), &statuses],
        |row| rows::get::<i64>(row, "n"),
    )
    .await?
    .unwrap_or(0);
    Ok(count.max(0) as u64)
}

pub async fn insert_application(db: &Db, application: &Application) -> Result<()> {
    let applicant = to_json(&application.applicant)?;
    let score_json = to_json(&application.score)?;
    let score = application.score.total.map(i64::from);
    let partner_id = application.partner_id.map(|id| id.as_uuid());
    let decided_at = application.decided_at.map(Timestamp::millis);
    insert(
        db,
        "INSERT INTO applications (id, workspace_id, program_id, email, name, partner_group,
         applicant_json, score, score_json, status, decided_by, reason, partner_id, ip_hash,
         created_at, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &[
            &application.id.as_uuid(),
            &application.workspace_id.as_uuid(),
            &application.program_id.as_uuid(),
            &application.applicant.email,
            &application.applicant.name,
            &application.applicant.group,
            &applicant,
            &score,
            &score_json,
            &application.status,
            &application.decided_by,
            &application.reason,
            &partner_id,
            &application.ip_hash,
            &application.created_at.millis(),
            &decided_at,
        ],
    )
    .await
}

pub async fn application(
    db: &Db,
    workspace_id: WorkspaceId,
    id: ApplicationId,
) -> Result<Option<Application>> {
    optional(
        db,
        "SELECT * FROM applications WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id.as_uuid(), &id.as_uuid()],
        application_row,
    )
    .await
}

pub async fn applications(
    db: &Db,
    workspace_id: WorkspaceId,
    program_id: Option<ProgramId>,
    status: Option<&str>,
    page: Page,
) -> Result<Vec<Application>> {
    let program = program_id.map(|id| id.as_uuid());
    all(
        db,
        "SELECT * FROM applications WHERE workspace_id = $1 AND ($2::UUID IS NULL OR program_id = $2)
         AND ($3::TEXT IS NULL OR status = $3) ORDER BY created_at, id LIMIT $4 OFFSET $5",
        &[
            &workspace_id.as_uuid(),
            &program,
            &status,
            &i64::from(page.limit),
            &i64::from(page.offset),
        ],
        application_row,
    )
    .await
}

pub async fn latest_application(
    db: &Db,
    program_id: ProgramId,
    email: &str,
) -> Result<Option<Application>> {
    optional(
        db,
        "SELECT * FROM applications WHERE program_id = $1 AND email = $2
         ORDER BY created_at DESC, id DESC LIMIT 1",
        &[&program_id.as_uuid(), &email],
        application_row,
    )
    .await
}

pub async fn decide_application(db: &Db, decided: &Application) -> Result<bool> {
    let partner_id = decided.partner_id.map(|id| id.as_uuid());
    let decided_at = decided.decided_at.map(Timestamp::millis);
    let changed = execute(
        db,
        "UPDATE applications SET status = $1, decided_by = $2, reason = $3, partner_id = $4,
         decided_at = $5 WHERE id = $6 AND status = 'pending'",
        &[
            &decided.status,
            &decided.decided_by,
            &decided.reason,
            &partner_id,
            &decided_at,
            &decided.id.as_uuid(),
        ],
    )
    .await?;
    Ok(changed > 0)
}

pub async fn insert_invitation(db: &Db, invitation: &Invitation) -> Result<bool> {
    let accepted_at = invitation.accepted_at.map(Timestamp::millis);
    let partner_id = invitation.partner_id.map(|id| id.as_uuid());
    let inserted = execute(
        db,
        "INSERT INTO invitations (id, workspace_id, program_id, email, name, partner_group,
         token_hash, status, invited_by, created_at, expires_at, accepted_at, partner_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (program_id, email) DO UPDATE SET token_hash = excluded.token_hash,
             name = excluded.name, partner_group = excluded.partner_group,
             invited_by = excluded.invited_by, created_at = excluded.created_at,
             expires_at = excluded.expires_at
         WHERE invitations.status = 'sent' AND invitations.expires_at <= excluded.created_at",
        &[
            &invitation.id.as_uuid(),
            &invitation.workspace_id.as_uuid(),
            &invitation.program_id.as_uuid(),
            &invitation.email,
            &invitation.name,
            &invitation.partner_group,
            &invitation.token_hash,
            &invitation.status,
            &invitation.invited_by,
            &invitation.created_at.millis(),
            &invitation.expires_at.millis(),
            &accepted_at,
            &partner_id,
        ],
    )
    .await?;
    Ok(inserted > 0)
}

pub async fn invitation_by_token(db: &Db, token_hash: &str) -> Result<Option<Invitation>> {
    optional(
        db,
        "SELECT * FROM invitations WHERE token_hash = $1",
        &[&token_hash],
        invitation_row,
    )
    .await
}

pub async fn invitations(
    db: &Db,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    page: Page,
) -> Result<Vec<Invitation>> {
    all(
        db,
        "SELECT * FROM invitations WHERE workspace_id = $1 AND program_id = $2
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        &[
            &workspace_id.as_uuid(),
            &program_id.as_uuid(),
            &i64::from(page.limit),
            &i64::from(page.offset),
        ],
        invitation_row,
    )
    .await
}

pub async fn accept_invitation(
    db: &Db,
    id: InvitationId,
    partner_id: PartnerId,
    at: Timestamp,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE invitations SET status = 'accepted', partner_id = $1, accepted_at = $2
         WHERE id = $3 AND status = 'sent'",
        &[&partner_id.as_uuid(), &at.millis(), &id.as_uuid()],
    )
    .await?;
    Ok(changed > 0)
}

pub async fn insert_email(db: &Db, email: &Email) -> Result<()> {
    let sent_at = email.sent_at.map(Timestamp::millis);
    insert(
        db,
        "INSERT INTO emails (id, workspace_id, to_address, subject, body, kind, status, attempts,
         last_error, created_at, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &email.id.as_uuid(),
            &email.workspace_id.as_uuid(),
            &email.to_address,
            &email.subject,
            &email.body,
            &email.kind,
            &email.status,
            &email.attempts,
            &email.last_error,
            &email.created_at.millis(),
            &sent_at,
        ],
    )
    .await
}

pub async fn email(db: &Db, id: EmailId) -> Result<Option<Email>> {
    optional(
        db,
        "SELECT * FROM emails WHERE id = $1",
        &[&id.as_uuid()],
        email_row,
    )
    .await
}

pub async fn update_email(db: &Db, email: &Email) -> Result<()> {
    let sent_at = email.sent_at.map(Timestamp::millis);
    execute(
        db,
        "UPDATE emails SET status = $1, attempts = $2, last_error = $3, sent_at = $4 WHERE id = $5",
        &[
            &email.status,
            &email.attempts,
            &email.last_error,
            &sent_at,
            &email.id.as_uuid(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn emails(
    db: &Db,
    workspace_id: WorkspaceId,
    to: Option<&str>,
    page: Page,
) -> Result<Vec<Email>> {
    all(
        db,
        "SELECT * FROM emails WHERE workspace_id = $1 AND ($2::TEXT IS NULL OR to_address = $2)
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        &[
            &workspace_id.as_uuid(),
            &to,
            &i64::from(page.limit),
            &i64::from(page.offset),
        ],
        email_row,
    )
    .await
}

pub async fn insert_partner_token(db: &Db, token: &PartnerToken) -> Result<()> {
    let used_at = token.used_at.map(Timestamp::millis);
    insert(
        db,
        "INSERT INTO partner_tokens (token_hash, workspace_id, partner_id, purpose, created_at,
         expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &token.token_hash,
            &token.workspace_id.as_uuid(),
            &token.partner_id.as_uuid(),
            &token.purpose,
            &token.created_at.millis(),
            &token.expires_at.millis(),
            &used_at,
        ],
    )
    .await
}

pub async fn use_partner_token(
    db: &Db,
    token_hash: &str,
    purpose: &str,
    now: Timestamp,
) -> Result<Option<PartnerToken>> {
    optional(
        db,
        "UPDATE partner_tokens SET used_at = $1
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
         RETURNING *",
        &[&now.millis(), &token_hash, &purpose],
        token_row,
    )
    .await
}

pub async fn insert_terms_version(db: &Db, terms: &TermsVersion) -> Result<()> {
    insert(
        db,
        "INSERT INTO terms_versions (id, workspace_id, program_id, version, body_markdown,
         payout_schedule, termination_policy, grace_days, published_by, published_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &terms.id.as_uuid(),
            &terms.workspace_id.as_uuid(),
            &terms.program_id.as_uuid(),
            &terms.version,
            &terms.body_markdown,
            &terms.payout_schedule,
            &terms.termination_policy,
            &i64::from(terms.grace_days),
            &terms.published_by,
            &terms.published_at.millis(),
        ],
    )
    .await
}

pub async fn terms_versions(db: &Db, program_id: ProgramId) -> Result<Vec<TermsVersion>> {
    all(
        db,
        "SELECT * FROM terms_versions WHERE program_id = $1 ORDER BY version DESC LIMIT 1000",
        &[&program_id.as_uuid()],
        terms_row,
    )
    .await
}

pub async fn terms_schedule(
    db: &Db,
    program_id: ProgramId,
) -> Result<Vec<tributary_core::lifecycle::terms::Published>> {
    all(
        db,
        "SELECT version, published_at, grace_days FROM terms_versions WHERE program_id = $1
         ORDER BY version LIMIT 1000",
        &[&program_id.as_uuid()],
        |row| {
            Ok(tributary_core::lifecycle::terms::Published {
                version: rows::get(row, "version")?,
                published_at: rows::ts(row, "published_at")?,
                grace_days: rows::u32_col(row, "grace_days")?,
            })
        },
    )
    .await
}

pub async fn insert_terms_acceptance(db: &Db, acceptance: &TermsAcceptance) -> Result<()> {
    execute(
        db,
        "INSERT INTO terms_acceptances (workspace_id, program_id, partner_id, terms_version_id,
         version, accepted_at, ip_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (program_id, partner_id, version) DO NOTHING",
        &[
            &acceptance.workspace_id.as_uuid(),
            &acceptance.program_id.as_uuid(),
            &acceptance.partner_id.as_uuid(),
            &acceptance.terms_version_id.as_uuid(),
            &acceptance.version,
            &acceptance.accepted_at.millis(),
            &acceptance.ip_hash,
        ],
    )
    .await?;
    Ok(())
}

pub async fn terms_acceptances(
    db: &Db,
    program_id: ProgramId,
    partner_id: Option<PartnerId>,
) -> Result<Vec<TermsAcceptance>> {
    let partner = partner_id.map(|id| id.as_uuid());
    all(
        db,
        "SELECT * FROM terms_acceptances WHERE program_id = $1 AND ($2::UUID IS NULL OR partner_id = $2)
         ORDER BY accepted_at DESC, version DESC LIMIT 100000",
        &[&program_id.as_uuid(), &partner],
        acceptance_row,
    )
    .await
}

fn pause_row(row: &Row) -> Result<EnrollmentPause> {
    Ok(EnrollmentPause {
        id: rows::uuid(row, "id")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        kind: rows::get(row, "kind")?,
        reason: rows::get(row, "reason")?,
        from_at: rows::ts(row, "from_at")?,
        until_at: rows::opt_ts(row, "until_at")?,
        decided_by: rows::get(row, "decided_by")?,
    })
}

pub async fn insert_enrollment_pause(db: &Db, pause: &EnrollmentPause) -> Result<()> {
    let until_at = pause.until_at.map(Timestamp::millis);
    insert(
        db,
        "INSERT INTO enrollment_pauses (id, workspace_id, program_id, partner_id, kind, reason,
         from_at, until_at, decided_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &pause.id,
            &pause.workspace_id.as_uuid(),
            &pause.program_id.as_uuid(),
            &pause.partner_id.as_uuid(),
            &pause.kind,
            &pause.reason,
            &pause.from_at.millis(),
            &until_at,
            &pause.decided_by,
        ],
    )
    .await
}

pub async fn end_suspension(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
    at: Timestamp,
) -> Result<bool> {
    let changed = execute(
        db,
        "UPDATE enrollment_pauses SET until_at = $1
         WHERE program_id = $2 AND partner_id = $3 AND kind = 'suspended' AND until_at IS NULL",
        &[&at.millis(), &program_id.as_uuid(), &partner_id.as_uuid()],
    )
    .await?;
    Ok(changed > 0)
}

pub async fn enrollment_pauses(
    db: &Db,
    program_id: ProgramId,
    partner_id: Option<PartnerId>,
) -> Result<Vec<EnrollmentPause>> {
    let partner = partner_id.map(|id| id.as_uuid());
    all(
        db,
        "SELECT * FROM enrollment_pauses WHERE program_id = $1 AND ($2::UUID IS NULL OR partner_id = $2)
         ORDER BY from_at, id LIMIT 100000",
        &[&program_id.as_uuid(), &partner],
        pause_row,
    )
    .await
}

fn forfeit_row(row: &Row) -> Result<CommissionForfeit> {
    Ok(CommissionForfeit {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        source: rows::get(row, "source")?,
        rule_id: rows::get(row, "rule_id")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        reason: rows::get(row, "reason")?,
        forfeited_at: rows::ts(row, "forfeited_at")?,
    })
}

pub async fn insert_forfeit(db: &Db, forfeit: &CommissionForfeit) -> Result<()> {
    execute(
        db,
        "INSERT INTO commission_forfeits (workspace_id, program_id, partner_id, source, rule_id,
         plan_version_id, reason, forfeited_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT DO NOTHING",
        &[
            &forfeit.workspace_id.as_uuid(),
            &forfeit.program_id.as_uuid(),
            &forfeit.partner_id.as_uuid(),
            &forfeit.source,
            &forfeit.rule_id,
            &forfeit.plan_version_id.as_uuid(),
            &forfeit.reason,
            &forfeit.forfeited_at.millis(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn partner_forfeits(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> Result<Vec<CommissionForfeit>> {
    all(
        db,
        "SELECT * FROM commission_forfeits WHERE program_id = $1 AND partner_id = $2
         ORDER BY forfeited_at, source, rule_id LIMIT 1000000",
        &[&program_id.as_uuid(), &partner_id.as_uuid()],
        forfeit_row,
    )
    .await
}
