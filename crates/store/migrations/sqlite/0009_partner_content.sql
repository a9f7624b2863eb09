-- Issue 6, equipping partners: each partner's profile (what onboarding asks for: website,
-- country, logo, tax form status, and how they appear on the leaderboard), a program's
-- content (assets co-branded at download, message templates, training modules, resources
-- and announcements; files kept as base64 text), and which training each partner finished.

CREATE TABLE partner_profiles (
    partner_id TEXT PRIMARY KEY REFERENCES partners(id),
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    website TEXT,
    country TEXT,
    logo_content_type TEXT,
    logo_base64 TEXT,
    tax_form_status TEXT NOT NULL CHECK (tax_form_status IN ('none', 'submitted', 'verified')),
    display_name TEXT,
    show_on_leaderboard INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE program_content (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_group TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('asset', 'template', 'training', 'resource', 'announcement')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    persona TEXT,
    channel TEXT,
    file_name TEXT,
    content_type TEXT,
    file_base64 TEXT,
    downloads INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX program_content_program ON program_content(program_id, kind, created_at);

CREATE TABLE training_completions (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    content_id TEXT NOT NULL REFERENCES program_content(id),
    completed_at INTEGER NOT NULL,
    PRIMARY KEY (partner_id, content_id)
);
