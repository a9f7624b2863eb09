//! Multi-touch attribution (issue 5): which partners share a conversion, in what exact shares
//! and in what roles. Pure: the touches and the conversion's time go in, shares in basis
//! points come out, always summing to exactly 10,000.
//!
//! The steps, each documented in `docs/ATTRIBUTION.md`:
//! 1. **Eligible touches**: human (not bot), at or before the conversion, within the lookback
//!    window; then only the touches of the highest-ranked channel present, by the program's
//!    precedence (e.g. manual > coupon > link).
//! 2. **Order**: by time, ties by touch id, so input order never matters.
//! 3. **Weights** per touch by the model (first, last, linear, time decay, position based,
//!    role weights), in exact integers (time decay in 62-bit fixed point, no floats).
//! 4. **Shares** per partner: the partner's weights summed, 10,000 bp split in proportion by
//!    largest remainder (floors first; the remaining points one each to the largest
//!    remainders; ties to the partner whose first eligible touch came first).
//! 5. **Roles**: a partner is `closer` if the last eligible touch is theirs, else `originator`
//!    if the first is, else `assist`.

use crate::{PartnerId, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

pub const TOTAL_BP: u32 = 10_000;
pub const MAX_HALF_LIFE_DAYS: u32 = 365;

/// How a touch reached the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A tracking link click (`tclid`).
    Link,
    /// A `?via=` / `?ref=` visit the site snippet recorded.
    Referral,
    /// A coupon code tied to the partner.
    Coupon,
    /// A deal a partner registered and an admin approved.
    Deal,
    /// An admin's manual assignment (audited).
    Manual,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Link,
        Channel::Referral,
        Channel::Coupon,
        Channel::Deal,
        Channel::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Link => "link",
            Channel::Referral => "referral",
            Channel::Coupon => "coupon",
            Channel::Deal => "deal",
            Channel::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|channel| channel.as_str() == text)
    }
}

/// A touch as attribution sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchPoint {
    /// The click id, coupon code, deal or assignment id: breaks ties between touches at the
    /// same instant, so the result never depends on input order.
    pub id: String,
    pub partner_id: PartnerId,
    pub channel: Channel,
    pub at: Timestamp,
    pub is_bot: bool,
}

/// The attribution model of a program.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum Model {
    /// The first eligible touch takes everything.
    FirstTouch,
    /// The last eligible touch takes everything (the default).
    #[default]
    LastTouch,
    /// Every eligible touch weighs the same.
    Linear,
    /// A touch's weight halves every `half_life_days` before the conversion.
    TimeDecay { half_life_days: u32 },
    /// The first touch gets `first_bp`, the last `last_bp`, the touches between share the
    /// rest equally; with two touches, first and last split in the ratio of their points.
    PositionBased { first_bp: u32, last_bp: u32 },
    /// Weights by role: the first touch is the originator, the last the closer, the ones
    /// between assists; shares are in proportion to the weights.
    RoleWeights {
        originator: u32,
        assist: u32,
        closer: u32,
    },
}

impl Model {
    /// The common position-based split, 40/20/40.
    pub const POSITION_BASED: Model = Model::PositionBased {
        first_bp: 4_000,
        last_bp: 4_000,
    };

    pub fn name(&self) -> &'static str {
        match self {
            Model::FirstTouch => "first_touch",
            Model::LastTouch => "last_touch",
            Model::Linear => "linear",
            Model::TimeDecay { .. } => "time_decay",
            Model::PositionBased { .. } => "position_based",
            Model::RoleWeights { .. } => "role_weights",
        }
    }

    /// Checks the model's numbers; the error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        match *self {
            Model::TimeDecay { half_life_days } if !(1..=MAX_HALF_LIFE_DAYS).contains(&half_life_days) => Err((
                "half_life_days",
                format!("1 to {MAX_HALF_LIFE_DAYS} days"),
            )),
            Model::PositionBased { first_bp, last_bp } if first_bp.saturating_add(last_bp) > TOTAL_BP => Err((
                "first_bp",
                "first_bp and last_bp add up to at most 10,000 (the rest goes to the touches between)".into(),
            )),
            Model::PositionBased { first_bp: 0, last_bp: 0 } => Err((
                "first_bp",
                "first_bp and last_bp cannot both be 0".into(),
            )),
            Model::RoleWeights { originator, assist, closer } => {
                if originator > TOTAL_BP || assist > TOTAL_BP || closer > TOTAL_BP {
                    Err(("originator", "each weight is 0 to 10,000".into()))
                } else if closer == 0 {
                    // A conversion with one touch has only a closer: it must weigh something.
                    Err(("closer", "the closer's weight must be above 0".into()))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Model::TimeDecay { half_life_days } => {
                write!(f, "time decay (half-life {half_life_days} days)")
            }
            Model::PositionBased { first_bp, last_bp } => write!(
                f,
                "position based ({}/{}/{})",
                first_bp / 100,
                (TOTAL_BP - first_bp - last_bp) / 100,
                last_bp / 100
            ),
            Model::RoleWeights {
                originator,
                assist,
                closer,
            } => write!(
                f,
                "role weights (originator {originator}, assist {assist}, closer {closer})"
            ),
            other => f.write_str(&other.name().replace('_', " ")),
        }
    }
}

