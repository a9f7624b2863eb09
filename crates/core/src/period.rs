//! Calendar periods in UTC (months and quarters) and whole months between two instants,
//! from integer arithmetic on days since the epoch (no time-zone database, no clock).

use crate::Timestamp;
use crate::time::MILLIS_PER_DAY;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Month,
    Quarter,
}

/// A civil date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
pub fn date_of_day(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date { year, month, day }
}

/// A civil date to days since 1970-01-01 (`days_from_civil`).
pub fn day_of_date(date: Date) -> i64 {
    let year = date.year - i64::from(date.month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(date.month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(date.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn date_of(at: Timestamp) -> Date {
    date_of_day(at.epoch_day())
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Parses `YYYY-MM-DD` to the instant the day starts (UTC).
pub fn parse_date(text: &str) -> Option<Timestamp> {
    let mut parts = text.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let date = Date { year, month, day };
    let days = day_of_date(date);
    // Reject 2026-02-30 and the like: the date must survive the round trip.
    (date_of_day(days) == date).then(|| Timestamp::from_millis(days * MILLIS_PER_DAY))
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Quarter => "quarter",
        }
    }

    fn months(self) -> u32 {
        match self {
            Period::Month => 1,
            Period::Quarter => 3,
        }
    }

    /// The period holding `at`: its first instant, inclusive.
    pub fn start(self, at: Timestamp) -> Timestamp {
        let date = date_of(at);
        let month = (date.month - 1) / self.months() * self.months() + 1;
        let first = Date {
            year: date.year,
            month,
            day: 1,
        };
        Timestamp::from_millis(day_of_date(first) * MILLIS_PER_DAY)
    }

    /// The first instant after the period holding `at`.
    pub fn end(self, at: Timestamp) -> Timestamp {
        let start = date_of(self.start(at));
        let month0 = start.year * 12 + i64::from(start.month - 1) + i64::from(self.months());
        let next = Date {
            year: month0.div_euclid(12),
            month: (month0.rem_euclid(12) + 1) as u32,
            day: 1,
        };
        Timestamp::from_millis(day_of_date(next) * MILLIS_PER_DAY)
    }

    /// A label: `2026-03` for a month, `2026-Q1` for a quarter.
    pub fn label(self, at: Timestamp) -> String {
        let date = date_of(at);
        match self {
            Period::Month => format!("{:04}-{:02}", date.year, date.month),
            Period::Quarter => format!("{:04}-Q{}", date.year, (date.month - 1) / 3 + 1),
        }
    }
}

/// Whole calendar months from `from` to `to` (0 when `to` is before `from`'s one-month
/// anniversary). A month is complete on the same day of the month at the same time of day,
/// or on the last day of a shorter month: 31 Jan → 28 Feb is one month.
pub fn whole_months(from: Timestamp, to: Timestamp) -> u32 {
    if to <= from {
        return 0;
    }
    let a = date_of(from);
    let b = date_of(to);
    let mut months = (b.year * 12 + i64::from(b.month)) - (a.year * 12 + i64::from(a.month));
    let time_a = from.millis().rem_euclid(MILLIS_PER_DAY);
    let time_b = to.millis().rem_euclid(MILLIS_PER_DAY);
    let last_day_b = is_last_day(b);
    let reached = if b.day != a.day {
        b.day > a.day || (last_day_b && b.day < a.day)
    } else {
        time_b >= time_a
    };
    if !reached {
        months -= 1;
    }
    u32::try_from(months.max(0)).unwrap_or(u32::MAX)
}

fn is_last_day(date: Date) -> bool {
    date_of_day(day_of_date(date) + 1).day == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(text: &str) -> Timestamp {
        parse_date(text).expect("a date")
    }

    #[test]
    fn civil_dates_round_trip_and_known_days() {
        assert_eq!(
            day_of_date(Date {
                year: 1970,
                month: 1,
                day: 1
            }),
            0
        );
        assert_eq!(date_of_day(19_723).to_string(), "2024-01-01");
        assert_eq!(date_of_day(-1).to_string(), "1969-12-31");
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert!(parse_date("2024-02-29").is_some());
    }

    #[test]
    fn months_and_quarters_start_and_end_on_their_first_days() {
        let mid = at("2026-05-17").plus_millis(3_600_000);
        assert_eq!(Period::Month.start(mid), at("2026-05-01"));
        assert_eq!(Period::Month.end(mid), at("2026-06-01"));
        assert_eq!(Period::Quarter.start(mid), at("2026-04-01"));
        assert_eq!(Period::Quarter.end(mid), at("2026-07-01"));
        assert_eq!(Period::Quarter.end(at("2026-12-31")), at("2027-01-01"));
        assert_eq!(Period::Quarter.label(mid), "2026-Q2");
        assert_eq!(Period::Month.label(mid), "2026-05");
    }

    #[test]
    fn whole_months_count_anniversaries() {
        assert_eq!(whole_months(at("2026-01-15"), at("2026-02-14")), 0);
        assert_eq!(whole_months(at("2026-01-15"), at("2026-02-15")), 1);
        assert_eq!(whole_months(at("2026-01-31"), at("2026-02-28")), 1);
        assert_eq!(whole_months(at("2026-01-31"), at("2026-02-27")), 0);
        assert_eq!(whole_months(at("2026-01-15"), at("2027-01-15")), 12);
        assert_eq!(whole_months(at("2026-03-01"), at("2026-01-01")), 0);
    }

    proptest! {
        #[test]
        fn every_day_round_trips_and_lies_in_its_periods(day in -100_000i64..100_000) {
            prop_assert_eq!(day_of_date(date_of_day(day)), day);
            let instant = Timestamp::from_millis(day * MILLIS_PER_DAY + 1);
            for period in [Period::Month, Period::Quarter] {
                prop_assert!(period.start(instant) <= instant);
                prop_assert!(instant < period.end(instant));
                prop_assert_eq!(period.start(period.end(instant)), period.end(instant));
            }
        }

        #[test]
        fn whole_months_grow_with_time(a in 0i64..20_000, b in 0i64..20_000, c in 0i64..20_000) {
            let mut days = [a, b, c];
            days.sort();
            let [a, b, c] = days.map(|d| Timestamp::from_millis(d * MILLIS_PER_DAY));
            prop_assert!(whole_months(a, b) <= whole_months(a, c));
            let days_between = (c.millis() - a.millis()) / MILLIS_PER_DAY;
            prop_assert!(i64::from(whole_months(a, c)) <= days_between / 28 + 1);
        }
    }
}
