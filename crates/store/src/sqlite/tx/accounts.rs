//! Settings, workspaces, staff users, sessions and API keys.

use super::super::query::{execute, insert, optional};
use super::super::rows;
use crate::*;
use rusqlite::{Connection, Row, params};

fn workspace_row(row: &Row<'_>) -> Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(rows::uuid(row, "id")?),
        name: row.get("name")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn user_row(row: &Row<'_>) -> Result<User> {
    let role: String = row.get("role")?;
    Ok(User {
        id: UserId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        email: row.get("email")?,
        password_hash: row.get("password_hash")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn session_row(row: &Row<'_>) -> Result<Session> {
    let principal = match (
        rows::opt_uuid(row, "user_id")?,
        rows::opt_uuid(row, "partner_id")?,
    ) {
        (Some(user), None) => Principal::User(UserId(user)),
        (None, Some(partner)) => Principal::Partner(PartnerId(partner)),
        _ => return Err(StoreError::Corrupt("session principal".into())),
    };
    Ok(Session {
        token_hash: row.get("token_hash")?,
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        principal,
        csrf_token: row.get("csrf_token")?,
        created_at: rows::ts(row, "created_at")?,
        expires_at: rows::ts(row, "expires_at")?,
    })
}

fn api_key_row(row: &Row<'_>) -> Result<ApiKey> {
    Ok(ApiKey {
        id: ApiKeyId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
        name: row.get("name")?,
        key_hash: row.get("key_hash")?,
        prefix: row.get("prefix")?,
        created_at: rows::ts(row, "created_at")?,
        revoked_at: rows::opt_ts(row, "revoked_at")?,
    })
}

pub fn setting(db: &Connection, key: &str) -> Result<Option<String>> {
    optional(
        db,
        "SELECT value FROM settings WHERE key = ?",
        [key],
        |row| Ok(row.get("value")?),
    )
}

pub fn put_setting_if_absent(db: &Connection, key: &str, value: &str) -> Result<()> {
    execute(
        db,
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        [key, value],
    )?;
    Ok(())
}

pub fn insert_workspace(db: &Connection, workspace: &Workspace) -> Result<()> {
    insert(
        db,
        "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)",
        params![
            workspace.id.to_string(),
            workspace.name,
            workspace.created_at.millis()
        ],
    )
}

pub fn workspace(db: &Connection, id: WorkspaceId) -> Result<Option<Workspace>> {
    optional(
        db,
        "SELECT * FROM workspaces WHERE id = ?",
        [id.to_string()],
        workspace_row,
    )
}

pub fn first_workspace(db: &Connection) -> Result<Option<Workspace>> {
    optional(
        db,
        "SELECT * FROM workspaces ORDER BY created_at, id LIMIT 1",
        [],
        workspace_row,
    )
}

pub fn insert_user(db: &Connection, user: &User) -> Result<()> {
    insert(
        db,
        "INSERT INTO users (id, workspace_id, email, password_hash, role, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
        params![
            user.id.to_string(),
            user.workspace_id.to_string(),
            user.email,
            user.password_hash,
            user.role.as_str(),
            user.created_at.millis(),
        ],
    )
}

pub fn user(db: &Connection, id: UserId) -> Result<Option<User>> {
    optional(
        db,
        "SELECT * FROM users WHERE id = ?",
        [id.to_string()],
        user_row,
    )
}

pub fn users(db: &Connection, workspace_id: WorkspaceId) -> Result<Vec<User>> {
    super::super::query::all(
        db,
        "SELECT * FROM users WHERE workspace_id = ? ORDER BY created_at, id LIMIT 1000",
        [workspace_id.to_string()],
        user_row,
    )
}

pub fn user_by_email(db: &Connection, email: &str) -> Result<Option<User>> {
    optional(db, "SELECT * FROM users WHERE email = ?", [email], user_row)
}

pub fn insert_session(db: &Connection, session: &Session) -> Result<()> {
    let (user_id, partner_id) = match session.principal {
        Principal::User(id) => (Some(id.to_string()), None),
        Principal::Partner(id) => (None, Some(id.to_string())),
    };
    insert(
        db,
        "INSERT INTO sessions (token_hash, workspace_id, user_id, partner_id, csrf_token, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            session.token_hash,
            session.workspace_id.to_string(),
            user_id,
            partner_id,
            session.csrf_token,
            session.created_at.millis(),
            session.expires_at.millis(),
        ],
    )
}

pub fn session(db: &Connection, token_hash: &str) -> Result<Option<Session>> {
    optional(
        db,
        "SELECT * FROM sessions WHERE token_hash = ?",
        [token_hash],
        session_row,
    )
}

pub fn delete_session(db: &Connection, token_hash: &str) -> Result<()> {
    execute(
        db,
        "DELETE FROM sessions WHERE token_hash = ?",
        [token_hash],
    )?;
    Ok(())
}

pub fn insert_api_key(db: &Connection, key: &ApiKey) -> Result<()> {
    insert(
        db,
        "INSERT INTO api_keys (id, workspace_id, partner_id, name, key_hash, prefix, created_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            key.id.to_string(),
            key.workspace_id.to_string(),
            key.partner_id.map(|id| id.to_string()),
            key.name,
            key.key_hash,
            key.prefix,
            key.created_at.millis(),
            key.revoked_at.map(Timestamp::millis),
        ],
    )
}

pub fn api_key_by_hash(db: &Connection, key_hash: &str) -> Result<Option<ApiKey>> {
    optional(
        db,
        "SELECT * FROM api_keys WHERE key_hash = ?",
        [key_hash],
        api_key_row,
    )
}
