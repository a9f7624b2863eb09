//! Attribution the business steers (issue 5): coupon codes that credit partners, an
//! admin's re-attribution of a customer (with reversing and new commissions, and the reason
//! in the audit log), and deals partners register for an admin to approve.

use crate::ingest::customer_lock;
use crate::posting::{
    converge_customer, customer_credits, post_deltas, posted_of, resettle_customer,
};
use crate::{App, AppError, AppResult, new_uuid};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use tributary_core::attribution::{Binding, BoundShare, Credit, Touch};
use tributary_core::commission;
use tributary_core::multitouch::{Channel, Role, TOTAL_BP};
use tributary_core::*;
use tributary_store::{AuditEntry, CommissionRecord, Coupon, Customer, Deal, Program, Tx};

pub const MAX_COUPON_LEN: usize = 64;
pub const MAX_REASON_LEN: usize = 500;
/// Partners one customer may be credited to by hand.
pub const MAX_MANUAL_SHARES: usize = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCoupon {
    pub code: String,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
}

/// A coupon code as stored: trimmed, upper case, letters, digits, `-` and `_`.
pub fn coupon_code(text: &str) -> AppResult<String> {
    let code = text.trim().to_ascii_uppercase();
    if code.is_empty()
        || code.len() > MAX_COUPON_LEN
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AppError::invalid(
            "code",
            format!("a code is 1 to {MAX_COUPON_LEN} letters, digits, `-` or `_`"),
        ));
    }
    Ok(code)
}

async fn enrolled_program(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    partner_id: PartnerId,
    field: &str,
) -> AppResult<Program> {
    let program = tx
        .program(workspace_id, program_id)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    if tx.enrollment(program_id, partner_id).await?.is_none() {
        return Err(AppError::invalid(
            field,
            "the partner is not enrolled in this program",
        ));
    }
    Ok(program)
}

/// Ties a coupon code to a partner: a customer who uses it (the event's `coupon`, a Stripe
/// promotion code) gets a `coupon` touch for that partner.
pub async fn create_coupon(
    app: &App,
    workspace_id: WorkspaceId,
    input: NewCoupon,
) -> AppResult<Coupon> {
    let code = coupon_code(&input.code)?;
    let mut tx = app.store.write().await?;
    enrolled_program(
        tx.as_mut(),
        workspace_id,
        input.program_id,
        input.partner_id,
        "partner_id",
    )
    .await?;
    if tx.coupon(workspace_id, &code).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "the coupon code {code} is already taken"
        )));
    }
    let coupon = Coupon {
        workspace_id,
        code,
        program_id: input.program_id,
        partner_id: input.partner_id,
        created_at: app.now(),
    };
    tx.insert_coupon(&coupon).await?;
    tx.commit().await?;
    Ok(coupon)
}

/// One partner's part in a re-attribution.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareInput {
    pub partner_id: PartnerId,
    pub share_bp: u32,
    /// Defaults: the first listed is the `closer`, the others `assist`.
    #[serde(default)]
    pub role: Option<Role>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reattribution {
    /// Only for a customer not yet credited: the program to credit them in.
    #[serde(default)]
    pub program_id: Option<ProgramId>,
    pub shares: Vec<ShareInput>,
    pub reason: String,
}

