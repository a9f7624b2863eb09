//! Stripe's documented payload shapes (written for these tests after Stripe's API reference:
//! event envelope, checkout session, invoice in the 2024 and 2025 API versions, subscription
//! with previous attributes, charge, dispute) read into facts.

use super::*;
use crate::Currency;
use crate::billing::{net_of_tax, refund_increment};

const SECRET: &str = "whsec_test_secret";

fn fixture(name: &str) -> &'static str {
    match name {
        "checkout_subscription" => include_str!("fixtures/checkout_subscription.json"),
        "checkout_payment" => include_str!("fixtures/checkout_payment.json"),
        "invoice_paid_first" => include_str!("fixtures/invoice_paid_first.json"),
        "invoice_paid_cycle" => include_str!("fixtures/invoice_paid_cycle.json"),
        "subscription_updated" => include_str!("fixtures/subscription_updated.json"),
        "subscription_deleted" => include_str!("fixtures/subscription_deleted.json"),
        "charge_refunded" => include_str!("fixtures/charge_refunded.json"),
        "dispute_created" => include_str!("fixtures/dispute_created.json"),
        other => panic!("no fixture {other}"),
    }
}

fn fact(name: &str) -> BillingFact {
    read(fixture(name).as_bytes()).expect("a Stripe event").fact
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

#[test]
fn a_signed_body_verifies_within_the_tolerance() {
    let body = fixture("invoice_paid_first").as_bytes();
    let now = Timestamp::from_millis(1_767_261_700_000);
    let header = sign(SECRET, 1_767_261_650, body);
    assert_eq!(verify(SECRET, &header, body, now), Ok(()));
    // A second v1 (a secret being rolled) and a v0 are fine.
    let rolled = format!("{header},v1={},v0=abcd", "00".repeat(32));
    assert_eq!(verify(SECRET, &rolled, body, now), Ok(()));
}

#[test]
fn tampered_stale_and_malformed_signatures_are_refused() {
    let body = fixture("invoice_paid_first").as_bytes();
    let now = Timestamp::from_millis(1_767_261_700_000);
    let header = sign(SECRET, 1_767_261_650, body);
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert_eq!(
        verify(SECRET, &header, &tampered, now),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verify("whsec_other", &header, body, now),
        Err(WebhookError::BadSignature)
    );
    let old = sign(SECRET, 1_767_261_700 - 301, body);
    assert_eq!(
        verify(SECRET, &old, body, now),
        Err(WebhookError::Stale(301, TOLERANCE_SECONDS))
    );
    let future = sign(SECRET, 1_767_261_700 + 400, body);
    assert!(matches!(
        verify(SECRET, &future, body, now),
        Err(WebhookError::Stale(-400, _))
    ));
    for header in ["", "t=1", "v1=abcd", "t=x,v1=00", "t=1,v1=zz", "garbage"] {
        assert_eq!(
            verify(SECRET, header, body, now),
            Err(WebhookError::MalformedSignature),
            "{header}"
        );
    }
}

#[test]
fn a_subscription_checkout_binds_with_its_click_and_promotion_code() {
    let event = read(fixture("checkout_subscription").as_bytes()).expect("read");
    assert_eq!(event.id, "evt_1QcheckoutSub0001");
    assert_eq!(event.kind, "checkout.session.completed");
    assert_eq!(event.occurred_at, Timestamp::from_millis(1_767_261_600_000));
    assert_eq!(
        event.fact,
        BillingFact::Checkout {
            customer: "cus_Alpha".into(),
            click_id: Some("tclid-from-the-snippet".into()),
            coupon: Some("promo_1PartnerCode".into()),
            country: Some("DE".into()),
            // The subscription's first invoice is the sale.
            sale: None,
        }
    );
}

#[test]
fn a_one_off_payment_checkout_is_the_sale_net_of_tax() {
    assert_eq!(
        fact("checkout_payment"),
        BillingFact::Checkout {
            customer: "buyer@example.com".into(),
            click_id: Some("tclid-in-metadata".into()),
            coupon: None,
            country: Some("US".into()),
            sale: Some(Payment {
                invoice: "pi_OneOff".into(),
                amount: usd(5_000),
                gross: usd(5_900),
                country: Some("US".into()),
            }),
        }
    );
}

#[test]
fn invoices_are_sales_then_renewals_net_of_tax_in_both_api_versions() {
    assert_eq!(
        fact("invoice_paid_first"),
        BillingFact::Paid {
            customer: "cus_Alpha".into(),
            payment: Payment {
                invoice: "in_First".into(),
                amount: eur(10_000),
                gross: eur(11_900),
                country: Some("DE".into()),
            },
            renewal: false,
            charge: Some("ch_First".into()),
            payment_intent: Some("pi_First".into()),
        }
    );
    assert_eq!(
        fact("invoice_paid_cycle"),
        BillingFact::Paid {
            customer: "cus_Alpha".into(),
            payment: Payment {
                invoice: "in_Second".into(),
                amount: eur(10_000),
                gross: eur(11_900),
                country: Some("DE".into()),
            },
            renewal: true,
            charge: None,
            payment_intent: Some("pi_Second".into()),
        }
    );
}

#[test]
fn subscription_changes_expand_or_churn() {
    assert_eq!(
        fact("subscription_updated"),
        BillingFact::Expanded {
            customer: "cus_Alpha".into(),
            delta: eur(5_000),
        }
    );
    assert_eq!(
        fact("subscription_deleted"),
        BillingFact::Churned {
            customer: "cus_Alpha".into()
        }
    );
    // A downgrade, and a change that is not about the amount, record nothing.
    let mut downgrade: serde_json::Value =
        serde_json::from_str(fixture("subscription_updated")).expect("json");
    downgrade["data"]["previous_attributes"]["items"]["data"][0]["quantity"] = 5.into();
    let body = serde_json::to_vec(&downgrade).expect("json");
    assert!(matches!(
        read(&body).expect("read").fact,
        BillingFact::Ignored(_)
    ));
    downgrade["data"]["previous_attributes"] = serde_json::json!({"cancel_at_period_end": true});
    let body = serde_json::to_vec(&downgrade).expect("json");
    assert!(matches!(
        read(&body).expect("read").fact,
        BillingFact::Ignored(_)
    ));
}

#[test]
fn refunds_and_disputes_name_the_charge() {
    assert_eq!(
        fact("charge_refunded"),
        BillingFact::Refunded {
            customer: Some("cus_Alpha".into()),
            invoice: "in_First".into(),
            payment_intent: Some("pi_First".into()),
            charge: "ch_First".into(),
            refunded: eur(5_950),
            charged: eur(11_900),
        }
    );
    assert_eq!(
        fact("dispute_created"),
        BillingFact::Disputed {
            charge: "ch_First".into(),
            payment_intent: Some("pi_First".into()),
            amount: eur(11_900),
        }
    );
    let inquiry = fixture("dispute_created").replace("needs_response", "warning_needs_response");
    assert!(matches!(
        read(inquiry.as_bytes()).expect("read").fact,
        BillingFact::Ignored(reason) if reason.contains("inquiry")
    ));
    // Half the gross refunded is half the net sale.
    assert_eq!(net_of_tax(eur(5_950), eur(10_000), eur(11_900)), eur(5_000));
    assert_eq!(
        net_of_tax(eur(11_900), eur(10_000), eur(11_900)),
        eur(10_000)
    );
    assert_eq!(net_of_tax(eur(1), eur(10_000), eur(11_900)), eur(1));
    // Two partial refunds of 29.75 add up to the 50.00 the whole 59.50 takes off.
    let first = refund_increment(eur(0), eur(2_975), eur(10_000), eur(11_900));
    let second = refund_increment(eur(2_975), eur(5_950), eur(10_000), eur(11_900));
    assert_eq!((first, second), (eur(2_500), eur(2_500)));
    // Odd cents: each total is rounded once, the parts still sum to the whole.
    let parts: i64 = [(0, 1), (1, 2), (2, 3)]
        .iter()
        .map(|&(a, b)| refund_increment(eur(a), eur(b), eur(10_000), eur(11_900)).amount_minor)
        .sum();
    assert_eq!(
        parts,
        net_of_tax(eur(3), eur(10_000), eur(11_900)).amount_minor
    );
}

#[test]
fn other_events_and_bad_bodies() {
    let other =
        br#"{"id":"evt_x","type":"customer.created","created":1,"data":{"object":{"id":"cus_1"}}}"#;
    assert!(matches!(
        read(other).expect("read").fact,
        BillingFact::Ignored(reason) if reason.contains("customer.created")
    ));
    assert!(matches!(read(b"not json"), Err(WebhookError::BadBody(_))));
    assert!(matches!(
        read(br#"{"id":"evt_x","type":"invoice.paid","created":1}"#),
        Err(WebhookError::BadBody(_))
    ));
    let odd_currency = fixture("invoice_paid_first").replace("\"eur\"", "\"xts\"");
    assert!(matches!(
        read(odd_currency.as_bytes()).expect("read").fact,
        BillingFact::Ignored(reason) if reason.contains("XTS")
    ));
}
