//! A fixed-window rate limiter kept in memory, per node: public forms (applications) take
//! at most `limit` requests per key (a hashed IP) per window. Several nodes each allow the
//! limit; it is a brake on floods, not an accounting.

use std::collections::HashMap;
use std::sync::Mutex;
use tributary_core::Timestamp;

/// Keys remembered at most; past this, windows that ended are forgotten first and, if
/// that is not enough, new keys are refused until they end (a flood of addresses must not
/// grow memory without bound).
pub const MAX_KEYS: usize = 100_000;

pub struct Limiter {
    limit: u32,
    window_ms: i64,
    counts: Mutex<HashMap<String, (i64, u32)>>,
}

impl Limiter {
    pub fn new(limit: u32, window_ms: i64) -> Self {
        Limiter {
            limit,
            window_ms: window_ms.max(1),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key` at `now`; false when the key is over its limit.
    pub fn allow(&self, key: &str, now: Timestamp) -> bool {
        let window = now.millis().div_euclid(self.window_ms);
        let Ok(mut counts) = self.counts.lock() else {
            return true;
        };
        if !counts.contains_key(key) && counts.len() >= MAX_KEYS {
            counts.retain(|_, (at, _)| *at == window);
            if counts.len() >= MAX_KEYS {
                return false;
            }
        }
        let entry = counts.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_limit_per_window_and_windows_reset() {
        let limiter = Limiter::new(2, 1_000);
        let at = Timestamp::from_millis(10_000);
        assert!(limiter.allow("a", at));
        assert!(limiter.allow("a", at));
        assert!(!limiter.allow("a", at), "third in the window");
        assert!(limiter.allow("b", at), "another key has its own count");
        assert!(limiter.allow("a", at.plus_millis(1_000)), "next window");
    }
}
