//! The email outbox. A change that should tell someone (an application decided, an
//! invitation, new terms) writes an `emails` row and a `send_email` job in its own
//! transaction; the job sends it through the configured relay outside any transaction,
//! like a postback. Without a relay the email is kept as `held`, readable in the admin's
//! Emails page, so nothing is lost and a demo needs no mail server.

use crate::smtp::{self, SmtpConfig, SmtpError};
use crate::{App, AppError, AppResult, new_uuid};
use std::sync::RwLock;
use tributary_core::{EmailId, Timestamp, WorkspaceId};
use tributary_store::{Email, Job, Tx};

pub const JOB_EMAIL: &str = "send_email";
/// Attempts before an email the relay keeps deferring is marked failed.
pub const MAX_SEND_ATTEMPTS: i64 = 8;
/// Characters in a subject, and in a body, at most.
pub const MAX_SUBJECT_LEN: usize = 300;
pub const MAX_BODY_LEN: usize = 100_000;
/// How long a send may hold its job before another runner may take it.
const LEASE_MS: i64 = 5 * 60 * 1_000;

/// Where mail goes and what links in it point at.
#[derive(Default)]
pub struct Mailer {
    relay: RwLock<Option<SmtpConfig>>,
    public_url: RwLock<Option<String>>,
}

impl Mailer {
    /// Sends through this relay from now on (none: hold emails).
    pub fn set_relay(&self, relay: Option<SmtpConfig>) {
        if let Ok(mut slot) = self.relay.write() {
            *slot = relay;
        }
    }

    fn relay(&self) -> Option<SmtpConfig> {
        self.relay.read().ok().and_then(|slot| slot.clone())
    }

    /// The address partners reach this server at, for links in emails
    /// (`https://partners.example.com`); without one, links are relative paths.
    pub fn set_public_url(&self, url: Option<String>) {
        if let Ok(mut slot) = self.public_url.write() {
            *slot = url.map(|url| url.trim_end_matches('/').to_string());
        }
    }

    /// `path` (starting with `/`) as a link for an email.
    pub fn link(&self, path: &str) -> String {
        let base = self
            .public_url
            .read()
            .ok()
            .and_then(|slot| slot.clone())
            .unwrap_or_default();
        format!("{base}{path}")
    }
}

/// An email to write to the outbox.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub kind: &'a str,
}

/// Writes an email and its send job into `tx`: it is sent if and only if `tx` commits.
pub async fn queue(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    outgoing: Outgoing<'_>,
    now: Timestamp,
) -> AppResult<EmailId> {
    let subject: String = outgoing.subject.chars().take(MAX_SUBJECT_LEN).collect();
    let body: String = outgoing.body.chars().take(MAX_BODY_LEN).collect();
    let email = Email {
        id: EmailId(new_uuid()),
        workspace_id,
        to_address: outgoing.to.to_string(),
        subject,
        body,
        kind: outgoing.kind.to_string(),
        status: "queued".into(),
        attempts: 0,
        last_error: None,
        created_at: now,
        sent_at: None,
    };
    tx.insert_email(&email).await?;
    tx.enqueue_job(&Job {
        id: tributary_core::JobId(new_uuid()),
        workspace_id,
        kind: JOB_EMAIL.into(),
        payload_json: serde_json::json!({ "email_id": email.id }).to_string(),
        dedupe_key: format!("email:{}", email.id),
        run_at: now,
        attempts: 0,
        created_at: now,
    })
    .await?;
    Ok(email.id)
}

/// Runs one `send_email` job: leases it, sends with no transaction open, records the
/// outcome. False if another runner had it.
pub async fn run_job(app: &App, job: &Job) -> AppResult<bool> {
    let now = app.now();
    let payload: serde_json::Value =
        serde_json::from_str(&job.payload_json).map_err(|e| AppError::Internal(e.to_string()))?;
    let id: EmailId = payload["email_id"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| AppError::Internal("send_email job without email_id".into()))?;
    let mut email = {
        let mut tx = app.store.write().await?;
        if !tx.claim_job(job.id, now).await? {
            return Ok(false);
        }
        let email = tx.email(id).await?.ok_or(AppError::NotFound("email"))?;
        if email.status != "queued" {
            tx.finish_job(job.id, now).await?;
            tx.commit().await?;
            return Ok(true);
        }
        tx.retry_job(job.id, "sending", now.plus_millis(LEASE_MS))
            .await?;
        tx.commit().await?;
        email
    };
    email.attempts += 1;
    let retry_at = match app.mail.relay() {
        None => {
            email.status = "held".into();
            email.last_error = Some("no mail relay is configured".into());
            None
        }
        Some(relay) => match send(&relay, &email).await {
            Ok(()) => {
                email.status = "sent".into();
                email.last_error = None;
                email.sent_at = Some(app.now());
                None
            }
            Err(error) => {
                tracing::warn!(email_id = %email.id, kind = %email.kind, attempts = email.attempts, %error, "email not sent");
                email.last_error = Some(error.to_string());
                if error.is_permanent() || email.attempts >= MAX_SEND_ATTEMPTS {
                    email.status = "failed".into();
                    None
                } else {
                    Some(app.now().plus_millis(60_000 << email.attempts.clamp(0, 10)))
                }
            }
        },
    };
    let mut tx = app.store.write().await?;
    tx.update_email(&email).await?;
    match retry_at {
        Some(at) => {
            tx.retry_job(
                job.id,
                email.last_error.as_deref().unwrap_or("deferred"),
                at,
            )
            .await?
        }
        None => tx.finish_job(job.id, app.now()).await?,
    }
    tx.commit().await?;
    Ok(true)
}

async fn send(relay: &SmtpConfig, email: &Email) -> Result<(), SmtpError> {
    let date = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(email.created_at.millis()) * 1_000_000,
    )
    .ok()
    .and_then(|at| {
        at.format(&time::format_description::well_known::Rfc2822)
            .ok()
    })
    .unwrap_or_default();
    let message_id = email.id.to_string();
    smtp::send(
        relay,
        &smtp::Message {
            to: &email.to_address,
            subject: &email.subject,
            body: &email.body,
            message_id: &message_id,
            date_rfc2822: &date,
        },
    )
    .await
}

/// Paths whose last segment is a one-time secret (a welcome or invitation token).
const SECRET_PATHS: [&str; 2] = ["/portal/welcome/", "/invite/"];

/// An email's text as people may read it in the admin and the API: one-time links keep
/// their path and lose their token, so reading the outbox never lets anyone in as the
/// recipient. Sending uses the stored text.
pub fn redacted(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some((at, prefix)) = SECRET_PATHS
        .iter()
        .filter_map(|prefix| rest.find(prefix).map(|at| (at, *prefix)))
        .min_by_key(|(at, _)| *at)
    {
        let token_start = at + prefix.len();
        out.push_str(&rest[..token_start]);
        let token_len = rest[token_start..]
            .find(|c: char| c.is_whitespace())
            .unwrap_or(rest.len() - token_start);
        if token_len > 0 {
            out.push_str("[one-time token hidden]");
        }
        rest = &rest[token_start + token_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_time_tokens_are_hidden_and_the_rest_kept() {
        let body =
            "Choose it here:\nhttps://x.example/portal/welcome/abcDEF_123\nor /invite/zz9 now";
        assert_eq!(
            super::redacted(body),
            "Choose it here:\nhttps://x.example/portal/welcome/[one-time token hidden]\nor /invite/[one-time token hidden] now"
        );
        assert_eq!(super::redacted("no links"), "no links");
    }
}
