//! Property test over the real posting path on a real SQLite file: any sequence of sales,
//! refunds (partial, full, more than the sale), time passing, approvals, payout batches and
//! payments leaves (a) every ledger transaction balanced, (b) each partner balance equal to
//! the sum of commissions in the matching state, and (c) the commissions' net equal to what
//! the plan says the facts owe.

use proptest::prelude::*;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::clicks::{self, Visit};
use tributary_app::clock::ManualClock;
use tributary_app::{App, ingest, jobs, payouts};
use tributary_core::commission::CommissionState;
use tributary_core::{BasisPoints, Timestamp};
use tributary_store::sqlite::SqliteStore;

#[derive(Debug, Clone)]
enum Op {
    Sale(i64),
    Refund(usize, i64),
    Wait(u32),
    Batch,
    PayAll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1i64..200_000).prop_map(Op::Sale),
        2 => (0usize..8, 1i64..250_000).prop_map(|(invoice, amount)| Op::Refund(invoice, amount)),
        2 => (0u32..40).prop_map(Op::Wait),
        1 => Just(Op::Batch),
        1 => Just(Op::PayAll),
    ]
}

const RATE_BP: u32 = 1_750;
const LEAD_MINOR: i64 = 250;

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_767_225_600_000)));
    let app = App::start(Arc::new(store), clock.clone())
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let fail = |e: tributary_app::AppError| TestCaseError::fail(e.to_string());
    let (workspace, _) = admin::create_workspace(&app, "W", "o@w.example", "owner-password")
        .await
        .map_err(fail)?;
    let ws = workspace.id;
    let program = admin::create_program(
        &app,
        ws,
        NewProgram {
            name: "P".into(),
            destination_url: "https://w.example/".into(),
            currency: None,
            window_days: None,
            hold_days: Some(10),
            min_payout_minor: Some(1_000),
            lead_flat_minor: Some(LEAD_MINOR),
            sale_percent_bp: Some(RATE_BP),
            plan: None,
            attribution: None,
        },
    )
    .await
    .map_err(fail)?;
    let partner = admin::create_partner(
        &app,
        ws,
        NewPartner {
            name: "N".into(),
            email: "n@w.example".into(),
            archetype: None,
            payout_email: None,
            password: None,
        },
    )
    .await
    .map_err(fail)?;
    admin::enroll(&app, ws, program.id, partner.id)
        .await
        .map_err(fail)?;
    let link = admin::create_link(
        &app,
        ws,
        NewLink {
            program_id: program.id,
            partner_id: partner.id,
            code: Some("prop".into()),
            destination_url: None,
        },
    )
    .await
    .map_err(fail)?;
    let click = clicks::click(
        &app,
        &link,
        Visit {
            ip: "192.0.2.1",
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
            referrer: None,
        },
    );
    let post = |key: String, body: serde_json::Value| {
        let app = app.clone();
        async move {
            let request = ingest::parse_event(&body, app.now())?;
            ingest::ingest(&app, ws, &key, request).await
        }
    };
    post(
        "lead".into(),
        json!({"type": "lead", "customer_id": "c", "click_id": click.click_id}),
    )
    .await
    .map_err(fail)?;

    let mut sales: Vec<i64> = Vec::new();
    let mut refunds: HashMap<usize, i64> = HashMap::new();
    let mut batches = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Sale(amount) => {
                sales.push(amount);
                let invoice = sales.len() - 1;
                post(format!("s{step}"), json!({"type": "sale", "customer_id": "c", "amount_minor": amount, "currency": "USD", "invoice_id": format!("in{invoice}")}))
                    .await
                    .map_err(fail)?;
            }
            Op::Refund(invoice, amount) => {
                *refunds.entry(invoice).or_insert(0) += amount;
                post(format!("r{step}"), json!({"type": "refund", "customer_id": "c", "amount_minor": amount, "currency": "USD", "invoice_id": format!("in{invoice}")}))
                    .await
                    .map_err(fail)?;
            }
            Op::Wait(days) => {
                clock.advance_days(days);
                jobs::run_due(&app).await.map_err(fail)?;
            }
            Op::Batch => {
                if let Some(batch) = payouts::create_batch(&app, ws, program.id)
                    .await
                    .map_err(fail)?
                {
                    batches.push(batch.id);
                }
            }
            Op::PayAll => {
                for batch in batches.drain(..) {
                    payouts::mark_paid(&app, ws, batch, "ref")
                        .await
                        .map_err(fail)?;
                }
            }
        }

        let mut tx = app
            .store
            .read()
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let store_fail = |e: tributary_store::StoreError| TestCaseError::fail(e.to_string());
        prop_assert!(
            tx.unbalanced_transactions(ws)
                .await
                .map_err(store_fail)?
                .is_empty()
        );
        prop_assert!(
            tx.ledger_totals(ws)
                .await
                .map_err(store_fail)?
                .iter()
                .all(|(_, sum)| *sum == 0)
        );
        let customer = tx
            .customer_by_external_id(ws, "c")
            .await
            .map_err(store_fail)?
            .ok_or_else(|| TestCaseError::fail("customer"))?;
        let rows = tx
            .customer_commissions(customer.id)
            .await
            .map_err(store_fail)?;
        let sum_in = |state: CommissionState| {
            rows.iter()
                .filter(|c| c.state == state)
                .map(|c| c.amount.amount_minor)
                .sum::<i64>()
        };
        let balances = tx
            .partner_balances(ws, partner.id)
            .await
            .map_err(store_fail)?;
        let balance =
            balances
                .first()
                .copied()
                .unwrap_or(tributary_core::ledger::PartnerBalance::zero(
                    tributary_core::Currency::USD,
                ));
        prop_assert_eq!(balance.pending_minor, sum_in(CommissionState::Pending));
        prop_assert_eq!(balance.approved_minor, sum_in(CommissionState::Approved));
        prop_assert_eq!(balance.in_payout_minor, sum_in(CommissionState::InPayout));
        prop_assert_eq!(balance.paid_minor, sum_in(CommissionState::Paid));
        prop_assert_eq!(sum_in(CommissionState::Reversed), 0);

        // What the facts owe: the lead, plus the rate on each sale net of its refunds.
        let rate = BasisPoints::new(RATE_BP).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let owed: i64 = LEAD_MINOR
            + sales
                .iter()
                .enumerate()
                .map(|(invoice, sale)| {
                    rate.apply((sale - refunds.get(&invoice).copied().unwrap_or(0)).max(0))
                })
                .sum::<i64>();
        let net: i64 = rows.iter().map(|c| c.amount.amount_minor).sum();
        prop_assert_eq!(net, owed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn balances_always_agree_with_postings(ops in proptest::collection::vec(op(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        runtime.block_on(run(ops))?;
    }
}
