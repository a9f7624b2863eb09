//! Chargebee's documented payload shapes (written for these tests after Chargebee's API
//! reference: event envelope with `content`, invoice, transaction, credit note,
//! subscription) read into facts.

use super::*;
use crate::Currency;

fn fixture(name: &str) -> &'static str {
    match name {
        "payment_first" => include_str!("fixtures/payment_first.json"),
        "payment_renewal" => include_str!("fixtures/payment_renewal.json"),
        "payment_refunded" => include_str!("fixtures/payment_refunded.json"),
        "subscription_cancelled" => include_str!("fixtures/subscription_cancelled.json"),
        other => panic!("no fixture {other}"),
    }
}

fn gbp(minor: i64) -> Money {
    Money::new(minor, Currency::parse("GBP").expect("GBP"))
}

#[test]
fn basic_authentication_is_checked() {
    let credentials = "tributary:correct horse battery staple";
    assert_eq!(verify(credentials, &authorization(credentials)), Ok(()));
    assert_eq!(
        verify(credentials, &authorization("tributary:wrong")),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verify(credentials, "Bearer abc"),
        Err(WebhookError::MalformedSignature)
    );
    assert_eq!(
        verify(credentials, "Basic !!!"),
        Err(WebhookError::MalformedSignature)
    );
}

#[test]
fn the_first_invoice_is_the_checkout_and_later_ones_renew() {
    let event = read(fixture("payment_first").as_bytes()).expect("read");
    assert_eq!(event.id, "ev_16CHbeSSrnSxUn1Ab");
    assert_eq!(event.occurred_at, Timestamp::from_millis(1_767_261_620_000));
    assert_eq!(
        event.fact,
        BillingFact::Checkout {
            customer: "16CHbeSSrnSxRn19".into(),
            click_id: Some("tclid-in-meta-data".into()),
            coupon: Some("PARTNER10".into()),
            country: Some("GB".into()),
            sale: Some(Payment {
                invoice: "1042".into(),
                amount: gbp(10_000),
                gross: gbp(11_900),
                country: Some("GB".into()),
            }),
        }
    );
    assert!(matches!(
        read(fixture("payment_renewal").as_bytes()).expect("read").fact,
        BillingFact::Paid { renewal: true, ref payment, .. } if payment.amount == gbp(10_000) && payment.invoice == "1077"
    ));
}

#[test]
fn refunds_come_with_their_credit_note_and_cancellations_churn() {
    assert_eq!(
        read(fixture("payment_refunded").as_bytes())
            .expect("read")
            .fact,
        BillingFact::Adjusted {
            customer: "16CHbeSSrnSxRn19".into(),
            invoice: "1042".into(),
            adjustment: "CN-7".into(),
            net: gbp(2_500),
            chargeback: false,
            at: Timestamp::from_millis(1_767_699_995_000),
        }
    );
    let chargeback = fixture("payment_refunded").replace("product_unsatisfactory", "chargeback");
    assert!(matches!(
        read(chargeback.as_bytes()).expect("read").fact,
        BillingFact::Adjusted {
            chargeback: true,
            ..
        }
    ));
    assert_eq!(
        read(fixture("subscription_cancelled").as_bytes())
            .expect("read")
            .fact,
        BillingFact::Churned {
            customer: "16CHbeSSrnSxRn19".into()
        }
    );
    assert!(matches!(
        read(br#"{"id":"ev_1","occurred_at":1,"event_type":"customer_created","content":{}}"#)
            .expect("read")
            .fact,
        BillingFact::Ignored(_)
    ));
    assert!(matches!(read(b"[]"), Err(WebhookError::BadBody(_))));
}
