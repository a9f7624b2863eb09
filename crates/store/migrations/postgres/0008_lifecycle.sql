-- Issue 6, the partner lifecycle: each program's lifecycle document (application form,
-- groups, vetting, stage) and public slug; applications and their decisions; invitations;
-- the email outbox; one-time partner tokens (set a password); program terms and who
-- accepted which version; why an enrollment's status last changed.

CREATE TABLE program_lifecycles (
    program_id UUID PRIMARY KEY REFERENCES programs(id),
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    slug TEXT NOT NULL UNIQUE,
    lifecycle_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE enrollments ADD COLUMN status_reason TEXT;
ALTER TABLE enrollments ADD COLUMN status_changed_at BIGINT;

CREATE TABLE applications (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    partner_group TEXT,
    applicant_json TEXT NOT NULL,
    score BIGINT,
    score_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by TEXT,
    reason TEXT,
    partner_id UUID REFERENCES partners(id),
    ip_hash TEXT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX applications_queue ON applications(program_id, status, created_at);
CREATE INDEX applications_email ON applications(program_id, email, created_at);

CREATE TABLE invitations (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    email TEXT NOT NULL,
    name TEXT,
    partner_group TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('sent', 'accepted', 'revoked')),
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    partner_id UUID REFERENCES partners(id),
    UNIQUE (program_id, email)
);

CREATE TABLE emails (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'held', 'failed')),
    attempts BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX emails_workspace ON emails(workspace_id, created_at);

CREATE TABLE partner_tokens (
    token_hash TEXT PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE terms_versions (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    version BIGINT NOT NULL,
    body_markdown TEXT NOT NULL,
    payout_schedule TEXT NOT NULL,
    termination_policy TEXT NOT NULL CHECK (termination_policy IN ('keep', 'forfeit')),
    grace_days BIGINT NOT NULL,
    published_by TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    UNIQUE (program_id, version)
);

CREATE TABLE terms_acceptances (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    terms_version_id UUID NOT NULL REFERENCES terms_versions(id),
    version BIGINT NOT NULL,
    accepted_at BIGINT NOT NULL,
    ip_hash TEXT,
    PRIMARY KEY (program_id, partner_id, version)
);
