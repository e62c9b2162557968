-- Access control: sessions (refresh-token families), API keys, invitations,
-- profile fields, and an audit log of account administration.

ALTER TABLE users ADD COLUMN display_name text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE accounts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- A session is one sign-in: every refresh token it rotates through and every
-- access token issued from them carry its id. Signing out, or a refresh token
-- presented twice (reuse: it was stolen), revokes the whole session.
CREATE TABLE auth_sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id) WHERE revoked_at IS NULL;

-- Existing refresh tokens become one session each; a token revoked by
-- rotation under the old scheme counts as used.
ALTER TABLE refresh_tokens ADD COLUMN session_id uuid REFERENCES auth_sessions (id) ON DELETE CASCADE;
ALTER TABLE refresh_tokens ADD COLUMN used_at timestamptz;
INSERT INTO auth_sessions (id, user_id, created_at) SELECT id, user_id, created_at FROM refresh_tokens;
UPDATE refresh_tokens SET session_id = id, used_at = revoked_at, revoked_at = NULL;
ALTER TABLE refresh_tokens ALTER COLUMN session_id SET NOT NULL;
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- API keys for integrations: only the SHA-256 of the key is stored (the key
-- is 256 random bits, shown once); prefix is what lists show.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    account_id   uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    key_hash     bytea       NOT NULL UNIQUE,
    scopes       text[]      NOT NULL,
    created_by   uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_account_idx ON api_keys (account_id, created_at);

-- Invitations of people who have no password yet: the token (hashed) lets
-- them choose one.
CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    account_id  uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL UNIQUE,
    invited_by  uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz
);

-- Who changed the account's members, keys and settings (contact changes are
-- audited by the event store's metadata).
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    actor      text        NOT NULL,
    actor_type text        NOT NULL,
    action     text        NOT NULL,
    target     text        NOT NULL DEFAULT '',
    details    jsonb       NOT NULL DEFAULT '{}',
    request_id text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, id);
