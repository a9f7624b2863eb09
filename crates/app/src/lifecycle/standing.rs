//! A partner's standing in a program, and the decisions that change it. Suspension and
//! termination take effect at once: from that instant the partner's links, coupons and
//! customers earn them nothing (a pause the plan engine honours, `engine::Pause`), and
//! touches of theirs no longer win new customers. A suspension ends when the partner is
//! reinstated; a termination does not end. At termination, pending commissions are kept or
//! forfeited as the program's current terms say (`termination_policy`); a forfeit is
//! reversed in the ledger with its reason and never owed again. Terms not accepted within
//! their grace period pause earning the same way, until accepted.

use super::letters;
use super::{Audit, audit, enrollment_detail, lifecycle_of};
use crate::mail::{self, Outgoing};
use crate::{App, AppError, AppResult, new_uuid};
use serde_json::json;
use std::collections::HashSet;
use tributary_core::commission::Source;
use tributary_core::engine::Pause;
use tributary_core::lifecycle::terms::{self, Accepted};
use tributary_core::*;
use tributary_store::{EnrollmentPause, Program, Tx};

/// The horizon for derivations at `now`: events may be reported a little ahead of the clock.
pub fn horizon(now: Timestamp) -> Timestamp {
    now.plus_millis(crate::ingest::MAX_FUTURE_SKEW_MILLIS + 60_000)
}

/// Characters in a conduct decision's reason at most.
pub const MAX_REASON_LEN: usize = 1_000;

/// What a derivation needs to know about a partner's standing in one program.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// When they did not (or do not) earn.
    pub pauses: Vec<Pause>,
    forfeits: HashSet<(PlanVersionId, String, String)>,
}

fn source_text(source: &Source) -> String {
    match source {
        Source::Event(id) => id.to_string(),
        Source::Key(key) => key.clone(),
    }
}

impl Standing {
    /// The partner's pauses (suspensions, a termination, terms not accepted in time) and
    /// forfeited commission keys in a program.
    pub async fn load(
        tx: &mut dyn Tx,
        program_id: ProgramId,
        partner_id: PartnerId,
        horizon: Timestamp,
    ) -> AppResult<Standing> {
        let pauses = pauses_of(tx, program_id, partner_id, horizon).await?;
        let forfeits = tx
            .partner_forfeits(program_id, partner_id)
            .await?
            .into_iter()
            .map(|forfeit| (forfeit.plan_version_id, forfeit.source, forfeit.rule_id))
            .collect();
        Ok(Standing { pauses, forfeits })
    }

    /// Whether the partner earns at `at`.
    pub fn earning_at(&self, at: Timestamp) -> bool {
        !Pause::any(&self.pauses, at)
    }

    /// Whether the partner forfeited this commission key.
    pub fn forfeited(&self, version: PlanVersionId, source: &Source, rule_id: &str) -> bool {
        !self.forfeits.is_empty()
            && self
                .forfeits
                .contains(&(version, source_text(source), rule_id.to_string()))
    }
}

/// When a partner did not (or does not) earn in a program: their suspensions and
/// termination, and their terms lapses that start by `horizon` (the latest instant an event
/// being derived can have; no later lapse can touch one). Cheap in the common case (every
/// credited event asks): the lifecycle document and the enrollment are read only when a
/// lapse is possible by then.
pub async fn pauses_of(
    tx: &mut dyn Tx,
    program_id: ProgramId,
    partner_id: PartnerId,
    horizon: Timestamp,
) -> AppResult<Vec<Pause>> {
    let mut pauses: Vec<Pause> = tx
        .enrollment_pauses(program_id, Some(partner_id))
        .await?
        .iter()
        .map(|pause| Pause {
            from: pause.from_at,
            until: pause.until_at,
        })
        .collect();
    let published = tx.terms_schedule(program_id).await?;
    if published.is_empty() {
        return Ok(pauses);
    }
    let accepted: Vec<Accepted> = tx
        .terms_acceptances(program_id, Some(partner_id))
        .await?
        .iter()
        .map(|acceptance| Accepted {
            version: acceptance.version,
            accepted_at: acceptance.accepted_at,
        })
        .collect();
    // Joining later only moves a version's due time later: with no lapse by the horizon
    // for a partner who joined at the start of time, there is none for anyone.
    if terms::lapses(&published, &accepted, Timestamp::from_millis(0))
        .iter()
        .all(|lapse| lapse.from > horizon)
    {
        return Ok(pauses);
    }
    if !lifecycle_of(tx, program_id)
        .await?
        .stop_earning_without_terms
    {
        return Ok(pauses);
    }
    let joined = tx
        .enrollment(program_id, partner_id)
        .await?
        .map_or(Timestamp::from_millis(0), |enrollment| {
            enrollment.created_at
        });
    pauses.extend(terms::lapses(&published, &accepted, joined));
    Ok(pauses)
}

fn reason_ok(reason: &str) -> AppResult<&str> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "say why: the partner is told"));
    }
    if reason.chars().count() > MAX_REASON_LEN {
        return Err(AppError::invalid(
            "reason",
            format!("at most {MAX_REASON_LEN} characters"),
        ));
    }
    Ok(reason)
}

struct Decision<'a> {
    program: Program,
    partner: tributary_store::Partner,
    status: String,
    reason: &'a str,
}

