//! Paddle Billing webhooks: the `Paddle-Signature` check and the events Tributary uses, read
//! into [`BillingFact`]s. Paddle sends amounts as strings of minor units and times as RFC 3339
//! in UTC.

use super::{BillingFact, Payment, ProviderEvent, WebhookError, currency, text};
use crate::period::parse_date;
use crate::{Money, Timestamp};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// How far a signature's timestamp may be from now, either way (Paddle's SDKs allow 5 s;
/// Tributary allows for clock skew and queues, like Stripe's 300 s).
pub const TOLERANCE_SECONDS: i64 = 300;

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(mac)
}

/// Checks `Paddle-Signature: ts=<unix seconds>;h1=<hex HMAC-SHA256 of "ts:body">[;h1=...]`
/// with the notification destination's secret key, as it is.
pub fn verify(secret: &str, header: &str, body: &[u8], now: Timestamp) -> Result<(), WebhookError> {
    let mut timestamp: Option<&str> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(';') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(WebhookError::MalformedSignature);
        };
        match key {
            "ts" => timestamp = Some(value),
            "h1" => {
                signatures.push(super::stripe::hex(value).ok_or(WebhookError::MalformedSignature)?)
            }
            _ => {}
        }
    }
    let (Some(timestamp), false) = (timestamp, signatures.is_empty()) else {
        return Err(WebhookError::MalformedSignature);
    };
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| WebhookError::MalformedSignature)?;
    let matches = |signature: &Vec<u8>| {
        mac(secret, timestamp, body).is_some_and(|mac| mac.verify_slice(signature).is_ok())
    };
    if !signatures.iter().any(matches) {
        return Err(WebhookError::BadSignature);
    }
    let skew = now.millis().div_euclid(1_000) - seconds;
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale(skew, TOLERANCE_SECONDS));
    }
    Ok(())
}

/// The header Paddle would send for `body` at `timestamp` (tests and fake senders).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let Some(mac) = mac(secret, &timestamp.to_string(), body) else {
        return String::new();
    };
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("ts={timestamp};h1={hex}")
}

/// `2024-04-12T10:18:49.621022Z` (UTC, as Paddle writes times) to an instant.
pub fn parse_utc(text: &str) -> Option<Timestamp> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let day = parse_date(date)?;
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, fraction),
        None => (time, ""),
    };
    let mut parts = clock.split(':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    Some(day.plus_millis(((hours * 60 + minutes) * 60 + seconds) * 1_000 + millis))
}

/// Reads a verified body.
pub fn read(body: &[u8]) -> Result<ProviderEvent, WebhookError> {
    let event: Value =
        serde_json::from_slice(body).map_err(|error| WebhookError::BadBody(error.to_string()))?;
    let id = text(&event["event_id"]).ok_or_else(|| WebhookError::BadBody("no event_id".into()))?;
    let kind =
        text(&event["event_type"]).ok_or_else(|| WebhookError::BadBody("no event_type".into()))?;
    let occurred_at = event["occurred_at"]
        .as_str()
        .and_then(parse_utc)
        .ok_or_else(|| WebhookError::BadBody("no occurred_at".into()))?;
    let data = &event["data"];
    if !data.is_object() {
        return Err(WebhookError::BadBody("no data".into()));
    }
    let fact = match kind.as_str() {
        "transaction.completed" => transaction(data),
        "adjustment.created" | "adjustment.updated" => adjustment(data),
        "subscription.canceled" => match text(&data["customer_id"]) {
            Some(customer) => BillingFact::Churned { customer },
            None => BillingFact::Ignored("a subscription without a customer".into()),
        },
        other => BillingFact::Ignored(format!("Tributary does not use {other} events")),
    };
    Ok(ProviderEvent {
        id,
        kind,
        occurred_at,
        fact,
    })
}

/// A Paddle amount: a string of minor units.
fn minor(value: &Value) -> Option<i64> {
    value.as_str()?.parse().ok()
}

fn transaction(transaction: &Value) -> BillingFact {
    let (Some(id), Some(customer)) = (text(&transaction["id"]), text(&transaction["customer_id"]))
    else {
        return BillingFact::Ignored("a transaction without an id or customer".into());
    };
    let currency = match currency(&transaction["currency_code"]) {
        Ok(currency) => currency,
        Err(reason) => return BillingFact::Ignored(reason),
    };
    let totals = &transaction["details"]["totals"];
    let (Some(total), Some(tax)) = (minor(&totals["total"]), minor(&totals["tax"])) else {
        return BillingFact::Ignored("a transaction without totals".into());
    };
    let payment = Payment {
        invoice: id,
        amount: Money::new(total - tax, currency),
        gross: Money::new(total, currency),
        country: None,
    };
    if payment.amount.amount_minor <= 0 {
        return BillingFact::Ignored("nothing paid net of tax (a trial or a credit)".into());
    }
    match text(&transaction["origin"]).as_deref() {
        Some("subscription_recurring" | "subscription_charge" | "subscription_update") => {
            BillingFact::Paid {
                customer,
                payment,
                renewal: true,
                charge: None,
                payment_intent: None,
            }
        }
        // A checkout (web, API): it carries the click and the discount, and is the sale.
        _ => BillingFact::Checkout {
            customer,
            click_id: text(&transaction["custom_data"]["tributary_click_id"]),
            coupon: text(&transaction["discount_id"])
                .or_else(|| text(&transaction["custom_data"]["tributary_coupon"])),
            country: None,
            sale: Some(payment),
        },
    }
}

fn adjustment(adjustment: &Value) -> BillingFact {
    let action = text(&adjustment["action"]).unwrap_or_default();
    let chargeback = match action.as_str() {
        "refund" => false,
        "chargeback" => true,
        other => return BillingFact::Ignored(format!("an adjustment of kind {other:?}")),
    };
    if text(&adjustment["status"]).as_deref() != Some("approved") {
        return BillingFact::Ignored("the adjustment is not approved (yet)".into());
    }
    let (Some(id), Some(customer), Some(invoice)) = (
        text(&adjustment["id"]),
        text(&adjustment["customer_id"]),
        text(&adjustment["transaction_id"]),
    ) else {
        return BillingFact::Ignored("an adjustment without its transaction or customer".into());
    };
    let currency = match currency(&adjustment["currency_code"]) {
        Ok(currency) => currency,
        Err(reason) => return BillingFact::Ignored(reason),
    };
    let totals = &adjustment["totals"];
    let (Some(total), Some(tax)) = (minor(&totals["total"]), minor(&totals["tax"])) else {
        return BillingFact::Ignored("an adjustment without totals".into());
    };
    let Some(at) = adjustment["created_at"].as_str().and_then(parse_utc) else {
        return BillingFact::Ignored("an adjustment without created_at".into());
    };
    BillingFact::Adjusted {
        customer,
        invoice,
        adjustment: id,
        net: Money::new(total - tax, currency),
        chargeback,
        at,
    }
}

#[cfg(test)]
mod tests;
