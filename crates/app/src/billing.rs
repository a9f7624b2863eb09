//! Billing webhooks (issue 5; docs/BILLING.md), Stripe, Paddle and Chargebee: a provider's event is
//! verified, stored raw
//! once per event id, and turned into Tributary events ingested in the same transaction under
//! keys derived from the event id, so it is processed exactly once. A refund or dispute whose
//! payment is not known yet is parked and processed when the payment is reported, so
//! deliveries in any order end in the same ledger.

use crate::ingest::{self, Submission, format_time};
use crate::{App, AppError, AppResult};
use serde_json::{Value, json};
use tributary_core::billing::{
    self, BillingFact, Payment, ProviderEvent, net_of_tax, refund_increment,
};
use tributary_core::*;
use tributary_store::{ProviderEventRecord, ProviderPayment, Tx};

/// A billing provider Tributary receives webhooks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Stripe,
    Paddle,
    Chargebee,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::Paddle => "paddle",
            Provider::Chargebee => "chargebee",
        }
    }

    /// The header its signature comes in.
    pub fn signature_header(self) -> &'static str {
        match self {
            Provider::Stripe => "Stripe-Signature",
            Provider::Paddle => "Paddle-Signature",
            // Chargebee signs nothing: its endpoint is given basic-auth credentials.
            Provider::Chargebee => "Authorization",
        }
    }

    fn secret_key(self, workspace_id: WorkspaceId) -> String {
        format!("{}_signing_secret:{workspace_id}", self.name())
    }

    fn verify(
        self,
        secret: &str,
        header: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), billing::WebhookError> {
        match self {
            Provider::Stripe => billing::stripe::verify(secret, header, body, now),
            Provider::Paddle => billing::paddle::verify(secret, header, body, now),
            Provider::Chargebee => billing::chargebee::verify(secret, header),
        }
    }

    fn read(self, body: &[u8]) -> Result<ProviderEvent, billing::WebhookError> {
        match self {
            Provider::Stripe => billing::stripe::read(body),
            Provider::Paddle => billing::paddle::read(body),
            Provider::Chargebee => billing::chargebee::read(body),
        }
    }
}

/// Sets the workspace's signing secret for a provider (Stripe's endpoint secret `whsec_...`,
/// Paddle's notification destination secret key). It is kept as it is in the settings table:
/// verifying a signature needs the secret itself.
pub async fn set_secret(
    app: &App,
    workspace_id: WorkspaceId,
    provider: Provider,
    secret: &str,
) -> AppResult<()> {
    let secret = secret.trim();
    let shaped = match provider {
        Provider::Stripe => secret.starts_with("whsec_"),
        Provider::Paddle => !secret.chars().any(char::is_whitespace),
        Provider::Chargebee => secret
            .split_once(':')
            .is_some_and(|(user, password)| !user.is_empty() && password.len() >= 12),
    };
    if !shaped || secret.len() < 16 || secret.len() > 200 {
        return Err(AppError::invalid(
            "signing_secret",
            match provider {
                Provider::Stripe => {
                    "the endpoint's signing secret from Stripe's dashboard, starting with whsec_"
                }
                Provider::Paddle => {
                    "the notification destination's secret key from Paddle (16 to 200 characters)"
                }
                Provider::Chargebee => {
                    "user:password, the basic authentication the Chargebee webhook is given (a password of 12 characters or more)"
                }
            },
        ));
    }
    let mut tx = app.store.write().await?;
    tx.put_setting(&provider.secret_key(workspace_id), secret)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub event_id: String,
    /// `processed`, `ignored`, `parked`, or `duplicate` (seen before: nothing done).
    pub status: String,
    pub note: String,
}

