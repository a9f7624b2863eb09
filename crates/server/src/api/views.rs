//! JSON views of stored rows. Times are RFC 3339, money is `amount_minor` + `currency`.

use serde_json::{Value, json};
use tributary_app::attribution::ConversionPath;
use tributary_app::ingest::format_time;
use tributary_core::ledger::PartnerBalance;
use tributary_store::*;

pub fn program(p: &Program) -> Value {
    json!({
        "id": p.id, "name": p.name, "destination_url": p.destination_url, "currency": p.currency,
        "window_days": p.window_days, "hold_days": p.hold_days, "min_payout_minor": p.min_payout_minor,
        "plan_version_id": p.plan_version_id, "attribution": p.attribution,
        "created_at": format_time(p.created_at),
    })
}

pub fn coupon(c: &Coupon) -> Value {
    json!({
        "code": c.code, "program_id": c.program_id, "partner_id": c.partner_id,
        "created_at": format_time(c.created_at),
    })
}

pub fn deal(d: &Deal) -> Value {
    json!({
        "id": d.id, "program_id": d.program_id, "partner_id": d.partner_id,
        "customer_id": d.customer_external_id, "company": d.company,
        "contact_name": d.contact_name, "contact_email": d.contact_email, "notes": d.notes,
        "status": d.status, "decided_at": d.decided_at.map(format_time),
        "decision_reason": d.decision_reason, "created_at": format_time(d.created_at),
    })
}

pub fn conversion_path(path: &ConversionPath) -> Value {
    json!({
        "customer_id": path.customer_id, "external_id": path.external_id,
        "program_id": path.program_id, "bound_at": path.bound_at.map(format_time),
        "credits": path.credits.iter().map(|c| json!({
            "partner_id": c.partner_id, "share_bp": c.share_bp, "role": c.role, "model": c.model,
            "since": c.since.map(format_time),
        })).collect::<Vec<_>>(),
        "touches": path.touches.iter().map(|t| json!({
            "id": t.id, "channel": t.channel, "partner_id": t.partner_id, "link_id": t.link_id,
            "at": format_time(t.at), "is_bot": t.is_bot, "detail": t.detail,
        })).collect::<Vec<_>>(),
    })
}

pub fn partner(p: &Partner) -> Value {
    json!({
        "id": p.id, "name": p.name, "email": p.email, "archetype": p.archetype,
        "payout_email": p.payout_email, "has_login": p.password_hash.is_some(), "created_at": format_time(p.created_at),
    })
}

pub fn enrollment(e: &Enrollment) -> Value {
    json!({
        "id": e.id, "program_id": e.program_id, "partner_id": e.partner_id, "status": e.status,
        "group": e.partner_group, "tier": e.tier, "created_at": format_time(e.created_at),
    })
}

pub fn link(l: &Link) -> Value {
    json!({
        "id": l.id, "program_id": l.program_id, "partner_id": l.partner_id, "code": l.code,
        "destination_url": l.destination_url, "created_at": format_time(l.created_at),
    })
}

pub fn link_stats(s: &LinkStats) -> Value {
    let mut value = link(&s.link);
    value["clicks"] = json!(s.clicks);
    value["bot_clicks"] = json!(s.bot_clicks);
    value["leads"] = json!(s.leads);
    value["sales"] = json!(s.sales);
    value
}

pub fn customer(c: &Customer) -> Value {
    json!({
        "id": c.id, "external_id": c.external_id,
        "partner_id": c.binding.as_ref().map(|b| b.partner_id),
        "program_id": c.binding.as_ref().map(|b| b.program_id),
        "bound_at": c.binding.as_ref().map(|b| format_time(b.bound_at)),
        "created_at": format_time(c.created_at),
    })
}

pub fn event(e: &EventRecord) -> Value {
    json!({
        "id": e.id, "type": e.facts.kind, "customer_id": e.facts.customer_external_id,
        "amount_minor": e.facts.amount.map(|a| a.amount_minor), "currency": e.facts.amount.map(|a| a.currency),
        "invoice_id": e.facts.invoice_id, "milestone": e.facts.milestone, "click_id": e.facts.click_id,
        "partner_id": e.partner_id, "link_id": e.link_id,
        "occurred_at": format_time(e.facts.occurred_at), "received_at": format_time(e.received_at),
    })
}

