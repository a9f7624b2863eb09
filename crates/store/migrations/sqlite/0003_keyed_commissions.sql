-- ADR 0006: commissions no single event owns. A commission is keyed by its source event or,
-- for pay per click (`clicks:2026-05-03`) and bonuses (`bonus:<id>:<period>`), by a source
-- key; such commissions name no customer. SQLite cannot drop NOT NULL, so the table is
-- rebuilt (nothing references it). Bonuses posted before this hung on the period's latest
-- purchase with the key as their rule id: they move onto the key, with the bonus id as rule.

CREATE TABLE commissions_keyed (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    customer_id TEXT REFERENCES customers(id),
    source_event_id TEXT REFERENCES events(id),
    source_key TEXT,
    caused_by_event_id TEXT REFERENCES events(id),
    rule_id TEXT NOT NULL,
    plan_version_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('earning', 'clawback')),
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'in_payout', 'paid', 'reversed')),
    hold_until INTEGER NOT NULL,
    payout_batch_id TEXT,
    explanation_json TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((source_event_id IS NULL) <> (source_key IS NULL))
);

INSERT INTO commissions_keyed (id, workspace_id, program_id, partner_id, customer_id,
    source_event_id, source_key, caused_by_event_id, rule_id, plan_version_id, kind,
    amount_minor, currency, state, hold_until, payout_batch_id, explanation_json, created_at)
SELECT id, workspace_id, program_id, partner_id,
    CASE WHEN rule_id LIKE 'bonus:%' THEN NULL ELSE customer_id END,
    CASE WHEN rule_id LIKE 'bonus:%' THEN NULL ELSE source_event_id END,
    CASE WHEN rule_id LIKE 'bonus:%' THEN rule_id END,
    caused_by_event_id,
    CASE WHEN rule_id LIKE 'bonus:%'
        THEN substr(rule_id, 7, instr(substr(rule_id, 7), ':') - 1) ELSE rule_id END,
    plan_version_id, kind, amount_minor, currency, state, hold_until, payout_batch_id,
    explanation_json, created_at
FROM commissions;

DROP TABLE commissions;
ALTER TABLE commissions_keyed RENAME TO commissions;

CREATE INDEX commissions_customer ON commissions(customer_id);
CREATE INDEX commissions_partner ON commissions(workspace_id, partner_id, created_at);
CREATE INDEX commissions_state ON commissions(workspace_id, state, created_at);
CREATE INDEX commissions_batch ON commissions(payout_batch_id) WHERE payout_batch_id IS NOT NULL;
CREATE INDEX commissions_source_key ON commissions(program_id, partner_id, source_key)
    WHERE source_key IS NOT NULL;
