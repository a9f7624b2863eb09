//! Which plan version derives which commission (ADR 0005, precedence): a partner's own
//! override, then their group's plan, then the program's default; within a scope, the
//! version with the latest `effective_from` at or before the event. Also new plan versions:
//! validated, numbered, and made effective from a given instant.

use crate::{AppError, AppResult, new_uuid};
use tributary_core::plan::Plan;
use tributary_core::*;
use tributary_store::{PlanScope, PlanVersion, Tx};

/// A program's plan versions, all scopes.
#[derive(Debug, Clone)]
pub struct PlanBook {
    pub versions: Vec<PlanVersion>,
}

/// A stretch of event time one version covers for one partner: `[from, until)`.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub version: &'a PlanVersion,
    pub from: Timestamp,
    pub until: Option<Timestamp>,
}

impl Window<'_> {
    pub fn contains(&self, at: Timestamp) -> bool {
        at >= self.from && self.until.is_none_or(|until| at < until)
    }
}

impl PlanBook {
    pub async fn load(tx: &mut dyn Tx, program_id: ProgramId) -> AppResult<PlanBook> {
        let versions = tx.plan_versions(program_id).await?;
        if versions.is_empty() {
            return Err(AppError::Internal("the program has no plan version".into()));
        }
        Ok(PlanBook { versions })
    }

    fn scoped<'a>(
        &'a self,
        partner_id: PartnerId,
        group: Option<&'a str>,
    ) -> [Vec<&'a PlanVersion>; 3] {
        let of = |wanted: &dyn Fn(&PlanScope) -> bool| {
            self.versions
                .iter()
                .filter(|version| wanted(&version.scope))
                .collect::<Vec<_>>()
        };
        [
            of(&|scope| scope == &PlanScope::Partner(partner_id)),
            of(
                &|scope| matches!((scope, group), (PlanScope::Group(name), Some(group)) if name == group),
            ),
            of(&|scope| scope == &PlanScope::Program),
        ]
    }

    /// The version that derives an event of `partner_id` (in `group`) occurring at `at`.
    pub fn resolve<'a>(
        &'a self,
        partner_id: PartnerId,
        group: Option<&'a str>,
        at: Timestamp,
    ) -> Option<&'a PlanVersion> {
        for scope in self.scoped(partner_id, group) {
            let chosen = scope
                .into_iter()
                .filter(|version| version.effective_from <= at)
                .max_by_key(|version| (version.effective_from, version.version));
            if chosen.is_some() {
                return chosen;
            }
        }
        None
    }

    /// The stretches of time each version covers for this partner, in time order.
    pub fn windows<'a>(&'a self, partner_id: PartnerId, group: Option<&'a str>) -> Vec<Window<'a>> {
        let mut starts: Vec<Timestamp> = self
            .scoped(partner_id, group)
            .into_iter()
            .flatten()
            .map(|version| version.effective_from)
            .collect();
        starts.push(Timestamp::from_millis(i64::MIN));
        starts.sort();
        starts.dedup();
        let mut windows: Vec<Window<'a>> = Vec::new();
        for (index, &from) in starts.iter().enumerate() {
            let Some(version) = self.resolve(partner_id, group, from) else {
                continue;
            };
            let until = starts.get(index + 1).copied();
            match windows.last_mut() {
                Some(last) if last.version.id == version.id => last.until = until,
                _ => windows.push(Window {
                    version,
                    from,
                    until,
                }),
            }
        }
        windows
    }
}

