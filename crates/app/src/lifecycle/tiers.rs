//! Tiers by measured performance, reviewed on a schedule: a `review_tiers` job per program
//! measures every active partner over the ladder's trailing window, moves each to the
//! highest tier they reach (promotion or demotion), tells them by email and audits it, then
//! schedules the next review. Also the measurements the portal, the leaderboard and the
//! stage gates show.

use super::{ACTIVE_STATUSES, Audit, audit, lifecycle_of};
use crate::mail::{self, Outgoing};
use crate::{App, AppError, AppResult};
use serde_json::json;
use tributary_core::lifecycle::stage::{Gate, GateMetric, roi_percent};
use tributary_core::lifecycle::tiers::{Performance, TierLadder};
use tributary_core::period::{Period, date_of};
use tributary_core::*;
use tributary_store::{LeaderRow, Program, Tx};

pub const JOB_REVIEW_TIERS: &str = "review_tiers";
/// Leaderboard rows at most.
pub const LEADERBOARD_SIZE: u32 = 25;

/// Schedules a program's tier review at `at` (once per program and day).
pub async fn schedule_review(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    at: Timestamp,
    now: Timestamp,
) -> AppResult<()> {
    crate::posting::enqueue(
        tx,
        workspace_id,
        JOB_REVIEW_TIERS,
        json!({ "program_id": program_id }),
        format!("{JOB_REVIEW_TIERS}:{program_id}:{}", at.epoch_day()),
        at,
        now,
        false,
    )
    .await
}

/// A partner's performance in a program over the ladder's window ending at `now`.
pub async fn measure(
    tx: &mut dyn Tx,
    program_id: ProgramId,
    partner_id: PartnerId,
    ladder: &TierLadder,
    now: Timestamp,
) -> AppResult<Performance> {
    let from = now.minus_days(ladder.window_days);
    let measured = tx
        .partner_performance(program_id, partner_id, from, now)
        .await?;
    let training_completed = if ladder.tiers.iter().any(|tier| tier.training_completed) {
        // The modules the partner can see: everyone's and their group's.
        let group = tx
            .enrollment(program_id, partner_id)
            .await?
            .and_then(|enrollment| enrollment.partner_group);
        let modules: Vec<_> = tx
            .contents(program_id, Some("training"))
            .await?
            .into_iter()
            .filter(|module| {
                module
                    .partner_group
                    .as_ref()
                    .is_none_or(|only| group.as_ref() == Some(only))
            })
            .collect();
        let done = tx.training_completions(program_id, partner_id).await?;
        modules
            .iter()
            .all(|module| done.iter().any(|c| c.content_id == module.id))
    } else {
        false
    };
    Ok(Performance {
        revenue_minor: measured.revenue_minor,
        retained_customers: measured.retained_customers.max(0) as u64,
        new_customers: measured.new_customers.max(0) as u64,
        human_clicks: measured.human_clicks.max(0) as u64,
        training_completed,
    })
}

/// One partner's move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierChange {
    pub partner_id: PartnerId,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Reviews every active partner's tier in a program (the job's body, inside its
/// transaction), then schedules the next review.
pub async fn review(
    tx: &mut dyn Tx,
    app_link: &crate::mail::Mailer,
    program: &Program,
    now: Timestamp,
) -> AppResult<Vec<TierChange>> {
    let lifecycle = lifecycle_of(tx, program.id).await?;
    let ladder = &lifecycle.tiers;
    if ladder.tiers.is_empty() {
        return Ok(Vec::new());
    }
    let enrollments =
        crate::plans::program_enrollments(tx, program.workspace_id, program.id).await?;
    let mut changes = Vec::new();
    for enrollment in enrollments
        .into_iter()
        .filter(|e| ACTIVE_STATUSES.contains(&e.status.as_str()))
    {
        let performance = measure(tx, program.id, enrollment.partner_id, ladder, now).await?;
        let reached = ladder.tier_for(&performance).map(|tier| tier.name.clone());
        if reached == enrollment.tier {
            continue;
        }
        tx.set_enrollment_segment(
            program.id,
            enrollment.partner_id,
            enrollment.partner_group.as_deref(),
            reached.as_deref(),
        )
        .await?;
        let rank = |name: &Option<String>| {
            name.as_ref()
                .and_then(|name| ladder.tiers.iter().position(|t| &t.name == name))
                .map_or(-1, |index| index as i64)
        };
        let promoted = rank(&reached) > rank(&enrollment.tier);
        let action = if promoted {
            "tier.promoted"
        } else {
            "tier.demoted"
        };
        audit(
            tx,
            program.workspace_id,
            now,
            Audit {
                actor: "schedule",
                action,
                subject: format!("partner:{}", enrollment.partner_id),
                reason: "",
                detail: json!({
                    "program_id": program.id,
                    "from": enrollment.tier,
                    "to": reached,
                    "performance": performance,
                }),
            },
        )
        .await?;
        if let Some(partner) = tx
            .partner(program.workspace_id, enrollment.partner_id)
            .await?
        {
            let name = |tier: &Option<String>| tier.clone().unwrap_or_else(|| "no tier".into());
            let body = format!(
                "Hello {},\n\nYour tier in {} is now {} (it was {}), from your results over the last {} days: net revenue {}, {} paying customers, {} new.\n\nSee your tier and its perks in the portal: {}\n",
                partner.name,
                program.name,
                name(&reached),
                name(&enrollment.tier),
                ladder.window_days,
                Money::new(performance.revenue_minor, program.currency),
                performance.retained_customers,
                performance.new_customers,
                app_link.link("/portal"),
            );
            mail::queue(
                tx,
                program.workspace_id,
                Outgoing {
                    to: &partner.email,
                    subject: &format!("{}: you are now {}", program.name, name(&reached)),
                    body: &body,
                    kind: action,
                },
                now,
            )
            .await?;
        }
        changes.push(TierChange {
            partner_id: enrollment.partner_id,
            from: enrollment.tier,
            to: reached,
        });
    }
    schedule_review(
        tx,
        program.workspace_id,
        program.id,
        now.plus_days(ladder.review_every_days),
        now,
    )
    .await?;
    Ok(changes)
}

