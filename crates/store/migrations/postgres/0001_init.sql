-- Tributary schema, PostgreSQL. The same tables as SQLite's: times are BIGINT milliseconds
-- since the Unix epoch, ids are UUID, money is BIGINT minor units beside an ISO-4217 code,
-- JSON is TEXT (kept byte for byte: an idempotent replay answers the stored bytes).
--
-- The high-volume tables (customers, events, commissions, ledger_transactions) carry
-- `workspace_id` without a foreign key: every insert would share-lock the one workspace row,
-- and writers running side by side would contend on that row's lock. Workspaces are never
-- deleted, and every insert copies the id from a row that has the foreign key.

CREATE TABLE workspaces (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'finance', 'viewer')),
    created_at BIGINT NOT NULL
);

CREATE TABLE partners (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    archetype TEXT NOT NULL,
    payout_email TEXT,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, email)
);
CREATE INDEX partners_email ON partners(email);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    user_id UUID REFERENCES users(id),
    partner_id UUID REFERENCES partners(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (partner_id IS NULL))
);

CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    partner_id UUID REFERENCES partners(id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE programs (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    destination_url TEXT NOT NULL,
    currency TEXT NOT NULL,
    window_days BIGINT NOT NULL,
    hold_days BIGINT NOT NULL,
    min_payout_minor BIGINT NOT NULL,
    plan_version_id UUID NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE plan_versions (
    id UUID PRIMARY KEY,
    program_id UUID NOT NULL REFERENCES programs(id),
    version BIGINT NOT NULL,
    plan_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (program_id, version)
);

CREATE TABLE enrollments (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (program_id, partner_id)
);
CREATE INDEX enrollments_partner ON enrollments(partner_id);

CREATE TABLE links (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    code TEXT NOT NULL UNIQUE,
    destination_url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX links_partner ON links(workspace_id, partner_id);

-- The raw click log: append-only, written in batches, no secondary indexes (DESIGN.md §8),
-- partitioned by month of `at` (milliseconds). The click writer creates each month's
-- partition before the first batch that needs it (`clicks_YYYY_MM`); dropping an old month
-- is dropping its partition.
CREATE TABLE clicks (
    id TEXT NOT NULL,
    workspace_id UUID NOT NULL,
    link_id UUID NOT NULL,
    partner_id UUID NOT NULL,
    at BIGINT NOT NULL,
    ip_hash TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    referrer TEXT,
    is_bot BOOLEAN NOT NULL
) PARTITION BY RANGE (at);

-- Per-link daily aggregates, maintained in the same batch as the raw clicks.
CREATE TABLE link_daily (
    link_id UUID NOT NULL,
    day BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    bot_clicks BIGINT NOT NULL,
    PRIMARY KEY (link_id, day)
);

CREATE TABLE customers (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL, -- not a foreign key: see the header
    external_id TEXT NOT NULL,
    partner_id UUID,
    program_id UUID,
    link_id UUID,
    click_id TEXT,
    touched_at BIGINT,
    bound_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX customers_partner ON customers(partner_id);

CREATE TABLE touches (
    customer_id UUID NOT NULL REFERENCES customers(id),
    click_id TEXT NOT NULL,
    link_id UUID NOT NULL,
    partner_id UUID NOT NULL,
    program_id UUID NOT NULL,
    at BIGINT NOT NULL,
    is_bot BOOLEAN NOT NULL,
    PRIMARY KEY (customer_id, click_id)
);

CREATE TABLE events (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL, -- not a foreign key: see the header
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    customer_id UUID NOT NULL REFERENCES customers(id),
    customer_external_id TEXT NOT NULL,
    click_id TEXT,
    amount_minor BIGINT,
    currency TEXT,
    occurred_at BIGINT NOT NULL,
    invoice_id TEXT,
    milestone TEXT,
    metadata_json TEXT,
    partner_id UUID,
    link_id UUID,
    response_json TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (workspace_id, idempotency_key)
);
CREATE INDEX events_customer ON events(customer_id);
CREATE INDEX events_link ON events(link_id) WHERE link_id IS NOT NULL;
CREATE INDEX events_workspace_received ON events(workspace_id, received_at);

CREATE TABLE commissions (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL, -- not a foreign key: see the header
    program_id UUID NOT NULL REFERENCES programs(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    customer_id UUID NOT NULL REFERENCES customers(id),
    source_event_id UUID NOT NULL REFERENCES events(id),
    caused_by_event_id UUID NOT NULL REFERENCES events(id),
    rule_id TEXT NOT NULL,
    plan_version_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('earning', 'clawback')),
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'in_payout', 'paid', 'reversed')),
    hold_until BIGINT NOT NULL,
    payout_batch_id UUID,
    explanation_json TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX commissions_customer ON commissions(customer_id);
CREATE INDEX commissions_partner ON commissions(workspace_id, partner_id, created_at);
CREATE INDEX commissions_state ON commissions(workspace_id, state, created_at);
CREATE INDEX commissions_batch ON commissions(payout_batch_id) WHERE payout_batch_id IS NOT NULL;

CREATE TABLE ledger_transactions (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL, -- not a foreign key: see the header
    kind TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, idempotency_key)
);

CREATE TABLE ledger_lines (
    transaction_id UUID NOT NULL REFERENCES ledger_transactions(id),
    workspace_id UUID NOT NULL,
    account_kind TEXT NOT NULL,
    partner_id UUID NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0)
);
CREATE INDEX ledger_lines_partner ON ledger_lines(workspace_id, partner_id);
CREATE INDEX ledger_lines_transaction ON ledger_lines(transaction_id);

-- The ledger is append-only: no line or transaction is ever updated or deleted.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger % are append-only', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TABLE payout_batches (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    program_id UUID NOT NULL REFERENCES programs(id),
    currency TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    item_count BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('created', 'paid')),
    reference TEXT,
    created_at BIGINT NOT NULL,
    paid_at BIGINT
);
CREATE INDEX payout_batches_workspace ON payout_batches(workspace_id, created_at);

CREATE TABLE payout_items (
    batch_id UUID NOT NULL REFERENCES payout_batches(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    recipient TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (batch_id, partner_id)
);

-- The outbox: side effects written in the same transaction as their cause.
CREATE TABLE jobs (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    kind TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at) WHERE done_at IS NULL;

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
