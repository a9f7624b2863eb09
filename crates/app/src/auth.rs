//! Authentication: argon2id passwords, server-side sessions keyed by a hashed token, and API
//! keys stored as SHA-256 hashes (they are long random strings, so a fast hash is enough;
//! passwords are not, so they get argon2id).

use crate::{App, AppError, AppResult, new_uuid};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tributary_core::{ApiKeyId, PartnerId, Timestamp, WorkspaceId};
use tributary_store::{ApiKey, Principal, Session};

pub const SESSION_TTL_MILLIS: i64 = 12 * 60 * 60 * 1000;
pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;
pub const API_KEY_PREFIX: &str = "trb_";

pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn validate_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err(AppError::invalid(
            "password",
            format!("a password needs {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> AppResult<String> {
    validate_password(password)?;
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::Internal(format!("password hashing failed: {error}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the time a real verification would, so a login with an unknown email takes as
/// long as one with a wrong password.
fn burn_verification(password: &str) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
    let _ = verify_password(DUMMY, password);
}

/// A freshly made session: the token goes in the cookie, only its hash is stored.
pub struct NewSession {
    pub token: String,
    pub session: Session,
}

async fn open_session(
    app: &App,
    workspace_id: WorkspaceId,
    principal: Principal,
) -> AppResult<NewSession> {
    let token = random_token(32);
    let now = app.now();
    let session = Session {
        token_hash: sha256_hex(&token),
        workspace_id,
        principal,
        csrf_token: random_token(24),
        created_at: now,
        expires_at: now.plus_millis(SESSION_TTL_MILLIS),
    };
    let mut tx = app.store.write().await?;
    tx.insert_session(&session).await?;
    tx.commit().await?;
    Ok(NewSession { token, session })
}

pub async fn login_admin(app: &App, email: &str, password: &str) -> AppResult<NewSession> {
    let email = email.trim().to_ascii_lowercase();
    let user = app.store.read().await?.user_by_email(&email).await?;
    let Some(user) = user else {
        burn_verification(password);
        return Err(AppError::Unauthenticated);
    };
    if !verify_password(&user.password_hash, password) {
        return Err(AppError::Unauthenticated);
    }
    open_session(app, user.workspace_id, Principal::User(user.id)).await
}

/// Opens a portal session for a partner who just proved who they are another way (a
/// one-time link from their email).
pub async fn open_partner_session(
    app: &App,
    partner: &tributary_store::Partner,
) -> AppResult<NewSession> {
    open_session(app, partner.workspace_id, Principal::Partner(partner.id)).await
}

pub async fn login_partner(app: &App, email: &str, password: &str) -> AppResult<NewSession> {
    let email = email.trim().to_ascii_lowercase();
    let partners = app.store.read().await?.partners_by_email(&email).await?;
    if partners.is_empty() {
        burn_verification(password);
        return Err(AppError::Unauthenticated);
    }
    for partner in partners {
        if let Some(hash) = &partner.password_hash
            && verify_password(hash, password)
        {
            return open_session(app, partner.workspace_id, Principal::Partner(partner.id)).await;
        }
    }
    Err(AppError::Unauthenticated)
}

/// The live session for a cookie token, if any.
pub async fn session(app: &App, token: &str) -> AppResult<Option<Session>> {
    if token.len() > 128 {
        return Ok(None);
    }
    let session = app.store.read().await?.session(&sha256_hex(token)).await?;
    Ok(session.filter(|session| session.expires_at > app.now()))
}

pub async fn logout(app: &App, token: &str) -> AppResult<()> {
    let mut tx = app.store.write().await?;
    tx.delete_session(&sha256_hex(token)).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates an API key; the plaintext is returned once and never stored.
pub async fn create_api_key(
    app: &App,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    name: &str,
) -> AppResult<(String, ApiKey)> {
    let secret = format!("{API_KEY_PREFIX}{}", random_token(32));
    let key = ApiKey {
        id: ApiKeyId(new_uuid()),
        workspace_id,
        partner_id,
        name: name.chars().take(100).collect(),
        key_hash: sha256_hex(&secret),
        prefix: secret.chars().take(API_KEY_PREFIX.len() + 6).collect(),
        created_at: app.now(),
        revoked_at: None,
    };
    let mut tx = app.store.write().await?;
    tx.insert_api_key(&key).await?;
    tx.commit().await?;
    Ok((secret, key))
}

/// The key for a presented secret, if it is valid now. Found keys are remembered for
/// [`API_KEY_CACHE_TTL_MILLIS`], so a busy integration does not cost a database read per
/// request; a revocation therefore takes effect within that time.
pub async fn api_key(app: &App, secret: &str) -> AppResult<Option<ApiKey>> {
    if !secret.starts_with(API_KEY_PREFIX) || secret.len() > 128 {
        return Ok(None);
    }
    let hash = sha256_hex(secret);
    let now = app.now();
    let live = |key: &ApiKey| key.revoked_at.is_none_or(|revoked| revoked > now);
    if let Some(key) = app.api_keys.get(&hash, now) {
        return Ok(Some(key).filter(live));
    }
    let key = app.store.read().await?.api_key_by_hash(&hash).await?;
    if let Some(key) = &key {
        app.api_keys.put(hash, key.clone(), now);
    }
    Ok(key.filter(live))
}

/// How long a verified API key is remembered.
pub const API_KEY_CACHE_TTL_MILLIS: i64 = 60_000;
/// Keys remembered at most; the cache starts over when full.
pub const API_KEY_CACHE_MAX: usize = 10_000;

/// Verified API keys by hash, each with the time it was read.
#[derive(Default)]
pub struct ApiKeyCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (ApiKey, Timestamp)>>,
}

impl ApiKeyCache {
    fn get(&self, hash: &str, now: Timestamp) -> Option<ApiKey> {
        let entries = self.entries.lock().ok()?;
        let (key, read_at) = entries.get(hash)?;
        let fresh = now.millis().saturating_sub(read_at.millis()) < API_KEY_CACHE_TTL_MILLIS
            && *read_at <= now;
        fresh.then(|| key.clone())
    }

    fn put(&self, hash: String, key: ApiKey, now: Timestamp) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= API_KEY_CACHE_MAX {
                entries.clear();
            }
            entries.insert(hash, (key, now));
        }
    }
}