/// Adds a plan version: validated, numbered after the program's last, effective from
/// `effective_from` (not before `now` unless it is the scope's first version: history
/// already posted is not re-derived by a new plan). A new program default becomes the
/// program's current version.
pub async fn add_version(
    tx: &mut dyn Tx,
    program_id: ProgramId,
    plan: Plan,
    scope: PlanScope,
    effective_from: Timestamp,
    now: Timestamp,
) -> AppResult<PlanVersion> {
    plan.validate()
        .map_err(|error| AppError::invalid(&format!("plan.{}", error.path), error.message))?;
    let existing = tx.plan_versions(program_id).await?;
    let first_of_scope = !existing.iter().any(|version| version.scope == scope);
    if effective_from < now && !first_of_scope {
        return Err(AppError::invalid(
            "effective_from",
            "a new version of an existing plan takes effect now or later; use replay to see what it would have done",
        ));
    }
    let version = PlanVersion {
        id: PlanVersionId(new_uuid()),
        program_id,
        version: existing.iter().map(|v| v.version).max().unwrap_or(0) + 1,
        plan,
        scope,
        effective_from,
        created_at: now,
    };
    tx.insert_plan_version(&version).await?;
    if version.scope == PlanScope::Program {
        tx.set_program_plan_version(program_id, version.id).await?;
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn version(n: i64, scope: PlanScope, from: i64) -> PlanVersion {
        PlanVersion {
            id: PlanVersionId(Uuid::from_u128(n as u128)),
            program_id: ProgramId(Uuid::from_u128(99)),
            version: n,
            plan: Plan::simple(None, None),
            scope,
            effective_from: Timestamp::from_millis(from),
            created_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn partner_beats_group_beats_program_and_later_versions_take_over() {
        let ada = PartnerId(Uuid::from_u128(1));
        let bob = PartnerId(Uuid::from_u128(2));
        let book = PlanBook {
            versions: vec![
                version(1, PlanScope::Program, 0),
                version(2, PlanScope::Group("resellers".into()), 100),
                version(3, PlanScope::Partner(ada), 200),
                version(4, PlanScope::Program, 300),
            ],
        };
        let at = |n| Timestamp::from_millis(n);
        let resolved = |partner, group, t| {
            book.resolve(partner, group, at(t))
                .map(|version| version.version)
        };
        assert_eq!(resolved(bob, None, 50), Some(1));
        assert_eq!(resolved(bob, None, 350), Some(4));
        assert_eq!(resolved(bob, Some("resellers"), 50), Some(1));
        assert_eq!(resolved(bob, Some("resellers"), 150), Some(2));
        // The group's plan stays in force for the group after the default changes.
        assert_eq!(resolved(bob, Some("resellers"), 350), Some(2));
        assert_eq!(resolved(ada, Some("resellers"), 250), Some(3));
        assert_eq!(resolved(ada, None, 150), Some(1));
        let windows: Vec<(i64, i64, Option<i64>)> = book
            .windows(ada, Some("resellers"))
            .iter()
            .map(|w| {
                (
                    w.version.version,
                    w.from.millis(),
                    w.until.map(|u| u.millis()),
                )
            })
            .collect();
        assert_eq!(
            windows,
            vec![(1, 0, Some(100)), (2, 100, Some(200)), (3, 200, None)]
        );
    }
}

/// A new plan version as the API and the admin UI send it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    pub plan: Plan,
    /// `program` (the default), `group` or `partner`.
    #[serde(default)]
    pub scope: Option<String>,
    /// The group's name, for `scope: group`.
    #[serde(default)]
    pub group: Option<String>,
    /// The partner, for `scope: partner`.
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// RFC 3339; now when absent.
    #[serde(default)]
    pub effective_from: Option<String>,
}

pub const MAX_GROUP_LEN: usize = 64;

fn group_name(field: &str, text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_GROUP_LEN || text.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            field,
            format!("1 to {MAX_GROUP_LEN} characters without control characters"),
        ));
    }
    Ok(text.to_string())
}

/// Every enrollment in one program, read page by page.
pub async fn program_enrollments(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
) -> AppResult<Vec<tributary_store::Enrollment>> {
    use tributary_store::Page;
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let page = tx
            .enrollments(
                workspace_id,
                None,
                Page::new(Some(Page::MAX_LIMIT), Some(offset)),
            )
            .await?;
        let full = page.len() == Page::MAX_LIMIT as usize;
        all.extend(page.into_iter().filter(|e| e.program_id == program_id));
        if !full {
            return Ok(all);
        }
        offset += Page::MAX_LIMIT;
    }
}

