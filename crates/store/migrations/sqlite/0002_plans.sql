-- Issue 4, the plan engine: plan versions per scope (program, partner group, partner) with
-- the instant they take effect; a partner's group and tier per enrollment; commission keys
-- voided by a safeguard; events looked up by partner and time for period settlement.

ALTER TABLE plan_versions ADD COLUMN scope TEXT NOT NULL DEFAULT 'program';
ALTER TABLE plan_versions ADD COLUMN scope_key TEXT NOT NULL DEFAULT '';
ALTER TABLE plan_versions ADD COLUMN effective_from INTEGER NOT NULL DEFAULT 0;

ALTER TABLE enrollments ADD COLUMN partner_group TEXT;
ALTER TABLE enrollments ADD COLUMN tier TEXT;

CREATE TABLE commission_voids (
    workspace_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    source_event_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    plan_version_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    voided_at INTEGER NOT NULL,
    PRIMARY KEY (source_event_id, rule_id, plan_version_id)
);
CREATE INDEX commission_voids_customer ON commission_voids(customer_id);

CREATE INDEX events_partner_time ON events(partner_id, occurred_at) WHERE partner_id IS NOT NULL;
