//! Invitations: an admin invites a person to a program, one by one or by uploading a CSV
//! (`email` column required; `name` and `group` optional, in any order). Each invitation
//! emails a one-time link; following it, the person chooses a password (or, already a
//! partner, just joins) and is enrolled. Bad rows of an upload are reported with their line
//! and never stop the good ones.

use super::letters;
use super::{Audit, admit, audit, enrollment_detail, lifecycle_of, partner_for};
use crate::mail::{self, Outgoing};
use crate::{App, AppError, AppResult, new_uuid};
use serde_json::json;
use tributary_core::lifecycle::ProgramLifecycle;
use tributary_core::lifecycle::form::plausible_email;
use tributary_core::*;
use tributary_store::{Invitation, Partner, Program, Tx};

/// Days an invitation link stays valid.
pub const INVITATION_DAYS: u32 = 30;

/// One person to invite.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewInvitation {
    pub email: String,
    pub name: Option<String>,
    pub group: Option<String>,
}

/// An upload's outcome: how many were invited and what was wrong with the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub invited: usize,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The line of the file the row starts on (1-based, the header is line 1).
    pub line: usize,
    pub email: String,
    pub message: String,
}

/// Checks one invitation against the program; the message is the row's error.
fn checked(lifecycle: &ProgramLifecycle, input: &NewInvitation) -> Result<NewInvitation, String> {
    let email = input.email.trim().to_ascii_lowercase();
    if !plausible_email(&email) {
        return Err("the email is not an address (name@example.com)".into());
    }
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string);
    if name.as_ref().is_some_and(|name| name.chars().count() > 200) {
        return Err("the name is over 200 characters".into());
    }
    let group = input
        .group
        .as_deref()
        .map(str::trim)
        .filter(|group| !group.is_empty())
        .map(str::to_string);
    if let Some(group) = &group
        && lifecycle.group(group).is_none()
    {
        return Err(format!("the program has no group {group:?}"));
    }
    Ok(NewInvitation { email, name, group })
}

/// Writes one checked invitation and its email; `Err` is the row's message (invited
/// already, a partner already).
async fn invite_in(
    tx: &mut dyn Tx,
    app: &App,
    program: &Program,
    input: &NewInvitation,
    actor: &str,
    now: Timestamp,
) -> AppResult<Result<Invitation, String>> {
    let partner = tx
        .partners_by_email(&input.email)
        .await?
        .into_iter()
        .find(|partner| partner.workspace_id == program.workspace_id);
    if let Some(partner) = partner
        && let Some(enrollment) = tx.enrollment(program.id, partner.id).await?
        && ["approved", "suspended"].contains(&enrollment.status.as_str())
    {
        return Ok(Err(format!(
            "already a partner in this program ({})",
            enrollment.status
        )));
    }
    let token = crate::auth::random_token(32);
    let invitation = Invitation {
        id: InvitationId(new_uuid()),
        workspace_id: program.workspace_id,
        program_id: program.id,
        email: input.email.clone(),
        name: input.name.clone(),
        partner_group: input.group.clone(),
        token_hash: crate::auth::sha256_hex(&token),
        status: "sent".into(),
        invited_by: actor.to_string(),
        created_at: now,
        expires_at: now.plus_days(INVITATION_DAYS),
        accepted_at: None,
        partner_id: None,
    };
    if !tx.insert_invitation(&invitation).await? {
        return Ok(Err("already invited to this program".into()));
    }
    let letter = letters::invitation(
        &program.name,
        invitation.name.as_deref(),
        &app.mail.link(&format!("/invite/{token}")),
        invitation.expires_at,
    );
    mail::queue(
        tx,
        program.workspace_id,
        Outgoing {
            to: &invitation.email,
            subject: &letter.subject,
            body: &letter.body,
            kind: letter.kind,
        },
        now,
    )
    .await?;
    Ok(Ok(invitation))
}

async fn program_and_lifecycle(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
) -> AppResult<(Program, ProgramLifecycle)> {
    let program = tx
        .program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let lifecycle = lifecycle_of(tx, program_id).await?;
    Ok((program, lifecycle))
}

