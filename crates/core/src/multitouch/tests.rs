use super::*;
use crate::time::MILLIS_PER_DAY;
use proptest::prelude::*;
use uuid::Uuid;

const AT: i64 = 1_767_225_600_000; // 2026-01-01

fn partner(name: char) -> PartnerId {
    PartnerId::from_uuid(Uuid::from_u128(name as u128))
}

fn touch(name: char, days_before: i64, channel: Channel) -> TouchPoint {
    TouchPoint {
        id: format!("{name}-{days_before}-{}", channel.as_str()),
        partner_id: partner(name),
        channel,
        at: Timestamp::from_millis(AT - days_before * MILLIS_PER_DAY),
        is_bot: false,
    }
}

fn program(model: Model) -> Attribution {
    Attribution {
        model,
        window_days: 90,
        precedence: Vec::new(),
    }
}

fn split(attribution: &Attribution, touches: &[TouchPoint]) -> Vec<(PartnerId, u32)> {
    let mut out: Vec<(PartnerId, u32)> = shares(attribution, touches, Timestamp::from_millis(AT))
        .expect("credited")
        .into_iter()
        .map(|share| (share.partner_id, share.share_bp))
        .collect();
    out.sort();
    out
}

/// `time_decay 7`, `position_based 4000 4000`, `role_weights 3 1 2`, `linear`, ...
fn parse_model(text: &str) -> Model {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let number = |index: usize| -> u32 { parts[index].parse().expect("a number in the model") };
    match parts[0] {
        "first_touch" => Model::FirstTouch,
        "last_touch" => Model::LastTouch,
        "linear" => Model::Linear,
        "time_decay" => Model::TimeDecay {
            half_life_days: number(1),
        },
        "position_based" => Model::PositionBased {
            first_bp: number(1),
            last_bp: number(2),
        },
        "role_weights" => Model::RoleWeights {
            originator: number(1),
            assist: number(2),
            closer: number(3),
        },
        other => panic!("unknown model {other} in docs/ATTRIBUTION.md"),
    }
}

/// The worked examples of docs/ATTRIBUTION.md, checked line by line: the document and the
/// code cannot drift apart.
#[test]
fn the_worked_examples_in_the_docs_hold() {
    let doc = include_str!("../../../../docs/ATTRIBUTION.md");
    let block = doc
        .split("```examples")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/ATTRIBUTION.md has an examples block");
    let mut checked = 0;
    for line in block.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let fields: Vec<&str> = line.split(';').map(str::trim).collect();
        assert_eq!(fields.len(), 3, "model; touches; shares: {line}");
        let model = parse_model(fields[0]);
        model.validate().expect("a valid model");
        let touches: Vec<TouchPoint> = fields[1]
            .split(',')
            .map(|spec| {
                let mut words = spec.split_whitespace();
                let name = words.next().and_then(|w| w.chars().next()).expect("a name");
                let days: i64 = words.next().expect("days").parse().expect("days");
                touch(name, days, Channel::Link)
            })
            .collect();
        let expected: Vec<(PartnerId, u32)> = {
            let mut pairs: Vec<(PartnerId, u32)> = fields[2]
                .split(',')
                .map(|spec| {
                    let mut words = spec.split_whitespace();
                    let name = words.next().and_then(|w| w.chars().next()).expect("a name");
                    let bp: u32 = words.next().expect("bp").parse().expect("bp");
                    (partner(name), bp)
                })
                .collect();
            pairs.sort();
            pairs
        };
        assert_eq!(split(&program(model), &touches), expected, "{line}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} examples");
}

