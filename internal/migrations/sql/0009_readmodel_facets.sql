-- Facet filters at scale: counts and filtered lists over the low-cardinality
-- contact fields (country, seniority, title, places, company size).
--
-- A substring filter such as country contains "united" cannot use a b-tree,
-- and a trigram bitmap of it still visits every matching row's heap page: a
-- count by country and seniority over a million contacts read ~38,000 pages
-- (PostgreSQL 15 has no heap-free bitmap count). The read API therefore
-- turns such a filter into the exact set of stored values it matches,
-- looked up in rm_contact_values ("united" -> {United States, United
-- Kingdom}), and this index answers equality on those sets from the index
-- alone: a count is an index-only scan of the matching key range, and a
-- filtered page reads only its matching rows. The planner also estimates
-- equality on known values far better than a pattern, so it picks between
-- walking an ordering's index and fetching the matches correctly.
--
-- Key order: the fields most often filtered with the fewest values first.
-- INCLUDE carries the other facet columns so that filters on them are also
-- checked in the index, and the default ordering (created_at, uuid) so that
-- a filtered page picks its 25 rows from the index and reads only those
-- (readapi's contactsSQL): a page of 1,700 candidates read 1,734 pages
-- before, 164 with it. Hidden (deleted, merged) contacts are left out, as
-- the value sets only count visible ones.
CREATE INDEX rm_contacts_facets_idx ON rm_contacts (account_id, country, seniority, title)
    INCLUDE (state, city, company_country, company_state, company_city, company_employees, company_annual_revenue,
        created_at, uuid)
    WHERE NOT hidden;

-- Without skip scans (PostgreSQL 15), the facet index serves a title only
-- after a seniority: "title in {...} and country = X" reads all of X's
-- entries (a third of the table for the largest country). Titles with a
-- country are the commonest prospecting question, so a narrow index keyed
-- by title answers it from the few matching entries (a count over a
-- million contacts: ~7,400 index pages read before, ~700 with it).
CREATE INDEX rm_contacts_title_facets_idx ON rm_contacts (account_id, title, country)
    INCLUDE (seniority, company_employees)
    WHERE NOT hidden;

-- The trigram index of the place and seniority fields is superseded by the
-- value sets and the index above, and each index on rm_contacts costs the
-- projector write latency.
DROP INDEX rm_contacts_trgm_place_idx;

-- Seniority joins the fields whose values rm_contact_values keeps (it has no
-- field action; its values serve the filter rewrite). A new signature, so
-- the functions that call it are redefined and the old one dropped.
CREATE FUNCTION rm_contact_value_pairs(
    hidden boolean, title text, seniority text, company_name text, company_text_search text, text_search text,
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
    SELECT 'seniority', seniority WHERE NOT hidden AND coalesce(seniority, '') <> ''
    UNION ALL
    SELECT t.field || '/sep', btrim(x) FROM t, unnest(string_to_array(t.value, ',')) x WHERE btrim(x) <> ''
    UNION ALL
    SELECT l.field, x FROM (VALUES ('industry', company -> 'industries'), ('keyword', company -> 'keywords'),
            ('technology', company -> 'technologies')) l(field, arr),
        jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.arr) = 'array' THEN l.arr ELSE '[]'::jsonb END) x
    WHERE NOT hidden AND x <> ''
$$;

CREATE OR REPLACE FUNCTION rm_contact_values_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rm_contact_values AS v (account_id, field, value, contacts)
        SELECT r.account_id, p.field, p.value, count(*) FROM rm_new r,
            rm_contact_value_pairs(r.hidden, r.title, r.seniority, r.company_name, r.company_text_search, r.text_search,
                r.city, r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> 'company') p
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, field, value) DO UPDATE SET contacts = v.contacts + excluded.contacts;
    ELSE -- UPDATE
        INSERT INTO rm_contact_values AS v (account_id, field, value, contacts)
        SELECT account_id, field, value, sum(d) FROM (
            SELECT r.account_id, p.field, p.value, 1 AS d FROM rm_new r,
                rm_contact_value_pairs(r.hidden, r.title, r.seniority, r.company_name, r.company_text_search, r.text_search,
                    r.city, r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> 'company') p
            UNION ALL
            SELECT r.account_id, p.field, p.value, -1 FROM rm_old r,
                rm_contact_value_pairs(r.hidden, r.title, r.seniority, r.company_name, r.company_text_search, r.text_search,
                    r.city, r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> 'company') p
        ) x
        GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, field, value) DO UPDATE SET contacts = v.contacts + excluded.contacts;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION rm_contact_values_apply_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rm_contact_values AS v (account_id, field, value, contacts)
    SELECT r.account_id, p.field, p.value, -count(*) FROM rm_old r,
        rm_contact_value_pairs(r.hidden, r.title, r.seniority, r.company_name, r.company_text_search, r.text_search,
            r.city, r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> 'company') p
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (account_id, field, value) DO UPDATE SET contacts = v.contacts + excluded.contacts;
    RETURN NULL;
END
$$;

-- The fill now writes the values in index order, so that one field's values
-- of one account lie together: a search among 50,000 company names read
-- ~3,300 scattered pages of a filled table, and reads ~60 of this one.
CREATE OR REPLACE FUNCTION rm_contact_values_fill(contacts regclass, target regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %s (account_id, field, value, contacts)
        SELECT r.account_id, p.field, p.value, count(*) FROM %s r,
            rm_contact_value_pairs(r.hidden, r.title, r.seniority, r.company_name, r.company_text_search, r.text_search,
                r.city, r.state, r.country, r.company_city, r.company_state, r.company_country, r.doc -> ''company'') p
        GROUP BY 1, 2, 3 ORDER BY 1, 2, lower(p.value)', target, contacts);
END
$$;

DROP FUNCTION rm_contact_value_pairs(boolean, text, text, text, text, text, text, text, text, text, text, jsonb);

-- Recount (adds the seniority values, and lays the table out in order).
TRUNCATE rm_contact_values;
SELECT rm_contact_values_fill('rm_contacts', 'rm_contact_values');
ANALYZE rm_contact_values;

-- The name orderings' indexes (0008) carry the facet key columns too, so
-- that a filtered page in name order walks the index and checks its filters
-- there, reading the table only for the rows it keeps: for a rare
-- combination (one country, one title, a company size) that walked 13,000
-- table rows for a page, it now reads ~350 index pages. The ordering's
-- column itself is included because PostgreSQL 15 answers from an index
-- alone only queries whose columns it holds, not just their expressions.
DROP INDEX rm_contacts_last_name_order_idx;
CREATE INDEX rm_contacts_last_name_order_idx ON rm_contacts (account_id, coalesce(lower(last_name), ''), uuid)
    INCLUDE (last_name, country, seniority, title, company_employees, hidden);
DROP INDEX rm_contacts_name_order_idx;
CREATE INDEX rm_contacts_name_order_idx ON rm_contacts (account_id, coalesce(lower(name), ''), uuid)
    INCLUDE (name, country, seniority, title, company_employees, hidden);
