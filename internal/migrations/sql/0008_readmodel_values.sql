-- Field values at scale: the distinct values of the field actions (titles,
-- companies, cities, industries, ...) and planner statistics for the
-- contact filters.
--
-- Without this, "distinct titles containing 'eng'" groups every matching
-- contact: over a million contacts, seconds. rm_contact_values keeps, per
-- account and field, how many visible contacts carry each value, so the
-- same answer is a trigram lookup in a table of distinct values. Triggers on
-- rm_contacts keep it exact in the writer's own transaction (statement-level,
-- set-wise: one upsert per statement, not per row); a rebuild recomputes it
-- for the rebuilt table (projections/pgstore/rebuild.go). Field actions that
-- also filter contacts still read rm_contacts.

-- The (field, value) pairs one contact row contributes; nothing when hidden
-- (deleted or merged). Field names are the read API's (readapi.Field); a
-- "/sep" suffix marks the comma-separated parts of a text field, and list
-- fields (industries, keywords, technologies) give one pair per element.
-- Takes columns, not the row type: a rebuild swaps tables under one name.
CREATE FUNCTION rm_contact_value_pairs(
    hidden boolean, title text, company_name text, company_text_search text, text_search text,
    city text, state text, country text, company_city text, company_state text, company_country text,
    company jsonb)
RETURNS TABLE (field text, value text) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH t(field, value) AS (
        SELECT * FROM (VALUES ('title', title), ('company', company_name),
            ('company_address', company_text_search), ('contact_address', text_search),
            ('city', city), ('state', state), ('country', country), ('company_city', company_city),
            ('company_state', company_state), ('company_country', company_country)) v
        WHERE NOT hidden AND coalesce(v.column2, '') <> '')
    SELECT field, value FROM t
    UNION ALL
    SELECT t.field || '/sep', btrim(x) FROM t, unnest(string_to_array(t.value, ',')) x WHERE btrim(x) <> ''
    UNION ALL
    SELECT l.field, x FROM (VALUES ('industry', company -> 'industries'), ('keyword', company -> 'keywords'),
            ('technology', company -> 'technologies')) l(field, arr),
        jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.arr) = 'array' THEN l.arr ELSE '[]'::jsonb END) x
    WHERE NOT hidden AND x <> ''
$$;

CREATE TABLE rm_contact_values (
    account_id uuid   NOT NULL,
    field      text   NOT NULL,
    value      text   NOT NULL,
    contacts   bigint NOT NULL, -- visible contacts carrying the value; 0 rows are ignored
    CONSTRAINT rm_contact_values_pkey PRIMARY KEY (account_id, field, value)
);
-- Alphabetical pages without a sort, and substring search.
CREATE INDEX rm_contact_values_order_idx ON rm_contact_values (account_id, field, lower(value));
CREATE INDEX rm_contact_values_trgm_idx ON rm_contact_values USING gin (lower(value) gin_trgm_ops);

-- One statement's changes to rm_contacts, applied to rm_contact_values:
-- +1 for each pair of a new row version, -1 for each pair of an old one.
-- Rows are upserted in key order so that concurrent writers lock them in the
-- same order (no deadlock between two projector instances).
CREATE FUNCTION rm_contact_values_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rm_contact_values AS v (account_id, field, value, contacts)
        SELECT r.account_id, p.field, p.value, count(*) FROM rm_new r,
            rm_contact_value_pairs(r.hidden, r.title, r.company_name, r.company_text_search, r.text_search, r.city,
                r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> 'company') p
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, field, value) DO UPDATE SET contacts = v.contacts + excluded.contacts;
    ELSE -- UPDATE
        INSERT INTO rm_contact_values AS v (account_id, field, value, contacts)
        SELECT account_id, field, value, sum(d) FROM (
            SELECT r.account_id, p.field, p.value, 1 AS d FROM rm_new r,
                rm_contact_value_pairs(r.hidden, r.title, r.company_name, r.company_text_search, r.text_search, r.city,
                    r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> 'company') p
            UNION ALL
            SELECT r.account_id, p.field, p.value, -1 FROM rm_old r,
                rm_contact_value_pairs(r.hidden, r.title, r.company_name, r.company_text_search, r.text_search, r.city,
                    r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> 'company') p
        ) x
        GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, field, value) DO UPDATE SET contacts = v.contacts + excluded.contacts;
    END IF;
    RETURN NULL;
END
$$;

-- A delete trigger has no new table (a query naming rm_new would not plan),
-- so it gets its own function.
CREATE FUNCTION rm_contact_values_apply_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rm_contact_values AS v (account_id, field, value, contacts)
    SELECT r.account_id, p.field, p.value, -count(*) FROM rm_old r,
        rm_contact_value_pairs(r.hidden, r.title, r.company_name, r.company_text_search, r.text_search, r.city,
            r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> 'company') p
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (account_id, field, value) DO UPDATE SET contacts = v.contacts + excluded.contacts;
    RETURN NULL;
END
$$;

