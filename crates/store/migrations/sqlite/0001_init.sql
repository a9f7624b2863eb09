-- Tributary schema, SQLite. Times are integer milliseconds since the Unix epoch, ids are
-- UUID text, money is integer minor units beside an ISO-4217 code.

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'finance', 'viewer')),
    created_at INTEGER NOT NULL
);

CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    archetype TEXT NOT NULL,
    payout_email TEXT,
    password_hash TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, email)
);
CREATE INDEX partners_email ON partners(email);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    user_id TEXT REFERENCES users(id),
    partner_id TEXT REFERENCES partners(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (partner_id IS NULL))
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    partner_id TEXT REFERENCES partners(id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE programs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    destination_url TEXT NOT NULL,
    currency TEXT NOT NULL,
    window_days INTEGER NOT NULL,
    hold_days INTEGER NOT NULL,
    min_payout_minor INTEGER NOT NULL,
    plan_version_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE plan_versions (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    version INTEGER NOT NULL,
    plan_json TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (program_id, version)
);

CREATE TABLE enrollments (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (program_id, partner_id)
);
CREATE INDEX enrollments_partner ON enrollments(partner_id);

CREATE TABLE links (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    code TEXT NOT NULL UNIQUE,
    destination_url TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX links_partner ON links(workspace_id, partner_id);

-- The raw click log: append-only, written in batches, no secondary indexes (DESIGN.md §8).
CREATE TABLE clicks (
    id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    link_id TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    ip_hash TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    referrer TEXT,
    is_bot INTEGER NOT NULL
);

-- Per-link daily aggregates, maintained in the same batch as the raw clicks.
CREATE TABLE link_daily (
    link_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    clicks INTEGER NOT NULL,
    bot_clicks INTEGER NOT NULL,
    PRIMARY KEY (link_id, day)
) WITHOUT ROWID;

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    external_id TEXT NOT NULL,
    partner_id TEXT,
    program_id TEXT,
    link_id TEXT,
    click_id TEXT,
    touched_at INTEGER,
    bound_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX customers_partner ON customers(partner_id);

CREATE TABLE touches (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    click_id TEXT NOT NULL,
    link_id TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    program_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    is_bot INTEGER NOT NULL,
    PRIMARY KEY (customer_id, click_id)
);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    customer_external_id TEXT NOT NULL,
    click_id TEXT,
    amount_minor INTEGER,
    currency TEXT,
    occurred_at INTEGER NOT NULL,
    invoice_id TEXT,
    milestone TEXT,
    metadata_json TEXT,
    partner_id TEXT,
    link_id TEXT,
    response_json TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (workspace_id, idempotency_key)
);
CREATE INDEX events_customer ON events(customer_id);
CREATE INDEX events_link ON events(link_id) WHERE link_id IS NOT NULL;
CREATE INDEX events_workspace_received ON events(workspace_id, received_at);

CREATE TABLE commissions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    source_event_id TEXT NOT NULL REFERENCES events(id),
    caused_by_event_id TEXT NOT NULL REFERENCES events(id),
    rule_id TEXT NOT NULL,
    plan_version_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('earning', 'clawback')),
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'in_payout', 'paid', 'reversed')),
    hold_until INTEGER NOT NULL,
    payout_batch_id TEXT,
    explanation_json TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX commissions_customer ON commissions(customer_id);
CREATE INDEX commissions_partner ON commissions(workspace_id, partner_id, created_at);
CREATE INDEX commissions_state ON commissions(workspace_id, state, created_at);
CREATE INDEX commissions_batch ON commissions(payout_batch_id) WHERE payout_batch_id IS NOT NULL;

CREATE TABLE ledger_transactions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, idempotency_key)
);

CREATE TABLE ledger_lines (
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions(id),
    workspace_id TEXT NOT NULL,
    account_kind TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0)
);
CREATE INDEX ledger_lines_partner ON ledger_lines(workspace_id, partner_id);
CREATE INDEX ledger_lines_transaction ON ledger_lines(transaction_id);

-- The ledger is append-only: no line or transaction is ever updated or deleted.
CREATE TRIGGER ledger_lines_no_update BEFORE UPDATE ON ledger_lines
BEGIN SELECT RAISE(ABORT, 'ledger lines are append-only'); END;
CREATE TRIGGER ledger_lines_no_delete BEFORE DELETE ON ledger_lines
BEGIN SELECT RAISE(ABORT, 'ledger lines are append-only'); END;
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;

CREATE TABLE payout_batches (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    currency TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    item_count INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('created', 'paid')),
    reference TEXT,
    created_at INTEGER NOT NULL,
    paid_at INTEGER
);
CREATE INDEX payout_batches_workspace ON payout_batches(workspace_id, created_at);

CREATE TABLE payout_items (
    batch_id TEXT NOT NULL REFERENCES payout_batches(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    recipient TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (batch_id, partner_id)
);

-- The outbox: side effects written in the same transaction as their cause.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at) WHERE done_at IS NULL;

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
