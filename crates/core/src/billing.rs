//! Billing providers' webhooks (issue 5), read into one provider-neutral shape: what happened
//! to whose money. Pure: a verified body goes in, a [`BillingFact`] comes out; the app turns
//! facts into Tributary events (with lookups a fact may need, such as the customer of a
//! disputed charge) and ingests them under the provider event's id, so each is processed
//! exactly once. The mapping rules are in `docs/BILLING.md`.

pub mod chargebee;
pub mod paddle;
pub mod stripe;

use crate::{Currency, Money, Timestamp};
use serde_json::Value;

/// One provider event, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The provider's event id (`evt_...`): the idempotency key of everything it causes.
    pub id: String,
    /// The provider's event type (`invoice.paid`).
    pub kind: String,
    /// When the provider says it happened.
    pub occurred_at: Timestamp,
    pub fact: BillingFact,
}

/// What a provider event means for commissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingFact {
    /// A checkout completed. It carries the click id (Stripe's `client_reference_id` or the
    /// `tributary_click_id` metadata) and a promotion code, which bind the customer; a
    /// one-off payment checkout is also the sale.
    Checkout {
        customer: String,
        click_id: Option<String>,
        coupon: Option<String>,
        country: Option<String>,
        /// For a one-off payment: the sale, keyed by its payment.
        sale: Option<Payment>,
    },
    /// An invoice was paid: the first of a subscription (a sale) or a later one (a renewal).
    Paid {
        customer: String,
        payment: Payment,
        renewal: bool,
        /// The charge and payment intent that paid it, so a later dispute finds it.
        charge: Option<String>,
        payment_intent: Option<String>,
    },
    /// A subscription's recurring amount grew by `delta` (per billing period).
    Expanded { customer: String, delta: Money },
    /// A subscription ended.
    Churned { customer: String },
    /// A charge's refunds now total `refunded` (cumulative and with tax, as the provider
    /// reports it) of the `charged` amount.
    Refunded {
        customer: Option<String>,
        /// The invoice or payment the charge paid: the refunded sale's key.
        invoice: String,
        /// The charge's payment intent, the other key its payment may be recorded under.
        payment_intent: Option<String>,
        charge: String,
        refunded: Money,
        charged: Money,
    },
    /// A charge was disputed; the customer and sale are found through the charge.
    Disputed {
        charge: String,
        payment_intent: Option<String>,
        amount: Money,
    },
    /// A refund or chargeback the provider reports on its own, net of tax (Paddle's approved
    /// adjustments): keyed by the adjustment, dated when it was made.
    Adjusted {
        customer: String,
        invoice: String,
        adjustment: String,
        net: Money,
        chargeback: bool,
        at: Timestamp,
    },
    /// Nothing to record, and why (a zero invoice, an unpaid checkout, an event type we
    /// do not use).
    Ignored(String),
}

/// What a refund or dispute of `refunded` (with tax) of a sale paid `gross` (with tax) takes
/// off the sale's `net`: `refunded × net / gross`, rounded once (half away from zero), and
/// never more than `net`.
pub fn net_of_tax(refunded: Money, net: Money, gross: Money) -> Money {
    if gross.amount_minor <= 0 || refunded.currency != gross.currency {
        return Money::new(refunded.amount_minor.min(net.amount_minor), net.currency);
    }
    let exact = crate::money::round_half_up(
        i128::from(refunded.amount_minor) * i128::from(net.amount_minor),
        i128::from(gross.amount_minor),
    );
    Money::new(exact.min(net.amount_minor), net.currency)
}

/// What a cumulative refund total moving from `before` to `after` (with tax) takes off a sale
/// of `net` paid `gross`: each total converted by [`net_of_tax`] and the difference taken, so
/// partial refunds add up to exactly what the whole refund would.
pub fn refund_increment(before: Money, after: Money, net: Money, gross: Money) -> Money {
    let before = net_of_tax(before, net, gross);
    let after = net_of_tax(after, net, gross);
    Money::new(after.amount_minor - before.amount_minor, net.currency)
}

/// A payment of a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The invoice id, or the payment intent of a one-off payment: refunds find the sale by it.
    pub invoice: String,
    /// What the commission applies to: paid net of tax (discounts are already off).
    pub amount: Money,
    /// What was paid, tax included: refunds and disputes, reported with tax, are taken off
    /// the sale in the ratio `amount / gross`.
    pub gross: Money,
    pub country: Option<String>,
}

/// A non-empty string field of a provider's JSON.
fn text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// A currency code field, in either case, as Tributary supports it.
fn currency(value: &Value) -> Result<Currency, String> {
    let code = value
        .as_str()
        .ok_or_else(|| "no currency".to_string())?
        .to_ascii_uppercase();
    Currency::parse(&code).map_err(|_| format!("currency {code} is not supported"))
}

/// Why a webhook was refused before anything was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the signature header is missing or malformed")]
    MalformedSignature,
    #[error("no signature matches the body with the configured secret")]
    BadSignature,
    #[error("the signature's timestamp is {0} s away from now, beyond the {1} s tolerance")]
    Stale(i64, i64),
    #[error("the body is not a provider event: {0}")]
    BadBody(String),
}
