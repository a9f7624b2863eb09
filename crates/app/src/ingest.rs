//! Event ingestion: parse and validate a reported event, store it once per idempotency key,
//! attribute it, and post what it changes, all in one write transaction that is durable
//! before the caller gets its answer.

use crate::posting::converge_customer;
use crate::{App, AppError, AppResult, new_uuid};
use serde_json::{Map, Value, json};
use tributary_core::attribution::{self, Binding, BoundShare, Credit, Touch, bound_credits};
use tributary_core::clickid;
use tributary_core::event::{
    EventFacts, EventKind, MAX_AMOUNT_MINOR, MAX_EXTERNAL_ID_LEN, MAX_METADATA_BYTES,
};
use tributary_core::multitouch::Channel;
use tributary_core::*;
use tributary_store::{CommissionRecord, Customer, EventRecord, Program, Tx};

pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// Events may be reported up to this far ahead of the server clock (clock skew).
pub const MAX_FUTURE_SKEW_MILLIS: i64 = 5 * 60 * 1000;

/// Earlier click ids an event may carry besides `click_id` (the visitor's touch history the
/// site snippet keeps).
pub const MAX_CLICK_IDS: usize = 10;

const FIELDS: [&str; 11] = [
    "type",
    "customer_id",
    "click_id",
    "click_ids",
    "coupon",
    "amount_minor",
    "currency",
    "occurred_at",
    "invoice_id",
    "milestone",
    "metadata",
];

/// A validated event request.
#[derive(Debug, Clone)]
pub struct EventRequest {
    pub facts: EventFacts,
    pub metadata_json: Option<String>,
    /// The coupon code the customer used, in upper case (coupons match without case).
    pub coupon: Option<String>,
    /// Earlier click ids of the same visitor (their touches before `click_id`).
    pub click_ids: Vec<String>,
    /// SHA-256 of the canonical body.
    pub request_hash: String,
}

fn text_field<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    max_len: usize,
) -> AppResult<Option<&'a str>> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let text = text.as_str();
            if text.trim().is_empty() {
                return Err(AppError::invalid(
                    field,
                    format!("{field} may not be empty"),
                ));
            }
            if text.len() > max_len {
                return Err(AppError::invalid(
                    field,
                    format!("{field} is longer than {max_len} bytes"),
                ));
            }
            Ok(Some(text))
        }
        Some(_) => Err(AppError::invalid(
            field,
            format!("{field} must be a string"),
        )),
    }
}

/// Parses an RFC 3339 time into a timestamp.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let parsed =
        ::time::OffsetDateTime::parse(text, &::time::format_description::well_known::Rfc3339)
            .ok()?;
    Some(Timestamp::from_millis(
        (parsed.unix_timestamp_nanos() / 1_000_000) as i64,
    ))
}

