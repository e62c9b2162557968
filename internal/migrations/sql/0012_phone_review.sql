-- Stored phone numbers that were probably misread (issue #13): before the
-- default phone region, digits typed without "+" were taken as already
-- carrying a country code, so "(415) 555-0123" was stored as +4155550123.
-- A scan flags such numbers here for an administrator to review; the
-- contacts themselves are never rewritten by it.
CREATE TABLE phone_reviews (
    account_id uuid NOT NULL,
    entity     text NOT NULL CHECK (entity IN ('contact', 'company')),
    entity_id  uuid NOT NULL,
    field      text NOT NULL,                 -- phone, mobile_phone
    stored     text NOT NULL,                 -- the number as stored
    suggested  text NOT NULL DEFAULT '',      -- its national reading in region ('' when none)
    reason     text NOT NULL,                 -- national_number_read_as_international | invalid
    PRIMARY KEY (account_id, entity, entity_id, field)
);

-- The last scan of each account: when, in which region, what it found.
CREATE TABLE phone_review_scans (
    account_id uuid PRIMARY KEY,
    region     text        NOT NULL DEFAULT '',
    checked    bigint      NOT NULL,
    flagged    bigint      NOT NULL,
    scanned_at timestamptz NOT NULL
);
