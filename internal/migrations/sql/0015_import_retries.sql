-- Bounded retries of import jobs: a job that keeps failing for an internal
-- reason (not a bad row, not a bad file) is retried with a growing delay and
-- failed after a few attempts, across restarts, instead of looping forever.
ALTER TABLE import_jobs
    ADD COLUMN attempts   integer     NOT NULL DEFAULT 0, -- consecutive failed runs
    ADD COLUMN retry_at   timestamptz,                    -- not before (NULL: now)
    ADD COLUMN last_error text;                           -- the last failure, for operators
