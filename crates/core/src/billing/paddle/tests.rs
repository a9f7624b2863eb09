//! Paddle Billing's documented payload shapes (written for these tests after Paddle's
//! webhook reference: event envelope, transaction with string totals, adjustment,
//! subscription) read into facts.

use super::*;
use crate::Currency;

const SECRET: &str = "pdl_ntfset_01test_secret";

fn fixture(name: &str) -> &'static str {
    match name {
        "transaction_web" => include_str!("fixtures/transaction_web.json"),
        "transaction_renewal" => include_str!("fixtures/transaction_renewal.json"),
        "adjustment_refund" => include_str!("fixtures/adjustment_refund.json"),
        "subscription_canceled" => include_str!("fixtures/subscription_canceled.json"),
        other => panic!("no fixture {other}"),
    }
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

#[test]
fn signatures_verify_and_refuse() {
    let body = fixture("transaction_web").as_bytes();
    let now = Timestamp::from_millis(1_767_261_700_000);
    let header = sign(SECRET, 1_767_261_690, body);
    assert_eq!(verify(SECRET, &header, body, now), Ok(()));
    let rotated = format!("{header};h1={}", "ab".repeat(32));
    assert_eq!(verify(SECRET, &rotated, body, now), Ok(()));
    assert_eq!(
        verify("pdl_ntfset_other", &header, body, now),
        Err(WebhookError::BadSignature)
    );
    let stale = sign(SECRET, 1_767_261_700 - 400, body);
    assert!(matches!(
        verify(SECRET, &stale, body, now),
        Err(WebhookError::Stale(400, _))
    ));
    // Stripe's separator and key names are not Paddle's.
    let stripe_style = header.replace("ts=", "t=").replace(';', ",");
    assert_eq!(
        verify(SECRET, &stripe_style, body, now),
        Err(WebhookError::MalformedSignature)
    );
}

#[test]
fn times_read_as_utc_instants() {
    assert_eq!(
        parse_utc("2026-01-01T10:00:05.511238Z"),
        Some(Timestamp::from_millis(1_767_261_605_511))
    );
    assert_eq!(
        parse_utc("2026-01-01T00:00:00Z"),
        Some(Timestamp::from_millis(1_767_225_600_000))
    );
    for bad in [
        "2026-01-01T25:00:00Z",
        "2026-01-01 10:00:00Z",
        "2026-01-01T10:00:00+01:00",
        "x",
    ] {
        assert_eq!(parse_utc(bad), None, "{bad}");
    }
}

#[test]
fn a_web_transaction_is_the_checkout_and_the_sale() {
    let event = read(fixture("transaction_web").as_bytes()).expect("read");
    assert_eq!(event.id, "evt_01hv8x2acma2gz4bbsa0zn7s5b");
    assert_eq!(
        event.fact,
        BillingFact::Checkout {
            customer: "ctm_01hv8wt8nffez4p2t6tgt5b0gb".into(),
            click_id: Some("tclid-in-custom-data".into()),
            coupon: Some("dsc_01hv6scyf7qdnzcdq01t2y8dx4".into()),
            country: None,
            sale: Some(Payment {
                invoice: "txn_01hv8wptq8987qeep44cyrewp9".into(),
                // 100.00 less a 10.00 discount; the 17.10 tax is not commissionable.
                amount: usd(9_000),
                gross: usd(10_710),
                country: None,
            }),
        }
    );
}

#[test]
fn recurring_transactions_adjustments_and_cancellations() {
    assert!(matches!(
        read(fixture("transaction_renewal").as_bytes()).expect("read").fact,
        BillingFact::Paid { renewal: true, ref payment, .. } if payment.amount == usd(10_000)
    ));
    assert_eq!(
        read(fixture("adjustment_refund").as_bytes())
            .expect("read")
            .fact,
        BillingFact::Adjusted {
            customer: "ctm_01hv8wt8nffez4p2t6tgt5b0gb".into(),
            invoice: "txn_01hv8wptq8987qeep44cyrewp9".into(),
            adjustment: "adj_01hyrefund0000000000000000".into(),
            net: usd(4_500),
            chargeback: false,
            at: parse_utc("2026-01-05T09:00:00Z").expect("time"),
        }
    );
    let pending = fixture("adjustment_refund").replace("\"approved\"", "\"pending_approval\"");
    assert!(matches!(
        read(pending.as_bytes()).expect("read").fact,
        BillingFact::Ignored(_)
    ));
    assert_eq!(
        read(fixture("subscription_canceled").as_bytes())
            .expect("read")
            .fact,
        BillingFact::Churned {
            customer: "ctm_01hv8wt8nffez4p2t6tgt5b0gb".into()
        }
    );
    assert!(matches!(read(b"{}"), Err(WebhookError::BadBody(_))));
}