/// Invites one person.
pub async fn invite(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    input: &NewInvitation,
    actor: &str,
) -> AppResult<Invitation> {
    let now = app.now();
    let mut tx = app.store.write().await?;
    let (program, lifecycle) = program_and_lifecycle(tx.as_mut(), workspace_id, program_id).await?;
    let input = checked(&lifecycle, input).map_err(|message| {
        let field = if message.contains("group") {
            "group"
        } else {
            "email"
        };
        AppError::invalid(field, message)
    })?;
    let invitation = invite_in(tx.as_mut(), app, &program, &input, actor, now)
        .await?
        .map_err(AppError::Conflict)?;
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "invitation.sent",
            subject: format!("invitation:{}", invitation.id),
            reason: "",
            detail: json!({ "program_id": program_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(invitation)
}

/// Invites everyone in a CSV upload, in one transaction; each bad row is reported.
pub async fn import_csv(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    text: &str,
    actor: &str,
) -> AppResult<ImportReport> {
    let records =
        super::csv::records(text).map_err(|message| AppError::invalid("file", message))?;
    let mut records = records.into_iter();
    let header = match records.next() {
        Some(super::csv::Record {
            fields: Ok(fields), ..
        }) => fields,
        _ => {
            return Err(AppError::invalid(
                "file",
                "the first line names the columns: email, and optionally name and group",
            ));
        }
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|field| field.trim().eq_ignore_ascii_case(name))
    };
    let email_at = column("email").ok_or_else(|| {
        AppError::invalid("file", "no email column: the first line names the columns")
    })?;
    let (name_at, group_at) = (column("name"), column("group"));
    let now = app.now();
    let mut tx = app.store.write().await?;
    let (program, lifecycle) = program_and_lifecycle(tx.as_mut(), workspace_id, program_id).await?;
    let mut report = ImportReport::default();
    let mut seen = std::collections::HashSet::new();
    for record in records {
        let cell = |fields: &[String], at: Option<usize>| {
            at.and_then(|at| fields.get(at))
                .cloned()
                .filter(|v| !v.trim().is_empty())
        };
        let fields = match record.fields {
            Ok(fields) => fields,
            Err(message) => {
                report.errors.push(RowError {
                    line: record.line,
                    email: String::new(),
                    message,
                });
                continue;
            }
        };
        let input = NewInvitation {
            email: cell(&fields, Some(email_at)).unwrap_or_default(),
            name: cell(&fields, name_at),
            group: cell(&fields, group_at),
        };
        let outcome = match checked(&lifecycle, &input) {
            Ok(input) if !seen.insert(input.email.clone()) => {
                Err("the same email is on an earlier row".to_string())
            }
            Ok(input) => invite_in(tx.as_mut(), app, &program, &input, actor, now)
                .await?
                .map(|_| ()),
            Err(message) => Err(message),
        };
        match outcome {
            Ok(()) => report.invited += 1,
            Err(message) => report.errors.push(RowError {
                line: record.line,
                email: input.email.trim().to_string(),
                message,
            }),
        }
    }
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "invitation.imported",
            subject: format!("program:{program_id}"),
            reason: "",
            detail: json!({ "invited": report.invited, "errors": report.errors.len() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// An invitation a link names, if it is still open, with its program.
pub async fn open_invitation(app: &App, token: &str) -> AppResult<(Invitation, Program)> {
    let mut tx = app.store.read().await?;
    let invitation = tx
        .invitation_by_token(&crate::auth::sha256_hex(token))
        .await?
        .filter(|invitation| invitation.status == "sent" && app.now() < invitation.expires_at)
        .ok_or(AppError::NotFound("invitation"))?;
    let program = tx
        .program(invitation.workspace_id, invitation.program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    Ok((invitation, program))
}

/// Accepts an invitation: the partner (found by the invited email, or created with `name`)
/// is enrolled, and a partner without a password gets `password`. One who has a password
/// keeps it (the link is not a way to change someone's password).
pub async fn accept(app: &App, token: &str, name: &str, password: &str) -> AppResult<Partner> {
    let (invitation, program) = open_invitation(app, token).await?;
    let now = app.now();
    let mut tx = app.store.write().await?;
    let lifecycle = lifecycle_of(tx.as_mut(), program.id).await?;
    let name = match name.trim() {
        "" => invitation
            .name
            .clone()
            .unwrap_or_else(|| invitation.email.clone()),
        name => name.chars().take(200).collect(),
    };
    let archetype = invitation
        .partner_group
        .as_deref()
        .and_then(|key| lifecycle.group(key))
        .map_or("other", |group| group.archetype.as_str());
    let mut partner = partner_for(
        tx.as_mut(),
        invitation.workspace_id,
        &invitation.email,
        &name,
        archetype,
        now,
    )
    .await?;
    if partner.password_hash.is_none() {
        let hash = crate::auth::hash_password(password)?;
        tx.set_partner_password(partner.id, &hash).await?;
        partner.password_hash = Some(hash);
    }
    admit(
        tx.as_mut(),
        &program,
        &lifecycle,
        partner.id,
        invitation.partner_group.as_deref(),
        "accepted an invitation",
        now,
    )
    .await?;
    if !tx.accept_invitation(invitation.id, partner.id, now).await? {
        return Err(AppError::Conflict(
            "this invitation was used already".into(),
        ));
    }
    audit(
        tx.as_mut(),
        invitation.workspace_id,
        now,
        Audit {
            actor: &format!("partner:{}", partner.id),
            action: "enrollment.approved",
            subject: format!("partner:{}", partner.id),
            reason: "accepted an invitation",
            detail: enrollment_detail(program.id, partner.id),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(partner)
}

/// Sets a first password from a welcome link (sent on approval). One use, then gone.
pub async fn set_password(app: &App, token: &str, password: &str) -> AppResult<Partner> {
    let hash = crate::auth::hash_password(password)?;
    let mut tx = app.store.write().await?;
    let used = tx
        .use_partner_token(
            &crate::auth::sha256_hex(token),
            super::PURPOSE_SET_PASSWORD,
            app.now(),
        )
        .await?
        .ok_or(AppError::NotFound("link"))?;
    let partner = tx
        .partner(used.workspace_id, used.partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    tx.set_partner_password(partner.id, &hash).await?;
    tx.commit().await?;
    Ok(Partner {
        password_hash: Some(hash),
        ..partner
    })
}
