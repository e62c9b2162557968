-- The event store: the source of truth. Append-only.
CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- UUIDv7 made by the store. Not indexed: nothing reads by event id
    -- (consumers key on stream and version, resumes on position), and the
    -- index would cost a quarter of the append throughput.
    event_id        uuid        NOT NULL,
    account_id      uuid        NOT NULL,
    stream_type     text        NOT NULL,
    stream_id       uuid        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_type      text        NOT NULL,
    schema_version  int         NOT NULL DEFAULT 1,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The writing transaction's id. Tailers read in (transaction_id, position)
    -- order and only below the oldest running transaction, so an event that
    -- commits late is never skipped (the watermill-sql PostgreSQL technique).
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_tail_idx ON events (transaction_id, position);
-- No general (account_id, position) index: it costs a fifth of the append
-- throughput. Finding the streams that carry a label or a group membership
-- (label deletion, merge) reads only these event types.
CREATE INDEX events_membership_idx ON events (account_id, event_type)
    WHERE event_type IN ('contact.created', 'contact.labels_added', 'contact.absorbed', 'group.members_added');

-- Per-account uniqueness (phone, e-mail, identifier, group name, label title),
-- claimed and released in the same transaction as the events that change it.
CREATE TABLE unique_claims (
    account_id uuid NOT NULL,
    kind       text NOT NULL,
    value      text NOT NULL,
    stream_id  uuid NOT NULL,
    PRIMARY KEY (account_id, kind, value)
);
CREATE INDEX unique_claims_stream_idx ON unique_claims (stream_id);

-- Idempotency-Key: the key row is written in the append transaction, so a
-- retried request can never append twice; the response is stored after.
CREATE TABLE idempotency_keys (
    account_id      uuid        NOT NULL,
    key             text        NOT NULL,
    request_hash    text        NOT NULL,
    response_status int,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
