//! Partner postbacks (issue 5, docs/POSTBACKS.md): a partner registers a URL with macros;
//! each event that credits them, of a type the postback names, becomes a delivery written in
//! the event's own transaction (an outbox) and a `deliver_postback` job. The job fills the
//! URL (the sub-ids of the partner's click are read then), checks every address the host
//! resolves to, and calls the URL pinned to a checked address, with no redirects, outside
//! any database transaction. Failures are retried with growing waits, then given up.
//! Delivery is at least once: a receiver should treat a repeated call as one.

use crate::{App, AppError, AppResult, new_uuid};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tributary_core::attribution::Credit;
use tributary_core::event::EventKind;
use tributary_core::postback::{self, Values};
use tributary_core::*;
use tributary_store::{CommissionRecord, EventRecord, Job, Postback, PostbackDelivery, Tx};

pub const JOB_POSTBACK: &str = "deliver_postback";
/// Postbacks one partner may have registered (disabled ones do not count).
pub const MAX_PER_PARTNER: usize = 5;
/// Calls before a delivery is given up: the first, then retries after these waits.
pub const RETRY_WAITS_SECONDS: [i64; 5] = [60, 300, 1_800, 7_200, 43_200];
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The event types a postback can fire on; `lead` and `sale` when none are named.
pub const EVENT_TYPES: [&str; 6] = [
    "lead",
    "sale",
    "renewal",
    "refund",
    "chargeback",
    "milestone",
];

/// Which addresses postbacks may reach. Production never changes it; tests that deliver to
/// a local fake server allow loopback and private addresses.
#[derive(Debug, Default)]
pub struct Policy {
    allow_private: AtomicBool,
}

impl Policy {
    /// For tests only: lets postbacks reach loopback and private addresses.
    pub fn allow_private_addresses_for_tests(&self) {
        self.allow_private.store(true, Ordering::Relaxed);
    }

