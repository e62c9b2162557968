// Package pgstore is the PostgreSQL read model, the embedded default: each
// read model is a table holding the projection's documents as jsonb, with the
// filter and sort columns generated from them (migration 0004).
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/domain"
	"contacts/projections"
)

// Store is the PostgreSQL read model.
type Store struct {
	pool   *pgxpool.Pool
	tables tables
}

// tables names the table of each read model: the live ones, or a rebuild's
// new table for the read model being rebuilt.
type tables struct {
	contacts, companies, groups, labels string
}

var live = tables{contacts: "rm_contacts", companies: "rm_companies", groups: "rm_groups", labels: "rm_labels"}

var _ projections.ReadModel = (*Store)(nil)

// New returns the read model over pool (schema from internal/migrations).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, tables: live} }

// row is one document to write.
type row struct {
	id, account          string
	version              int64
	position             int64
	doc                  []byte
	createdAt, updatedAt time.Time
}

// upsertSQL writes rows only where they are newer than what is stored
// (the conditional upsert that makes projections idempotent) and returns the
// ids it wrote. The rows are the CTE u; docSQL may rewrite the incoming
// document (u.doc) with what the optional CTEs in with and the joins in join
// (after FROM u) give.
func upsertSQL(table, key, docSQL, with, join string) string {
	return fmt.Sprintf(`WITH u AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[], $5::jsonb[], $6::timestamptz[], $7::timestamptz[])
	AS u(id, account, version, position, doc, created_at, updated_at))%[4]s
INSERT INTO %[1]s AS t (%[2]s, account_id, version, position, doc, created_at, updated_at)
SELECT u.id, u.account, u.version, u.position, %[3]s, u.created_at, u.updated_at
FROM u%[5]s
ON CONFLICT (%[2]s) DO UPDATE SET version = excluded.version, position = excluded.position, doc = excluded.doc,
	created_at = excluded.created_at, updated_at = excluded.updated_at
WHERE t.version < excluded.version AND t.account_id = excluded.account_id
RETURNING t.%[2]s::text`, table, key, docSQL, with, join)
}

// upsert runs upsertSQL for rows inside tx.
func upsert(ctx context.Context, tx pgx.Tx, query string, rows []row) ([]string, error) {
	ids := make([]string, len(rows))
	accounts := make([]string, len(rows))
	versions := make([]int64, len(rows))
	positions := make([]int64, len(rows))
	docs := make([]string, len(rows))
	created := make([]time.Time, len(rows))
	updated := make([]time.Time, len(rows))
	for i, r := range rows {
		ids[i], accounts[i], versions[i], positions[i], docs[i] = r.id, r.account, r.version, r.position, string(r.doc)
		created[i], updated[i] = r.createdAt, r.updatedAt
	}
	res, err := tx.Query(ctx, query, ids, accounts, versions, positions, docs, created, updated)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(res, pgx.RowTo[string])
}

// inAccountOrder runs fn in one transaction holding a per-account lock for
// every account of the batch (taken in a fixed order: no deadlocks). Writes
// that touch several documents of an account — a contact and its company's
// fields, a group and its members' group lists — are serialised per account,
// so neither side can miss the other's concurrent change.
func (s *Store) inAccountOrder(ctx context.Context, accounts []string, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	// Read models are derived data, rebuilt from the event store at will: their
	// commits need not wait for the disk. Asynchronous commit loses at most a
	// suffix of recent transactions in a crash, never an older one, so a
	// projection's checkpoint (saved after its writes) is never ahead of them.
	// One statement sets that and takes the account locks in a fixed order.
	if _, err := tx.Exec(ctx, `SELECT set_config('synchronous_commit', 'off', true),
		(SELECT count(pg_advisory_xact_lock(hashtextextended('rm:' || a, 0)))
		 FROM (SELECT DISTINCT unnest($1::text[]) AS a ORDER BY 1) AS accounts)`, accounts); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// meta is what every document tells about itself besides its JSON.
type meta struct {
	id, account          string
	version, position    int64
	createdAt, updatedAt time.Time
}

func rowsOf[D any](docs []D, describe func(D) meta) ([]row, []string, error) {
	rows := make([]row, len(docs))
	accounts := make([]string, len(docs))
	for i, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, nil, err
		}
		m := describe(d)
		rows[i] = row{id: m.id, account: m.account, version: m.version, position: m.position, doc: b,
			createdAt: m.createdAt, updatedAt: m.updatedAt}
		accounts[i] = m.account
	}
	return rows, accounts, nil
}

// UpsertContacts writes contacts, filling each one's company and groups from
// the stored companies and groups of its account.
func (s *Store) UpsertContacts(ctx context.Context, docs []projections.ContactDoc) error {
	if len(docs) == 0 {
		return nil
	}
	rows, accounts, err := rowsOf(docs, func(d projections.ContactDoc) meta {
		return meta{d.ID, d.AccountID, d.Version, d.Position, d.CreatedAt, d.UpdatedAt}
	})
	if err != nil {
		return err
	}
	query := upsertSQL(s.tables.contacts, "uuid", `u.doc || jsonb_build_object(
		'company', `+companyRefSQL(s.tables.companies, "NULLIF(u.doc ->> 'company_id', '')::uuid", "u.account")+`,
		'groups', `+groupRefs("u.id", "u.account")+`)`, ",\n"+groupRefsCTE(s.tables.groups, "u"), "")
	return s.inAccountOrder(ctx, accounts, func(tx pgx.Tx) error {
		_, err := upsert(ctx, tx, query, rows)
		return err
	})
}

