-- Issue 5, partner postbacks: the URLs partners register, each delivery (one per postback
-- and event, retried as a job), and the sub-ids visitors' clicks carried (`/r/code?sub1=..`),
-- kept apart from the append-only clicks table so they can be found by click id.

CREATE TABLE postbacks (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    url_template TEXT NOT NULL,
    events TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);
CREATE INDEX postbacks_partner ON postbacks(partner_id);

CREATE TABLE postback_deliveries (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    postback_id UUID NOT NULL REFERENCES postbacks(id),
    partner_id UUID NOT NULL,
    event_id UUID NOT NULL,
    values_json TEXT NOT NULL,
    url TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL,
    response_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    UNIQUE (postback_id, event_id)
);
CREATE INDEX postback_deliveries_partner ON postback_deliveries(partner_id, created_at);

CREATE TABLE click_subs (
    click_id TEXT PRIMARY KEY,
    workspace_id UUID NOT NULL,
    link_id UUID NOT NULL,
    at BIGINT NOT NULL,
    is_bot BOOLEAN NOT NULL,
    sub1 TEXT,
    sub2 TEXT,
    sub3 TEXT,
    sub4 TEXT,
    sub5 TEXT
);
CREATE INDEX click_subs_link ON click_subs(link_id, at);
