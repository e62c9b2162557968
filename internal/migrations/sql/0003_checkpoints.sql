-- How far each consumer of the event store has got: the Kafka relay and,
-- in embedded mode, each projection. Saved with the work it covers when the
-- work is in the same database; otherwise after it (at least once).
CREATE TABLE checkpoints (
    name        text PRIMARY KEY,
    tx_id       xid8        NOT NULL,
    position    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