// companyRefSQL is the CompanyRef of company idExpr in account accountExpr
// (JSON null when there is none or it is deleted).
func companyRefSQL(companies, idExpr, accountExpr string) string {
	return fmt.Sprintf(`coalesce((SELECT rm_company_ref(co.doc) FROM %s co
		WHERE co.id = %s AND co.account_id = %s AND NOT co.deleted), 'null'::jsonb)`, companies, idExpr, accountExpr)
}

// groupRefsCTE defines the CTE group_refs: one jsonb object mapping
// "<account>/<contact>" to the sorted GroupRef list of each contact of the
// relation src (id, account) that belongs to a live group of its account.
// groupRefs reads a contact's list from it.
//
// It is set-wise and its cost does not depend on the plan: the member lists
// of the groups of src's accounts are unnested once, and each member is
// looked up in a jsonb object of src's keys (a binary search). Testing
// membership contact by contact (member_ids @> ARRAY[id]) read every member
// list of the account per contact, as the planner does not use the GIN
// index on a table of a few groups (a 50,000-member group: 0.25 ms a
// contact); joining unnested lists to the batch was planned as a nested
// loop (the planner guesses 10 rows per unnest): seconds per batch.
func groupRefsCTE(groups, src string) string {
	return fmt.Sprintf(`group_keys AS (SELECT jsonb_object_agg(account::text || '/' || id::text, true) AS keys,
		array_agg(DISTINCT account) AS accounts FROM %[2]s),
	group_refs AS (SELECT coalesce(jsonb_object_agg(s.key, s.groups), '{}'::jsonb) AS refs FROM (
		SELECT s.key, jsonb_agg(jsonb_build_object('id', s.gid, 'name', s.name) ORDER BY s.name, s.gid) AS groups
		FROM (SELECT DISTINCT g.account_id::text || '/' || m.id::text AS key, g.id AS gid, g.name
			FROM group_keys k, %[1]s g CROSS JOIN LATERAL unnest(g.member_ids) AS m(id)
			WHERE g.account_id = ANY(k.accounts) AND NOT g.deleted
				AND k.keys ? (g.account_id::text || '/' || m.id::text)) s
		GROUP BY s.key) s)`, groups, src)
}

// groupRefs is the GroupRef list of contact idExpr of account accountExpr,
// from group_refs.
func groupRefs(idExpr, accountExpr string) string {
	return fmt.Sprintf(`coalesce((SELECT refs FROM group_refs) -> (%s::text || '/' || %s::text), '[]'::jsonb)`, accountExpr, idExpr)
}

// UpsertCompanies writes companies and refreshes the company fields of the
// contacts of every company it wrote.
func (s *Store) UpsertCompanies(ctx context.Context, docs []projections.CompanyDoc) error {
	if len(docs) == 0 {
		return nil
	}
	rows, accounts, err := rowsOf(docs, func(d projections.CompanyDoc) meta {
		return meta{d.ID, d.AccountID, d.Version, d.Position, d.CreatedAt, d.UpdatedAt}
	})
	if err != nil {
		return err
	}
	query := upsertSQL(s.tables.companies, "id", "u.doc", "", "")
	refresh := fmt.Sprintf(`UPDATE %s c SET doc = jsonb_set(c.doc, '{company}', %s)
		WHERE c.company_id = ANY($1::uuid[])`, s.tables.contacts, companyRefSQL(s.tables.companies, "c.company_id", "c.account_id"))
	return s.inAccountOrder(ctx, accounts, func(tx pgx.Tx) error {
		written, err := upsert(ctx, tx, query, rows)
		if err != nil || len(written) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, refresh, written)
		return err
	})
}