-- rm_contact_values_triggers creates the triggers on a contacts table (the
-- live one here; a rebuilt one before it is swapped in).
CREATE FUNCTION rm_contact_values_triggers(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER rm_contact_values_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS rm_new
        FOR EACH STATEMENT EXECUTE FUNCTION rm_contact_values_apply()', tbl);
    EXECUTE format('CREATE TRIGGER rm_contact_values_upd AFTER UPDATE ON %s REFERENCING OLD TABLE AS rm_old NEW TABLE AS rm_new
        FOR EACH STATEMENT EXECUTE FUNCTION rm_contact_values_apply()', tbl);
    EXECUTE format('CREATE TRIGGER rm_contact_values_del AFTER DELETE ON %s REFERENCING OLD TABLE AS rm_old
        FOR EACH STATEMENT EXECUTE FUNCTION rm_contact_values_apply_delete()', tbl);
END
$$;

-- rm_contact_values_fill counts the pairs of every row of a contacts table
-- into a values table (both by name).
CREATE FUNCTION rm_contact_values_fill(contacts regclass, target regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %s (account_id, field, value, contacts)
        SELECT r.account_id, p.field, p.value, count(*) FROM %s r,
            rm_contact_value_pairs(r.hidden, r.title, r.company_name, r.company_text_search, r.text_search, r.city,
                r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> ''company'') p
        GROUP BY 1, 2, 3', target, contacts);
END
$$;

SELECT rm_contact_values_fill('rm_contacts', 'rm_contact_values');
SELECT rm_contact_values_triggers('rm_contacts');

-- The planner's view of the substring filters. Without statistics on these
-- expressions it guesses a fixed, tiny selectivity for lower(col) LIKE '%x%'
-- and, for a list with filters and an ordering, picks a trigram bitmap scan
-- over hundreds of thousands of rows and a sort, where walking the ordering's
-- index and filtering stops after a page (measured: 17 s vs 0.1 s over a
-- million contacts). A rebuild copies these (INCLUDING STATISTICS).
-- One object per expression: several expressions in one object would also
-- build multivariate statistics over every combination, which ANALYZE pays
-- for and these filters do not need.
CREATE STATISTICS rm_contacts_title_stats ON lower(title) FROM rm_contacts;
CREATE STATISTICS rm_contacts_seniority_stats ON lower(seniority) FROM rm_contacts;
CREATE STATISTICS rm_contacts_company_name_stats ON lower(company_name) FROM rm_contacts;
CREATE STATISTICS rm_contacts_city_stats ON lower(city) FROM rm_contacts;
CREATE STATISTICS rm_contacts_state_stats ON lower(state) FROM rm_contacts;
CREATE STATISTICS rm_contacts_country_stats ON lower(country) FROM rm_contacts;
CREATE STATISTICS rm_contacts_first_name_stats ON lower(first_name) FROM rm_contacts;
CREATE STATISTICS rm_contacts_last_name_stats ON lower(last_name) FROM rm_contacts;
CREATE STATISTICS rm_contacts_email_stats ON lower(email) FROM rm_contacts;
ANALYZE rm_contacts;

-- Keep the contact document out of the row. A contact's row is ~1.8 kB, of
-- which ~1.3 kB is the jsonb document that only result rows need; every
-- filter reads the generated columns. Below the default threshold (2 kB)
-- PostgreSQL keeps the document inline, so a filter that walks an index or
-- the table reads 3-4x more pages than it uses. With a 1 kB target the
-- document is compressed and, if the row is still larger, moved to the
-- TOAST table; the filter columns stay in a ~0.5 kB row. Applies to rows
-- written from now on (a rebuild rewrites them all and keeps the setting).
ALTER TABLE rm_contacts SET (toast_tuple_target = 1024);

-- Keyset pages in the name orderings (readapi's orderings: the same
-- expressions, uuid as the tiebreak), so that a filtered page walks the
-- ordering's index and stops after a page instead of sorting every match
-- (list by last name, 3 filters, a million contacts: seconds without it).
-- Other orderings sort the matching rows: an index for each was measured to
-- double the write-to-read latency of the projector (7 such indexes: p50
-- 14 ms -> 55 ms, p99 ~130 ms -> ~200 ms in projections' Visibility).
CREATE INDEX rm_contacts_last_name_order_idx ON rm_contacts (account_id, coalesce(lower(last_name), ''), uuid);
CREATE INDEX rm_contacts_name_order_idx ON rm_contacts (account_id, coalesce(lower(name), ''), uuid);

-- Substring filters on the low-cardinality place and seniority fields had no
-- index: a count by country and seniority read every row. Trigram bitmaps of
-- two such filters AND together to the few pages that hold both.
CREATE INDEX rm_contacts_trgm_place_idx ON rm_contacts USING gin (
    lower(country) gin_trgm_ops, lower(state) gin_trgm_ops, lower(seniority) gin_trgm_ops,
    lower(company_city) gin_trgm_ops, lower(company_state) gin_trgm_ops, lower(company_country) gin_trgm_ops)
    WITH (gin_pending_list_limit = 256);