async fn load<'a>(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
    reason: &'a str,
) -> AppResult<Decision<'a>> {
    let reason = reason_ok(reason)?;
    let program = tx
        .program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let partner = tx
        .partner(workspace_id, partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    let enrollment = tx
        .enrollment(program_id, partner_id)
        .await?
        .ok_or(AppError::NotFound("enrollment"))?;
    Ok(Decision {
        program,
        partner,
        status: enrollment.status,
        reason,
    })
}

async fn tell(
    tx: &mut dyn Tx,
    decision: &Decision<'_>,
    letter: letters::Letter,
    now: Timestamp,
) -> AppResult<()> {
    mail::queue(
        tx,
        decision.program.workspace_id,
        Outgoing {
            to: &decision.partner.email,
            subject: &letter.subject,
            body: &letter.body,
            kind: letter.kind,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Suspends an approved partner: they stop earning now, until reinstated.
pub async fn suspend(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
    reason: &str,
    actor: &str,
) -> AppResult<()> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    let decision = load(tx.as_mut(), workspace_id, program_id, partner_id, reason).await?;
    if decision.status != "approved" {
        return Err(AppError::Conflict(format!(
            "only an approved partner can be suspended; this one is {}",
            decision.status
        )));
    }
    tx.insert_enrollment_pause(&EnrollmentPause {
        id: new_uuid(),
        workspace_id,
        program_id,
        partner_id,
        kind: "suspended".into(),
        reason: decision.reason.to_string(),
        from_at: now,
        until_at: None,
        decided_by: actor.to_string(),
    })
    .await?;
    tx.set_enrollment_status(
        program_id,
        partner_id,
        "suspended",
        Some(decision.reason),
        now,
    )
    .await?;
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "enrollment.suspended",
            subject: format!("partner:{partner_id}"),
            reason: decision.reason,
            detail: enrollment_detail(program_id, partner_id),
        },
    )
    .await?;
    let letter = letters::suspended(
        &decision.program.name,
        &decision.partner.name,
        decision.reason,
    );
    tell(tx.as_mut(), &decision, letter, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Reinstates a suspended partner: they earn again from now (not for the time suspended).
pub async fn reinstate(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
    reason: &str,
    actor: &str,
) -> AppResult<()> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    let decision = load(tx.as_mut(), workspace_id, program_id, partner_id, reason).await?;
    if decision.status != "suspended" {
        return Err(AppError::Conflict(format!(
            "only a suspended partner can be reinstated; this one is {}",
            decision.status
        )));
    }
    tx.end_suspension(program_id, partner_id, now).await?;
    tx.set_enrollment_status(
        program_id,
        partner_id,
        "approved",
        Some(decision.reason),
        now,
    )
    .await?;
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "enrollment.reinstated",
            subject: format!("partner:{partner_id}"),
            reason: decision.reason,
            detail: enrollment_detail(program_id, partner_id),
        },
    )
    .await?;
    let letter = letters::reinstated(
        &decision.program.name,
        &decision.partner.name,
        decision.reason,
    );
    tell(tx.as_mut(), &decision, letter, now).await?;
    tx.commit().await?;
    Ok(())
}

/// What a termination did with the partner's pending money.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Termination {
    /// `keep` or `forfeit`, from the program's current terms (`keep` without terms).
    pub policy: String,
    /// Commission keys forfeited, and their pending amount in minor units.
    pub forfeited_keys: usize,
    pub forfeited_minor: i64,
}

/// Terminates a partner for good: they stop earning now; pending commissions are kept or
/// forfeited as the current terms say. Approved and paid money stays theirs.
pub async fn terminate(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
    reason: &str,
    actor: &str,
) -> AppResult<Termination> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    let decision = load(tx.as_mut(), workspace_id, program_id, partner_id, reason).await?;
    if !["approved", "suspended"].contains(&decision.status.as_str()) {
        return Err(AppError::Conflict(format!(
            "only an approved or suspended partner can be terminated; this one is {}",
            decision.status
        )));
    }
    // A suspension ends where the termination begins.
    tx.end_suspension(program_id, partner_id, now).await?;
    tx.insert_enrollment_pause(&EnrollmentPause {
        id: new_uuid(),
        workspace_id,
        program_id,
        partner_id,
        kind: "terminated".into(),
        reason: decision.reason.to_string(),
        from_at: now,
        until_at: None,
        decided_by: actor.to_string(),
    })
    .await?;
    tx.set_enrollment_status(
        program_id,
        partner_id,
        "terminated",
        Some(decision.reason),
        now,
    )
    .await?;
    let policy = tx.terms_versions(program_id).await?.first().map_or_else(
        || "keep".to_string(),
        |terms| terms.termination_policy.clone(),
    );
    let (forfeited_keys, forfeited_minor) = if policy == "forfeit" {
        crate::posting::forfeit_pending(
            tx.as_mut(),
            &decision.program,
            partner_id,
            &format!("forfeited on termination: {}", decision.reason),
            now,
        )
        .await?
    } else {
        (0, 0)
    };
    let termination = Termination {
        policy,
        forfeited_keys,
        forfeited_minor,
    };
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "enrollment.terminated",
            subject: format!("partner:{partner_id}"),
            reason: decision.reason,
            detail: json!({
                "program_id": program_id,
                "partner_id": partner_id,
                "policy": termination.policy,
                "forfeited_keys": termination.forfeited_keys,
                "forfeited_minor": termination.forfeited_minor,
            }),
        },
    )
    .await?;
    let letter = letters::terminated(
        &decision.program.name,
        &decision.partner.name,
        decision.reason,
        &termination.policy,
    );
    tell(tx.as_mut(), &decision, letter, now).await?;
    tx.commit().await?;
    Ok(termination)
}
