//! Customers, their touches (clicks that reached them) and the events reported for them.

use super::super::query::{Db, all, execute, insert, optional};
use super::super::rows;
use crate::*;
use tokio_postgres::Row;
use tributary_core::attribution::{Binding, Touch};
use tributary_core::commission::StoredEvent;
use tributary_core::event::{EventFacts, EventKind};
use tributary_core::multitouch::Channel;

fn customer_row(row: &Row) -> Result<Customer> {
    let binding = match (
        rows::opt_uuid(row, "partner_id")?,
        rows::opt_uuid(row, "program_id")?,
        rows::opt_ts(row, "bound_at")?,
    ) {
        (Some(partner), Some(program), Some(bound_at)) => Some(Binding {
            partner_id: PartnerId(partner),
            program_id: ProgramId(program),
            link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
            click_id: rows::get(row, "click_id")?,
            touched_at: rows::opt_ts(row, "touched_at")?,
            bound_at,
        }),
        _ => None,
    };
    Ok(Customer {
        id: CustomerId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        external_id: rows::get(row, "external_id")?,
        binding,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn touch_row(row: &Row) -> Result<Touch> {
    let channel: &str = rows::get(row, "channel")?;
    Ok(Touch {
        id: rows::get(row, "touch_id")?,
        channel: Channel::parse(channel)
            .ok_or_else(|| StoreError::Corrupt(format!("touch channel {channel}")))?,
        link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        at: rows::ts(row, "at")?,
        is_bot: rows::get(row, "is_bot")?,
        detail: rows::get(row, "detail")?,
    })
}

fn facts_row(row: &Row) -> Result<EventFacts> {
    let kind: &str = rows::get(row, "kind")?;
    let amount_minor: Option<i64> = rows::get(row, "amount_minor")?;
    let currency: Option<&str> = rows::get(row, "currency")?;
    let amount = match (amount_minor, currency) {
        (Some(amount_minor), Some(code)) => Some(Money::new(
            amount_minor,
            Currency::parse(code).map_err(|error| StoreError::Corrupt(error.to_string()))?,
        )),
        _ => None,
    };
    Ok(EventFacts {
        kind: EventKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {kind}")))?,
        customer_external_id: rows::get(row, "customer_external_id")?,
        click_id: rows::get(row, "click_id")?,
        amount,
        occurred_at: rows::ts(row, "occurred_at")?,
        invoice_id: rows::get(row, "invoice_id")?,
        milestone: rows::get(row, "milestone")?,
    })
}

fn event_row(row: &Row) -> Result<EventRecord> {
    Ok(EventRecord {
        id: EventId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        idempotency_key: rows::get(row, "idempotency_key")?,
        request_hash: rows::get(row, "request_hash")?,
        customer_id: CustomerId(rows::uuid(row, "customer_id")?),
        facts: facts_row(row)?,
        metadata_json: rows::get(row, "metadata_json")?,
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
        link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
        response_json: rows::get(row, "response_json")?,
        received_at: rows::ts(row, "received_at")?,
    })
}

fn stored_event_row(row: &Row) -> Result<StoredEvent> {
    let metadata_json: Option<String> = rows::get::<Option<String>>(row, "metadata_json")?;
    Ok(StoredEvent {
        id: EventId(rows::uuid(row, "id")?),
        facts: facts_row(row)?,
        metadata: std::sync::Arc::new(tributary_core::event::condition_facts(
            metadata_json.as_deref(),
        )),
    })
}

pub async fn customer_by_external_id(
    db: &Db,
    workspace_id: WorkspaceId,
    external_id: &str,
) -> Result<Option<Customer>> {
    let workspace_id = workspace_id.as_uuid();
    optional(
        db,
        "SELECT * FROM customers WHERE workspace_id = $1 AND external_id = $2",
        &[&workspace_id, &external_id],
        customer_row,
    )
    .await
}

pub async fn customer(
    db: &Db,
    workspace_id: WorkspaceId,
    id: CustomerId,
) -> Result<Option<Customer>> {
    let workspace_id = workspace_id.as_uuid();
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM customers WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id, &id],
        customer_row,
    )
    .await
}

pub async fn insert_customer(db: &Db, customer: &Customer) -> Result<()> {
    let id = customer.id.as_uuid();
    let workspace_id = customer.workspace_id.as_uuid();
    let created_at = customer.created_at.millis();
    insert(
        db,
        "INSERT INTO customers (id, workspace_id, external_id, created_at) VALUES ($1, $2, $3, $4)",
        &[&id, &workspace_id, &customer.external_id, &created_at],
    )
    .await?;
    if let Some(binding) = &customer.binding {
        bind_customer(db, customer.id, binding).await?;
    }
    Ok(())
}

pub async fn bind_customer(db: &Db, id: CustomerId, binding: &Binding) -> Result<()> {
    let partner_id = binding.partner_id.as_uuid();
    let program_id = binding.program_id.as_uuid();
    let link_id = binding.link_id.map(|id| id.as_uuid());
    let touched_at = binding.touched_at.map(Timestamp::millis);
    let bound_at = binding.bound_at.millis();
    let id = id.as_uuid();
    execute(
        db,
        "UPDATE customers SET partner_id = $1, program_id = $2, link_id = $3, click_id = $4, touched_at = $5,
         bound_at = $6 WHERE id = $7",
        &[
            &partner_id,
            &program_id,
            &link_id,
            &binding.click_id,
            &touched_at,
            &bound_at,
            &id,
        ],
    )
    .await?;
    Ok(())
}

pub async fn customers(
    db: &Db,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<Customer>> {
    let workspace_id = workspace_id.as_uuid();
    let partner = partner_id.map(|id| id.as_uuid());
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT * FROM customers WHERE workspace_id = $1 AND ($2::UUID IS NULL OR partner_id = $2
           OR id IN (SELECT customer_id FROM customer_shares WHERE partner_id = $2))
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
        &[&workspace_id, &partner, &limit, &offset],
        customer_row,
    )
    .await
}

pub async fn insert_touch(db: &Db, customer_id: CustomerId, touch: &Touch) -> Result<()> {
    let customer_id = customer_id.as_uuid();
    let link_id = touch.link_id.map(|id| id.as_uuid());
    let partner_id = touch.partner_id.as_uuid();
    let program_id = touch.program_id.as_uuid();
    let at = touch.at.millis();
    execute(
        db,
        "INSERT INTO touches (customer_id, touch_id, link_id, partner_id, program_id, at, is_bot,
         channel, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (customer_id, touch_id) DO NOTHING",
        &[
            &customer_id,
            &touch.id,
            &link_id,
            &partner_id,
            &program_id,
            &at,
            &touch.is_bot,
            &touch.channel.as_str(),
            &touch.detail,
        ],
    )
    .await?;
    Ok(())
}

pub async fn touches(db: &Db, customer_id: CustomerId) -> Result<Vec<Touch>> {
    let customer_id = customer_id.as_uuid();
    all(
        db,
        "SELECT * FROM touches WHERE customer_id = $1 ORDER BY at, touch_id COLLATE \"C\" LIMIT 1000",
        &[&customer_id],
        touch_row,
    )
    .await
}

pub async fn event_by_idempotency_key(
    db: &Db,
    workspace_id: WorkspaceId,
    key: &str,
) -> Result<Option<EventRecord>> {
    let workspace_id = workspace_id.as_uuid();
    optional(
        db,
        "SELECT * FROM events WHERE workspace_id = $1 AND idempotency_key = $2",
        &[&workspace_id, &key],
        event_row,
    )
    .await
}

pub async fn insert_event(db: &Db, event: &EventRecord) -> Result<()> {
    let facts = &event.facts;
    let id = event.id.as_uuid();
    let workspace_id = event.workspace_id.as_uuid();
    let kind = facts.kind.as_str();
    let customer_id = event.customer_id.as_uuid();
    let amount_minor = facts.amount.as_ref().map(|amount| amount.amount_minor);
    let currency = facts.amount.as_ref().map(|amount| amount.currency.code());
    let occurred_at = facts.occurred_at.millis();
    let partner_id = event.partner_id.map(|id| id.as_uuid());
    let link_id = event.link_id.map(|id| id.as_uuid());
    let received_at = event.received_at.millis();
    insert(
        db,
        "INSERT INTO events (id, workspace_id, idempotency_key, request_hash, kind, customer_id, customer_external_id,
         click_id, amount_minor, currency, occurred_at, invoice_id, milestone, metadata_json, partner_id, link_id,
         response_json, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        &[
            &id,
            &workspace_id,
            &event.idempotency_key,
            &event.request_hash,
            &kind,
            &customer_id,
            &facts.customer_external_id,
            &facts.click_id,
            &amount_minor,
            &currency,
            &occurred_at,
            &facts.invoice_id,
            &facts.milestone,
            &event.metadata_json,
            &partner_id,
            &link_id,
            &event.response_json,
            &received_at,
        ],
    )
    .await
}

pub async fn set_event_response(db: &Db, id: EventId, response_json: &str) -> Result<()> {
    let id = id.as_uuid();
    execute(
        db,
        "UPDATE events SET response_json = $1 WHERE id = $2",
        &[&response_json, &id],
    )
    .await?;
    Ok(())
}

pub async fn customer_events(db: &Db, customer_id: CustomerId) -> Result<Vec<StoredEvent>> {
    let customer_id = customer_id.as_uuid();
    let limit = i64::from(MAX_EVENTS_PER_CUSTOMER);
    all(
        db,
        "SELECT * FROM events WHERE customer_id = $1 ORDER BY occurred_at, id LIMIT $2",
        &[&customer_id, &limit],
        stored_event_row,
    )
    .await
}

pub async fn events(db: &Db, workspace_id: WorkspaceId, page: Page) -> Result<Vec<EventRecord>> {
    let workspace_id = workspace_id.as_uuid();
    let limit = i64::from(page.limit);
    let offset = i64::from(page.offset);
    all(
        db,
        "SELECT * FROM events WHERE workspace_id = $1 ORDER BY received_at DESC, id LIMIT $2 OFFSET $3",
        &[&workspace_id, &limit, &offset],
        event_row,
    )
    .await
}

pub async fn event(db: &Db, workspace_id: WorkspaceId, id: EventId) -> Result<Option<EventRecord>> {
    let workspace_id = workspace_id.as_uuid();
    let id = id.as_uuid();
    optional(
        db,
        "SELECT * FROM events WHERE workspace_id = $1 AND id = $2",
        &[&workspace_id, &id],
        event_row,
    )
    .await
}

fn void_row(row: &Row) -> Result<CommissionVoid> {
    Ok(CommissionVoid {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        customer_id: CustomerId(rows::uuid(row, "customer_id")?),
        source_event_id: EventId(rows::uuid(row, "source_event_id")?),
        rule_id: rows::get(row, "rule_id")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        reason: rows::get(row, "reason")?,
        voided_at: rows::ts(row, "voided_at")?,
    })
}

pub async fn insert_void(db: &Db, void: &CommissionVoid) -> Result<()> {
    let workspace_id = void.workspace_id.as_uuid();
    let customer_id = void.customer_id.as_uuid();
    let source_event_id = void.source_event_id.as_uuid();
    let plan_version_id = void.plan_version_id.as_uuid();
    let voided_at = void.voided_at.millis();
    execute(
        db,
        "INSERT INTO commission_voids (workspace_id, customer_id, source_event_id, rule_id, plan_version_id, reason, voided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        &[
            &workspace_id,
            &customer_id,
            &source_event_id,
            &void.rule_id,
            &plan_version_id,
            &void.reason,
            &voided_at,
        ],
    )
    .await?;
    Ok(())
}

