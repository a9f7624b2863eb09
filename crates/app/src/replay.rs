//! Plan simulation (ADR 0005, "Replay"): runs a period's stored events through the current
//! plans and through a proposed plan, into scratch totals (the real ledger is never
//! touched), and compares them: total cost, cost per acquired and per retained customer,
//! per-partner deltas, cost by archetype and tier. Deterministic: only stored facts and the
//! plans go in, everything is sorted, no clock is read.
//!
//! Events are read once, in storage order, through one read transaction, and held compactly
//! (about 70 bytes each plus their metadata, interned) until each customer's history is
//! evaluated; lines are kept only for rules that are settled per period (tiers, period
//! caps) or under a budget, everything else is summed as it is derived.

use crate::plans::PlanBook;
use crate::{AppError, AppResult};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use tributary_core::attribution::Credit;
use tributary_core::attribution::{BoundShare, bound_credits};
use tributary_core::click_reward::{DayClicks, day_of_click_key, day_start, owed_for_clicks};
use tributary_core::commission::{Owed, Source, StoredEvent};
use tributary_core::engine::{CustomerFacts, CustomerSummary, Engine, Line, PartnerFacts};
use tributary_core::event::{EventFacts, EventKind, condition_facts};
use tributary_core::multitouch::Role;
use tributary_core::period::Period;
use tributary_core::plan::Plan;
use tributary_core::*;
use tributary_store::{Partner, PartnerDayClicks, PlanVersion, Program, Store};

/// Events read per page.
pub const PAGE: u32 = 50_000;

#[derive(Debug, Clone)]
pub struct ReplayRequest {
    pub workspace_id: WorkspaceId,
    /// The program whose events are replayed; its plans are "current".
    pub program_id: ProgramId,
    /// The plan to compare with; `None` replays the current plans alone.
    pub proposed: Option<Plan>,
    /// Commissions of events in `[from, to)` are counted; history before `from` still
    /// informs them (first purchases, tiers of a period that began earlier).
    pub from: Timestamp,
    pub to: Timestamp,
    /// Keep every (event, rule) amount of the current plans (for equivalence checks).
    pub keep_keys: bool,
}

/// One side of the comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Side {
    pub total_minor: i64,
    pub commissions: u64,
    /// Per partner, minor units.
    pub by_partner: BTreeMap<PartnerId, i64>,
    pub by_archetype: BTreeMap<String, i64>,
    pub by_tier: BTreeMap<String, i64>,
    /// Per (source, rule id): only with `keep_keys`, current side only.
    pub keys: BTreeMap<(Source, String), i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRow {
    pub partner_id: PartnerId,
    pub name: String,
    pub archetype: String,
    pub tier: String,
    pub current_minor: i64,
    pub proposed_minor: i64,
}

impl PartnerRow {
    pub fn delta(&self) -> i64 {
        self.proposed_minor - self.current_minor
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub program: String,
    pub currency: Currency,
    pub from: Timestamp,
    pub to: Timestamp,
    pub events_read: u64,
    pub events_in_range: u64,
    pub customers: u64,
    /// Customers whose first purchase is in the range.
    pub acquired: u64,
    /// Of those, still active at the end of the range.
    pub retained: u64,
    pub current: Side,
    pub proposed: Option<Side>,
    pub partners: Vec<PartnerRow>,
}

/// An event held between reading and evaluation.
#[derive(Clone, Copy)]
struct Compact {
    /// The partner's ordinal: events sort by partner first, so each partner's period
    /// settlement runs once their customers are done, and their lines can go.
    partner: u32,
    customer: u32,
    id: EventId,
    at: i64,
    amount: i64,
    currency: Currency,
    kind: EventKind,
    has_amount: bool,
    /// A hash of the invoice id (0: none): refunds find their sales by it, within a customer.
    invoice: u64,
    milestone: u16,
    metadata: u32,
}

const NONE16: u16 = u16::MAX;
const NONE32: u32 = u32::MAX;

struct Interner {
    milestones: Vec<String>,
    milestone_index: HashMap<String, u16>,
    metadata: Vec<std::sync::Arc<BTreeMap<String, String>>>,
    metadata_index: HashMap<String, u32>,
}

impl Interner {
    fn milestone(&mut self, name: Option<String>) -> u16 {
        let Some(name) = name else { return NONE16 };
        if let Some(&index) = self.milestone_index.get(&name) {
            return index;
        }
        let index = self.milestones.len().min(usize::from(NONE16 - 1)) as u16;
        self.milestones.push(name.clone());
        self.milestone_index.insert(name, index);
        index
    }