/// Formats a timestamp as RFC 3339 (UTC, milliseconds).
pub fn format_time(at: Timestamp) -> String {
    ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000)
        .ok()
        .and_then(|time| {
            time.format(&::time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.millis().to_string())
}

/// Validates a request body against the events contract (DESIGN.md §7). Every error names
/// its field.
pub fn parse_event(body: &Value, now: Timestamp) -> AppResult<EventRequest> {
    let Value::Object(object) = body else {
        return Err(AppError::Invalid {
            field: None,
            message: "the body must be a JSON object".into(),
        });
    };
    if let Some(unknown) = object.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(AppError::invalid(
            unknown,
            format!(
                "unknown field {unknown:?}; known fields are {}",
                FIELDS.join(", ")
            ),
        ));
    }
    let kind_text = text_field(object, "type", 32)?
        .ok_or_else(|| AppError::invalid("type", "type is required"))?;
    let kind = EventKind::parse(kind_text).ok_or_else(|| {
        AppError::invalid(
            "type",
            "type must be one of lead, sale, renewal, refund, chargeback, milestone",
        )
    })?;
    let customer = text_field(object, "customer_id", MAX_EXTERNAL_ID_LEN)?
        .ok_or_else(|| AppError::invalid("customer_id", "customer_id is required"))?;
    let click_id = text_field(object, "click_id", 128)?;
    let invoice_id = text_field(object, "invoice_id", MAX_EXTERNAL_ID_LEN)?;
    let milestone = text_field(object, "milestone", 64)?;
    let coupon = text_field(object, "coupon", 64)?;
    let click_ids = match object.get("click_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_CLICK_IDS => items
            .iter()
            .map(|item| match item {
                Value::String(text) if !text.is_empty() && text.len() <= 128 => Ok(text.clone()),
                _ => Err(AppError::invalid(
                    "click_ids",
                    "click_ids holds click ids (strings of 1 to 128 bytes)",
                )),
            })
            .collect::<AppResult<Vec<String>>>()?,
        Some(_) => {
            return Err(AppError::invalid(
                "click_ids",
                format!("click_ids is an array of at most {MAX_CLICK_IDS} click ids"),
            ));
        }
    };

    let amount_minor = match object.get("amount_minor") {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => {
            let value = number.as_i64().ok_or_else(|| {
                AppError::invalid(
                    "amount_minor",
                    "amount_minor must be a whole number of minor units (cents), not a decimal",
                )
            })?;
            if value <= 0 {
                return Err(AppError::invalid(
                    "amount_minor",
                    "amount_minor must be greater than zero; report money back as a refund",
                ));
            }
            if value > MAX_AMOUNT_MINOR {
                return Err(AppError::invalid(
                    "amount_minor",
                    format!("amount_minor may not exceed {MAX_AMOUNT_MINOR}"),
                ));
            }
            Some(value)
        }
        Some(_) => {
            return Err(AppError::invalid(
                "amount_minor",
                "amount_minor must be an integer number of minor units",
            ));
        }
    };
    let currency = text_field(object, "currency", 3)?
        .map(|code| {
            Currency::parse(code).map_err(|error| AppError::invalid("currency", error.to_string()))
        })
        .transpose()?;
    let amount = match (amount_minor, currency, kind.needs_amount()) {
        (Some(amount_minor), Some(currency), _) => Some(Money::new(amount_minor, currency)),
        (Some(_), None, _) => {
            return Err(AppError::invalid(
                "currency",
                "currency is required with amount_minor",
            ));
        }
        (None, Some(_), _) => {
            return Err(AppError::invalid(
                "amount_minor",
                "amount_minor is required with currency",
            ));
        }
        (None, None, true) => {
            return Err(AppError::invalid(
                "amount_minor",
                format!("a {} needs amount_minor and currency", kind.as_str()),
            ));
        }
        (None, None, false) => None,
    };
    if kind.is_reversal() && invoice_id.is_none() {
        return Err(AppError::invalid(
            "invoice_id",
            format!(
                "a {} needs the invoice_id of the sale it reverses",
                kind.as_str()
            ),
        ));
    }
    if kind == EventKind::Milestone && milestone.is_none() {
        return Err(AppError::invalid(
            "milestone",
            "a milestone event needs milestone (onboarded, activated, expanded, ...)",
        ));
    }
    let occurred_at = match text_field(object, "occurred_at", 64)? {
        None => now,
        Some(text) => {
            let at = parse_time(text).ok_or_else(|| {
                AppError::invalid(
                    "occurred_at",
                    "occurred_at must be an RFC 3339 time such as 2026-11-25T10:00:00Z",
                )
            })?;
            if at.millis() > now.millis() + MAX_FUTURE_SKEW_MILLIS {
                return Err(AppError::invalid(
                    "occurred_at",
                    "occurred_at is in the future",
                ));
            }
            at
        }
    };
    let metadata = object.get("metadata").filter(|value| !value.is_null());
    if let Some(value) = metadata
        && !value.is_object()
    {
        return Err(AppError::invalid(
            "metadata",
            "metadata must be a JSON object",
        ));
    }
    let mut stored_metadata = Map::new();
    if let Some(value) = metadata {
        stored_metadata.insert("metadata".into(), value.clone());
    }
    if let Some(coupon) = coupon {
        stored_metadata.insert("coupon".into(), Value::String(coupon.into()));
    }
    let metadata_json =
        (!stored_metadata.is_empty()).then(|| Value::Object(stored_metadata).to_string());
    if metadata_json
        .as_ref()
        .is_some_and(|json| json.len() > MAX_METADATA_BYTES)
    {
        return Err(AppError::invalid(
            "metadata",
            format!("metadata may not exceed {MAX_METADATA_BYTES} bytes"),
        ));
    }
    // serde_json objects keep keys sorted, so this text is canonical for the same content.
    let request_hash = crate::auth::sha256_hex(&body.to_string());
    Ok(EventRequest {
        facts: EventFacts {
            kind,
            customer_external_id: customer.to_string(),
            click_id: click_id.map(str::to_string),
            amount,
            occurred_at,
            invoice_id: invoice_id.map(str::to_string),
            milestone: milestone.map(str::to_string),
        },
        metadata_json,
        coupon: coupon.map(|code| code.trim().to_ascii_uppercase()),
        click_ids,
        request_hash,
    })
}

