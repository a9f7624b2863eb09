//! Self-describing click ids (`tclid`): link id + time + flags + random + a MAC under a
//! server key. A conversion that carries a valid `tclid` can be attributed even when the
//! click row itself was never written (a crash inside the click log's flush window), and a
//! forged or altered id is rejected without a database look-up.

use crate::{LinkId, Timestamp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

const VERSION: u8 = 1;
const RANDOM_LEN: usize = 6;
const MAC_LEN: usize = 10;
const BODY_LEN: usize = 1 + 16 + 6 + 1 + RANDOM_LEN;
const TOTAL_LEN: usize = BODY_LEN + MAC_LEN;
const FLAG_BOT: u8 = 0b0000_0001;
const FLAG_REFERRAL: u8 = 0b0000_0010;

/// The secret that signs click ids (at least 32 bytes), held as an HMAC state already
/// keyed, so signing a click hashes only the click.
#[derive(Clone)]
pub struct ClickKey(Hmac<Sha256>);

impl ClickKey {
    pub const MIN_LEN: usize = 32;

    pub fn new(secret: Vec<u8>) -> Option<Self> {
        if secret.len() < Self::MIN_LEN {
            return None;
        }
        // HMAC accepts keys of any length, so construction cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&secret)
            .ok()
            .map(ClickKey)
    }
}

impl std::fmt::Debug for ClickKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClickKey(..)")
    }
}

/// What a `tclid` says about its click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickFacts {
    pub link_id: LinkId,
    pub at: Timestamp,
    pub is_bot: bool,
    /// A `?via=` visit the site snippet recorded (channel `referral`), not a click on the
    /// tracking link itself.
    pub referral: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClickIdError {
    #[error("click id is not in the tclid format")]
    Malformed,
    #[error("click id was not issued by this server")]
    BadSignature,
}

fn mac(key: &ClickKey, body: &[u8]) -> [u8; MAC_LEN] {
    let mut hmac = key.0.clone();
    hmac.update(body);
    let full = hmac.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

/// Mints a click id. `random` must come from a CSPRNG; it makes ids for the same link and
/// millisecond distinct.
pub fn encode(key: &ClickKey, facts: ClickFacts, random: [u8; RANDOM_LEN]) -> String {
    let mut bytes = [0u8; TOTAL_LEN];
    bytes[0] = VERSION;
    bytes[1..17].copy_from_slice(facts.link_id.as_uuid().as_bytes());
    // 48 bits of milliseconds reach the year 10889.
    let millis = facts.at.millis().clamp(0, (1i64 << 48) - 1) as u64;
    bytes[17..23].copy_from_slice(&millis.to_be_bytes()[2..8]);
    bytes[23] =
        if facts.is_bot { FLAG_BOT } else { 0 } | if facts.referral { FLAG_REFERRAL } else { 0 };
    bytes[24..BODY_LEN].copy_from_slice(&random);
    let tag = mac(key, &bytes[..BODY_LEN]);
    bytes[BODY_LEN..].copy_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Verifies and reads a click id.
pub fn decode(key: &ClickKey, text: &str) -> Result<ClickFacts, ClickIdError> {
    if text.len() > 64 {
        return Err(ClickIdError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| ClickIdError::Malformed)?;
    if bytes.len() != TOTAL_LEN || bytes[0] != VERSION {
        return Err(ClickIdError::Malformed);
    }
    let expected = mac(key, &bytes[..BODY_LEN]);
    // Constant-time comparison of the tag.
    let difference = expected
        .iter()
        .zip(&bytes[BODY_LEN..])
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if difference != 0 {
        return Err(ClickIdError::BadSignature);
    }
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&bytes[1..17]);
    let mut millis = [0u8; 8];
    millis[2..8].copy_from_slice(&bytes[17..23]);
    Ok(ClickFacts {
        link_id: LinkId::from_uuid(Uuid::from_bytes(uuid)),
        at: Timestamp::from_millis(i64::from_be_bytes(millis)),
        is_bot: bytes[23] & FLAG_BOT != 0,
        referral: bytes[23] & FLAG_REFERRAL != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> ClickKey {
        ClickKey::new(vec![7u8; 32]).expect("long enough")
    }

    proptest! {
        #[test]
        fn round_trips(uuid in any::<u128>(), millis in 0i64..(1i64 << 48), bot: bool, referral: bool, random: [u8; 6]) {
            let facts = ClickFacts { link_id: LinkId::from_uuid(Uuid::from_u128(uuid)), at: Timestamp::from_millis(millis), is_bot: bot, referral };
            let id = encode(&key(), facts, random);
            prop_assert_eq!(decode(&key(), &id), Ok(facts));
        }

        #[test]
        fn any_altered_character_is_rejected(position in 0usize..51, random: [u8; 6]) {
            let facts = ClickFacts { link_id: LinkId::from_uuid(Uuid::from_u128(42)), at: Timestamp::from_millis(1_700_000_000_000), is_bot: false, referral: false };
            let id = encode(&key(), facts, random);
            let mut chars: Vec<char> = id.chars().collect();
            let position = position % chars.len();
            chars[position] = if chars[position] == 'A' { 'B' } else { 'A' };
            let altered: String = chars.into_iter().collect();
            prop_assert!(decode(&key(), &altered).is_err());
        }
    }

    #[test]
    fn another_key_rejects() {
        let facts = ClickFacts {
            link_id: LinkId::from_uuid(Uuid::from_u128(1)),
            at: Timestamp::from_millis(5),
            is_bot: true,
            referral: false,
        };
        let id = encode(&key(), facts, [1; 6]);
        let other = ClickKey::new(vec![8u8; 32]).expect("long enough");
        assert_eq!(decode(&other, &id), Err(ClickIdError::BadSignature));
        assert_eq!(decode(&key(), "not-a-click"), Err(ClickIdError::Malformed));
    }
}
