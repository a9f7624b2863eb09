//! Attribution: which partners get credit for a customer, in what shares and roles. A
//! program's settings (model, precedence, lookback window) decide among the customer's
//! touches (link clicks, `?via=` visits, coupons, deals, manual assignments) the first time
//! the customer converts (a lead or a purchase); from then on the customer stays bound to
//! those shares, so later sales, renewals and refunds need only the customer id. The
//! arithmetic lives in [`crate::multitouch`].

use crate::multitouch::{self, Attribution, Channel, NoShare, TouchPoint};
use crate::{LinkId, PartnerId, ProgramId, Timestamp};
use serde::{Deserialize, Serialize};

/// Longest attribution window a program may set.
pub const MAX_WINDOW_DAYS: u32 = 365;

/// Something a partner did that reached a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    /// The click id for a link; the visit, coupon use, deal or assignment id for the others.
    pub id: String,
    pub channel: Channel,
    /// The tracking link, for clicks and for visits that came through one.
    pub link_id: Option<LinkId>,
    pub partner_id: PartnerId,
    pub program_id: ProgramId,
    pub at: Timestamp,
    pub is_bot: bool,
    /// What the touch carried: the coupon code, the `via` code, the deal's company, the
    /// admin's reason.
    pub detail: Option<String>,
}

/// A customer's binding to the partner who holds the largest share of the credit (the
/// only one, unless the customer was credited to several partners: see [`BoundShare`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub partner_id: PartnerId,
    pub program_id: ProgramId,
    pub link_id: Option<LinkId>,
    pub click_id: Option<String>,
    pub touched_at: Option<Timestamp>,
    pub bound_at: Timestamp,
}

/// One partner's share of a customer credited to several partners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundShare {
    pub partner_id: PartnerId,
    pub share_bp: u32,
    pub role: multitouch::Role,
    /// The model that decided the shares.
    pub model: String,
    /// The partner's deciding touch (their last eligible one) and its channel.
    pub touch_id: String,
    pub channel: Channel,
    pub link_id: Option<LinkId>,
    /// The partner's first eligible touch: their share earns on events from then on.
    pub touched_at: Timestamp,
}

/// The credit one partner receives for one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub partner_id: PartnerId,
    pub program_id: ProgramId,
    pub model: String,
    /// Share of the event, in basis points of 10,000.
    pub share_bp: u32,
    pub role: String,
    pub link_id: Option<LinkId>,
    pub click_id: Option<String>,
    pub touched_at: Option<Timestamp>,
    pub window_days: u32,
    pub reason: String,
}

/// Why an event earned no credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoCredit {
    NoTouch,
    OnlyBotTouches,
    OutsideWindow,
}

impl From<NoShare> for NoCredit {
    fn from(why: NoShare) -> NoCredit {
        match why {
            NoShare::NoTouch => NoCredit::NoTouch,
            NoShare::OnlyBotTouches => NoCredit::OnlyBotTouches,
            NoShare::OutsideWindow => NoCredit::OutsideWindow,
        }
    }
}

impl NoCredit {
    pub fn as_str(&self) -> &'static str {
        match self {
            NoCredit::NoTouch => "no_touch",
            NoCredit::OnlyBotTouches => "only_bot_touches",
            NoCredit::OutsideWindow => "outside_window",
        }
    }
}

/// The credits of a customer converting at `at`, one per partner with a share above zero,
/// largest first. Touches of other programs must be filtered out by the caller.
pub fn attribute(
    attribution: &Attribution,
    touches: &[Touch],
    at: Timestamp,
) -> Result<Vec<BoundShare>, NoCredit> {
    let points: Vec<TouchPoint> = touches
        .iter()
        .map(|touch| TouchPoint {
            id: touch.id.clone(),
            partner_id: touch.partner_id,
            channel: touch.channel,
            at: touch.at,
            is_bot: touch.is_bot,
        })
        .collect();
    let shares = multitouch::shares(attribution, &points, at)?;
    Ok(shares
        .into_iter()
        .filter(|share| share.share_bp > 0)
        .filter_map(|share| {
            let first = *share.touches.first()?;
            let deciding = &touches[*share.touches.last()?];
            Some(BoundShare {
                partner_id: share.partner_id,
                share_bp: share.share_bp,
                role: share.role,
                model: attribution.model.name().to_string(),
                touch_id: deciding.id.clone(),
                channel: deciding.channel,
                link_id: deciding.link_id,
                touched_at: touches[first].at,
            })
        })
        .collect())
}

impl Binding {
    /// The binding for a customer's shares: the largest share's partner (the first).
    pub fn of_shares(
        program_id: ProgramId,
        shares: &[BoundShare],
        bound_at: Timestamp,
    ) -> Option<Binding> {
        let lead = shares.first()?;
        Some(Binding {
            partner_id: lead.partner_id,
            program_id,
            link_id: lead.link_id,
            click_id: Some(lead.touch_id.clone()),
            touched_at: Some(lead.touched_at),
            bound_at,
        })
    }
}

