-- Issue 6, conduct: the spans in which a partner does not earn in a program because they
-- were suspended (until reinstated) or terminated (for good), with the reason and who
-- decided (terms not accepted in time are computed from the terms tables instead); and the
-- commissions a partner forfeited (pending ones, at a termination whose terms say so),
-- which no later derivation owes them again.

CREATE TABLE enrollment_pauses (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    kind TEXT NOT NULL CHECK (kind IN ('suspended', 'terminated')),
    reason TEXT NOT NULL,
    from_at BIGINT NOT NULL,
    until_at BIGINT,
    decided_by TEXT NOT NULL
);
CREATE INDEX enrollment_pauses_partner ON enrollment_pauses(program_id, partner_id);

CREATE TABLE commission_forfeits (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    source TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    plan_version_id UUID NOT NULL,
    reason TEXT NOT NULL,
    forfeited_at BIGINT NOT NULL,
    PRIMARY KEY (partner_id, source, rule_id, plan_version_id)
);