#[test]
fn roles_follow_the_first_and_last_touch() {
    let touches = [
        touch('A', 20, Channel::Link),
        touch('B', 10, Channel::Link),
        touch('C', 1, Channel::Link),
    ];
    let result = shares(
        &program(Model::POSITION_BASED),
        &touches,
        Timestamp::from_millis(AT),
    )
    .expect("credited");
    let role = |name: char| {
        result
            .iter()
            .find(|share| share.partner_id == partner(name))
            .map(|share| share.role)
    };
    assert_eq!(role('A'), Some(Role::Originator));
    assert_eq!(role('B'), Some(Role::Assist));
    assert_eq!(role('C'), Some(Role::Closer));
    // Largest first.
    assert_eq!(result[0].share_bp, 4_000);
    assert_eq!(result[2].share_bp, 2_000);
    // A partner with the first and the last touch is the closer, with both touches.
    let touches = [
        touch('A', 20, Channel::Link),
        touch('B', 10, Channel::Link),
        touch('A', 1, Channel::Link),
    ];
    let result = shares(
        &program(Model::Linear),
        &touches,
        Timestamp::from_millis(AT),
    )
    .expect("credited");
    assert_eq!(result[0].partner_id, partner('A'));
    assert_eq!(result[0].role, Role::Closer);
    assert_eq!(result[0].touches, vec![0, 2]);
    assert_eq!(result[0].share_bp, 6_667);
}

#[test]
fn precedence_keeps_the_strongest_channel_present() {
    let mut attribution = program(Model::Linear);
    attribution.precedence = vec![Channel::Manual, Channel::Coupon];
    let touches = [
        touch('A', 5, Channel::Link),
        touch('B', 3, Channel::Coupon),
        touch('C', 1, Channel::Link),
    ];
    assert_eq!(split(&attribution, &touches), vec![(partner('B'), 10_000)]);
    // Without a coupon, links (unlisted) count among themselves.
    assert_eq!(
        split(&attribution, &[touches[0].clone(), touches[2].clone()]),
        vec![(partner('A'), 5_000), (partner('C'), 5_000)]
    );
    // A manual assignment beats everything.
    let mut with_manual = touches.to_vec();
    with_manual.push(touch('D', 30, Channel::Manual));
    assert_eq!(
        split(&attribution, &with_manual),
        vec![(partner('D'), 10_000)]
    );
}

#[test]
fn bots_late_and_old_touches_do_not_count() {
    let attribution = program(Model::Linear);
    let mut bot = touch('B', 2, Channel::Link);
    bot.is_bot = true;
    let at = Timestamp::from_millis(AT);
    assert_eq!(shares(&attribution, &[], at), Err(NoShare::NoTouch));
    assert_eq!(
        shares(&attribution, std::slice::from_ref(&bot), at),
        Err(NoShare::OnlyBotTouches)
    );
    assert_eq!(
        shares(
            &attribution,
            &[touch('A', 91, Channel::Link), touch('C', -1, Channel::Link)],
            at
        ),
        Err(NoShare::OutsideWindow)
    );
    assert_eq!(
        split(&attribution, &[bot, touch('A', 2, Channel::Link)]),
        vec![(partner('A'), 10_000)]
    );
}

#[test]
fn decay_halves_every_half_life_exactly() {
    let day = MILLIS_PER_DAY;
    assert_eq!(decay(0, 7 * day), 1 << 62);
    assert_eq!(decay(7 * day, 7 * day), 1 << 61);
    assert_eq!(decay(21 * day, 7 * day), 1 << 59);
    // Half a half-life: 2^-0.5, to 18 digits.
    let half = decay(7 * day / 2, 7 * day);
    assert_eq!(half, 3_260_954_456_333_195_553);
    // Strictly falling with age, and nothing after 62 half-lives.
    let mut previous = u128::MAX;
    for hours in 0..24 * 30 {
        let weight = decay(hours * 3_600_000, 7 * day);
        assert!(weight < previous, "at {hours} h");
        previous = weight;
    }
    assert_eq!(decay(62 * 7 * day, 7 * day), 0);
}

