//! The SQLite transaction: every query of the [`Tx`] trait.

use super::rows::{self, classify};
use crate::*;
use async_trait::async_trait;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Row, Sqlite, Transaction as SqlxTransaction};
use std::collections::BTreeMap;
use tributary_core::attribution::{Binding, Touch};
use tributary_core::commission::{CommissionState, StoredEvent};
use tributary_core::event::{EventFacts, EventKind};
use tributary_core::ledger::{AccountKind, PartnerBalance, Transaction};

pub struct SqliteTx {
    tx: SqlxTransaction<'static, Sqlite>,
}

impl SqliteTx {
    pub fn new(tx: SqlxTransaction<'static, Sqlite>) -> Self {
        SqliteTx { tx }
    }
}

fn opt_str(uuid: Option<uuid::Uuid>) -> Option<String> {
    uuid.map(|uuid| uuid.to_string())
}

/// Rows per multi-row click insert (9 parameters each, far below SQLite's 32,766 limit).
const CLICK_ROWS_PER_STATEMENT: usize = 500;

/// Appends clicks on the writer connection with `synchronous=NORMAL` for just this
/// transaction: in WAL mode that survives a crash of the process (not of the machine), which
/// is the click log's stated loss window, and saves an fsync per batch that money events
/// need and clicks do not. The connection is put back to `FULL` before anyone else uses it;
/// if that fails it is closed rather than returned to the pool.
pub async fn append_clicks(pool: &SqlitePool, clicks: &[Click]) -> Result<()> {
    if clicks.is_empty() {
        return Ok(());
    }
    let mut connection = pool.acquire().await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *connection)
        .await?;
    let written = write_clicks(&mut connection, clicks).await;
    if sqlx::query("PRAGMA synchronous = FULL")
        .execute(&mut *connection)
        .await
        .is_err()
    {
        connection.close_on_drop();
    }
    written
}