/// A partner's role in a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Originator,
    Assist,
    Closer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Originator => "originator",
            Role::Assist => "assist",
            Role::Closer => "closer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [Role::Originator, Role::Assist, Role::Closer]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

/// How a program attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub model: Model,
    /// Touches older than this many days before the conversion do not count.
    pub window_days: u32,
    /// Channels from the strongest down: when touches of several channels are eligible, only
    /// those of the first channel listed count. Channels not listed rank below all listed ones
    /// and equal to each other; an empty list ranks every channel the same.
    pub precedence: Vec<Channel>,
}

/// A program's attribution settings, as stored and as the API takes them; the lookback
/// window is the program's own `window_days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub model: Model,
    /// Channels from the strongest down (see [`Attribution::precedence`]).
    #[serde(default = "Settings::default_precedence")]
    pub precedence: Vec<Channel>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            model: Model::default(),
            precedence: Settings::default_precedence(),
        }
    }
}

impl Settings {
    /// Manual assignment beats an approved deal, which beats a coupon, which beats links
    /// and `?via=` visits (those two rank the same).
    pub fn default_precedence() -> Vec<Channel> {
        vec![Channel::Manual, Channel::Deal, Channel::Coupon]
    }

    /// Checks the model's numbers and that no channel is listed twice; the error names the
    /// field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        self.model.validate()?;
        for (index, channel) in self.precedence.iter().enumerate() {
            if self.precedence[..index].contains(channel) {
                return Err((
                    "precedence",
                    format!("`{}` is listed twice", channel.as_str()),
                ));
            }
        }
        Ok(())
    }

    pub fn with_window(&self, window_days: u32) -> Attribution {
        Attribution {
            model: self.model,
            window_days,
            precedence: self.precedence.clone(),
        }
    }
}

/// One partner's share of a conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub partner_id: PartnerId,
    pub share_bp: u32,
    pub role: Role,
    /// Indices (into the touches given) of the partner's eligible touches, in time order.
    pub touches: Vec<usize>,
}

/// Why a conversion has no credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoShare {
    NoTouch,
    OnlyBotTouches,
    OutsideWindow,
}

/// The shares of the partners whose touches count for a conversion at `at`, largest first
/// (ties by first touch). The shares sum to exactly [`TOTAL_BP`]; a partner whose weight
/// rounds to nothing is still listed, with 0.
pub fn shares(
    attribution: &Attribution,
    touches: &[TouchPoint],
    at: Timestamp,
) -> Result<Vec<Share>, NoShare> {
    let eligible = eligible(attribution, touches, at)?;
    let weights = weights(attribution.model, touches, &eligible, at);
    // Per partner, in order of their first eligible touch.
    let mut partners: Vec<(PartnerId, u128, Vec<usize>)> = Vec::new();
    for (position, &index) in eligible.iter().enumerate() {
        let partner = touches[index].partner_id;
        match partners.iter_mut().find(|(id, ..)| *id == partner) {
            Some((_, weight, own)) => {
                *weight += weights[position];
                own.push(index);
            }
            None => partners.push((partner, weights[position], vec![index])),
        }
    }
    let points = allocate(
        &partners
            .iter()
            .map(|(_, weight, _)| *weight)
            .collect::<Vec<_>>(),
    );
    let first = eligible[0];
    let last = eligible[eligible.len() - 1];
    let mut out: Vec<Share> = partners
        .into_iter()
        .zip(points)
        .map(|((partner_id, _, own), share_bp)| Share {
            partner_id,
            share_bp,
            role: if own.contains(&last) {
                Role::Closer
            } else if own.contains(&first) {
                Role::Originator
            } else {
                Role::Assist
            },
            touches: own,
        })
        .collect();
    // Largest first; the sort is stable, so ties keep first-touch order.
    out.sort_by_key(|share| std::cmp::Reverse(share.share_bp));
    Ok(out)
}

/// Indices of the touches that count, in time order (ties by id).
fn eligible(
    attribution: &Attribution,
    touches: &[TouchPoint],
    at: Timestamp,
) -> Result<Vec<usize>, NoShare> {
    if touches.is_empty() {
        return Err(NoShare::NoTouch);
    }
    let human: Vec<usize> = (0..touches.len()).filter(|&i| !touches[i].is_bot).collect();
    if human.is_empty() {
        return Err(NoShare::OnlyBotTouches);
    }
    let earliest = at.minus_days(attribution.window_days);
    let mut in_window: Vec<usize> = human
        .into_iter()
        .filter(|&i| touches[i].at <= at && touches[i].at >= earliest)
        .collect();
    if in_window.is_empty() {
        return Err(NoShare::OutsideWindow);
    }
    let rank = |channel: Channel| {
        attribution
            .precedence
            .iter()
            .position(|c| *c == channel)
            .unwrap_or(attribution.precedence.len())
    };
    let best = in_window
        .iter()
        .map(|&i| rank(touches[i].channel))
        .min()
        .unwrap_or(0);
    in_window.retain(|&i| rank(touches[i].channel) == best);
    in_window.sort_by(|&a, &b| {
        touches[a]
            .at
            .cmp(&touches[b].at)
            .then_with(|| touches[a].id.cmp(&touches[b].id))
    });
    Ok(in_window)
}

