-- Event-log messages already applied (tier 2): a worker records a click batch's stream
-- sequence in the same transaction as its rows, so a redelivered batch is skipped.
CREATE TABLE log_applied (
    stream TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (stream, sequence)
);
