//! What a program equips its partners with: assets (files; text formats such as SVG
//! banners, HTML and plain text are co-branded at download with the partner's name, logo,
//! link and coupon), message templates per persona and channel (shown with the partner's
//! own link filled in), training modules (Markdown with a completion button), resources,
//! and announcements (shown in the portal and emailed). Content may be for one group only;
//! a partner sees only their programs' content for everyone or for their group.

use super::{ACTIVE_STATUSES, Audit, audit, lifecycle_of};
use crate::mail::{self, Outgoing};
use crate::{App, AppError, AppResult, new_uuid};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use std::collections::BTreeMap;
use tributary_core::lifecycle::merge::{Escape, merge};
use tributary_core::*;
use tributary_store::{Enrollment, Page, Partner, ProgramContent, TrainingCompletion, Tx};

pub const KINDS: [&str; 5] = ["asset", "template", "training", "resource", "announcement"];
/// The largest file an asset may be.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_BODY_LEN: usize = 100_000;
/// Partners one announcement emails at most (the rest see it in the portal).
pub const MAX_ANNOUNCEMENT_EMAILS: usize = 10_000;

/// A file as uploaded.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct NewContent {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub partner_group: Option<String>,
    pub persona: Option<String>,
    pub channel: Option<String>,
    pub file: Option<Upload>,
}

fn trimmed(value: Option<String>) -> Option<String> {
    value
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Whether an asset of this type is text the merge fields can be written into.
pub fn co_brandable(content_type: &str) -> bool {
    let base = content_type.split(';').next().unwrap_or_default().trim();
    base.starts_with("text/") || base == "image/svg+xml" || base == "application/json"
}

fn escape_for(content_type: &str) -> Escape {
    let base = content_type.split(';').next().unwrap_or_default().trim();
    if base == "image/svg+xml" || base == "text/html" || base.ends_with("xml") {
        Escape::Markup
    } else {
        Escape::None
    }
}

/// Adds content to a program; an announcement is emailed to its partners too.
pub async fn create(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    input: NewContent,
    actor: &str,
) -> AppResult<ProgramContent> {
    if !KINDS.contains(&input.kind.as_str()) {
        return Err(AppError::invalid(
            "kind",
            format!("one of {}", KINDS.join(", ")),
        ));
    }
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::invalid("title", "1 to 200 characters"));
    }
    if input.body.chars().count() > MAX_BODY_LEN {
        return Err(AppError::invalid(
            "body",
            format!("at most {MAX_BODY_LEN} characters"),
        ));
    }
    let file = match (input.kind.as_str(), input.file) {
        ("asset", None) => return Err(AppError::invalid("file", "an asset needs a file")),
        (_, Some(file)) if file.bytes.is_empty() => None,
        (_, Some(file)) if file.bytes.len() > MAX_FILE_BYTES => {
            return Err(AppError::invalid(
                "file",
                format!("at most {} MiB", MAX_FILE_BYTES / 1024 / 1024),
            ));
        }
        (_, file) => file,
    };
    if input.kind == "asset" && file.is_none() {
        return Err(AppError::invalid("file", "an asset needs a file"));
    }
    let now = app.now();
    let mut tx = app.store.write().await?;
    let program = tx
        .program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let group = trimmed(input.partner_group);
    if let Some(group) = &group
        && lifecycle_of(tx.as_mut(), program_id)
            .await?
            .group(group)
            .is_none()
    {
        return Err(AppError::invalid(
            "partner_group",
            format!("the program has no group {group:?}"),
        ));
    }
    let content = ProgramContent {
        id: new_uuid(),
        workspace_id,
        program_id,
        partner_group: group,
        kind: input.kind,
        title: title.to_string(),
        body: input.body,
        persona: trimmed(input.persona),
        channel: trimmed(input.channel),
        file_name: file.as_ref().map(|file| {
            file.file_name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .take(100)
                .collect()
        }),
        content_type: file.as_ref().map(|file| file.content_type.clone()),
        file_base64: file.as_ref().map(|file| STANDARD.encode(&file.bytes)),
        downloads: 0,
        created_at: now,
    };
    tx.insert_content(&content).await?;
    audit(
        tx.as_mut(),
        workspace_id,
        now,
        Audit {
            actor,
            action: "content.created",
            subject: format!("program:{program_id}"),
            reason: "",
            detail: json!({ "content_id": content.id, "kind": content.kind, "title": content.title }),
        },
    )
    .await?;
    if content.kind == "announcement" {
        let enrollments =
            crate::plans::program_enrollments(tx.as_mut(), workspace_id, program_id).await?;
        let mut sent = 0;
        for enrollment in enrollments.iter().filter(|e| sees(e, &content)) {
            if sent >= MAX_ANNOUNCEMENT_EMAILS {
                break;
            }
            let Some(partner) = tx.partner(workspace_id, enrollment.partner_id).await? else {
                continue;
            };
            mail::queue(
                tx.as_mut(),
                workspace_id,
                Outgoing {
                    to: &partner.email,
                    subject: &format!("{}: {}", program.name, content.title),
                    body: &format!(
                        "Hello {},\n\n{}\n\nAlso in your partner portal: {}\n",
                        partner.name,
                        content.body,
                        app.mail.link("/portal/library")
                    ),
                    kind: "announcement",
                },
                now,
            )
            .await?;
            sent += 1;
        }
    }
    tx.commit().await?;
    Ok(content)
}