/// One weight per eligible touch (same order), in integers.
fn weights(model: Model, touches: &[TouchPoint], eligible: &[usize], at: Timestamp) -> Vec<u128> {
    let n = eligible.len();
    let last = n - 1;
    (0..n)
        .map(|position| -> u128 {
            match model {
                Model::FirstTouch => u128::from(position == 0),
                Model::LastTouch => u128::from(position == last),
                Model::Linear => 1,
                Model::TimeDecay { half_life_days } => {
                    let age = at.millis() - touches[eligible[position]].at.millis();
                    decay(age, i64::from(half_life_days) * crate::time::MILLIS_PER_DAY)
                }
                Model::PositionBased { first_bp, last_bp } => {
                    let (first, last_bp, middle) = (
                        u128::from(first_bp),
                        u128::from(last_bp),
                        u128::from(TOTAL_BP - first_bp - last_bp),
                    );
                    match (n, position) {
                        (1, _) => 1,
                        // Two touches: first and last in the ratio of their points.
                        (2, 0) => first,
                        (2, _) => last_bp,
                        // More: scaled by the number between so each middle touch gets an
                        // equal part of the middle points, exactly.
                        (_, 0) => first * (n as u128 - 2),
                        (_, p) if p == last => last_bp * (n as u128 - 2),
                        _ => middle,
                    }
                }
                Model::RoleWeights {
                    originator,
                    assist,
                    closer,
                } => u128::from(if position == last {
                    closer
                } else if position == 0 {
                    originator
                } else {
                    assist
                }),
            }
        })
        .collect()
}

/// `2^(-age / half_life)` in 62-bit fixed point: whole half-lives are shifts, the remaining
/// fraction (in steps of 2^-20 of a half-life, rounded down) is a product of the constants
/// 2^(-2^-k), k = 1..20. Integer arithmetic only, so every machine gets the same weights.
pub fn decay(age_millis: i64, half_life_millis: i64) -> u128 {
    const ONE: u128 = 1 << 62;
    // 2^(-2^-k) × 2^62, k = 1..20, rounded down (computed to 60 digits).
    const FACTORS: [u128; 20] = [
        3_260_954_456_333_195_553,
        3_877_950_241_171_266_237,
        4_228_934_724_888_366_667,
        4_416_165_660_797_809_419,
        4_512_867_096_753_504_462,
        4_562_008_997_483_360_349,
        4_586_780_255_215_411_730,
        4_599_216_278_082_138_665,
        4_605_446_927_862_164_404,
        4_608_565_417_332_308_034,
        4_610_125_453_837_388_245,
        4_610_905_670_110_601_999,
        4_611_295_827_762_151_833,
        4_611_490_918_967_884_500,
        4_611_588_467_665_893_036,
        4_611_637_242_788_701_950,
        4_611_661_630_543_559_956,
        4_611_673_824_469_352_644,
        4_611_679_921_444_339_947,
        4_611_682_969_934_856_343,
    ];
    let age = age_millis.max(0) as u128;
    let half_life = half_life_millis.max(1) as u128;
    let halvings = age / half_life;
    if halvings >= 62 {
        return 0;
    }
    let fraction = ((age % half_life) << 20) / half_life;
    let mut weight = ONE;
    for (k, factor) in FACTORS.iter().enumerate() {
        if fraction & (1 << (19 - k)) != 0 {
            weight = (weight * factor) >> 62;
        }
    }
    weight >> halvings
}

/// 10,000 bp split in proportion to `weights` by largest remainder: floors first, then one
/// point each to the largest remainders, ties to the earlier entry. All weights zero (a model
/// that gives nothing to any eligible touch cannot happen after validation) splits evenly.
pub fn allocate(weights: &[u128]) -> Vec<u32> {
    let total: u128 = weights.iter().sum();
    if weights.is_empty() {
        return Vec::new();
    }
    let weights: Vec<u128> = if total == 0 {
        vec![1; weights.len()]
    } else {
        weights.to_vec()
    };
    let total: u128 = weights.iter().sum();
    let whole = u128::from(TOTAL_BP);
    let mut points: Vec<u32> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let exact = weight * whole;
        points.push((exact / total) as u32);
        remainders.push((exact % total, index));
    }
    let assigned: u32 = points.iter().sum();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, index) in remainders.iter().take((TOTAL_BP - assigned) as usize) {
        points[index] += 1;
    }
    points
}

#[cfg(test)]
mod tests;
