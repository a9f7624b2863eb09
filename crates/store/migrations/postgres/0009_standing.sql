-- Issue 6, conduct: the spans in which a partner does not earn in a program because they
-- were suspended (until reinstated) or terminated (for good), with the reason and who
-- decided. Terms not accepted in time are computed from the terms tables instead.

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