async fn write_clicks(connection: &mut sqlx::SqliteConnection, clicks: &[Click]) -> Result<()> {
    use sqlx::Connection;
    let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
    let mut daily: BTreeMap<(String, i64), (i64, i64)> = BTreeMap::new();
    // Multi-row inserts: one statement per CLICK_ROWS_PER_STATEMENT clicks.
    for chunk in clicks.chunks(CLICK_ROWS_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO clicks (id, workspace_id, link_id, partner_id, at, ip_hash, user_agent, referrer, is_bot) ",
        );
        insert.push_values(chunk, |mut row, click| {
            row.push_bind(&click.id)
                .push_bind(click.workspace_id.to_string())
                .push_bind(click.link_id.to_string())
                .push_bind(click.partner_id.to_string())
                .push_bind(click.at.millis())
                .push_bind(&click.ip_hash)
                .push_bind(&click.user_agent)
                .push_bind(&click.referrer)
                .push_bind(click.is_bot);
        });
        insert.build().execute(&mut *tx).await?;
    }
    for click in clicks {
        let entry = daily
            .entry((click.link_id.to_string(), click.at.epoch_day()))
            .or_insert((0, 0));
        entry.0 += 1;
        if click.is_bot {
            entry.1 += 1;
        }
    }
    for ((link_id, day), (count, bots)) in daily {
        sqlx::query(
            "INSERT INTO link_daily (link_id, day, clicks, bot_clicks) VALUES (?, ?, ?, ?)
             ON CONFLICT (link_id, day) DO UPDATE SET clicks = clicks + excluded.clicks,
             bot_clicks = bot_clicks + excluded.bot_clicks",
        )
        .bind(link_id)
        .bind(day)
        .bind(count)
        .bind(bots)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

fn workspace_row(row: &SqliteRow) -> Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(rows::uuid(row, "id")?),
        name: row.try_get("name")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn user_row(row: &SqliteRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: UserId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn program_row(row: &SqliteRow) -> Result<Program> {
    Ok(Program {
        id: ProgramId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        name: row.try_get("name")?,
        destination_url: row.try_get("destination_url")?,
        currency: rows::currency(row, "currency")?,
        window_days: rows::u32_col(row, "window_days")?,
        hold_days: rows::u32_col(row, "hold_days")?,
        min_payout_minor: row.try_get("min_payout_minor")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        created_at: rows::ts(row, "created_at")?,
    })
}

fn partner_row(row: &SqliteRow) -> Result<Partner> {
    Ok(Partner {
        id: PartnerId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        archetype: row.try_get("archetype")?,
        payout_email: row.try_get("payout_email")?,
        password_hash: row.try_get("password_hash")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn enrollment_row(row: &SqliteRow) -> Result<Enrollment> {
    Ok(Enrollment {
        id: EnrollmentId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        status: row.try_get("status")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn link_row(row: &SqliteRow) -> Result<Link> {
    Ok(Link {
        id: LinkId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        code: row.try_get("code")?,
        destination_url: row.try_get("destination_url")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn customer_row(row: &SqliteRow) -> Result<Customer> {
    let binding = match (
        rows::opt_uuid(row, "partner_id")?,
        rows::opt_uuid(row, "program_id")?,
        rows::opt_ts(row, "bound_at")?,
    ) {
        (Some(partner), Some(program), Some(bound_at)) => Some(Binding {
            partner_id: PartnerId(partner),
            program_id: ProgramId(program),
            link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
            click_id: row.try_get("click_id")?,
            touched_at: rows::opt_ts(row, "touched_at")?,
            bound_at,
        }),
        _ => None,
    };
    Ok(Customer {
        id: CustomerId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        external_id: row.try_get("external_id")?,
        binding,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn facts_row(row: &SqliteRow) -> Result<EventFacts> {
    let kind: String = row.try_get("kind")?;
    let amount_minor: Option<i64> = row.try_get("amount_minor")?;
    let currency: Option<String> = row.try_get("currency")?;
    let amount = match (amount_minor, currency) {
        (Some(amount_minor), Some(code)) => Some(Money::new(
            amount_minor,
            Currency::parse(&code).map_err(|error| StoreError::Corrupt(error.to_string()))?,
        )),
        _ => None,
    };
    Ok(EventFacts {
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {kind}")))?,
        customer_external_id: row.try_get("customer_external_id")?,
        click_id: row.try_get("click_id")?,
        amount,
        occurred_at: rows::ts(row, "occurred_at")?,
        invoice_id: row.try_get("invoice_id")?,
        milestone: row.try_get("milestone")?,
    })
}

fn event_row(row: &SqliteRow) -> Result<EventRecord> {
    Ok(EventRecord {
        id: EventId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        customer_id: CustomerId(rows::uuid(row, "customer_id")?),
        facts: facts_row(row)?,
        metadata_json: row.try_get("metadata_json")?,
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
        link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
        response_json: row.try_get("response_json")?,
        received_at: rows::ts(row, "received_at")?,
    })
}

fn commission_row(row: &SqliteRow) -> Result<CommissionRecord> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    Ok(CommissionRecord {
        id: CommissionId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        customer_id: CustomerId(rows::uuid(row, "customer_id")?),
        source_event_id: EventId(rows::uuid(row, "source_event_id")?),
        caused_by_event_id: EventId(rows::uuid(row, "caused_by_event_id")?),
        rule_id: row.try_get("rule_id")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        kind: match kind.as_str() {
            "earning" => CommissionKind::Earning,
            "clawback" => CommissionKind::Clawback,
            other => return Err(StoreError::Corrupt(format!("commission kind {other}"))),
        },
        amount: rows::money(row, "amount_minor", "currency")?,
        state: CommissionState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("commission state {state}")))?,
        hold_until: rows::ts(row, "hold_until")?,
        payout_batch_id: rows::opt_uuid(row, "payout_batch_id")?.map(PayoutBatchId),
        explanation: rows::json(row, "explanation_json")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn batch_row(row: &SqliteRow) -> Result<PayoutBatch> {
    let state: String = row.try_get("state")?;
    Ok(PayoutBatch {
        id: PayoutBatchId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        currency: rows::currency(row, "currency")?,
        total_minor: row.try_get("total_minor")?,
        item_count: row.try_get("item_count")?,
        state: if state == "paid" {
            PayoutState::Paid
        } else {
            PayoutState::Created
        },
        reference: row.try_get("reference")?,
        created_at: rows::ts(row, "created_at")?,
        paid_at: rows::opt_ts(row, "paid_at")?,
    })
}

fn job_row(row: &SqliteRow) -> Result<Job> {
    Ok(Job {
        id: JobId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        kind: row.try_get("kind")?,
        payload_json: row.try_get("payload_json")?,
        dedupe_key: row.try_get("dedupe_key")?,
        run_at: rows::ts(row, "run_at")?,
        attempts: row.try_get("attempts")?,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn collect<T>(found: Vec<SqliteRow>, map: fn(&SqliteRow) -> Result<T>) -> Result<Vec<T>> {
    found.iter().map(map).collect()
}

#[async_trait]
impl Tx for SqliteTx {
    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(classify)
    }

    async fn savepoint(&mut self) -> Result<()> {
        sqlx::query("SAVEPOINT request")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn release_savepoint(&mut self) -> Result<()> {
        sqlx::query("RELEASE SAVEPOINT request")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn rollback_to_savepoint(&mut self) -> Result<()> {
        // ROLLBACK TO keeps the savepoint open; release it so savepoints do not nest up.
        sqlx::query("ROLLBACK TO SAVEPOINT request")
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("RELEASE SAVEPOINT request")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("value")?),
            None => None,
        })
    }

    async fn put_setting_if_absent(&mut self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_workspace(&mut self, workspace: &Workspace) -> Result<()> {
        sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)")
            .bind(workspace.id.to_string())
            .bind(&workspace.name)
            .bind(workspace.created_at.millis())
            .execute(&mut *self.tx)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn workspace(&mut self, id: WorkspaceId) -> Result<Option<Workspace>> {
        let row = sqlx::query("SELECT * FROM workspaces WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(workspace_row).transpose()
    }

    async fn first_workspace(&mut self) -> Result<Option<Workspace>> {
        let row = sqlx::query("SELECT * FROM workspaces ORDER BY created_at, id LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(workspace_row).transpose()
    }

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        sqlx::query("INSERT INTO users (id, workspace_id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(user.id.to_string())
            .bind(user.workspace_id.to_string())
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(user.role.as_str())
            .bind(user.created_at.millis())
            .execute(&mut *self.tx)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn user(&mut self, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ?")
            .bind(email)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn insert_session(&mut self, session: &Session) -> Result<()> {
        let (user_id, partner_id) = match session.principal {
            Principal::User(id) => (Some(id.to_string()), None),
            Principal::Partner(id) => (None, Some(id.to_string())),
        };
        sqlx::query(
            "INSERT INTO sessions (token_hash, workspace_id, user_id, partner_id, csrf_token, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&session.token_hash)
        .bind(session.workspace_id.to_string())
        .bind(user_id)
        .bind(partner_id)
        .bind(&session.csrf_token)
        .bind(session.created_at.millis())
        .bind(session.expires_at.millis())
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn session(&mut self, token_hash: &str) -> Result<Option<Session>> {
        let Some(row) = sqlx::query("SELECT * FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        let principal = match (
            rows::opt_uuid(&row, "user_id")?,
            rows::opt_uuid(&row, "partner_id")?,
        ) {
            (Some(user), None) => Principal::User(UserId(user)),
            (None, Some(partner)) => Principal::Partner(PartnerId(partner)),
            _ => return Err(StoreError::Corrupt("session principal".into())),
        };
        Ok(Some(Session {
            token_hash: row.try_get("token_hash")?,
            workspace_id: WorkspaceId(rows::uuid(&row, "workspace_id")?),
            principal,
            csrf_token: row.try_get("csrf_token")?,
            created_at: rows::ts(&row, "created_at")?,
            expires_at: rows::ts(&row, "expires_at")?,
        }))
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, workspace_id, partner_id, name, key_hash, prefix, created_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.to_string())
        .bind(key.workspace_id.to_string())
        .bind(key.partner_id.map(|id| id.to_string()))
        .bind(&key.name)
        .bind(&key.key_hash)
        .bind(&key.prefix)
        .bind(key.created_at.millis())
        .bind(key.revoked_at.map(Timestamp::millis))
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKey>> {
        let Some(row) = sqlx::query("SELECT * FROM api_keys WHERE key_hash = ?")
            .bind(key_hash)
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ApiKey {
            id: ApiKeyId(rows::uuid(&row, "id")?),
            workspace_id: WorkspaceId(rows::uuid(&row, "workspace_id")?),
            partner_id: rows::opt_uuid(&row, "partner_id")?.map(PartnerId),
            name: row.try_get("name")?,
            key_hash: row.try_get("key_hash")?,
            prefix: row.try_get("prefix")?,
            created_at: rows::ts(&row, "created_at")?,
            revoked_at: rows::opt_ts(&row, "revoked_at")?,
        }))
    }

    async fn insert_program(&mut self, program: &Program) -> Result<()> {
        sqlx::query(
            "INSERT INTO programs (id, workspace_id, name, destination_url, currency, window_days, hold_days,
             min_payout_minor, plan_version_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(program.id.to_string())
        .bind(program.workspace_id.to_string())
        .bind(&program.name)
        .bind(&program.destination_url)
        .bind(program.currency.code())
        .bind(i64::from(program.window_days))
        .bind(i64::from(program.hold_days))
        .bind(program.min_payout_minor)
        .bind(program.plan_version_id.to_string())
        .bind(program.created_at.millis())
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn program(
        &mut self,
        workspace_id: WorkspaceId,
        id: ProgramId,
    ) -> Result<Option<Program>> {
        let row = sqlx::query("SELECT * FROM programs WHERE workspace_id = ? AND id = ?")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(program_row).transpose()
    }

    async fn programs(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Program>> {
        let found = sqlx::query("SELECT * FROM programs WHERE workspace_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?")
            .bind(workspace_id.to_string())
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *self.tx)
            .await?;
        collect(found, program_row)
    }

    async fn insert_plan_version(&mut self, version: &PlanVersion) -> Result<()> {
        let plan_json = serde_json::to_string(&version.plan)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        sqlx::query("INSERT INTO plan_versions (id, program_id, version, plan_json, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(version.id.to_string())
            .bind(version.program_id.to_string())
            .bind(version.version)
            .bind(plan_json)
            .bind(version.created_at.millis())
            .execute(&mut *self.tx)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn plan_version(&mut self, id: PlanVersionId) -> Result<Option<PlanVersion>> {
        let Some(row) = sqlx::query("SELECT * FROM plan_versions WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(PlanVersion {
            id: PlanVersionId(rows::uuid(&row, "id")?),
            program_id: ProgramId(rows::uuid(&row, "program_id")?),
            version: row.try_get("version")?,
            plan: rows::json(&row, "plan_json")?,
            created_at: rows::ts(&row, "created_at")?,
        }))
    }

    async fn insert_partner(&mut self, partner: &Partner) -> Result<()> {
        sqlx::query(
            "INSERT INTO partners (id, workspace_id, name, email, archetype, payout_email, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(partner.id.to_string())
        .bind(partner.workspace_id.to_string())
        .bind(&partner.name)
        .bind(&partner.email)
        .bind(&partner.archetype)
        .bind(&partner.payout_email)
        .bind(&partner.password_hash)
        .bind(partner.created_at.millis())
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn partner(
        &mut self,
        workspace_id: WorkspaceId,
        id: PartnerId,
    ) -> Result<Option<Partner>> {
        let row = sqlx::query("SELECT * FROM partners WHERE workspace_id = ? AND id = ?")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(partner_row).transpose()
    }

    async fn partners(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Partner>> {
        let found = sqlx::query(
            "SELECT * FROM partners WHERE workspace_id = ? ORDER BY name, id LIMIT ? OFFSET ?",
        )
        .bind(workspace_id.to_string())
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *self.tx)
        .await?;
        collect(found, partner_row)
    }

    async fn partners_by_email(&mut self, email: &str) -> Result<Vec<Partner>> {
        let found =
            sqlx::query("SELECT * FROM partners WHERE email = ? ORDER BY created_at LIMIT 20")
                .bind(email)
                .fetch_all(&mut *self.tx)
                .await?;
        collect(found, partner_row)
    }

    async fn set_partner_password(&mut self, id: PartnerId, password_hash: &str) -> Result<()> {
        sqlx::query("UPDATE partners SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_enrollment(&mut self, enrollment: &Enrollment) -> Result<()> {
        sqlx::query("INSERT INTO enrollments (id, workspace_id, program_id, partner_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(enrollment.id.to_string())
            .bind(enrollment.workspace_id.to_string())
            .bind(enrollment.program_id.to_string())
            .bind(enrollment.partner_id.to_string())
            .bind(&enrollment.status)
            .bind(enrollment.created_at.millis())
            .execute(&mut *self.tx)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn enrollment(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Option<Enrollment>> {
        let row = sqlx::query("SELECT * FROM enrollments WHERE program_id = ? AND partner_id = ?")
            .bind(program_id.to_string())
            .bind(partner_id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(enrollment_row).transpose()
    }

    async fn enrollments(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Enrollment>> {
        let found = sqlx::query(
            "SELECT * FROM enrollments WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?)
             ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        )
        .bind(workspace_id.to_string())
        .bind(partner_id.map(|id| id.to_string()))
        .bind(partner_id.map(|id| id.to_string()))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *self.tx)
        .await?;
        collect(found, enrollment_row)
    }

    async fn insert_link(&mut self, link: &Link) -> Result<()> {
        sqlx::query(
            "INSERT INTO links (id, workspace_id, program_id, partner_id, code, destination_url, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(link.id.to_string())
        .bind(link.workspace_id.to_string())
        .bind(link.program_id.to_string())
        .bind(link.partner_id.to_string())
        .bind(&link.code)
        .bind(&link.destination_url)
        .bind(link.created_at.millis())
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn link(&mut self, workspace_id: WorkspaceId, id: LinkId) -> Result<Option<Link>> {
        let row = sqlx::query("SELECT * FROM links WHERE workspace_id = ? AND id = ?")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(link_row).transpose()
    }

    async fn link_by_id_any_workspace(&mut self, id: LinkId) -> Result<Option<Link>> {
        let row = sqlx::query("SELECT * FROM links WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(link_row).transpose()
    }

    async fn link_by_code(&mut self, code: &str) -> Result<Option<Link>> {
        let row = sqlx::query("SELECT * FROM links WHERE code = ?")
            .bind(code)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(link_row).transpose()
    }

    async fn links(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<LinkStats>> {
        let found = sqlx::query(
            "SELECT l.*,
                COALESCE((SELECT SUM(d.clicks) FROM link_daily d WHERE d.link_id = l.id), 0) AS clicks,
                COALESCE((SELECT SUM(d.bot_clicks) FROM link_daily d WHERE d.link_id = l.id), 0) AS bot_clicks,
                (SELECT COUNT(*) FROM events e WHERE e.link_id = l.id AND e.kind = 'lead') AS leads,
                (SELECT COUNT(*) FROM events e WHERE e.link_id = l.id AND e.kind IN ('sale', 'renewal')) AS sales
             FROM links l WHERE l.workspace_id = ? AND (? IS NULL OR l.partner_id = ?)
             ORDER BY l.created_at DESC, l.id LIMIT ? OFFSET ?",
        )
        .bind(workspace_id.to_string())
        .bind(partner_id.map(|id| id.to_string()))
        .bind(partner_id.map(|id| id.to_string()))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *self.tx)
        .await?;
        found
            .iter()
            .map(|row| {
                Ok(LinkStats {
                    link: link_row(row)?,
                    clicks: row.try_get("clicks")?,
                    bot_clicks: row.try_get("bot_clicks")?,
                    leads: row.try_get("leads")?,
                    sales: row.try_get("sales")?,
                })
            })
            .collect()
    }

    async fn all_links(&mut self) -> Result<Vec<Link>> {
        let found = sqlx::query("SELECT * FROM links")
            .fetch_all(&mut *self.tx)
            .await?;
        collect(found, link_row)
    }

    async fn customer_by_external_id(
        &mut self,
        workspace_id: WorkspaceId,
        external_id: &str,
    ) -> Result<Option<Customer>> {
        let row = sqlx::query("SELECT * FROM customers WHERE workspace_id = ? AND external_id = ?")
            .bind(workspace_id.to_string())
            .bind(external_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(customer_row).transpose()
    }

    async fn customer(
        &mut self,
        workspace_id: WorkspaceId,
        id: CustomerId,
    ) -> Result<Option<Customer>> {
        let row = sqlx::query("SELECT * FROM customers WHERE workspace_id = ? AND id = ?")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(customer_row).transpose()
    }

    async fn insert_customer(&mut self, customer: &Customer) -> Result<()> {
        sqlx::query(
            "INSERT INTO customers (id, workspace_id, external_id, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(customer.id.to_string())
        .bind(customer.workspace_id.to_string())
        .bind(&customer.external_id)
        .bind(customer.created_at.millis())
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        if let Some(binding) = &customer.binding {
            self.bind_customer(customer.id, binding).await?;
        }
        Ok(())
    }

    async fn bind_customer(&mut self, id: CustomerId, binding: &Binding) -> Result<()> {
        sqlx::query(
            "UPDATE customers SET partner_id = ?, program_id = ?, link_id = ?, click_id = ?, touched_at = ?, bound_at = ?
             WHERE id = ?",
        )
        .bind(binding.partner_id.to_string())
        .bind(binding.program_id.to_string())
        .bind(binding.link_id.map(|id| id.to_string()))
        .bind(&binding.click_id)
        .bind(binding.touched_at.map(Timestamp::millis))
        .bind(binding.bound_at.millis())
        .bind(id.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn customers(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Customer>> {
        let found = sqlx::query(
            "SELECT * FROM customers WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?)
             ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        )
        .bind(workspace_id.to_string())
        .bind(partner_id.map(|id| id.to_string()))
        .bind(partner_id.map(|id| id.to_string()))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *self.tx)
        .await?;
        collect(found, customer_row)
    }

    async fn insert_touch(&mut self, customer_id: CustomerId, touch: &Touch) -> Result<()> {
        sqlx::query(
            "INSERT INTO touches (customer_id, click_id, link_id, partner_id, program_id, at, is_bot)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (customer_id, click_id) DO NOTHING",
        )
        .bind(customer_id.to_string())
        .bind(&touch.click_id)
        .bind(touch.link_id.to_string())
        .bind(touch.partner_id.to_string())
        .bind(touch.program_id.to_string())
        .bind(touch.at.millis())
        .bind(touch.is_bot)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn touches(&mut self, customer_id: CustomerId) -> Result<Vec<Touch>> {
        let found =
            sqlx::query("SELECT * FROM touches WHERE customer_id = ? ORDER BY at LIMIT 1000")
                .bind(customer_id.to_string())
                .fetch_all(&mut *self.tx)
                .await?;
        found
            .iter()
            .map(|row| {
                Ok(Touch {
                    click_id: row.try_get("click_id")?,
                    link_id: LinkId(rows::uuid(row, "link_id")?),
                    partner_id: PartnerId(rows::uuid(row, "partner_id")?),
                    program_id: ProgramId(rows::uuid(row, "program_id")?),
                    at: rows::ts(row, "at")?,
                    is_bot: row.try_get("is_bot")?,
                })
            })
            .collect()
    }

    async fn event_by_idempotency_key(
        &mut self,
        workspace_id: WorkspaceId,
        key: &str,
    ) -> Result<Option<EventRecord>> {
        let row =
            sqlx::query("SELECT * FROM events WHERE workspace_id = ? AND idempotency_key = ?")
                .bind(workspace_id.to_string())
                .bind(key)
                .fetch_optional(&mut *self.tx)
                .await?;
        row.as_ref().map(event_row).transpose()
    }

    async fn insert_event(&mut self, event: &EventRecord) -> Result<()> {
        let facts = &event.facts;
        sqlx::query(
            "INSERT INTO events (id, workspace_id, idempotency_key, request_hash, kind, customer_id, customer_external_id,
             click_id, amount_minor, currency, occurred_at, invoice_id, milestone, metadata_json, partner_id, link_id,
             response_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event.id.to_string())
        .bind(event.workspace_id.to_string())
        .bind(&event.idempotency_key)
        .bind(&event.request_hash)
        .bind(facts.kind.as_str())
        .bind(event.customer_id.to_string())
        .bind(&facts.customer_external_id)
        .bind(&facts.click_id)
        .bind(facts.amount.map(|amount| amount.amount_minor))
        .bind(facts.amount.map(|amount| amount.currency.code().to_string()))
        .bind(facts.occurred_at.millis())
        .bind(&facts.invoice_id)
        .bind(&facts.milestone)
        .bind(&event.metadata_json)
        .bind(opt_str(event.partner_id.map(|id| id.0)))
        .bind(opt_str(event.link_id.map(|id| id.0)))
        .bind(&event.response_json)
        .bind(event.received_at.millis())
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn set_event_credit(
        &mut self,
        id: EventId,
        partner_id: PartnerId,
        link_id: Option<LinkId>,
    ) -> Result<()> {
        sqlx::query("UPDATE events SET partner_id = ?, link_id = ? WHERE id = ?")
            .bind(partner_id.to_string())
            .bind(opt_str(link_id.map(|id| id.0)))
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_event_response(&mut self, id: EventId, response_json: &str) -> Result<()> {
        sqlx::query("UPDATE events SET response_json = ? WHERE id = ?")
            .bind(response_json)
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn customer_events(&mut self, customer_id: CustomerId) -> Result<Vec<StoredEvent>> {
        let found = sqlx::query(
            "SELECT * FROM events WHERE customer_id = ? ORDER BY occurred_at, id LIMIT ?",
        )
        .bind(customer_id.to_string())
        .bind(MAX_EVENTS_PER_CUSTOMER)
        .fetch_all(&mut *self.tx)
        .await?;
        found
            .iter()
            .map(|row| {
                Ok(StoredEvent {
                    id: EventId(rows::uuid(row, "id")?),
                    facts: facts_row(row)?,
                })
            })
            .collect()
    }

    async fn events(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<EventRecord>> {
        let found = sqlx::query("SELECT * FROM events WHERE workspace_id = ? ORDER BY received_at DESC, id LIMIT ? OFFSET ?")
            .bind(workspace_id.to_string())
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *self.tx)
            .await?;
        collect(found, event_row)
    }

    async fn event(
        &mut self,
        workspace_id: WorkspaceId,
        id: EventId,
    ) -> Result<Option<EventRecord>> {
        let row = sqlx::query("SELECT * FROM events WHERE workspace_id = ? AND id = ?")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(event_row).transpose()
    }

    async fn insert_commission(&mut self, c: &CommissionRecord) -> Result<()> {
        let explanation = serde_json::to_string(&c.explanation)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        sqlx::query(
            "INSERT INTO commissions (id, workspace_id, program_id, partner_id, customer_id, source_event_id,
             caused_by_event_id, rule_id, plan_version_id, kind, amount_minor, currency, state, hold_until,
             payout_batch_id, explanation_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.to_string())
        .bind(c.workspace_id.to_string())
        .bind(c.program_id.to_string())
        .bind(c.partner_id.to_string())
        .bind(c.customer_id.to_string())
        .bind(c.source_event_id.to_string())
        .bind(c.caused_by_event_id.to_string())
        .bind(&c.rule_id)
        .bind(c.plan_version_id.to_string())
        .bind(c.kind.as_str())
        .bind(c.amount.amount_minor)
        .bind(c.amount.currency.code())
        .bind(c.state.as_str())
        .bind(c.hold_until.millis())
        .bind(opt_str(c.payout_batch_id.map(|id| id.0)))
        .bind(explanation)
        .bind(c.created_at.millis())
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn commission(
        &mut self,
        workspace_id: WorkspaceId,
        id: CommissionId,
    ) -> Result<Option<CommissionRecord>> {
        let row = sqlx::query("SELECT * FROM commissions WHERE workspace_id = ? AND id = ?")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(commission_row).transpose()
    }

    async fn commissions(
        &mut self,
        workspace_id: WorkspaceId,
        filter: &CommissionFilter,
        page: Page,
    ) -> Result<Vec<CommissionRecord>> {
        let partner = filter.partner_id.map(|id| id.to_string());
        let customer = filter.customer_id.map(|id| id.to_string());
        let state = filter.state.map(CommissionState::as_str);
        let found = sqlx::query(
            "SELECT * FROM commissions WHERE workspace_id = ?
               AND (? IS NULL OR partner_id = ?) AND (? IS NULL OR customer_id = ?) AND (? IS NULL OR state = ?)
             ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        )
        .bind(workspace_id.to_string())
        .bind(partner.clone())
        .bind(partner)
        .bind(customer.clone())
        .bind(customer)
        .bind(state)
        .bind(state)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *self.tx)
        .await?;
        collect(found, commission_row)
    }

    async fn customer_commissions(
        &mut self,
        customer_id: CustomerId,
    ) -> Result<Vec<CommissionRecord>> {
        let found =
            sqlx::query("SELECT * FROM commissions WHERE customer_id = ? ORDER BY created_at, id")
                .bind(customer_id.to_string())
                .fetch_all(&mut *self.tx)
                .await?;
        collect(found, commission_row)
    }

    async fn set_commission_state(
        &mut self,
        id: CommissionId,
        from: CommissionState,
        to: CommissionState,
        payout_batch_id: Option<PayoutBatchId>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE commissions SET state = ?, payout_batch_id = COALESCE(?, payout_batch_id) WHERE id = ? AND state = ?",
        )
        .bind(to.as_str())
        .bind(opt_str(payout_batch_id.map(|id| id.0)))
        .bind(id.to_string())
        .bind(from.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn approved_commissions(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        currency: Currency,
    ) -> Result<Vec<CommissionRecord>> {
        let found = sqlx::query(
            "SELECT * FROM commissions WHERE workspace_id = ? AND program_id = ? AND currency = ? AND state = 'approved'
             ORDER BY partner_id, created_at, id",
        )
        .bind(workspace_id.to_string())
        .bind(program_id.to_string())
        .bind(currency.code())
        .fetch_all(&mut *self.tx)
        .await?;
        collect(found, commission_row)
    }

    async fn batch_commissions(
        &mut self,
        batch_id: PayoutBatchId,
    ) -> Result<Vec<CommissionRecord>> {
        let found = sqlx::query("SELECT * FROM commissions WHERE payout_batch_id = ? ORDER BY partner_id, created_at, id")
            .bind(batch_id.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        collect(found, commission_row)
    }

    async fn insert_transaction(
        &mut self,
        header: &TransactionHeader,
        transaction: &Transaction,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO ledger_transactions (id, workspace_id, kind, source_type, source_id, idempotency_key, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(header.id.to_string())
        .bind(header.workspace_id.to_string())
        .bind(&header.kind)
        .bind(&header.source_type)
        .bind(&header.source_id)
        .bind(&header.idempotency_key)
        .bind(header.created_at.millis())
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        for line in transaction.lines() {
            sqlx::query(
                "INSERT INTO ledger_lines (transaction_id, workspace_id, account_kind, partner_id, currency, amount_minor)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(header.id.to_string())
            .bind(header.workspace_id.to_string())
            .bind(line.account.kind.as_str())
            .bind(line.account.partner_id.to_string())
            .bind(line.amount.currency.code())
            .bind(line.amount.amount_minor)
            .execute(&mut *self.tx)
            .await
            .map_err(classify)?;
        }
        Ok(())
    }

    async fn partner_balances(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: PartnerId,
    ) -> Result<Vec<PartnerBalance>> {
        let found = sqlx::query(
            "SELECT currency, account_kind, SUM(amount_minor) AS balance FROM ledger_lines
             WHERE workspace_id = ? AND partner_id = ? GROUP BY currency, account_kind ORDER BY currency",
        )
        .bind(workspace_id.to_string())
        .bind(partner_id.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        let mut balances: BTreeMap<Currency, PartnerBalance> = BTreeMap::new();
        for row in &found {
            let currency = rows::currency(row, "currency")?;
            let kind: String = row.try_get("account_kind")?;
            let kind = AccountKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("account kind {kind}")))?;
            balances
                .entry(currency)
                .or_insert_with(|| PartnerBalance::zero(currency))
                .absorb(kind, row.try_get("balance")?);
        }
        Ok(balances.into_values().collect())
    }

    async fn ledger_totals(&mut self, workspace_id: WorkspaceId) -> Result<Vec<(Currency, i64)>> {
        let found = sqlx::query("SELECT currency, SUM(amount_minor) AS total FROM ledger_lines WHERE workspace_id = ? GROUP BY currency")
            .bind(workspace_id.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        found
            .iter()
            .map(|row| Ok((rows::currency(row, "currency")?, row.try_get("total")?)))
            .collect()
    }

    async fn unbalanced_transactions(
        &mut self,
        workspace_id: WorkspaceId,
    ) -> Result<Vec<TransactionId>> {
        let found = sqlx::query(
            "SELECT transaction_id FROM ledger_lines WHERE workspace_id = ?
             GROUP BY transaction_id, currency HAVING SUM(amount_minor) <> 0 LIMIT 100",
        )
        .bind(workspace_id.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        found
            .iter()
            .map(|row| Ok(TransactionId(rows::uuid(row, "transaction_id")?)))
            .collect()
    }

    async fn insert_payout_batch(
        &mut self,
        batch: &PayoutBatch,
        items: &[PayoutItem],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO payout_batches (id, workspace_id, program_id, currency, total_minor, item_count, state, reference,
             created_at, paid_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(batch.id.to_string())
        .bind(batch.workspace_id.to_string())
        .bind(batch.program_id.to_string())
        .bind(batch.currency.code())
        .bind(batch.total_minor)
        .bind(batch.item_count)
        .bind(batch.state.as_str())
        .bind(&batch.reference)
        .bind(batch.created_at.millis())
        .bind(batch.paid_at.map(Timestamp::millis))
        .execute(&mut *self.tx)
        .await
        .map_err(classify)?;
        for item in items {
            sqlx::query("INSERT INTO payout_items (batch_id, partner_id, recipient, amount_minor, currency) VALUES (?, ?, ?, ?, ?)")
                .bind(item.batch_id.to_string())
                .bind(item.partner_id.to_string())
                .bind(&item.recipient)
                .bind(item.amount.amount_minor)
                .bind(item.amount.currency.code())
                .execute(&mut *self.tx)
                .await
                .map_err(classify)?;
        }
        Ok(())
    }

    async fn payout_batch(
        &mut self,
        workspace_id: WorkspaceId,
        id: PayoutBatchId,
    ) -> Result<Option<PayoutBatch>> {
        let row = sqlx::query("SELECT * FROM payout_batches WHERE workspace_id = ? AND id = ?")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(batch_row).transpose()
    }

    async fn payout_batches(
        &mut self,
        workspace_id: WorkspaceId,
        page: Page,
    ) -> Result<Vec<PayoutBatch>> {
        let found = sqlx::query("SELECT * FROM payout_batches WHERE workspace_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?")
            .bind(workspace_id.to_string())
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *self.tx)
            .await?;
        collect(found, batch_row)
    }

    async fn payout_items(&mut self, batch_id: PayoutBatchId) -> Result<Vec<PayoutItem>> {
        let found = sqlx::query(
            "SELECT * FROM payout_items WHERE batch_id = ? ORDER BY recipient, partner_id",
        )
        .bind(batch_id.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        found
            .iter()
            .map(|row| {
                Ok(PayoutItem {
                    batch_id: PayoutBatchId(rows::uuid(row, "batch_id")?),
                    partner_id: PartnerId(rows::uuid(row, "partner_id")?),
                    recipient: row.try_get("recipient")?,
                    amount: rows::money(row, "amount_minor", "currency")?,
                })
            })
            .collect()
    }

    async fn mark_payout_batch_paid(
        &mut self,
        id: PayoutBatchId,
        reference: &str,
        paid_at: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE payout_batches SET state = 'paid', reference = ?, paid_at = ? WHERE id = ? AND state = 'created'")
            .bind(reference)
            .bind(paid_at.millis())
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn enqueue_job(&mut self, job: &Job) -> Result<()> {
        sqlx::query(
            "INSERT INTO jobs (id, workspace_id, kind, payload_json, dedupe_key, run_at, attempts, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(job.id.to_string())
        .bind(job.workspace_id.to_string())
        .bind(&job.kind)
        .bind(&job.payload_json)
        .bind(&job.dedupe_key)
        .bind(job.run_at.millis())
        .bind(job.attempts)
        .bind(job.created_at.millis())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn due_jobs(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Job>> {
        let found = sqlx::query(
            "SELECT * FROM jobs WHERE done_at IS NULL AND run_at <= ? ORDER BY run_at, id LIMIT ?",
        )
        .bind(now.millis())
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        collect(found, job_row)
    }

    async fn finish_job(&mut self, id: JobId, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE jobs SET done_at = ?, attempts = attempts + 1 WHERE id = ?")
            .bind(now.millis())
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn retry_job(&mut self, id: JobId, error: &str, run_at: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET attempts = attempts + 1, last_error = ?, run_at = ? WHERE id = ?",
        )
        .bind(error)
        .bind(run_at.millis())
        .bind(id.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