/// What a re-attribution did.
#[derive(Debug, Clone)]
pub struct Reattributed {
    pub customer: Customer,
    pub credits: Vec<Credit>,
    /// The reversing and new commissions posted.
    pub commissions: Vec<CommissionRecord>,
    /// False when the shares asked for are the ones the customer already had.
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ShareSummary {
    partner_id: PartnerId,
    share_bp: u32,
    role: String,
}

fn summary(credits: &[Credit]) -> Vec<ShareSummary> {
    credits
        .iter()
        .map(|credit| ShareSummary {
            partner_id: credit.partner_id,
            share_bp: credit.share_bp,
            role: credit.role.clone(),
        })
        .collect()
}

fn reason(text: &str) -> AppResult<String> {
    let reason = text.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_LEN {
        return Err(AppError::invalid(
            "reason",
            format!("a reason of 1 to {MAX_REASON_LEN} characters is required"),
        ));
    }
    Ok(reason.to_string())
}

/// Credits a customer to the partners and shares an admin names (`actor`), whatever the
/// touches say: manual touches are recorded, the binding and shares replaced, the
/// commissions of every event re-derived under the new shares (new, adjusted and reversing
/// commissions, clawbacks of what was paid), and the change written to the audit log with
/// its reason. Asking for the shares the customer already has changes nothing.
pub async fn reattribute(
    app: &App,
    workspace_id: WorkspaceId,
    actor: &str,
    customer_id: CustomerId,
    input: Reattribution,
) -> AppResult<Reattributed> {
    let reason = reason(&input.reason)?;
    if input.shares.is_empty() || input.shares.len() > MAX_MANUAL_SHARES {
        return Err(AppError::invalid(
            "shares",
            format!("name 1 to {MAX_MANUAL_SHARES} partners"),
        ));
    }
    let mut seen = BTreeSet::new();
    for share in &input.shares {
        if !seen.insert(share.partner_id) {
            return Err(AppError::invalid("shares", "each partner is named once"));
        }
        if share.share_bp == 0 || share.share_bp > TOTAL_BP {
            return Err(AppError::invalid(
                "shares.share_bp",
                "each share is 1 to 10000 basis points",
            ));
        }
    }
    if input.shares.iter().map(|share| share.share_bp).sum::<u32>() != TOTAL_BP {
        return Err(AppError::invalid(
            "shares",
            "the shares add up to exactly 10000 basis points",
        ));
    }
    let now = app.now();
    let mut tx = app.store.write().await?;
    let found = tx
        .customer(workspace_id, customer_id)
        .await?
        .ok_or(AppError::NotFound("customer"))?;
    let (scope, key) = customer_lock(workspace_id, &found.external_id);
    tx.lock_key(scope, &key).await?;
    // Read again under the lock: an event may have bound the customer meanwhile.
    let customer = tx
        .customer(workspace_id, customer_id)
        .await?
        .ok_or(AppError::NotFound("customer"))?;
    let program_id = match (&customer.binding, input.program_id) {
        (Some(binding), Some(asked)) if binding.program_id != asked => {
            return Err(AppError::invalid(
                "program_id",
                "a customer stays in the program they were credited in",
            ));
        }
        (Some(binding), _) => binding.program_id,
        (None, Some(asked)) => asked,
        (None, None) => {
            return Err(AppError::invalid(
                "program_id",
                "name the program to credit a customer nobody is credited for yet",
            ));
        }
    };
    let mut program = None;
    for share in &input.shares {
        program = Some(
            enrolled_program(
                tx.as_mut(),
                workspace_id,
                program_id,
                share.partner_id,
                "shares.partner_id",
            )
            .await?,
        );
    }
    let program = program.ok_or(AppError::NotFound("program"))?;
    let before = customer_credits(tx.as_mut(), &program, &customer).await?;
    let events = tx.customer_events(customer.id).await?;
    // The new partners earn on every event of the customer: the change corrects who brought
    // them, not when.
    let since = events
        .iter()
        .map(|event| event.facts.occurred_at)
        .min()
        .map_or(customer.created_at, |first| first.min(customer.created_at));
    let audit_id = new_uuid();
    let mut shares: Vec<BoundShare> = input
        .shares
        .iter()
        .enumerate()
        .map(|(n, share)| BoundShare {
            partner_id: share.partner_id,
            share_bp: share.share_bp,
            role: share
                .role
                .unwrap_or(if n == 0 { Role::Closer } else { Role::Assist }),
            model: "manual".into(),
            touch_id: format!("manual:{audit_id}:{n}"),
            channel: Channel::Manual,
            link_id: None,
            touched_at: since,
        })
        .collect();
    // Largest first, ties by partner id: the order the store reads them back in.
    shares.sort_by_key(|share| (std::cmp::Reverse(share.share_bp), share.partner_id));
    let wanted: Vec<ShareSummary> = shares
        .iter()
        .map(|share| ShareSummary {
            partner_id: share.partner_id,
            share_bp: share.share_bp,
            role: share.role.as_str().into(),
        })
        .collect();
    if summary(&before) == wanted {
        return Ok(Reattributed {
            credits: before,
            customer,
            commissions: Vec::new(),
            changed: false,
        });
    }
    for share in &shares {
        tx.insert_touch(
            customer.id,
            &Touch {
                id: share.touch_id.clone(),
                channel: Channel::Manual,
                link_id: None,
                partner_id: share.partner_id,
                program_id,
                at: now,
                is_bot: false,
                detail: Some(reason.clone()),
            },
        )
        .await?;
    }
    let binding = Binding::of_shares(program_id, &shares, now)
        .ok_or_else(|| AppError::Internal("a re-attribution without shares".into()))?;
    tx.bind_customer(customer.id, &binding).await?;
    // One partner as the closer is the binding alone; any other role is kept as a share.
    let recorded: &[BoundShare] = if shares.len() > 1 || shares[0].role != Role::Closer {
        &shares
    } else {
        &[]
    };
    tx.set_customer_shares(customer.id, program_id, recorded)
        .await?;
    tx.set_customer_event_credit(customer.id, binding.partner_id, None)
        .await?;
    let mut bound = customer.clone();
    bound.binding = Some(binding);
    let after = customer_credits(tx.as_mut(), &program, &bound).await?;
    let mut commissions = Vec::new();
    if let Some(last) = events.last().map(|event| event.id) {
        for credit in &after {
            commissions
                .extend(converge_customer(tx.as_mut(), &program, &bound, credit, last, now).await?);
        }
        // Partners no longer credited: everything they were owed for this customer goes.
        let existing = tx.customer_commissions(customer.id).await?;
        for gone in before
            .iter()
            .filter(|old| after.iter().all(|new| new.partner_id != old.partner_id))
        {
            let theirs: Vec<CommissionRecord> = existing
                .iter()
                .filter(|c| c.partner_id == gone.partner_id)
                .cloned()
                .collect();
            let versions: BTreeSet<PlanVersionId> =
                theirs.iter().map(|c| c.plan_version_id).collect();
            for version_id in versions {
                let Some(version) = tx.plan_version(version_id).await? else {
                    continue;
                };
                let posted = posted_of(&theirs, |c| c.plan_version_id == version_id);
                let deltas = commission::deltas(Vec::new(), &posted);
                commissions.extend(
                    post_deltas(
                        tx.as_mut(),
                        &program,
                        &version,
                        gone.partner_id,
                        Some(customer.id),
                        Some(last),
                        deltas,
                        &theirs,
                        now,
                    )
                    .await?,
                );
            }
        }
    }
    // Tiers and caps per partner per period: every period of the customer's events settles
    // again, for the partners who lost and those who gained the customer.
    let moved: Vec<PartnerId> = before
        .iter()
        .chain(&after)
        .map(|credit| credit.partner_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    resettle_customer(tx.as_mut(), &program, &events, &moved, now).await?;
    tx.insert_audit(&AuditEntry {
        id: audit_id,
        workspace_id,
        at: now,
        actor: actor.to_string(),
        action: "customer.reattributed".into(),
        subject: format!("customer:{}", customer.id),
        reason,
        detail_json: json!({
            "program_id": program_id,
            "before": summary(&before),
            "after": summary(&after),
        })
        .to_string(),
    })
    .await?;
    tx.commit().await?;
    Ok(Reattributed {
        customer: bound,
        credits: after,
        commissions,
        changed: true,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDeal {
    pub program_id: ProgramId,
    /// The id the business will report the prospect's events under (their billing
    /// customer id, or the email they sign up with).
    pub customer_id: String,
    pub company: String,
    pub contact_name: String,
    pub contact_email: String,
    #[serde(default)]
    pub notes: String,
}

fn text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field} needs 1 to {max} characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// A partner registers a deal: a prospect they are working. Refused while another pending
/// or approved deal names the same customer in the program (first to register wins).
pub async fn register_deal(
    app: &App,
    workspace_id: WorkspaceId,
    partner_id: PartnerId,
    input: NewDeal,
) -> AppResult<Deal> {
    let customer_external_id = text(
        "customer_id",
        &input.customer_id,
        tributary_core::event::MAX_EXTERNAL_ID_LEN,
    )?;
    let company = text("company", &input.company, 200)?;
    let contact_name = text("contact_name", &input.contact_name, 200)?;
    let contact_email = text("contact_email", &input.contact_email, 254)?;
    if !contact_email.contains('@') {
        return Err(AppError::invalid(
            "contact_email",
            "contact_email is an email address",
        ));
    }
    let notes = input.notes.trim().to_string();
    if notes.chars().count() > 2_000 {
        return Err(AppError::invalid(
            "notes",
            "notes may be at most 2000 characters",
        ));
    }
    let mut tx = app.store.write().await?;
    enrolled_program(
        tx.as_mut(),
        workspace_id,
        input.program_id,
        partner_id,
        "program_id",
    )
    .await?;
    // Deals of one customer take turns, so two partners cannot both register the same one.
    tx.lock_key(
        "deal",
        &format!("{workspace_id}:{}:{customer_external_id}", input.program_id),
    )
    .await?;
    if tx
        .open_deal(workspace_id, input.program_id, &customer_external_id)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "a deal for this customer is already registered in this program".into(),
        ));
    }
    let deal = Deal {
        id: DealId(new_uuid()),
        workspace_id,
        program_id: input.program_id,
        partner_id,
        customer_external_id,
        company,
        contact_name,
        contact_email,
        notes,
        status: "pending".into(),
        decided_at: None,
        decision_reason: None,
        created_at: app.now(),
    };
    tx.insert_deal(&deal).await?;
    tx.commit().await?;
    Ok(deal)
}

/// An admin approves or rejects a pending deal. Approval gives the customer a `deal` touch
/// for the partner, dated when the deal was registered (the customer is created if this is
/// the first the business hears of them); the program's precedence decides what it weighs
/// when the customer converts. A customer already credited keeps their credit (re-attribute
/// them to change it). Both decisions are in the audit log.
pub async fn decide_deal(
    app: &App,
    workspace_id: WorkspaceId,
    actor: &str,
    deal_id: DealId,
    approve: bool,
    reason_text: &str,
) -> AppResult<Deal> {
    let reason = if reason_text.trim().is_empty() && approve {
        "approved".to_string()
    } else {
        reason(reason_text)?
    };
    let now = app.now();
    let mut tx = app.store.write().await?;
    let found = tx
        .deal(workspace_id, deal_id)
        .await?
        .ok_or(AppError::NotFound("deal"))?;
    let (scope, key) = customer_lock(workspace_id, &found.customer_external_id);
    tx.lock_key(scope, &key).await?;
    // Read again under the lock: another decision may have been made meanwhile.
    let mut deal = tx
        .deal(workspace_id, deal_id)
        .await?
        .ok_or(AppError::NotFound("deal"))?;
    if deal.status != "pending" {
        return Err(AppError::Conflict(format!(
            "this deal was already {}",
            deal.status
        )));
    }
    let status = if approve { "approved" } else { "rejected" };
    tx.decide_deal(deal.id, status, now, &reason).await?;
    if approve {
        let customer = match tx
            .customer_by_external_id(workspace_id, &deal.customer_external_id)
            .await?
        {
            Some(customer) => customer,
            None => {
                let customer = Customer {
                    id: CustomerId(new_uuid()),
                    workspace_id,
                    external_id: deal.customer_external_id.clone(),
                    binding: None,
                    created_at: now,
                };
                tx.insert_customer(&customer).await?;
                customer
            }
        };
        tx.insert_touch(
            customer.id,
            &Touch {
                id: format!("deal:{}", deal.id),
                channel: Channel::Deal,
                link_id: None,
                partner_id: deal.partner_id,
                program_id: deal.program_id,
                at: deal.created_at,
                is_bot: false,
                detail: Some(deal.company.clone()),
            },
        )
        .await?;
    }
    tx.insert_audit(&AuditEntry {
        id: new_uuid(),
        workspace_id,
        at: now,
        actor: actor.to_string(),
        action: format!("deal.{status}"),
        subject: format!("deal:{}", deal.id),
        reason: reason.clone(),
        detail_json: json!({
            "partner_id": deal.partner_id,
            "customer_id": deal.customer_external_id,
        })
        .to_string(),
    })
    .await?;
    tx.commit().await?;
    deal.status = status.into();
    deal.decided_at = Some(now);
    deal.decision_reason = Some(reason);
    Ok(deal)
}

/// One touch on a customer's conversion path.
#[derive(Debug, Clone, Serialize)]
pub struct PathTouch {
    pub id: String,
    pub channel: Channel,
    pub partner_id: PartnerId,
    pub link_id: Option<LinkId>,
    pub at: Timestamp,
    pub is_bot: bool,
    /// The coupon code, `via` code or deal's company; for a manual touch the admin's
    /// reason (not shown to partners).
    pub detail: Option<String>,
}

/// One partner's credit for a customer.
#[derive(Debug, Clone, Serialize)]
pub struct PathCredit {
    pub partner_id: PartnerId,
    pub share_bp: u32,
    pub role: String,
    pub model: String,
    pub since: Option<Timestamp>,
}

/// A customer's touches in order and the credit each partner holds: everything for the
/// business, only their own for a partner (`viewer`).
#[derive(Debug, Clone, Serialize)]
pub struct ConversionPath {
    pub customer_id: CustomerId,
    pub external_id: String,
    pub program_id: Option<ProgramId>,
    pub bound_at: Option<Timestamp>,
    pub touches: Vec<PathTouch>,
    pub credits: Vec<PathCredit>,
}

/// The conversion path of a customer; `None` when the customer is not in the workspace, or
/// a partner viewer has neither a touch nor a credit there.
pub async fn conversion_path(
    tx: &mut dyn Tx,
    workspace_id: WorkspaceId,
    customer_id: CustomerId,
    viewer: Option<PartnerId>,
) -> AppResult<Option<ConversionPath>> {
    let Some(customer) = tx.customer(workspace_id, customer_id).await? else {
        return Ok(None);
    };
    let program = match &customer.binding {
        Some(binding) => tx.program(workspace_id, binding.program_id).await?,
        None => None,
    };
    let credits = match &program {
        Some(program) => customer_credits(tx, program, &customer).await?,
        None => Vec::new(),
    };
    let mine = |partner: PartnerId| viewer.is_none_or(|own| own == partner);
    let touches: Vec<PathTouch> = tx
        .touches(customer.id)
        .await?
        .into_iter()
        .filter(|touch| mine(touch.partner_id))
        .map(|touch| PathTouch {
            detail: if viewer.is_some() && touch.channel == Channel::Manual {
                None
            } else {
                touch.detail
            },
            id: touch.id,
            channel: touch.channel,
            partner_id: touch.partner_id,
            link_id: touch.link_id,
            at: touch.at,
            is_bot: touch.is_bot,
        })
        .collect();
    let credits: Vec<PathCredit> = credits
        .into_iter()
        .filter(|credit| mine(credit.partner_id))
        .map(|credit| PathCredit {
            partner_id: credit.partner_id,
            share_bp: credit.share_bp,
            role: credit.role,
            model: credit.model,
            since: credit.touched_at,
        })
        .collect();
    if viewer.is_some() && touches.is_empty() && credits.is_empty() {
        return Ok(None);
    }
    Ok(Some(ConversionPath {
        customer_id: customer.id,
        external_id: customer.external_id,
        program_id: customer.binding.as_ref().map(|b| b.program_id),
        bound_at: customer.binding.as_ref().map(|b| b.bound_at),
        touches,
        credits,
    }))
}
