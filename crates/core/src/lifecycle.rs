//! The partner lifecycle a program configures (issue 6): its public page and application
//! form, the partner groups it recruits (each with its own archetype, pitch and questions),
//! the vetting scorecard and automatic rules, the reapply cool-down, and the program's stage.
//! Stored as one JSON document per program (`programs.lifecycle_json`); every section has a
//! default, so a program created before issue 6 reads as an open program with no questions.
//!
//! Pure: the app measures (gate metrics, capacity in use) and decides who acts; this module
//! says what a form accepts, what an application scores and which stage allows what.

pub mod form;
pub mod merge;
pub mod stage;
pub mod terms;
pub mod tiers;
pub mod vetting;

use serde::{Deserialize, Serialize};

pub use form::{Answers, Applicant, Question, QuestionKind};
pub use stage::{Gate, GateMetric, Stage, StageName};
pub use vetting::{Criterion, Decision, Measure, Rule, Score, Test, Verdict};

/// Groups a program may recruit at most.
pub const MAX_GROUPS: usize = 20;
/// Characters in a headline, a group name or a reason at most.
pub const MAX_LABEL_LEN: usize = 200;
/// Characters of Markdown in a value proposition at most.
pub const MAX_PITCH_LEN: usize = 10_000;
/// The longest reapply cool-down, in days.
pub const MAX_COOLDOWN_DAYS: u32 = 3_650;
/// The partner archetypes of the seed; `other` is a program's own (named by its group).
pub const ARCHETYPES: [&str; 6] = [
    "reseller",
    "influencer",
    "consultant",
    "platform_integration",
    "customer_advocate",
    "other",
];

/// One program's lifecycle settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProgramLifecycle {
    /// The public page's headline; empty: the program's name.
    pub headline: String,
    /// Markdown shown on the public page above the form.
    pub value_proposition: String,
    /// Questions every applicant answers, whatever their group.
    pub questions: Vec<Question>,
    /// The groups the program recruits; an applicant picks one. Empty: no groups.
    pub groups: Vec<GroupProfile>,
    /// Weighted criteria scoring each application from 0 to 100.
    pub scorecard: Vec<Criterion>,
    /// Automatic decisions, first match wins; no match: the review queue.
    pub rules: Vec<Rule>,
    /// Days a rejected applicant waits before applying to this program again.
    pub reapply_cooldown_days: u32,
    pub stage: Stage,
    /// Whether a partner past a terms version's grace period without accepting it stops
    /// earning until they accept (`lifecycle::terms`).
    pub stop_earning_without_terms: bool,
    /// The onboarding checklist's steps, in order (keys of [`CHECKLIST_STEPS`]).
    pub checklist: Vec<String>,
    /// Tiers by measured performance, reviewed on a schedule.
    pub tiers: tiers::TierLadder,
}

/// Every onboarding step a checklist may hold, in their default order.
pub const CHECKLIST_STEPS: [&str; 8] = [
    "profile_complete",
    "payout_details",
    "tax_form",
    "terms_accepted",
    "first_link",
    "first_click",
    "first_referral",
    "training_completed",
];

impl Default for ProgramLifecycle {
    fn default() -> Self {
        ProgramLifecycle {
            headline: String::new(),
            value_proposition: String::new(),
            questions: Vec::new(),
            groups: Vec::new(),
            scorecard: Vec::new(),
            rules: Vec::new(),
            reapply_cooldown_days: 30,
            stage: Stage::default(),
            stop_earning_without_terms: true,
            checklist: CHECKLIST_STEPS
                .iter()
                .map(|step| step.to_string())
                .collect(),
            tiers: tiers::TierLadder::default(),
        }
    }
}

/// A partner group as recruited: its key is the group name plans and conditions use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupProfile {
    /// The group's key (`Enrollment::partner_group`, `PlanScope::Group`).
    pub key: String,
    /// What applicants see ("Agencies", "YouTube creators").
    pub name: String,
    /// One of [`ARCHETYPES`].
    pub archetype: String,
    /// Markdown pitch for this group.
    #[serde(default)]
    pub value_proposition: String,
    /// Asked of this group's applicants after the program's own questions.
    #[serde(default)]
    pub questions: Vec<Question>,
}

