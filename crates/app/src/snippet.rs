//! What the site snippet (`/t.js`, docs/SNIPPET.md) reports from a visitor's browser: a
//! `?via=` visit, recorded as a `referral` click on the partner's link, and a lead, recorded
//! as a `lead` event carrying the visitor's click ids. The snippet knows only the program's
//! public key (its id); a lead is accepted only with a click id this server issued for a
//! link of that program, so nobody can report leads for partners out of thin air.

use crate::clicks::{self, Visit};
use crate::ingest::{self, Ingested};
use crate::{App, AppError, AppResult};
use serde::Deserialize;
use serde_json::json;
use tributary_core::clickid;
use tributary_core::event::MAX_EXTERNAL_ID_LEN;
use tributary_core::*;
use tributary_store::Program;

/// Where a visit came from, as the snippet reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct VisitReport {
    /// The program's public key.
    pub key: String,
    /// The link code from `?via=`, `?ref=` or the configured parameter.
    pub via: String,
}

/// A lead the snippet reports.
#[derive(Debug, Clone, Deserialize)]
pub struct LeadReport {
    pub key: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    /// The visitor's latest click id, and the earlier ones (oldest first).
    #[serde(default)]
    pub click_id: Option<String>,
    #[serde(default)]
    pub click_ids: Vec<String>,
}

fn program_key(key: &str) -> AppResult<ProgramId> {
    key.trim()
        .parse()
        .map_err(|_| AppError::invalid("key", "not a program's public key"))
}

/// Records a `?via=` visit as a referral click on the link with that code, if the link is
/// in the key's program. Returns the click id for the snippet to keep.
pub async fn visit(app: &App, report: &VisitReport, visit: Visit<'_>) -> AppResult<String> {
    let program_id = program_key(&report.key)?;
    let code = report.via.trim();
    if code.is_empty() || code.len() > 64 {
        return Err(AppError::invalid("via", "not a link code"));
    }
    let link = match app.links.get(code) {
        Some(link) => (*link).clone(),
        None => {
            let link = app
                .store
                .read()
                .await?
                .link_by_code(code)
                .await?
                .ok_or(AppError::NotFound("link"))?;
            app.links.insert(link.clone());
            link
        }
    };
    if link.program_id != program_id {
        // Another program's (or workspace's) link: as unknown as a mistyped code.
        return Err(AppError::NotFound("link"));
    }
    Ok(clicks::record(app, &link, visit, true, Default::default()))
}

/// The customer id a lead is recorded under: the `customer_id` given, else the email in
/// lower case.
fn customer_of(report: &LeadReport) -> AppResult<String> {
    match (&report.customer_id, &report.email) {
        (Some(id), _) if !id.trim().is_empty() => {
            let id = id.trim();
            if id.len() > MAX_EXTERNAL_ID_LEN {
                return Err(AppError::invalid("customer_id", "customer_id is too long"));
            }
            Ok(id.to_string())
        }
        (_, Some(email)) => {
            let email = email.trim().to_lowercase();
            let valid = email.len() <= 254
                && email
                    .split_once('@')
                    .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                && !email.chars().any(|c| c.is_whitespace() || c.is_control());
            if !valid {
                return Err(AppError::invalid("email", "not an email address"));
            }
            Ok(email)
        }
        _ => Err(AppError::invalid(
            "email",
            "a lead needs an email or a customer_id",
        )),
    }
}

/// Records a lead from the snippet as a `lead` event with the visitor's click ids. A click
/// brings at most one lead: reporting again with the same latest click, for whichever
/// customer, changes nothing.
pub async fn lead(app: &App, report: &LeadReport) -> AppResult<Ingested> {
    let program_id = program_key(&report.key)?;
    let customer = customer_of(report)?;
    let program: Program = app
        .store
        .read()
        .await?
        .program_by_id(program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    if report.click_ids.len() > ingest::MAX_CLICK_IDS {
        return Err(AppError::invalid(
            "click_ids",
            format!("at most {} earlier click ids", ingest::MAX_CLICK_IDS),
        ));
    }
    // Only click ids of this program's links count (the latest last); a lead without one is
    // not recorded.
    let mut ids: Vec<String> = Vec::new();
    for text in report.click_ids.iter().chain(report.click_id.iter()) {
        if ids.contains(text) {
            continue;
        }
        let Ok(facts) = clickid::decode(&app.secrets.click_key, text) else {
            continue;
        };
        let link = app
            .store
            .read()
            .await?
            .link(program.workspace_id, facts.link_id)
            .await?;
        if link.is_some_and(|link| link.program_id == program.id) {
            ids.push(text.clone());
        }
    }
    let Some(latest) = ids.pop() else {
        return Err(AppError::invalid(
            "click_id",
            "no click id of this program: the visitor did not come through a partner",
        ));
    };
    let body = json!({
        "type": "lead",
        "customer_id": customer,
        "click_id": latest,
        "click_ids": ids,
        "metadata": {"source": "t.js"},
    });
    // One lead per click: a visit (however it was made) can bring one customer, so a
    // script cannot mint a click and report any number of customers with it.
    let digest = crate::auth::sha256_hex(&latest);
    let key = format!("t.js:{}", &digest[..32]);
    match ingest::accept(app, program.workspace_id, &key, &body).await {
        // Reported again (for the same or another customer): the first report stands.
        Err(AppError::Conflict(_)) => Ok(Ingested {
            response_json: json!({"status": "already recorded"}).to_string(),
            replayed: true,
            queued: false,
        }),
        other => other,
    }
}