/// Receives one delivery from `provider` for a workspace.
pub async fn receive(
    app: &App,
    workspace_id: WorkspaceId,
    provider: Provider,
    signature: Option<&str>,
    body: &[u8],
) -> AppResult<Received> {
    let now = app.now();
    let name = provider.name();
    let header = provider.signature_header();
    let secret = app
        .store
        .read()
        .await?
        .setting(&provider.secret_key(workspace_id))
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))?;
    let signature = signature
        .ok_or_else(|| AppError::invalid(header, format!("the {header} header is missing")))?;
    provider
        .verify(&secret, signature, body, now)
        .map_err(|error| AppError::invalid(header, error.to_string()))?;
    let event = provider
        .read(body)
        .map_err(|error| AppError::invalid("body", error.to_string()))?;
    let raw = String::from_utf8(body.to_vec())
        .map_err(|_| AppError::invalid("body", "the body is not UTF-8"))?;
    let mut tx = app.store.write().await?;
    tx.lock_key(
        "provider-event",
        &format!("{workspace_id}:{name}:{}", event.id),
    )
    .await?;
    if tx
        .provider_event(workspace_id, name, &event.id)
        .await?
        .is_some()
    {
        return Ok(Received {
            event_id: event.id,
            status: "duplicate".into(),
            note: "this event was received before; nothing was done again".into(),
        });
    }
    let outcome = apply(app, tx.as_mut(), workspace_id, provider, &event, now).await?;
    tx.insert_provider_event(&ProviderEventRecord {
        workspace_id,
        provider: name.into(),
        event_id: event.id.clone(),
        kind: event.kind.clone(),
        occurred_at: event.occurred_at,
        received_at: now,
        body: raw,
        status: outcome.status.into(),
        note: outcome.note.clone(),
        waits_for: outcome.waits_for.clone(),
    })
    .await?;
    // A payment reported now may be what parked refunds and disputes wait for.
    for key in outcome.payment_keys {
        for parked in tx.parked_provider_events(workspace_id, name, &key).await? {
            let Ok(earlier) = provider.read(parked.body.as_bytes()) else {
                continue;
            };
            let again = apply(app, tx.as_mut(), workspace_id, provider, &earlier, now).await?;
            if again.status != "parked" {
                tx.set_provider_event_status(
                    workspace_id,
                    name,
                    &parked.event_id,
                    again.status,
                    &again.note,
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(Received {
        event_id: event.id,
        status: outcome.status.into(),
        note: outcome.note,
    })
}

struct Outcome {
    status: &'static str,
    note: String,
    waits_for: Option<String>,
    /// Keys of a payment this event reported (invoice, charge, payment intent).
    payment_keys: Vec<String>,
}

impl Outcome {
    /// Processed when the derived event was recorded, ignored (with the reason) when not.
    fn of((recorded, note): (bool, String)) -> Outcome {
        if recorded {
            Outcome::done(note)
        } else {
            Outcome::ignored(note)
        }
    }

    fn done(note: impl Into<String>) -> Outcome {
        Outcome {
            status: "processed",
            note: note.into(),
            waits_for: None,
            payment_keys: Vec::new(),
        }
    }

    fn ignored(note: impl Into<String>) -> Outcome {
        Outcome {
            status: "ignored",
            note: note.into(),
            waits_for: None,
            payment_keys: Vec::new(),
        }
    }

    fn parked(key: &str, what: &str) -> Outcome {
        Outcome {
            status: "parked",
            note: format!("{what} waits for its payment {key} to be reported"),
            waits_for: Some(key.to_string()),
            payment_keys: Vec::new(),
        }
    }
}

/// Turns one event into Tributary events inside `tx`.
async fn apply(
    app: &App,
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    provider: Provider,
    event: &ProviderEvent,
    now: Timestamp,
) -> AppResult<Outcome> {
    let name = provider.name();
    let at = format_time(event.occurred_at);
    let key = |suffix: &str| format!("{name}:{}:{suffix}", event.id);
    match &event.fact {
        BillingFact::Ignored(reason) => Ok(Outcome::ignored(reason.clone())),
        BillingFact::Checkout {
            customer,
            click_id,
            coupon,
            country,
            sale,
        } => {
            let mut lead = json!({"type": "lead", "customer_id": customer, "occurred_at": at});
            if let Some(click_id) = click_id {
                lead["click_id"] = json!(click_id);
            }
            if let Some(coupon) = coupon {
                lead["coupon"] = json!(coupon);
            }
            if let Some(country) = country {
                lead["metadata"] = json!({"country": country});
            }
            let (lead_recorded, lead_note) =
                submit(app, tx, workspace_id, &key("lead"), &lead, now).await?;
            let mut notes = vec![lead_note];
            let mut recorded = lead_recorded;
            let mut keys = Vec::new();
            if let Some(sale) = sale {
                lock_payments(tx, workspace_id, name, &[&sale.invoice]).await?;
                let (sold, note) = record_sale(
                    app,
                    tx,
                    workspace_id,
                    provider,
                    event,
                    customer,
                    sale,
                    false,
                    now,
                )
                .await?;
                notes.push(note);
                recorded |= sold;
                keys.push(sale.invoice.clone());
            }
            Ok(Outcome {
                payment_keys: keys,
                ..Outcome::of((recorded, notes.join("; ")))
            })
        }
        BillingFact::Paid {
            customer,
            payment,
            renewal,
            charge,
            payment_intent,
        } => {
            let mut all: Vec<&str> = vec![payment.invoice.as_str()];
            all.extend(
                [charge, payment_intent]
                    .into_iter()
                    .flatten()
                    .map(String::as_str),
            );
            lock_payments(tx, workspace_id, name, &all).await?;
            let (sold, note) = record_sale(
                app,
                tx,
                workspace_id,
                provider,
                event,
                customer,
                payment,
                *renewal,
                now,
            )
            .await?;
            let mut keys = vec![payment.invoice.clone()];
            for other in [charge, payment_intent].into_iter().flatten() {
                tx.insert_provider_payment(&provider_payment(
                    workspace_id,
                    provider,
                    other,
                    customer,
                    payment,
                ))
                .await?;
                keys.push(other.clone());
            }
            Ok(Outcome {
                payment_keys: keys,
                ..Outcome::of((sold, note))
            })
        }
        BillingFact::Expanded { customer, delta } => {
            let body = json!({"type": "milestone", "milestone": "expanded", "customer_id": customer,
                "amount_minor": delta.amount_minor, "currency": delta.currency.code(), "occurred_at": at});
            Ok(Outcome::of(
                submit(app, tx, workspace_id, &key("expanded"), &body, now).await?,
            ))
        }
        BillingFact::Churned { customer } => {
            let body = json!({"type": "milestone", "milestone": "churned", "customer_id": customer,
                "occurred_at": at});
            Ok(Outcome::of(
                submit(app, tx, workspace_id, &key("churned"), &body, now).await?,
            ))
        }
        BillingFact::Refunded {
            invoice,
            payment_intent,
            refunded,
            ..
        } => {
            let mut candidates: Vec<&str> = vec![invoice.as_str()];
            candidates.extend(payment_intent.as_deref());
            lock_payments(tx, workspace_id, name, &candidates).await?;
            let Some((found_under, payment)) =
                find_payment(tx, workspace_id, name, &candidates).await?
            else {
                // Parked under the payment intent when there is one: every payment records it.
                let waits = payment_intent.as_deref().unwrap_or(invoice);
                return Ok(Outcome::parked(waits, "the refund"));
            };
            if refunded.amount_minor <= payment.refunded_minor {
                return Ok(Outcome::ignored(format!(
                    "refunds of {} up to {} were recorded already",
                    payment.invoice,
                    Money::new(payment.refunded_minor, refunded.currency)
                )));
            }
            let gross = Money::new(payment.gross_minor, payment.net.currency);
            let amount = refund_increment(
                Money::new(payment.refunded_minor, refunded.currency),
                *refunded,
                payment.net,
                gross,
            )
            .amount_minor;
            if amount <= 0 {
                tx.set_provider_refunded(workspace_id, name, &found_under, refunded.amount_minor)
                    .await?;
                return Ok(Outcome::ignored("the refund rounds to nothing net of tax"));
            }
            let body = json!({"type": "refund", "customer_id": payment.customer,
                "invoice_id": payment.invoice, "amount_minor": amount,
                "currency": payment.net.currency.code(), "occurred_at": at});
            let (recorded, note) =
                submit(app, tx, workspace_id, &key("refund"), &body, now).await?;
            // The running total moves only with what was recorded.
            if recorded {
                tx.set_provider_refunded(workspace_id, name, &found_under, refunded.amount_minor)
                    .await?;
            }
            Ok(Outcome::of((recorded, note)))
        }
        BillingFact::Adjusted {
            customer,
            invoice,
            adjustment,
            net,
            chargeback,
            at,
        } => {
            let kind = if *chargeback { "chargeback" } else { "refund" };
            let body = json!({"type": kind, "customer_id": customer, "invoice_id": invoice,
                "amount_minor": net.amount_minor, "currency": net.currency.code(),
                "occurred_at": format_time(*at)});
            // Keyed by the adjustment: its created and updated events record it once.
            let key = format!("{name}:{adjustment}:{kind}");
            Ok(Outcome::of(
                submit(app, tx, workspace_id, &key, &body, now).await?,
            ))
        }
        BillingFact::Disputed {
            charge,
            payment_intent,
            amount,
        } => {
            let mut candidates: Vec<&str> = vec![charge.as_str()];
            candidates.extend(payment_intent.as_deref());
            lock_payments(tx, workspace_id, name, &candidates).await?;
            let Some((_, payment)) = find_payment(tx, workspace_id, name, &candidates).await?
            else {
                // Parked under the payment intent when there is one: every payment records it.
                let waits = payment_intent.as_deref().unwrap_or(charge);
                return Ok(Outcome::parked(waits, "the dispute"));
            };
            let gross = Money::new(payment.gross_minor, payment.net.currency);
            let net = net_of_tax(*amount, payment.net, gross);
            let body = json!({"type": "chargeback", "customer_id": payment.customer,
                "invoice_id": payment.invoice, "amount_minor": net.amount_minor,
                "currency": net.currency.code(), "occurred_at": at});
            Ok(Outcome::of(
                submit(app, tx, workspace_id, &key("chargeback"), &body, now).await?,
            ))
        }
    }
}

/// Takes the locks of a payment's keys (sorted, so writers never wait in a cycle): events
/// about one payment, and a payment with the refunds parked on it, take turns.
async fn lock_payments(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    provider: &str,
    keys: &[&str],
) -> AppResult<()> {
    let mut names: Vec<String> = keys
        .iter()
        .map(|key| format!("{workspace_id}:{provider}:{key}"))
        .collect();
    names.sort();
    names.dedup();
    let scoped: Vec<(&str, &str)> = names
        .iter()
        .map(|name| ("provider-payment", name.as_str()))
        .collect();
    tx.lock_keys(&scoped).await?;
    Ok(())
}

/// The first of `keys` a payment was recorded under, with the payment.
async fn find_payment(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    provider: &str,
    keys: &[&str],
) -> AppResult<Option<(String, ProviderPayment)>> {
    for key in keys {
        if let Some(payment) = tx.provider_payment(workspace_id, provider, key).await? {
            return Ok(Some((key.to_string(), payment)));
        }
    }
    Ok(None)
}

fn provider_payment(
    workspace_id: WorkspaceId,
    provider: Provider,
    key: &str,
    customer: &str,
    payment: &Payment,
) -> ProviderPayment {
    ProviderPayment {
        workspace_id,
        provider: provider.name().into(),
        payment_key: key.to_string(),
        customer: customer.to_string(),
        invoice: payment.invoice.clone(),
        net: payment.amount,
        gross_minor: payment.gross.amount_minor,
        refunded_minor: 0,
    }
}

#[allow(clippy::too_many_arguments)]
async fn record_sale(
    app: &App,
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    provider: Provider,
    event: &ProviderEvent,
    customer: &str,
    payment: &Payment,
    renewal: bool,
    now: Timestamp,
) -> AppResult<(bool, String)> {
    tx.insert_provider_payment(&provider_payment(
        workspace_id,
        provider,
        &payment.invoice,
        customer,
        payment,
    ))
    .await?;
    let kind = if renewal { "renewal" } else { "sale" };
    let mut body = json!({"type": kind, "customer_id": customer, "invoice_id": payment.invoice,
        "amount_minor": payment.amount.amount_minor, "currency": payment.amount.currency.code(),
        "occurred_at": format_time(event.occurred_at)});
    if let Some(country) = &payment.country {
        body["metadata"] = json!({"country": country});
    }
    submit(
        app,
        tx,
        workspace_id,
        &format!("{}:{}:{kind}", provider.name(), event.id),
        &body,
        now,
    )
    .await
}

/// Ingests one derived event in `tx`, inside a savepoint: a derived event the API would
/// refuse (a malformed field, a click id of another workspace, a key reused with another
/// body) is rolled back and reported, never retried, so no delivery can block its endpoint.
/// A click id that is refused is dropped and the event recorded without it. Returns whether
/// the event was recorded, and a note.
async fn submit(
    app: &App,
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    idempotency_key: &str,
    body: &Value,
    now: Timestamp,
) -> AppResult<(bool, String)> {
    let what = body["type"].as_str().unwrap_or("event").to_string();
    let mut body = body.clone();
    let mut notes = Vec::new();
    loop {
        let has_click = body.get("click_id").is_some_and(|v| !v.is_null());
        let request = match ingest::parse_event(&body, now) {
            Ok(request) => request,
            Err(AppError::Invalid { message, .. }) => {
                return Ok((false, format!("{what} not recorded: {message}")));
            }
            Err(other) => return Err(other),
        };
        let clicks = match ingest::verified_clicks(app, &request) {
            Ok(clicks) => clicks,
            Err(_) => {
                notes.push("its click id is not one of ours, so it was left out".to_string());
                if let Some(object) = body.as_object_mut() {
                    object.remove("click_id");
                    object.remove("click_ids");
                }
                continue;
            }
        };
        let submission = Submission {
            workspace_id,
            idempotency_key: idempotency_key.to_string(),
            request,
            clicks,
        };
        tx.savepoint().await?;
        match ingest::ingest_in(tx, &submission, now).await {
            Ok(_) => {
                tx.release_savepoint().await?;
                notes.insert(0, format!("{what} recorded"));
                return Ok((true, notes.join(", ")));
            }
            Err(error @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
                tx.rollback_to_savepoint().await?;
                if has_click {
                    notes.push(format!(
                        "its click id was refused ({error}), so it was left out"
                    ));
                    if let Some(object) = body.as_object_mut() {
                        object.remove("click_id");
                    }
                    continue;
                }
                return Ok((false, format!("{what} not recorded: {error}")));
            }
            Err(other) => {
                tx.rollback_to_savepoint().await?;
                return Err(other);
            }
        }
    }
}
