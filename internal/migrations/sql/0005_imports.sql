-- CSV import jobs. The job itself is an event-sourced aggregate (stream type
-- import_job); these tables are what the worker needs besides it.

-- The jobs a worker must still finish. A row is written before the job's
-- first event and closed after its last, so a worker that restarts finds
-- every unfinished job here (a row whose stream never got its first event
-- is an upload that failed half-way: the worker drops it).
CREATE TABLE import_jobs (
    job_id      uuid        PRIMARY KEY,
    account_id  uuid        NOT NULL,
    upload_path text        NOT NULL,
    open        boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_jobs_open_idx ON import_jobs (created_at) WHERE open;

-- The rows a job could not import. A batch's rows are replaced (delete, then
-- insert) just before the batch's events commit, so a batch retried after a
-- crash or a conflict leaves exactly its final errors.
CREATE TABLE import_errors (
    account_id    uuid   NOT NULL,
    job_id        uuid   NOT NULL,
    row_number    bigint NOT NULL,
    error_message text   NOT NULL,
    row_data      jsonb  NOT NULL, -- header → cell
    row_values    text[] NOT NULL, -- the cells, in file order (the error CSV)
    PRIMARY KEY (job_id, row_number)
);
