//! Customers, their touches (clicks that reached them) and the events reported for them.

use super::super::query::{all, execute, insert, optional};
use super::super::rows::{self, opt_text};
use crate::*;
use rusqlite::{Connection, Row, params};
use tributary_core::attribution::{Binding, Touch};
use tributary_core::commission::StoredEvent;
use tributary_core::event::{EventFacts, EventKind};
use tributary_core::multitouch::Channel;

fn customer_row(row: &Row<'_>) -> Result<Customer> {
    let binding = match (
        rows::opt_uuid(row, "partner_id")?,
        rows::opt_uuid(row, "program_id")?,
        rows::opt_ts(row, "bound_at")?,
    ) {
        (Some(partner), Some(program), Some(bound_at)) => Some(Binding {
            partner_id: PartnerId(partner),
            program_id: ProgramId(program),
            link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
            click_id: row.get("click_id")?,
            touched_at: rows::opt_ts(row, "touched_at")?,
            bound_at,
        }),
        _ => None,
    };
    Ok(Customer {
        id: CustomerId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        external_id: row.get("external_id")?,
        binding,
        created_at: rows::ts(row, "created_at")?,
    })
}

fn touch_row(row: &Row<'_>) -> Result<Touch> {
    let channel: String = row.get("channel")?;
    Ok(Touch {
        id: row.get("touch_id")?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| StoreError::Corrupt(format!("touch channel {channel}")))?,
        link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
        partner_id: PartnerId(rows::uuid(row, "partner_id")?),
        program_id: ProgramId(rows::uuid(row, "program_id")?),
        at: rows::ts(row, "at")?,
        is_bot: row.get("is_bot")?,
        detail: row.get("detail")?,
    })
}

fn facts_row(row: &Row<'_>) -> Result<EventFacts> {
    let kind: String = row.get("kind")?;
    let amount_minor: Option<i64> = row.get("amount_minor")?;
    let currency: Option<String> = row.get("currency")?;
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
        customer_external_id: row.get("customer_external_id")?,
        click_id: row.get("click_id")?,
        amount,
        occurred_at: rows::ts(row, "occurred_at")?,
        invoice_id: row.get("invoice_id")?,
        milestone: row.get("milestone")?,
    })
}

fn event_row(row: &Row<'_>) -> Result<EventRecord> {
    Ok(EventRecord {
        id: EventId(rows::uuid(row, "id")?),
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        idempotency_key: row.get("idempotency_key")?,
        request_hash: row.get("request_hash")?,
        customer_id: CustomerId(rows::uuid(row, "customer_id")?),
        facts: facts_row(row)?,
        metadata_json: row.get("metadata_json")?,
        partner_id: rows::opt_uuid(row, "partner_id")?.map(PartnerId),
        link_id: rows::opt_uuid(row, "link_id")?.map(LinkId),
        response_json: row.get("response_json")?,
        received_at: rows::ts(row, "received_at")?,
    })
}

fn stored_event_row(row: &Row<'_>) -> Result<StoredEvent> {
    let metadata_json: Option<String> = row.get::<_, Option<String>>("metadata_json")?;
    Ok(StoredEvent {
        id: EventId(rows::uuid(row, "id")?),
        facts: facts_row(row)?,
        metadata: std::sync::Arc::new(tributary_core::event::condition_facts(
            metadata_json.as_deref(),
        )),
    })
}

pub fn customer_by_external_id(
    db: &Connection,
    workspace_id: WorkspaceId,
    external_id: &str,
) -> Result<Option<Customer>> {
    optional(
        db,
        "SELECT * FROM customers WHERE workspace_id = ? AND external_id = ?",
        params![workspace_id.to_string(), external_id],
        customer_row,
    )
}

pub fn customer(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: CustomerId,
) -> Result<Option<Customer>> {
    optional(
        db,
        "SELECT * FROM customers WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        customer_row,
    )
}

pub fn insert_customer(db: &Connection, customer: &Customer) -> Result<()> {
    insert(
        db,
        "INSERT INTO customers (id, workspace_id, external_id, created_at) VALUES (?, ?, ?, ?)",
        params![
            customer.id.to_string(),
            customer.workspace_id.to_string(),
            customer.external_id,
            customer.created_at.millis(),
        ],
    )?;
    if let Some(binding) = &customer.binding {
        bind_customer(db, customer.id, binding)?;
    }
    Ok(())
}

pub fn bind_customer(db: &Connection, id: CustomerId, binding: &Binding) -> Result<()> {
    execute(
        db,
        "UPDATE customers SET partner_id = ?, program_id = ?, link_id = ?, click_id = ?, touched_at = ?, bound_at = ?
         WHERE id = ?",
        params![
            binding.partner_id.to_string(),
            binding.program_id.to_string(),
            binding.link_id.map(|id| id.to_string()),
            binding.click_id,
            binding.touched_at.map(Timestamp::millis),
            binding.bound_at.millis(),
            id.to_string(),
        ],
    )?;
    Ok(())
}

