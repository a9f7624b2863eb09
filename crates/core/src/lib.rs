//! Tributary's pure domain core: money, ids, time, events, attribution, plan rules and
//! ledger postings. Nothing here reads a clock, draws a random number or touches I/O:
//! time, ids and randomness are passed in, so every function that moves money can be
//! called from a unit test and replayed over history.

pub mod attribution;
pub mod billing;
pub mod bots;
pub mod click_reward;
pub mod clickid;
pub mod commission;
pub mod condition;
pub mod engine;
pub mod event;
pub mod ids;
pub mod ledger;
pub mod lifecycle;
pub mod money;
pub mod multitouch;
pub mod period;
pub mod plan;
pub mod postback;
pub mod time;

pub use ids::*;
pub use money::{BasisPoints, Currency, Money, MoneyError};
pub use time::Timestamp;