pub fn validate_idempotency_key(key: &str) -> AppResult<()> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(AppError::invalid(
            "Idempotency-Key",
            format!(
                "the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
            ),
        ));
    }
    Ok(())
}

/// The answer to an event request.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The response body, byte for byte the same on a replay.
    pub response_json: String,
    /// Whether this answer came from an earlier request with the same key.
    pub replayed: bool,
    /// Logged for a worker to process (tier 2): durable, not yet processed.
    pub queued: bool,
}

/// An event as the API received it: validated here, then handed to the app's sink, which
/// processes it now (tiers 0 and 1) or logs it for a worker (tier 2).
pub async fn accept(
    app: &App,
    workspace_id: WorkspaceId,
    idempotency_key: &str,
    body: &Value,
) -> AppResult<Ingested> {
    let received_at = app.now();
    let request = parse_event(body, received_at)?;
    app.sink
        .submit_event(
            app,
            crate::event_log::Validated {
                workspace_id,
                idempotency_key,
                body,
                request,
                received_at,
            },
        )
        .await
}

/// Stores and processes one event. Same key and same body → the first answer again; same
/// key and another body → conflict; nothing is written on any error. The event is committed
/// together with whatever else arrived at the same moment (group commit, see
/// [`crate::group_commit`]), and is durable before this returns.
pub async fn ingest(
    app: &App,
    workspace_id: WorkspaceId,
    idempotency_key: &str,
    request: EventRequest,
) -> AppResult<Ingested> {
    validate_idempotency_key(idempotency_key)?;
    let clicks = verified_clicks(app, &request)?;
    app.ingest_queue
        .submit(Submission {
            workspace_id,
            idempotency_key: idempotency_key.to_string(),
            request,
            clicks,
        })
        .await
}

/// The facts of the event's `click_id` and `click_ids`, checked against the server's key
/// (their MAC alone: the click rows themselves may not be written yet).
pub fn verified_clicks(
    app: &App,
    request: &EventRequest,
) -> AppResult<Vec<(String, clickid::ClickFacts)>> {
    let mut out: Vec<(String, clickid::ClickFacts)> = Vec::new();
    if let Some(text) = &request.facts.click_id {
        let facts = clickid::decode(&app.secrets.click_key, text)
            .map_err(|error| AppError::invalid("click_id", error.to_string()))?;
        out.push((text.clone(), facts));
    }
    // Earlier click ids come from a visitor's cookie: one that is not ours (altered, another
    // server's) is left out rather than failing the event.
    for text in &request.click_ids {
        if out.iter().any(|(known, _)| known == text) {
            continue;
        }
        if let Ok(facts) = clickid::decode(&app.secrets.click_key, text) {
            out.push((text.clone(), facts));
        }
    }
    Ok(out)
}

