-- Event-log batches already applied (tier 2): a worker records a click batch's name (its
-- first click id and count, unique because click ids are) in the same transaction as its
-- rows, so a redelivered batch is skipped, also after the stream was recreated.
CREATE TABLE log_applied (
    stream TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (stream, batch_id)
);