/// The credits a bound customer's events carry: one per share, or the binding whole when
/// the customer has no shares recorded (a customer bound to one partner; `model` names the
/// program's model).
pub fn bound_credits(
    binding: &Binding,
    shares: &[BoundShare],
    model: &str,
    window_days: u32,
) -> Vec<Credit> {
    if shares.is_empty() {
        return vec![Credit {
            partner_id: binding.partner_id,
            program_id: binding.program_id,
            model: model.into(),
            share_bp: multitouch::TOTAL_BP,
            role: multitouch::Role::Closer.as_str().into(),
            link_id: binding.link_id,
            click_id: binding.click_id.clone(),
            touched_at: binding.touched_at,
            window_days,
            reason: "the customer is bound to this partner since their first credited event".into(),
        }];
    }
    shares
        .iter()
        .map(|share| Credit {
            partner_id: share.partner_id,
            program_id: binding.program_id,
            model: share.model.clone(),
            share_bp: share.share_bp,
            role: share.role.as_str().into(),
            link_id: share.link_id,
            click_id: Some(share.touch_id.clone()),
            touched_at: Some(share.touched_at),
            window_days,
            reason: format!(
                "the customer is bound to this partner's {} share ({}) since their first credited event",
                share.role.as_str(),
                share.channel.as_str()
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multitouch::{Model, Role};
    use proptest::prelude::*;
    use uuid::Uuid;

    const DAY: i64 = crate::time::MILLIS_PER_DAY;

    fn touch(n: u128, partner: u128, at: i64, is_bot: bool) -> Touch {
        Touch {
            id: format!("click-{n}"),
            channel: Channel::Link,
            link_id: Some(LinkId::from_uuid(Uuid::from_u128(n))),
            partner_id: PartnerId::from_uuid(Uuid::from_u128(partner)),
            program_id: ProgramId::from_uuid(Uuid::from_u128(1)),
            at: Timestamp::from_millis(at),
            is_bot,
            detail: None,
        }
    }

    fn settings(model: Model) -> Attribution {
        Attribution {
            model,
            window_days: 30,
            precedence: Vec::new(),
        }
    }

    #[test]
    fn latest_human_click_in_window_wins_under_last_touch() {
        let touches = [
            touch(1, 1, DAY, false),
            touch(2, 2, 2 * DAY, false),
            touch(3, 3, 3 * DAY, true),
        ];
        let shares = attribute(
            &settings(Model::LastTouch),
            &touches,
            Timestamp::from_millis(4 * DAY),
        )
        .expect("credited");
        // The first partner's weight is nothing: only the closer is bound.
        assert_eq!(shares.len(), 1);
        assert_eq!(shares[0].touch_id, "click-2");
        assert_eq!(shares[0].share_bp, 10_000);
        assert_eq!(shares[0].role, Role::Closer);
    }

    #[test]
    fn clicks_outside_window_or_after_the_event_do_not_count() {
        let touches = [touch(1, 1, 0, false), touch(2, 1, 40 * DAY, false)];
        let model = settings(Model::LastTouch);
        assert_eq!(
            attribute(&model, &touches, Timestamp::from_millis(35 * DAY)),
            Err(NoCredit::OutsideWindow)
        );
        assert_eq!(
            attribute(&model, &[touch(1, 1, 0, true)], Timestamp::from_millis(1)),
            Err(NoCredit::OnlyBotTouches)
        );
        assert_eq!(
            attribute(&model, &[], Timestamp::from_millis(1)),
            Err(NoCredit::NoTouch)
        );
    }

    #[test]
    fn linear_credits_each_partner_from_their_first_touch_with_their_last_as_deciding() {
        let touches = [
            touch(1, 1, DAY, false),
            touch(2, 2, 2 * DAY, false),
            touch(3, 1, 3 * DAY, false),
            touch(4, 2, 4 * DAY, false),
        ];
        let shares = attribute(
            &settings(Model::Linear),
            &touches,
            Timestamp::from_millis(5 * DAY),
        )
        .expect("credited");
        assert_eq!(shares.len(), 2);
        // Equal weights: the tie goes to the partner who touched first.
        assert_eq!(shares[0].partner_id, touches[0].partner_id);
        assert_eq!(
            (shares[0].share_bp, shares[0].role),
            (5_000, Role::Originator)
        );
        assert_eq!(shares[0].touched_at, Timestamp::from_millis(DAY));
        assert_eq!(shares[0].touch_id, "click-3");
        assert_eq!((shares[1].share_bp, shares[1].role), (5_000, Role::Closer));
        let binding = Binding::of_shares(touches[0].program_id, &shares, Timestamp::from_millis(0))
            .expect("bound");
        assert_eq!(binding.partner_id, shares[0].partner_id);
        let credits = bound_credits(&binding, &shares, "linear", 30);
        assert_eq!(
            credits.iter().map(|c| c.share_bp).sum::<u32>(),
            10_000,
            "{credits:?}"
        );
        assert_eq!(credits[1].role, "closer");
    }

    #[test]
    fn a_binding_without_shares_credits_its_partner_whole() {
        let binding = Binding {
            partner_id: PartnerId::from_uuid(Uuid::from_u128(9)),
            program_id: ProgramId::from_uuid(Uuid::from_u128(1)),
            link_id: None,
            click_id: Some("c".into()),
            touched_at: None,
            bound_at: Timestamp::from_millis(0),
        };
        let credits = bound_credits(&binding, &[], "first_touch", 30);
        assert_eq!(credits.len(), 1);
        assert_eq!(credits[0].partner_id, binding.partner_id);
        assert_eq!(credits[0].share_bp, 10_000);
        assert_eq!(credits[0].model, "first_touch");
    }

    proptest! {
        #[test]
        fn shares_do_not_depend_on_order(times in proptest::collection::vec((0i64..60 * DAY, 1u128..4), 1..20), seed in any::<u64>()) {
            let touches: Vec<Touch> = times.iter().enumerate().map(|(i, (at, partner))| touch(i as u128, *partner, *at, false)).collect();
            let at = Timestamp::from_millis(60 * DAY);
            let model = settings(Model::TimeDecay { half_life_days: 7 });
            let first = attribute(&model, &touches, at);
            let mut shuffled = touches.clone();
            let len = shuffled.len();
            shuffled.rotate_left((seed as usize) % len);
            shuffled.reverse();
            prop_assert_eq!(first, attribute(&model, &shuffled, at));
        }
    }
}