    fn metadata(&mut self, json: Option<String>) -> u32 {
        let Some(json) = json else { return NONE32 };
        if let Some(&index) = self.metadata_index.get(&json) {
            return index;
        }
        let index = self.metadata.len() as u32;
        self.metadata
            .push(std::sync::Arc::new(condition_facts(Some(&json))));
        self.metadata_index.insert(json, index);
        index
    }
}

fn invoice_hash(invoice: &str) -> u64 {
    // SipHash with fixed keys: the same text hashes the same in every run.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    invoice.hash(&mut hasher);
    hasher.finish().max(1)
}

/// Per-plan accumulation: lines kept for level 2 and 3, and sums for the rest.
struct Accumulator<'p> {
    engine: Engine<'p>,
    version: Option<PlanVersionId>,
    keep_all: bool,
    /// Lines of rules settled per period (all lines under a budget), with their partner.
    /// With whether minimum engagement voids the line's commission (see [`voided`]).
    kept: Vec<(PartnerId, Line, bool)>,
    /// Where the current partner's kept lines start.
    partner_start: usize,
    /// The current partner's customers, for bonuses.
    summaries: Vec<CustomerSummary>,
}

impl<'p> Accumulator<'p> {
    fn new(plan: &'p Plan, version: Option<PlanVersionId>) -> Self {
        Accumulator {
            keep_all: plan.budget.is_some(),
            engine: Engine::new(plan),
            version,
            kept: Vec::new(),
            partner_start: 0,
            summaries: Vec::new(),
        }
    }
}

/// The part of a customer's credit evaluation reads: one per credited partner.
#[derive(Debug, Clone, Copy)]
struct Held {
    partner_id: PartnerId,
    share_bp: u32,
    touched_at: Option<Timestamp>,
    role: Option<&'static str>,
    /// The customer's largest share: acquisition and retention count the customer there.
    lead: bool,
}

impl Held {
    fn of(credit: &Credit, lead: bool) -> Held {
        Held {
            partner_id: credit.partner_id,
            share_bp: credit.share_bp,
            touched_at: credit.touched_at,
            role: Role::parse(&credit.role).map(Role::as_str),
            lead,
        }
    }
}

struct PartnerInfo {
    partner: Option<Partner>,
    group: Option<String>,
    tier: Option<String>,
    /// When they did not earn (suspended, terminated, terms not accepted in time).
    standing: crate::lifecycle::standing::Standing,
}

