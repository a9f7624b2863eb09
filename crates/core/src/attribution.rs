//! Attribution: which partner gets credit for an event. The skeleton's model is last click
//! within the program's window; once a customer is credited they stay bound to that partner,
//! so later sales, renewals and refunds need only the customer id.

use crate::{LinkId, PartnerId, ProgramId, Timestamp};
use serde::{Deserialize, Serialize};

/// Longest attribution window a program may set.
pub const MAX_WINDOW_DAYS: u32 = 365;

/// A click (or later: coupon, referral code) tied to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    pub click_id: String,
    pub link_id: LinkId,
    pub partner_id: PartnerId,
    pub program_id: ProgramId,
    pub at: Timestamp,
    pub is_bot: bool,
}

/// A customer's binding to the partner who first earned credit for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub partner_id: PartnerId,
    pub program_id: ProgramId,
    pub link_id: Option<LinkId>,
    pub click_id: Option<String>,
    pub touched_at: Option<Timestamp>,
    pub bound_at: Timestamp,
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

/// Last-click attribution. An existing binding wins; otherwise the latest non-bot touch at or
/// before `at` and no older than `window_days` gets the whole event.
pub fn last_click(
    binding: Option<&Binding>,
    touches: &[Touch],
    at: Timestamp,
    window_days: u32,
) -> Result<Credit, NoCredit> {
    if let Some(binding) = binding {
        return Ok(Credit {
            partner_id: binding.partner_id,
            program_id: binding.program_id,
            model: "last_click".into(),
            share_bp: 10_000,
            role: "closer".into(),
            link_id: binding.link_id,
            click_id: binding.click_id.clone(),
            touched_at: binding.touched_at,
            window_days,
            reason: "the customer is bound to this partner since their first credited event".into(),
        });
    }
    if touches.is_empty() {
        return Err(NoCredit::NoTouch);
    }
    let human: Vec<&Touch> = touches.iter().filter(|touch| !touch.is_bot).collect();
    if human.is_empty() {
        return Err(NoCredit::OnlyBotTouches);
    }
    let earliest = at.minus_days(window_days);
    let chosen = human
        .into_iter()
        .filter(|touch| touch.at <= at && touch.at >= earliest)
        // Ties on time go to the greater click id, so the choice never depends on input order.
        .max_by(|a, b| a.at.cmp(&b.at).then_with(|| a.click_id.cmp(&b.click_id)))
        .ok_or(NoCredit::OutsideWindow)?;
    Ok(Credit {
        partner_id: chosen.partner_id,
        program_id: chosen.program_id,
        model: "last_click".into(),
        share_bp: 10_000,
        role: "closer".into(),
        link_id: Some(chosen.link_id),
        click_id: Some(chosen.click_id.clone()),
        touched_at: Some(chosen.at),
        window_days,
        reason: format!("last non-bot click within the {window_days}-day window"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn touch(n: u128, at: i64, is_bot: bool) -> Touch {
        Touch {
            click_id: format!("click-{n}"),
            link_id: LinkId::from_uuid(Uuid::from_u128(n)),
            partner_id: PartnerId::from_uuid(Uuid::from_u128(n)),
            program_id: ProgramId::from_uuid(Uuid::from_u128(1)),
            at: Timestamp::from_millis(at),
            is_bot,
        }
    }

    const DAY: i64 = crate::time::MILLIS_PER_DAY;

    #[test]
    fn latest_human_click_in_window_wins() {
        let touches = [
            touch(1, DAY, false),
            touch(2, 2 * DAY, false),
            touch(3, 3 * DAY, true),
        ];
        let credit =
            last_click(None, &touches, Timestamp::from_millis(4 * DAY), 30).expect("credited");
        assert_eq!(credit.click_id.as_deref(), Some("click-2"));
    }

    #[test]
    fn clicks_outside_window_or_after_the_event_do_not_count() {
        let touches = [touch(1, 0, false), touch(2, 40 * DAY, false)];
        assert_eq!(
            last_click(None, &touches, Timestamp::from_millis(35 * DAY), 30),
            Err(NoCredit::OutsideWindow)
        );
        assert_eq!(
            last_click(None, &[touch(1, 0, true)], Timestamp::from_millis(1), 30),
            Err(NoCredit::OnlyBotTouches)
        );
    }

    #[test]
    fn binding_wins_over_newer_clicks() {
        let binding = Binding {
            partner_id: PartnerId::from_uuid(Uuid::from_u128(9)),
            program_id: ProgramId::from_uuid(Uuid::from_u128(1)),
            link_id: None,
            click_id: None,
            touched_at: None,
            bound_at: Timestamp::from_millis(0),
        };
        let credit = last_click(
            Some(&binding),
            &[touch(2, DAY, false)],
            Timestamp::from_millis(2 * DAY),
            30,
        )
        .expect("credited");
        assert_eq!(credit.partner_id, binding.partner_id);
    }

    proptest! {
        #[test]
        fn choice_does_not_depend_on_order(mut times in proptest::collection::vec(0i64..60 * DAY, 1..20), seed in any::<u64>()) {
            let touches: Vec<Touch> = times.iter().enumerate().map(|(i, at)| touch(i as u128, *at, false)).collect();
            let at = Timestamp::from_millis(60 * DAY);
            let first = last_click(None, &touches, at, 30);
            let mut shuffled = touches.clone();
            let len = shuffled.len();
            shuffled.rotate_left((seed as usize) % len);
            shuffled.reverse();
            prop_assert_eq!(first, last_click(None, &shuffled, at, 30));
            times.clear();
        }
    }
}