pub async fn customer_voids(db: &Db, customer_id: CustomerId) -> Result<Vec<CommissionVoid>> {
    let customer_id = customer_id.as_uuid();
    all(
        db,
        "SELECT * FROM commission_voids WHERE customer_id = $1 ORDER BY voided_at, source_event_id",
        &[&customer_id],
        void_row,
    )
    .await
}

pub async fn partner_period_customers(
    db: &Db,
    program_id: ProgramId,
    partner_id: PartnerId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<CustomerId>> {
    let program_id = program_id.as_uuid();
    let partner_id = partner_id.as_uuid();
    let (from, to) = (from.millis(), to.millis());
    all(
        db,
        "SELECT DISTINCT e.customer_id FROM events e JOIN customers c ON c.id = e.customer_id
         WHERE e.partner_id = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3 AND c.program_id = $4
         UNION
         SELECT DISTINCT e.customer_id FROM customer_shares s JOIN events e ON e.customer_id = s.customer_id
         WHERE s.partner_id = $1 AND s.program_id = $4 AND e.occurred_at >= $2 AND e.occurred_at < $3
         ORDER BY 1",
        &[&partner_id, &from, &to, &program_id],
        |row| Ok(CustomerId(rows::uuid(row, "customer_id")?)),
    )
    .await
}

pub async fn all_customers(db: &Db, workspace_id: WorkspaceId) -> Result<Vec<Customer>> {
    let workspace_id = workspace_id.as_uuid();
    all(
        db,
        "SELECT * FROM customers WHERE workspace_id = $1 ORDER BY external_id",
        &[&workspace_id],
        customer_row,
    )
    .await
}

pub async fn replay_events(
    db: &Db,
    workspace_id: WorkspaceId,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<ReplayEvent>, Option<String>)> {
    let after: uuid::Uuid = match cursor {
        None => uuid::Uuid::nil(),
        Some(text) => text
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("replay cursor {text}")))?,
    };
    let workspace_id = workspace_id.as_uuid();
    let limit_rows = i64::from(limit);
    let rows = all(
        db,
        "SELECT id, customer_id, kind, customer_external_id, click_id, amount_minor, currency,
                occurred_at, invoice_id, milestone, metadata_json
         FROM events WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        &[&workspace_id, &after, &limit_rows],
        |row| {
            Ok(ReplayEvent {
                customer_id: CustomerId(rows::uuid(row, "customer_id")?),
                event: StoredEvent {
                    id: EventId(rows::uuid(row, "id")?),
                    facts: facts_row(row)?,
                    metadata: Default::default(),
                },
                metadata_json: rows::get(row, "metadata_json")?,
            })
        },
    )
    .await?;
    let next = (rows.len() as u32 == limit)
        .then(|| rows.last().map(|row| row.event.id.to_string()))
        .flatten();
    Ok((rows, next))
}

pub async fn event_count_estimate(db: &Db) -> Result<u64> {
    // The planner's estimate, kept by ANALYZE and autovacuum: no scan.
    let estimate = optional(
        db,
        "SELECT reltuples::BIGINT AS estimate FROM pg_class WHERE relname = 'events'",
        &[],
        |row| rows::get::<i64>(row, "estimate"),
    )
    .await?;
    Ok(estimate.map_or(0, |estimate| estimate.max(0) as u64))
}
