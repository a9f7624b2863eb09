-- ADR 0006: commissions no single event owns. A commission is keyed by its source event or,
-- for pay per click (`clicks:2026-05-03`) and bonuses (`bonus:<id>:<period>`), by a source
-- key; such commissions name no customer. Bonuses posted before this hung on the period's
-- latest purchase with the key as their rule id: they move onto the key, with the bonus id
-- as rule.

ALTER TABLE commissions ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE commissions ALTER COLUMN source_event_id DROP NOT NULL;
ALTER TABLE commissions ALTER COLUMN caused_by_event_id DROP NOT NULL;
ALTER TABLE commissions ADD COLUMN source_key TEXT;

UPDATE commissions
SET source_key = rule_id, rule_id = split_part(rule_id, ':', 2),
    customer_id = NULL, source_event_id = NULL
WHERE rule_id LIKE 'bonus:%';

ALTER TABLE commissions ADD CONSTRAINT commissions_one_source
    CHECK ((source_event_id IS NULL) <> (source_key IS NULL));
CREATE INDEX commissions_source_key ON commissions(program_id, partner_id, source_key)
    WHERE source_key IS NOT NULL;
