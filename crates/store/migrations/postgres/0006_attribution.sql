-- Issue 5, attribution: a program's model and channel precedence; touches of every channel
-- (links, `?via=` visits, coupons, deals, manual assignments); the shares of a customer
-- credited to several partners; coupon codes and registered deals; and the audit log that
-- records who changed a customer's credit and why.

ALTER TABLE programs ADD COLUMN attribution_json TEXT;

-- Touches get a channel, an optional link and the touch's detail; the click id becomes the
-- touch id.
ALTER TABLE touches RENAME COLUMN click_id TO touch_id;
ALTER TABLE touches ALTER COLUMN link_id DROP NOT NULL;
ALTER TABLE touches ADD COLUMN channel TEXT NOT NULL DEFAULT 'link'
    CHECK (channel IN ('link', 'referral', 'coupon', 'deal', 'manual'));
ALTER TABLE touches ALTER COLUMN channel DROP DEFAULT;
ALTER TABLE touches ADD COLUMN detail TEXT;

CREATE TABLE customer_shares (
    customer_id UUID NOT NULL REFERENCES customers(id),
    partner_id UUID NOT NULL,
    program_id UUID NOT NULL,
    share_bp BIGINT NOT NULL CHECK (share_bp > 0 AND share_bp <= 10000),
    role TEXT NOT NULL CHECK (role IN ('originator', 'assist', 'closer')),
    model TEXT NOT NULL,
    touch_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    link_id UUID,
    touched_at BIGINT NOT NULL,
    PRIMARY KEY (customer_id, partner_id)
);
CREATE INDEX customer_shares_partner ON customer_shares(partner_id, program_id);

CREATE TABLE coupons (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    code TEXT NOT NULL,
    program_id UUID NOT NULL REFERENCES programs(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, code)
);

CREATE TABLE deals (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    customer_external_id TEXT NOT NULL,
    company TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    notes TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_at BIGINT,
    decision_reason TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX deals_workspace ON deals(workspace_id, status, created_at);
CREATE INDEX deals_partner ON deals(partner_id, created_at);

CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail_json TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(workspace_id, subject, at);
