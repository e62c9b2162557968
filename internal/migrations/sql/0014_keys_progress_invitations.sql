-- Idempotency-Key reservations end with their request. A request reserves its
-- key before it runs (owner = a token of that request) under a lease that it
-- extends while it runs; on success it stores its whole answer (status,
-- headers, body), on failure it gives the key up. A process that dies holding
-- a key stops extending the lease, so the key is free again once locked_until
-- has passed: no key stays "in progress" for ever.
ALTER TABLE idempotency_keys
    ADD COLUMN owner            uuid,
    ADD COLUMN locked_until     timestamptz,
    ADD COLUMN appended_at      timestamptz, -- when the request's events committed (diagnostics)
    ADD COLUMN response_headers jsonb;

-- GET /api/v1/projections shows a tenant how far the projections have got
-- through its own events: the account's newest event and its events after a
-- checkpoint, read from this index (not from the whole store).
CREATE INDEX events_account_position_idx ON events (account_id, position);

-- Invitations name the invited address, role and name: nobody becomes a
-- member, and no user is created, before the invitation is accepted, whether
-- the address has an account or not (the invitation's answer is the same for
-- both). user_id is set only on invitations made before this migration.
ALTER TABLE invitations
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN email text,
    ADD COLUMN role  text,
    ADD COLUMN name  text;
