-- What one contact costs the PostgreSQL read model, part by part.
--
-- Inserts copies of 10,000 stored contacts into rm_contacts four times, each
-- in a transaction that is rolled back (nothing is left behind):
--   1. as the projector does (every index, the rm_contact_values trigger);
--   2. without the trigger that keeps rm_contact_values exact;
--   3. without it and without the trigram GIN index;
--   4. without it and without any index but the primary key;
--   5. as in 1, with a 4 MB pending list on the trigram GIN indexes (256 kB
--      in the schema: a search reads the whole pending list).
-- The differences are the price of each part. Run it against a seeded data
-- directory (contacts seed --contacts 1000000), the service stopped:
--
--   runuser -u postgres -- pg_ctl -D "$CONTACTS_DATA_DIR/pg" -o "-p 5498 -k /tmp" -l /tmp/pg.log -w start
--   runuser -u postgres -- psql -h /tmp -p 5498 -d contacts -f bench/readmodel_insert_cost.sql
--   runuser -u postgres -- pg_ctl -D "$CONTACTS_DATA_DIR/pg" -w stop
--
-- The copies get uuids that sort after every UUIDv7 (as new contacts do).
\timing on
CREATE TEMP TABLE cost_src AS
    SELECT account_id, version, position, doc, created_at, updated_at FROM rm_contacts ORDER BY uuid LIMIT 10000;
CREATE TEMP VIEW cost_rows AS
    SELECT ('ffffffff-ffff-7fff-8fff-' || lpad(to_hex(row_number() OVER ()), 12, '0'))::uuid AS uuid,
        account_id, version, position, doc, created_at, updated_at FROM cost_src;

\echo 1. every index and the values trigger
BEGIN;
INSERT INTO rm_contacts (uuid, account_id, version, position, doc, created_at, updated_at) SELECT * FROM cost_rows;
ROLLBACK;

\echo 2. without the values trigger
BEGIN;
ALTER TABLE rm_contacts DISABLE TRIGGER rm_contact_values_ins;
INSERT INTO rm_contacts (uuid, account_id, version, position, doc, created_at, updated_at) SELECT * FROM cost_rows;
ROLLBACK;

\echo 3. without the values trigger and the trigram GIN index
BEGIN;
ALTER TABLE rm_contacts DISABLE TRIGGER rm_contact_values_ins;
DROP INDEX rm_contacts_trgm_idx;
INSERT INTO rm_contacts (uuid, account_id, version, position, doc, created_at, updated_at) SELECT * FROM cost_rows;
ROLLBACK;

\echo 4. without the values trigger and every index but the primary key
BEGIN;
ALTER TABLE rm_contacts DISABLE TRIGGER rm_contact_values_ins;
DO $$
DECLARE ix regclass;
BEGIN
    FOR ix IN SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'rm_contacts'::regclass AND NOT indisprimary LOOP
        EXECUTE format('DROP INDEX %s', ix);
    END LOOP;
END
$$;
INSERT INTO rm_contacts (uuid, account_id, version, position, doc, created_at, updated_at) SELECT * FROM cost_rows;
ROLLBACK;

\echo 5. as 1, with 4 MB GIN pending lists
BEGIN;
ALTER INDEX rm_contacts_trgm_idx SET (gin_pending_list_limit = 4096);
ALTER INDEX rm_contact_values_trgm_idx SET (gin_pending_list_limit = 4096);
INSERT INTO rm_contacts (uuid, account_id, version, position, doc, created_at, updated_at) SELECT * FROM cost_rows;
ROLLBACK;
