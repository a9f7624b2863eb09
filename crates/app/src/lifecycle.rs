//! The partner lifecycle (issue 6) as the business and its partners drive it: a program's
//! public page and settings (`program`), applications and their vetting and decisions
//! (`applications`), invitations one by one or by CSV (`invitations`), and the emails each
//! step sends (`letters`). Each step writes its rows, its audit entry and its emails in one
//! transaction.

pub mod applications;
pub mod content;
pub mod csv;
pub mod invitations;
pub mod letters;
pub mod onboarding;
pub mod profile;
pub mod program;
pub mod standing;
pub mod support;
pub mod terms;
pub mod tiers;

use crate::{AppError, AppResult, new_uuid};
use serde_json::json;
use tributary_core::lifecycle::ProgramLifecycle;
use tributary_core::*;
use tributary_store::{AuditEntry, Enrollment, Partner, PartnerToken, Program, Tx};

/// Enrollment statuses that hold a place in a program (capacity counts them).
pub const ACTIVE_STATUSES: [&str; 2] = ["approved", "suspended"];
/// How long a set-password link stays valid.
pub const PASSWORD_TOKEN_DAYS: u32 = 7;
pub const PURPOSE_SET_PASSWORD: &str = "set_password";

/// What an audit entry records: who did what to which subject, why, and the detail.
pub(crate) struct Audit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: String,
    pub reason: &'a str,
    pub detail: serde_json::Value,
}

pub(crate) async fn audit(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    now: Timestamp,
    entry: Audit<'_>,
) -> AppResult<()> {
    tx.insert_audit(&AuditEntry {
        id: new_uuid(),
        workspace_id,
        at: now,
        actor: entry.actor.to_string(),
        action: entry.action.to_string(),
        subject: entry.subject,
        reason: entry.reason.to_string(),
        detail_json: entry.detail.to_string(),
    })
    .await?;
    Ok(())
}

/// The lifecycle settings of a program; a program never configured reads as the defaults.
pub async fn lifecycle_of(tx: &mut dyn Tx, program_id: ProgramId) -> AppResult<ProgramLifecycle> {
    Ok(tx
        .program_lifecycle(program_id)
        .await?
        .map(|row| row.lifecycle)
        .unwrap_or_default())
}

/// Finds the workspace's partner with this email, or creates one without a password.
pub(crate) async fn partner_for(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    email: &str,
    name: &str,
    archetype: &str,
    now: Timestamp,
) -> AppResult<Partner> {
    let existing = tx
        .partners_by_email(email)
        .await?
        .into_iter()
        .find(|partner| partner.workspace_id == workspace_id);
    if let Some(partner) = existing {
        return Ok(partner);
    }
    let partner = Partner {
        id: PartnerId(new_uuid()),
        workspace_id,
        name: name.to_string(),
        email: email.to_string(),
        archetype: archetype.to_string(),
        payout_email: None,
        password_hash: None,
        created_at: now,
    };
    tx.insert_partner(&partner).await?;
    Ok(partner)
}

/// Enrolls a partner as approved in a program, with their group, if the stage has room;
/// an existing enrollment (a former rejection, a lapsed one) is approved again.
pub(crate) async fn admit(
    tx: &mut dyn Tx,
    program: &Program,
    lifecycle: &ProgramLifecycle,
    partner_id: PartnerId,
    group: Option<&str>,
    reason: &str,
    now: Timestamp,
) -> AppResult<()> {
    let existing = tx.enrollment(program.id, partner_id).await?;
    if let Some(enrollment) = &existing {
        if enrollment.status == "approved" {
            return Ok(());
        }
        if enrollment.status == "terminated" {
            return Err(AppError::Conflict(
                "this partner's enrollment was terminated; it is not reopened by an approval"
                    .into(),
            ));
        }
        if enrollment.status == "suspended" {
            return Err(AppError::Conflict(
                "this partner is suspended in the program: reinstate them instead".into(),
            ));
        }
    }
    // Counting then inserting must not interleave with another admission (PostgreSQL runs
    // writers side by side): one admission per program at a time.
    tx.lock_key("program-capacity", &program.id.to_string())
        .await?;
    let active = tx.count_enrollments(program.id, &ACTIVE_STATUSES).await?;
    if !lifecycle.stage.has_room(active) {
        return Err(AppError::Conflict(format!(
            "the program is at its {} stage's capacity of {} partners",
            lifecycle.stage.name.as_str(),
            lifecycle.stage.capacity.unwrap_or_default()
        )));
    }
    match existing {
        Some(_) => {
            tx.set_enrollment_status(program.id, partner_id, "approved", Some(reason), now)
                .await?;
            if group.is_some() {
                let tier = tx
                    .enrollment(program.id, partner_id)
                    .await?
                    .and_then(|enrollment| enrollment.tier);
                tx.set_enrollment_segment(program.id, partner_id, group, tier.as_deref())
                    .await?;
            }
        }
        None => {
            tx.insert_enrollment(&Enrollment {
                id: EnrollmentId(new_uuid()),
                workspace_id: program.workspace_id,
                program_id: program.id,
                partner_id,
                status: "approved".into(),
                partner_group: group.map(str::to_string),
                tier: None,
                created_at: now,
                status_reason: Some(reason.to_string()),
                status_changed_at: Some(now),
            })
            .await?;
        }
    }
    Ok(())
}

/// A one-time set-password link for a partner with no password yet; none for one who has.
pub(crate) async fn password_link(
    tx: &mut dyn Tx,
    mailer: &crate::mail::Mailer,
    partner: &Partner,
    now: Timestamp,
) -> AppResult<Option<String>> {
    if partner.password_hash.is_some() {
        return Ok(None);
    }
    let token = crate::auth::random_token(32);
    tx.insert_partner_token(&PartnerToken {
        token_hash: crate::auth::sha256_hex(&token),
        workspace_id: partner.workspace_id,
        partner_id: partner.id,
        purpose: PURPOSE_SET_PASSWORD.into(),
        created_at: now,
        expires_at: now.plus_days(PASSWORD_TOKEN_DAYS),
        used_at: None,
    })
    .await?;
    Ok(Some(mailer.link(&format!("/portal/welcome/{token}"))))
}

/// The detail every audit entry of an enrollment carries.
pub(crate) fn enrollment_detail(program_id: ProgramId, partner_id: PartnerId) -> serde_json::Value {
    json!({ "program_id": program_id, "partner_id": partner_id })
}
