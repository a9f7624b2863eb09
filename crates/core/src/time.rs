//! Instants as integer milliseconds since the Unix epoch. The core never reads a clock: the
//! caller passes `now`.

use serde::{Deserialize, Serialize};

pub const MILLIS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_days(self, days: u32) -> Self {
        Timestamp(self.0.saturating_add(i64::from(days) * MILLIS_PER_DAY))
    }

    pub fn minus_days(self, days: u32) -> Self {
        Timestamp(self.0.saturating_sub(i64::from(days) * MILLIS_PER_DAY))
    }

    pub fn plus_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis))
    }

    /// Days since the epoch (UTC), for daily rollups.
    pub fn epoch_day(self) -> i64 {
        self.0.div_euclid(MILLIS_PER_DAY)
    }
}
