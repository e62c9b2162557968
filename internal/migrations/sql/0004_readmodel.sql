-- The PostgreSQL read model (the embedded default). Each table stores the
-- projection's document as jsonb; the columns the read API filters, sorts and
-- aggregates on are generated from it, so one write path keeps them in step.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A jsonb array of strings as text[] (empty for anything else). Used only
-- where rows are few (group member lists): hot tables avoid SQL functions
-- in generated columns, as each call costs ~10 us a row (they cannot be
-- inlined).
CREATE FUNCTION rm_text_array(j jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(x), '{}') FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(j) = 'array' THEN j ELSE '[]'::jsonb END) AS x
$$;

-- List fields (labels, departments, industries, ...) are kept as their JSON
-- text, lower-cased: '["cloud", "saas"]'. Built-in functions only, so cheap to
-- generate; one trigram index serves both a partial match (LIKE '%clo%') and
-- an exact element (LIKE '%"cloud"%'). Timestamps are plain columns the upsert
-- writes: text::timestamptz is not immutable, so it cannot be generated cheaply.

-- The company as denormalised into its contacts: the profile and the id.
CREATE FUNCTION rm_company_ref(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT doc - ARRAY['account_id', 'created_by', 'deleted', 'deleted_at', 'created_at', 'updated_at', 'version', 'position']
$$;

CREATE TABLE rm_companies (
    id          uuid PRIMARY KEY,
    account_id  uuid   NOT NULL,
    version     bigint NOT NULL,
    position    bigint NOT NULL,
    doc         jsonb  NOT NULL,
    name         text    GENERATED ALWAYS AS (doc ->> 'name') STORED,
    deleted      boolean GENERATED ALWAYS AS (coalesce((doc ->> 'deleted')::boolean, false)) STORED,
    industries   text    GENERATED ALWAYS AS (lower((doc -> 'industries')::text)) STORED,
    keywords     text    GENERATED ALWAYS AS (lower((doc -> 'keywords')::text)) STORED,
    technologies text    GENERATED ALWAYS AS (lower((doc -> 'technologies')::text)) STORED,
    employees    bigint  GENERATED ALWAYS AS ((doc ->> 'employees')::bigint) STORED,
    annual_revenue double precision GENERATED ALWAYS AS ((doc ->> 'annual_revenue')::double precision) STORED,
    city         text    GENERATED ALWAYS AS (doc ->> 'city') STORED,
    state        text    GENERATED ALWAYS AS (doc ->> 'state') STORED,
    country      text    GENERATED ALWAYS AS (doc ->> 'country') STORED,
    text_search  text    GENERATED ALWAYS AS (doc ->> 'text_search') STORED,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX rm_companies_account_name_idx ON rm_companies (account_id, lower(name), id);

CREATE TABLE rm_groups (
    id          uuid PRIMARY KEY,
    account_id  uuid   NOT NULL,
    version     bigint NOT NULL,
    position    bigint NOT NULL,
    doc         jsonb  NOT NULL,
    name        text    GENERATED ALWAYS AS (doc ->> 'name') STORED,
    deleted     boolean GENERATED ALWAYS AS (coalesce((doc ->> 'deleted')::boolean, false)) STORED,
    member_ids  uuid[]  GENERATED ALWAYS AS (rm_text_array(doc -> 'contact_ids')::uuid[]) STORED,
    member_count int    GENERATED ALWAYS AS (coalesce((doc ->> 'member_count')::int, 0)) STORED,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX rm_groups_account_name_idx ON rm_groups (account_id, lower(name), id);
CREATE INDEX rm_groups_members_idx ON rm_groups USING gin (member_ids);

CREATE TABLE rm_labels (
    id          uuid PRIMARY KEY,
    account_id  uuid   NOT NULL,
    version     bigint NOT NULL,
    position    bigint NOT NULL,
    doc         jsonb  NOT NULL,
    title       text    GENERATED ALWAYS AS (doc ->> 'title') STORED,
    deleted     boolean GENERATED ALWAYS AS (coalesce((doc ->> 'deleted')::boolean, false)) STORED,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX rm_labels_account_title_idx ON rm_labels (account_id, lower(title), id);

CREATE TABLE rm_contacts (
    uuid        uuid PRIMARY KEY,
    account_id  uuid   NOT NULL,
    version     bigint NOT NULL,
    position    bigint NOT NULL,
    doc         jsonb  NOT NULL,
    company_id  uuid    GENERATED ALWAYS AS (NULLIF(doc ->> 'company_id', '')::uuid) STORED,
    first_name  text    GENERATED ALWAYS AS (doc ->> 'first_name') STORED,
    last_name   text    GENERATED ALWAYS AS (doc ->> 'last_name') STORED,
    name        text    GENERATED ALWAYS AS (doc ->> 'name') STORED,
    title       text    GENERATED ALWAYS AS (doc ->> 'title') STORED,
    seniority   text    GENERATED ALWAYS AS (doc ->> 'seniority') STORED,
    departments text    GENERATED ALWAYS AS (lower((doc -> 'departments')::text)) STORED,
    email       text    GENERATED ALWAYS AS (doc ->> 'email') STORED,
    email_status text   GENERATED ALWAYS AS (doc ->> 'email_status') STORED,
    phone       text    GENERATED ALWAYS AS (doc ->> 'phone') STORED,
    identifier  text    GENERATED ALWAYS AS (doc ->> 'identifier') STORED,
    city        text    GENERATED ALWAYS AS (doc ->> 'city') STORED,
    state       text    GENERATED ALWAYS AS (doc ->> 'state') STORED,
    country     text    GENERATED ALWAYS AS (doc ->> 'country') STORED,
    text_search text    GENERATED ALWAYS AS (doc ->> 'text_search') STORED,
    labels      text    GENERATED ALWAYS AS (lower((doc -> 'labels')::text)) STORED,
    group_ids   jsonb   GENERATED ALWAYS AS (jsonb_path_query_array(doc -> 'groups', '$[*].id')) STORED,
    group_names text    GENERATED ALWAYS AS (lower(jsonb_path_query_array(doc -> 'groups', '$[*].name')::text)) STORED,
    assigned_to jsonb   GENERATED ALWAYS AS (doc -> 'assigned_to') STORED,
    company_name         text   GENERATED ALWAYS AS (doc -> 'company' ->> 'name') STORED,
    company_industries   text   GENERATED ALWAYS AS (lower((doc -> 'company' -> 'industries')::text)) STORED,
    company_keywords     text   GENERATED ALWAYS AS (lower((doc -> 'company' -> 'keywords')::text)) STORED,
    company_technologies text   GENERATED ALWAYS AS (lower((doc -> 'company' -> 'technologies')::text)) STORED,
    company_employees    bigint GENERATED ALWAYS AS ((doc -> 'company' ->> 'employees')::bigint) STORED,
    company_annual_revenue double precision GENERATED ALWAYS AS ((doc -> 'company' ->> 'annual_revenue')::double precision) STORED,
    company_city         text   GENERATED ALWAYS AS (doc -> 'company' ->> 'city') STORED,
    company_state        text   GENERATED ALWAYS AS (doc -> 'company' ->> 'state') STORED,
    company_country      text   GENERATED ALWAYS AS (doc -> 'company' ->> 'country') STORED,
    company_text_search  text   GENERATED ALWAYS AS (doc -> 'company' ->> 'text_search') STORED,
    active      boolean GENERATED ALWAYS AS (coalesce((doc ->> 'active')::boolean, true)) STORED,
    -- Deleted or merged: hidden from queries by default, kept for restore.
    hidden      boolean GENERATED ALWAYS AS (coalesce((doc ->> 'deleted')::boolean, false) OR coalesce(doc ->> 'merged_into', '') <> '') STORED,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- Keyset pagination in the default orders, per account.
CREATE INDEX rm_contacts_created_idx ON rm_contacts (account_id, created_at, uuid);
CREATE INDEX rm_contacts_updated_idx ON rm_contacts (account_id, updated_at, uuid);
-- Company refreshes find a company's contacts.
CREATE INDEX rm_contacts_company_idx ON rm_contacts (company_id);
-- Case-insensitive substring filters and search (pg_trgm), list fields included.
CREATE INDEX rm_contacts_trgm_idx ON rm_contacts USING gin (
    lower(first_name) gin_trgm_ops, lower(last_name) gin_trgm_ops, lower(title) gin_trgm_ops,
    lower(email) gin_trgm_ops, lower(company_name) gin_trgm_ops, lower(city) gin_trgm_ops,
    labels gin_trgm_ops, departments gin_trgm_ops, company_industries gin_trgm_ops,
    company_keywords gin_trgm_ops, company_technologies gin_trgm_ops) WITH (gin_pending_list_limit = 256);
