//! Turning facts into ledger postings inside a write transaction (ADR 0005): re-derive what
//! a customer's events owe under the plan version that covers each event, post the
//! difference as commissions and balanced ledger transactions, and schedule what depends on
//! time or on other customers as jobs in the outbox:
//! - `approve_commission` at the end of each hold (and again while engagement is awaited);
//! - `settle_period` for tiered rules and caps per partner per period (re-armed on change);
//! - `converge_customer` when a retention reward comes due;
//! - `judge_bonus` when a bonus's period (and its retention wait) is over.

use crate::lifecycle::standing::Standing;
use crate::plans::{PlanBook, Window};
use crate::{AppError, AppResult, new_uuid};
use std::collections::BTreeSet;
use tributary_core::attribution::{Credit, bound_credits};
use tributary_core::commission::{self, CommissionState, Delta, Owed, Posted, Posting, Source};
use tributary_core::engine::{self, Approval, CustomerFacts, Engine, Line, PartnerFacts};
use tributary_core::event::EventKind;
use tributary_core::ledger::Transaction;
use tributary_core::period::Period;
use tributary_core::plan::{BonusTarget, Plan, Reward, Rule, Trigger};
use tributary_core::*;
use tributary_store::{
    CommissionKind, CommissionRecord, CommissionVoid, Customer, Job, PlanVersion, Program,
    TransactionHeader, Tx,
};

pub const JOB_APPROVE: &str = "approve_commission";
pub const JOB_SETTLE: &str = "settle_period";
pub const JOB_CONVERGE: &str = "converge_customer";
pub const JOB_BONUS: &str = "judge_bonus";

/// The partner's group and tier in the program, for precedence and conditions.
#[derive(Debug, Clone, Default)]
pub struct Segment {
    pub group: Option<String>,
    pub tier: Option<String>,
}

impl Segment {
    pub async fn load(
        tx: &mut dyn Tx,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> AppResult<Segment> {
        Ok(tx
            .enrollment(program_id, partner_id)
            .await?
            .map(|enrollment| Segment {
                group: enrollment.partner_group,
                tier: enrollment.tier,
            })
            .unwrap_or_default())
    }

    pub fn facts(&self) -> PartnerFacts<'_> {
        PartnerFacts {
            group: self.group.as_deref(),
            tier: self.tier.as_deref(),
            role: None,
        }
    }
}

/// The engine's facts for one customer under one window of one version.
fn window_facts<'a>(
    credit: &'a Credit,
    window: &Window<'_>,
    events: &'a [commission::StoredEvent],
    segment: &'a Segment,
    standing: &'a Standing,
    as_of: Timestamp,
) -> CustomerFacts<'a> {
    CustomerFacts {
        events,
        touched_at: Some(
            credit
                .touched_at
                .map_or(window.from, |touched| touched.max(window.from)),
        ),
        earn_until: window.until,
        share_bp: credit.share_bp,
        partner: PartnerFacts {
            role: Some(&credit.role),
            ..segment.facts()
        },
        as_of,
        paused: &standing.pauses,
    }
}

fn voided(voids: &[CommissionVoid], version: PlanVersionId, source: &Source, rule: &str) -> bool {
    voids.iter().any(|void| {
        void.plan_version_id == version
            && source.event() == Some(void.source_event_id)
            && void.rule_id == rule
    })
}

/// Posts whatever `customer`'s facts owe beyond what is posted, for the rules settled per
/// customer; schedules period settlement, retention and bonus jobs for the rest. `caused_by`
/// is the event whose arrival triggered this. Returns the commissions written.
pub async fn converge_customer(
    tx: &mut dyn Tx,
    program: &Program,
    customer: &Customer,
    credit: &Credit,
    caused_by: EventId,
    now: Timestamp,
) -> AppResult<Vec<CommissionRecord>> {
    let book = PlanBook::load(tx, program.id).await?;
    let segment = Segment::load(tx, program.id, credit.partner_id).await?;
    let events = tx.customer_events(customer.id).await?;
    // Each credited partner's commissions are derived apart, under their own share.
    let mut existing = tx.customer_commissions(customer.id).await?;
    existing.retain(|commission| commission.partner_id == credit.partner_id);
    let voids = tx.customer_voids(customer.id).await?;
    let standing = Standing::load(
        tx,
        program.id,
        credit.partner_id,
        crate::lifecycle::standing::horizon(now),
    )
    .await?;
    let caused = events.iter().find(|event| event.id == caused_by);
    let mut written = Vec::new();
    for window in book.windows(credit.partner_id, segment.group.as_deref()) {
        if !events
            .iter()
            .any(|event| window.contains(event.facts.occurred_at))
        {
            continue;
        }
        let version = window.version;
        let plan = &version.plan;
        let engine = Engine::new(plan);
        let mut lines = Vec::new();
        let summary = engine.customer(
            &window_facts(credit, &window, &events, &segment, &standing, now),
            &mut lines,
        );
        let per_customer = |rule_id: &str| {
            plan.rules
                .iter()
                .any(|rule| rule.id == rule_id && !plan.settled_per_period(rule))
        };
        let owed: Vec<Owed> = lines
            .iter()
            .filter(|line| !plan.settled_per_period(&plan.rules[line.rule as usize]))
            .map(|line| commission::explain(plan, version.id, credit, &events, line))
            .filter(|owed| {
                !voided(&voids, version.id, &owed.source, &owed.rule_id)
                    && !standing.forfeited(version.id, &owed.source, &owed.rule_id)
            })
            .collect();
        let posted = posted_of(&existing, |c| {
            c.plan_version_id == version.id
                && per_customer(&c.rule_id)
                && !voided(&voids, version.id, &c.source, &c.rule_id)
                && !standing.forfeited(version.id, &c.source, &c.rule_id)
        });
        let deltas = commission::deltas(owed, &posted);
        written.extend(
            post_deltas(
                tx,
                program,
                version,
                credit.partner_id,
                Some(customer.id),
                Some(caused_by),
                deltas,
                &existing,
                now,
            )
            .await?,
        );
        schedule_later_work(
            tx,
            &book,
            segment.group.as_deref(),
            program,
            version,
            credit.partner_id,
            customer,
            &events,
            &lines,
            summary.first_purchase,
            caused,
            now,
        )
        .await?;
    }
    Ok(written)
}