/// Runs the replay. Reads through one read transaction of `store`.
pub async fn replay(store: &dyn Store, request: &ReplayRequest) -> AppResult<ReplayReport> {
    if request.to <= request.from {
        return Err(AppError::invalid(
            "to",
            "the range must end after it starts",
        ));
    }
    if let Some(plan) = &request.proposed {
        plan.validate()
            .map_err(|error| AppError::invalid(&format!("plan.{}", error.path), error.message))?;
    }
    let mut tx = store.read().await?;
    let program: Program = tx
        .program(request.workspace_id, request.program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let book = PlanBook::load(tx.as_mut(), program.id).await?;

    // Customers credited in this program, numbered, with only what evaluation reads (their
    // external id and each credit's partner, share and touch): millions of them are held.
    // A customer credited to several partners holds a slot per partner, after each other.
    let all_customers = tx.all_customers(request.workspace_id).await?;
    let mut shares_of: HashMap<CustomerId, Vec<BoundShare>> = HashMap::new();
    for (customer_id, share) in tx.workspace_customer_shares(request.workspace_id).await? {
        shares_of.entry(customer_id).or_default().push(share);
    }
    let mut customers: Vec<(String, Held)> = Vec::with_capacity(all_customers.len());
    // The customer's first slot and their number.
    let mut customer_index: HashMap<CustomerId, (u32, u32)> =
        HashMap::with_capacity(all_customers.len());
    for customer in all_customers {
        let Some(binding) = customer
            .binding
            .as_ref()
            .filter(|binding| binding.program_id == program.id)
        else {
            continue;
        };
        let shares = shares_of.get(&customer.id).map_or(&[][..], Vec::as_slice);
        let credits = bound_credits(
            binding,
            shares,
            program.attribution.model.name(),
            program.window_days,
        );
        customer_index.insert(customer.id, (customers.len() as u32, credits.len() as u32));
        match credits.as_slice() {
            [only] => customers.push((customer.external_id, Held::of(only, true))),
            several => {
                for (n, credit) in several.iter().enumerate() {
                    customers.push((customer.external_id.clone(), Held::of(credit, n == 0)));
                }
            }
        }
    }

    // Partners, their archetype, group and tier.
    let mut partners: BTreeMap<PartnerId, PartnerInfo> = BTreeMap::new();
    for enrollment in
        crate::plans::program_enrollments(tx.as_mut(), request.workspace_id, program.id).await?
    {
        partners.insert(
            enrollment.partner_id,
            PartnerInfo {
                partner: None,
                group: enrollment.partner_group,
                tier: enrollment.tier,
                standing: Default::default(),
            },
        );
    }
    // Clicks (ADR 0006): every day of the quarter the range starts in (caps per period run
    // in day order from the period's start) to the last day starting in the range.
    let pays_clicks = book
        .versions
        .iter()
        .map(|version| &version.plan)
        .chain(request.proposed.as_ref())
        .any(crate::click_pay::pays_clicks);
    let mut clicks: BTreeMap<PartnerId, Vec<PartnerDayClicks>> = BTreeMap::new();
    if pays_clicks {
        let first_day = Period::Quarter.start(request.from).epoch_day();
        let end_day = request.to.plus_millis(-1).epoch_day() + 1;
        for row in tx
            .partner_daily_clicks(program.id, first_day, end_day)
            .await?
        {
            clicks.entry(row.partner_id).or_default().push(row);
        }
    }
    for partner_id in customers
        .iter()
        .map(|(_, credit)| credit.partner_id)
        .chain(clicks.keys().copied())
    {
        partners.entry(partner_id).or_insert(PartnerInfo {
            partner: None,
            group: None,
            tier: None,
            standing: Default::default(),
        });
    }
    for (id, info) in partners.iter_mut() {
        info.partner = tx.partner(request.workspace_id, *id).await?;
        info.standing = crate::lifecycle::standing::Standing::load(
            tx.as_mut(),
            program.id,
            *id,
            Timestamp::from_millis(i64::MAX / 2),
        )
        .await?;
    }

    let ordinal: HashMap<PartnerId, u32> = partners
        .keys()
        .enumerate()
        .map(|(n, id)| (*id, n as u32))
        .collect();
    let customer_partner: Vec<u32> = customers
        .iter()
        .map(|(_, credit)| ordinal.get(&credit.partner_id).copied().unwrap_or(0))
        .collect();

    // Events, in storage order, compacted.
    let mut interner = Interner {
        milestones: Vec::new(),
        milestone_index: HashMap::new(),
        metadata: Vec::new(),
        metadata_index: HashMap::new(),
    };
    // Sized once: growing a vector of millions by doubling copies it again and again.
    let estimate = tx.event_count_estimate().await?.min(1 << 31) as usize;
    let mut compact: Vec<Compact> = Vec::with_capacity(estimate + estimate / 16);
    let mut events_read = 0u64;
    let mut cursor = None;
    loop {
        let (page, next) = tx.replay_events(request.workspace_id, cursor, PAGE).await?;
        events_read += page.len() as u64;
        for row in page {
            let Some(&(first, slots)) = customer_index.get(&row.customer_id) else {
                continue;
            };
            let facts = row.event.facts;
            if facts.occurred_at >= request.to {
                continue;
            }
            let item = Compact {
                partner: customer_partner[first as usize],
                customer: first,
                id: row.event.id,
                at: facts.occurred_at.millis(),
                amount: facts.amount.map_or(0, |amount| amount.amount_minor),
                currency: facts
                    .amount
                    .map_or(program.currency, |amount| amount.currency),
                kind: facts.kind,
                has_amount: facts.amount.is_some(),
                invoice: facts.invoice_id.as_deref().map_or(0, invoice_hash),
                milestone: interner.milestone(facts.milestone),
                metadata: interner.metadata(row.metadata_json),
            };
            compact.push(item);
            for slot in first + 1..first + slots {
                compact.push(Compact {
                    partner: customer_partner[slot as usize],
                    customer: slot,
                    ..item
                });
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    drop(tx);
    compact.sort_unstable_by_key(|item| (item.partner, item.customer, item.at, item.id));

    // Evaluate customer by customer.
    let windows_of: BTreeMap<PartnerId, Vec<crate::plans::Window<'_>>> = partners
        .iter()
        .map(|(id, info)| (*id, book.windows(*id, info.group.as_deref())))
        .collect();
    let mut current: Vec<Accumulator<'_>> = book
        .versions
        .iter()
        .map(|version: &PlanVersion| Accumulator::new(&version.plan, Some(version.id)))
        .collect();
    let mut proposed = request
        .proposed
        .as_ref()
        .map(|plan| Accumulator::new(plan, None));
    // Bonuses are judged under the plan in force for the partner when the period ends.
    let in_force = |version: Option<PlanVersionId>, partner: PartnerId, period_end: Timestamp| {
        let Some(version) = version else {
            return true;
        };
        let group = partners
            .get(&partner)
            .and_then(|info| info.group.as_deref());
        book.resolve(partner, group, period_end.plus_millis(-1))
            .is_some_and(|in_force| in_force.id == version)
    };
    let mut current_side = Side::default();
    let mut proposed_side = Side::default();
    let mut acquired = 0u64;
    let mut retained = 0u64;
    let mut events_in_range = 0u64;
    let mut buffer: Vec<StoredEvent> = Vec::new();
    let mut lines: Vec<Line> = Vec::new();
    let empty = std::sync::Arc::new(BTreeMap::new());
    let from = request.from;
    let to = request.to;
    let mut start = 0;
    let mut previous_partner: Option<PartnerId> = None;
    while start < compact.len() {
        let customer = compact[start].customer;
        let mut end = start + 1;
        while end < compact.len() && compact[end].customer == customer {
            end += 1;
        }
        let (record, credit) = &customers[customer as usize];
        if let Some(done) = previous_partner.filter(|previous| *previous != credit.partner_id) {
            let range = (from, to, request.keep_keys);
            flush_all(
                &mut current,
                &mut proposed,
                &mut current_side,
                &mut proposed_side,
                done,
                range,
                &in_force,
            );
        }
        previous_partner = Some(credit.partner_id);
        // Invoice ids only matter to match refunds with sales: spelled out only then.
        let reversals = compact[start..end]
            .iter()
            .any(|item| item.kind.is_reversal());
        buffer.clear();
        for (n, item) in compact[start..end].iter().enumerate() {
            let at = Timestamp::from_millis(item.at);
            // Counted once, in the customer's largest share.
            if at >= from && credit.lead {
                events_in_range += 1;
            }
            buffer.push(StoredEvent {
                id: item.id,
                facts: EventFacts {
                    kind: item.kind,
                    // Evaluation reads the customer's id from the first event only.
                    customer_external_id: if n == 0 {
                        record.clone()
                    } else {
                        String::new()
                    },
                    click_id: None,
                    amount: item
                        .has_amount
                        .then(|| Money::new(item.amount, item.currency)),
                    occurred_at: at,
                    invoice_id: (reversals && item.invoice != 0)
                        .then(|| format!("{:016x}", item.invoice)),
                    milestone: (item.milestone != NONE16)
                        .then(|| interner.milestones[usize::from(item.milestone)].clone()),
                },
                metadata: if item.metadata == NONE32 {
                    empty.clone()
                } else {
                    interner.metadata[item.metadata as usize].clone()
                },
            });
        }
        start = end;
        let info = partners.get(&credit.partner_id);
        let segment = PartnerFacts {
            group: info.and_then(|info| info.group.as_deref()),
            tier: info.and_then(|info| info.tier.as_deref()),
            role: credit.role,
        };
        let partner_index = credit.partner_id;
        let pauses: &[tributary_core::engine::Pause] =
            info.map_or(&[], |info| info.standing.pauses.as_slice());
        // Current plans: each window of the partner's versions.
        let mut summary_seen = None;
        if let Some(windows) = windows_of.get(&credit.partner_id) {
            for window in windows {
                let Some(acc) = current
                    .iter_mut()
                    .find(|acc| acc.version == Some(window.version.id))
                else {
                    continue;
                };
                lines.clear();
                let summary = acc.engine.customer(
                    &CustomerFacts {
                        events: &buffer,
                        touched_at: Some(
                            credit
                                .touched_at
                                .map_or(window.from, |touched| touched.max(window.from)),
                        ),
                        earn_until: window.until,
                        share_bp: credit.share_bp,
                        partner: segment,
                        as_of: to,
                        paused: pauses,
                    },
                    &mut lines,
                );
                absorb(
                    acc,
                    &lines,
                    partner_index,
                    from,
                    to,
                    &buffer,
                    &mut current_side,
                    request.keep_keys,
                    info.map(|info| &info.standing),
                );
                if !acc.engine.plan.bonuses.is_empty() {
                    acc.summaries.push(summary.clone());
                }
                summary_seen = Some(summary);
            }
        }
        if let Some(acc) = proposed.as_mut() {
            lines.clear();
            let summary = acc.engine.customer(
                &CustomerFacts {
                    events: &buffer,
                    touched_at: credit.touched_at,
                    earn_until: None,
                    share_bp: credit.share_bp,
                    partner: segment,
                    as_of: to,
                    paused: pauses,
                },
                &mut lines,
            );
            absorb(
                acc,
                &lines,
                partner_index,
                from,
                to,
                &buffer,
                &mut proposed_side,
                false,
                None,
            );
            if !acc.engine.plan.bonuses.is_empty() {
                acc.summaries.push(summary.clone());
            }
            summary_seen = summary_seen.or(Some(summary));
        }
        if let Some(summary) = summary_seen.filter(|_| credit.lead)
            && let Some((first_at, _)) = summary.first_purchase
            && first_at >= from
            && first_at < to
        {
            acquired += 1;
            if summary.active_at(to) {
                retained += 1;
            }
        }
    }

    if let Some(done) = previous_partner {
        let range = (from, to, request.keep_keys);
        flush_all(
            &mut current,
            &mut proposed,
            &mut current_side,
            &mut proposed_side,
            done,
            range,
            &in_force,
        );
    }
    for acc in current.iter_mut() {
        finish_budget(acc, from, to, &mut current_side, request.keep_keys);
    }
    if let Some(acc) = proposed.as_mut() {
        finish_budget(acc, from, to, &mut proposed_side, false);
    }
    for (partner_id, days) in &clicks {
        let info = partners.get(partner_id);
        let group = info.and_then(|info| info.group.as_deref());
        let facts = PartnerFacts {
            group,
            tier: info.and_then(|info| info.tier.as_deref()),
            role: None,
        };
        let days = match info {
            Some(info) => crate::click_pay::earning_days(days, &info.standing),
            None => days.clone(),
        };
        for (version, days) in crate::click_pay::days_by_version(&book, *partner_id, group, &days) {
            for owed in owed_for_clicks(&version.plan, version.id, facts, &days) {
                count_clicks(
                    &mut current_side,
                    *partner_id,
                    &owed,
                    (from, to),
                    request.keep_keys,
                );
            }
        }
        if let Some(plan) = &request.proposed {
            let all: Vec<DayClicks> = days
                .iter()
                .map(|row| DayClicks {
                    day: row.day,
                    clicks: row.clicks,
                    bot_clicks: row.bot_clicks,
                })
                .collect();
            for owed in owed_for_clicks(plan, PlanVersionId(uuid::Uuid::nil()), facts, &all) {
                count_clicks(&mut proposed_side, *partner_id, &owed, (from, to), false);
            }
        }
    }

    // Per-partner rows and groupings.
    let mut rows = Vec::new();
    for (id, info) in &partners {
        let current_minor = current_side.by_partner.get(id).copied().unwrap_or(0);
        let proposed_minor = proposed_side.by_partner.get(id).copied().unwrap_or(0);
        let archetype = info
            .partner
            .as_ref()
            .map_or_else(|| "unknown".to_string(), |p| p.archetype.clone());
        let tier = info.tier.clone().unwrap_or_else(|| "none".into());
        for (side, amount) in [
            (&mut current_side, current_minor),
            (&mut proposed_side, proposed_minor),
        ] {
            *side.by_archetype.entry(archetype.clone()).or_default() += amount;
            *side.by_tier.entry(tier.clone()).or_default() += amount;
        }
        rows.push(PartnerRow {
            partner_id: *id,
            name: info
                .partner
                .as_ref()
                .map_or_else(String::new, |p| p.name.clone()),
            archetype,
            tier,
            current_minor,
            proposed_minor,
        });
    }
    rows.sort_by(|a, b| {
        b.delta()
            .cmp(&a.delta())
            .then(a.partner_id.cmp(&b.partner_id))
    });
    Ok(ReplayReport {
        program: program.name.clone(),
        currency: program.currency,
        from,
        to,
        events_read,
        events_in_range,
        customers: customer_index.len() as u64,
        acquired,
        retained,
        current: current_side,
        proposed: request.proposed.as_ref().map(|_| proposed_side),
        partners: rows,
    })
}

#[allow(clippy::too_many_arguments)]
fn absorb(
    acc: &mut Accumulator<'_>,
    lines: &[Line],
    partner: PartnerId,
    from: Timestamp,
    to: Timestamp,
    events: &[StoredEvent],
    side: &mut Side,
    keep_keys: bool,
    // The partner's standing under the current plans: a key they forfeited posts nothing
    // more, as in the ledger.
    standing: Option<&crate::lifecycle::standing::Standing>,
) {
    for line in lines {
        let rule = &acc.engine.plan.rules[line.rule as usize];
        let forfeited = match (standing, acc.version) {
            (Some(standing), Some(version)) => standing.forfeited(
                version,
                &tributary_core::commission::Source::Event(line.source_event_id),
                &rule.id,
            ),
            _ => false,
        };
        let void = forfeited || voided(acc.engine.plan, events, line, to);
        if acc.keep_all || acc.engine.plan.settled_per_period(rule) {
            acc.kept.push((partner, *line, void));
            continue;
        }
        if line.at < from || line.at >= to || (void && line.amount.amount_minor > 0) {
            continue;
        }
        count(side, partner, line, &rule.id, keep_keys);
    }
}

/// Whether the approval job voids the commission of `line` by `to` for want of minimum
/// engagement (`engine::approval`; decided by facts up to the engagement deadline only, so
/// the same whenever it runs). Only earnings are voided: a line that settles to a negative
/// amount posts a clawback, which is never held for engagement.
fn voided(plan: &Plan, events: &[StoredEvent], line: &Line, to: Timestamp) -> bool {
    plan.safeguards.approve_after.is_some()
        && matches!(
            tributary_core::engine::approval(plan, events, line.at, to),
            tributary_core::engine::Approval::Void(_)
        )
}

fn count(side: &mut Side, partner: PartnerId, line: &Line, rule_id: &str, keep_keys: bool) {
    if line.amount.amount_minor == 0 {
        return;
    }
    side.total_minor += line.amount.amount_minor;
    side.commissions += 1;
    *side.by_partner.entry(partner).or_default() += line.amount.amount_minor;
    if keep_keys {
        *side
            .keys
            .entry((Source::Event(line.source_event_id), rule_id.to_string()))
            .or_default() += line.amount.amount_minor;
    }
}

/// Counts a day's click commission if the day starts in `[from, to)`.
fn count_clicks(
    side: &mut Side,
    partner: PartnerId,
    owed: &Owed,
    (from, to): (Timestamp, Timestamp),
    keep_keys: bool,
) {
    let Some(day) = owed.source.key().and_then(day_of_click_key) else {
        return;
    };
    let starts = day_start(day);
    if owed.amount.amount_minor == 0 || starts < from || starts >= to {
        return;
    }
    side.total_minor += owed.amount.amount_minor;
    side.commissions += 1;
    *side.by_partner.entry(partner).or_default() += owed.amount.amount_minor;
    if keep_keys {
        *side
            .keys
            .entry((owed.source.clone(), owed.rule_id.clone()))
            .or_default() += owed.amount.amount_minor;
    }
}

/// One partner's customers are done, for every current version and the proposal. `range`
/// is (from, to, keep keys of the current side).
fn flush_all(
    current: &mut [Accumulator<'_>],
    proposed: &mut Option<Accumulator<'_>>,
    current_side: &mut Side,
    proposed_side: &mut Side,
    partner: PartnerId,
    (from, to, keep_keys): (Timestamp, Timestamp, bool),
    in_force: &dyn Fn(Option<PlanVersionId>, PartnerId, Timestamp) -> bool,
) {
    for acc in current.iter_mut() {
        flush(acc, partner, from, to, current_side, keep_keys, in_force);
    }
    if let Some(acc) = proposed.as_mut() {
        flush(acc, partner, from, to, proposed_side, false, in_force);
    }
}

/// One partner's customers are done: settles their periods (level 2), counts what is not
/// held for a budget, and judges their bonuses.
fn flush(
    acc: &mut Accumulator<'_>,
    partner: PartnerId,
    from: Timestamp,
    to: Timestamp,
    side: &mut Side,
    keep_keys: bool,
    in_force: &dyn Fn(Option<PlanVersionId>, PartnerId, Timestamp) -> bool,
) {
    let start = acc.partner_start;
    if start < acc.kept.len() {
        let mut slice: Vec<Line> = acc.kept[start..].iter().map(|(_, line, _)| *line).collect();
        acc.engine.settle_periods(&mut slice);
        if acc.keep_all {
            for (slot, line) in acc.kept[start..].iter_mut().zip(slice) {
                slot.1 = line;
            }
        } else {
            for (line, (_, _, void)) in slice.iter().zip(&acc.kept[start..]) {
                if line.at >= from && line.at < to && !(*void && line.amount.amount_minor > 0) {
                    let rule_id = &acc.engine.plan.rules[line.rule as usize].id;
                    count(side, partner, line, rule_id, keep_keys);
                }
            }
            acc.kept.truncate(start);
        }
    }
    acc.partner_start = acc.kept.len();
    let summaries = std::mem::take(&mut acc.summaries);
    if summaries.is_empty() {
        return;
    }
    for award in acc.engine.bonuses(&summaries, to) {
        if award.period_start < from
            || award.period_start >= to
            || award.amount.amount_minor == 0
            || !in_force(acc.version, partner, award.period_end)
        {
            continue;
        }
        side.total_minor += award.amount.amount_minor;
        side.commissions += 1;
        *side.by_partner.entry(partner).or_default() += award.amount.amount_minor;
        if keep_keys {
            let bonus = &acc.engine.plan.bonuses[usize::from(award.bonus)];
            let key = format!(
                "bonus:{}:{}",
                bonus.id,
                bonus.period.label(award.period_start)
            );
            *side
                .keys
                .entry((Source::Key(key), bonus.id.clone()))
                .or_default() += award.amount.amount_minor;
        }
    }
}

/// Level 3: under a budget, every line was held; the budget applies across partners.
fn finish_budget(
    acc: &mut Accumulator<'_>,
    from: Timestamp,
    to: Timestamp,
    side: &mut Side,
    keep_keys: bool,
) {
    if !acc.keep_all {
        return;
    }
    let mut all: Vec<Line> = acc.kept.iter().map(|(_, line, _)| *line).collect();
    acc.engine.apply_budget(&mut all);
    for ((partner, _, void), line) in acc.kept.iter().zip(&all) {
        if line.at >= from && line.at < to && !(*void && line.amount.amount_minor > 0) {
            let rule_id = &acc.engine.plan.rules[line.rule as usize].id;
            count(side, *partner, line, rule_id, keep_keys);
        }
    }
    acc.kept.clear();
}

fn money(minor: i64, currency: Currency) -> String {
    Money::new(minor, currency).to_string()
}

fn per(total: i64, count: u64, currency: Currency) -> String {
    Money::new(total, currency)
        .per(count)
        .map_or_else(|| "n/a".into(), |each| each.to_string())
}

impl ReplayReport {
    /// The report as text, for the terminal.
    pub fn text(&self) -> String {
        let c = self.currency;
        let mut out = String::new();
        let date = |at: Timestamp| tributary_core::period::date_of(at).to_string();
        let _ = writeln!(
            out,
            "Replay of {} from {} to {} (end exclusive)",
            self.program,
            date(self.from),
            date(self.to)
        );
        let _ = writeln!(
            out,
            "{} events read, {} in range, {} credited customers, {} acquired, {} retained",
            self.events_read, self.events_in_range, self.customers, self.acquired, self.retained
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<28}{:>20}{:>20}{:>20}",
            "", "current", "proposed", "delta"
        );
        let proposed = self.proposed.as_ref();
        let row = |out: &mut String,
                   label: &str,
                   current: String,
                   proposed: Option<String>,
                   delta: Option<String>| {
            let _ = writeln!(
                out,
                "{:<28}{:>20}{:>20}{:>20}",
                label,
                current,
                proposed.unwrap_or_else(|| "-".into()),
                delta.unwrap_or_else(|| "-".into())
            );
        };
        let pt = proposed.map(|p| p.total_minor);
        row(
            &mut out,
            "Total cost",
            money(self.current.total_minor, c),
            pt.map(|t| money(t, c)),
            pt.map(|t| money(t - self.current.total_minor, c)),
        );
        row(
            &mut out,
            "Commissions",
            self.current.commissions.to_string(),
            proposed.map(|p| p.commissions.to_string()),
            None,
        );
        row(
            &mut out,
            "Cost per acquired customer",
            per(self.current.total_minor, self.acquired, c),
            pt.map(|t| per(t, self.acquired, c)),
            None,
        );
        row(
            &mut out,
            "Cost per retained customer",
            per(self.current.total_minor, self.retained, c),
            pt.map(|t| per(t, self.retained, c)),
            None,
        );
        for (title, current, other) in [
            (
                "By archetype",
                &self.current.by_archetype,
                proposed.map(|p| &p.by_archetype),
            ),
            (
                "By tier",
                &self.current.by_tier,
                proposed.map(|p| &p.by_tier),
            ),
        ] {
            let _ = writeln!(out);
            let _ = writeln!(out, "{title}");
            for (key, amount) in current {
                let theirs = other.and_then(|o| o.get(key)).copied();
                row(
                    &mut out,
                    &format!("  {key}"),
                    money(*amount, c),
                    theirs.map(|t| money(t, c)),
                    theirs.map(|t| money(t - amount, c)),
                );
            }
        }
        if proposed.is_some() {
            let _ = writeln!(out);
            let _ = writeln!(out, "Top gainers");
            for partner in self.partners.iter().filter(|p| p.delta() > 0).take(5) {
                let _ = writeln!(
                    out,
                    "  {:<40}{:>20}",
                    partner.name,
                    money(partner.delta(), c)
                );
            }
            let _ = writeln!(out, "Top losers");
            for partner in self.partners.iter().rev().filter(|p| p.delta() < 0).take(5) {
                let _ = writeln!(
                    out,
                    "  {:<40}{:>20}",
                    partner.name,
                    money(partner.delta(), c)
                );
            }
        }
        out
    }

    /// One row per partner: id, name, archetype, tier, current, proposed, delta (minor units).
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "partner_id,name,archetype,tier,currency,current_minor,proposed_minor,delta_minor\n",
        );
        let mut rows: Vec<&PartnerRow> = self.partners.iter().collect();
        rows.sort_by_key(|row| row.partner_id);
        for row in rows {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                row.partner_id,
                csv_field(&row.name),
                csv_field(&row.archetype),
                csv_field(&row.tier),
                self.currency,
                row.current_minor,
                row.proposed_minor,
                row.delta()
            );
        }
        out
    }
}

/// Quotes a CSV field when it needs it, and defuses spreadsheet formulas.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}