/// Whether an enrollment sees a piece of content.
fn sees(enrollment: &Enrollment, content: &ProgramContent) -> bool {
    ACTIVE_STATUSES.contains(&enrollment.status.as_str())
        && enrollment.program_id == content.program_id
        && content
            .partner_group
            .as_ref()
            .is_none_or(|group| enrollment.partner_group.as_ref() == Some(group))
}

/// The partner's active enrollments.
pub async fn enrollments_of(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
) -> AppResult<Vec<Enrollment>> {
    Ok(tx
        .enrollments(
            workspace_id,
            Some(partner_id),
            Page::new(Some(Page::MAX_LIMIT), None),
        )
        .await?
        .into_iter()
        .filter(|e| ACTIVE_STATUSES.contains(&e.status.as_str()))
        .collect())
}

/// Content of one kind the partner may see, across their programs, newest first.
pub async fn visible(
    app: &App,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
    kind: &str,
) -> AppResult<Vec<ProgramContent>> {
    let mut tx = app.store.read().await?;
    let enrollments = enrollments_of(tx.as_mut(), workspace_id, partner_id).await?;
    let mut out = Vec::new();
    for enrollment in &enrollments {
        out.extend(
            tx.contents(enrollment.program_id, Some(kind))
                .await?
                .into_iter()
                .filter(|content| sees(enrollment, content)),
        );
    }
    out.sort_by_key(|content| std::cmp::Reverse(content.created_at));
    Ok(out)
}

/// The values merged into a partner's assets and templates for one program.
pub async fn merge_values(
    tx: &mut dyn Tx,
    app: &App,
    program_id: ProgramId,
    partner: &Partner,
) -> AppResult<BTreeMap<&'static str, String>> {
    let program = tx
        .program(partner.workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let link = tx
        .links(
            partner.workspace_id,
            Some(partner.id),
            Page::new(Some(Page::MAX_LIMIT), None),
        )
        .await?
        .into_iter()
        .filter(|stats| stats.link.program_id == program_id)
        .min_by_key(|stats| stats.link.created_at)
        .map(|stats| app.mail.link(&format!("/r/{}", stats.link.code)))
        .unwrap_or_else(|| program.destination_url.clone());
    let coupon = tx
        .coupons(partner.workspace_id, Some(partner.id))
        .await?
        .into_iter()
        .find(|coupon| coupon.program_id == program_id)
        .map(|coupon| coupon.code)
        .unwrap_or_default();
    let logo = tx
        .partner_profile(partner.id)
        .await?
        .and_then(|profile| {
            Some(format!(
                "data:{};base64,{}",
                profile.logo_content_type?, profile.logo_base64?
            ))
        })
        .unwrap_or_default();
    Ok([
        ("partner_name", partner.name.clone()),
        ("link", link),
        ("coupon", coupon),
        ("partner_logo", logo),
        ("program_name", program.name),
    ]
    .into_iter()
    .collect())
}