pub fn customers(
    db: &Connection,
    workspace_id: WorkspaceId,
    partner_id: Option<PartnerId>,
    page: Page,
) -> Result<Vec<Customer>> {
    let partner = partner_id.map(|id| id.to_string());
    all(
        db,
        "SELECT * FROM customers WHERE workspace_id = ? AND (? IS NULL OR partner_id = ?
           OR id IN (SELECT customer_id FROM customer_shares WHERE partner_id = ?))
         ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        params![
            workspace_id.to_string(),
            partner,
            partner,
            partner,
            page.limit,
            page.offset
        ],
        customer_row,
    )
}

pub fn insert_touch(db: &Connection, customer_id: CustomerId, touch: &Touch) -> Result<()> {
    execute(
        db,
        "INSERT INTO touches (customer_id, touch_id, link_id, partner_id, program_id, at, is_bot,
         channel, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (customer_id, touch_id) DO NOTHING",
        params![
            customer_id.to_string(),
            touch.id,
            touch.link_id.map(|id| id.to_string()),
            touch.partner_id.to_string(),
            touch.program_id.to_string(),
            touch.at.millis(),
            touch.is_bot,
            touch.channel.as_str(),
            touch.detail,
        ],
    )?;
    Ok(())
}

pub fn touches(db: &Connection, customer_id: CustomerId) -> Result<Vec<Touch>> {
    all(
        db,
        "SELECT * FROM touches WHERE customer_id = ? ORDER BY at, touch_id LIMIT 1000",
        [customer_id.to_string()],
        touch_row,
    )
}

pub fn event_by_idempotency_key(
    db: &Connection,
    workspace_id: WorkspaceId,
    key: &str,
) -> Result<Option<EventRecord>> {
    optional(
        db,
        "SELECT * FROM events WHERE workspace_id = ? AND idempotency_key = ?",
        params![workspace_id.to_string(), key],
        event_row,
    )
}

pub fn insert_event(db: &Connection, event: &EventRecord) -> Result<()> {
    let facts = &event.facts;
    insert(
        db,
        "INSERT INTO events (id, workspace_id, idempotency_key, request_hash, kind, customer_id, customer_external_id,
         click_id, amount_minor, currency, occurred_at, invoice_id, milestone, metadata_json, partner_id, link_id,
         response_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            event.id.to_string(),
            event.workspace_id.to_string(),
            event.idempotency_key,
            event.request_hash,
            facts.kind.as_str(),
            event.customer_id.to_string(),
            facts.customer_external_id,
            facts.click_id,
            facts.amount.map(|amount| amount.amount_minor),
            facts.amount.map(|amount| amount.currency.code().to_string()),
            facts.occurred_at.millis(),
            facts.invoice_id,
            facts.milestone,
            event.metadata_json,
            opt_text(event.partner_id.map(|id| id.0)),
            opt_text(event.link_id.map(|id| id.0)),
            event.response_json,
            event.received_at.millis(),
        ],
    )
}

pub fn set_event_response(db: &Connection, id: EventId, response_json: &str) -> Result<()> {
    execute(
        db,
        "UPDATE events SET response_json = ? WHERE id = ?",
        params![response_json, id.to_string()],
    )?;
    Ok(())
}

pub fn customer_events(db: &Connection, customer_id: CustomerId) -> Result<Vec<StoredEvent>> {
    all(
        db,
        "SELECT * FROM events WHERE customer_id = ? ORDER BY occurred_at, id LIMIT ?",
        params![customer_id.to_string(), MAX_EVENTS_PER_CUSTOMER],
        stored_event_row,
    )
}

pub fn events(db: &Connection, workspace_id: WorkspaceId, page: Page) -> Result<Vec<EventRecord>> {
    all(
        db,
        "SELECT * FROM events WHERE workspace_id = ? ORDER BY received_at DESC, id LIMIT ? OFFSET ?",
        params![workspace_id.to_string(), page.limit, page.offset],
        event_row,
    )
}

pub fn event(
    db: &Connection,
    workspace_id: WorkspaceId,
    id: EventId,
) -> Result<Option<EventRecord>> {
    optional(
        db,
        "SELECT * FROM events WHERE workspace_id = ? AND id = ?",
        [workspace_id.to_string(), id.to_string()],
        event_row,
    )
}

fn void_row(row: &Row<'_>) -> Result<CommissionVoid> {
    Ok(CommissionVoid {
        workspace_id: WorkspaceId(rows::uuid(row, "workspace_id")?),
        customer_id: CustomerId(rows::uuid(row, "customer_id")?),
        source_event_id: EventId(rows::uuid(row, "source_event_id")?),
        rule_id: row.get("rule_id")?,
        plan_version_id: PlanVersionId(rows::uuid(row, "plan_version_id")?),
        reason: row.get("reason")?,
        voided_at: rows::ts(row, "voided_at")?,
    })
}

