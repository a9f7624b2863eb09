-- Issue 5, partner postbacks: the URLs partners register, each delivery (one per postback
-- and event, retried as a job), and the sub-ids visitors' clicks carried (`/r/code?sub1=..`),
-- kept apart from the append-only clicks table so they can be found by click id.

CREATE TABLE postbacks (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    url_template TEXT NOT NULL,
    events TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
);
CREATE INDEX postbacks_partner ON postbacks(partner_id);

CREATE TABLE postback_deliveries (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    postback_id TEXT NOT NULL REFERENCES postbacks(id),
    partner_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    values_json TEXT NOT NULL,
    url TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    response_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    UNIQUE (postback_id, event_id)
);
CREATE INDEX postback_deliveries_partner ON postback_deliveries(partner_id, created_at);

CREATE TABLE click_subs (
    click_id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    link_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    is_bot INTEGER NOT NULL,
    sub1 TEXT,
    sub2 TEXT,
    sub3 TEXT,
    sub4 TEXT,
    sub5 TEXT
);
CREATE INDEX click_subs_link ON click_subs(link_id, at);