/// Adds a version to a program of the workspace (see [`add_version`]).
pub async fn create_version(
    app: &crate::App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    input: NewVersion,
) -> AppResult<PlanVersion> {
    let now = app.now();
    let effective_from = match input.effective_from.as_deref() {
        None => now,
        Some(text) => crate::ingest::parse_time(text).ok_or_else(|| {
            AppError::invalid(
                "effective_from",
                "effective_from must be an RFC 3339 time such as 2026-12-01T00:00:00Z",
            )
        })?,
    };
    let mut tx = app.store.write().await?;
    tx.program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let scope = match input.scope.as_deref().unwrap_or("program") {
        "program" => PlanScope::Program,
        "group" => PlanScope::Group(group_name(
            "group",
            input.group.as_deref().unwrap_or_default(),
        )?),
        "partner" => {
            let partner_id = input.partner_id.ok_or_else(|| {
                AppError::invalid("partner_id", "a partner plan needs partner_id")
            })?;
            tx.enrollment(program_id, partner_id)
                .await?
                .ok_or_else(|| {
                    AppError::invalid("partner_id", "the partner is not enrolled in this program")
                })?;
            PlanScope::Partner(partner_id)
        }
        _ => {
            return Err(AppError::invalid(
                "scope",
                "scope must be program, group or partner",
            ));
        }
    };
    let version = add_version(
        tx.as_mut(),
        program_id,
        input.plan,
        scope,
        effective_from,
        now,
    )
    .await?;
    crate::click_pay::schedule_from(
        tx.as_mut(),
        workspace_id,
        program_id,
        &version.plan,
        effective_from,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// A partner's group and tier in a program, as the API sends them.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub tier: Option<String>,
}

pub async fn set_segment(
    app: &crate::App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
    input: SegmentInput,
) -> AppResult<tributary_store::Enrollment> {
    let group = input
        .group
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .map(|text| group_name("group", text))
        .transpose()?;
    let tier = input
        .tier
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .map(|text| group_name("tier", text))
        .transpose()?;
    let mut tx = app.store.write().await?;
    tx.program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    if !tx
        .set_enrollment_segment(program_id, partner_id, group.as_deref(), tier.as_deref())
        .await?
    {
        return Err(AppError::NotFound("enrollment"));
    }
    let enrollment = tx
        .enrollment(program_id, partner_id)
        .await?
        .ok_or(AppError::NotFound("enrollment"))?;
    tx.commit().await?;
    Ok(enrollment)
}

/// What a simulation is asked for: a proposed plan (or none: the current plans alone) over
/// a range of days, `from` and `to` included.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationInput {
    #[serde(default)]
    pub plan: Option<Plan>,
    /// `YYYY-MM-DD`.
    pub from: String,
    /// `YYYY-MM-DD`, included.
    pub to: String,
}

pub async fn simulate(
    app: &crate::App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    input: SimulationInput,
) -> AppResult<crate::replay::ReplayReport> {
    use tributary_core::period::parse_date;
    let from = parse_date(input.from.trim())
        .ok_or_else(|| AppError::invalid("from", "from must be a date such as 2026-01-01"))?;
    let to = parse_date(input.to.trim())
        .ok_or_else(|| AppError::invalid("to", "to must be a date such as 2026-09-30"))?
        .plus_days(1);
    if to <= from {
        return Err(AppError::invalid("to", "to must not be before from"));
    }
    crate::replay::replay(
        app.store.as_ref(),
        &crate::replay::ReplayRequest {
            workspace_id,
            program_id,
            proposed: input.plan,
            from,
            to,
            keep_keys: false,
        },
    )
    .await
}

/// A partner's perks in one program: their tier there and what the plan in force gives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Perks {
    pub program_id: ProgramId,
    pub program: String,
    pub tier: Option<String>,
    pub perks: Vec<String>,
    /// Every tier the plan names perks for, so a partner sees what the next tier brings.
    pub by_tier: Vec<tributary_core::plan::TierPerks>,
}

pub async fn perks(
    app: &crate::App,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
) -> AppResult<Vec<Perks>> {
    let now = app.now();
    let mut tx = app.store.read().await?;
    let enrollments = tx
        .enrollments(
            workspace_id,
            Some(partner_id),
            tributary_store::Page::first(tributary_store::Page::MAX_LIMIT),
        )
        .await?;
    let mut out = Vec::new();
    for enrollment in enrollments {
        let Some(program) = tx.program(workspace_id, enrollment.program_id).await? else {
            continue;
        };
        let book = PlanBook::load(tx.as_mut(), program.id).await?;
        let Some(version) = book.resolve(partner_id, enrollment.partner_group.as_deref(), now)
        else {
            continue;
        };
        let perks = enrollment
            .tier
            .as_deref()
            .map(|tier| version.plan.perks_of(tier).to_vec())
            .unwrap_or_default();
        out.push(Perks {
            program_id: program.id,
            program: program.name,
            tier: enrollment.tier,
            perks,
            by_tier: version.plan.perks.clone(),
        });
    }
    Ok(out)
}
