//! Tiers by measured performance: a program's ladder (lowest first) with entry criteria —
//! net revenue, retained customers, conversion rate, training finished — measured over a
//! trailing window and reviewed on a schedule. A partner holds the highest tier whose every
//! criterion they meet; below the first, none.

use super::LifecycleError;
use serde::{Deserialize, Serialize};

pub const MAX_TIERS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierLadder {
    /// Lowest first. Empty: tiers are set by hand only.
    pub tiers: Vec<TierRule>,
    /// The trailing window performance is measured over.
    pub window_days: u32,
    /// How often tiers are reviewed.
    pub review_every_days: u32,
}

impl Default for TierLadder {
    fn default() -> Self {
        TierLadder {
            tiers: Vec::new(),
            window_days: 90,
            review_every_days: 7,
        }
    }
}

/// A tier and what it takes; a criterion left out is not asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    /// The tier's name (`Enrollment::tier`; plan conditions and perks use it).
    pub name: String,
    /// Net revenue (sales and renewals less refunds and chargebacks) of the partner's
    /// customers in the window, in minor units of the program's currency.
    #[serde(default)]
    pub revenue_minor: Option<i64>,
    /// Customers with a paid sale or renewal in the window.
    #[serde(default)]
    pub retained_customers: Option<u64>,
    /// New customers ÷ human clicks in the window, in basis points (2% = 200).
    #[serde(default)]
    pub conversion_rate_bp: Option<u32>,
    /// Every training module finished.
    #[serde(default)]
    pub training_completed: bool,
}

/// What was measured for one partner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Performance {
    pub revenue_minor: i64,
    pub retained_customers: u64,
    pub new_customers: u64,
    pub human_clicks: u64,
    pub training_completed: bool,
}

impl Performance {
    /// New customers per human click, in basis points, rounded down; 0 without clicks.
    pub fn conversion_rate_bp(&self) -> u32 {
        if self.human_clicks == 0 {
            return 0;
        }
        let bp = u128::from(self.new_customers) * 10_000 / u128::from(self.human_clicks);
        bp.min(u128::from(u32::MAX)) as u32
    }
}

/// One criterion of a tier, measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub criterion: &'static str,
    pub target: i64,
    pub actual: i64,
    pub met: bool,
}

impl TierRule {
    /// Each criterion the tier asks, against the measurement.
    pub fn measure(&self, performance: &Performance) -> Vec<Measured> {
        let mut out = Vec::new();
        let mut push = |criterion, target: i64, actual: i64| {
            out.push(Measured {
                criterion,
                target,
                actual,
                met: actual >= target,
            })
        };
        if let Some(target) = self.revenue_minor {
            push("revenue_minor", target, performance.revenue_minor);
        }
        if let Some(target) = self.retained_customers {
            push(
                "retained_customers",
                target as i64,
                performance.retained_customers as i64,
            );
        }
        if let Some(target) = self.conversion_rate_bp {
            push(
                "conversion_rate_bp",
                i64::from(target),
                i64::from(performance.conversion_rate_bp()),
            );
        }
        if self.training_completed {
            push(
                "training_completed",
                1,
                i64::from(performance.training_completed),
            );
        }
        out
    }

    pub fn reached(&self, performance: &Performance) -> bool {
        self.measure(performance).iter().all(|m| m.met)
    }
}

impl TierLadder {
    /// The highest tier reached, if any.
    pub fn tier_for(&self, performance: &Performance) -> Option<&TierRule> {
        self.tiers
            .iter()
            .rev()
            .find(|tier| tier.reached(performance))
    }

    /// The first tier above `current` (above none: the first), for "what it takes next".
    pub fn next_after(&self, current: Option<&str>) -> Option<&TierRule> {
        match current.and_then(|name| self.tiers.iter().position(|t| t.name == name)) {
            Some(index) => self.tiers.get(index + 1),
            None => self.tiers.first(),
        }
    }

    pub(super) fn validate(&self) -> Result<(), LifecycleError> {
        if self.tiers.len() > MAX_TIERS {
            return Err(LifecycleError::new(
                "tiers.tiers",
                format!("at most {MAX_TIERS} tiers"),
            ));
        }
        for (index, tier) in self.tiers.iter().enumerate() {
            let at = format!("tiers.tiers[{index}]");
            if !super::is_key(&tier.name) {
                return Err(LifecycleError::new(
                    format!("{at}.name"),
                    "1 to 64 characters of a-z, 0-9, '-' and '_'",
                ));
            }
            if self.tiers[..index].iter().any(|t| t.name == tier.name) {
                return Err(LifecycleError::new(format!("{at}.name"), "listed twice"));
            }
            if tier.revenue_minor.is_some_and(|r| r < 0) {
                return Err(LifecycleError::new(
                    format!("{at}.revenue_minor"),
                    "not negative",
                ));
            }
        }
        if !(1..=730).contains(&self.window_days) {
            return Err(LifecycleError::new("tiers.window_days", "from 1 to 730"));
        }
        if !(1..=365).contains(&self.review_every_days) {
            return Err(LifecycleError::new(
                "tiers.review_every_days",
                "from 1 to 365",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder() -> TierLadder {
        serde_json::from_value(serde_json::json!({
            "tiers": [
                {"name": "silver"},
                {"name": "gold", "revenue_minor": 100000, "retained_customers": 3},
                {"name": "platinum", "revenue_minor": 500000, "conversion_rate_bp": 200, "training_completed": true}
            ]
        }))
        .expect("ladder")
    }

    #[test]
    fn the_highest_tier_whose_every_criterion_is_met() {
        let ladder = ladder();
        assert_eq!(ladder.validate(), Ok(()));
        let mut perf = Performance::default();
        assert_eq!(
            ladder.tier_for(&perf).map(|t| t.name.as_str()),
            Some("silver")
        );
        perf.revenue_minor = 100_000;
        assert_eq!(
            ladder.tier_for(&perf).map(|t| t.name.as_str()),
            Some("silver"),
            "3 customers too"
        );
        perf.retained_customers = 3;
        assert_eq!(
            ladder.tier_for(&perf).map(|t| t.name.as_str()),
            Some("gold")
        );
        perf.revenue_minor = 600_000;
        perf.new_customers = 2;
        perf.human_clicks = 100; // 200 bp
        assert_eq!(perf.conversion_rate_bp(), 200);
        assert_eq!(
            ladder.tier_for(&perf).map(|t| t.name.as_str()),
            Some("gold"),
            "training missing"
        );
        perf.training_completed = true;
        assert_eq!(
            ladder.tier_for(&perf).map(|t| t.name.as_str()),
            Some("platinum")
        );
        let next = ladder.next_after(Some("gold")).expect("platinum");
        let measured = next.measure(&Performance {
            training_completed: false,
            ..perf
        });
        assert_eq!(measured.iter().filter(|m| !m.met).count(), 1);
        assert!(ladder.next_after(Some("platinum")).is_none());
        let mut twice = ladder.clone();
        twice.tiers[1].name = "silver".into();
        assert_eq!(
            twice.validate().map_err(|e| e.field),
            Err("tiers.tiers[1].name".into())
        );
    }
}