// UpsertGroups writes groups and refreshes the group list of every contact
// whose list a written group changed: the members that joined or left it,
// and all its members, past and present, when it was renamed, deleted or
// restored. A group that only gained members (a bulk upsert adds thousands
// per request to one group) leaves its other members' lists alone, so each
// write costs the change, not the group's size.
func (s *Store) UpsertGroups(ctx context.Context, docs []projections.GroupDoc) error {
	if len(docs) == 0 {
		return nil
	}
	rows, accounts, err := rowsOf(docs, func(d projections.GroupDoc) meta {
		return meta{d.ID, d.AccountID, d.Version, d.Position, d.CreatedAt, d.UpdatedAt}
	})
	if err != nil {
		return err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	query := upsertSQL(s.tables.groups, "id", "u.doc", "", "")
	// A contact whose list is unchanged is not rewritten.
	refresh := fmt.Sprintf(`WITH x AS (SELECT c.uuid AS id, c.account_id AS account FROM %[1]s c WHERE c.uuid = ANY($1::uuid[])),
		%[2]s
		UPDATE %[1]s c SET doc = jsonb_set(c.doc, '{groups}', %[3]s)
		WHERE c.uuid = ANY($1::uuid[]) AND c.doc -> 'groups' IS DISTINCT FROM %[3]s`,
		s.tables.contacts, groupRefsCTE(s.tables.groups, "x"), groupRefs("c.uuid", "c.account_id"))
	type stored struct {
		name    string
		deleted bool
		members []string
	}
	return s.inAccountOrder(ctx, accounts, func(tx pgx.Tx) error {
		// The stored groups as they are before this write (read under the
		// account locks, so no other writer changes them meanwhile).
		res, err := tx.Query(ctx, fmt.Sprintf(`SELECT id::text, coalesce(name, ''), deleted, member_ids::text[]
			FROM %s WHERE id = ANY($1::uuid[])`, s.tables.groups), ids)
		if err != nil {
			return err
		}
		before := map[string]stored{}
		var id string
		var g stored
		_, err = pgx.ForEachRow(res, []any{&id, &g.name, &g.deleted, &g.members}, func() error {
			before[id] = g
			return nil
		})
		if err != nil {
			return err
		}
		written, err := upsert(ctx, tx, query, rows)
		if err != nil || len(written) == 0 {
			return err
		}
		wrote := map[string]bool{}
		for _, id := range written {
			wrote[id] = true
		}
		affected := map[string]bool{}
		for _, d := range docs {
			if !wrote[d.ID] {
				continue
			}
			old, had := before[d.ID]
			if had && (old.name != d.Name || old.deleted != d.Deleted) {
				for _, m := range old.members {
					affected[m] = true
				}
				for _, m := range d.ContactIDs {
					affected[strings.ToLower(m)] = true
				}
				continue
			}
			// Joined or left: in one list and not the other.
			was := map[string]bool{}
			for _, m := range old.members {
				was[m] = true
			}
			for _, m := range d.ContactIDs {
				m = strings.ToLower(m) // as uuid::text prints it
				if was[m] {
					delete(was, m)
				} else {
					affected[m] = true
				}
			}
			for m := range was {
				affected[m] = true
			}
		}
		if len(affected) == 0 {
			return nil
		}
		members := make([]string, 0, len(affected))
		for m := range affected {
			members = append(members, m)
		}
		_, err = tx.Exec(ctx, refresh, members)
		return err
	})
}

// UpsertLabels writes labels.
func (s *Store) UpsertLabels(ctx context.Context, docs []projections.LabelDoc) error {
	if len(docs) == 0 {
		return nil
	}
	rows, accounts, err := rowsOf(docs, func(d projections.LabelDoc) meta {
		return meta{d.ID, d.AccountID, d.Version, d.Position, d.CreatedAt, d.UpdatedAt}
	})
	if err != nil {
		return err
	}
	query := upsertSQL(s.tables.labels, "id", "u.doc", "", "")
	return s.inAccountOrder(ctx, accounts, func(tx pgx.Tx) error {
		_, err := upsert(ctx, tx, query, rows)
		return err
	})
}

// get reads one document of the account.
func get[D any](ctx context.Context, s *Store, table, key, accountID, id string) (D, bool, error) {
	var d D
	if !domain.IsUUID(id) || !domain.IsUUID(accountID) {
		return d, false, nil
	}
	var raw []byte
	err := s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT doc FROM %s WHERE %s = $1::uuid AND account_id = $2::uuid`, table, key),
		id, accountID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, false, fmt.Errorf("pgstore: %s %s: %w", table, id, err)
	}
	return d, true, nil
}

func (s *Store) Contact(ctx context.Context, accountID, id string) (projections.ContactDoc, bool, error) {
	return get[projections.ContactDoc](ctx, s, s.tables.contacts, "uuid", accountID, id)
}

func (s *Store) Company(ctx context.Context, accountID, id string) (projections.CompanyDoc, bool, error) {
	return get[projections.CompanyDoc](ctx, s, s.tables.companies, "id", accountID, id)
}

func (s *Store) Group(ctx context.Context, accountID, id string) (projections.GroupDoc, bool, error) {
	return get[projections.GroupDoc](ctx, s, s.tables.groups, "id", accountID, id)
}

// Label reads a label with its usage count: the live contacts whose
// lower-cased labels column (JSON text, trigram-indexed) holds the title as
// a whole element.
func (s *Store) Label(ctx context.Context, accountID, id string) (projections.LabelDoc, bool, error) {
	d, ok, err := get[projections.LabelDoc](ctx, s, s.tables.labels, "id", accountID, id)
	if err != nil || !ok {
		return d, ok, err
	}
	err = s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s
		WHERE account_id = $1::uuid AND NOT hidden AND labels LIKE $2`, s.tables.contacts),
		accountID, "%"+likeEscape(jsonString(strings.ToLower(d.Title)))+"%").Scan(&d.UsageCount)
	return d, true, err
}

// jsonString is s as a JSON string literal the way PostgreSQL prints jsonb
// (no HTML escaping).
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// likeEscape makes s match literally in LIKE (escape character: backslash).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