pub(crate) fn posted_of(
    existing: &[CommissionRecord],
    keep: impl Fn(&CommissionRecord) -> bool,
) -> Vec<Posted> {
    existing
        .iter()
        .filter(|c| keep(c))
        .map(|c| Posted {
            source: c.source.clone(),
            rule_id: c.rule_id.clone(),
            amount: c.amount,
            state: c.state,
            explanation: c.explanation.clone(),
        })
        .collect()
}

/// Enqueues the jobs a customer's change calls for under one version: the partner's
/// periods to settle, a retention reward to look at when it comes due, bonuses to judge.
#[allow(clippy::too_many_arguments)]
async fn schedule_later_work(
    tx: &mut dyn Tx,
    book: &PlanBook,
    group: Option<&str>,
    program: &Program,
    version: &PlanVersion,
    partner_id: PartnerId,
    customer: &Customer,
    events: &[commission::StoredEvent],
    lines: &[Line],
    first_purchase: Option<(Timestamp, EventId)>,
    caused: Option<&commission::StoredEvent>,
    now: Timestamp,
) -> AppResult<()> {
    let plan = &version.plan;
    let Some(caused) = caused else {
        return Ok(());
    };
    let kind = caused.facts.kind;
    let churned = kind == EventKind::Milestone
        && caused.facts.milestone.as_deref() == Some(tributary_core::plan::CHURNED);
    // Periods: those of the lines this event can have moved: its own lines, the sales a
    // refund reduces, the retention a churn takes away; for every rule settled per period.
    let mut periods: BTreeSet<(Period, Timestamp)> = BTreeSet::new();
    for line in lines {
        let rule = &plan.rules[line.rule as usize];
        if !plan.settled_per_period(rule) {
            continue;
        }
        let moved = line.source_event_id == caused.id
            || (kind.is_reversal() && line.detail.refunded_minor > 0)
            || (churned && matches!(rule.trigger, Trigger::Retained { .. }));
        if moved {
            let period = plan.settlement_period(rule);
            periods.insert((period, period.start(line.at)));
        }
    }
    for (period, start) in periods {
        enqueue_settle(tx, program, version, partner_id, period, start, now).await?;
    }
    // Retention: look again when it comes due (a purchase may have made the customer's first).
    if let Some((first_at, _)) = first_purchase.filter(|_| kind.is_revenue()) {
        for rule in &plan.rules {
            if let Trigger::Retained { days } = rule.trigger {
                let due = first_at.plus_days(days);
                if due > now {
                    enqueue(
                        tx,
                        program.workspace_id,
                        JOB_CONVERGE,
                        serde_json::json!({ "customer_id": customer.id, "program_id": program.id }),
                        format!(
                            "{JOB_CONVERGE}:{}:{}:{}",
                            customer.id,
                            rule.id,
                            due.millis()
                        ),
                        due,
                        now,
                        false,
                    )
                    .await?;
                }
            }
        }
    }
    // Bonuses: judge each period this customer's facts touch once it is over; only purchases,
    // refunds and churn can change a bonus's outcome.
    let bonus_facts = kind.is_revenue() || kind.is_reversal() || churned;
    for bonus in plan.bonuses.iter().filter(|_| bonus_facts) {
        let mut starts: BTreeSet<Timestamp> = BTreeSet::new();
        starts.insert(bonus.period.start(caused.facts.occurred_at));
        if let Some((first_at, _)) = first_purchase {
            starts.insert(bonus.period.start(first_at));
        }
        let _ = events;
        for start in starts {
            enqueue_bonus(
                tx,
                (book, group),
                program,
                version,
                partner_id,
                (bonus, start),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// Schedules the judgement of one bonus period for a partner, if the version is the plan in
/// force for them when the period ends.
async fn enqueue_bonus(
    tx: &mut dyn Tx,
    (book, group): (&PlanBook, Option<&str>),
    program: &Program,
    version: &PlanVersion,
    partner_id: PartnerId,
    (bonus, start): (&tributary_core::plan::Bonus, Timestamp),
    now: Timestamp,
) -> AppResult<()> {
    if !bonus_in_force(book, version, partner_id, group, bonus.period.end(start)) {
        return Ok(());
    }
    let wait = match bonus.when {
        BonusTarget::RetainedCustomers { days, .. } => days,
        _ => 0,
    };
    let due = bonus.period.end(start).plus_days(wait);
    enqueue(
        tx,
        program.workspace_id,
        JOB_BONUS,
        serde_json::json!({
            "program_id": program.id, "version_id": version.id, "partner_id": partner_id,
            "bonus_id": bonus.id, "period_start": start,
        }),
        format!(
            "{JOB_BONUS}:{}:{partner_id}:{}:{}",
            version.id,
            bonus.id,
            start.millis()
        ),
        due.max(now),
        now,
        true,
    )
    .await
}

/// Schedules the settlement of one period of `version` for `partner_id` (under a budget,
/// for the whole program: first come, first paid).
async fn enqueue_settle(
    tx: &mut dyn Tx,
    program: &Program,
    version: &PlanVersion,
    partner_id: PartnerId,
    period: Period,
    start: Timestamp,
    now: Timestamp,
) -> AppResult<()> {
    let settles = if version.plan.budget.is_some() {
        None
    } else {
        Some(partner_id)
    };
    let settles_key = settles.map_or_else(|| "program".to_string(), |id| id.to_string());
    enqueue(
        tx,
        program.workspace_id,
        JOB_SETTLE,
        serde_json::json!({
            "program_id": program.id, "version_id": version.id, "partner_id": settles,
            "period": period, "period_start": start,
        }),
        format!(
            "{JOB_SETTLE}:{}:{settles_key}:{}:{}",
            version.id,
            period.as_str(),
            start.millis()
        ),
        now,
        now,
        true,
    )
    .await
}

/// Schedules the settlement of every period the customer's events fall in, under every
/// version with rules settled per period, and the judgement of every bonus period they fall
/// in, for each of `partners` (after a re-attribution moved the customer between them).
pub async fn resettle_customer(
    tx: &mut dyn Tx,
    program: &Program,
    events: &[commission::StoredEvent],
    partners: &[PartnerId],
    now: Timestamp,
) -> AppResult<()> {
    let book = PlanBook::load(tx, program.id).await?;
    for version in &book.versions {
        let plan = &version.plan;
        let mut periods: BTreeSet<(Period, Timestamp)> = BTreeSet::new();
        for rule in plan
            .rules
            .iter()
            .filter(|rule| plan.settled_per_period(rule))
        {
            let period = plan.settlement_period(rule);
            for event in events {
                periods.insert((period, period.start(event.facts.occurred_at)));
            }
        }
        for &partner in partners {
            for &(period, start) in &periods {
                enqueue_settle(tx, program, version, partner, period, start, now).await?;
            }
            // Bonuses that counted (or now count) the customer are judged again.
            let group = Segment::load(tx, program.id, partner).await?.group;
            for bonus in &plan.bonuses {
                let starts: BTreeSet<Timestamp> = events
                    .iter()
                    .map(|event| bonus.period.start(event.facts.occurred_at))
                    .collect();
                for start in starts {
                    enqueue_bonus(
                        tx,
                        (&book, group.as_deref()),
                        program,
                        version,
                        partner,
                        (bonus, start),
                        now,
                    )
                    .await?;
                }
            }
        }
    }
    Ok(())
}

/// Whether `version` is the plan in force for the partner at the end of a bonus period
/// (`period_end` exclusive): bonuses are judged under that plan only.
pub fn bonus_in_force(
    book: &PlanBook,
    version: &PlanVersion,
    partner_id: PartnerId,
    group: Option<&str>,
    period_end: Timestamp,
) -> bool {
    book.resolve(partner_id, group, period_end.plus_millis(-1))
        .is_some_and(|in_force| in_force.id == version.id)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn enqueue(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    kind: &str,
    payload: serde_json::Value,
    dedupe_key: String,
    run_at: Timestamp,
    now: Timestamp,
    rearm: bool,
) -> AppResult<()> {
    let job = Job {
        id: JobId(new_uuid()),
        workspace_id,
        kind: kind.into(),
        payload_json: payload.to_string(),
        dedupe_key,
        run_at,
        attempts: 0,
        created_at: now,
    };
    if rearm {
        tx.rearm_job(&job).await?;
    } else {
        tx.enqueue_job(&job).await?;
    }
    Ok(())
}

/// Writes the postings `deltas` call for, for one customer's commissions under `version`
/// (or, with no customer, a partner's keyed commissions: clicks, bonuses). `existing` holds
/// the commissions already posted for the deltas' keys.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn post_deltas(
    tx: &mut dyn Tx,
    program: &Program,
    version: &PlanVersion,
    partner_id: PartnerId,
    customer_id: Option<CustomerId>,
    caused_by: Option<EventId>,
    deltas: Vec<Delta>,
    existing: &[CommissionRecord],
    now: Timestamp,
) -> AppResult<Vec<CommissionRecord>> {
    let hold_days = version
        .plan
        .safeguards
        .hold_days
        .unwrap_or(program.hold_days);
    let mut written = Vec::with_capacity(deltas.len());
    for delta in deltas {
        let same_key = |c: &&CommissionRecord| {
            c.source == delta.source
                && c.rule_id == delta.rule_id
                && c.plan_version_id == version.id
        };
        let pending: Vec<&CommissionRecord> = existing
            .iter()
            .filter(same_key)
            .filter(|c| c.state == CommissionState::Pending)
            .collect();
        let id = CommissionId(new_uuid());
        let (kind, amount, state, hold_until, transaction, ledger_kind) = match delta.posting {
            Posting::Earn { amount } => (
                CommissionKind::Earning,
                amount,
                CommissionState::Pending,
                now.plus_days(hold_days),
                Transaction::earned(partner_id, amount)?,
                "earned",
            ),
            Posting::ClawPending {
                amount,
                reverses_all_pending,
            } => {
                let hold_until = pending.iter().map(|c| c.hold_until).max().unwrap_or(now);
                if reverses_all_pending {
                    reverse_all(tx, &pending).await?;
                }
                let state = if reverses_all_pending {
                    CommissionState::Reversed
                } else {
                    CommissionState::Pending
                };
                (
                    CommissionKind::Clawback,
                    amount,
                    state,
                    hold_until,
                    Transaction::clawed_back_pending(partner_id, amount.negate())?,
                    "clawback_pending",
                )
            }
            Posting::ClawPayable { amount } => (
                CommissionKind::Clawback,
                amount,
                CommissionState::Approved,
                now,
                Transaction::clawed_back_payable(partner_id, amount.negate())?,
                "clawback_payable",
            ),
        };
        let record = CommissionRecord {
            id,
            workspace_id: program.workspace_id,
            program_id: program.id,
            partner_id,
            customer_id,
            source: delta.source.clone(),
            caused_by_event_id: caused_by,
            rule_id: delta.rule_id.clone(),
            plan_version_id: version.id,
            kind,
            amount,
            state,
            hold_until,
            payout_batch_id: None,
            explanation: delta.explanation,
            created_at: now,
        };
        write_commission(tx, &record, &transaction, ledger_kind, now).await?;
        written.push(record);
    }
    Ok(written)
}

async fn reverse_all(tx: &mut dyn Tx, pending: &[&CommissionRecord]) -> AppResult<()> {
    for original in pending {
        let reversed = tx
            .set_commission_state(
                original.id,
                CommissionState::Pending,
                CommissionState::Reversed,
                None,
            )
            .await?;
        // Approval takes the customer's lock too, so this cannot happen; if it ever does,
        // posting on a stale state would misfile money.
        if !reversed {
            return Err(AppError::Conflict(
                "a commission of this customer changed while the event was processed; send it again".into(),
            ));
        }
    }
    Ok(())
}

async fn write_commission(
    tx: &mut dyn Tx,
    record: &CommissionRecord,
    transaction: &Transaction,
    ledger_kind: &str,
    now: Timestamp,
) -> AppResult<()> {
    tx.insert_commission(record).await?;
    tx.insert_transaction(
        &TransactionHeader {
            id: TransactionId(new_uuid()),
            workspace_id: record.workspace_id,
            kind: ledger_kind.into(),
            source_type: "commission".into(),
            source_id: record.id.to_string(),
            idempotency_key: format!("{ledger_kind}:{}", record.id),
            created_at: now,
        },
        transaction,
    )
    .await?;
    if record.state == CommissionState::Pending {
        enqueue(
            tx,
            record.workspace_id,
            JOB_APPROVE,
            serde_json::json!({ "commission_id": record.id }),
            format!("{JOB_APPROVE}:{}", record.id),
            record.hold_until,
            now,
            false,
        )
        .await?;
    }
    Ok(())
}

/// The credits a bound customer's events carry: one per credited partner, largest share
/// first; none for a customer not bound.
pub async fn customer_credits(
    tx: &mut dyn Tx,
    program: &Program,
    customer: &Customer,
) -> AppResult<Vec<Credit>> {
    let Some(binding) = &customer.binding else {
        return Ok(Vec::new());
    };
    let shares = tx.customer_shares(customer.id).await?;
    Ok(bound_credits(
        binding,
        &shares,
        program.attribution.model.name(),
        program.window_days,
    ))
}

/// The credit `partner` holds for a bound customer, if any.
pub async fn partner_credit(
    tx: &mut dyn Tx,
    program: &Program,
    customer: &Customer,
    partner: PartnerId,
) -> AppResult<Option<Credit>> {
    Ok(customer_credits(tx, program, customer)
        .await?
        .into_iter()
        .find(|credit| credit.partner_id == partner))
}

/// Settles a period for the rules of `version` that depend on more than one customer:
/// one partner's (tiers, caps per partner per period) or, under a budget, the whole
/// program's (`partner_id: None`). Re-derives every line of the period from all the
/// customers with events in it, and posts the differences.
pub async fn settle_period(
    tx: &mut dyn Tx,
    program: &Program,
    version: &PlanVersion,
    partner_id: Option<PartnerId>,
    period: Period,
    period_start: Timestamp,
    now: Timestamp,
) -> AppResult<usize> {
    let lock = match partner_id {
        Some(id) => format!("{}:{id}", program.workspace_id),
        None => format!("{}:program:{}", program.workspace_id, program.id),
    };
    tx.lock_key("partner-period", &lock).await?;
    let plan = &version.plan;
    let book = PlanBook::load(tx, program.id).await?;
    let period_end = period.end(period_start);
    let in_scope =
        |rule: &Rule| plan.settled_per_period(rule) && plan.settlement_period(rule) == period;
    let partners: Vec<PartnerId> = match partner_id {
        Some(id) => vec![id],
        None => {
            let mut all: Vec<PartnerId> =
                crate::plans::program_enrollments(tx, program.workspace_id, program.id)
                    .await?
                    .into_iter()
                    .map(|enrollment| enrollment.partner_id)
                    .collect();
            all.sort();
            all
        }
    };
    struct Loaded {
        customer: Customer,
        credit: Credit,
        events: Vec<commission::StoredEvent>,
        existing: Vec<CommissionRecord>,
        voids: Vec<CommissionVoid>,
        standing: std::sync::Arc<Standing>,
    }
    let engine = Engine::new(plan);
    let mut loaded: Vec<Loaded> = Vec::new();
    // (owner, line), each partner's lines settled together.
    let mut lines: Vec<(usize, Line)> = Vec::new();
    for partner in partners {
        let segment = Segment::load(tx, program.id, partner).await?;
        let standing = std::sync::Arc::new(
            Standing::load(
                tx,
                program.id,
                partner,
                crate::lifecycle::standing::horizon(now),
            )
            .await?,
        );
        let windows = book.windows(partner, segment.group.as_deref());
        let Some(window) = windows.iter().find(|w| w.version.id == version.id).copied() else {
            continue;
        };
        let customer_ids = tx
            .partner_period_customers(program.id, partner, period_start, period_end)
            .await?;
        let mut partner_lines: Vec<Line> = Vec::new();
        let mut owners: Vec<usize> = Vec::new();
        for customer_id in customer_ids {
            let Some(customer) = tx.customer(program.workspace_id, customer_id).await? else {
                continue;
            };
            let Some(credit) = partner_credit(tx, program, &customer, partner).await? else {
                continue;
            };
            let events = tx.customer_events(customer.id).await?;
            let before = partner_lines.len();
            engine.customer(
                &window_facts(&credit, &window, &events, &segment, &standing, now),
                &mut partner_lines,
            );
            owners.extend(std::iter::repeat_n(
                loaded.len(),
                partner_lines.len() - before,
            ));
            let mut existing = tx.customer_commissions(customer.id).await?;
            existing.retain(|commission| commission.partner_id == partner);
            let voids = tx.customer_voids(customer.id).await?;
            loaded.push(Loaded {
                customer,
                credit,
                events,
                existing,
                voids,
                standing: standing.clone(),
            });
        }
        engine.settle_periods(&mut partner_lines);
        lines.extend(owners.into_iter().zip(partner_lines));
    }
    if plan.budget.is_some() {
        // First come, first paid across partners: the engine orders by time itself.
        let mut all: Vec<Line> = lines.iter().map(|(_, line)| *line).collect();
        engine.apply_budget(&mut all);
        for (slot, line) in lines.iter_mut().zip(all) {
            slot.1 = line;
        }
    }
    let mut written = 0;
    for (index, customer) in loaded.iter().enumerate() {
        let owed: Vec<Owed> = lines
            .iter()
            .filter(|(owner, line)| {
                *owner == index
                    && in_scope(&plan.rules[line.rule as usize])
                    && line.at >= period_start
                    && line.at < period_end
            })
            .map(|(_, line)| {
                commission::explain(plan, version.id, &customer.credit, &customer.events, line)
            })
            .filter(|owed| {
                !voided(&customer.voids, version.id, &owed.source, &owed.rule_id)
                    && !customer
                        .standing
                        .forfeited(version.id, &owed.source, &owed.rule_id)
            })
            .collect();
        let event_in_period = |event_id: EventId| {
            customer.events.iter().any(|event| {
                event.id == event_id
                    && event.facts.occurred_at >= period_start
                    && event.facts.occurred_at < period_end
            })
        };
        let posted = posted_of(&customer.existing, |c| {
            c.plan_version_id == version.id
                && plan
                    .rules
                    .iter()
                    .any(|rule| rule.id == c.rule_id && in_scope(rule))
                && c.source.event().is_some_and(event_in_period)
                && !customer
                    .standing
                    .forfeited(version.id, &c.source, &c.rule_id)
        });
        let deltas = commission::deltas(owed, &posted);
        let caused_by = deltas.first().and_then(|delta| delta.source.event());
        if !deltas.is_empty() {
            written += post_deltas(
                tx,
                program,
                version,
                customer.credit.partner_id,
                Some(customer.customer.id),
                caused_by,
                deltas,
                &customer.existing,
                now,
            )
            .await?
            .len();
        }
    }
    Ok(written)
}

/// Re-derives one customer (a retention reward came due).
pub async fn converge_later(
    tx: &mut dyn Tx,
    program: &Program,
    customer: &Customer,
    now: Timestamp,
) -> AppResult<usize> {
    let (scope, key) = crate::ingest::customer_lock(program.workspace_id, &customer.external_id);
    tx.lock_key(scope, &key).await?;
    let events = tx.customer_events(customer.id).await?;
    let Some(last) = events.last().map(|event| event.id) else {
        return Ok(0);
    };
    let mut written = 0;
    for credit in customer_credits(tx, program, customer).await? {
        written += converge_customer(tx, program, customer, &credit, last, now)
            .await?
            .len();
    }
    Ok(written)
}

/// Judges one bonus for one partner's period and posts what it owes beyond what is posted.
/// The commission names no customer: it is keyed `bonus:<id>:<period>` (ADR 0006), with the
/// customers that met the target as its evidence.
#[allow(clippy::too_many_arguments)]
pub async fn judge_bonus(
    tx: &mut dyn Tx,
    program: &Program,
    version: &PlanVersion,
    partner_id: PartnerId,
    bonus_id: &str,
    period_start: Timestamp,
    now: Timestamp,
) -> AppResult<bool> {
    tx.lock_key(
        "partner-period",
        &format!("{}:{partner_id}", program.workspace_id),
    )
    .await?;
    let plan: &Plan = &version.plan;
    let Some(bonus_index) = plan.bonuses.iter().position(|bonus| bonus.id == bonus_id) else {
        return Ok(false);
    };
    let bonus = &plan.bonuses[bonus_index];
    let segment = Segment::load(tx, program.id, partner_id).await?;
    let period_end = bonus.period.end(period_start);
    let book = PlanBook::load(tx, program.id).await?;
    if !bonus_in_force(
        &book,
        version,
        partner_id,
        segment.group.as_deref(),
        period_end,
    ) {
        return Ok(false);
    }
    let standing = Standing::load(
        tx,
        program.id,
        partner_id,
        crate::lifecycle::standing::horizon(now),
    )
    .await?;
    let customer_ids = tx
        .partner_period_customers(program.id, partner_id, period_start, period_end)
        .await?;
    let only_this = Plan {
        bonuses: vec![bonus.clone()],
        ..Plan::of_rules(Vec::new())
    };
    let engine = Engine::new(&only_this);
    let mut summaries = Vec::new();
    for customer_id in customer_ids {
        let Some(customer) = tx.customer(program.workspace_id, customer_id).await? else {
            continue;
        };
        let Some(credit) = partner_credit(tx, program, &customer, partner_id).await? else {
            continue;
        };
        let events = tx.customer_events(customer.id).await?;
        summaries.push(engine.customer(
            &CustomerFacts {
                events: &events,
                touched_at: credit.touched_at,
                earn_until: None,
                share_bp: credit.share_bp,
                partner: PartnerFacts {
                    role: Some(&credit.role),
                    ..segment.facts()
                },
                as_of: now,
                paused: &standing.pauses,
            },
            &mut Vec::new(),
        ));
    }
    let award = engine
        .bonuses(&summaries, now)
        .into_iter()
        .find(|award| award.period_start == period_start);
    let key = format!("bonus:{}:{}", bonus.id, bonus.period.label(period_start));
    let source = Source::Key(key.clone());
    // Bonus keys never share a prefix longer than the key itself: `~` sorts after them all.
    let existing: Vec<CommissionRecord> = tx
        .keyed_commissions(program.id, partner_id, &key, &format!("{key}~"))
        .await?
        .into_iter()
        .filter(|c| c.source == source && c.plan_version_id == version.id)
        .collect();
    let amount = award
        .as_ref()
        .map(|award| award.amount)
        .unwrap_or_else(|| Money::zero(program.currency));
    // A partner not earning when the period ends (terminated, suspended) wins no bonus; a
    // forfeited one is left as it was forfeited.
    if standing.forfeited(version.id, &source, &bonus.id) {
        return Ok(false);
    }
    let amount = if standing.earning_at(period_end.plus_millis(-1)) {
        amount
    } else {
        Money::zero(program.currency)
    };
    let owed = vec![Owed {
        source,
        rule_id: bonus.id.clone(),
        amount,
        explanation: bonus_explanation(version, bonus_id, &key, award.as_ref(), amount),
    }];
    let posted = posted_of(&existing, |_| true);
    let deltas = commission::deltas(owed, &posted);
    let posted_any = !deltas.is_empty();
    post_deltas(
        tx, program, version, partner_id, None, None, deltas, &existing, now,
    )
    .await?;
    Ok(posted_any)
}

fn bonus_explanation(
    version: &PlanVersion,
    bonus_id: &str,
    key: &str,
    award: Option<&engine::BonusAward>,
    amount: Money,
) -> commission::Explanation {
    let (arithmetic, notes) = match award {
        Some(award) => (
            award.arithmetic.clone(),
            vec![format!(
                "evidence: {} customers ({}), net revenue {} in the period",
                award.customers.len(),
                award.customers.join(", "),
                award.revenue
            )],
        ),
        None => (
            "the target is not met: 0".into(),
            vec!["the bonus's target is not met with the facts as they are now".into()],
        ),
    };
    commission::Explanation {
        summary: format!("{amount} bonus {key} (plan version {})", version.version),
        event: None,
        adjustments: Vec::new(),
        attribution: None,
        clicks: None,
        plan_version_id: version.id,
        rule: Rule::new(bonus_id, Trigger::AnySale, Reward::Flat { amount }),
        base: award.map(|award| award.revenue),
        arithmetic,
        rounding:
            "rounded once to the nearest minor unit, halves away from zero (money::round_half_up)"
                .into(),
        tier: None,
        limited_by: None,
        notes,
        owed: amount,
        previously_posted_minor: 0,
        posted: amount,
    }
}

/// Approves a pending commission whose hold has passed: pending → payable. A commission that
/// is no longer pending (reversed, already approved) is left alone, so the job is idempotent.
/// Under a plan with minimum engagement, an earning waits for it (the job is scheduled
/// again) or, when the wait is over, is voided with the reason.
pub async fn approve(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    id: CommissionId,
    now: Timestamp,
) -> AppResult<bool> {
    let Some(seen) = tx.commission(workspace_id, id).await? else {
        return Err(AppError::NotFound("commission"));
    };
    // Take the customer's turn first (PostgreSQL runs writers side by side): a refund being
    // ingested for this customer decides between clawing back pending or approved money,
    // so it must not read the state this approval is about to change.
    // A commission no customer owns (clicks, a bonus) is written under the partner's period
    // lock instead.
    let customer = match seen.customer_id {
        Some(customer_id) => tx.customer(workspace_id, customer_id).await?,
        None => None,
    };
    if let Some(customer) = &customer {
        let (scope, key) = crate::ingest::customer_lock(workspace_id, &customer.external_id);
        tx.lock_key(scope, &key).await?;
    } else {
        tx.lock_key(
            "partner-period",
            &format!("{workspace_id}:{}", seen.partner_id),
        )
        .await?;
    }
    // Read again under the lock: a refund may have just reversed it.
    let Some(commission) = tx.commission(workspace_id, id).await? else {
        return Err(AppError::NotFound("commission"));
    };
    if commission.state != CommissionState::Pending || commission.hold_until > now {
        return Ok(false);
    }
    // A partner terminated under terms that forfeit pending money forfeits what was posted
    // after the termination too (a retention reward, a settlement, a late-reported sale of
    // before it): it is reversed here instead of approved.
    if let Some(enrollment) = tx
        .enrollment(commission.program_id, commission.partner_id)
        .await?
        && enrollment.status == "terminated"
        && tx
            .terms_versions(commission.program_id)
            .await?
            .first()
            .is_some_and(|terms| terms.termination_policy == "forfeit")
        && let Some(program) = tx.program(workspace_id, commission.program_id).await?
    {
        forfeit_pending(
            tx,
            &program,
            commission.partner_id,
            "forfeited: posted after a termination whose terms forfeit pending commissions",
            now,
        )
        .await?;
        return Ok(false);
    }
    // Minimum engagement is the customer's: commissions without one (clicks, bonuses) only
    // wait out their hold.
    if commission.kind == CommissionKind::Earning
        && let (Some(customer_id), Some(source_event_id)) =
            (commission.customer_id, commission.source.event())
        && let Some(earned) = &commission.explanation.event
        && let Some(version) = tx.plan_version(commission.plan_version_id).await?
        && version.plan.safeguards.approve_after.is_some()
    {
        let events = tx.customer_events(customer_id).await?;
        let earned_at = earned.occurred_at;
        match engine::approval(&version.plan, &events, earned_at, now) {
            Approval::Ready => {}
            Approval::WaitUntil(at) => {
                enqueue(
                    tx,
                    workspace_id,
                    JOB_APPROVE,
                    serde_json::json!({ "commission_id": id }),
                    format!("{JOB_APPROVE}:{id}:{}", at.millis()),
                    at,
                    now,
                    false,
                )
                .await?;
                return Ok(false);
            }
            Approval::Void(reason) => {
                void_key(
                    tx,
                    &commission,
                    (customer_id, source_event_id),
                    &reason,
                    now,
                )
                .await?;
                return Ok(false);
            }
        }
    }
    if !tx
        .set_commission_state(
            id,
            CommissionState::Pending,
            CommissionState::Approved,
            None,
        )
        .await?
    {
        return Ok(false);
    }
    tx.insert_transaction(
        &TransactionHeader {
            id: TransactionId(new_uuid()),
            workspace_id,
            kind: "approved".into(),
            source_type: "commission".into(),
            source_id: id.to_string(),
            idempotency_key: format!("approved:{id}"),
            created_at: now,
        },
        &Transaction::approved(commission.partner_id, commission.amount)?,
    )
    .await?;
    Ok(true)
}

/// Voids a commission key a safeguard refused: records the void (so later facts never owe
/// it again) and reverses what is pending for it, with the reason in the explanation.
async fn void_key(
    tx: &mut dyn Tx,
    commission: &CommissionRecord,
    (customer_id, source_event_id): (CustomerId, EventId),
    reason: &str,
    now: Timestamp,
) -> AppResult<()> {
    tx.insert_void(&CommissionVoid {
        workspace_id: commission.workspace_id,
        customer_id,
        source_event_id,
        rule_id: commission.rule_id.clone(),
        plan_version_id: commission.plan_version_id,
        reason: reason.into(),
        voided_at: now,
    })
    .await?;
    let existing = tx.customer_commissions(customer_id).await?;
    let pending: Vec<&CommissionRecord> = existing
        .iter()
        .filter(|c| {
            // Each credited partner's part is reversed by their own approval job: the void
            // (the customer's) stands for all of them.
            c.partner_id == commission.partner_id
                && c.source == commission.source
                && c.rule_id == commission.rule_id
                && c.plan_version_id == commission.plan_version_id
                && c.state == CommissionState::Pending
        })
        .collect();
    reverse_pending(
        tx,
        commission,
        &pending,
        Some(source_event_id),
        (
            &format!("voided: {reason}"),
            &format!("voided by the plan's safeguard: {reason}"),
        ),
        "clawback_pending",
        now,
    )
    .await
    .map(|_| ())
}

/// Reverses the pending records of one commission key (pending → expense): marks them
/// reversed and writes one clawback carrying `template`'s explanation with `summary` and
/// `note`. Returns the amount reversed, in minor units (0: nothing to reverse).
#[allow(clippy::too_many_arguments)]
async fn reverse_pending(
    tx: &mut dyn Tx,
    template: &CommissionRecord,
    pending: &[&CommissionRecord],
    caused_by: Option<EventId>,
    (summary, note): (&str, &str),
    ledger_kind: &str,
    now: Timestamp,
) -> AppResult<i64> {
    let pending_minor: i64 = pending.iter().map(|c| c.amount.amount_minor).sum();
    if pending_minor <= 0 {
        return Ok(0);
    }
    let first = template;
    reverse_all(tx, pending).await?;
    let amount = Money::new(-pending_minor, first.amount.currency);
    let mut explanation = first.explanation.clone();
    explanation.summary = summary.to_string();
    explanation.notes.push(note.to_string());
    explanation.owed = Money::zero(amount.currency);
    explanation.previously_posted_minor = pending_minor;
    explanation.posted = amount;
    let record = CommissionRecord {
        id: CommissionId(new_uuid()),
        workspace_id: first.workspace_id,
        program_id: first.program_id,
        partner_id: first.partner_id,
        customer_id: first.customer_id,
        source: first.source.clone(),
        caused_by_event_id: caused_by,
        rule_id: first.rule_id.clone(),
        plan_version_id: first.plan_version_id,
        kind: CommissionKind::Clawback,
        amount,
        state: CommissionState::Reversed,
        hold_until: now,
        payout_batch_id: None,
        explanation,
        created_at: now,
    };
    let transaction = Transaction::clawed_back_pending(first.partner_id, amount.negate())?;
    write_commission(tx, &record, &transaction, ledger_kind, now).await?;
    Ok(pending_minor)
}

/// Forfeits every pending commission of a partner in a program (a termination under terms
/// that forfeit): each key's pending amount is reversed, pending → expense, with `reason`
/// in its explanation, and the key is recorded so no later derivation owes it to them
/// again. Returns the keys forfeited and their total in minor units.
pub(crate) async fn forfeit_pending(
    tx: &mut dyn Tx,
    program: &Program,
    partner_id: PartnerId,
    reason: &str,
    now: Timestamp,
) -> AppResult<(usize, i64)> {
    // Take each customer's turn first, as an approval or a refund would (PostgreSQL runs
    // writers side by side); then read what is pending under those locks.
    let pending = pending_of(tx, program, partner_id).await?;
    let mut customers: Vec<CustomerId> = pending.iter().filter_map(|c| c.customer_id).collect();
    customers.sort();
    customers.dedup();
    for customer_id in customers {
        if let Some(customer) = tx.customer(program.workspace_id, customer_id).await? {
            let (scope, key) =
                crate::ingest::customer_lock(program.workspace_id, &customer.external_id);
            tx.lock_key(scope, &key).await?;
        }
    }
    tx.lock_key(
        "partner-period",
        &format!("{}:{partner_id}", program.workspace_id),
    )
    .await?;
    let pending = pending_of(tx, program, partner_id).await?;
    let mut groups: std::collections::BTreeMap<
        (String, String, PlanVersionId),
        Vec<&CommissionRecord>,
    > = std::collections::BTreeMap::new();
    for commission in &pending {
        let source = match &commission.source {
            Source::Event(id) => id.to_string(),
            Source::Key(key) => key.clone(),
        };
        groups
            .entry((
                source,
                commission.rule_id.clone(),
                commission.plan_version_id,
            ))
            .or_default()
            .push(commission);
    }
    let (mut keys, mut total) = (0usize, 0i64);
    for ((source, rule_id, version_id), records) in groups {
        let pending_minor: i64 = records.iter().map(|c| c.amount.amount_minor).sum();
        if pending_minor <= 0 {
            continue;
        }
        tx.insert_forfeit(&tributary_store::CommissionForfeit {
            workspace_id: program.workspace_id,
            program_id: program.id,
            partner_id,
            source,
            rule_id,
            plan_version_id: version_id,
            reason: reason.to_string(),
            forfeited_at: now,
        })
        .await?;
        let note = format!("forfeited: {reason}");
        let first = records[0];
        reverse_pending(
            tx,
            first,
            &records,
            first.caused_by_event_id,
            (&note, &note),
            "forfeited_pending",
            now,
        )
        .await?;
        keys += 1;
        total += pending_minor;
    }
    Ok((keys, total))
}

/// Every pending commission of a partner in a program.
async fn pending_of(
    tx: &mut dyn Tx,
    program: &Program,
    partner_id: PartnerId,
) -> AppResult<Vec<CommissionRecord>> {
    let filter = tributary_store::CommissionFilter {
        partner_id: Some(partner_id),
        customer_id: None,
        state: Some(CommissionState::Pending),
    };
    let mut all = Vec::new();
    let mut offset = 0u32;
    loop {
        let page = tributary_store::Page {
            limit: tributary_store::Page::MAX_LIMIT,
            offset,
        };
        let batch = tx.commissions(program.workspace_id, &filter, page).await?;
        let done = batch.len() < page.limit as usize;
        all.extend(batch.into_iter().filter(|c| c.program_id == program.id));
        if done || offset >= 1_000_000 - page.limit {
            return Ok(all);
        }
        offset += page.limit;
    }
}
