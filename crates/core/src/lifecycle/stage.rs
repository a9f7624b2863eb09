//! A program's rollout stage: `pilot` (invitation only, capacity cap), `limited`
//! (applications open, capacity cap), `open`. Gates are the metric targets that say a
//! program is ready for its next stage; they are shown as progress, and moving on stays an
//! admin's decision.

use super::LifecycleError;
use serde::{Deserialize, Serialize};

pub const MAX_GATES: usize = 10;
/// The largest capacity a stage may set.
pub const MAX_CAPACITY: u32 = 1_000_000;
/// A gate measures over at most this many days.
pub const MAX_GATE_WINDOW_DAYS: u32 = 730;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    Pilot,
    Limited,
    Open,
}

impl StageName {
    pub const ALL: [StageName; 3] = [StageName::Pilot, StageName::Limited, StageName::Open];

    pub fn as_str(self) -> &'static str {
        match self {
            StageName::Pilot => "pilot",
            StageName::Limited => "limited",
            StageName::Open => "open",
        }
    }

    pub fn parse(text: &str) -> Option<StageName> {
        Self::ALL.into_iter().find(|stage| stage.as_str() == text)
    }

    /// Whether strangers may apply on the public page (a pilot is by invitation only).
    pub fn accepts_applications(self) -> bool {
        self != StageName::Pilot
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Stage {
    pub name: StageName,
    /// Active partners (approved, suspended included) the stage holds at most; `open` has
    /// no cap.
    pub capacity: Option<u32>,
    /// Targets for moving to the next stage.
    pub gates: Vec<Gate>,
}

impl Default for Stage {
    fn default() -> Self {
        Stage {
            name: StageName::Open,
            capacity: None,
            gates: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub metric: GateMetric,
    pub at_least: i64,
    /// The trailing window the metric is measured over (active partners: partners with a
    /// credited event in the window).
    #[serde(default = "default_gate_window")]
    pub window_days: u32,
}

fn default_gate_window() -> u32 {
    60
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateMetric {
    /// Partners with at least one credited event in the window.
    ActivePartners,
    /// Approved partners, whatever their activity.
    EnrolledPartners,
    /// Attributed revenue ÷ commission cost in the window, in percent (3x = 300).
    RoiPercent,
    /// Attributed revenue in the window, minor units of the program's currency.
    RevenueMinor,
    /// Customers first credited in the window.
    NewCustomers,
}

impl GateMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            GateMetric::ActivePartners => "active partners",
            GateMetric::EnrolledPartners => "enrolled partners",
            GateMetric::RoiPercent => "ROI %",
            GateMetric::RevenueMinor => "revenue (minor units)",
            GateMetric::NewCustomers => "new customers",
        }
    }
}

/// Attributed revenue over commission cost in whole percent, rounded down; none when
/// nothing was paid (no ratio to speak of).
pub fn roi_percent(revenue_minor: i64, cost_minor: i64) -> Option<i64> {
    (cost_minor > 0).then(|| {
        let percent = i128::from(revenue_minor) * 100 / i128::from(cost_minor);
        percent.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    })
}

impl Stage {
    pub(super) fn validate(&self) -> Result<(), LifecycleError> {
        match (self.name, self.capacity) {
            (StageName::Open, Some(_)) => {
                return Err(LifecycleError::new(
                    "stage.capacity",
                    "an open program has no capacity cap",
                ));
            }
            (_, Some(capacity)) if capacity == 0 || capacity > MAX_CAPACITY => {
                return Err(LifecycleError::new(
                    "stage.capacity",
                    format!("from 1 to {MAX_CAPACITY}"),
                ));
            }
            _ => {}
        }
        if self.gates.len() > MAX_GATES {
            return Err(LifecycleError::new(
                "stage.gates",
                format!("at most {MAX_GATES} gates"),
            ));
        }
        for (index, gate) in self.gates.iter().enumerate() {
            if !(1..=MAX_GATE_WINDOW_DAYS).contains(&gate.window_days) {
                return Err(LifecycleError::new(
                    format!("stage.gates[{index}].window_days"),
                    format!("from 1 to {MAX_GATE_WINDOW_DAYS}"),
                ));
            }
        }
        Ok(())
    }

    /// Whether one more partner fits, with `active` partners already in.
    pub fn has_room(&self, active: u64) -> bool {
        self.capacity
            .is_none_or(|capacity| active < u64::from(capacity))
    }
}
