//! Onboarding: a program's checklist, each step done by the fact that proves it (a saved
//! profile, payout details, a tax form, the current terms accepted, the first link, click
//! and referral, every training module finished), read from those facts rather than
//! ticked by hand, so a step can never say done when it is not. The admin funnel counts
//! how many partners are stuck at each step and the median time to a first referral.

use super::{ACTIVE_STATUSES, lifecycle_of};
use crate::{App, AppError, AppResult};
use tributary_core::*;
use tributary_store::{Enrollment, Partner, Tx};

/// Partners one funnel reads at most.
pub const MAX_FUNNEL_PARTNERS: usize = 5_000;

/// One step of a partner's checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub key: &'static str,
    pub label: &'static str,
    /// What to do, for the partner.
    pub hint: &'static str,
    /// Where to do it.
    pub href: &'static str,
    pub done_at: Option<Timestamp>,
}

fn describe(key: &str) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    Some(match key {
        "profile_complete" => (
            "profile_complete",
            "Complete your profile",
            "Add your website and country.",
            "/portal/profile",
        ),
        "payout_details" => (
            "payout_details",
            "Add payout details",
            "Tell us where to send your money.",
            "/portal/profile",
        ),
        "tax_form" => (
            "tax_form",
            "Send your tax form",
            "Mark your tax form as sent on your profile.",
            "/portal/profile",
        ),
        "terms_accepted" => (
            "terms_accepted",
            "Accept the program terms",
            "Read and accept the current terms.",
            "/portal/programs",
        ),
        "first_link" => (
            "first_link",
            "Get your first link",
            "Ask for or create a tracking link.",
            "/portal",
        ),
        "first_click" => (
            "first_click",
            "Get your first click",
            "Share your link.",
            "/portal",
        ),
        "first_referral" => (
            "first_referral",
            "Refer your first customer",
            "A customer signs up through you.",
            "/portal/customers",
        ),
        "training_completed" => (
            "training_completed",
            "Finish the training",
            "Read each module and mark it finished.",
            "/portal/library",
        ),
        _ => return None,
    })
}

/// A partner's checklist in one program.
pub async fn checklist(
    tx: &mut dyn Tx,
    partner: &Partner,
    enrollment: &Enrollment,
) -> AppResult<Vec<Step>> {
    let program_id = enrollment.program_id;
    let lifecycle = lifecycle_of(tx, program_id).await?;
    let profile = tx.partner_profile(partner.id).await?;
    let firsts = tx.partner_firsts(program_id, partner.id).await?;
    let current_terms = tx.terms_versions(program_id).await?.into_iter().next();
    let accepted = tx.terms_acceptances(program_id, Some(partner.id)).await?;
    let modules: Vec<_> = tx
        .contents(program_id, Some("training"))
        .await?
        .into_iter()
        .filter(|module| {
            module
                .partner_group
                .as_ref()
                .is_none_or(|group| enrollment.partner_group.as_ref() == Some(group))
        })
        .collect();
    let completions = tx.training_completions(program_id, partner.id).await?;
    let joined = enrollment.created_at;
    let profile_at = profile.as_ref().map(|p| p.updated_at);
    let mut steps = Vec::new();
    for key in &lifecycle.checklist {
        let Some((key, label, hint, href)) = describe(key) else {
            continue;
        };
        let done_at = match key {
            "profile_complete" => profile
                .as_ref()
                .filter(|p| p.website.is_some() && p.country.is_some())
                .map(|p| p.updated_at),
            "payout_details" => partner
                .payout_email
                .as_ref()
                .map(|_| profile_at.unwrap_or(partner.created_at)),
            "tax_form" => profile
                .as_ref()
                .filter(|p| p.tax_form_status != "none")
                .map(|p| p.updated_at),
            "terms_accepted" => match &current_terms {
                None => Some(joined),
                Some(current) => accepted
                    .iter()
                    .filter(|a| a.version >= current.version)
                    .map(|a| a.accepted_at)
                    .min(),
            },
            "first_link" => firsts.first_link_at,
            "first_click" => firsts
                .first_click_day
                .map(|day| Timestamp::from_millis(day * 86_400_000)),
            "first_referral" => firsts.first_referral_at,
            "training_completed" => {
                if modules.is_empty() {
                    Some(joined)
                } else {
                    let done: Vec<Timestamp> = modules
                        .iter()
                        .filter_map(|module| {
                            completions
                                .iter()
                                .find(|c| c.content_id == module.id)
                                .map(|c| c.completed_at)
                        })
                        .collect();
                    (done.len() == modules.len())
                        .then(|| done.into_iter().max())
                        .flatten()
                }
            }
            _ => None,
        };
        steps.push(Step {
            key,
            label,
            hint,
            href,
            done_at,
        });
    }
    Ok(steps)
}

