-- Issue 5, billing webhooks: every provider event as received (deduplicated by its id, kept
-- raw, with what became of it), and the payments they reported, so a refund or dispute that
-- names only a charge finds its customer and sale.

CREATE TABLE provider_events (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processed', 'ignored', 'parked')),
    note TEXT NOT NULL,
    waits_for TEXT,
    PRIMARY KEY (workspace_id, provider, event_id)
);
CREATE INDEX provider_events_parked ON provider_events(workspace_id, provider, waits_for)
    WHERE status = 'parked';

CREATE TABLE provider_payments (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    provider TEXT NOT NULL,
    payment_key TEXT NOT NULL,
    customer TEXT NOT NULL,
    invoice TEXT NOT NULL,
    net_minor BIGINT NOT NULL,
    gross_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    refunded_minor BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, provider, payment_key)
);
