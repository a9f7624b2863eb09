//! Stripe webhooks: the `Stripe-Signature` check and the events Tributary uses, read into
//! [`BillingFact`]s. Field names follow Stripe's API reference; where API versions differ
//! (an invoice's tax and charge), both shapes are read.

use super::{BillingFact, Payment, ProviderEvent, WebhookError, currency, text};
use crate::{Money, Timestamp};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// How far a signature's timestamp may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Checks `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">[,v1=...]`
/// with the endpoint's signing secret (`whsec_...`, used as the key as it is). Any `v1`
/// may match (Stripe sends several while a secret is rolled); `v0` is ignored.
pub fn verify(secret: &str, header: &str, body: &[u8], now: Timestamp) -> Result<(), WebhookError> {
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(WebhookError::MalformedSignature);
        };
        match key {
            "t" => {
                timestamp = Some(
                    value
                        .parse()
                        .map_err(|_| WebhookError::MalformedSignature)?,
                )
            }
            "v1" => signatures.push(hex(value).ok_or(WebhookError::MalformedSignature)?),
            _ => {}
        }
    }
    let (Some(timestamp), false) = (timestamp, signatures.is_empty()) else {
        return Err(WebhookError::MalformedSignature);
    };
    let signed = |signature: &[u8]| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Constant time.
        mac.verify_slice(signature).is_ok()
    };
    if !signatures.iter().any(|signature| signed(signature)) {
        return Err(WebhookError::BadSignature);
    }
    let skew = now.millis().div_euclid(1_000) - timestamp;
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale(skew, TOLERANCE_SECONDS));
    }
    Ok(())
}

/// The header Stripe would send for `body` at `timestamp` (tests and fake senders).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

pub(crate) fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Reads a verified body.
pub fn read(body: &[u8]) -> Result<ProviderEvent, WebhookError> {
    let event: Value =
        serde_json::from_slice(body).map_err(|error| WebhookError::BadBody(error.to_string()))?;
    let id = text(&event["id"]).ok_or_else(|| WebhookError::BadBody("no id".into()))?;
    let kind = text(&event["type"]).ok_or_else(|| WebhookError::BadBody("no type".into()))?;
    let created = event["created"]
        .as_i64()
        .ok_or_else(|| WebhookError::BadBody("no created".into()))?;
    let object = &event["data"]["object"];
    if !object.is_object() {
        return Err(WebhookError::BadBody("no data.object".into()));
    }
    let fact = match kind.as_str() {
        "checkout.session.completed" => checkout(object),
        "invoice.paid" => invoice_paid(object),
        "customer.subscription.updated" => {
            subscription_updated(object, &event["data"]["previous_attributes"])
        }
        "customer.subscription.deleted" => match text(&object["customer"]) {
            Some(customer) => BillingFact::Churned { customer },
            None => BillingFact::Ignored("a subscription without a customer".into()),
        },
        "charge.refunded" => charge_refunded(object),
        "charge.dispute.created" => dispute(object),
        other => BillingFact::Ignored(format!("Tributary does not use {other} events")),
    };
    Ok(ProviderEvent {
        id,
        kind,
        occurred_at: Timestamp::from_millis(created.saturating_mul(1_000)),
        fact,
    })
}

/// A string field, or the `id` of an expanded object.
fn id_of(value: &Value) -> Option<String> {
    text(value).or_else(|| text(&value["id"]))
}

fn money(minor: i64, code: &Value) -> Result<Money, String> {
    currency(code).map(|currency| Money::new(minor, currency))
}

fn checkout(session: &Value) -> BillingFact {
    let country = text(&session["customer_details"]["address"]["country"]);
    // Guest checkouts of one-off payments create no Stripe customer: the email stands in.
    let Some(customer) = id_of(&session["customer"]).or_else(|| {
        text(&session["customer_details"]["email"]).map(|email| email.to_ascii_lowercase())
    }) else {
        return BillingFact::Ignored("a checkout without a customer or an email".into());
    };
    let click_id = text(&session["client_reference_id"])
        .or_else(|| text(&session["metadata"]["tributary_click_id"]));
    let coupon = session["discounts"]
        .as_array()
        .and_then(|discounts| {
            discounts
                .iter()
                .find_map(|d| id_of(&d["promotion_code"]).or_else(|| id_of(&d["coupon"])))
        })
        .or_else(|| text(&session["metadata"]["tributary_coupon"]));
    let paid = text(&session["payment_status"]).as_deref() == Some("paid");
    let sale = if text(&session["mode"]).as_deref() == Some("payment") && paid {
        let total = session["amount_total"].as_i64().unwrap_or(0);
        let tax = session["total_details"]["amount_tax"].as_i64().unwrap_or(0);
        let invoice = id_of(&session["payment_intent"]).or_else(|| text(&session["id"]));
        match (
            invoice,
            money(total - tax, &session["currency"]),
            money(total, &session["currency"]),
        ) {
            (Some(invoice), Ok(amount), Ok(gross)) if amount.amount_minor > 0 => Some(Payment {
                invoice,
                amount,
                gross,
                country: country.clone(),
            }),
            (_, Err(reason), _) => return BillingFact::Ignored(reason),
            _ => None,
        }
    } else {
        None
    };
    BillingFact::Checkout {
        customer,
        click_id,
        coupon,
        country,
        sale,
    }
}

/// Tax on an invoice: `tax` (API versions before 2025), else the sum of `total_taxes` or
/// `total_tax_amounts`.
fn invoice_tax(invoice: &Value) -> i64 {
    if let Some(tax) = invoice["tax"].as_i64() {
        return tax;
    }
    ["total_taxes", "total_tax_amounts"]
        .iter()
        .find_map(|field| invoice[*field].as_array())
        .map(|taxes| taxes.iter().filter_map(|t| t["amount"].as_i64()).sum())
        .unwrap_or(0)
}