/// The answer to a request whose key was stored before: the first answer again for the same
/// body, a conflict for another.
pub fn answer_existing(existing: EventRecord, request_hash: &str) -> AppResult<Ingested> {
    if existing.request_hash == request_hash {
        return Ok(Ingested {
            response_json: existing.response_json,
            replayed: true,
            queued: false,
        });
    }
    Err(AppError::Conflict(
        "this Idempotency-Key was used with a different request body; use a new key for a new event".into(),
    ))
}

/// A validated event waiting for its group.
pub struct Submission {
    pub workspace_id: WorkspaceId,
    pub idempotency_key: String,
    pub request: EventRequest,
    /// The verified click ids the event carried, with their facts.
    pub clicks: Vec<(String, clickid::ClickFacts)>,
}

/// The `(scope, key)` locks an event's ingestion takes: its idempotency key and its
/// customer (see [`tributary_store::Tx::lock_key`]).
pub fn keys_to_lock(submission: &Submission) -> [(&'static str, String); 2] {
    let workspace_id = submission.workspace_id;
    [
        (
            "idempotency",
            format!("{workspace_id}:{}", submission.idempotency_key),
        ),
        customer_lock(workspace_id, &submission.request.facts.customer_external_id),
    ]
}

/// The lock every writer that decides on a customer's money takes (ingestion, approval).
pub fn customer_lock(workspace_id: WorkspaceId, external_id: &str) -> (&'static str, String) {
    ("customer", format!("{workspace_id}:{external_id}"))
}

/// Ingests one event inside `tx` (the caller commits).
pub async fn ingest_in(
    tx: &mut dyn Tx,
    submission: &Submission,
    now: Timestamp,
) -> AppResult<Ingested> {
    let workspace_id = submission.workspace_id;
    let idempotency_key = submission.idempotency_key.as_str();
    let request = &submission.request;
    // Where writers run side by side (PostgreSQL), requests with one key, and events of one
    // customer, take turns: the second sees what the first committed. (The group committer
    // usually holds both already; then these cost nothing.)
    let [idempotency_lock, customer_lock] = keys_to_lock(submission);
    tx.lock_key(idempotency_lock.0, &idempotency_lock.1).await?;
    if let Some(existing) = tx
        .event_by_idempotency_key(workspace_id, idempotency_key)
        .await?
    {
        return answer_existing(existing, &request.request_hash);
    }

    // The customer, created on first sight.
    tx.lock_key(customer_lock.0, &customer_lock.1).await?;
    let customer = match tx
        .customer_by_external_id(workspace_id, &request.facts.customer_external_id)
        .await?
    {
        Some(customer) => customer,
        None => {
            let customer = Customer {
                id: CustomerId(new_uuid()),
                workspace_id,
                external_id: request.facts.customer_external_id.clone(),
                binding: None,
                created_at: now,
            };
            tx.insert_customer(&customer).await?;
            customer
        }
    };

    // A click id, and a coupon tied to a partner, become touches of this customer (the click
    // row itself may not exist yet).
    for (click_id, facts) in &submission.clicks {
        let Some(link) = tx.link(workspace_id, facts.link_id).await? else {
            if request.facts.click_id.as_ref() == Some(click_id) {
                return Err(AppError::invalid(
                    "click_id",
                    "the click id's link does not belong to this workspace",
                ));
            }
            // An earlier click of another workspace's link: not this business's touch.
            continue;
        };
        let touch = Touch {
            id: click_id.clone(),
            channel: if facts.referral {
                Channel::Referral
            } else {
                Channel::Link
            },
            link_id: Some(link.id),
            partner_id: link.partner_id,
            program_id: link.program_id,
            at: facts.at,
            is_bot: facts.is_bot,
            detail: facts.referral.then(|| link.code.clone()),
        };
        tx.insert_touch(customer.id, &touch).await?;
    }
    if let Some(code) = &request.coupon
        && let Some(coupon) = tx.coupon(workspace_id, code).await?
    {
        // One touch per coupon and customer: its first use.
        let touch = Touch {
            id: format!("coupon:{code}"),
            channel: Channel::Coupon,
            link_id: None,
            partner_id: coupon.partner_id,
            program_id: coupon.program_id,
            at: request.facts.occurred_at,
            is_bot: false,
            detail: Some(code.clone()),
        };
        tx.insert_touch(customer.id, &touch).await?;
    }

    // Attribution reads only the customer and its touches, so it runs before the event is
    // stored: the row is written once with its credit, and (when nothing is owed) with its
    // final answer too.
    let attributed = attribute(tx, &customer, &request.facts, now).await?;
    let lead = attributed
        .as_ref()
        .ok()
        .and_then(|attributed| attributed.credits.first());
    let event_id = EventId(new_uuid());
    let mut record = EventRecord {
        id: event_id,
        workspace_id,
        idempotency_key: idempotency_key.to_string(),
        request_hash: request.request_hash.clone(),
        customer_id: customer.id,
        facts: request.facts.clone(),
        metadata_json: request.metadata_json.clone(),
        partner_id: lead.map(|credit| credit.partner_id),
        link_id: lead.and_then(|credit| credit.link_id),
        response_json: "{}".into(),
        received_at: now,
    };
    let attributed = match attributed {
        Ok(attributed) => attributed,
        Err(reason) => {
            record.response_json = response_json(&record, &customer, &[], Some(reason), &[]);
            tx.insert_event(&record).await?;
            return Ok(Ingested {
                response_json: record.response_json,
                replayed: false,
                queued: false,
            });
        }
    };
    tx.insert_event(&record).await?;
    let mut bound = customer.clone();
    if let Some((binding, shares)) = attributed.new_binding {
        tx.bind_customer(customer.id, &binding).await?;
        if shares.len() > 1 {
            tx.set_customer_shares(customer.id, binding.program_id, &shares)
                .await?;
        }
        bound.binding = Some(binding);
    }
    // The commissions reference the stored event, so their answer is written after them.
    let mut commissions = Vec::new();
    for credit in &attributed.credits {
        commissions.extend(
            converge_customer(tx, &attributed.program, &bound, credit, event_id, now).await?,
        );
    }
    crate::postbacks::enqueue_for_event(tx, &record, &attributed.credits, &commissions, now)
        .await?;
    let response = response_json(&record, &customer, &attributed.credits, None, &commissions);
    tx.set_event_response(event_id, &response).await?;
    Ok(Ingested {
        response_json: response,
        replayed: false,
        queued: false,
    })
}

/// Who gets credit for an event, and (for a customer's first credited event) the binding
/// and shares to record.
pub struct Attributed {
    pub program: Program,
    /// One per credited partner, largest share first.
    pub credits: Vec<Credit>,
    pub new_binding: Option<(Binding, Vec<BoundShare>)>,
}

/// Who gets credit for this event: the customer's binding (and shares), or, for a lead or a
/// purchase of a customer not yet bound, the shares the program's model gives the touches
/// within its window. Where touches of several programs count, the program with the latest
/// deciding touch wins. Reversals and milestones never create a binding.
pub async fn attribute(
    tx: &mut dyn Tx,
    customer: &Customer,
    facts: &EventFacts,
    now: Timestamp,
) -> AppResult<Result<Attributed, String>> {
    if let Some(binding) = &customer.binding {
        let Some(program) = tx
            .program(customer.workspace_id, binding.program_id)
            .await?
        else {
            return Ok(Err("the customer's program no longer exists".into()));
        };
        let shares = tx.customer_shares(customer.id).await?;
        let credits = bound_credits(
            binding,
            &shares,
            program.attribution.model.name(),
            program.window_days,
        );
        return Ok(Ok(Attributed {
            program,
            credits,
            new_binding: None,
        }));
    }
    if !(facts.kind == EventKind::Lead || facts.kind.is_revenue()) {
        return Ok(Err("the customer is not attributed to a partner".into()));
    }
    let mut touches = tx.touches(customer.id).await?;
    // A suspended or terminated partner's links and codes win no new customers (nor do
    // they while the partner is past due on the program's terms).
    let mut standing: Vec<((ProgramId, PartnerId), bool)> = Vec::new();
    for touch in &touches {
        let key = (touch.program_id, touch.partner_id);
        if !standing.iter().any(|(seen, _)| *seen == key) {
            let pauses =
                crate::lifecycle::standing::pauses_of(tx, key.0, key.1, facts.occurred_at).await?;
            let earning = !tributary_core::engine::Pause::any(&pauses, facts.occurred_at);
            standing.push((key, earning));
        }
    }
    let had_touches = !touches.is_empty();
    touches.retain(|touch| {
        standing
            .iter()
            .any(|(key, earning)| *key == (touch.program_id, touch.partner_id) && *earning)
    });
    if had_touches && touches.is_empty() {
        return Ok(Err(
            "no credit: the partner is not earning (suspended, terminated, or the program's terms not accepted in time)"
                .into(),
        ));
    }
    let mut programs: Vec<ProgramId> = touches.iter().map(|touch| touch.program_id).collect();
    programs.sort();
    programs.dedup();
    let mut best: Option<(Timestamp, Program, Vec<BoundShare>)> = None;
    let mut reason = "no click or referral is known for this customer".to_string();
    for program_id in programs {
        let Some(program) = tx.program(customer.workspace_id, program_id).await? else {
            continue;
        };
        let of_program: Vec<Touch> = touches
            .iter()
            .filter(|touch| touch.program_id == program_id)
            .cloned()
            .collect();
        match attribution::attribute(&program.attribution(), &of_program, facts.occurred_at) {
            Ok(shares) => {
                let deciding = of_program
                    .iter()
                    .filter(|touch| shares.iter().any(|share| share.touch_id == touch.id))
                    .map(|touch| touch.at)
                    .max()
                    .unwrap_or(facts.occurred_at);
                if best.as_ref().is_none_or(|(at, ..)| deciding > *at) {
                    best = Some((deciding, program, shares));
                }
            }
            Err(why) => reason = format!("no credit: {}", why.as_str()),
        }
    }
    let Some((_, program, shares)) = best else {
        return Ok(Err(reason));
    };
    let binding = Binding::of_shares(program.id, &shares, now)
        .ok_or_else(|| AppError::Internal("attribution credited nobody".into()))?;
    let recorded: &[BoundShare] = if shares.len() > 1 { &shares } else { &[] };
    let credits = bound_credits(
        &binding,
        recorded,
        program.attribution.model.name(),
        program.window_days,
    );
    Ok(Ok(Attributed {
        program,
        credits,
        new_binding: Some((binding, shares)),
    }))
}

fn response_json(
    event: &EventRecord,
    customer: &Customer,
    credits: &[Credit],
    unattributed: Option<String>,
    commissions: &[CommissionRecord],
) -> String {
    let facts = &event.facts;
    json!({
        "event": {
            "id": event.id,
            "type": facts.kind,
            "customer_id": facts.customer_external_id,
            "click_id": facts.click_id,
            "amount_minor": facts.amount.map(|a| a.amount_minor),
            "currency": facts.amount.map(|a| a.currency),
            "occurred_at": format_time(facts.occurred_at),
            "invoice_id": facts.invoice_id,
            "milestone": facts.milestone,
            "received_at": format_time(event.received_at),
        },
        "customer": { "id": customer.id, "external_id": customer.external_id },
        "attribution": credits.first().map(|credit| json!({
            "partner_id": credit.partner_id,
            "program_id": credit.program_id,
            "link_id": credit.link_id,
            "model": credit.model,
            "share_bp": credit.share_bp,
            "role": credit.role,
        })),
        "credits": credits.iter().map(|credit| json!({
            "partner_id": credit.partner_id,
            "share_bp": credit.share_bp,
            "role": credit.role,
        })).collect::<Vec<_>>(),
        "unattributed_reason": unattributed,
        "commissions": commissions.iter().map(|c| json!({
            "id": c.id,
            "partner_id": c.partner_id,
            "kind": c.kind,
            "amount_minor": c.amount.amount_minor,
            "currency": c.amount.currency,
            "state": c.state,
            "rule_id": c.rule_id,
        })).collect::<Vec<_>>(),
    })
    .to_string()
}
