//! Settings, workspaces, staff users, sessions and API keys.

use super::super::query::{Db, execute, insert, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;

fn workspace_row(row: &Row) -> Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(rows::uuid(row, "id")?),
        name: rows::get(row, "name")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn user_row(row: &Row) -> Result<User> {
    let role: &str = rows::get(row, "role")?;
    Ok(User {
        id: UserId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        email: rows::get(row, "email")?,
        password_hash: rows::get(row, "password_hash")?,
        role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn session_row(row: &Row) -> Result<Session> {
    let principal = match (
        rows::opt_uuid(row, "user_id")?,
        rows::opt_uuid(row, "partner_id")?,
    ) {
        (Some(user), None) => Principal::User(UserId(user)),
        (None, Some(partner)) => Principal::Partner(PartnerId(partner)),
        _ => return Err(StoreError::Corrupt("session principal".into())),
    };
    Ok(Session {
        token_hash: rows::get(row, "token_hash")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        principal,
        csrf_token: rows::get(row, "csrf_token")?,
        created_at: rows::ts(row, "created_at")?,
        expires_at: rows::ts(row, "expires_at")?,
    })
}

fn api_key_row(row: &Row) -> Result<ApiKey> {
    Ok(ApiKey {
        id: ApiKeyId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
        name: rows::get(row, "name")?,
        key_hash: rows::get(row, "key_hash")?,
        prefix: rows::get(row, "prefix")?,
        created_at: rows::ts(row, "created_at")?,
        revoked_at: rows::opt_ts(row, "revoked_at")?,
    })
}

pub async fn setting(db: &Db, key: &str) -> Result<Option<String>> {
    optional(
        db,
        "SELECT value FROM settings WHERE key = $1",
        &[&key],
        |row| rows::get(row, "value"),
    )
    .await
}

pub async fn put_setting_if_absent(db: &Db, key: &str, value: &str) -> Result<()> {
    execute(
        db,
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        &[&key, &value],
    )
    .await?;
    Ok(())
}

pub async fn insert_workspace(db: &Db, workspace: &Workspace) -> Result<()> {
    let id = workspace.id.as_uuid();
    let created_at = workspace.created_at.millis();
    insert(
        db,
        "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)",
        &[&id, &workspace.name, &created_at],
    )
    .await
}

pub async fn workspace(db: &Db, id: WorkspaceId) -> Result<Option<Workspace>> {
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM workspaces WHERE id = $1",
        &[&id],
        workspace_row,
    )
    .await
}

pub async fn first_workspace(db: &Db) -> Result<Option<Workspace>> {
    optional(
        db,
        "SELECT * FROM workspaces ORDER BY created_at, id LIMIT 1",
        &[],
        workspace_row,
    )
    .await
}

pub async fn insert_user(db: &Db, user: &User) -> Result<()> {
    let id = user.id.as_uuid();
    let workspace_id = user.workspace_id.as_uuid();
    let role = user.role.as_str();
    let created_at = user.created_at.millis();
    insert(
        db,
        "INSERT INTO users (id, workspace_id, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id,
            &workspace_id,
            &user.email,
            &user.password_hash,
            &role,
            &created_at,
        ],
    )
    .await
}

pub async fn user(db: &Db, id: UserId) -> Result<Option<User>> {
    let id = id.as_uuid();
    optional(db, "SELECT * FROM users WHERE id = $1", &[&id], user_row).await
}

pub async fn users(db: &Db, workspace_id: WorkspaceId) -> Result<Vec<User>> {
    super::super::query::all(
        db,
        "SELECT * FROM users WHERE workspace_id = $1 ORDER BY created_at, id LIMIT 1000",
        &[&workspace_id.as_uuid()],
        user_row,
    )
    .await
}

pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<User>> {
    optional(
        db,
        "SELECT * FROM users WHERE email = $1",
        &[&email],
        user_row,
    )
    .await
}

pub async fn insert_session(db: &Db, session: &Session) -> Result<()> {
    let (user_id, partner_id) = match session.principal {
        Principal::User(id) => (Some(id.as_uuid()), None),
        Principal::Partner(id) => (None, Some(id.as_uuid())),
    };
    let workspace_id = session.workspace_id.as_uuid();
    let created_at = session.created_at.millis();
    let expires_at = session.expires_at.millis();
    insert(
        db,
        "INSERT INTO sessions (token_hash, workspace_id, user_id, partner_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &session.token_hash,
            &workspace_id,
            &user_id,
            &partner_id,
            &session.csrf_token,
            &created_at,
            &expires_at,
        ],
    )
    .await
}

pub async fn session(db: &Db, token_hash: &str) -> Result<Option<Session>> {
    optional(
        db,
        "SELECT * FROM sessions WHERE token_hash = $1",
        &[&token_hash],
        session_row,
    )
    .await
}

pub async fn delete_session(db: &Db, token_hash: &str) -> Result<()> {
    execute(
        db,
        "DELETE FROM sessions WHERE token_hash = $1",
        &[&token_hash],
    )
    .await?;
    Ok(())
}

pub async fn insert_api_key(db: &Db, key: &ApiKey) -> Result<()> {
    let id = key.id.as_uuid();
    let workspace_id = key.workspace_id.as_uuid();
    let partner_id = key.partner_id.map(|id| id.as_uuid());
    let created_at = key.created_at.millis();
    let revoked_at = key.revoked_at.map(Timestamp::millis);
    insert(
        db,
        "INSERT INTO api_keys (id, workspace_id, partner_id, name, key_hash, prefix, created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id,
            &workspace_id,
            &partner_id,
            &key.name,
            &key.key_hash,
            &key.prefix,
            &created_at,
            &revoked_at,
        ],
    )
    .await
}

pub async fn api_key_by_hash(db: &Db, key_hash: &str) -> Result<Option<ApiKey>> {
    optional(
        db,
        "SELECT * FROM api_keys WHERE key_hash = $1",
        &[&key_hash],
        api_key_row,
    )
    .await
}
