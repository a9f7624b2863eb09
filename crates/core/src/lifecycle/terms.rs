//! When a partner who has not accepted a program's terms stops earning. Each published
//! version is due `grace_days` after it was published (or after the partner joined, if
//! later); from then until the partner accepts that version or a later one, they earn
//! nothing: a [`Pause`].

use crate::Timestamp;
use crate::engine::Pause;

/// A published terms version, as the lapse rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub version: i64,
    pub published_at: Timestamp,
    pub grace_days: u32,
}

/// A partner's acceptance of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub version: i64,
    pub accepted_at: Timestamp,
}

/// When `version` must be accepted by a partner who joined at `joined_at`.
pub fn due(published: &Published, joined_at: Timestamp) -> Timestamp {
    published
        .published_at
        .max(joined_at)
        .plus_days(published.grace_days)
}

/// The spans in which the partner was (or is) past a version's due time without having
/// accepted it or a later one.
pub fn lapses(published: &[Published], accepted: &[Accepted], joined_at: Timestamp) -> Vec<Pause> {
    published
        .iter()
        .filter_map(|terms| {
            let due = due(terms, joined_at);
            let ended = accepted
                .iter()
                .filter(|acceptance| acceptance.version >= terms.version)
                .map(|acceptance| acceptance.accepted_at)
                .min();
            match ended {
                Some(ended) if ended <= due => None,
                until => Some(Pause { from: due, until }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn at(days: i64) -> Timestamp {
        Timestamp::from_millis(1_767_225_600_000 + days * DAY)
    }

    fn published(version: i64, day: i64) -> Published {
        Published {
            version,
            published_at: at(day),
            grace_days: 14,
        }
    }

    #[test]
    fn accepting_in_time_never_pauses_late_pauses_the_gap_and_never_pauses_from_the_due_day() {
        let versions = [published(1, 0), published(2, 100)];
        let joined = at(-50);
        // v1 accepted on day 3, v2 on day 110: in time both.
        let in_time = [
            Accepted {
                version: 1,
                accepted_at: at(3),
            },
            Accepted {
                version: 2,
                accepted_at: at(110),
            },
        ];
        assert_eq!(lapses(&versions, &in_time, joined), vec![]);
        // v2 accepted on day 120: paused from day 114 to day 120.
        let late = [
            Accepted {
                version: 1,
                accepted_at: at(3),
            },
            Accepted {
                version: 2,
                accepted_at: at(120),
            },
        ];
        assert_eq!(
            lapses(&versions, &late, joined),
            vec![Pause {
                from: at(114),
                until: Some(at(120))
            }]
        );
        // v1 never accepted, v2 accepted on day 101: v2 ends v1's lapse too.
        let skipped = [Accepted {
            version: 2,
            accepted_at: at(101),
        }];
        assert_eq!(
            lapses(&versions, &skipped, joined),
            vec![Pause {
                from: at(14),
                until: Some(at(101))
            }]
        );
        // Nothing accepted: open-ended from each due day.
        assert_eq!(
            lapses(&versions, &[], joined),
            vec![
                Pause {
                    from: at(14),
                    until: None
                },
                Pause {
                    from: at(114),
                    until: None
                }
            ]
        );
        // A partner who joins after a version was published has the grace from joining.
        assert_eq!(due(&versions[0], at(30)), at(44));
    }
}
