//! Pay per click (ADR 0006): a daily job per program counts each partner's human clicks
//! (`clicks - bot_clicks` in the daily counts) and posts what the plan's `click` rules owe
//! beyond what is posted, as commissions keyed `clicks:<day>` that name no customer.
//!
//! The job for day D runs [`ROLLUP_DELAY_MILLIS`] after D ends and re-derives every day of
//! D's quarter up to D: a day's clicks that reached the counts late are paid by the next
//! rollup as the difference, and caps per partner per period follow the days in order.
//! Each day is paid under the plan version in force for the partner when the day starts.
//! When it has run it schedules the next day's job, for as long as a version pays clicks.

use crate::AppResult;
use crate::lifecycle::standing::Standing;
use crate::plans::PlanBook;
use crate::posting::{Segment, enqueue, post_deltas, posted_of};
use std::collections::BTreeMap;
use tributary_core::click_reward::{
    DayClicks, click_key, day_of_click_key, day_start, owed_for_clicks,
};
use tributary_core::commission;
use tributary_core::period::Period;
use tributary_core::plan::Plan;
use tributary_core::*;
use tributary_store::{CommissionRecord, PartnerDayClicks, PlanVersion, Program, Tx};

pub const JOB_CLICKS: &str = "rollup_clicks";

/// How long after a UTC day ends its clicks are counted: clicks written through the event
/// log (tier 2) reach the daily counts a little after they happen.
pub const ROLLUP_DELAY_MILLIS: i64 = 60 * 60 * 1000;

/// How far back a click plan's first rollup starts (a plan may take effect in the past).
pub const MAX_CATCH_UP_DAYS: u32 = 366;

pub fn pays_clicks(plan: &Plan) -> bool {
    plan.rules.iter().any(|rule| rule.pays_clicks())
}

/// Schedules the rollup of `day` (days since the epoch) for `program`; a no-op when it is
/// scheduled already.
pub async fn schedule(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    day: i64,
    now: Timestamp,
) -> AppResult<()> {
    enqueue(
        tx,
        workspace_id,
        JOB_CLICKS,
        serde_json::json!({ "program_id": program_id, "day": day }),
        format!("{JOB_CLICKS}:{program_id}:{day}"),
        day_start(day + 1).plus_millis(ROLLUP_DELAY_MILLIS),
        now,
        false,
    )
    .await
}

/// Starts the daily rollups for a plan that pays clicks from `from` on (at most
/// [`MAX_CATCH_UP_DAYS`] back).
pub async fn schedule_from(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    plan: &Plan,
    from: Timestamp,
    now: Timestamp,
) -> AppResult<()> {
    if !pays_clicks(plan) {
        return Ok(());
    }
    let first = from.max(now.minus_days(MAX_CATCH_UP_DAYS)).epoch_day();
    schedule(tx, workspace_id, program_id, first, now).await
}

/// Rolls up `day`: posts, for every partner with clicks in the program in the day's quarter
/// up to and including `day`, what the click rules owe beyond what is posted; then schedules
/// the next day. Returns the commissions written.
pub async fn rollup(
    tx: &mut dyn Tx,
    program: &Program,
    day: i64,
    now: Timestamp,
) -> AppResult<usize> {
    let book = PlanBook::load(tx, program.id).await?;
    if !book
        .versions
        .iter()
        .any(|version| pays_clicks(&version.plan))
    {
        return Ok(0);
    }
    let first_day = Period::Quarter.start(day_start(day)).epoch_day();
    let counts = tx
        .partner_daily_clicks(program.id, first_day, day + 1)
        .await?;
    let mut by_partner: BTreeMap<PartnerId, Vec<PartnerDayClicks>> = BTreeMap::new();
    for row in counts {
        by_partner.entry(row.partner_id).or_default().push(row);
    }
    let mut written = 0;
    for (partner_id, days) in by_partner {
        tx.lock_key(
            "partner-period",
            &format!("{}:{partner_id}", program.workspace_id),
        )
        .await?;
        let segment = Segment::load(tx, program.id, partner_id).await?;
        let standing = Standing::load(
            tx,
            program.id,
            partner_id,
            crate::lifecycle::standing::horizon(now),
        )
        .await?;
        let days = earning_days(&days, &standing);
        let existing = tx
            .keyed_commissions(
                program.id,
                partner_id,
                &click_key(first_day),
                &click_key(day + 1),
            )
            .await?;
        for (version, days) in days_by_version(&book, partner_id, segment.group.as_deref(), &days) {
            let owed: Vec<_> = owed_for_clicks(&version.plan, version.id, segment.facts(), &days)
                .into_iter()
                .filter(|owed| !standing.forfeited(version.id, &owed.source, &owed.rule_id))
                .collect();
            let posted = posted_of(&existing, |c| {
                c.plan_version_id == version.id
                    && is_click_commission(c)
                    && !standing.forfeited(version.id, &c.source, &c.rule_id)
            });
            let deltas = commission::deltas(owed, &posted);
            written += post_deltas(
                tx, program, version, partner_id, None, None, deltas, &existing, now,
            )
            .await?
            .len();
        }
    }
    schedule(tx, program.workspace_id, program.id, day + 1, now).await?;
    Ok(written)
}

/// The days a partner earned on: not those starting inside a pause (suspended,
/// terminated, terms not accepted in time).
pub fn earning_days(days: &[PartnerDayClicks], standing: &Standing) -> Vec<PartnerDayClicks> {
    days.iter()
        .filter(|row| standing.earning_at(day_start(row.day)))
        .cloned()
        .collect()
}

/// Groups a partner's days by the version in force when each day starts, keeping only
/// versions that pay clicks.
pub fn days_by_version<'b>(
    book: &'b PlanBook,
    partner_id: PartnerId,
    group: Option<&'b str>,
    days: &[PartnerDayClicks],
) -> Vec<(&'b PlanVersion, Vec<DayClicks>)> {
    let mut out: Vec<(&PlanVersion, Vec<DayClicks>)> = Vec::new();
    for row in days {
        let Some(version) = book.resolve(partner_id, group, day_start(row.day)) else {
            continue;
        };
        if !pays_clicks(&version.plan) {
            continue;
        }
        let day = DayClicks {
            day: row.day,
            clicks: row.clicks,
            bot_clicks: row.bot_clicks,
        };
        match out.iter_mut().find(|(v, _)| v.id == version.id) {
            Some((_, list)) => list.push(day),
            None => out.push((version, vec![day])),
        }
    }
    out
}

/// Whether a commission pays a day's clicks.
pub fn is_click_commission(commission: &CommissionRecord) -> bool {
    commission.source.key().and_then(day_of_click_key).is_some()
}