fn invoice_paid(invoice: &Value) -> BillingFact {
    let (Some(customer), Some(id)) = (id_of(&invoice["customer"]), text(&invoice["id"])) else {
        return BillingFact::Ignored("an invoice without a customer or id".into());
    };
    let paid = invoice["amount_paid"].as_i64().unwrap_or(0);
    let (amount, gross) = match (
        money(paid - invoice_tax(invoice), &invoice["currency"]),
        money(paid, &invoice["currency"]),
    ) {
        (Ok(amount), Ok(gross)) => (amount, gross),
        (Err(reason), _) | (_, Err(reason)) => return BillingFact::Ignored(reason),
    };
    if amount.amount_minor <= 0 {
        return BillingFact::Ignored("nothing paid net of tax (a trial or a credit)".into());
    }
    let renewal = matches!(
        text(&invoice["billing_reason"]).as_deref(),
        Some("subscription_cycle" | "subscription_update" | "subscription_threshold")
    );
    // The paying charge: `charge` before the 2025 API versions, `payments` after.
    let payment = &invoice["payments"]["data"][0]["payment"];
    BillingFact::Paid {
        customer,
        payment: Payment {
            invoice: id,
            amount,
            gross,
            country: text(&invoice["customer_address"]["country"]),
        },
        renewal,
        charge: id_of(&invoice["charge"]).or_else(|| id_of(&payment["charge"])),
        payment_intent: id_of(&invoice["payment_intent"])
            .or_else(|| id_of(&payment["payment_intent"])),
    }
}

/// A subscription's amount per billing period: each item's `price.unit_amount × quantity`
/// (or the legacy single `plan` and `quantity`).
fn recurring_amount(subscription: &Value) -> Option<i64> {
    if let Some(items) = subscription["items"]["data"].as_array() {
        return Some(
            items
                .iter()
                .map(|item| {
                    let unit = item["price"]["unit_amount"]
                        .as_i64()
                        .or_else(|| item["plan"]["amount"].as_i64())
                        .unwrap_or(0);
                    unit.saturating_mul(item["quantity"].as_i64().unwrap_or(1))
                })
                .sum(),
        );
    }
    let unit = subscription["plan"]["amount"].as_i64()?;
    Some(unit.saturating_mul(subscription["quantity"].as_i64().unwrap_or(1)))
}

fn subscription_updated(subscription: &Value, previous: &Value) -> BillingFact {
    let Some(customer) = id_of(&subscription["customer"]) else {
        return BillingFact::Ignored("a subscription without a customer".into());
    };
    let changed = ["items", "plan", "quantity"]
        .iter()
        .any(|field| !previous[*field].is_null());
    if !changed {
        return BillingFact::Ignored("the subscription's amount did not change".into());
    }
    // The previous attributes hold only what changed: fill the rest from the current object.
    let mut before = subscription.clone();
    if let (Some(before), Some(changes)) = (before.as_object_mut(), previous.as_object()) {
        for (key, value) in changes {
            before.insert(key.clone(), value.clone());
        }
    }
    let (Some(now), Some(then)) = (recurring_amount(subscription), recurring_amount(&before))
    else {
        return BillingFact::Ignored("the subscription's amount is unknown".into());
    };
    let currency = if subscription["currency"].is_null() {
        &subscription["items"]["data"][0]["price"]["currency"]
    } else {
        &subscription["currency"]
    };
    match money(now - then, currency) {
        Ok(delta) if delta.amount_minor > 0 => BillingFact::Expanded { customer, delta },
        Ok(_) => BillingFact::Ignored("the subscription did not grow".into()),
        Err(reason) => BillingFact::Ignored(reason),
    }
}

fn charge_refunded(charge: &Value) -> BillingFact {
    let Some(id) = text(&charge["id"]) else {
        return BillingFact::Ignored("a charge without an id".into());
    };
    let Some(invoice) = id_of(&charge["invoice"]).or_else(|| id_of(&charge["payment_intent"]))
    else {
        return BillingFact::Ignored("a charge of neither an invoice nor a payment".into());
    };
    match (
        money(
            charge["amount_refunded"].as_i64().unwrap_or(0),
            &charge["currency"],
        ),
        money(charge["amount"].as_i64().unwrap_or(0), &charge["currency"]),
    ) {
        (Ok(refunded), Ok(charged)) if refunded.amount_minor > 0 => BillingFact::Refunded {
            customer: id_of(&charge["customer"]),
            invoice,
            payment_intent: id_of(&charge["payment_intent"]),
            charge: id,
            refunded,
            charged,
        },
        (Ok(_), Ok(_)) => BillingFact::Ignored("nothing refunded".into()),
        (Err(reason), _) | (_, Err(reason)) => BillingFact::Ignored(reason),
    }
}

fn dispute(dispute: &Value) -> BillingFact {
    let Some(charge) = id_of(&dispute["charge"]) else {
        return BillingFact::Ignored("a dispute without a charge".into());
    };
    // An inquiry (`warning_needs_response`, ...) moves no money: only a chargeback claws back.
    if text(&dispute["status"]).is_some_and(|status| status.starts_with("warning_")) {
        return BillingFact::Ignored("an inquiry, not a chargeback".into());
    }
    match money(
        dispute["amount"].as_i64().unwrap_or(0),
        &dispute["currency"],
    ) {
        Ok(amount) => BillingFact::Disputed {
            charge,
            payment_intent: id_of(&dispute["payment_intent"]),
            amount,
        },
        Err(reason) => BillingFact::Ignored(reason),
    }
}

#[cfg(test)]
mod tests;
