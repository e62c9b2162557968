-- Crypto-shredding (README "Erasing a person"): one AES-256-GCM data key per
-- contact seals the personal fields of its events. Erasing the contact
-- destroys the key (key = NULL, erased_at set) in the transaction that
-- appends contact.erased: every copy of the events (table, backups, Kafka
-- topic) becomes unreadable. The key is wrapped by CONTACTS_ENCRYPTION_KEY
-- when one is configured (60 bytes), else stored as is (32 bytes).
CREATE TABLE contact_keys (
    contact_id uuid        PRIMARY KEY,
    account_id uuid        NOT NULL,
    key        bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz,
    CHECK ((key IS NULL) = (erased_at IS NOT NULL))
);
