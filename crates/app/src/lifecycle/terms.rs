//! Program terms: versions published as Markdown with their payout schedule and termination
//! policy (`keep` or `forfeit` pending commissions), each asking every active partner to
//! accept it in the portal. An acceptance records the version, the time and a keyed hash of
//! the IP. A partner past a version's grace period without accepting it stops earning until
//! they do, unless the program turns that off (`stop_earning_without_terms`).

use super::{ACTIVE_STATUSES, Audit, audit};
use crate::mail::{self, Outgoing};
use crate::{App, AppError, AppResult, new_uuid};
use serde_json::json;
use tributary_core::lifecycle::terms::{Published, due};
use tributary_core::*;
use tributary_store::{TermsAcceptance, TermsVersion};

pub const MAX_TERMS_LEN: usize = 100_000;
pub const MAX_GRACE_DAYS: u32 = 365;
/// Partners one publication emails at most (larger programs see it in the portal).
pub const MAX_NOTICES: u32 = 10_000;

/// A version to publish.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewTerms {
    pub body_markdown: String,
    pub payout_schedule: String,
    /// `keep` or `forfeit`.
    pub termination_policy: String,
    pub grace_days: Option<u32>,
}

/// Publishes the next version of a program's terms and emails every active partner.
pub async fn publish(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    input: NewTerms,
    actor: &str,
) -> AppResult<TermsVersion> {
    let body = input.body_markdown.trim();
    if body.is_empty() || body.chars().count() > MAX_TERMS_LEN {
        return Err(AppError::invalid(
            "body_markdown",
            format!("the terms need 1 to {MAX_TERMS_LEN} characters"),
        ));
    }
    let schedule = input.payout_schedule.trim();
    if schedule.is_empty() || schedule.chars().count() > 2_000 {
        return Err(AppError::invalid(
            "payout_schedule",
            "say when partners are paid (1 to 2000 characters)",
        ));
    }
    if !["keep", "forfeit"].contains(&input.termination_policy.as_str()) {
        return Err(AppError::invalid(
            "termination_policy",
            "keep or forfeit: what happens to pending commissions on termination",
        ));
    }
    let grace_days = input.grace_days.unwrap_or(14);
    if grace_days > MAX_GRACE_DAYS {
        return Err(AppError::invalid(
            "grace_days",
            format!("at most {MAX_GRACE_DAYS}"),
        ));
    }
    let now = app.now();
    let mut tx = app.store.write().await?;
    let program = tx
        .program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let version = tx
        .terms_versions(program_id)
        .await?
        .first()
        .map_or(1, |latest| latest.version + 1);
    let terms = TermsVersion {
        id: TermsVersionId(new_uuid()),
        workspace_id,
        program_id,
        version,
        body_markdown: body.to_string(),
        payout_schedule: schedule.to_string(),
        termination_policy: input.termination_policy,
        grace_days,
        published_by: actor.to_string(),
        published_at: now,
    };
    tx.insert_terms_version(&terms).await?;
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "terms.published",
            subject: format!("program:{program_id}"),
            reason: "",
            detail: json!({ "version": version, "grace_days": grace_days,
                            "termination_policy": terms.termination_policy }),
        },
    )
    .await?;
    let deadline = now.plus_days(grace_days);
    let enrollments =
        crate::plans::program_enrollments(tx.as_mut(), workspace_id, program_id).await?;
    let mut told = 0;
    for enrollment in enrollments {
        if !ACTIVE_STATUSES.contains(&enrollment.status.as_str()) || told >= MAX_NOTICES {
            continue;
        }
        let Some(partner) = tx.partner(workspace_id, enrollment.partner_id).await? else {
            continue;
        };
        let body = format!(
            "Hello {},\n\n{} has published version {version} of its partner terms. Read and \
             accept them in your partner portal by {}:\n{}\n\nUntil you accept, from that \
             date your links and codes earn nothing.\n",
            partner.name,
            program.name,
            tributary_core::period::date_of(deadline),
            app.mail.link(&format!("/portal/terms/{program_id}")),
        );
        mail::queue(
            tx.as_mut(),
            workspace_id,
            Outgoing {
                to: &partner.email,
                subject: &format!("New terms for {}: please accept", program.name),
                body: &body,
                kind: "terms.published",
            },
            now,
        )
        .await?;
        told += 1;
    }
    tx.commit().await?;
    Ok(terms)
}

