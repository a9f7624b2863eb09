-- Issue 5, attribution: a program's model and channel precedence; touches of every channel
-- (links, `?via=` visits, coupons, deals, manual assignments); the shares of a customer
-- credited to several partners; coupon codes and registered deals; and the audit log that
-- records who changed a customer's credit and why.

ALTER TABLE programs ADD COLUMN attribution_json TEXT;

-- SQLite cannot drop NOT NULL: the touches table is rebuilt with a channel, an optional
-- link and the touch's detail; its click id becomes the touch id (columns in the order
-- PostgreSQL's altered table has them).
CREATE TABLE touches_channels (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    touch_id TEXT NOT NULL,
    link_id TEXT,
    partner_id TEXT NOT NULL,
    program_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    is_bot INTEGER NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('link', 'referral', 'coupon', 'deal', 'manual')),
    detail TEXT,
    PRIMARY KEY (customer_id, touch_id)
);
INSERT INTO touches_channels (customer_id, touch_id, link_id, partner_id, program_id, at, is_bot, channel, detail)
SELECT customer_id, click_id, link_id, partner_id, program_id, at, is_bot, 'link', NULL FROM touches;
DROP TABLE touches;
ALTER TABLE touches_channels RENAME TO touches;

CREATE TABLE customer_shares (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    partner_id TEXT NOT NULL,
    program_id TEXT NOT NULL,
    share_bp INTEGER NOT NULL CHECK (share_bp > 0 AND share_bp <= 10000),
    role TEXT NOT NULL CHECK (role IN ('originator', 'assist', 'closer')),
    model TEXT NOT NULL,
    touch_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    link_id TEXT,
    touched_at INTEGER NOT NULL,
    PRIMARY KEY (customer_id, partner_id)
);
CREATE INDEX customer_shares_partner ON customer_shares(partner_id, program_id);

CREATE TABLE coupons (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    code TEXT NOT NULL,
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, code)
);

CREATE TABLE deals (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    customer_external_id TEXT NOT NULL,
    company TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    notes TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_at INTEGER,
    decision_reason TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX deals_workspace ON deals(workspace_id, status, created_at);
CREATE INDEX deals_partner ON deals(partner_id, created_at);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail_json TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(workspace_id, subject, at);
