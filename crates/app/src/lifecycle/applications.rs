//! Applications: a visitor applies on the public page, the scorecard scores the answers,
//! the program's rules decide what they can, and the rest wait in the review queue for an
//! admin, one by one or in bulk. Every decision is emailed with its reason and audited; a
//! rejected applicant may apply again after the program's cool-down.

use super::letters::{self, Letter};
use super::{Audit, admit, audit, enrollment_detail, lifecycle_of, partner_for, password_link};
use crate::mail::{self, Outgoing};
use crate::{App, AppError, AppResult, new_uuid};
use serde_json::json;
use std::collections::BTreeMap;
use tributary_core::lifecycle::{Applicant, Decision, ProgramLifecycle, vetting};
use tributary_core::*;
use tributary_store::{Application, Page, Program, Tx};

/// Applications one bulk decision takes at most.
pub const MAX_BULK: usize = 500;
/// Characters in a decision's reason at most.
pub const MAX_REASON_LEN: usize = 1_000;
/// Applications one IP may file per hour (on this node).
pub const APPLICATIONS_PER_IP_PER_HOUR: u32 = 5;

/// Files an application to the program at `slug`. Automatic rules may decide it at once;
/// otherwise it is `pending` in the review queue.
pub async fn apply(
    app: &App,
    slug: &str,
    fields: &BTreeMap<String, String>,
    ip: Option<&str>,
) -> AppResult<Application> {
    let public = super::program::public_program(app, slug).await?;
    if !public.accepting {
        return Err(AppError::Forbidden(
            "this program is by invitation only for now",
        ));
    }
    let lifecycle = &public.row.lifecycle;
    let applicant = Applicant::parse(lifecycle, fields)
        .map_err(|error| AppError::invalid(&error.field, error.message))?;
    let now = app.now();
    let ip_hash = ip.map(|ip| app.secrets.hash_ip(ip));
    if let Some(key) = &ip_hash
        && !app.applications_limit.allow(key, now)
    {
        return Err(AppError::RateLimited(
            "too many applications from your network; try again in an hour",
        ));
    }
    let program = public.program;
    let mut tx = app.store.write().await?;
    refuse_repeat(tx.as_mut(), &program, lifecycle, &applicant.email, now).await?;
    let verdict = vetting::vet(&lifecycle.scorecard, &lifecycle.rules, &applicant);
    let application = Application {
        id: ApplicationId(new_uuid()),
        workspace_id: program.workspace_id,
        program_id: program.id,
        applicant,
        score: verdict.score,
        status: "pending".into(),
        decided_by: None,
        reason: None,
        partner_id: None,
        ip_hash,
        created_at: now,
        decided_at: None,
    };
    tx.insert_application(&application).await?;
    let decided = match verdict.decided {
        Some((decision, reason)) => {
            // An approval the stage has no room for waits in the queue instead.
            tx.savepoint().await?;
            match decide_in(
                tx.as_mut(),
                app,
                &program,
                lifecycle,
                &application,
                decision,
                &reason,
                "rule",
                now,
            )
            .await
            {
                Ok(decided) => {
                    tx.release_savepoint().await?;
                    Some(decided)
                }
                Err(AppError::Conflict(_)) => {
                    tx.rollback_to_savepoint().await?;
                    None
                }
                Err(other) => return Err(other),
            }
        }
        None => None,
    };
    let application = match decided {
        Some(decided) => decided,
        None => {
            send(
                tx.as_mut(),
                &application,
                letters::received(&program.name, &application.applicant.name),
                now,
            )
            .await?;
            application
        }
    };
    tx.commit().await?;
    Ok(application)
}

/// Refuses an applicant who is already in (or waiting for) the program, or whose last
/// rejection is inside the cool-down.
async fn refuse_repeat(
    tx: &mut dyn Tx,
    program: &Program,
    lifecycle: &ProgramLifecycle,
    email: &str,
    now: Timestamp,
) -> AppResult<()> {
    let Some(last) = tx.latest_application(program.id, email).await? else {
        return Ok(());
    };
    match last.status.as_str() {
        "pending" => Err(AppError::Conflict(
            "an application from this email is already being reviewed; we will email the decision"
                .into(),
        )),
        "rejected" => {
            let again = last
                .decided_at
                .unwrap_or(last.created_at)
                .plus_days(lifecycle.reapply_cooldown_days);
            if now < again {
                Err(AppError::Conflict(format!(
                    "you may apply to this program again from {}",
                    tributary_core::period::date_of(again)
                )))
            } else {
                Ok(())
            }
        }
        _ => match last.partner_id {
            Some(partner_id) => match tx.enrollment(program.id, partner_id).await? {
                Some(enrollment)
                    if ["approved", "suspended"].contains(&enrollment.status.as_str()) =>
                {
                    Err(AppError::Conflict(
                        "this email is already a partner in this program; sign in to the portal"
                            .into(),
                    ))
                }
                _ => Ok(()),
            },
            None => Ok(()),
        },
    }
}