/// Where a partner stands with a program's terms.
#[derive(Debug, Clone)]
pub struct TermsStatus {
    pub current: Option<TermsVersion>,
    /// The newest version they accepted, if any.
    pub accepted: Option<TermsAcceptance>,
    /// When the current version must be accepted by (none when accepted or no terms).
    pub due: Option<Timestamp>,
    /// Past due: earning is paused until they accept (when the program enforces it).
    pub overdue: bool,
}

impl TermsStatus {
    pub fn needs_acceptance(&self) -> bool {
        match (&self.current, &self.accepted) {
            (Some(current), Some(accepted)) => accepted.version < current.version,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// A partner's standing with a program's terms at `now`.
pub async fn status(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
) -> AppResult<TermsStatus> {
    let mut tx = app.store.read().await?;
    let enrollment = tx
        .enrollment(program_id, partner_id)
        .await?
        .filter(|enrollment| enrollment.workspace_id == workspace_id)
        .ok_or(AppError::NotFound("program"))?;
    let current = tx.terms_versions(program_id).await?.into_iter().next();
    let accepted = tx
        .terms_acceptances(program_id, Some(partner_id))
        .await?
        .into_iter()
        .max_by_key(|acceptance| acceptance.version);
    let mut status = TermsStatus {
        current,
        accepted,
        due: None,
        overdue: false,
    };
    if status.needs_acceptance()
        && let Some(current) = &status.current
    {
        status.due = Some(due(
            &Published {
                version: current.version,
                published_at: current.published_at,
                grace_days: current.grace_days,
            },
            enrollment.created_at,
        ));
        // Overdue on any version, not only the current one: an older one left unaccepted
        // past its grace pauses earning until a later one is accepted.
        let published = tx.terms_schedule(program_id).await?;
        let accepted: Vec<tributary_core::lifecycle::terms::Accepted> = tx
            .terms_acceptances(program_id, Some(partner_id))
            .await?
            .iter()
            .map(|a| tributary_core::lifecycle::terms::Accepted {
                version: a.version,
                accepted_at: a.accepted_at,
            })
            .collect();
        let now = app.now();
        status.overdue =
            tributary_core::lifecycle::terms::lapses(&published, &accepted, enrollment.created_at)
                .iter()
                .any(|lapse| lapse.contains(now));
    }
    Ok(status)
}

/// Records a partner's acceptance of a version (the current one, as they read it).
pub async fn accept(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
    version: i64,
    ip: Option<&str>,
) -> AppResult<TermsAcceptance> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    tx.enrollment(program_id, partner_id)
        .await?
        .filter(|enrollment| {
            enrollment.workspace_id == workspace_id
                && ACTIVE_STATUSES.contains(&enrollment.status.as_str())
        })
        .ok_or(AppError::NotFound("program"))?;
    let versions = tx.terms_versions(program_id).await?;
    let current = versions.first().ok_or(AppError::NotFound("terms"))?;
    if current.version != version {
        return Err(AppError::Conflict(format!(
            "version {version} is not the current terms (version {}); read the current one and accept it",
            current.version
        )));
    }
    let acceptance = TermsAcceptance {
        workspace_id,
        program_id,
        partner_id,
        terms_version_id: current.id,
        version,
        accepted_at: now,
        ip_hash: ip.map(|ip| app.secrets.hash_ip(ip)),
    };
    tx.insert_terms_acceptance(&acceptance).await?;
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor: &format!("partner:{partner_id}"),
            action: "terms.accepted",
            subject: format!("partner:{partner_id}"),
            reason: "",
            detail: json!({ "program_id": program_id, "version": version }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(acceptance)
}

/// A program's terms versions, newest first.
pub async fn versions(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
) -> AppResult<Vec<TermsVersion>> {
    let mut tx = app.store.read().await?;
    tx.program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    Ok(tx.terms_versions(program_id).await?)
}