/// A file ready to send.
#[derive(Debug, Clone)]
pub struct Download {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// An asset as this partner downloads it: co-branded when it is text, counted.
pub async fn download(
    app: &App,
    workspace_id: WorkspaceId,
    partner: &Partner,
    content_id: uuid::Uuid,
) -> AppResult<Download> {
    let mut tx = app.store.write().await?;
    let content = tx
        .content(workspace_id, content_id)
        .await?
        .filter(|content| content.kind == "asset" || content.kind == "resource")
        .ok_or(AppError::NotFound("asset"))?;
    let enrollment = tx
        .enrollment(content.program_id, partner.id)
        .await?
        .filter(|enrollment| enrollment.workspace_id == workspace_id && sees(enrollment, &content))
        .ok_or(AppError::NotFound("asset"))?;
    let encoded = content
        .file_base64
        .as_deref()
        .ok_or(AppError::NotFound("asset"))?;
    let mut bytes = STANDARD
        .decode(encoded)
        .map_err(|error| AppError::Internal(format!("a stored file does not decode: {error}")))?;
    let content_type = content
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    if co_brandable(&content_type)
        && let Ok(text) = String::from_utf8(bytes.clone())
    {
        let values = merge_values(tx.as_mut(), app, enrollment.program_id, partner).await?;
        bytes = merge(&text, &values, escape_for(&content_type)).into_bytes();
    }
    tx.count_download(content.id).await?;
    tx.commit().await?;
    Ok(Download {
        file_name: content.file_name.unwrap_or_else(|| "asset".into()),
        content_type,
        bytes,
    })
}

/// A message template with the partner's values filled in.
#[derive(Debug, Clone)]
pub struct Filled {
    pub content: ProgramContent,
    pub text: String,
}

/// The partner's message templates, filled with their own link, name and coupon.
pub async fn templates(
    app: &App,
    workspace_id: WorkspaceId,
    partner: &Partner,
) -> AppResult<Vec<Filled>> {
    let contents = visible(app, workspace_id, partner.id, "template").await?;
    let mut tx = app.store.read().await?;
    let mut values_of: BTreeMap<ProgramId, BTreeMap<&'static str, String>> = BTreeMap::new();
    let mut out = Vec::with_capacity(contents.len());
    for content in contents {
        let values = match values_of.entry(content.program_id) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(merge_values(tx.as_mut(), app, content.program_id, partner).await?)
            }
        };
        out.push(Filled {
            text: merge(&content.body, values, Escape::None),
            content,
        });
    }
    Ok(out)
}

/// Marks a training module finished by the partner.
pub async fn complete_training(
    app: &App,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
    content_id: uuid::Uuid,
) -> AppResult<()> {
    let mut tx = app.store.write().await?;
    let content = tx
        .content(workspace_id, content_id)
        .await?
        .filter(|content| content.kind == "training")
        .ok_or(AppError::NotFound("training module"))?;
    tx.enrollment(content.program_id, partner_id)
        .await?
        .filter(|enrollment| enrollment.workspace_id == workspace_id && sees(enrollment, &content))
        .ok_or(AppError::NotFound("training module"))?;
    tx.insert_training_completion(&TrainingCompletion {
        workspace_id,
        program_id: content.program_id,
        partner_id,
        content_id,
        completed_at: app.now(),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}