/// Decides a pending application inside `tx`: an approval finds or creates the partner,
/// enrolls them (if the stage has room) and sends a welcome with a set-password link; a
/// rejection sends the reason and when they may apply again. Audited either way.
#[allow(clippy::too_many_arguments)]
async fn decide_in(
    tx: &mut dyn Tx,
    app: &App,
    program: &Program,
    lifecycle: &ProgramLifecycle,
    application: &Application,
    decision: Decision,
    reason: &str,
    actor: &str,
    now: Timestamp,
) -> AppResult<Application> {
    let applicant = &application.applicant;
    let mut decided = Application {
        decided_by: Some(actor.to_string()),
        reason: Some(reason.to_string()),
        decided_at: Some(now),
        ..application.clone()
    };
    let letter = match decision {
        Decision::Approve => {
            let archetype = applicant
                .group
                .as_deref()
                .and_then(|key| lifecycle.group(key))
                .map_or("other", |group| group.archetype.as_str());
            let partner = partner_for(
                tx,
                program.workspace_id,
                &applicant.email,
                &applicant.name,
                archetype,
                now,
            )
            .await?;
            admit(
                tx,
                program,
                lifecycle,
                partner.id,
                applicant.group.as_deref(),
                reason,
                now,
            )
            .await?;
            decided.status = "approved".into();
            decided.partner_id = Some(partner.id);
            let set_password = password_link(tx, &app.mail, &partner, now).await?;
            audit(
                tx,
                program.workspace_id,
                now,
                Audit {
                    actor,
                    action: "enrollment.approved",
                    subject: format!("partner:{}", partner.id),
                    reason,
                    detail: enrollment_detail(program.id, partner.id),
                },
            )
            .await?;
            letters::approved(
                &program.name,
                &applicant.name,
                reason,
                set_password.as_deref(),
                &app.mail.link("/portal/login"),
            )
        }
        Decision::Reject => {
            decided.status = "rejected".into();
            let again = (lifecycle.reapply_cooldown_days > 0)
                .then(|| now.plus_days(lifecycle.reapply_cooldown_days));
            letters::rejected(&program.name, &applicant.name, reason, again)
        }
    };
    if !tx.decide_application(&decided).await? {
        return Err(AppError::Conflict(
            "this application was decided already".into(),
        ));
    }
    audit(
        tx,
        program.workspace_id,
        now,
        Audit {
            actor,
            action: &format!("application.{}", decided.status),
            subject: format!("application:{}", application.id),
            reason,
            detail: json!({ "program_id": program.id, "score": decided.score.total }),
        },
    )
    .await?;
    send(tx, &decided, letter, now).await?;
    Ok(decided)
}

async fn send(
    tx: &mut dyn Tx,
    application: &Application,
    letter: Letter,
    now: Timestamp,
) -> AppResult<()> {
    mail::queue(
        tx,
        application.workspace_id,
        Outgoing {
            to: &application.applicant.email,
            subject: &letter.subject,
            body: &letter.body,
            kind: letter.kind,
        },
        now,
    )
    .await?;
    Ok(())
}

/// One application's part of a bulk decision.
#[derive(Debug, Clone)]
pub struct Decided {
    pub id: ApplicationId,
    /// The decided application, or why it was not decided (decided already, no room).
    pub outcome: Result<Application, String>,
}

/// Decides applications from the review queue, each on its own: one that cannot be decided
/// (decided already, the stage is full) is reported and the others go ahead.
pub async fn decide(
    app: &App,
    workspace_id: WorkspaceId,
    ids: &[ApplicationId],
    decision: Decision,
    reason: &str,
    actor: &str,
) -> AppResult<Vec<Decided>> {
    if ids.is_empty() {
        return Err(AppError::invalid("ids", "choose at least one application"));
    }
    if ids.len() > MAX_BULK {
        return Err(AppError::invalid(
            "ids",
            format!("at most {MAX_BULK} applications at once"),
        ));
    }
    let reason = reason.trim();
    if decision == Decision::Reject && reason.is_empty() {
        return Err(AppError::invalid(
            "reason",
            "a rejection says why: the applicant is told",
        ));
    }
    if reason.chars().count() > MAX_REASON_LEN {
        return Err(AppError::invalid(
            "reason",
            format!("at most {MAX_REASON_LEN} characters"),
        ));
    }
    let now = app.now();
    let mut tx = app.store.write().await?;
    let mut results = Vec::with_capacity(ids.len());
    for &id in ids {
        let Some(application) = tx.application(workspace_id, id).await? else {
            results.push(Decided {
                id,
                outcome: Err("not found".into()),
            });
            continue;
        };
        if application.status != "pending" {
            results.push(Decided {
                id,
                outcome: Err(format!("already {}", application.status)),
            });
            continue;
        }
        let program = tx
            .program(workspace_id, application.program_id)
            .await?
            .ok_or(AppError::NotFound("program"))?;
        let lifecycle = lifecycle_of(tx.as_mut(), program.id).await?;
        tx.savepoint().await?;
        let outcome = decide_in(
            tx.as_mut(),
            app,
            &program,
            &lifecycle,
            &application,
            decision,
            reason,
            actor,
            now,
        )
        .await;
        match outcome {
            Ok(decided) => {
                tx.release_savepoint().await?;
                results.push(Decided {
                    id,
                    outcome: Ok(decided),
                });
            }
            Err(error @ (AppError::Conflict(_) | AppError::Invalid { .. })) => {
                tx.rollback_to_savepoint().await?;
                results.push(Decided {
                    id,
                    outcome: Err(error.to_string()),
                });
            }
            Err(other) => return Err(other),
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// The review queue (or another status) of a workspace, oldest first.
pub async fn list(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: Option<ProgramId>,
    status: Option<&str>,
    page: Page,
) -> AppResult<Vec<Application>> {
    if let Some(status) = status
        && !["pending", "approved", "rejected"].contains(&status)
    {
        return Err(AppError::invalid(
            "status",
            "one of pending, approved, rejected",
        ));
    }
    Ok(app
        .store
        .read()
        .await?
        .applications(workspace_id, program_id, status, page)
        .await?)
}
