//! Server secrets: the key that signs click ids and the key that hashes visitor IPs. Made
//! once, stored in the database (so every node of a cluster shares them), never logged.

use crate::AppResult;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use tributary_core::clickid::ClickKey;
use tributary_store::Store;

pub struct Secrets {
    pub click_key: ClickKey,
    /// Keyed once; each hash clones it.
    ip_mac: Hmac<Sha256>,
}

impl Secrets {
    pub async fn load_or_create(store: &dyn Store) -> AppResult<Secrets> {
        let click = Self::secret(store, "click_key").await?;
        let ip = Self::secret(store, "ip_hash_key").await?;
        let click_key = ClickKey::new(click)
            .ok_or_else(|| crate::AppError::Internal("click key too short".into()))?;
        let ip_mac = <Hmac<Sha256> as Mac>::new_from_slice(&ip)
            .map_err(|_| crate::AppError::Internal("ip hash key rejected".into()))?;
        Ok(Secrets { click_key, ip_mac })
    }

    async fn secret(store: &dyn Store, name: &str) -> AppResult<Vec<u8>> {
        let mut fresh = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        let mut tx = store.write().await?;
        tx.put_setting_if_absent(name, &URL_SAFE_NO_PAD.encode(fresh))
            .await?;
        let stored = tx.setting(name).await?.unwrap_or_default();
        tx.commit().await?;
        URL_SAFE_NO_PAD
            .decode(stored)
            .map_err(|_| crate::AppError::Internal(format!("setting {name} is not base64")))
    }

    /// A keyed hash of a visitor's IP: lets fraud checks compare IPs without storing them.
    pub fn hash_ip(&self, ip: &str) -> String {
        let mut mac = self.ip_mac.clone();
        mac.update(ip.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
    }
}
