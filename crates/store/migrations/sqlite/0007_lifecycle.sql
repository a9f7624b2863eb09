-- Issue 6, the partner lifecycle: each program's lifecycle document (application form,
-- groups, vetting, stage) and public slug; applications and their decisions; invitations;
-- the email outbox; one-time partner tokens (set a password); program terms and who
-- accepted which version; why an enrollment's status last changed.

CREATE TABLE program_lifecycles (
    program_id TEXT PRIMARY KEY REFERENCES programs(id),
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    slug TEXT NOT NULL UNIQUE,
    lifecycle_json TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE enrollments ADD COLUMN status_reason TEXT;
ALTER TABLE enrollments ADD COLUMN status_changed_at INTEGER;

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    partner_group TEXT,
    applicant_json TEXT NOT NULL,
    score INTEGER,
    score_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by TEXT,
    reason TEXT,
    partner_id TEXT REFERENCES partners(id),
    ip_hash TEXT,
    created_at INTEGER NOT NULL,
    decided_at INTEGER
);
CREATE INDEX applications_queue ON applications(program_id, status, created_at);
CREATE INDEX applications_email ON applications(program_id, email, created_at);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    email TEXT NOT NULL,
    name TEXT,
    partner_group TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('sent', 'accepted', 'revoked')),
    invited_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER,
    partner_id TEXT REFERENCES partners(id),
    UNIQUE (program_id, email)
);

CREATE TABLE emails (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'held', 'failed')),
    attempts INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX emails_workspace ON emails(workspace_id, created_at);

CREATE TABLE partner_tokens (
    token_hash TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    purpose TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

CREATE TABLE terms_versions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    version INTEGER NOT NULL,
    body_markdown TEXT NOT NULL,
    payout_schedule TEXT NOT NULL,
    termination_policy TEXT NOT NULL CHECK (termination_policy IN ('keep', 'forfeit')),
    grace_days INTEGER NOT NULL,
    published_by TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    UNIQUE (program_id, version)
);

CREATE TABLE terms_acceptances (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    terms_version_id TEXT NOT NULL REFERENCES terms_versions(id),
    version INTEGER NOT NULL,
    accepted_at INTEGER NOT NULL,
    ip_hash TEXT,
    PRIMARY KEY (program_id, partner_id, version)
);