#[test]
fn models_validate_their_numbers() {
    assert!(Model::TimeDecay { half_life_days: 0 }.validate().is_err());
    assert!(
        Model::PositionBased {
            first_bp: 6_000,
            last_bp: 5_000
        }
        .validate()
        .is_err()
    );
    assert!(
        Model::RoleWeights {
            originator: 1,
            assist: 1,
            closer: 0
        }
        .validate()
        .is_err()
    );
    assert!(Model::POSITION_BASED.validate().is_ok());
    assert_eq!(
        Model::POSITION_BASED.to_string(),
        "position based (40/20/40)"
    );
    let json = serde_json::to_string(&Model::TimeDecay { half_life_days: 7 }).expect("json");
    assert_eq!(json, r#"{"type":"time_decay","half_life_days":7}"#);
}

fn any_model() -> impl Strategy<Value = Model> {
    prop_oneof![
        Just(Model::FirstTouch),
        Just(Model::LastTouch),
        Just(Model::Linear),
        (1u32..60).prop_map(|half_life_days| Model::TimeDecay { half_life_days }),
        (0u32..=5_000, 0u32..=5_000)
            .prop_filter("not both zero", |(f, l)| f + l > 0)
            .prop_map(|(first_bp, last_bp)| Model::PositionBased { first_bp, last_bp }),
        (0u32..100, 0u32..100, 1u32..100).prop_map(|(originator, assist, closer)| {
            Model::RoleWeights {
                originator,
                assist,
                closer,
            }
        }),
    ]
}

fn any_touches() -> impl Strategy<Value = Vec<TouchPoint>> {
    proptest::collection::vec((0u8..6, 0i64..80 * 24, any::<bool>(), 0usize..5), 1..25).prop_map(
        |specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(n, (who, hours, bot, channel))| TouchPoint {
                    id: format!("t{n}"),
                    partner_id: partner((b'A' + who) as char),
                    channel: Channel::ALL[channel],
                    at: Timestamp::from_millis(AT - hours * 3_600_000),
                    is_bot: bot && n % 3 == 0,
                })
                .collect()
        },
    )
}

proptest! {
    #[test]
    fn shares_always_sum_to_exactly_ten_thousand(model in any_model(), touches in any_touches()) {
        let attribution = Attribution {
            model,
            window_days: 90,
            precedence: vec![Channel::Manual, Channel::Coupon],
        };
        if let Ok(result) = shares(&attribution, &touches, Timestamp::from_millis(AT)) {
            prop_assert_eq!(result.iter().map(|share| share.share_bp).sum::<u32>(), TOTAL_BP);
            prop_assert_eq!(result.iter().filter(|share| share.role == Role::Closer).count(), 1);
        }
    }

    #[test]
    fn input_order_does_not_matter(model in any_model(), touches in any_touches(), seed in any::<u64>()) {
        let attribution = program(model);
        let at = Timestamp::from_millis(AT);
        let mut shuffled = touches.clone();
        let len = shuffled.len();
        shuffled.rotate_left(seed as usize % len);
        shuffled.reverse();
        let summarize = |result: Result<Vec<Share>, NoShare>| {
            result.map(|shares| {
                shares
                    .into_iter()
                    .map(|share| (share.partner_id, share.share_bp, share.role))
                    .collect::<std::collections::BTreeSet<_>>()
            })
        };
        prop_assert_eq!(
            summarize(shares(&attribution, &touches, at)),
            summarize(shares(&attribution, &shuffled, at))
        );
    }

    #[test]
    fn a_touch_outside_the_window_changes_nothing(
        model in any_model(),
        touches in any_touches(),
        days_too_old in 91i64..400,
        after_hours in 1i64..1_000,
        who in 0u8..8,
    ) {
        let attribution = program(model);
        let at = Timestamp::from_millis(AT);
        let before = shares(&attribution, &touches, at);
        let mut more = touches.clone();
        more.push(TouchPoint {
            id: "old".into(),
            partner_id: partner((b'A' + who) as char),
            channel: Channel::Link,
            at: Timestamp::from_millis(AT - days_too_old * MILLIS_PER_DAY),
            is_bot: false,
        });
        more.push(TouchPoint {
            id: "later".into(),
            partner_id: partner((b'A' + who) as char),
            channel: Channel::Link,
            at: Timestamp::from_millis(AT + after_hours * 3_600_000),
            is_bot: false,
        });
        let after = shares(&attribution, &more, at);
        match (before, after) {
            (Ok(before), Ok(after)) => {
                let strip = |shares: Vec<Share>| -> Vec<(PartnerId, u32, Role)> {
                    shares.into_iter().map(|s| (s.partner_id, s.share_bp, s.role)).collect()
                };
                prop_assert_eq!(strip(before), strip(after));
            }
            (Err(NoShare::NoTouch | NoShare::OnlyBotTouches | NoShare::OutsideWindow), Err(NoShare::OutsideWindow)) => {}
            (before, after) => prop_assert!(false, "{:?} became {:?}", before, after),
        }
    }
}