pub fn commission(c: &CommissionRecord) -> Value {
    json!({
        "id": c.id, "partner_id": c.partner_id, "program_id": c.program_id, "customer_id": c.customer_id,
        "source_event_ids": c.source.event().into_iter().collect::<Vec<_>>(), "source_key": c.source.key(),
        "caused_by_event_id": c.caused_by_event_id,
        "kind": c.kind, "rule_id": c.rule_id, "plan_version_id": c.plan_version_id,
        "amount_minor": c.amount.amount_minor, "currency": c.amount.currency, "state": c.state,
        "hold_until": format_time(c.hold_until), "payout_batch_id": c.payout_batch_id,
        "summary": c.explanation.summary, "created_at": format_time(c.created_at),
    })
}

pub fn balance(b: &PartnerBalance) -> Value {
    json!({
        "currency": b.currency, "pending_minor": b.pending_minor, "approved_minor": b.approved_minor,
        "in_payout_minor": b.in_payout_minor, "paid_minor": b.paid_minor,
    })
}

pub fn payout_batch(b: &PayoutBatch) -> Value {
    json!({
        "id": b.id, "program_id": b.program_id, "currency": b.currency, "total_minor": b.total_minor,
        "item_count": b.item_count, "state": b.state, "reference": b.reference,
        "created_at": format_time(b.created_at), "paid_at": b.paid_at.map(format_time),
    })
}

pub fn payout_item(i: &PayoutItem) -> Value {
    json!({ "partner_id": i.partner_id, "recipient": i.recipient, "amount_minor": i.amount.amount_minor, "currency": i.amount.currency })
}

pub fn postback(p: &Postback) -> Value {
    json!({
        "id": p.id, "partner_id": p.partner_id, "url": p.url_template, "events": p.events,
        "created_at": format_time(p.created_at), "disabled_at": p.disabled_at.map(format_time),
    })
}

pub fn postback_delivery(d: &PostbackDelivery) -> Value {
    json!({
        "id": d.id, "postback_id": d.postback_id, "partner_id": d.partner_id, "event_id": d.event_id,
        "url": d.url, "status": d.status, "attempts": d.attempts,
        "response_status": d.response_status, "last_error": d.last_error,
        "created_at": format_time(d.created_at), "delivered_at": d.delivered_at.map(format_time),
    })
}

pub fn lifecycle(row: &ProgramLifecycleRow) -> Value {
    json!({
        "program_id": row.program_id, "slug": row.slug, "public_path": format!("/join/{}", row.slug),
        "lifecycle": row.lifecycle, "updated_at": format_time(row.updated_at),
    })
}

pub fn application(a: &Application) -> Value {
    json!({
        "id": a.id, "program_id": a.program_id, "name": a.applicant.name, "email": a.applicant.email,
        "website": a.applicant.website, "country": a.applicant.country, "group": a.applicant.group,
        "answers": a.applicant.answers, "score": a.score.total, "score_lines": a.score.lines,
        "status": a.status, "decided_by": a.decided_by, "reason": a.reason, "partner_id": a.partner_id,
        "created_at": format_time(a.created_at), "decided_at": a.decided_at.map(format_time),
    })
}

pub fn invitation(i: &Invitation) -> Value {
    json!({
        "id": i.id, "program_id": i.program_id, "email": i.email, "name": i.name,
        "group": i.partner_group, "status": i.status, "created_at": format_time(i.created_at),
        "expires_at": format_time(i.expires_at), "accepted_at": i.accepted_at.map(format_time),
        "partner_id": i.partner_id,
    })
}

pub fn email(e: &Email) -> Value {
    json!({
        "id": e.id, "to": e.to_address, "subject": e.subject,
        "body": tributary_app::mail::redacted(&e.body), "kind": e.kind,
        "status": e.status, "attempts": e.attempts, "last_error": e.last_error,
        "created_at": format_time(e.created_at), "sent_at": e.sent_at.map(format_time),
    })
}

pub fn terms(t: &TermsVersion) -> Value {
    json!({
        "id": t.id, "program_id": t.program_id, "version": t.version, "body_markdown": t.body_markdown,
        "payout_schedule": t.payout_schedule, "termination_policy": t.termination_policy,
        "grace_days": t.grace_days, "published_at": format_time(t.published_at),
    })
}