/// Why a lifecycle document was refused; `field` is a path into the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LifecycleError {
    pub field: String,
    pub message: String,
}

impl LifecycleError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        LifecycleError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A key: 1 to 64 characters of lower-case letters, digits, `-` and `_`.
pub fn is_key(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn label(field: &str, text: &str, required: bool) -> Result<(), LifecycleError> {
    if required && text.trim().is_empty() {
        return Err(LifecycleError::new(field, "is required"));
    }
    if text.chars().count() > MAX_LABEL_LEN {
        return Err(LifecycleError::new(
            field,
            format!("at most {MAX_LABEL_LEN} characters"),
        ));
    }
    Ok(())
}

impl ProgramLifecycle {
    /// Checks every section; the first problem is returned with its path.
    pub fn validate(&self) -> Result<(), LifecycleError> {
        label("headline", &self.headline, false)?;
        if self.value_proposition.chars().count() > MAX_PITCH_LEN {
            return Err(LifecycleError::new(
                "value_proposition",
                format!("at most {MAX_PITCH_LEN} characters"),
            ));
        }
        form::validate_questions("questions", &self.questions, &[])?;
        if self.groups.len() > MAX_GROUPS {
            return Err(LifecycleError::new(
                "groups",
                format!("at most {MAX_GROUPS} groups"),
            ));
        }
        for (index, group) in self.groups.iter().enumerate() {
            let at = format!("groups[{index}]");
            if !is_key(&group.key) {
                return Err(LifecycleError::new(
                    format!("{at}.key"),
                    "1 to 64 characters of a-z, 0-9, '-' and '_'",
                ));
            }
            if self.groups[..index].iter().any(|g| g.key == group.key) {
                return Err(LifecycleError::new(
                    format!("{at}.key"),
                    "two groups have this key",
                ));
            }
            label(&format!("{at}.name"), &group.name, true)?;
            if !ARCHETYPES.contains(&group.archetype.as_str()) {
                return Err(LifecycleError::new(
                    format!("{at}.archetype"),
                    format!("one of {}", ARCHETYPES.join(", ")),
                ));
            }
            if group.value_proposition.chars().count() > MAX_PITCH_LEN {
                return Err(LifecycleError::new(
                    format!("{at}.value_proposition"),
                    format!("at most {MAX_PITCH_LEN} characters"),
                ));
            }
            form::validate_questions(
                &format!("{at}.questions"),
                &group.questions,
                &self.questions,
            )?;
        }
        let known = |id: &str| self.question(id).is_some();
        vetting::validate(&self.scorecard, &self.rules, &known)?;
        if self.reapply_cooldown_days > MAX_COOLDOWN_DAYS {
            return Err(LifecycleError::new(
                "reapply_cooldown_days",
                format!("at most {MAX_COOLDOWN_DAYS}"),
            ));
        }
        for (index, step) in self.checklist.iter().enumerate() {
            if !CHECKLIST_STEPS.contains(&step.as_str()) {
                return Err(LifecycleError::new(
                    format!("checklist[{index}]"),
                    format!("one of {}", CHECKLIST_STEPS.join(", ")),
                ));
            }
            if self.checklist[..index].contains(step) {
                return Err(LifecycleError::new(
                    format!("checklist[{index}]"),
                    "listed twice",
                ));
            }
        }
        self.tiers.validate()?;
        self.stage.validate()
    }

    pub fn group(&self, key: &str) -> Option<&GroupProfile> {
        self.groups.iter().find(|group| group.key == key)
    }

    /// A question by id, from the program's own or any group's.
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions
            .iter()
            .chain(self.groups.iter().flat_map(|group| group.questions.iter()))
            .find(|question| question.id == id)
    }

    /// The questions an applicant to `group` answers: the program's, then the group's.
    pub fn questions_for<'a>(&'a self, group: Option<&'a GroupProfile>) -> Vec<&'a Question> {
        self.questions
            .iter()
            .chain(group.into_iter().flat_map(|group| group.questions.iter()))
            .collect()
    }
}

#[cfg(test)]
mod tests;