    fn allows(&self, address: IpAddr) -> bool {
        self.allow_private.load(Ordering::Relaxed) || postback::deliverable(address)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPostback {
    pub url: String,
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// Registers a postback for a partner.
pub async fn register(
    app: &App,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
    input: NewPostback,
) -> AppResult<Postback> {
    let url = input.url.trim().to_string();
    postback::validate(&url).map_err(|error| AppError::invalid("url", error.to_string()))?;
    let mut events = input
        .events
        .unwrap_or_else(|| vec!["lead".into(), "sale".into()]);
    events.sort();
    events.dedup();
    if events.is_empty() || events.iter().any(|e| !EVENT_TYPES.contains(&e.as_str())) {
        return Err(AppError::invalid(
            "events",
            format!("events are some of {}", EVENT_TYPES.join(", ")),
        ));
    }
    let mut tx = app.store.write().await?;
    tx.partner(workspace_id, partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    let active = tx
        .postbacks(workspace_id, Some(partner_id))
        .await?
        .into_iter()
        .filter(|p| p.disabled_at.is_none())
        .count();
    if active >= MAX_PER_PARTNER {
        return Err(AppError::Conflict(format!(
            "a partner has at most {MAX_PER_PARTNER} postbacks; disable one first"
        )));
    }
    let postback = Postback {
        id: new_uuid(),
        workspace_id,
        partner_id,
        url_template: url,
        events,
        created_at: app.now(),
        disabled_at: None,
    };
    tx.insert_postback(&postback).await?;
    tx.commit().await?;
    Ok(postback)
}

/// Disables a postback (`partner`: only that partner's). Its pending deliveries stop.
pub async fn disable(
    app: &App,
    workspace_id: WorkspaceId,
    partner: Option<PartnerId>,
    id: uuid::Uuid,
) -> AppResult<()> {
    let mut tx = app.store.write().await?;
    let found = tx
        .postbacks(workspace_id, partner)
        .await?
        .into_iter()
        .any(|p| p.id == id);
    if !found {
        return Err(AppError::NotFound("postback"));
    }
    tx.disable_postback(id, app.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// What a delivery fills its macros with, but the sub-ids (read when it is sent).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Fill {
    click_id: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    order_id: Option<String>,
    event: String,
    commission: Option<String>,
}

/// Writes a delivery and its job for each of the credited partners' postbacks that fire on
/// this event (called in the event's transaction, after its commissions are posted).
pub async fn enqueue_for_event(
    tx: &mut dyn Tx,
    event: &EventRecord,
    credits: &[Credit],
    commissions: &[CommissionRecord],
    now: Timestamp,
) -> AppResult<()> {
    let kind = event.facts.kind;
    let name = kind_name(kind);
    for credit in credits {
        let postbacks: Vec<Postback> = tx
            .postbacks(event.workspace_id, Some(credit.partner_id))
            .await?
            .into_iter()
            .filter(|p| p.disabled_at.is_none() && p.events.iter().any(|e| e == name))
            .collect();
        if postbacks.is_empty() {
            continue;
        }
        let commission = Money::total(
            commissions
                .iter()
                .filter(|c| c.partner_id == credit.partner_id)
                .map(|c| c.amount),
        )
        .map_err(|error| AppError::Internal(error.to_string()))?
        .map(|total| total.decimal());
        let fill = Fill {
            click_id: credit.click_id.clone(),
            amount: event.facts.amount.map(|amount| amount.decimal()),
            currency: event.facts.amount.map(|m| m.currency.code().to_string()),
            order_id: event.facts.invoice_id.clone(),
            event: name.to_string(),
            commission,
        };
        let values_json =
            serde_json::to_string(&fill).map_err(|e| AppError::Internal(e.to_string()))?;
        for postback in postbacks {
            let delivery = PostbackDelivery {
                id: new_uuid(),
                workspace_id: event.workspace_id,
                postback_id: postback.id,
                partner_id: credit.partner_id,
                event_id: event.id,
                values_json: values_json.clone(),
                url: None,
                status: "pending".into(),
                attempts: 0,
                response_status: None,
                last_error: None,
                created_at: now,
                delivered_at: None,
            };
            if tx.insert_postback_delivery(&delivery).await? {
                tx.enqueue_job(&Job {
                    id: JobId(new_uuid()),
                    workspace_id: event.workspace_id,
                    kind: JOB_POSTBACK.into(),
                    payload_json: serde_json::json!({ "delivery_id": delivery.id }).to_string(),
                    dedupe_key: format!("{JOB_POSTBACK}:{}", delivery.id),
                    run_at: now,
                    attempts: 0,
                    created_at: now,
                })
                .await?;
            }
        }
    }
    Ok(())
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Lead => "lead",
        EventKind::Sale => "sale",
        EventKind::Renewal => "renewal",
        EventKind::Refund => "refund",
        EventKind::Chargeback => "chargeback",
        EventKind::Milestone => "milestone",
    }
}

/// Why a call did not count as delivered.
#[derive(Debug)]
enum Failure {
    /// Worth trying again (a timeout, a 5xx, a 429, a refused connection).
    Retry(String, Option<i64>),
    /// Never deliverable as it stands (a forbidden address, a 4xx).
    Final(String, Option<i64>),
}

/// Runs one `deliver_postback` job: claims it under a lease, calls the URL with no
/// transaction open, then records the outcome and finishes or re-arms the job. False if the
/// job was not ours to run.
pub async fn run_job(app: &App, job: &Job) -> AppResult<bool> {
    let now = app.now();
    let payload: serde_json::Value =
        serde_json::from_str(&job.payload_json).map_err(|e| AppError::Internal(e.to_string()))?;
    let id: uuid::Uuid = payload["delivery_id"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| AppError::Internal("deliver_postback job without delivery_id".into()))?;
    // The lease: no other runner takes the job while this one calls out.
    let (mut delivery, postback) = {
        let mut tx = app.store.write().await?;
        if !tx.claim_job(job.id, now).await? {
            return Ok(false);
        }
        let delivery = tx
            .postback_delivery(id)
            .await?
            .ok_or(AppError::NotFound("postback delivery"))?;
        let postback = tx
            .postbacks(delivery.workspace_id, Some(delivery.partner_id))
            .await?
            .into_iter()
            .find(|p| p.id == delivery.postback_id);
        let active = postback.filter(|p| p.disabled_at.is_none());
        if delivery.status != "pending" || active.is_none() {
            tx.finish_job(job.id, now).await?;
            tx.commit().await?;
            return Ok(true);
        }
        tx.retry_job(job.id, "sending", now.plus_millis(5 * 60 * 1_000))
            .await?;
        tx.commit().await?;
        (delivery, active.ok_or(AppError::NotFound("postback"))?)
    };
    let fill: Fill = serde_json::from_str(&delivery.values_json)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let subs = match &fill.click_id {
        Some(click_id) => app
            .store
            .read()
            .await?
            .click_subs(click_id)
            .await?
            .unwrap_or_default(),
        None => Default::default(),
    };
    let url = postback::fill(
        &postback.url_template,
        &Values {
            click_id: fill.click_id.clone(),
            subs,
            amount: fill.amount.clone(),
            currency: fill.currency.clone(),
            order_id: fill.order_id.clone(),
            event: fill.event.clone(),
            commission: fill.commission.clone(),
        },
    );
    let outcome = send(app, &url).await;
    let done_at = app.now();
    delivery.url = Some(url);
    delivery.attempts += 1;
    let retry_at = match outcome {
        Ok(status) => {
            delivery.status = "delivered".into();
            delivery.response_status = Some(status);
            delivery.last_error = None;
            delivery.delivered_at = Some(done_at);
            None
        }
        Err(Failure::Final(error, status)) => {
            delivery.status = "failed".into();
            delivery.response_status = status;
            delivery.last_error = Some(error);
            None
        }
        Err(Failure::Retry(error, status)) => {
            delivery.response_status = status;
            delivery.last_error = Some(error);
            match RETRY_WAITS_SECONDS.get(delivery.attempts as usize - 1) {
                Some(wait) => Some(done_at.plus_millis(wait * 1_000)),
                None => {
                    delivery.status = "failed".into();
                    None
                }
            }
        }
    };
    tracing::info!(
        delivery = %delivery.id,
        status = %delivery.status,
        attempts = delivery.attempts,
        "postback call"
    );
    let mut tx = app.store.write().await?;
    tx.update_postback_delivery(&delivery).await?;
    match retry_at {
        Some(at) => {
            tx.retry_job(
                job.id,
                delivery.last_error.as_deref().unwrap_or("failed"),
                at,
            )
            .await?
        }
        None => tx.finish_job(job.id, done_at).await?,
    }
    tx.commit().await?;
    Ok(true)
}

/// Calls `url` with GET: resolves its host, refuses if any address is forbidden, connects
/// only to a checked address, follows no redirect. A 2xx is delivered.
async fn send(app: &App, url: &str) -> Result<i64, Failure> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|error| Failure::Final(format!("not a URL: {error}"), None))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| Failure::Final("no host".into(), None))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| Failure::Final("no port".into(), None))?;
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| Failure::Retry("the host did not resolve in time".into(), None))?
            .map_err(|_| Failure::Retry("the host does not resolve".into(), None))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(Failure::Retry("the host has no address".into(), None));
    }
    // The message names no address: partners read it, and must not learn internal ones.
    if addresses.iter().any(|a| !app.postbacks.allows(a.ip())) {
        return Err(Failure::Final(
            "the host resolves to a loopback, private or otherwise internal address: postbacks never go there".into(),
            None,
        ));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would resolve the host itself, past the check.
        .no_proxy()
        .timeout(TIMEOUT)
        // Connect only to the addresses just checked: a second lookup cannot swap in another.
        .resolve_to_addrs(&host, &addresses)
        .user_agent("Tributary-Postback/1")
        .build()
        .map_err(|error| Failure::Retry(format!("client: {error}"), None))?;
    let response = client
        .get(parsed)
        .send()
        .await
        .map_err(|error| Failure::Retry(error.without_url().to_string(), None))?;
    let status = i64::from(response.status().as_u16());
    if response.status().is_success() {
        Ok(status)
    } else if response.status().is_server_error() || status == 429 || status == 408 {
        Err(Failure::Retry(format!("answered {status}"), Some(status)))
    } else {
        Err(Failure::Final(format!("answered {status}"), Some(status)))
    }
}