/// The calendar quarter containing `at`: its start and end.
pub fn quarter_of(at: Timestamp) -> (Timestamp, Timestamp) {
    let start = Period::Quarter.start(at);
    (start, Period::Quarter.end(start))
}

/// A leaderboard row as shown: the partner's name only if they opted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    pub rank: usize,
    pub partner_id: PartnerId,
    /// Their display name if they opted in to being shown.
    pub shown_as: Option<String>,
    pub revenue: Money,
    pub customers: i64,
}

/// A program's top partners by net revenue over `[from, to)`.
pub async fn leaderboard(
    tx: &mut dyn Tx,
    program: &Program,
    from: Timestamp,
    to: Timestamp,
) -> AppResult<Vec<Leader>> {
    let rows: Vec<LeaderRow> = tx
        .program_leaders(program.id, from, to, LEADERBOARD_SIZE)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (index, row) in rows
        .into_iter()
        .filter(|row| row.revenue_minor > 0)
        .enumerate()
    {
        let profile = tx.partner_profile(row.partner_id).await?;
        let shown_as = match profile {
            Some(profile) if profile.show_on_leaderboard => Some(match profile.display_name {
                Some(name) => name,
                None => tx
                    .partner(program.workspace_id, row.partner_id)
                    .await?
                    .map(|partner| partner.name)
                    .unwrap_or_default(),
            }),
            _ => None,
        };
        out.push(Leader {
            rank: index + 1,
            partner_id: row.partner_id,
            shown_as,
            revenue: Money::new(row.revenue_minor, program.currency),
            customers: row.customers,
        });
    }
    Ok(out)
}

/// A stage gate with what was measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateProgress {
    pub gate: Gate,
    /// None where nothing can be measured yet (ROI without commission cost).
    pub measured: Option<i64>,
    pub met: bool,
}

/// Each gate of the program's stage, measured at `now`.
pub async fn gate_progress(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
) -> AppResult<Vec<GateProgress>> {
    let now = app.now();
    let mut tx = app.store.read().await?;
    tx.program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let lifecycle = lifecycle_of(tx.as_mut(), program_id).await?;
    let mut out = Vec::new();
    for gate in lifecycle.stage.gates {
        let measured = match gate.metric {
            GateMetric::EnrolledPartners => {
                Some(tx.count_enrollments(program_id, &["approved"]).await? as i64)
            }
            metric => {
                let totals = tx
                    .program_measures(program_id, now.minus_days(gate.window_days), now)
                    .await?;
                match metric {
                    GateMetric::ActivePartners => Some(totals.active_partners),
                    GateMetric::RevenueMinor => Some(totals.revenue_minor),
                    GateMetric::NewCustomers => Some(totals.new_customers),
                    GateMetric::RoiPercent => {
                        roi_percent(totals.revenue_minor, totals.commission_minor)
                    }
                    GateMetric::EnrolledPartners => None,
                }
            }
        };
        out.push(GateProgress {
            met: measured.is_some_and(|value| value >= gate.at_least),
            gate,
            measured,
        });
    }
    Ok(out)
}

/// The date a quarter starts, for labels (`2026-07-01`).
pub fn quarter_label(start: Timestamp) -> String {
    let date = date_of(start);
    format!("Q{} {}", (date.month - 1) / 3 + 1, date.year)
}