pub fn insert_void(db: &Connection, void: &CommissionVoid) -> Result<()> {
    execute(
        db,
        "INSERT INTO commission_voids (workspace_id, customer_id, source_event_id, rule_id, plan_version_id, reason, voided_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        params![
            void.workspace_id.to_string(),
            void.customer_id.to_string(),
            void.source_event_id.to_string(),
            void.rule_id,
            void.plan_version_id.to_string(),
            void.reason,
            void.voided_at.millis(),
        ],
    )?;
    Ok(())
}

pub fn customer_voids(db: &Connection, customer_id: CustomerId) -> Result<Vec<CommissionVoid>> {
    all(
        db,
        "SELECT * FROM commission_voids WHERE customer_id = ? ORDER BY voided_at, source_event_id",
        [customer_id.to_string()],
        void_row,
    )
}

pub fn partner_period_customers(
    db: &Connection,
    program_id: ProgramId,
    partner_id: PartnerId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<CustomerId>> {
    all(
        db,
        "SELECT DISTINCT e.customer_id FROM events e JOIN customers c ON c.id = e.customer_id
         WHERE e.partner_id = ?1 AND e.occurred_at >= ?2 AND e.occurred_at < ?3 AND c.program_id = ?4
         UNION
         SELECT DISTINCT e.customer_id FROM customer_shares s JOIN events e ON e.customer_id = s.customer_id
         WHERE s.partner_id = ?1 AND s.program_id = ?4 AND e.occurred_at >= ?2 AND e.occurred_at < ?3
         ORDER BY 1",
        params![
            partner_id.to_string(),
            from.millis(),
            to.millis(),
            program_id.to_string()
        ],
        |row| Ok(CustomerId(rows::uuid(row, "customer_id")?)),
    )
}

pub fn all_customers(db: &Connection, workspace_id: WorkspaceId) -> Result<Vec<Customer>> {
    all(
        db,
        "SELECT * FROM customers WHERE workspace_id = ? ORDER BY external_id",
        [workspace_id.to_string()],
        customer_row,
    )
}

pub fn replay_events(
    db: &Connection,
    workspace_id: WorkspaceId,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<ReplayEvent>, Option<String>)> {
    let after: i64 = match cursor {
        None => 0,
        Some(text) => text
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("replay cursor {text}")))?,
    };
    // Storage order (rowid): one sequential pass over the table, whatever its size. Columns
    // by position and text borrowed where it can be: replay reads millions of rows.
    let mut statement = db.prepare_cached(
        "SELECT rowid, id, customer_id, kind, amount_minor, currency, occurred_at, invoice_id,
                milestone, metadata_json
         FROM events WHERE rowid > ? AND +workspace_id = ? ORDER BY rowid LIMIT ?",
    )?;
    let mut rows = statement.query(params![after, workspace_id.to_string(), limit])?;
    let mut out = Vec::with_capacity(limit as usize);
    let mut last = after;
    let text = |row: &Row<'_>, index: usize| -> Result<Option<String>> { Ok(row.get(index)?) };
    let uuid_at = |row: &Row<'_>, index: usize| -> Result<uuid::Uuid> {
        let value = row.get_ref(index)?;
        let text = value
            .as_str()
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        uuid::Uuid::parse_str(text).map_err(|error| StoreError::Corrupt(error.to_string()))
    };
    while let Some(row) = rows.next()? {
        last = row.get(0)?;
        let kind_ref = row.get_ref(3)?;
        let kind_text = kind_ref
            .as_str()
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let kind = EventKind::parse(kind_text)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {kind_text}")))?;
        let amount_minor: Option<i64> = row.get(4)?;
        let amount = match (
            amount_minor,
            row.get_ref(5)?.as_str_or_null().ok().flatten(),
        ) {
            (Some(minor), Some(code)) => Some(Money::new(
                minor,
                Currency::parse(code).map_err(|error| StoreError::Corrupt(error.to_string()))?,
            )),
            _ => None,
        };
        out.push(ReplayEvent {
            customer_id: CustomerId(uuid_at(row, 2)?),
            event: StoredEvent {
                id: EventId(uuid_at(row, 1)?),
                facts: EventFacts {
                    kind,
                    customer_external_id: String::new(),
                    click_id: None,
                    amount,
                    occurred_at: Timestamp::from_millis(row.get(6)?),
                    invoice_id: text(row, 7)?,
                    milestone: text(row, 8)?,
                },
                metadata: Default::default(),
            },
            metadata_json: text(row, 9)?,
        });
    }
    let next = (out.len() as u32 == limit).then(|| last.to_string());
    Ok((out, next))
}

pub fn event_count_estimate(db: &Connection) -> Result<u64> {
    // Rowids grow by one per insert and events are never deleted: the largest is the count.
    let max: Option<i64> = db.query_row("SELECT MAX(rowid) FROM events", [], |row| row.get(0))?;
    Ok(max.map_or(0, |max| max.max(0) as u64))
}