/// A partner's checklist in each program they are active in.
pub async fn partner_checklists(
    app: &App,
    workspace_id: WorkspaceId,
    partner: &Partner,
) -> AppResult<Vec<(ProgramId, Vec<Step>)>> {
    let mut tx = app.store.read().await?;
    let enrollments = super::content::enrollments_of(tx.as_mut(), workspace_id, partner.id).await?;
    let mut out = Vec::new();
    for enrollment in enrollments {
        out.push((
            enrollment.program_id,
            checklist(tx.as_mut(), partner, &enrollment).await?,
        ));
    }
    Ok(out)
}

/// One step of the funnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelStep {
    pub key: &'static str,
    pub label: &'static str,
    /// Partners who have done this step.
    pub done: usize,
    /// Partners for whom this is the first step not done.
    pub stuck: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funnel {
    pub partners: usize,
    pub steps: Vec<FunnelStep>,
    /// Median from joining to the first referral, among partners who referred; hours.
    pub median_hours_to_first_referral: Option<i64>,
    /// Partners read (at most [`MAX_FUNNEL_PARTNERS`]).
    pub truncated: bool,
}

/// A program's onboarding funnel over its active partners.
pub async fn funnel(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
) -> AppResult<Funnel> {
    let mut tx = app.store.read().await?;
    tx.program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let mut enrollments: Vec<Enrollment> =
        crate::plans::program_enrollments(tx.as_mut(), workspace_id, program_id)
            .await?
            .into_iter()
            .filter(|e| ACTIVE_STATUSES.contains(&e.status.as_str()))
            .collect();
    let truncated = enrollments.len() > MAX_FUNNEL_PARTNERS;
    enrollments.truncate(MAX_FUNNEL_PARTNERS);
    let mut steps: Vec<FunnelStep> = Vec::new();
    let mut to_referral: Vec<i64> = Vec::new();
    for enrollment in &enrollments {
        let Some(partner) = tx.partner(workspace_id, enrollment.partner_id).await? else {
            continue;
        };
        let list = checklist(tx.as_mut(), &partner, enrollment).await?;
        if steps.is_empty() {
            steps = list
                .iter()
                .map(|step| FunnelStep {
                    key: step.key,
                    label: step.label,
                    done: 0,
                    stuck: 0,
                })
                .collect();
        }
        let mut stuck_marked = false;
        for (slot, step) in steps.iter_mut().zip(&list) {
            if step.done_at.is_some() {
                slot.done += 1;
            } else if !stuck_marked {
                slot.stuck += 1;
                stuck_marked = true;
            }
            if step.key == "first_referral"
                && let Some(at) = step.done_at
            {
                to_referral.push((at.millis() - enrollment.created_at.millis()).max(0));
            }
        }
    }
    to_referral.sort_unstable();
    let median = match to_referral.len() {
        0 => None,
        n if n % 2 == 1 => Some(to_referral[n / 2]),
        n => Some((to_referral[n / 2 - 1] + to_referral[n / 2]) / 2),
    };
    Ok(Funnel {
        partners: enrollments.len(),
        steps,
        median_hours_to_first_referral: median.map(|millis| millis / 3_600_000),
        truncated,
    })
}
