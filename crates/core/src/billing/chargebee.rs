//! Chargebee webhooks: HTTP basic authentication (Chargebee signs nothing; the endpoint is
//! given a user name and password) and the events Tributary uses, read into [`BillingFact`]s.
//! Amounts are integers of minor units, times are Unix seconds.

use super::{BillingFact, Payment, ProviderEvent, WebhookError, currency, text};
use crate::{Money, Timestamp};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Checks `Authorization: Basic base64(user:password)` against the configured `user:password`,
/// in constant time (both sides are hashed with a fixed key and the digests compared).
pub fn verify(credentials: &str, header: &str) -> Result<(), WebhookError> {
    let encoded = header
        .strip_prefix("Basic ")
        .ok_or(WebhookError::MalformedSignature)?;
    let given = STANDARD
        .decode(encoded.trim())
        .map_err(|_| WebhookError::MalformedSignature)?;
    let digest = |bytes: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"tributary-basic-auth")
            .map_err(|_| WebhookError::BadSignature)?;
        mac.update(bytes);
        Ok::<_, WebhookError>(mac)
    };
    let expected = digest(credentials.as_bytes())?.finalize().into_bytes();
    digest(&given)?
        .verify_slice(&expected)
        .map_err(|_| WebhookError::BadSignature)
}

/// The header a Chargebee endpoint configured with `credentials` receives.
pub fn authorization(credentials: &str) -> String {
    format!("Basic {}", STANDARD.encode(credentials.as_bytes()))
}

/// Reads an authenticated body.
pub fn read(body: &[u8]) -> Result<ProviderEvent, WebhookError> {
    let event: Value =
        serde_json::from_slice(body).map_err(|error| WebhookError::BadBody(error.to_string()))?;
    let id = text(&event["id"]).ok_or_else(|| WebhookError::BadBody("no id".into()))?;
    let kind =
        text(&event["event_type"]).ok_or_else(|| WebhookError::BadBody("no event_type".into()))?;
    let occurred = event["occurred_at"]
        .as_i64()
        .ok_or_else(|| WebhookError::BadBody("no occurred_at".into()))?;
    let content = &event["content"];
    if !content.is_object() {
        return Err(WebhookError::BadBody("no content".into()));
    }
    let fact = match kind.as_str() {
        "payment_succeeded" => payment_succeeded(content),
        "payment_refunded" => refunded(content),
        "subscription_cancelled" => match text(&content["subscription"]["customer_id"]) {
            Some(customer) => BillingFact::Churned { customer },
            None => BillingFact::Ignored("a subscription without a customer".into()),
        },
        other => BillingFact::Ignored(format!("Tributary does not use {other} events")),
    };
    Ok(ProviderEvent {
        id,
        kind,
        occurred_at: Timestamp::from_millis(occurred.saturating_mul(1_000)),
        fact,
    })
}

/// The click id a checkout left on the subscription or customer: `meta_data` or the custom
/// field `cf_tributary_click_id`.
fn click_id(content: &Value) -> Option<String> {
    ["subscription", "customer"].iter().find_map(|owner| {
        text(&content[*owner]["meta_data"]["tributary_click_id"])
            .or_else(|| text(&content[*owner]["cf_tributary_click_id"]))
    })
}

fn payment_succeeded(content: &Value) -> BillingFact {
    let invoice = &content["invoice"];
    let (Some(id), Some(customer)) = (text(&invoice["id"]), text(&invoice["customer_id"])) else {
        return BillingFact::Ignored("a payment without its invoice".into());
    };
    let currency = match currency(&invoice["currency_code"]) {
        Ok(currency) => currency,
        Err(reason) => return BillingFact::Ignored(reason),
    };
    let paid = invoice["amount_paid"].as_i64().unwrap_or(0);
    let tax = invoice["tax"].as_i64().unwrap_or(0);
    let payment = Payment {
        invoice: id,
        amount: Money::new(paid - tax, currency),
        gross: Money::new(paid, currency),
        country: text(&invoice["billing_address"]["country"]),
    };
    if payment.amount.amount_minor <= 0 {
        return BillingFact::Ignored("nothing paid net of tax (a trial or a credit)".into());
    }
    if invoice["first_invoice"].as_bool() == Some(true) {
        let coupon = invoice["discounts"].as_array().and_then(|discounts| {
            discounts
                .iter()
                .find_map(|discount| text(&discount["coupon_id"]))
        });
        return BillingFact::Checkout {
            customer,
            click_id: click_id(content),
            coupon,
            country: payment.country.clone(),
            sale: Some(payment),
        };
    }
    BillingFact::Paid {
        customer,
        payment,
        renewal: true,
        charge: text(&content["transaction"]["id"]),
        payment_intent: None,
    }
}

/// A refund comes with its credit note: the refunded invoice, the amount with and without
/// tax, and a reason (`chargeback` makes it one).
fn refunded(content: &Value) -> BillingFact {
    let note = &content["credit_note"];
    let (Some(id), Some(customer), Some(invoice)) = (
        text(&note["id"]),
        text(&note["customer_id"]),
        text(&note["reference_invoice_id"]),
    ) else {
        return BillingFact::Ignored("a refund without its credit note and invoice".into());
    };
    let currency = match currency(&note["currency_code"]) {
        Ok(currency) => currency,
        Err(reason) => return BillingFact::Ignored(reason),
    };
    let total = note["total"].as_i64().unwrap_or(0);
    let tax: i64 = note["taxes"]
        .as_array()
        .map(|taxes| taxes.iter().filter_map(|t| t["amount"].as_i64()).sum())
        .unwrap_or(0);
    let at = note["refunded_at"]
        .as_i64()
        .or_else(|| note["date"].as_i64())
        .map(|seconds| Timestamp::from_millis(seconds.saturating_mul(1_000)));
    let Some(at) = at else {
        return BillingFact::Ignored("a credit note without a date".into());
    };
    BillingFact::Adjusted {
        customer,
        invoice,
        adjustment: id,
        net: Money::new(total - tax, currency),
        chargeback: text(&note["reason_code"]).as_deref() == Some("chargeback"),
        at,
    }
}

#[cfg(test)]
mod tests;
